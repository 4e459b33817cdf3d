//! Plans as code: the TOML format of a rollout plan (see
//! `docs/plan-format.md`) and its validation, which reports every problem
//! with its `line:column` and field path. Parsing only: nothing is stored.
//! Its parts, each with its own checks: `jobs` (the `[[jobs]]`), `pilot`
//! (allow lists and the allow query), `runbook` (steps people carry out)
//! `irreversible` (phases the flag cannot undo) and `flag` (what the flag
//! serves: `[flag]`).
pub mod flag;
pub mod irreversible;
pub mod jobs;
pub mod oncall;
pub mod pilot;
pub mod runbook;

use serde::Deserialize;
use toml::Spanned;

use crate::config::line_col;
use app::access::Role;

use crate::backfill::spec::JobSpec;
pub use crate::plans::file::duration::{parse_duration_ms, MAX_DURATION_MS};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub plan: PlanHeader,
    /// What the flag serves (see `flag`); a boolean without it.
    #[serde(default)]
    pub flag: Option<flag::FlagSpec>,
    #[serde(default)]
    pub phases: Vec<Spanned<PhaseSpec>>,
    /// Backfill jobs the plan runs (see `crate::backfill::spec`).
    #[serde(default)]
    pub jobs: Vec<Spanned<JobSpec>>,
    /// What people do in each rollback that the console cannot run.
    #[serde(default)]
    pub rollback: Option<Spanned<runbook::RollbackSteps>>,
    /// What the console watches while a phase runs (see `guardrail_spec`).
    #[serde(default)]
    pub guardrails: Vec<Spanned<crate::plans::file::guardrail_spec::GuardrailSpec>>,
    /// Who is paged when something goes wrong, step by step (see `oncall`).
    #[serde(default)]
    pub escalation: Vec<Spanned<oncall::StepSpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanHeader {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// The key of the flag the plan owns.
    pub flag: Spanned<String>,
    /// The people who answer for the plan (usernames): paged when
    /// something goes wrong unless `[[escalation]]` says otherwise.
    #[serde(default)]
    pub owners: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    pub name: Spanned<String>,
    pub environment: Spanned<String>,
    /// Target exposure in basis points, 0..=10 000 (500 = 5 %).
    pub exposure_bp: Spanned<i64>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub gate: Option<Spanned<GateSpec>>,
    /// Entry criteria: what must hold before this phase starts.
    #[serde(default)]
    pub entry: Vec<Spanned<ItemSpec>>,
    /// What must hold before the next phase starts.
    #[serde(default)]
    pub checklist: Vec<Spanned<ItemSpec>>,
    /// Pilot entities put on its environment's allow list when it starts.
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    /// A read-only query on a target whose first column lists pilot
    /// entities; an operator loads it onto the allow list (see `pilot`).
    #[serde(default)]
    pub allow_query: Option<Spanned<pilot::AllowQuery>>,
    /// What people do in this phase that the console cannot run (deploys,
    /// restarts), in order.
    #[serde(default)]
    pub runbook: Vec<Spanned<String>>,
    /// Why this phase cannot be undone by turning the flag down (see
    /// `irreversible`); absent for a phase that can.
    #[serde(default)]
    pub irreversible: Option<Spanned<String>>,
}

