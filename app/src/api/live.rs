//! The dashboard's server function: active plans, the backfill jobs under
//! way in unfinished plans, the gates waiting for the caller, recent
//! rollbacks. Each part is read through the port that authorizes it; a part
//! the caller may not read is left empty.
use leptos::prelude::*;

use crate::dto::live::LiveView;
use crate::error::AppError;

#[server(endpoint = "live")]
pub async fn load_live() -> Result<LiveView, AppError> {
    use crate::access::{Action, Principal};
    use crate::dto::audit::AuditQuery;
    use crate::dto::live::{LiveRun, WaitingChange, WaitingGate};
    use crate::dto::plans::{PhaseStatus, PlanStatus};
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    let plans = if caller.require(Action::ReadPlans).is_ok() {
        crate::service::answer(services.plans.plans(&caller).await)?
    } else {
        Vec::new()
    };
    let mut runs = Vec::new();
    // A draft plan's jobs dry-run (and may run) before its first phase.
    for summary in plans.iter().filter(|p| !p.status.is_final()) {
        // Runs of a plan that cannot be read now (deleted meanwhile) are left out.
        let Ok(plan_runs) = services.backfill.runs(&caller, summary.id.clone()).await else {
            continue;
        };
        runs.extend(
            plan_runs
                .into_iter()
                .filter(|r| !r.status.is_final())
                .map(|run| LiveRun {
                    plan_name: summary.name.clone(),
                    run,
                }),
        );
    }
    let names: std::collections::HashMap<String, String> = plans
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let (active, launched): (Vec<_>, Vec<_>) = plans
        .into_iter()
        .filter(|p| match p.status {
            PlanStatus::Active => true,
            PlanStatus::Completed => p
                .exposures
                .iter()
                .any(|e| !e.off && (e.exposure_bp > 0 || e.allowed > 0)),
            _ => false,
        })
        .partition(|p| p.status == PlanStatus::Active);
    let mut waiting = Vec::new();
    let mut waiting_changes = Vec::new();
    if let Ok(Principal::User {
        id,
        username,
        roles,
        ..
    }) = caller.require(Action::ApproveGates)
    {
        for summary in &active {
            // A plan that cannot be read now (deleted meanwhile) is left out.
            let Ok(plan) = services.plans.plan(&caller, summary.id.clone()).await else {
                continue;
            };
            if let Some(c) = plan.change_request {
                let mine = roles.iter().any(|r| c.approver_roles.contains(r))
                    && &c.author_id != id
                    && !c.decisions.iter().any(|d| &d.user_id == id);
                if mine {
                    waiting_changes.push(WaitingChange {
                        plan_id: summary.id.clone(),
                        plan_name: summary.name.clone(),
                        author: c.author,
                        weakens: c.weakens,
                        approvals: c.approvals,
                        approvals_required: c.approvals_required,
                    });
                }
            }
            for p in plan.phases {
                let mine = roles.iter().any(|r| p.approver_roles.contains(r))
                    && p.requested_by.as_deref() != Some(username.as_str())
                    && !p
                        .decisions
                        .iter()
                        .any(|d| d.dismissed_at_ms.is_none() && &d.username == username);
                if p.status == PhaseStatus::AwaitingApproval && mine {
                    waiting.push(WaitingGate {
                        plan_id: summary.id.clone(),
                        plan_name: summary.name.clone(),
                        phase: p.name,
                        environment: p.environment,
                        exposure_bp: p.exposure_bp,
                        approvals: p.approvals,
                        approvals_required: p.approvals_required,
                        requested_by: p.requested_by,
                    });
                }
            }
        }
    }
    let mut events = Vec::new();
    if caller.require(Action::ReadAudit).is_ok() {
        for action in [
            "plan.rollback.*",
            "plan.pause",
            "plan.abort",
            "flag.deny",
            "guardrail.action",
        ] {
            let q = AuditQuery {
                action: Some(action.to_string()),
                ..Default::default()
            };
            let page = crate::service::answer(services.audit.page(&caller, q).await)?;
            events.extend(page.events.into_iter().take(10));
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.seq));
        events.truncate(10);
    }
    let incidents = events.into_iter().map(|e| incident(e, &names)).collect();
    Ok(LiveView {
        active,
        launched,
        runs,
        waiting,
        waiting_changes,
        incidents,
    })
}

/// An audit event of an incident as the dashboard says it: its plan by
/// name, where, and why (the reason given, or what the guardrail read).
#[cfg(feature = "ssr")]
fn incident(
    e: crate::dto::audit::AuditEvent,
    names: &std::collections::HashMap<String, String>,
) -> crate::dto::live::Incident {
    let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
    let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    let plan_id = e
        .subject
        .strip_prefix("plan:")
        .unwrap_or_default()
        .to_string();
    let environment = match d["environment"].as_str() {
        Some(env) => env.to_string(),
        None if e.action == "flag.deny" => "every environment".to_string(),
        None => d["exposures"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
    };
    let why = match e.action.as_str() {
        "guardrail.action" => format!(
            "guardrail {} read {} {} time(s) in a row ({}): {}{}",
            text("guardrail"),
            text("outcome"),
            d["readings"].as_i64().unwrap_or_default(),
            text("detail"),
            text("action"),
            match (d["dry_run"] == true, d["withheld"].as_str()) {
                (true, _) => " (dry run: recorded only)".to_string(),
                (false, Some(why)) => format!(" withheld: {why}"),
                (false, None) => String::new(),
            }
        ),
        "flag.deny" => format!("{} rolled back alone: {}", text("entity"), text("reason")),
        _ => text("reason"),
    };
    crate::dto::live::Incident {
        seq: e.seq,
        at_ms: e.at_ms,
        action: e.action,
        plan_name: names.get(&plan_id).cloned().unwrap_or_default(),
        plan_id,
        environment,
        why,
        by: e.actor_name,
    }
}
