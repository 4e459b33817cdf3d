//! Which edits of a plan that is not a draft need others' approval, decided
//! by a list of what is safe rather than of what is dangerous: an edit is
//! applied at once only when every difference between the old file and the
//! new one is on that list (wording, notes, a lower exposure, more approvals,
//! a longer soak, added checklist items, added guardrails, fewer pilot
//! entities). Anything else — a field this module has never heard of
//! included — is a change request, approved as the gates it touches would
//! have been (their approvals, their roles; plan-wide parts such as jobs,
//! guardrails and rollback steps by every gate still ahead).
use app::access::Role;
use app::dto::plans::PhaseStatus;
use app::format::duration_short;
use toml::{Table, Value};

use crate::plans::file::definition::PlanDef;
use crate::plans::store::{roles_to_text, Loaded, PhaseRecord};

/// What an edit weakens, and who must approve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakening {
    pub sentences: Vec<String>,
    /// The most approvals any touched gate asked for (at least one).
    pub approvals_required: i64,
    /// The roles of the touched gates.
    pub approver_roles: Vec<Role>,
}

/// `None` when the edit only makes safe changes (or the plan is a draft).
pub fn weakening(l: &Loaded, def: &PlanDef, new_source: &str) -> Option<Weakening> {
    if l.plan.status == app::dto::plans::PlanStatus::Draft {
        return None;
    }
    let old = table_of(&l.plan.source_toml);
    let new = table_of(new_source);
    let mut w = Collect::default();
    let old_phases = array_of(&old, "phases");
    let new_phases = array_of(&new, "phases");
    for (i, row) in l.phases.iter().enumerate() {
        let sentences = match (def.phases.get(i), new_phases.get(i)) {
            (Some(d), Some(n)) => phase_changes(row, d, old_phases.get(i), n),
            _ => vec![format!("removes phase {:?} and its gate", row.name)],
        };
        w.add(sentences, std::slice::from_ref(row));
    }
    let ahead: Vec<PhaseRecord> = l
        .phases
        .iter()
        .filter(|p| p.status != PhaseStatus::Done)
        .cloned()
        .collect();
    if new_phases.len() > l.phases.len() {
        let names: Vec<String> = def.phases[l.phases.len()..]
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect();
        w.add(vec![format!("adds phase {}", names.join(", "))], &ahead);
    }
    w.add(plan_changes(&old, &new), &ahead);
    w.finish()
}

#[derive(Default)]
struct Collect {
    sentences: Vec<String>,
    approvals: i64,
    roles: Vec<Role>,
}

impl Collect {
    /// Records `sentences`, approved as the gates of `phases` would be.
    fn add(&mut self, sentences: Vec<String>, phases: &[PhaseRecord]) {
        if sentences.is_empty() {
            return;
        }
        for p in phases {
            self.approvals = self.approvals.max(p.approvals_required);
            for r in &p.approver_roles {
                if !self.roles.contains(r) {
                    self.roles.push(*r);
                }
            }
        }
        self.sentences.extend(sentences);
    }

    fn finish(mut self) -> Option<Weakening> {
        if self.sentences.is_empty() {
            return None;
        }
        if self.roles.is_empty() {
            self.roles.push(Role::Approver);
        }
        self.roles.sort();
        Some(Weakening {
            sentences: self.sentences,
            approvals_required: self.approvals.max(1),
            approver_roles: self.roles,
        })
    }
}

