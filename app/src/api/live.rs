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
    let active: Vec<_> = plans
        .into_iter()
        .filter(|p| p.status == PlanStatus::Active)
        .collect();
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
    let mut incidents = Vec::new();
    if caller.require(Action::ReadAudit).is_ok() {
        for action in ["plan.rollback.*", "plan.pause", "guardrail.action"] {
            let q = AuditQuery {
                action: Some(action.to_string()),
                ..Default::default()
            };
            let page = crate::service::answer(services.audit.page(&caller, q).await)?;
            incidents.extend(page.events.into_iter().take(10));
        }
        incidents.sort_by_key(|e| std::cmp::Reverse(e.seq));
        incidents.truncate(10);
    }
    Ok(LiveView {
        active,
        runs,
        waiting,
        waiting_changes,
        incidents,
    })
}
