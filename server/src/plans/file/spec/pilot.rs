//! Pilot targeting: the entities a phase puts on its environment's allow
//! list (`allow = [...]` when it starts) and the read-only query on a target
//! that lists them (`allow_query`, loaded by an operator), as seed 004's
//! hand-picked pilot organisations.
use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::PhaseSpec;
use crate::backfill::error::BackfillError;
use crate::backfill::sandbox::{self, Access};
use crate::backfill::spec::is_identifier;
use crate::backfill::target;
use crate::backfill::target_read::Cell;
use crate::config::TargetConfig;
use crate::problems::Report;

/// At most this many entities on one allow list.
pub const MAX_ALLOWED: usize = 10_000;
/// An entity id as flags evaluate it: at most this many characters.
pub const MAX_ENTITY: usize = 200;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowQuery {
    /// A target named in the console's configuration.
    pub target: Spanned<String>,
    /// One read-only statement; its first column is the entity id.
    pub sql: Spanned<String>,
}

/// Why `entity` cannot go on an allow list, if it cannot.
pub fn bad_entity(entity: &str) -> Option<String> {
    if entity.trim().is_empty() {
        Some("an entity id is not empty".into())
    } else if entity.chars().count() > MAX_ENTITY {
        Some(format!("{entity:.40}…: at most {MAX_ENTITY} characters"))
    } else if entity.chars().any(char::is_control) {
        Some(format!("{entity:?}: no control characters"))
    } else {
        None
    }
}

pub fn check(r: &mut Report<'_>, p: &PhaseSpec, path: &str) {
    for (k, entity) in p.allow.iter().enumerate() {
        if let Some(problem) = bad_entity(entity.get_ref()) {
            r.at(entity.span(), format!("{path}.allow[{k}]"), problem);
        }
    }
    if p.allow.len() > MAX_ALLOWED {
        r.at(
            p.name.span(),
            format!("{path}.allow"),
            format!("at most {MAX_ALLOWED} entities"),
        );
    }
    if let Some(q) = &p.allow_query {
        let q = q.get_ref();
        if !is_identifier(q.target.get_ref()) {
            r.at(
                q.target.span(),
                format!("{path}.allow_query.target"),
                "name a target from the console's configuration ([targets.NAME])",
            );
        }
        if let Err(problem) = sandbox::check_any(q.sql.get_ref(), Access::Read) {
            r.at(q.sql.span(), format!("{path}.allow_query.sql"), problem);
        }
    }
}

/// Runs `sql` (read-only, sandboxed) on `target_name` for a phase in
/// `environment`: the distinct first-column values, at most `MAX_ALLOWED`.
pub async fn fetch(
    targets: &BTreeMap<String, TargetConfig>,
    (target_name, sql): (&str, &str),
    environment: &str,
) -> Result<Vec<String>, BackfillError> {
    if let Some(serves) = target::serves_other(targets, target_name, environment) {
        return Err(BackfillError::Invalid(format!(
            "allow_query: target {target_name:?} holds {serves}'s data and the phase rolls out in {environment}"
        )));
    }
    let t = target::connect(targets, target_name).await?;
    let wrapped = format!(
        "SELECT * FROM ({}) AS pilot LIMIT {}",
        sql.trim().trim_end_matches(';'),
        MAX_ALLOWED + 1
    );
    t.admit("allow_query", &wrapped, Access::Read)?;
    let rows = t
        .read_column(&wrapped, &[], target::READ_LIMIT)
        .await
        .map_err(|e| BackfillError::Invalid(format!("allow_query on target {target_name:?}: {e}")));
    t.close().await;
    let rows = rows?;
    if rows.len() > MAX_ALLOWED {
        return Err(BackfillError::Invalid(format!(
            "allow_query returned more than {MAX_ALLOWED} rows; narrow it (a pilot is a few hand-picked entities)"
        )));
    }
    let mut out: Vec<String> = rows
        .iter()
        .map(|cell| {
            match cell {
                Cell::Text(t) => Ok(t.clone()),
                Cell::Int(n) => Ok(n.to_string()),
                _ => Err(()),
            }
            .map_err(|_| {
                BackfillError::Invalid(
                    "allow_query: its first column must be text or an integer (the entity id)"
                        .into(),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if let Some(problem) = out.iter().find_map(|e| bad_entity(e)) {
        return Err(BackfillError::Invalid(format!(
            "allow_query returned {problem}"
        )));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A phase's pilot as its plan file gives it: static entities, and the
/// query's target and SQL.
#[derive(Debug, Clone, Default)]
pub struct Pilot {
    pub allow: Vec<String>,
    pub query: Option<(String, String)>,
}

/// Every phase's pilot, by phase name.
pub fn of_plan(source: &str) -> BTreeMap<String, Pilot> {
    super::validate(source)
        .map(|file| of_file(&file))
        .unwrap_or_default()
}

/// The same, from a parsed file.
pub fn of_file(file: &super::PlanFile) -> BTreeMap<String, Pilot> {
    file.phases
        .iter()
        .map(|p| p.get_ref())
        .map(|p| {
            let pilot = Pilot {
                allow: p
                    .allow
                    .iter()
                    .map(|a| a.get_ref().trim().to_string())
                    .collect(),
                query: p.allow_query.as_ref().map(|q| {
                    let q = q.get_ref();
                    (q.target.get_ref().clone(), q.sql.get_ref().clone())
                }),
            };
            (p.name.get_ref().trim().to_string(), pilot)
        })
        .collect()
}

/// One phase's pilot.
pub fn of_phase(source: &str, phase: &str) -> Pilot {
    of_plan(source).remove(phase).unwrap_or_default()
}
