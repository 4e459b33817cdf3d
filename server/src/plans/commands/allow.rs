//! Pilot allow lists: entities put on (or taken off) one environment's allow
//! list by hand or from a phase's `allow_query`, each change audited with
//! the list before and after.
use serde_json::json;

use super::{invalid, text, wrong_state, Cx, Effect};
use crate::backfill::error::BackfillError;
use crate::flags::store::save_state;
use crate::plans::error::PlanError;
use crate::plans::file::spec::pilot::{self, bad_entity, MAX_ALLOWED};
use crate::plans::service::PlanService;
use crate::plans::store::Loaded;
use app::error::AppError;

/// Where an allow list came from, for the audit trail.
pub enum From {
    Hand,
    /// The `allow_query` of this phase, on this target.
    Query {
        phase: String,
        target: String,
    },
}

impl PlanService {
    /// Runs the phase's `allow_query`: its environment, the entities it
    /// lists, and where they came from.
    pub(in crate::plans) async fn pilot_of(
        &self,
        plan_id: &str,
        phase_id: &str,
    ) -> Result<(String, Vec<String>, From), AppError> {
        let l = self.load(plan_id).await?;
        let phase = l
            .phase(phase_id)
            .ok_or_else(|| super::not_in_plan(format!("phase {phase_id:?}")))?;
        let query = pilot::of_phase(&l.plan.source_toml, &phase.name).query;
        let (target, sql) = query.ok_or_else(|| {
            invalid(format!(
                "phase {:?} has no allow_query; add allow_query = {{ target = \"…\", sql = \"SELECT id FROM …\" }} to it",
                phase.name
            ))
        })?;
        let entities = pilot::fetch(&self.targets, (&target, &sql), &phase.environment)
            .await
            .map_err(|e: BackfillError| AppError::from(e))?;
        let from = From::Query {
            phase: phase.name.clone(),
            target,
        };
        Ok((phase.environment.clone(), entities, from))
    }
}

fn open(l: &Loaded) -> Result<(), PlanError> {
    if l.plan.status.is_final() {
        return Err(wrong_state(format!(
            "the plan is {}, which is final: its flag's allow lists no longer grow",
            l.plan.status
        )));
    }
    Ok(())
}

pub(super) async fn allow(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (environment, entities, from, reason): (String, Vec<String>, From, String),
) -> Result<Effect, PlanError> {
    open(cx.l)?;
    let reason = text("reason", &reason, true)?;
    known_environment(&cx, &environment)?;
    let entities: Vec<String> = entities.iter().map(|e| e.trim().to_string()).collect();
    if let Some(problem) = entities.iter().find_map(|e| bad_entity(e)) {
        return Err(invalid(format!("entities: {problem}")));
    }
    let before = cx.l.flag.state(&environment);
    let mut after = before.clone();
    let added: Vec<String> = entities
        .iter()
        .filter(|e| !before.allow.contains(e))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if added.is_empty() {
        return Err(invalid(match from {
            From::Hand if entities.is_empty() => {
                "entities: name at least one entity id".to_string()
            }
            From::Query { .. } if entities.is_empty() => "allow_query returned no rows".to_string(),
            _ => {
                return Err(wrong_state(format!(
                    "every one of them is already on the allow list of {environment}"
                )))
            }
        }));
    }
    after.allow.extend(added.iter().cloned());
    after.allow.sort();
    if after.allow.len() > MAX_ALLOWED {
        return Err(invalid(format!(
            "the allow list of {environment} would hold {} entities; at most {MAX_ALLOWED}",
            after.allow.len()
        )));
    }
    save_state(conn, &cx.l.plan.id, &environment, &after, cx.now).await?;
    let source = match &from {
        From::Hand => json!("hand"),
        From::Query { phase, target } => {
            json!({ "allow_query": { "phase": phase, "target": target } })
        }
    };
    Ok(Effect::one(
        "flag.allow",
        json!({
            "flag": cx.l.flag.key, "environment": environment, "added": added,
            "allow_list_size": after.allow.len(), "source": source, "reason": reason,
        }),
        format!(
            "{} added to the allow list of {} in {environment} ({} in all).",
            added.len(),
            cx.l.flag.key,
            after.allow.len()
        ),
    ))
}

pub(super) async fn disallow(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (environment, entity, reason): (String, String, String),
) -> Result<Effect, PlanError> {
    let reason = text("reason", &reason, true)?;
    known_environment(&cx, &environment)?;
    let entity = entity.trim().to_string();
    let before = cx.l.flag.state(&environment);
    if !before.allow.contains(&entity) {
        return Err(wrong_state(format!(
            "entity: {entity:?} is not on the allow list of {} in {environment}",
            cx.l.flag.key
        )));
    }
    let mut after = before.clone();
    after.allow.retain(|e| *e != entity);
    save_state(conn, &cx.l.plan.id, &environment, &after, cx.now).await?;
    Ok(Effect::one(
        "flag.disallow",
        json!({ "flag": cx.l.flag.key, "environment": environment, "entity": entity, "reason": reason }),
        format!("{entity:?} is off the allow list of {environment}."),
    ))
}

fn known_environment(cx: &Cx<'_>, environment: &str) -> Result<(), PlanError> {
    if cx.environments.iter().any(|e| e == environment) {
        return Ok(());
    }
    Err(invalid(format!(
        "environment: {environment:?} is not one of the console's environments ({})",
        cx.environments.join(", ")
    )))
}
