//! Whether a plan file fits this console: every phase and job rolls out in
//! one of its environments, and every PromQL guardrail can tell the
//! environments it watches apart (`guardrail::environment`). Checked on
//! import, on an edit and when a change request applies, beside the file's
//! own validation (which needs no configuration).
use std::collections::BTreeMap;

use crate::config::PrometheusConfig;
use crate::plans::error::PlanError;
use crate::plans::file::definition::PlanDef;
use crate::plans::guardrail::environment::{cannot_tell, Reads};

pub fn check(
    environments: &[String],
    prometheus: &BTreeMap<String, PrometheusConfig>,
    def: &PlanDef,
    source: &str,
) -> Result<(), PlanError> {
    check_environments(environments, def)?;
    check_sources(environments, prometheus, def, source)
}

/// Every phase rolls out in one of the console's environments.
fn check_environments(environments: &[String], def: &PlanDef) -> Result<(), PlanError> {
    let named = def
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("phases[{i}].environment"), &p.environment))
        .chain(
            def.job_environments
                .iter()
                .map(|(path, e)| (path.clone(), e)),
        );
    for (path, env) in named {
        if !environments.contains(env) {
            return Err(PlanError::Invalid(format!(
                "{path}: {env:?} is not one of the console's environments ({}); \
                     use one of them, or add it to `environments` in console.toml",
                environments.join(", ")
            )));
        }
    }
    Ok(())
}

/// Every PromQL guardrail reads each environment it watches (by default,
/// every one the plan's phases roll out in) from that environment's
/// metrics.
fn check_sources(
    environments: &[String],
    prometheus: &BTreeMap<String, PrometheusConfig>,
    def: &PlanDef,
    source: &str,
) -> Result<(), PlanError> {
    let Some(file) = crate::plans::file::parsed::parsed(source) else {
        return Ok(());
    };
    let production = environments.last().map_or("", String::as_str);
    for (i, g) in file.guardrails.iter().enumerate() {
        let g = g.get_ref();
        let (Some(server), Some(query)) = (&g.prometheus, &g.query) else {
            continue;
        };
        let server = server.get_ref().as_str();
        let watched: Vec<&str> = if g.environments.is_empty() {
            def.phases.iter().map(|p| p.environment.as_str()).collect()
        } else {
            g.environments
                .iter()
                .map(|e| e.get_ref().as_str())
                .collect()
        };
        for environment in watched {
            let reads = Reads {
                server,
                queries: [
                    Some(query.get_ref().as_str()),
                    g.sample_query.as_ref().map(|q| q.get_ref().as_str()),
                ],
                shared: g.shared_source,
                own_server: prometheus
                    .get(server)
                    .is_some_and(|p| p.environments.contains_key(environment)),
            };
            if let Some(why) = cannot_tell(&reads, environment, production) {
                return Err(PlanError::Invalid(format!(
                    "guardrails[{i}] ({}): {why}",
                    g.name.get_ref()
                )));
            }
        }
    }
    Ok(())
}
