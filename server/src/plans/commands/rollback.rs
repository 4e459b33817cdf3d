//! Rollback commands — standard (the running phase's environment back to
//! what it was before the phase), pause at 0 % (and resume), emergency and
//! abort (the flag off everywhere, the plan ended), a single organisation
//! (and its restore). What each does to each environment is decided in
//! `plans::exposure`, which never raises an exposure.
use app::dto::plans::{exposure_text, percent, PlanStatus, RollbackKind};
use serde_json::{json, Value};

use super::{invalid, text, untick, wrong_state, Cx, Effect};
use crate::plans::error::PlanError;
use crate::plans::rules::exposure::{rollback_changes, Change};
use crate::plans::rules::state::{phase_transition, plan_transition, PhaseEvent, PlanEvent};
use crate::plans::store::{self, Loaded};

/// A rollback as asked for: what, the plan's name typed, why, the
/// organisation (`Entity` only), and whether an unsafe one after an
/// irreversible phase is accepted.
pub(super) struct Asked {
    pub kind: RollbackKind,
    pub confirm: String,
    pub reason: String,
    pub entity: String,
    pub accept_irreversible: bool,
}

pub(super) async fn rollback_command(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    asked: Asked,
) -> Result<Effect, PlanError> {
    let kind = asked.kind;
    if asked.confirm.trim() != cx.l.plan.name {
        return Err(super::not_confirmed(format!(
            "confirm: type the plan's name exactly ({:?}) to confirm",
            cx.l.plan.name
        )));
    }
    let reason = text("reason", &asked.reason, true)?;
    let entity = asked.entity.trim();
    if kind == RollbackKind::Entity && (entity.is_empty() || entity.len() > 256) {
        return Err(invalid(
            "entity: give the id of the organisation (1 to 256 characters)",
        ));
    }
    // Standard and pause act on the running phase; emergency and abort on
    // the plan (the state machine says which plans may take them); one
    // organisation works on any plan.
    if matches!(kind, RollbackKind::Standard | RollbackKind::Pause)
        && cx.l.plan.status != PlanStatus::Active
    {
        return Err(wrong_state(format!(
            "the plan is {}; nothing runs to roll back",
            cx.l.plan.status
        )));
    }
    let changes = rollback_changes(cx.l, kind, entity, cx.environments).map_err(invalid)?;
    let past = unsafe_now(cx.l, kind, &changes);
    if let (Some(why), false) = (&past, asked.accept_irreversible) {
        return Err(invalid(format!(
            "accept_irreversible: this {} rollback is not safe any more: {why}. Take it only if \
             the application no longer depends on what that phase changed: tick \"roll back \
             anyway\" and say why in the reason",
            kind.as_str()
        )));
    }
    save(conn, cx.l, &changes, cx.now).await?;
    let mut effect = taken(conn, cx, kind, reason, entity, &changes).await?;
    if let (Some(why), Some((_, details))) = (past, effect.events.first_mut()) {
        details["accepted_irreversible"] = Value::String(why);
    }
    Ok(effect)
}

/// Why a `kind` rollback making `changes` on `l` is unsafe after an
/// irreversible phase, if it is.
pub(super) fn unsafe_now(l: &Loaded, kind: RollbackKind, changes: &[Change]) -> Option<String> {
    let marked = crate::plans::file::spec::irreversible::marked(&l.plan.source_toml);
    crate::plans::rules::irreversible::rollback_unsafe(l, &marked, kind, changes)
}