impl PhaseSpec {
    /// Every item with its field path: entry criteria first, then the checklist.
    pub fn items(&self, path: &str) -> Vec<(String, &Spanned<ItemSpec>)> {
        let entry = self
            .entry
            .iter()
            .enumerate()
            .map(|(j, i)| (format!("{path}.entry[{j}]"), i));
        let exit = self
            .checklist
            .iter()
            .enumerate()
            .map(|(j, i)| (format!("{path}.checklist[{j}]"), i));
        entry.chain(exit).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Distinct approvers needed.
    pub approvals: Spanned<i64>,
    /// Roles whose holders may approve (default: approver; with
    /// `approvers`, any role that may approve gates).
    #[serde(default)]
    pub approver_roles: Vec<Spanned<String>>,
    /// The people asked (usernames): when given, only they decide, and a
    /// request for approval notifies them.
    #[serde(default)]
    pub approvers: Vec<Spanned<String>>,
    /// Decisions must be signed with a passkey: the approval is a WebAuthn
    /// assertion over a challenge that commits to the decision.
    #[serde(default)]
    pub signed: bool,
    /// Minimum time at this phase's exposure before the next phase may start:
    /// `0`, `30m`, `24h`, `2d`.
    #[serde(default)]
    pub soak: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// `manual` (a person ticks it) or `auto` (the server evaluates `check`).
    pub kind: Spanned<String>,
    pub text: Spanned<String>,
    /// Manual items: roles allowed to tick (default: operator).
    #[serde(default)]
    pub tickers: Vec<Spanned<String>>,
    /// Automatic items: which check.
    #[serde(default)]
    pub check: Option<Spanned<String>>,
    /// For `parity_within`: the allowed absolute row-count delta.
    #[serde(default)]
    pub max_delta: Option<Spanned<i64>>,
    /// Backfill checks: the job judged (default: every job of the plan).
    #[serde(default)]
    pub job: Option<Spanned<String>>,
    /// Backfill checks: evidence older than this (`24h`, `7d`) does not
    /// count.
    #[serde(default)]
    pub max_age: Option<Spanned<String>>,
}

/// Automatic checks the server knows; those marked not yet evaluable count as
/// unmet until the feature that feeds them exists.
pub const CHECKS: [(&str, bool); 9] = [
    ("soak_elapsed", true),
    ("previous_phase_approved", true),
    ("backfill_complete", false),
    ("dry_run_clean", false),
    ("coverage_full", false),
    ("parity_within", false),
    ("values_match", false),
    ("guardrail_error_rate", false),
    ("guardrail_latency_p95", false),
];

use crate::problems::bounded;
pub use crate::problems::{Problem, Report};

/// Parses and validates; every problem found, in file order.
pub fn validate(text: &str) -> Result<PlanFile, Vec<Problem>> {
    let file: PlanFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            return Err(vec![Problem {
                line,
                column,
                path: "plan file".into(),
                message: bounded(e.message()),
            }]);
        }
    };
    let mut r = Report {
        text,
        problems: Vec::new(),
    };
    check_header(&mut r, &file.plan);
    if let Some(f) = &file.flag {
        flag::check(&mut r, f);
    }
    if file.phases.is_empty() {
        r.at(
            0..0,
            "phases".into(),
            "a plan needs at least one [[phases]] table",
        );
    }
    let mut names = std::collections::HashSet::new();
    for (i, phase) in file.phases.iter().enumerate() {
        let p = phase.get_ref();
        let path = format!("phases[{i}]");
        if p.name.get_ref().trim().is_empty() {
            r.at(
                p.name.span(),
                format!("{path}.name"),
                "give the phase a name",
            );
        } else if !names.insert(p.name.get_ref().trim().to_lowercase()) {
            r.at(
                p.name.span(),
                format!("{path}.name"),
                format!(
                    "{:?} is used by an earlier phase; phase names must differ",
                    p.name.get_ref()
                ),
            );
        }
        pilot::check(&mut r, p, &path);
        runbook::check(&mut r, &p.runbook, &format!("{path}.runbook"));
        irreversible::check(&mut r, p.irreversible.as_ref(), &path);
        if p.environment.get_ref().trim().is_empty() {
            r.at(
                p.environment.span(),
                format!("{path}.environment"),
                "name the environment, e.g. dev, staging, production",
            );
        }
        let bp = *p.exposure_bp.get_ref();
        if !(0..=10_000).contains(&bp) {
            r.at(
                p.exposure_bp.span(),
                format!("{path}.exposure_bp"),
                format!("{bp} is outside 0..=10000 (basis points: 500 = 5 %)"),
            );
        }
        if let Some(gate) = &p.gate {
            check_gate(&mut r, gate.get_ref(), &format!("{path}.gate"));
        }
        for (item_path, item) in p.items(&path) {
            check_item(&mut r, item.get_ref(), &item_path);
        }
    }
    jobs::check_jobs(&mut r, &file);
    runbook::check_rollback(&mut r, &file);
    crate::plans::file::guardrail_spec::check_all(&mut r, &file.guardrails);
    oncall::check(&mut r, &file);
    if r.problems.is_empty() {
        Ok(file)
    } else {
        r.problems.sort_by_key(|p| (p.line, p.column));
        Err(r.problems)
    }
}

