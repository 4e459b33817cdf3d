//! Who answers when something goes wrong: the plan's owners
//! (`[plan] owners`) and its escalation (`[[escalation]]`, seed 003's levels
//! and seed 004's on-call): a guardrail breach, an automatic rollback or a
//! failed backfill pages the first step, then each next one after its
//! `after` (from the incident's start) while nobody acknowledges it.
//! A step pages people by username, or everyone holding a role (`role:NAME`).
use serde::Deserialize;
use toml::Spanned;

use super::{parse_duration_ms, PlanFile};
use crate::problems::Report;
use app::access::Role;

/// At most this many steps.
pub const MAX_STEPS: usize = 10;

/// `[[escalation]]`: who is paged, and how long after the incident began.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub page: Vec<Spanned<String>>,
    /// `0`, `15m`, `1h` after the incident opened.
    pub after: Spanned<String>,
}

/// One step as the console pages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Usernames and `role:NAME`s.
    pub page: Vec<String>,
    pub after_ms: i64,
}

/// The steps in force: the file's, else the owners paged at once (none
/// when the plan names neither).
pub fn steps(file: &PlanFile) -> Vec<Step> {
    if file.escalation.is_empty() {
        let owners: Vec<String> = file
            .plan
            .owners
            .iter()
            .map(|o| o.get_ref().trim().to_string())
            .collect();
        return if owners.is_empty() {
            Vec::new()
        } else {
            vec![Step {
                page: owners,
                after_ms: 0,
            }]
        };
    }
    file.escalation
        .iter()
        .map(|s| {
            let s = s.get_ref();
            Step {
                page: s
                    .page
                    .iter()
                    .map(|p| p.get_ref().trim().to_string())
                    .collect(),
                after_ms: parse_duration_ms(s.after.get_ref()).unwrap_or(0),
            }
        })
        .collect()
}

/// Whether `username` holding `roles` is one `page` names.
pub fn pages(page: &[String], username: &str, roles: &[Role]) -> bool {
    page.iter().any(|p| match p.strip_prefix("role:") {
        Some(role) => Role::parse(role).is_ok_and(|r| roles.contains(&r)),
        None => p.eq_ignore_ascii_case(username),
    })
}

/// Owners and steps name people or roles that exist as words; steps come
/// in the order they page.
pub fn check(r: &mut Report<'_>, file: &PlanFile) {
    for (k, owner) in file.plan.owners.iter().enumerate() {
        check_person(r, owner, &format!("plan.owners[{k}]"), false);
    }
    if file.escalation.len() > MAX_STEPS {
        r.at(
            file.escalation[MAX_STEPS].span(),
            format!("escalation[{MAX_STEPS}]"),
            format!("at most {MAX_STEPS} steps"),
        );
    }
    let mut previous: Option<i64> = None;
    for (i, step) in file.escalation.iter().enumerate() {
        let s = step.get_ref();
        let path = format!("escalation[{i}]");
        if s.page.is_empty() {
            r.at(
                step.span(),
                format!("{path}.page"),
                "name who is paged, e.g. page = [\"olga\"] or [\"role:operator\"]",
            );
        }
        for (k, who) in s.page.iter().enumerate() {
            check_person(r, who, &format!("{path}.page[{k}]"), true);
        }
        match parse_duration_ms(s.after.get_ref()) {
            Err(e) => r.at(s.after.span(), format!("{path}.after"), e),
            Ok(after) if previous.is_some_and(|p| after <= p) => r.at(
                s.after.span(),
                format!("{path}.after"),
                format!(
                    "{:?} is not later than the step before; steps page in order, each later than the last",
                    s.after.get_ref()
                ),
            ),
            Ok(after) => previous = Some(after),
        }
    }
}

fn check_person(r: &mut Report<'_>, who: &Spanned<String>, path: &str, roles: bool) {
    let w = who.get_ref().trim();
    if let Some(role) = w.strip_prefix("role:") {
        if !roles {
            r.at(
                who.span(),
                path.to_string(),
                "owners are people: name them by username",
            );
        } else if let Err(e) = Role::parse(role) {
            r.at(who.span(), path.to_string(), e);
        }
    } else if w.is_empty() || w.len() > 64 || w.chars().any(char::is_whitespace) {
        r.at(
            who.span(),
            path.to_string(),
            format!(
                "{w:?} is not a username{}",
                if roles { " or role:NAME" } else { "" }
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;

    const PLAN: &str = r#"
[plan]
name = "On call"
flag = "on_call"
owners = ["olga"]

[[phases]]
name = "all"
environment = "production"
exposure_bp = 10000

[[escalation]]
page = ["olga", "role:operator"]
after = "0m"

[[escalation]]
page = ["dba-lead"]
after = "15m"
"#;

    #[test]
    fn steps_page_in_order_and_default_to_the_owners() {
        let file = validate(PLAN).unwrap();
        let s = steps(&file);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[1].page.clone(), s[1].after_ms),
            (vec!["dba-lead".to_string()], 900_000)
        );
        assert!(pages(&s[0].page, "sam", &[Role::Operator]));
        assert!(pages(&s[0].page, "Olga", &[Role::Viewer]));
        assert!(!pages(&s[1].page, "olga", &[Role::Admin]));
        let owners_only = PLAN.split("[[escalation]]").next().unwrap();
        let s = steps(&validate(owners_only).unwrap());
        assert_eq!(
            s,
            vec![Step {
                page: vec!["olga".into()],
                after_ms: 0
            }]
        );
    }

    #[test]
    fn bad_steps_say_where_and_why() {
        let bad = PLAN
            .replace("after = \"15m\"", "after = \"0m\"")
            .replace("role:operator", "role:root")
            .replace("owners = [\"olga\"]", "owners = [\"role:admin\"]");
        let problems: Vec<String> = validate(&bad)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("plan.owners[0]: owners are people")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("escalation[0].page[1]: unknown role \"root\"")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("escalation[1].after: \"0m\" is not later")),
            "{problems:?}"
        );
    }
}
