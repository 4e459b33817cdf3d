//! The gate: requesting approval, deciding (approve, reject) and an admin's override,
//! each bound to the evidence the decider saw.
use app::dto::plans::{PhaseStatus, Verdict};
use app::error::Conflict;
use serde_json::json;

use super::{invalid, phase_index, text, wrong_state, Cx, Effect};
use crate::db::on_constraint;
use crate::plans::error::PlanError;
use crate::plans::rules::evidence::{evidence_hash, snapshot};
use crate::plans::rules::gate::{may_decide, passed, tally};
use crate::plans::rules::state::{phase_transition, PhaseEvent};
use crate::plans::store::{self, DecisionRecord};

pub(super) async fn request_approval(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    i: usize,
) -> Result<Effect, PlanError> {
    let mut phase = cx.l.phases[i].clone();
    phase.status = phase_transition(phase.status, PhaseEvent::RequestApproval)?;
    let unticked = phase.unticked();
    if !unticked.is_empty() {
        return Err(wrong_state(format!(
            "tick the checklist first; still open: {}",
            unticked.join("; ")
        )));
    }
    // A new request is a new round: earlier decisions (a rejection
    // among them) no longer count.
    for d in phase.decisions.iter().filter(|d| d.live()) {
        store::dismiss_decision(conn, &d.id, cx.now, "approval requested again").await?;
    }
    phase.decisions.iter_mut().for_each(|d| {
        d.dismissed_at_ms.get_or_insert(cx.now);
    });
    // A token's request is its creator's: they may not approve it either.
    let requester = &cx.acting.actor;
    phase.requested_by = Some(crate::auth::tokens::answerable_id(conn, requester).await?);
    phase.requested_by_name = Some(requester.name().to_string());
    phase.requested_at_ms = Some(cx.now);
    let mut message = format!(
        "Approval of {:?} requested: {} approval(s) needed.",
        phase.name, phase.approvals_required
    );
    if passed(&phase) {
        phase.status = phase_transition(phase.status, PhaseEvent::Approve)?;
        phase.approved_at_ms = Some(cx.now);
        message = format!("Phase {:?} needs no approvals: approved.", phase.name);
    }
    store::save_phase_state(conn, &phase).await?;
    let asked = asked(conn, &phase).await?;
    Ok(Effect::one(
        "gate.request",
        json!({
            "plan": cx.l.plan.name,
            "phase": phase.name,
            "phase_id": phase.id,
            "asked": asked,
            "approvers": phase.approvers,
            "approver_roles": phase.approver_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "approvals_required": phase.approvals_required,
            "evidence_hash": evidence_hash(&phase, &cx.facts.jobs.jobs_digest),
        }),
        message,
    ))
}

/// Who the request asks, as it stands when asked: everyone who can sign in
/// and may decide this gate, but the requester. Notifications go to them.
async fn asked(
    conn: &mut sqlx::AnyConnection,
    phase: &store::PhaseRecord,
) -> Result<Vec<String>, PlanError> {
    Ok(crate::auth::user_rows::enabled(conn)
        .await?
        .into_iter()
        .filter(|u| phase.requested_by.as_deref() != Some(u.id.as_str()))
        .filter(|u| {
            app::access::gate_asks(
                &u.roles,
                &u.username,
                &phase.approver_roles,
                &phase.approvers,
            )
        })
        .map(|u| u.username)
        .collect())
}