/// What in phase `row` the edit changes beyond the safe list.
fn phase_changes(
    row: &PhaseRecord,
    new: &crate::plans::file::definition::PhaseDef,
    old_raw: Option<&Value>,
    new_raw: &Value,
) -> Vec<String> {
    let at = |what: String| format!("phase {:?}: {what}", row.name);
    let mut out = Vec::new();
    if new.exposure_bp > row.exposure_bp && row.status != PhaseStatus::Done {
        out.push(at(format!(
            "exposure {} → {}",
            app::dto::plans::percent(row.exposure_bp),
            app::dto::plans::percent(new.exposure_bp)
        )));
    }
    if new.environment != row.environment {
        out.push(at(format!(
            "environment {} → {}",
            row.environment, new.environment
        )));
    }
    if new.approvals_required < row.approvals_required {
        out.push(at(format!(
            "approvals {} → {}",
            row.approvals_required, new.approvals_required
        )));
    }
    if !new
        .approver_roles
        .iter()
        .all(|r| row.approver_roles.contains(r))
    {
        out.push(at(format!(
            "approver roles {} → {}",
            roles_to_text(&row.approver_roles),
            roles_to_text(&new.approver_roles)
        )));
    }
    if row.signed && !new.signed {
        out.push(at("decisions no longer signed with a passkey".to_string()));
    }
    // Names narrow who decides: dropping them, or naming someone new,
    // lets people decide who could not.
    let named = |n: &String| row.approvers.iter().any(|o| o.eq_ignore_ascii_case(n));
    if !row.approvers.is_empty() && (new.approvers.is_empty() || !new.approvers.iter().all(named)) {
        let shown = |a: &[String]| {
            if a.is_empty() {
                "every holder of the roles".to_string()
            } else {
                a.join(", ")
            }
        };
        out.push(at(format!(
            "approvers {} → {}",
            shown(&row.approvers),
            shown(&new.approvers)
        )));
    }
    if new.soak_ms < row.soak_ms {
        out.push(at(format!(
            "soak {} → {}",
            duration_short(row.soak_ms),
            duration_short(new.soak_ms)
        )));
    }
    for item in &row.items {
        if !new.items.contains(&item.def) {
            out.push(at(format!(
                "removes or changes the item {:?}",
                item.def.text
            )));
        }
    }
    // Everything else in the phase's table: the pilot list may only shrink,
    // the rest must stay as it was.
    let empty = Value::Table(Table::new());
    let old_raw = old_raw.unwrap_or(&empty);
    let (Some(o), Some(n)) = (old_raw.as_table(), new_raw.as_table()) else {
        return out;
    };
    let old_allow = list(o.get("allow"));
    let added: Vec<&Value> = list(n.get("allow"))
        .into_iter()
        .filter(|e| !old_allow.contains(e))
        .collect();
    if !added.is_empty() {
        out.push(at(format!(
            "adds {} pilot entit{} to the allow list",
            added.len(),
            if added.len() == 1 { "y" } else { "ies" }
        )));
    }
    // Judged above from the definition (defaults applied), or safe.
    const JUDGED: [&str; 8] = [
        "name",
        "notes",
        "exposure_bp",
        "environment",
        "gate",
        "entry",
        "checklist",
        "allow",
    ];
    out.extend(
        other_keys(o, n, &JUDGED)
            .into_iter()
            .map(|k| at(format!("changes {k}"))),
    );
    out
}

/// Plan-wide changes beyond the safe list: guardrails may only be added,
/// `[plan]` may change its wording; jobs, rollback steps and anything else
/// must stay as they were.
fn plan_changes(old: &Table, new: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let new_guardrails = array_of(new, "guardrails");
    for g in array_of(old, "guardrails") {
        if !new_guardrails.contains(&g) {
            let name = g.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(format!("removes or changes the guardrail {name:?}"));
        }
    }
    let header = |t: &Table| t.get("plan").and_then(Value::as_table).cloned();
    if let (Some(o), Some(n)) = (header(old), header(new)) {
        out.extend(
            other_keys(&o, &n, &["name", "description"])
                .into_iter()
                .map(|k| format!("plan.{k} changes")),
        );
    }
    out.extend(
        other_keys(old, new, &["plan", "phases", "guardrails"])
            .into_iter()
            .map(|k| match k.as_str() {
                "jobs" => "changes the backfill jobs (their SQL, targets or limits)".to_string(),
                "rollback" => "changes the rollback steps".to_string(),
                "escalation" => {
                    "changes who is paged when something goes wrong (the escalation)".to_string()
                }
                other => format!("changes {other}"),
            }),
    );
    out
}

/// The keys of `old` and `new` other than `judged` whose values differ.
fn other_keys(old: &Table, new: &Table, judged: &[&str]) -> Vec<String> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !judged.contains(&k.as_str()) && old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

fn table_of(source: &str) -> Table {
    source.parse::<Table>().unwrap_or_default()
}

fn array_of(t: &Table, key: &str) -> Vec<Value> {
    list(t.get(key)).into_iter().cloned().collect()
}

fn list(v: Option<&Value>) -> Vec<&Value> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}
