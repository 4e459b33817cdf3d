//! What the plan page says after a pause, a rollback or an abort, for as
//! long as the plan is in the state it left: what happened, when, who (the
//! system, for a guardrail) and why, where, and what people do now — the
//! plan file's `[rollback]` steps for that kind, which the console cannot
//! run. A resume or a phase started since ends it.
use app::dto::plans::{IncidentView, RollbackKind, RollbackPreview};

use app::dto::audit::AuditEvent;

/// Events that leave a plan in another state, with the rollback kind whose
/// steps follow.
const INCIDENTS: [(&str, RollbackKind); 4] = [
    ("plan.pause", RollbackKind::Pause),
    ("plan.rollback.standard", RollbackKind::Standard),
    ("plan.rollback.emergency", RollbackKind::Emergency),
    ("plan.abort", RollbackKind::Abort),
];

/// Events after which the incident is over.
const ENDS: [&str; 2] = ["plan.resume", "phase.start"];

/// How far back the page looks (a plan's last events).
const LOOK_BACK: usize = 200;

/// From the plan's events (`events`, oldest first: `plans::trail`).
pub fn latest(
    events: &[std::sync::Arc<AuditEvent>],
    rollbacks: &[RollbackPreview],
) -> Option<IncidentView> {
    for e in events.iter().rev().take(LOOK_BACK) {
        if ENDS.contains(&e.action.as_str()) {
            return None;
        }
        let Some((_, kind)) = INCIDENTS.iter().find(|(a, _)| *a == e.action) else {
            continue;
        };
        let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
        let environment = d["environment"].as_str().map(str::to_string).or_else(|| {
            d["exposures"]
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
        });
        return Some(IncidentView {
            seq: e.seq,
            at_ms: e.at_ms,
            action: e.action.clone(),
            by: e.actor_name.clone(),
            by_system: e.actor_kind == "system",
            why: d["reason"].as_str().unwrap_or_default().to_string(),
            environment: environment.unwrap_or_default(),
            follow_up: rollbacks
                .iter()
                .find(|r| r.kind == *kind)
                .map(|r| r.runbook.clone())
                .unwrap_or_default(),
        });
    }
    None
}