pub(super) async fn decide(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (phase_id, verdict, comment, evidence): (String, Verdict, String, String),
    signature: Option<app::dto::plan_commands::SignedAssertion>,
) -> Result<Effect, PlanError> {
    let (user_id, username, roles) = cx.person("decide on a gate")?;
    if verdict == Verdict::Override {
        return Err(invalid(
            "verdict: use the override form, which needs a reason",
        ));
    }
    let i = phase_index(cx.l, &phase_id)?;
    let mut phase = cx.l.phases[i].clone();
    let current = evidence_hash(&phase, &cx.facts.jobs.jobs_digest);
    may_decide(
        &phase,
        (&user_id, &username),
        &roles,
        evidence.trim(),
        &current,
    )?;
    // Approving over a check that is not met is allowed, but never silent.
    let open = crate::plans::rules::checks::unmet_described(
        &phase,
        i.checked_sub(1).map(|p| &cx.l.phases[p]),
        cx.now,
        cx.facts,
        false,
    );
    if verdict == Verdict::Approve && !open.is_empty() && comment.trim().is_empty() {
        return Err(invalid(format!(
            "comment: this phase's checklist is not complete ({}); approving anyway needs a comment saying why",
            open.join("; ")
        )));
    }
    let comment = text("comment", &comment, verdict == Verdict::Reject)?;
    let signed = match (phase.signed, signature) {
        (true, None) => {
            return Err(invalid(
                "signature: this gate takes decisions signed with a passkey; decide from the console in a browser with one registered (Account → Passkeys)",
            ))
        }
        (true, Some(s)) => {
            let doc = (cx.l.plan.id.as_str(), phase.id.as_str(), verdict.as_str(), current.as_str());
            Some(super::signing::verify(conn, &user_id, doc, s, cx.now).await?)
        }
        (false, _) => None,
    };
    let by = (user_id, username);
    let seen = snapshot(
        &phase,
        i.checked_sub(1).map(|p| &cx.l.phases[p]),
        cx.now,
        cx.facts,
    );
    let mut decision = DecisionRecord::new(by, verdict, comment.clone(), current.clone(), cx.now);
    decision.evidence_json = Some(seen.to_string());
    let decision_id = decision.id.clone();
    insert_decision(conn, &phase, &decision).await?;
    phase.decisions.push(decision);
    let (approvals, _) = tally(&phase);
    let message = if verdict == Verdict::Reject {
        phase.status = phase_transition(phase.status, PhaseEvent::Reject)?;
        phase.approved_at_ms = None;
        format!(
            "Rejected {:?}: it stays blocked until approval is requested again.",
            phase.name
        )
    } else if phase.status == PhaseStatus::AwaitingApproval && passed(&phase) {
        phase.status = phase_transition(phase.status, PhaseEvent::Approve)?;
        phase.approved_at_ms = Some(cx.now);
        format!(
            "Approved {:?}: the gate has passed ({approvals} of {}).",
            phase.name, phase.approvals_required
        )
    } else {
        format!(
            "Approved {:?} ({approvals} of {}).",
            phase.name, phase.approvals_required
        )
    };
    store::save_phase_state(conn, &phase).await?;
    let mut details = json!({
        "decision": decision_id,
        "phase": phase.name,
        "phase_id": phase.id,
        "comment": comment,
        "evidence_hash": current,
        "evidence": seen,
        "approvals": approvals,
        "approvals_required": phase.approvals_required,
        "gate_passed": phase.status == PhaseStatus::Approved,
    });
    if let Some(proof) = signed {
        details["signature"] = proof;
    }
    Ok(Effect::one(
        if verdict == Verdict::Reject {
            "gate.reject"
        } else {
            "gate.approve"
        },
        details,
        message,
    ))
}

pub(super) async fn override_gate(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (phase_id, reason, evidence): (String, String, String),
) -> Result<Effect, PlanError> {
    let (user_id, username, _) = cx.person("override a gate")?;
    let reason = text("reason", &reason, true)?;
    let i = phase_index(cx.l, &phase_id)?;
    let mut phase = cx.l.phases[i].clone();
    let current = evidence_hash(&phase, &cx.facts.jobs.jobs_digest);
    if evidence.trim() != current {
        return Err(PlanError::Conflict(
            Conflict::StaleRevision,
            format!(
                "phase {:?} changed since you loaded it; reload, review it again and decide",
                phase.name
            ),
        ));
    }
    phase.status = phase_transition(phase.status, PhaseEvent::Override)?;
    let (approvals, _) = tally(&phase);
    if let Some(own) = phase
        .decisions
        .iter()
        .find(|d| d.live() && d.user_id == user_id)
    {
        store::dismiss_decision(
            conn,
            &own.id,
            cx.now,
            "superseded by the same person's override",
        )
        .await?;
    }
    let by = (user_id, username);
    let seen = snapshot(
        &phase,
        i.checked_sub(1).map(|p| &cx.l.phases[p]),
        cx.now,
        cx.facts,
    );
    let mut decision = DecisionRecord::new(
        by,
        Verdict::Override,
        reason.clone(),
        current.clone(),
        cx.now,
    );
    decision.evidence_json = Some(seen.to_string());
    insert_decision(conn, &phase, &decision).await?;
    phase.approved_at_ms = Some(cx.now);
    store::save_phase_state(conn, &phase).await?;
    Ok(Effect::one(
        "gate.override",
        json!({
            "phase": phase.name,
            "reason": reason,
            "evidence_hash": current,
            "evidence": seen,
            "approvals_at_override": approvals,
            "approvals_required": phase.approvals_required,
        }),
        format!("Gate of {:?} passed by an admin override.", phase.name),
    ))
}

pub(super) async fn insert_decision(
    conn: &mut sqlx::AnyConnection,
    phase: &store::PhaseRecord,
    d: &DecisionRecord,
) -> Result<(), PlanError> {
    store::insert_decision(conn, &phase.id, d)
        .await
        .map_err(|e| {
            on_constraint(e, || {
                PlanError::Conflict(
                    Conflict::AlreadyExists,
                    format!(
                        "you already decided on phase {:?}; one decision per person",
                        phase.name
                    ),
                )
            })
        })
}