/// The rollback's state changes beyond the flag, its audit event and its
/// message.
async fn taken(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    kind: RollbackKind,
    reason: String,
    entity: &str,
    changes: &[Change],
) -> Result<Effect, PlanError> {
    let exposures = exposures_json(changes);
    match kind {
        RollbackKind::Standard => standard(conn, cx.l, cx.now, reason, changes).await,
        RollbackKind::Pause => {
            let current =
                cx.l.current()
                    .ok_or_else(|| wrong_state("no phase is running"))?;
            Ok(Effect::one(
                "plan.pause",
                json!({ "phase": current.name, "reason": reason, "exposures": exposures }),
                format!(
                    "Paused {:?}: {} is off in {} until you resume; the plan stays active.",
                    current.name, cx.l.flag.key, current.environment
                ),
            ))
        }
        RollbackKind::Emergency | RollbackKind::Abort => {
            let (event, action) = if kind == RollbackKind::Emergency {
                (PlanEvent::RollBack, "plan.rollback.emergency")
            } else {
                (PlanEvent::Abort, "plan.abort")
            };
            let status = plan_transition(cx.l.plan.status, event)?;
            store::set_plan_status(conn, &cx.l.plan.id, status).await?;
            let jobs_paused = crate::backfill::runs::pause_plan(
                conn,
                &cx.l.plan.id,
                &format!("{action}: {reason}"),
            )
            .await?;
            Ok(Effect::one(
                action,
                json!({
                    "reason": reason,
                    "flag": cx.l.flag.key,
                    "flag_enabled": false,
                    "exposures": exposures,
                    "jobs_paused": jobs_paused,
                }),
                format!(
                    "{} {:?}: flag {} is off for everyone, in every environment.",
                    if kind == RollbackKind::Emergency {
                        "Emergency rollback of"
                    } else {
                        "Aborted"
                    },
                    cx.l.plan.name,
                    cx.l.flag.key
                ),
            ))
        }
        RollbackKind::Entity => Ok(Effect::one(
            "flag.deny",
            json!({ "flag": cx.l.flag.key, "entity": entity, "reason": reason }),
            format!(
                "{entity:?} rolled back alone: {} is off for it in every environment.",
                cx.l.flag.key
            ),
        )),
    }
}

/// The running phase goes back to pending (its approvals dismissed, its
/// ticks cleared) and the phase before it runs again; its environment is
/// already back where it was before the phase.
async fn standard(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    now: i64,
    reason: String,
    changes: &[Change],
) -> Result<Effect, PlanError> {
    let current = l
        .current()
        .ok_or_else(|| wrong_state("no phase is running; nothing to roll back"))?;
    let i = current.position as usize;
    let mut phase = current.clone();
    phase.status = phase_transition(phase.status, PhaseEvent::RollBack)?;
    phase.started_at_ms = None;
    phase.clear_approval();
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
    let (before, after) = changes.first().map_or((percent(0), percent(0)), |c| {
        (
            exposure_text(c.before.effective_bp(), c.before.allowed()),
            exposure_text(c.after.effective_bp(), c.after.allowed()),
        )
    });
    Ok(Effect {
        events: vec![(
            "plan.rollback.standard",
            json!({
                "phase": phase.name,
                "environment": phase.environment,
                "reason": reason,
                "exposures": exposures_json(changes),
                "current_phase_after": previous.map(|p| p.name.clone()),
            }),
        )],
        message: format!(
            "Rolled back {:?}: {} in {} from {} to {}; the plan stays active.",
            phase.name, l.flag.key, phase.environment, before, after
        ),
        dismiss_reason: "phase rolled back",
    })
}

/// The running phase's environment back to the phase's exposure, after a
/// pause.
pub(super) async fn resume(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    reason: String,
) -> Result<Effect, PlanError> {
    let reason = text("reason", &reason, true)?;
    if cx.l.plan.status != PlanStatus::Active {
        return Err(wrong_state(format!(
            "the plan is {}; nothing to resume",
            cx.l.plan.status
        )));
    }
    let current =
        cx.l.current()
            .ok_or_else(|| wrong_state("no phase is running; start one instead"))?;
    let env = &current.environment;
    let before = cx.l.flag.state(env);
    if before.enabled {
        return Err(wrong_state(format!("{env} is not paused")));
    }
    if let Some(why) = still_breaching(cx, env, current.started_at_ms.unwrap_or(0)) {
        return Err(wrong_state(format!(
            "{why}: {env} stays paused while a guardrail watching it is not healthy \
             (no data is not healthy). Resume once it reads healthy (its readings go on while \
             paused), fix its source, or roll back"
        )));
    }
    let mut after = before.clone();
    after.enabled = true;
    after.exposure_bp = current.exposure_bp;
    let change = Change {
        environment: env.clone(),
        before,
        after,
    };
    save(conn, cx.l, std::slice::from_ref(&change), cx.now).await?;
    Ok(Effect::one(
        "plan.resume",
        json!({ "phase": current.name, "reason": reason, "exposures": exposures_json(&[change]) }),
        format!(
            "Resumed {:?}: {} in {env} back at {}.",
            current.name,
            cx.l.flag.key,
            percent(current.exposure_bp)
        ),
    ))
}

