//! A plan's definition as the TOML file gives it, with defaults applied: what
//! the store materialises into phase and checklist rows, and what an edit is
//! compared against.
use app::access::Role;
use app::dto::plans::ItemKind;

use crate::plans::file::spec::{self, parse_duration_ms, PlanFile};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDef {
    pub name: String,
    pub description: String,
    pub flag_key: String,
    /// What the flag serves (`[flag]`; a boolean without it).
    pub flag: crate::flags::values::FlagValues,
    pub phases: Vec<PhaseDef>,
    /// The environments jobs name targets for, as `(jobs[i].targets.ENV,
    /// ENV)`: each must be one of the console's.
    pub job_environments: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseDef {
    pub name: String,
    pub environment: String,
    pub exposure_bp: i64,
    pub notes: String,
    pub approvals_required: i64,
    pub approver_roles: Vec<Role>,
    /// The people asked, by username (empty: every holder of the roles).
    pub approvers: Vec<String>,
    /// Decisions must be signed with a passkey.
    pub signed: bool,
    pub soak_ms: i64,
    pub items: Vec<ItemDef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDef {
    /// An entry criterion (holds before the phase starts), not a checklist item.
    pub entry: bool,
    pub kind: ItemKind,
    pub text: String,
    pub tickers: Vec<Role>,
    pub check_name: Option<String>,
    pub max_delta: Option<i64>,
    pub job: Option<String>,
    /// Evidence older than this does not count.
    pub max_age_ms: Option<i64>,
}

/// Validates `text` and applies the format's defaults. The error lists every
/// problem, one `LINE:COLUMN: field: message` per line.
pub fn parse(text: &str) -> Result<PlanDef, String> {
    match spec::validate(text) {
        Ok(file) => Ok(from_file(&file)),
        Err(problems) => Err(problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

fn roles(list: &[toml::Spanned<String>], default: Role) -> Vec<Role> {
    let mut roles: Vec<Role> = list
        .iter()
        .filter_map(|r| Role::parse(r.get_ref()).ok())
        .collect();
    if roles.is_empty() {
        roles.push(default);
    }
    roles.sort();
    roles.dedup();
    roles
}

/// Who may decide a gate: its roles, else `approver` — or, when it names
/// its approvers, any role that may approve gates (the names narrow it).
fn gate_roles(gate: Option<&spec::GateSpec>) -> Vec<Role> {
    let listed = gate.map_or(&[][..], |g| &g.approver_roles[..]);
    if listed.is_empty() && gate.is_some_and(|g| !g.approvers.is_empty()) {
        return vec![Role::Approver, Role::Admin];
    }
    roles(listed, Role::Approver)
}

/// A validated file with its defaults: no gate means no approvals and no
/// soak; approvers default to `approver`, tickers to `operator`.
pub fn from_file(file: &PlanFile) -> PlanDef {
    PlanDef {
        name: file.plan.name.get_ref().trim().to_string(),
        description: file.plan.description.trim().to_string(),
        flag_key: file.plan.flag.get_ref().clone(),
        flag: crate::plans::file::spec::flag::values(file.flag.as_ref()),
        phases: file
            .phases
            .iter()
            .map(|p| {
                let p = p.get_ref();
                let gate = p.gate.as_ref().map(|g| g.get_ref());
                PhaseDef {
                    name: p.name.get_ref().trim().to_string(),
                    environment: p.environment.get_ref().trim().to_string(),
                    exposure_bp: *p.exposure_bp.get_ref(),
                    notes: p.notes.trim().to_string(),
                    approvals_required: gate.map_or(0, |g| *g.approvals.get_ref()),
                    approver_roles: gate_roles(gate),
                    signed: gate.is_some_and(|g| g.signed),
                    approvers: gate.map_or_else(Vec::new, |g| {
                        g.approvers
                            .iter()
                            .map(|a| a.get_ref().trim().to_string())
                            .collect()
                    }),
                    soak_ms: gate
                        .and_then(|g| g.soak.as_ref())
                        .and_then(|s| parse_duration_ms(s.get_ref()).ok())
                        .unwrap_or(0),
                    items: p
                        .items("")
                        .into_iter()
                        .map(|(path, i)| {
                            let i = i.get_ref();
                            ItemDef {
                                entry: path.starts_with(".entry"),
                                // Validated by spec: "manual" or "auto".
                                kind: ItemKind::parse(i.kind.get_ref()).unwrap_or(ItemKind::Manual),
                                text: i.text.get_ref().trim().to_string(),
                                tickers: if i.kind.get_ref() == ItemKind::Manual.as_str() {
                                    roles(&i.tickers, Role::Operator)
                                } else {
                                    Vec::new()
                                },
                                check_name: i.check.as_ref().map(|c| c.get_ref().clone()),
                                max_delta: i.max_delta.as_ref().map(|d| *d.get_ref()),
                                max_age_ms: i
                                    .max_age
                                    .as_ref()
                                    .and_then(|a| parse_duration_ms(a.get_ref()).ok()),
                                job: i.job.as_ref().map(|j| j.get_ref().clone()),
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
        job_environments: file
            .jobs
            .iter()
            .enumerate()
            .flat_map(|(i, j)| {
                j.get_ref()
                    .targets
                    .keys()
                    .map(move |env| (format!("jobs[{i}].targets.{env}"), env.clone()))
            })
            .collect(),
    }
}

/// The file with `[plan] name` and `flag` replaced, everything else (comments
/// included) kept: how a plan is made from a template.
pub fn renamed(source: &str, name: &str, flag_key: &str) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = source
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let plan = doc
        .get_mut("plan")
        .and_then(|p| p.as_table_like_mut())
        .ok_or("the template has no [plan] table")?;
    plan.insert("name", toml_edit::value(name.trim()));
    plan.insert("flag", toml_edit::value(flag_key.trim()));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::file::templates::TEMPLATES;

    #[test]
    fn defaults_apply() {
        let def = parse(TEMPLATES[0].toml).unwrap();
        assert_eq!(def.flag_key, "enable_sti");
        let dev = &def.phases[0];
        assert_eq!(dev.approver_roles, vec![Role::Approver]);
        assert_eq!(dev.soak_ms, 48 * 3_600_000);
        assert_eq!(dev.items[1].tickers, vec![Role::Operator]);
        assert!(
            dev.items[0].tickers.is_empty(),
            "auto items have no tickers"
        );
    }

    #[test]
    fn renaming_keeps_comments_and_the_rest() {
        let out = renamed(TEMPLATES[0].toml, "STI for EU", "enable_sti_eu").unwrap();
        assert!(out.starts_with("# Built-in template: STI subtype backfill"));
        let def = parse(&out).unwrap();
        assert_eq!(def.name, "STI for EU");
        assert_eq!(def.flag_key, "enable_sti_eu");
        assert_eq!(def.phases, parse(TEMPLATES[0].toml).unwrap().phases);
    }
}
