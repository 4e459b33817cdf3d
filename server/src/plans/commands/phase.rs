//! Starting a phase (its blockers, the flag it sets) and completing the plan.
use app::dto::plans::{exposure_text, PhaseStatus, PlanStatus};
use serde_json::json;

use super::{changed_reason, invalid, wrong_state, Cx, Effect};
use crate::plans::error::PlanError;
use crate::plans::rules::checks::complete;
use crate::plans::rules::state::{phase_transition, plan_transition, PhaseEvent, PlanEvent};
use crate::plans::store;
use crate::plans::view::blockers_for;

pub(super) async fn start_phase(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    i: usize,
) -> Result<Effect, PlanError> {
    let blockers = blockers_for(cx.l, i, cx.now, cx.facts);
    if !blockers.is_empty() {
        return Err(wrong_state(format!(
            "phase {:?} cannot start yet: {}",
            cx.l.phases[i].name,
            blockers.join("; ")
        )));
    }
    let mut events = Vec::new();
    if cx.l.plan.status == PlanStatus::Draft {
        let status = plan_transition(cx.l.plan.status, PlanEvent::Activate)?;
        store::set_plan_status(conn, &cx.l.plan.id, status).await?;
        events.push(("plan.activate", json!({ "name": cx.l.plan.name })));
    }
    if let Some(prev) = i.checked_sub(1).map(|j| &cx.l.phases[j]) {
        let mut prev = prev.clone();
        prev.status = phase_transition(prev.status, PhaseEvent::Finish)?;
        prev.done_at_ms = Some(cx.now);
        store::save_phase_state(conn, &prev).await?;
    }
    let mut phase = cx.l.phases[i].clone();
    phase.status = phase_transition(phase.status, PhaseEvent::Start)?;
    phase.started_at_ms = Some(cx.now);
    phase.clear_approval();
    store::save_phase_state(conn, &phase).await?;
    // Only the phase's own environment changes.
    let before = cx.l.flag.state(&phase.environment);
    let mut after = before.clone();
    after.enabled = true;
    after.exposure_bp = phase.exposure_bp;
    after.set_by = phase.name.clone();
    // The phase's pilot entities (`allow = [...]`) join its allow list.
    let pilot = crate::plans::file::spec::pilot::of_phase(&cx.l.plan.source_toml, &phase.name);
    let allowed: Vec<String> = pilot
        .allow
        .into_iter()
        .filter(|e| !after.allow.contains(e))
        .collect();
    after.allow.extend(allowed.iter().cloned());
    after.allow.sort();
    after.allow.dedup();
    crate::flags::store::save_state(conn, &cx.l.plan.id, &phase.environment, &after, cx.now)
        .await?;
    events.push((
        "phase.start",
        json!({
            "phase": phase.name,
            "environment": phase.environment,
            "flag": cx.l.flag.key,
            "exposure_bp": phase.exposure_bp,
            "previous_exposure_bp": before.effective_bp(),
            "allowed": allowed,
            "previous_allowed": before.allowed(),
            "allowed_now": after.allow.len(),
        }),
    ));
    Ok(Effect {
        events,
        message: format!(
            "Started phase {:?}: {} now at {} in {}.",
            phase.name,
            cx.l.flag.key,
            exposure_text(phase.exposure_bp, after.allow.len()),
            phase.environment
        ),
        dismiss_reason: changed_reason(),
    })
}

/// Finishes the plan once its last phase is approved, soaked and complete;
/// `confirm` is the plan's name typed. The flag stays as it is in every
/// environment (the feature is launched) and keeps its kill switch.
pub(super) async fn complete_plan(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    confirm: String,
) -> Result<Effect, PlanError> {
    if confirm.trim() != cx.l.plan.name {
        return Err(super::not_confirmed(format!(
            "confirm: type the plan's name exactly ({:?}) to complete it; the flag then stays as it \
             is now in every environment",
            cx.l.plan.name
        )));
    }
    let status = plan_transition(cx.l.plan.status, PlanEvent::Complete)?;
    let last =
        cx.l.phases
            .last()
            .ok_or_else(|| invalid("the plan has no phases"))?;
    let prev = cx.l.phases.len().checked_sub(2).map(|i| &cx.l.phases[i]);
    let soaked = last
        .started_at_ms
        .is_some_and(|t| cx.now - t >= last.soak_ms);
    if last.status != PhaseStatus::Approved || !complete(last, prev, cx.now, cx.facts) || !soaked {
        return Err(wrong_state(format!(
            "the last phase {:?} must be approved, its checklist complete and its soak elapsed first",
            last.name
        )));
    }
    let mut last = last.clone();
    last.status = phase_transition(last.status, PhaseEvent::Finish)?;
    last.done_at_ms = Some(cx.now);
    store::save_phase_state(conn, &last).await?;
    store::set_plan_status(conn, &cx.l.plan.id, status).await?;
    let launched: Vec<_> = cx
        .environments
        .iter()
        .map(|env| {
            let s = cx.l.flag.state(env);
            json!({ "environment": env, "exposure_bp": s.effective_bp(), "allowed": s.allowed(), "enabled": s.enabled })
        })
        .collect();
    let here = cx.l.flag.state(&last.environment);
    Ok(Effect::one(
        "plan.complete",
        json!({
            "name": cx.l.plan.name,
            "exposure_bp": here.effective_bp(),
            "flag": cx.l.flag.key,
            "launched": launched,
        }),
        format!(
            "Plan {:?} completed: {} stays at {} in {}; its kill switch (the emergency rollback) stays on this page.",
            cx.l.plan.name,
            cx.l.flag.key,
            exposure_text(here.effective_bp(), here.allowed()),
            last.environment
        ),
    ))
}
