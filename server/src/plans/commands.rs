//! The commands of the plan page and the API: start a phase, tick the
//! checklist, request and decide approval, override a gate, complete, roll
//! back. Each runs in one transaction with its audit event(s).
use app::access::{Action, Principal};
use app::dto::plans::{
    percent, CommandOutcome, PhaseStatus, PlanCommand, PlanStatus, RollbackKind, Verdict,
};
use app::error::AppError;
use app::service::Caller;
use serde_json::{json, Value};

use super::checks::complete;
use super::error::PlanError;
use super::evidence::evidence_hash;
use super::gate::{may_decide, passed, tally};
use super::service::{subject, Acting, PlanService};
use super::state::{phase_transition, plan_transition, PhaseEvent, PlanEvent};
use super::store::{self, DecisionRecord, Loaded};
use super::view::blockers_for;
use crate::audit;
use crate::auth::error::is_unique_violation;
use crate::backfill::facts::JobFacts;
use crate::system::now_ms;

const MAX_TEXT: usize = 2_000;

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

fn text(field: &str, raw: &str, required: bool) -> Result<String, PlanError> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(invalid(format!(
            "{field}: say why; it goes into the audit trail"
        )));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(invalid(format!("{field}: at most {MAX_TEXT} characters")));
    }
    Ok(t.to_string())
}

fn phase_index(l: &Loaded, phase_id: &str) -> Result<usize, PlanError> {
    l.phases
        .iter()
        .position(|p| p.id == phase_id)
        .ok_or_else(|| PlanError::NotFound(format!("phase {phase_id:?} of this plan")))
}

