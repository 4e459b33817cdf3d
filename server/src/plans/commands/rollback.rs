//! Rollback commands: standard, emergency and a single organisation.
use app::dto::plans::{percent, PlanStatus, RollbackKind};
use serde_json::json;

use super::{changed_reason, invalid, text, untick, Effect};
use crate::plans::error::PlanError;
use crate::plans::state::{phase_transition, plan_transition, PhaseEvent, PlanEvent};
use crate::plans::store::{self, Loaded};

pub(super) async fn rollback_command(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    now: i64,
    kind: RollbackKind,
    confirm: String,
    reason: String,
    entity: String,
) -> Result<Effect, PlanError> {
    if confirm.trim() != l.plan.name {
        return Err(invalid(format!(
            "confirm: type the plan's name exactly ({:?}) to confirm",
            l.plan.name
        )));
    }
    let reason = text("reason", &reason, true)?;
    rollback(conn, l, kind, reason, entity.trim(), now).await
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
