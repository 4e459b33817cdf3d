//! The common end of every change to a plan, in its transaction: decisions
//! on changed evidence dismissed, a phase an edit left incomplete taken off
//! approval, the revision bumped; then open pages and the flag cache told.
use app::dto::plans::PhaseStatus;
use serde_json::json;

use super::acting::Acting;
use super::error::PlanError;
use super::service::PlanService;
use crate::plans::rules::evidence::{evidence_hash, jobs_digest};
use crate::plans::rules::gate::passed;
use crate::plans::rules::state::{phase_transition, PhaseEvent};
use crate::plans::store;

impl PlanService {
    /// The common end of every change: dismisses decisions whose evidence
    /// changed (and takes back a gate they passed), bumps the revision,
    /// commits, and tells open pages and the flag cache.
    pub(super) async fn finish(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        plan_id: &str,
        now: i64,
        acting: &Acting,
        dismiss_reason: &str,
        source_before: &str,
    ) -> Result<i64, PlanError> {
        let l = self.load_locked(&mut tx, plan_id).await?;
        // Only an edit (the plan file changed) takes a phase off approval.
        let edited = source_before != l.plan.source_toml;
        let jobs = jobs_digest(&l.plan.source_toml);
        for phase in &l.phases {
            // Up for approval with something left to tick (an edit added or
            // changed an item): back to active, nobody is offered Approve.
            let open = phase.unticked();
            let up = matches!(
                phase.status,
                PhaseStatus::AwaitingApproval | PhaseStatus::Approved
            );
            let unready = edited && up && !open.is_empty();
            if unready {
                let mut back = phase.clone();
                back.status = phase_transition(back.status, PhaseEvent::Unready)?;
                back.clear_approval();
                store::save_phase_state(&mut tx, &back).await?;
                let details = json!({ "phase": phase.name, "open_items": open });
                acting
                    .audit(&mut tx, now, "gate.unready", plan_id, details)
                    .await?;
            }
            let hash = evidence_hash(phase, &jobs);
            let stale: Vec<_> = phase
                .decisions
                .iter()
                .filter(|d| d.live() && d.evidence_hash != hash)
                .collect();
            if stale.is_empty() {
                continue;
            }
            for d in &stale {
                store::dismiss_decision(&mut tx, &d.id, now, dismiss_reason).await?;
            }
            let mut after = phase.clone();
            for d in &mut after.decisions {
                if stale.iter().any(|s| s.id == d.id) {
                    d.dismissed_at_ms = Some(now);
                }
            }
            // (A phase just taken off approval is already back to active.)
            let reopened = !unready && after.status == PhaseStatus::Approved && !passed(&after);
            if reopened {
                after.status = phase_transition(after.status, PhaseEvent::Dismiss)?;
                after.approved_at_ms = None;
                store::save_phase_state(&mut tx, &after).await?;
            }
            let details = json!({
                "phase": phase.name,
                "reason": dismiss_reason,
                "dismissed": stale.iter().map(|d| json!({"user": d.username, "verdict": d.verdict.as_str()})).collect::<Vec<_>>(),
                "gate_reopened": reopened,
            });
            acting
                .audit(&mut tx, now, "gate.dismiss", plan_id, details)
                .await?;
        }
        let revision = store::touch(&mut tx, plan_id, now).await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        self.flags.forget(&l.flag.key);
        self.events.changed(plan_id);
        Ok(revision)
    }
}
