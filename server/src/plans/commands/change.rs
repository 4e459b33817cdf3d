//! Deciding on a change request (an edit that weakens a gate): approve or
//! reject (never its author, only the weakened gates' roles), an admin's
//! override with a reason, the author's withdrawal. Enough approvals, or the
//! override, apply the edit as any edit applies.
use app::access::{roles_allow, Action, Principal};
use app::dto::plans::Verdict;
use app::error::Conflict;
use serde_json::json;

use super::{forbidden, invalid, text, wrong_state, Cx, Effect};
use crate::db::on_constraint;
use crate::plans::changes::{apply_source, Applied};
use crate::plans::error::PlanError;
use crate::plans::file::definition;
use crate::plans::service::check_unique;
use crate::plans::store::change_requests::{self, ChangeDecision, ChangeRecord};
use crate::plans::store::materialize::edit_refusal;

async fn pending(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    change_id: &str,
) -> Result<ChangeRecord, PlanError> {
    change_requests::pending(conn, &cx.l.plan.id)
        .await?
        .filter(|c| c.id == change_id.trim())
        .ok_or_else(|| super::not_in_plan(format!("pending change request {change_id:?}")))
}

/// One person's decision on the change; a second one is refused.
async fn record(
    conn: &mut sqlx::AnyConnection,
    change: &ChangeRecord,
    (user_id, username): (String, String),
    verdict: Verdict,
    comment: &str,
    now: i64,
) -> Result<(), PlanError> {
    let decision = ChangeDecision {
        user_id,
        username,
        verdict,
        comment: comment.to_string(),
        created_at_ms: now,
    };
    change_requests::insert_decision(conn, &change.id, &decision)
        .await
        .map_err(|e| {
            on_constraint(e, || {
                PlanError::Conflict(
                    Conflict::AlreadyExists,
                    "you already decided on this change request; one decision per person".into(),
                )
            })
        })
}

/// Applies the change's plan file, if the plan's history still allows it;
/// `last`: the person whose decision lets it through.
async fn apply(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    change: &ChangeRecord,
    last: &str,
) -> Result<(), PlanError> {
    let def = definition::parse(&change.source_toml)
        .map_err(|p| invalid(format!("the change's plan file no longer parses:\n{p}")))?;
    if let Some(why) = edit_refusal(cx.l, &def) {
        return Err(wrong_state(format!(
            "the change can no longer apply ({why}); withdraw it and edit again"
        )));
    }
    crate::plans::fits::check(cx.environments, cx.prometheus, &def, &change.source_toml)?;
    check_unique(conn, &def, Some(&cx.l.plan.id)).await?;
    let mut approved_by: Vec<String> = change
        .decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Approve)
        .map(|d| d.username.clone())
        .collect();
    approved_by.push(last.to_string());
    let applied = Applied {
        id: &change.id,
        author: &change.author_name,
        approved_by,
    };
    apply_source(
        conn,
        cx.l,
        &def,
        &change.source_toml,
        cx.acting,
        cx.now,
        Some(&applied),
    )
    .await
}

pub(super) async fn decide_change(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (change_id, verdict, comment): (String, Verdict, String),
) -> Result<Effect, PlanError> {
    let now = cx.now;
    let (user_id, username, roles) = cx.person("decide on a change request")?;
    let change = pending(conn, cx, &change_id).await?;
    if verdict == Verdict::Override {
        return Err(invalid(
            "verdict: use the override form, which needs a reason",
        ));
    }
    if user_id == change.author_id {
        return Err(forbidden(
            "approve a change you proposed: someone else must (or you withdraw it)",
        ));
    }
    if !roles.iter().any(|r| change.approver_roles.contains(r)) {
        return Err(PlanError::Invalid(format!(
            "the weakened gate is approved by {}; you are not one",
            crate::plans::store::roles_to_text(&change.approver_roles)
        )));
    }
    let comment = text("comment", &comment, verdict == Verdict::Reject)?;
    let by = (user_id, username.clone());
    record(conn, &change, by, verdict, &comment, now).await?;
    let approvals = change.approvals() + i64::from(verdict == Verdict::Approve);
    let (action, message) = if verdict == Verdict::Reject {
        change_requests::close(conn, &change.id, "rejected", now).await?;
        (
            "plan.change_reject",
            "Rejected the change request: the plan stays as it was.".to_string(),
        )
    } else if approvals >= change.approvals_required {
        apply(conn, cx, &change, &username).await?;
        (
            "plan.change_approve",
            "Approved: the change request has its approvals and now applies.".to_string(),
        )
    } else {
        (
            "plan.change_approve",
            format!("Approved ({approvals} of {}).", change.approvals_required),
        )
    };
    Ok(Effect::one(
        action,
        json!({ "change": change.id, "comment": comment, "approvals": approvals,
                    "approvals_required": change.approvals_required }),
        message,
    ))
}

pub(super) async fn override_change(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (change_id, reason): (String, String),
) -> Result<Effect, PlanError> {
    let (user_id, username, _) = cx.person("override a change request")?;
    let reason = text("reason", &reason, true)?;
    let change = pending(conn, cx, &change_id).await?;
    let by = (user_id, username.clone());
    record(conn, &change, by, Verdict::Override, &reason, cx.now).await?;
    apply(conn, cx, &change, &format!("{username} (override)")).await?;
    Ok(Effect::one(
        "plan.change_override",
        json!({ "change": change.id, "reason": reason, "approvals_at_override": change.approvals(),
                    "approvals_required": change.approvals_required, "weakens": change.weakens }),
        "The change request applies by an admin override.".into(),
    ))
}

pub(super) async fn withdraw_change(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    change_id: String,
) -> Result<Effect, PlanError> {
    let change = pending(conn, cx, &change_id).await?;
    let author =
        crate::auth::tokens::answerable_id(conn, &cx.acting.actor).await? == change.author_id;
    let admin = matches!(cx.who, Some(Principal::User { roles, .. }) if roles_allow(roles, Action::OverrideGates));
    if !author && !admin {
        return Err(forbidden(format!(
            "withdraw this change request: only {} (who proposed it) or an admin can",
            change.author_name
        )));
    }
    change_requests::close(conn, &change.id, "withdrawn", cx.now).await?;
    Ok(Effect::one(
        "plan.change_withdraw",
        json!({ "change": change.id }),
        "Withdrew the change request: the plan stays as it was.".into(),
    ))
}
