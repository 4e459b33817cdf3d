//! The dashboard's server function: active plans, the backfill jobs under
//! way in unfinished plans, the gates waiting for the caller, recent
//! rollbacks. Each part is read through the port that authorizes it; a part
//! the caller may not read is left empty.
use leptos::prelude::*;

use crate::dto::live::LiveView;
use crate::error::AppError;

#[server(endpoint = "live")]
pub async fn load_live() -> Result<LiveView, AppError> {
    use crate::access::Action;
    use crate::dto::live::LiveRun;
    use crate::dto::plans::PlanStatus;
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    let plans = if caller.require(Action::ReadPlans).is_ok() {
        crate::service::answer(services.plans.plans(&caller).await)?
    } else {
        Vec::new()
    };
    let names: std::collections::HashMap<String, String> = plans
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    // Every unfinished run in one read; a draft plan's jobs dry-run (and may
    // run) before its first phase, a finished plan's are not shown.
    let unfinished: std::collections::HashSet<&str> = plans
        .iter()
        .filter(|p| !p.status.is_final())
        .map(|p| p.id.as_str())
        .collect();
    let runs = if plans.is_empty() {
        Vec::new()
    } else {
        crate::service::answer(services.backfill.unfinished_runs(&caller).await)?
            .into_iter()
            .filter(|r| unfinished.contains(r.plan_id.as_str()))
            .map(|run| LiveRun {
                plan_name: names[&run.plan_id].clone(),
                run,
            })
            .collect()
    };
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
    let inbox = crate::service::answer(services.plans.waiting(&caller).await)?;
    let events = if caller.require(Action::ReadAudit).is_ok() {
        // Each by its name: a prefix would be planned again on every read.
        let actions = [
            "plan.rollback.standard",
            "plan.rollback.emergency",
            "plan.pause",
            "plan.abort",
            "flag.deny",
            "guardrail.action",
        ];
        crate::service::answer(services.audit.newest_of(&caller, &actions, 10).await)?
    } else {
        Vec::new()
    };
    let incidents = events.into_iter().map(|e| incident(e, &names)).collect();
    Ok(LiveView {
        active,
        launched,
        runs,
        waiting: inbox.gates,
        waiting_changes: inbox.changes,
        waiting_incidents: inbox.incidents,
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

/// What waits for the caller's decision: the inbox.
#[server(endpoint = "inbox")]
pub async fn load_inbox() -> Result<crate::dto::live::Inbox, AppError> {
    crate::service::serve(async move |s, c| s.plans.waiting(&c).await).await
}
