//! What an approver should see before signing: the edits of the plan file
//! since the plan's last approval (or, before any, since it was imported),
//! each with who made it, when, and what it changed — read from the
//! `plan.edit` events of the audit trail, which are the record of them.
use app::dto::plans::PlanEditView;
use app::dto::plans::Verdict;

use app::dto::audit::AuditEvent;

use crate::plans::store::Loaded;

/// At most this many edits are listed (the newest are kept).
const MAX_EDITS: usize = 20;

/// From the plan's events (`events`, oldest first: `plans::trail`).
pub fn since_last_approval(events: &[std::sync::Arc<AuditEvent>], l: &Loaded) -> Vec<PlanEditView> {
    let since = l
        .phases
        .iter()
        .flat_map(|p| p.decisions.iter())
        .filter(|d| matches!(d.verdict, Verdict::Approve | Verdict::Override))
        .map(|d| d.created_at_ms)
        .max()
        .unwrap_or(0);
    let mut edits: Vec<PlanEditView> = events
        .iter()
        .filter(|e| e.action == "plan.edit" && e.at_ms > since)
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
            // An applied change request: its author, and who let it through.
            let by = match (
                details["author"].as_str(),
                details["approved_by"].as_array(),
            ) {
                (Some(author), Some(approvers)) => format!(
                    "{author} (approved by {})",
                    approvers
                        .iter()
                        .filter_map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => e.actor_name.clone(),
            };
            PlanEditView {
                at_ms: e.at_ms,
                by,
                changes: details["changes"]
                    .as_array()
                    .map(|c| {
                        c.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    if edits.len() > MAX_EDITS {
        edits.drain(..edits.len() - MAX_EDITS);
    }
    edits
}