fn check_header(r: &mut Report<'_>, h: &PlanHeader) {
    if h.name.get_ref().trim().is_empty() {
        r.at(h.name.span(), "plan.name".into(), "give the plan a name");
    }
    let flag = h.flag.get_ref();
    let ok = !flag.is_empty()
        && flag.len() <= 64
        && flag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if !ok {
        r.at(
            h.flag.span(),
            "plan.flag".into(),
            format!("{flag:?} is not a flag key; use 1 to 64 of a-z, 0-9, '_', '-', '.'"),
        );
    }
}

fn check_roles(r: &mut Report<'_>, roles: &[Spanned<String>], path: &str) {
    for (k, role) in roles.iter().enumerate() {
        if let Err(e) = Role::parse(role.get_ref()) {
            r.at(role.span(), format!("{path}[{k}]"), e);
        }
    }
}

fn check_gate(r: &mut Report<'_>, g: &GateSpec, path: &str) {
    let n = *g.approvals.get_ref();
    if !(0..=20).contains(&n) {
        r.at(
            g.approvals.span(),
            format!("{path}.approvals"),
            format!("{n} approvals: use 0 to 20"),
        );
    }
    check_roles(r, &g.approver_roles, &format!("{path}.approver_roles"));
    check_approvers(r, g, path);
    if let Some(soak) = &g.soak {
        if let Err(e) = parse_duration_ms(soak.get_ref()) {
            r.at(soak.span(), format!("{path}.soak"), e);
        }
    }
}

/// Named approvers: usernames, each once, at least as many as the
/// approvals the gate needs (else nobody could pass it).
fn check_approvers(r: &mut Report<'_>, g: &GateSpec, path: &str) {
    let mut seen = std::collections::BTreeSet::new();
    for (k, name) in g.approvers.iter().enumerate() {
        let n = name.get_ref().trim();
        let at = format!("{path}.approvers[{k}]");
        if n.is_empty() || n.len() > 64 || n.chars().any(char::is_whitespace) {
            r.at(name.span(), at, format!("{n:?} is not a username; name the people asked, e.g. approvers = [\"dana\", \"erik\"]"));
        } else if !seen.insert(n.to_lowercase()) {
            r.at(
                name.span(),
                at,
                format!("{n:?} is named twice; name each approver once"),
            );
        }
    }
    let needed = *g.approvals.get_ref();
    if !g.approvers.is_empty() && needed > g.approvers.len() as i64 {
        r.at(
            g.approvals.span(),
            format!("{path}.approvals"),
            format!(
                "{needed} approvals but {} approver(s) named: nobody could pass this gate; name more people or need fewer approvals",
                g.approvers.len()
            ),
        );
    }
}