/// What a command changed: the audit events to append, the message for the
/// person, and why decisions on changed evidence are dismissed.
struct Effect {
    events: Vec<(&'static str, Value)>,
    message: String,
    dismiss_reason: &'static str,
}

impl PlanService {
    pub(super) async fn run(
        &self,
        caller: &Caller,
        plan_id: &str,
        command: PlanCommand,
    ) -> Result<CommandOutcome, AppError> {
        let needed = match &command {
            PlanCommand::Decide { .. } => Action::ApproveGates,
            PlanCommand::Override { .. } => Action::OverrideGates,
            // Who may tick is the item's business (its tickers); reading is the floor.
            PlanCommand::Tick { .. } => Action::ReadPlans,
            _ => Action::WritePlans,
        };
        let who = caller.require(needed)?;
        let acting = Acting::of(who, caller);
        let now = now_ms();
        let mut tx = self.store.begin_write().await.map_err(PlanError::from)?;
        let l = self.load_locked(&mut tx, plan_id).await?;
        let facts = self.facts(&mut tx, &l).await?;
        let effect = apply(&mut tx, &l, who, command, now, &facts).await?;
        for (action, details) in &effect.events {
            audit::append(
                &mut tx,
                now,
                &acting.actor,
                &acting.client,
                action,
                &subject(plan_id),
                details.clone(),
            )
            .await
            .map_err(PlanError::from)?;
        }
        let revision = self
            .finish(tx, plan_id, now, &acting, effect.dismiss_reason)
            .await?;
        Ok(CommandOutcome {
            message: effect.message,
            revision,
        })
    }
}

fn person(
    who: &Principal,
    what: &str,
) -> Result<(String, String, Vec<app::access::Role>), PlanError> {
    match who {
        Principal::User {
            id,
            username,
            roles,
        } => Ok((id.clone(), username.clone(), roles.clone())),
        Principal::Token { .. } => Err(invalid(format!("{what} needs a person, not an API token"))),
    }
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    who: &Principal,
    command: PlanCommand,
    now: i64,
    facts: &JobFacts,
) -> Result<Effect, PlanError> {
    let changed = changed_reason();
    let entity_rollback = matches!(
        command,
        PlanCommand::Rollback {
            kind: RollbackKind::Entity,
            ..
        }
    );
    if l.plan.status.is_final() && !entity_rollback {
        return Err(invalid(format!(
            "the plan is {}, which is final: only a single organisation can still be rolled back",
            l.plan.status
        )));
    }
    match command {
        PlanCommand::StartPhase { phase_id } => {
            let i = phase_index(l, &phase_id)?;
            let blockers = blockers_for(l, i, now, facts);
            if !blockers.is_empty() {
                return Err(invalid(format!(
                    "phase {:?} cannot start yet: {}",
                    l.phases[i].name,
                    blockers.join("; ")
                )));
            }
            let mut events = Vec::new();
            if l.plan.status == PlanStatus::Draft {
                let status = plan_transition(l.plan.status, PlanEvent::Activate)?;
                store::set_plan_status(conn, &l.plan.id, status).await?;
                events.push(("plan.activate", json!({ "name": l.plan.name })));
            }
            if let Some(prev) = i.checked_sub(1).map(|j| &l.phases[j]) {
                let mut prev = prev.clone();
                prev.status = phase_transition(prev.status, PhaseEvent::Finish)?;
                prev.done_at_ms = Some(now);
                store::save_phase_state(conn, &prev).await?;
            }
            let mut phase = l.phases[i].clone();
            phase.status = phase_transition(phase.status, PhaseEvent::Start)?;
            phase.started_at_ms = Some(now);
            phase.requested_by = None;
            phase.requested_by_name = None;
            phase.requested_at_ms = None;
            phase.approved_at_ms = None;
            store::save_phase_state(conn, &phase).await?;
            let mut flag = l.flag.clone();
            flag.enabled = true;
            flag.exposure_bp = phase.exposure_bp;
            crate::flags::store::save(conn, &flag, now).await?;
            events.push((
                "phase.start",
                json!({
                    "phase": phase.name,
                    "environment": phase.environment,
                    "flag": flag.key,
                    "exposure_bp": phase.exposure_bp,
                    "previous_exposure_bp": if l.flag.enabled { l.flag.exposure_bp } else { 0 },
                }),
            ));
            Ok(Effect {
                events,
                message: format!(
                    "Started phase {:?}: {} now at {}.",
                    phase.name,
                    flag.key,
                    percent(phase.exposure_bp)
                ),
                dismiss_reason: changed,
            })
        }
        PlanCommand::RequestApproval { phase_id } => {
            let i = phase_index(l, &phase_id)?;
            let mut phase = l.phases[i].clone();
            phase.status = phase_transition(phase.status, PhaseEvent::RequestApproval)?;
            let unticked: Vec<&str> = phase
                .items
                .iter()
                .filter(|it| it.kind == "manual" && it.ticked_at_ms.is_none())
                .map(|it| it.text.as_str())
                .collect();
            if !unticked.is_empty() {
                return Err(invalid(format!(
                    "tick the checklist first; still open: {}",
                    unticked.join("; ")
                )));
            }
            // A new request is a new round: earlier decisions (a rejection
            // among them) no longer count.
            for d in phase.decisions.iter().filter(|d| d.live()) {
                store::dismiss_decision(conn, &d.id, now, "approval requested again").await?;
            }
            phase.decisions.iter_mut().for_each(|d| {
                d.dismissed_at_ms.get_or_insert(now);
            });
            phase.requested_by = Some(who_id(who));
            phase.requested_by_name = Some(who.name().to_string());
            phase.requested_at_ms = Some(now);
            let mut message = format!(
                "Approval of {:?} requested: {} approval(s) needed.",
                phase.name, phase.approvals_required
            );
            if passed(&phase) {
                phase.status = phase_transition(phase.status, PhaseEvent::Approve)?;
                phase.approved_at_ms = Some(now);
                message = format!("Phase {:?} needs no approvals: approved.", phase.name);
            }
            store::save_phase_state(conn, &phase).await?;
            Ok(Effect {
                events: vec![(
                    "gate.request",
                    json!({
                        "phase": phase.name,
                        "approvals_required": phase.approvals_required,
                        "evidence_hash": evidence_hash(&phase, &facts.jobs_digest),
                    }),
                )],
                message,
                dismiss_reason: changed,
            })
        }
        PlanCommand::Decide {
            phase_id,
            verdict,
            comment,
            evidence,
        } => {
            let (user_id, username, roles) = person(who, "deciding on a gate")?;
            if verdict == Verdict::Override {
                return Err(invalid(
                    "verdict: use the override form, which needs a reason",
                ));
            }
            let comment = text("comment", &comment, verdict == Verdict::Reject)?;
            let i = phase_index(l, &phase_id)?;
            let mut phase = l.phases[i].clone();
            let current = evidence_hash(&phase, &facts.jobs_digest);
            may_decide(&phase, &user_id, &roles, evidence.trim(), &current).map_err(invalid)?;
            let decision = DecisionRecord {
                id: uuid::Uuid::new_v4().simple().to_string(),
                user_id,
                username,
                verdict,
                comment: comment.clone(),
                evidence_hash: current.clone(),
                created_at_ms: now,
                dismissed_at_ms: None,
                dismissed_reason: None,
            };
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
                phase.approved_at_ms = Some(now);
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
            Ok(Effect {
                events: vec![(
                    if verdict == Verdict::Reject {
                        "gate.reject"
                    } else {
                        "gate.approve"
                    },
                    json!({
                        "phase": phase.name,
                        "comment": comment,
                        "evidence_hash": current,
                        "approvals": approvals,
                        "approvals_required": phase.approvals_required,
                        "gate_passed": phase.status == PhaseStatus::Approved,
                    }),
                )],
                message,
                dismiss_reason: changed,
            })
        }
        PlanCommand::Override {
            phase_id,
            reason,
            evidence,
        } => {
            let (user_id, username, _) = person(who, "overriding a gate")?;
            let reason = text("reason", &reason, true)?;
            let i = phase_index(l, &phase_id)?;
            let mut phase = l.phases[i].clone();
            let current = evidence_hash(&phase, &facts.jobs_digest);
            if evidence.trim() != current {
                return Err(invalid(format!(
                    "phase {:?} changed since you loaded it; reload, review it again and decide",
                    phase.name
                )));
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
                    now,
                    "superseded by the same person's override",
                )
                .await?;
            }
            let decision = DecisionRecord {
                id: uuid::Uuid::new_v4().simple().to_string(),
                user_id,
                username,
                verdict: Verdict::Override,
                comment: reason.clone(),
                evidence_hash: current.clone(),
                created_at_ms: now,
                dismissed_at_ms: None,
                dismissed_reason: None,
            };
            insert_decision(conn, &phase, &decision).await?;
            phase.approved_at_ms = Some(now);
            store::save_phase_state(conn, &phase).await?;
            Ok(Effect {
                events: vec![(
                    "gate.override",
                    json!({
                        "phase": phase.name,
                        "reason": reason,
                        "evidence_hash": current,
                        "approvals_at_override": approvals,
                        "approvals_required": phase.approvals_required,
                    }),
                )],
                message: format!("Gate of {:?} passed by an admin override.", phase.name),
                dismiss_reason: changed,
            })
        }
        PlanCommand::Tick {
            item_id,
            ticked,
            comment,
        } => {
            let (user_id, username, roles) = person(who, "ticking a checklist item")?;
            let comment = text("comment", &comment, false)?;
            let (phase, item) = l
                .phases
                .iter()
                .find_map(|p| p.items.iter().find(|it| it.id == item_id).map(|it| (p, it)))
                .ok_or_else(|| {
                    PlanError::NotFound(format!("checklist item {item_id:?} of this plan"))
                })?;
            if item.kind != "manual" {
                return Err(invalid(format!(
                    "{:?} is an automatic check; the server evaluates it",
                    item.text
                )));
            }
            if !phase.status.is_current() {
                return Err(invalid(format!(
                    "phase {:?} is {}; its checklist can be ticked while it runs",
                    phase.name, phase.status
                )));
            }
            if !roles.contains(&app::access::Role::Admin)
                && !roles.iter().any(|r| item.tickers.contains(r))
            {
                return Err(invalid(format!(
                    "{:?} may be ticked by: {}",
                    item.text,
                    item.tickers
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if ticked == item.ticked_at_ms.is_some() {
                return Err(invalid(format!(
                    "{:?} is already {}",
                    item.text,
                    if ticked { "ticked" } else { "unticked" }
                )));
            }
            let mut item = item.clone();
            if ticked {
                item.ticked_by = Some(user_id);
                item.ticked_by_name = Some(username);
                item.ticked_at_ms = Some(now);
                item.tick_comment = (!comment.is_empty()).then_some(comment.clone());
            } else {
                untick(&mut item);
            }
            store::save_tick(conn, &item).await?;
            Ok(Effect {
                events: vec![(
                    if ticked {
                        "checklist.tick"
                    } else {
                        "checklist.untick"
                    },
                    json!({ "phase": phase.name, "item": item.text, "comment": comment }),
                )],
                message: format!(
                    "{} {:?}.",
                    if ticked { "Ticked" } else { "Unticked" },
                    item.text
                ),
                dismiss_reason: "the checklist evidence changed",
            })
        }
        PlanCommand::Complete => {
            let status = plan_transition(l.plan.status, PlanEvent::Complete)?;
            let last = l
                .phases
                .last()
                .ok_or_else(|| invalid("the plan has no phases"))?;
            let prev = l.phases.len().checked_sub(2).map(|i| &l.phases[i]);
            let soaked = last.started_at_ms.is_some_and(|t| now - t >= last.soak_ms);
            if last.status != PhaseStatus::Approved || !complete(last, prev, now, facts) || !soaked
            {
                return Err(invalid(format!(
                    "the last phase {:?} must be approved, its checklist complete and its soak elapsed first",
                    last.name
                )));
            }
            let mut last = last.clone();
            last.status = phase_transition(last.status, PhaseEvent::Finish)?;
            last.done_at_ms = Some(now);
            store::save_phase_state(conn, &last).await?;
            store::set_plan_status(conn, &l.plan.id, status).await?;
            Ok(Effect {
                events: vec![(
                    "plan.complete",
                    json!({ "name": l.plan.name, "exposure_bp": l.flag.exposure_bp }),
                )],
                message: format!("Plan {:?} completed.", l.plan.name),
                dismiss_reason: changed,
            })
        }
        PlanCommand::Rollback {
            kind,
            confirm,
            reason,
            entity,
        } => {
            if confirm.trim() != l.plan.name {
                return Err(invalid(format!(
                    "confirm: type the plan's name exactly ({:?}) to confirm",
                    l.plan.name
                )));
            }
            let reason = text("reason", &reason, true)?;
            rollback(conn, l, kind, reason, entity.trim(), now).await
        }
    }
}

fn untick(item: &mut store::ItemRecord) {
    item.ticked_by = None;
    item.ticked_by_name = None;
    item.ticked_at_ms = None;
    item.tick_comment = None;
}

fn who_id(who: &Principal) -> String {
    match who {
        Principal::User { id, .. } | Principal::Token { id, .. } => id.clone(),
    }
}

async fn insert_decision(
    conn: &mut sqlx::AnyConnection,
    phase: &store::PhaseRecord,
    d: &DecisionRecord,
) -> Result<(), PlanError> {
    store::insert_decision(conn, &phase.id, d)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                invalid(format!(
                    "you already decided on phase {:?}; one decision per person",
                    phase.name
                ))
            } else {
                e.into()
            }
        })
}

async fn rollback(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    kind: RollbackKind,
    reason: String,
    entity: &str,
    now: i64,
) -> Result<Effect, PlanError> {
    let mut flag = l.flag.clone();
    let before = if flag.enabled { flag.exposure_bp } else { 0 };
    match kind {
        RollbackKind::Standard => {
            if l.plan.status != PlanStatus::Active {
                return Err(invalid(format!(
                    "the plan is {}; nothing runs to roll back",
                    l.plan.status
                )));
            }
            let current = l
                .current()
                .ok_or_else(|| invalid("no phase is running; nothing to roll back"))?;
            let i = current.position as usize;
            let mut phase = current.clone();
            phase.status = phase_transition(phase.status, PhaseEvent::RollBack)?;
            phase.started_at_ms = None;
            phase.requested_by = None;
            phase.requested_by_name = None;
            phase.requested_at_ms = None;
            phase.approved_at_ms = None;
            store::save_phase_state(conn, &phase).await?;
            for d in phase.decisions.iter().filter(|d| d.live()) {
                store::dismiss_decision(conn, &d.id, now, "phase rolled back").await?;
            }
            for item in phase.items.iter().filter(|it| it.ticked_at_ms.is_some()) {
                let mut item = item.clone();
                untick(&mut item);
                store::save_tick(conn, &item).await?;
            }
            let previous = i.checked_sub(1).map(|j| &l.phases[j]);
            if let Some(prev) = previous {
                let mut prev = prev.clone();
                prev.status = phase_transition(prev.status, PhaseEvent::Reopen)?;
                prev.done_at_ms = None;
                store::save_phase_state(conn, &prev).await?;
            }
            flag.exposure_bp = previous.map_or(0, |p| p.exposure_bp);
            crate::flags::store::save(conn, &flag, now).await?;
            Ok(Effect {
                events: vec![(
                    "plan.rollback.standard",
                    json!({
                        "phase": phase.name,
                        "reason": reason,
                        "exposure_bp_before": before,
                        "exposure_bp_after": flag.exposure_bp,
                        "current_phase_after": previous.map(|p| p.name.clone()),
                    }),
                )],
                message: format!(
                    "Rolled back {:?}: {} back to {}.",
                    phase.name,
                    flag.key,
                    percent(flag.exposure_bp)
                ),
                dismiss_reason: "phase rolled back",
            })
        }
        RollbackKind::Emergency | RollbackKind::Abort => {
            let (event, action) = if kind == RollbackKind::Emergency {
                (PlanEvent::RollBack, "plan.rollback.emergency")
            } else {
                (PlanEvent::Abort, "plan.abort")
            };
            let status = plan_transition(l.plan.status, event)?;
            store::set_plan_status(conn, &l.plan.id, status).await?;
            let jobs_paused =
                crate::backfill::runs::pause_plan(conn, &l.plan.id, &format!("{action}: {reason}"))
                    .await?;
            flag.enabled = false;
            crate::flags::store::save(conn, &flag, now).await?;
            Ok(Effect {
                events: vec![(
                    action,
                    json!({
                        "reason": reason,
                        "flag": flag.key,
                        "flag_enabled": false,
                        "exposure_bp_before": before,
                        "jobs_paused": jobs_paused,
                    }),
                )],
                message: format!(
                    "{} {:?}: flag {} is off for everyone.",
                    if kind == RollbackKind::Emergency {
                        "Emergency rollback of"
                    } else {
                        "Aborted"
                    },
                    l.plan.name,
                    flag.key
                ),
                dismiss_reason: changed_reason(),
            })
        }
        RollbackKind::Entity => {
            if entity.is_empty() || entity.len() > 256 {
                return Err(invalid(
                    "entity: give the id of the organisation (1 to 256 characters)",
                ));
            }
            if flag.deny.iter().any(|e| e == entity) {
                return Err(invalid(format!(
                    "entity: {entity:?} is already on the deny list"
                )));
            }
            flag.deny.push(entity.to_string());
            flag.deny.sort();
            crate::flags::store::save(conn, &flag, now).await?;
            Ok(Effect {
                events: vec![(
                    "flag.deny",
                    json!({ "flag": flag.key, "entity": entity, "reason": reason }),
                )],
                message: format!("{entity:?} rolled back alone: {} is off for it.", flag.key),
                dismiss_reason: changed_reason(),
            })
        }
    }
}

fn changed_reason() -> &'static str {
    "the phase configuration or checklist changed"
}