/// The first guardrail watching `env` (and acting: not a dry run) whose
/// newest reading in the running phase is not healthy, in words. A resume
/// waits for it: once it reads healthy, a new breach is a new streak, so
/// the guardrail is armed again.
fn still_breaching(cx: Cx<'_>, env: &str, since_ms: i64) -> Option<String> {
    use crate::plans::guardrail::Outcome;
    let g = &cx.facts.guardrails;
    g.declared
        .iter()
        .filter(|d| !d.dry_run && d.watches(env))
        .find_map(|d| {
            let newest = g
                .measurements
                .iter()
                .filter(|m| m.guardrail == d.name && m.environment == env && m.at_ms >= since_ms)
                .max_by_key(|m| m.at_ms)?;
            (newest.outcome != Outcome::Healthy).then(|| {
                format!(
                    "guardrail {:?} still reads {} in {env} ({})",
                    d.name,
                    newest.outcome.as_str(),
                    newest.detail
                )
            })
        })
}

/// Undoes a single-organisation rollback: off the deny list everywhere.
pub(super) async fn restore(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (entity, reason): (String, String),
) -> Result<Effect, PlanError> {
    let reason = text("reason", &reason, true)?;
    let entity = entity.trim();
    let changes: Vec<Change> =
        cx.l.flag
            .states
            .iter()
            .filter(|(_, s)| s.deny.iter().any(|d| d == entity))
            .map(|(env, s)| {
                let mut after = s.clone();
                after.deny.retain(|d| d != entity);
                Change {
                    environment: env.clone(),
                    before: s.clone(),
                    after,
                }
            })
            .collect();
    if changes.is_empty() {
        return Err(wrong_state(format!(
            "entity: {entity:?} is not on the deny list of {}",
            cx.l.flag.key
        )));
    }
    save(conn, cx.l, &changes, cx.now).await?;
    let environments: Vec<&str> = changes.iter().map(|c| c.environment.as_str()).collect();
    Ok(Effect::one(
        "flag.restore",
        json!({ "flag": cx.l.flag.key, "entity": entity, "reason": reason, "environments": environments }),
        format!(
            "{entity:?} restored: {} evaluates for it as for everyone again.",
            cx.l.flag.key
        ),
    ))
}

async fn save(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    changes: &[Change],
    now: i64,
) -> Result<(), PlanError> {
    for c in changes.iter().filter(|c| c.before != c.after) {
        let mut after = c.after.clone();
        // A rollback that turned exposure down set it; one entity's
        // deny-list change leaves the phase that set it named.
        if (after.enabled, after.exposure_bp) != (c.before.enabled, c.before.exposure_bp) {
            after.set_by = "rollback".into();
        }
        crate::flags::store::save_state(conn, &l.plan.id, &c.environment, &after, now).await?;
    }
    Ok(())
}

/// How many entities an environment's allow list turns on (none while off).
/// `{"production": {"before_bp": 500, "after_bp": 0, "before_allowed": 99,
/// "after_allowed": 0}, …}` for the audit trail.
fn exposures_json(changes: &[Change]) -> Value {
    let map: serde_json::Map<String, Value> = changes
        .iter()
        .map(|c| {
            (
                c.environment.clone(),
                json!({
                    "before_bp": c.before.effective_bp(), "after_bp": c.after.effective_bp(),
                    "before_allowed": c.before.allowed(), "after_allowed": c.after.allowed(),
                }),
            )
        })
        .collect();
    Value::Object(map)
}

/// A decision not to roll back: an issue seen in the running phase and why
/// the rollout goes on (seed 004's "continue, it has a fallback"). Nothing
/// changes but the trail, which the timeline and the audit log show.
pub(super) fn go_on(cx: Cx<'_>, (issue, reason): (String, String)) -> Result<Effect, PlanError> {
    let issue = text("issue", &issue, true)?;
    let reason = text("reason", &reason, true)?;
    if cx.l.plan.status != PlanStatus::Active {
        return Err(wrong_state(format!(
            "the plan is {}; nothing runs to decide on",
            cx.l.plan.status
        )));
    }
    let current =
        cx.l.current()
            .ok_or_else(|| wrong_state("no phase is running; nothing to decide on"))?;
    Ok(Effect {
        events: vec![(
            "plan.continue",
            json!({
                "phase": current.name,
                "environment": current.environment,
                "issue": issue,
                "reason": reason,
            }),
        )],
        message: format!("Recorded: {:?} goes on despite {issue:?}.", current.name),
        dismiss_reason: super::changed_reason(),
    })
}