fn check_item(r: &mut Report<'_>, item: &ItemSpec, path: &str) {
    if item.text.get_ref().trim().is_empty() {
        r.at(
            item.text.span(),
            format!("{path}.text"),
            "say what is checked",
        );
    }
    match item.kind.get_ref().as_str() {
        "manual" => {
            check_roles(r, &item.tickers, &format!("{path}.tickers"));
            if let Some(check) = &item.check {
                r.at(
                    check.span(),
                    format!("{path}.check"),
                    "a manual item has no check; use kind = \"auto\"",
                );
            }
        }
        "auto" => match &item.check {
            None => r.at(
                item.kind.span(),
                format!("{path}.check"),
                format!(
                    "an automatic item names its check: one of {}",
                    CHECKS.map(|c| c.0).join(", ")
                ),
            ),
            Some(check) => {
                let name = check.get_ref().as_str();
                // guardrail_NAME reads the plan's guardrail NAME.
                let guardrail = name
                    .strip_prefix("guardrail_")
                    .is_some_and(|g| !g.is_empty());
                if !guardrail && !CHECKS.iter().any(|c| c.0 == name) {
                    r.at(
                        check.span(),
                        format!("{path}.check"),
                        format!(
                            "unknown check {name:?}; known checks are {}",
                            CHECKS.map(|c| c.0).join(", ")
                        ),
                    );
                } else if name == "parity_within" && item.max_delta.is_none() {
                    r.at(
                        check.span(),
                        format!("{path}.max_delta"),
                        "parity_within needs max_delta (the allowed row-count difference)",
                    );
                }
            }
        },
        other => r.at(
            item.kind.span(),
            format!("{path}.kind"),
            format!("{other:?} is not a kind; use \"manual\" or \"auto\""),
        ),
    }
    if let Some(age) = &item.max_age {
        if let Err(e) = parse_duration_ms(age.get_ref()) {
            r.at(age.span(), format!("{path}.max_age"), e);
        }
    }
    if let Some(d) = &item.max_delta {
        if *d.get_ref() < 0 {
            r.at(
                d.span(),
                format!("{path}.max_delta"),
                "a delta is 0 or more",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[plan]
name = "Partitioned tables"
flag = "use_partitioned_tables"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000

[[phases]]
name = "pilot 1%"
environment = "production"
exposure_bp = 100
[phases.gate]
approvals = 2
approver_roles = ["approver", "admin"]
soak = "24h"
[[phases.checklist]]
kind = "manual"
text = "Rollback plan reviewed with team"
[[phases.checklist]]
kind = "auto"
check = "parity_within"
max_delta = 10
text = "Row-count delta < 10"
"#;

    #[test]
    fn a_good_plan_validates() {
        let plan = validate(GOOD).unwrap();
        assert_eq!(plan.phases.len(), 2);
        assert_eq!(*plan.phases[1].get_ref().exposure_bp.get_ref(), 100);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let bad = GOOD.replace("exposure_bp = 100\n", "exposure_bp = = 100\n");
        let problems = validate(&bad).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 14, "{problems:?}");
        assert!(
            problems[0].to_string().starts_with("14:"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_path() {
        let bad = GOOD
            .replace("exposure_bp = 100\n", "exposure_bp = 20000\n")
            .replace("approvals = 2", "approvals = -1")
            .replace("\"approver\", \"admin\"", "\"approver\", \"root\"")
            .replace("soak = \"24h\"", "soak = \"1 week\"")
            .replace("check = \"parity_within\"", "check = \"vibes\"");
        let problems = validate(&bad).unwrap_err();
        let rendered: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(rendered.len(), 5, "{rendered:#?}");
        assert!(
            rendered[0].starts_with("14:15: phases[1].exposure_bp: 20000 is outside"),
            "{rendered:#?}"
        );
        assert!(
            rendered[1].starts_with("16:13: phases[1].gate.approvals:"),
            "{rendered:#?}"
        );
        assert!(
            rendered[2]
                .starts_with("17:31: phases[1].gate.approver_roles[1]: unknown role \"root\""),
            "{rendered:#?}"
        );
        assert!(
            rendered[3].contains("phases[1].gate.soak: \"1 week\" is not a duration"),
            "{rendered:#?}"
        );
        assert!(
            rendered[4].contains("phases[1].checklist[1].check: unknown check \"vibes\""),
            "{rendered:#?}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_where_they_are() {
        let bad = GOOD.replace("environment = \"dev\"", "enviroment = \"dev\"");
        let problems = validate(&bad).unwrap_err();
        assert!(problems[0].message.contains("enviroment"), "{problems:?}");
        assert_eq!(problems[0].line, 8);
    }

    #[test]
    fn parser_messages_are_one_bounded_line() {
        let huge = format!("[plan]\nname = 1\nflag = \"{}\"\n", "x".repeat(5000));
        let problems = validate(&huge.replace("name = 1", "name = [\"a\"]")).unwrap_err();
        let m = &problems[0].message;
        assert!(!m.contains('\n') && m.chars().count() <= 201, "{m}");
        let long_value = format!(
            "[plan]\nname = \"n\"\nflag = \"f\"\nowner = {}\n",
            "9".repeat(3000)
        );
        let problems = validate(&long_value).unwrap_err();
        assert!(
            problems[0].message.chars().count() <= 201,
            "{:?}",
            problems[0]
        );
    }
}
