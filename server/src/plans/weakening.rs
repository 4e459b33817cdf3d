//! Which edits weaken a gate: fewer approvals, other approver roles, a
//! removed or changed check or item, a shorter soak, a removed phase. On a
//! plan that is not a draft such an edit is a change request, approved as
//! the weakened gate would have been (its approvals, its roles).
use app::access::Role;
use app::format::duration_short;

use super::definition::PlanDef;
use super::store::{roles_to_text, Loaded};

/// What an edit weakens, and who must approve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakening {
    pub sentences: Vec<String>,
    /// The most approvals any weakened gate asked for (at least one).
    pub approvals_required: i64,
    /// The roles of the weakened gates.
    pub approver_roles: Vec<Role>,
}

/// `None` when the edit weakens nothing (or the plan is a draft).
pub fn weakening(l: &Loaded, def: &PlanDef) -> Option<Weakening> {
    if l.plan.status == app::dto::plans::PlanStatus::Draft {
        return None;
    }
    let mut sentences = Vec::new();
    let mut approvals = 1;
    let mut roles: Vec<Role> = Vec::new();
    for (i, row) in l.phases.iter().enumerate() {
        let mut weakened = Vec::new();
        match def.phases.get(i) {
            None => weakened.push(format!("removes phase {:?} and its gate", row.name)),
            Some(new) => {
                if new.approvals_required < row.approvals_required {
                    weakened.push(format!(
                        "phase {:?}: approvals {} → {}",
                        row.name, row.approvals_required, new.approvals_required
                    ));
                }
                if new.approver_roles != row.approver_roles {
                    weakened.push(format!(
                        "phase {:?}: approver roles {} → {}",
                        row.name,
                        roles_to_text(&row.approver_roles),
                        roles_to_text(&new.approver_roles)
                    ));
                }
                if new.soak_ms < row.soak_ms {
                    weakened.push(format!(
                        "phase {:?}: soak {} → {}",
                        row.name,
                        duration_short(row.soak_ms),
                        duration_short(new.soak_ms)
                    ));
                }
                for item in &row.items {
                    if !new.items.contains(&item.def) {
                        weakened.push(format!(
                            "phase {:?}: removes or changes the item {:?}",
                            row.name, item.def.text
                        ));
                    }
                }
            }
        }
        if !weakened.is_empty() {
            approvals = approvals.max(row.approvals_required);
            for r in &row.approver_roles {
                if !roles.contains(r) {
                    roles.push(*r);
                }
            }
            sentences.extend(weakened);
        }
    }
    if roles.is_empty() {
        roles.push(Role::Approver);
    }
    (!sentences.is_empty()).then_some(Weakening {
        sentences,
        approvals_required: approvals,
        approver_roles: roles,
    })
}
