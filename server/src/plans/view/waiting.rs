//! What waits for one approver across every active plan: the gates
//! awaiting approval that they may decide and have not, and the change
//! requests they may approve and did not write or decide. From stored
//! records alone (no plan file, no facts), so the dashboard reads it in one
//! pass whatever the number of plans.
use app::access::Role;
use app::dto::live::{WaitingChange, WaitingGate, WaitingIncident};

use crate::plans::rules::gate::tally;
use crate::plans::store::change_requests::ChangeRecord;
use crate::plans::store::PhaseRecord;

/// Who is asking: their user id, username and roles.
pub struct Approver<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub roles: &'a [Role],
}

impl Approver<'_> {
    fn may(&self, approver_roles: &[Role]) -> bool {
        self.roles.iter().any(|r| approver_roles.contains(r))
    }
}

/// The gates of `awaiting` (plan id, plan name, phase) waiting for `who`:
/// a role that may approve, not the one who asked, no live decision yet.
pub fn gates(who: &Approver, awaiting: Vec<(String, String, PhaseRecord)>) -> Vec<WaitingGate> {
    awaiting
        .into_iter()
        .filter(|(_, _, p)| {
            app::access::gate_asks(who.roles, who.username, &p.approver_roles, &p.approvers)
                && p.requested_by_name.as_deref() != Some(who.username)
                && !p
                    .decisions
                    .iter()
                    .any(|d| d.live() && d.username == who.username)
        })
        .map(|(plan_id, plan_name, p)| WaitingGate {
            plan_id,
            plan_name,
            phase_id: p.id.clone(),
            requested_at_ms: p.requested_at_ms,
            approvals: tally(&p).0,
            phase: p.name,
            environment: p.environment,
            exposure_bp: p.exposure_bp,
            approvals_required: p.approvals_required,
            requested_by: p.requested_by_name,
        })
        .collect()
}

/// The unacknowledged incidents (plan name, incident) that paged `who`.
pub fn incidents(
    who: &Approver,
    open: &[(String, crate::plans::store::incidents::IncidentRecord)],
) -> Vec<WaitingIncident> {
    open.iter()
        .filter(|(_, i)| {
            i.paged_people()
                .iter()
                .any(|p| p.eq_ignore_ascii_case(who.username))
        })
        .map(|(plan_name, i)| WaitingIncident {
            plan_id: i.plan_id.clone(),
            plan_name: plan_name.clone(),
            incident_id: i.id.clone(),
            summary: i.summary.clone(),
            opened_ms: i.opened_ms,
            steps_paged: i.steps_paged,
        })
        .collect()
}

/// The change requests of `pending` (plan name, change) waiting for `who`:
/// a role that may approve, not its author, no decision yet.
pub fn changes(who: &Approver, pending: Vec<(String, ChangeRecord)>) -> Vec<WaitingChange> {
    pending
        .into_iter()
        .filter(|(_, c)| {
            who.may(&c.approver_roles)
                && c.author_id != who.id
                && !c.decisions.iter().any(|d| d.user_id == who.id)
        })
        .map(|(plan_name, c)| WaitingChange {
            approvals: c.approvals(),
            plan_id: c.plan_id,
            plan_name,
            author: c.author_name,
            weakens: c.weakens,
            approvals_required: c.approvals_required,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::store::DecisionRecord;
    use app::dto::plans::Verdict;

    fn ann() -> Approver<'static> {
        Approver {
            id: "u-ann",
            username: "ann",
            roles: &[Role::Approver],
        }
    }

    fn awaiting(p: PhaseRecord) -> Vec<(String, String, PhaseRecord)> {
        vec![("plan-1".into(), "STI".into(), p)]
    }

    #[test]
    fn a_gate_waits_for_an_approver_who_has_not_decided_nor_asked() {
        let mut p = PhaseRecord::fixture();
        p.requested_by_name = Some("olga".into());
        let bob = DecisionRecord::new(
            ("u-bob".into(), "bob".into()),
            Verdict::Approve,
            String::new(),
            "h".into(),
            1,
        );
        p.decisions.push(bob);
        let waiting = gates(&ann(), awaiting(p.clone()));
        assert_eq!(waiting.len(), 1);
        assert_eq!(
            (
                waiting[0].plan_name.as_str(),
                waiting[0].approvals,
                waiting[0].approvals_required
            ),
            ("STI", 1, 2)
        );

        // Not once she decided (a dismissed decision does not count), nor
        // when she asked, nor for a role the gate does not name.
        let mut decided = p.clone();
        let mut hers = DecisionRecord::new(
            ("u-ann".into(), "ann".into()),
            Verdict::Reject,
            "no".into(),
            "h".into(),
            2,
        );
        hers.dismissed_at_ms = Some(3);
        decided.decisions.push(hers.clone());
        assert_eq!(gates(&ann(), awaiting(decided.clone())).len(), 1);
        hers.dismissed_at_ms = None;
        decided.decisions.push(hers);
        assert!(gates(&ann(), awaiting(decided)).is_empty());
        let mut asked = p.clone();
        asked.requested_by_name = Some("ann".into());
        assert!(gates(&ann(), awaiting(asked)).is_empty());
        let viewer = Approver {
            roles: &[Role::Viewer],
            ..ann()
        };
        assert!(gates(&viewer, awaiting(p)).is_empty());
    }
}
