//! Runbook steps: what people do that the console cannot run (deploys,
//! restarts, `pg_restore`), written in the plan file on the phase
//! (`runbook = [...]`) or the rollback (`[rollback] emergency = [...]`) they
//! belong to, and shown there.
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::PlanFile;
use crate::problems::Report;
use app::dto::plans::RollbackKind;

/// At most this many steps in one list, each at most `MAX_STEP` characters.
pub const MAX_STEPS: usize = 30;
pub const MAX_STEP: usize = 500;

/// `[rollback]`: the steps of each rollback that people carry out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackSteps {
    #[serde(default)]
    pub standard: Vec<Spanned<String>>,
    #[serde(default)]
    pub pause: Vec<Spanned<String>>,
    #[serde(default)]
    pub emergency: Vec<Spanned<String>>,
    #[serde(default)]
    pub abort: Vec<Spanned<String>>,
    #[serde(default)]
    pub entity: Vec<Spanned<String>>,
}

impl RollbackSteps {
    fn lists(&self) -> [(RollbackKind, &[Spanned<String>]); 5] {
        [
            (RollbackKind::Standard, &self.standard),
            (RollbackKind::Pause, &self.pause),
            (RollbackKind::Emergency, &self.emergency),
            (RollbackKind::Abort, &self.abort),
            (RollbackKind::Entity, &self.entity),
        ]
    }
}

/// Every step is said in words, not too long, and the lists stay short.
pub fn check(r: &mut Report<'_>, steps: &[Spanned<String>], path: &str) {
    for (k, step) in steps.iter().enumerate() {
        let text = step.get_ref().trim();
        if text.is_empty() {
            r.at(
                step.span(),
                format!("{path}[{k}]"),
                "say what to do, or remove the step",
            );
        } else if text.chars().count() > MAX_STEP {
            r.at(
                step.span(),
                format!("{path}[{k}]"),
                format!("at most {MAX_STEP} characters"),
            );
        }
    }
    if let Some(extra) = steps.get(MAX_STEPS) {
        r.at(
            extra.span(),
            path.to_string(),
            format!("at most {MAX_STEPS} steps"),
        );
    }
}

pub fn check_rollback(r: &mut Report<'_>, file: &PlanFile) {
    if let Some(steps) = &file.rollback {
        for (kind, list) in steps.get_ref().lists() {
            check(r, list, &format!("rollback.{}", kind.as_str()));
        }
    }
}

/// The runbooks of a plan: each phase's steps by name, each rollback's.
#[derive(Debug, Clone, Default)]
pub struct Runbooks {
    pub phases: BTreeMap<String, Vec<String>>,
    pub rollbacks: HashMap<RollbackKind, Vec<String>>,
}

pub fn of_file(file: &PlanFile) -> Runbooks {
    let texts = |list: &[Spanned<String>]| -> Vec<String> {
        list.iter()
            .map(|s| s.get_ref().trim().to_string())
            .collect()
    };
    Runbooks {
        phases: file
            .phases
            .iter()
            .map(|p| p.get_ref())
            .map(|p| (p.name.get_ref().trim().to_string(), texts(&p.runbook)))
            .collect(),
        rollbacks: file
            .rollback
            .as_ref()
            .map(|steps| {
                steps
                    .get_ref()
                    .lists()
                    .into_iter()
                    .map(|(kind, list)| (kind, texts(list)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::file::spec::validate;

    const PLAN: &str = r#"[plan]
name = "Runbook"
flag = "runbook"

[[phases]]
name = "pilot"
environment = "production"
exposure_bp = 100
runbook = ["encore deploy production", "Watch the logs for 4 hours"]

[rollback]
emergency = ["Page the DBA", "pg_restore if data was lost"]
"#;

    #[test]
    fn steps_are_read_per_phase_and_per_rollback() {
        let books = of_file(&validate(PLAN).unwrap());
        assert_eq!(books.phases["pilot"][0], "encore deploy production");
        assert_eq!(books.rollbacks[&RollbackKind::Emergency].len(), 2);
        assert!(books.rollbacks[&RollbackKind::Standard].is_empty());
    }

    #[test]
    fn empty_steps_and_unknown_rollbacks_are_named() {
        let bad = PLAN.replace("\"Watch the logs for 4 hours\"", "\"  \"");
        let problems = validate(&bad).unwrap_err();
        assert!(
            problems[0].to_string().contains("phases[0].runbook[1]"),
            "{problems:?}"
        );
        let bad = PLAN.replace("emergency = [", "sideways = [");
        let problems = validate(&bad).unwrap_err();
        assert!(problems[0].to_string().contains("sideways"), "{problems:?}");
    }
}
