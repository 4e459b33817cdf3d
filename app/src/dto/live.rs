//! What the dashboard shows: what is live right now, for the person asking.
use serde::{Deserialize, Serialize};

use super::backfill::RunView;
use super::plans::PlanSummary;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveView {
    /// Active plans, each with every environment's exposure.
    pub active: Vec<PlanSummary>,
    /// Completed plans whose flag is still on somewhere: launched features,
    /// each with its kill switch on its plan's page.
    #[serde(default)]
    pub launched: Vec<PlanSummary>,
    /// Backfill runs of unfinished plans (active or draft) that are running or paused.
    pub runs: Vec<LiveRun>,
    /// Gates the person may decide on and has not (approvers only).
    pub waiting: Vec<WaitingGate>,
    /// Change requests (edits that weaken a gate) the person may decide on
    /// and has not: not their own, one of the weakened gate's roles.
    pub waiting_changes: Vec<WaitingChange>,
    /// Unacknowledged incidents that paged the person.
    #[serde(default)]
    pub waiting_incidents: Vec<WaitingIncident>,
    /// Recent rollbacks, pauses, aborts, single-organisation rollbacks and
    /// guardrail actions (with audit access), newest first.
    pub incidents: Vec<Incident>,
}

/// One recent incident, as the dashboard says it: what, on which plan and
/// where, why, by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub seq: i64,
    pub at_ms: i64,
    pub action: String,
    pub plan_id: String,
    /// Empty when the plan is gone.
    pub plan_name: String,
    pub environment: String,
    /// The reason given, or what the guardrail read.
    pub why: String,
    /// Who did it (`system` for a guardrail).
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveRun {
    pub plan_name: String,
    pub run: RunView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WaitingGate {
    pub plan_id: String,
    pub plan_name: String,
    /// The phase's id: its focused approval view is
    /// `/plans/{plan_id}/approve/{phase_id}`.
    #[serde(default)]
    pub phase_id: String,
    pub phase: String,
    pub environment: String,
    pub exposure_bp: i64,
    pub approvals: i64,
    pub approvals_required: i64,
    pub requested_by: Option<String>,
    #[serde(default)]
    pub requested_at_ms: Option<i64>,
}

/// What waits for one person: the inbox and its count in the header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Inbox {
    pub gates: Vec<WaitingGate>,
    pub changes: Vec<WaitingChange>,
    /// Incidents that paged this person and nobody acknowledged yet.
    #[serde(default)]
    pub incidents: Vec<WaitingIncident>,
}

impl Inbox {
    pub fn count(&self) -> usize {
        self.gates.len() + self.changes.len() + self.incidents.len()
    }
}

/// An incident that paged the person, waiting for someone to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WaitingIncident {
    pub plan_id: String,
    pub plan_name: String,
    pub incident_id: String,
    pub summary: String,
    pub opened_ms: i64,
    pub steps_paged: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WaitingChange {
    pub plan_id: String,
    pub plan_name: String,
    pub author: String,
    /// What it weakens, one sentence each.
    pub weakens: Vec<String>,
    pub approvals: i64,
    pub approvals_required: i64,
}
