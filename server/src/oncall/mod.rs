//! On-call: incidents and their escalation. A guardrail breach that acts,
//! an automatic rollback or pause, or a failed backfill opens an incident
//! (one per plan while unacknowledged: the rollback a breach makes is part
//! of it), read from the audit trail like notifications are (`open`); then
//! each step of the plan's escalation pages its people once its `after`
//! has passed since the incident began, until someone acknowledges it
//! (`escalate`). Pages and acknowledgements are audit events, so endpoints
//! that hear `incident.*` carry them to people; the inbox shows them too.
mod escalate;
mod open;

use std::time::Duration;

use crate::clock::Clock;
use crate::db::{Store, StoreError};
use crate::events::PlanEvents;

/// How often the worker looks for new incidents and due steps.
const TICK: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct OnCall {
    pub store: Store,
    /// What escalation judges time by (tests move it).
    pub clock: Clock,
    /// Open plan pages hear of an incident opened or paged.
    pub events: PlanEvents,
}

impl OnCall {
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_problem: Option<String> = None;
            loop {
                tick.tick().await;
                let problem = self.pass().await.err().map(|e| e.to_string());
                if problem.is_some() && problem != last_problem {
                    tracing::warn!(
                        problem = problem.as_deref(),
                        "on-call: a pass failed; retrying"
                    );
                }
                last_problem = problem;
            }
        });
    }

    /// One pass: new incidents from the trail, then every step that is due.
    pub async fn pass(&self) -> Result<(), StoreError> {
        open::open_new(self).await?;
        escalate::page_due(self).await
    }
}
