//! Capturing a guardrail's baseline by hand: when none was captured before
//! the running phase started (its source was not configured yet, or could
//! not answer then), a guardrail whose bound is relative to it reads
//! inconclusive until someone says what "before" was. An operator takes the
//! guardrail's newest value read in the phase as its baseline, with a
//! reason; audited with the value and the reading it came from. A baseline
//! that exists is never replaced.
use serde_json::json;

use super::{invalid, text, wrong_state, Cx, Effect};
use crate::plans::error::PlanError;
use crate::plans::guardrail::measurements;

pub(super) async fn capture_baseline(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (guardrail, reason): (String, String),
) -> Result<Effect, PlanError> {
    let reason = text("reason", &reason, true)?;
    let phase = cx
        .l
        .current()
        .ok_or_else(|| wrong_state("no phase is running: a baseline belongs to a running phase"))?;
    let started = phase
        .started_at_ms
        .ok_or_else(|| invalid("the running phase has no start time"))?;
    let def = cx
        .facts
        .guardrails
        .declared
        .iter()
        .find(|g| g.name == guardrail.trim())
        .ok_or_else(|| super::not_in_plan(format!("guardrail {guardrail:?}")))?;
    if !def.needs_baseline() {
        return Err(invalid(format!(
            "guardrail {:?}: its bounds are numbers, not relative to a baseline",
            def.name
        )));
    }
    if !def.watches(&phase.environment) {
        return Err(invalid(format!(
            "guardrail {:?} does not watch {}, where the running phase is",
            def.name, phase.environment
        )));
    }
    let key = (def.name.as_str(), phase.environment.as_str());
    let which = def.baseline_key(started);
    if let Some(b) = measurements::baseline(conn, &cx.l.plan.id, key, which).await? {
        let whose = if def.baseline_per_phase {
            "this phase"
        } else {
            "this rollout"
        };
        return Err(PlanError::Conflict(
            app::error::Conflict::AlreadyExists,
            format!(
            "guardrail {:?} already has a baseline in {} for {whose} ({b}); it is never replaced",
            def.name, phase.environment
        ),
        ));
    }
    let newest = measurements::latest(conn, &cx.l.plan.id)
        .await?
        .into_iter()
        .find(|m| m.guardrail == def.name && m.environment == phase.environment)
        .filter(|m| m.at_ms >= started);
    let (value, read_at) = match newest.as_ref().and_then(|m| m.value.map(|v| (v, m.at_ms))) {
        Some((v, at)) if v.is_finite() => (v, at),
        _ => {
            return Err(wrong_state(format!(
                "guardrail {:?} has read no value in {} since the phase started; \
                 wait for a reading with a value, then capture it",
                def.name, phase.environment
            )))
        }
    };
    let how = format!(
        "the reading at {}, taken by an operator",
        app::format::utc_datetime(read_at)
    );
    measurements::save_baseline(
        conn,
        &cx.l.plan.id,
        key,
        (which, value, cx.now),
        (&how, None),
    )
    .await?;
    Ok(Effect::one(
        "guardrail.baseline",
        json!({
            "guardrail": def.name, "environment": phase.environment, "phase": phase.name,
            "value": value, "from_reading_at_ms": read_at, "reason": reason,
        }),
        format!(
            "Baseline of {} in {} set to {value} (its newest reading); its relative bounds now judge against it.",
            def.name, phase.environment
        ),
    ))
}
