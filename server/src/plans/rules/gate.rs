//! Gate rules as pure functions: who may decide, what counts, and when the
//! gate is passed.
use app::access::Role;
use app::dto::plans::{PhaseStatus, Verdict};
use app::error::Conflict;

use crate::plans::error::PlanError;
use crate::plans::store::PhaseRecord;

/// Live approvals and whether a live override passed the gate.
pub fn tally(p: &PhaseRecord) -> (i64, bool) {
    let live = p.decisions.iter().filter(|d| d.live());
    let mut approvals = 0;
    let mut overridden = false;
    for d in live {
        match d.verdict {
            Verdict::Approve => approvals += 1,
            Verdict::Override => overridden = true,
            Verdict::Reject => {}
        }
    }
    (approvals, overridden)
}

pub fn passed(p: &PhaseRecord) -> bool {
    let (approvals, overridden) = tally(p);
    overridden || approvals >= p.approvals_required
}

/// Whether this person may approve or reject this phase now, on this
/// evidence. Every reason is a sentence the person can act on.
pub fn may_decide(
    p: &PhaseRecord,
    (user_id, username): (&str, &str),
    roles: &[Role],
    seen_evidence: &str,
    current_evidence: &str,
) -> Result<(), PlanError> {
    if !matches!(
        p.status,
        PhaseStatus::AwaitingApproval | PhaseStatus::Approved
    ) {
        return Err(PlanError::Conflict(
            Conflict::WrongState,
            format!(
                "phase {:?} is {}: approval has not been requested",
                p.name, p.status
            ),
        ));
    }
    if p.requested_by.as_deref() == Some(user_id) {
        return Err(PlanError::Forbidden(format!(
            "decide on phase {:?}: you requested its approval; someone else must decide",
            p.name
        )));
    }
    if !p.approvers.is_empty()
        && !app::access::gate_asks(roles, username, &p.approver_roles, &p.approvers)
    {
        return Err(PlanError::Forbidden(format!(
            "decide on phase {:?}: its gate asks {} only",
            p.name,
            p.approvers.join(", ")
        )));
    }
    if !roles.iter().any(|r| p.approver_roles.contains(r)) {
        return Err(PlanError::Forbidden(format!(
            "decide on phase {:?}: its gate needs one of these roles: {}",
            p.name,
            app::access::Role::join(&p.approver_roles, ", ")
        )));
    }
    if seen_evidence != current_evidence {
        return Err(PlanError::Conflict(
            Conflict::StaleRevision,
            format!(
                "phase {:?} changed since you loaded it (its configuration or checklist); \
                 reload the page, review it again and decide",
                p.name
            ),
        ));
    }
    if p.decisions.iter().any(|d| d.live() && d.user_id == user_id) {
        return Err(PlanError::Conflict(
            Conflict::AlreadyExists,
            format!(
                "you already decided on phase {:?}; one decision per person",
                p.name
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::store::DecisionRecord;

    fn phase() -> PhaseRecord {
        PhaseRecord {
            requested_by: Some("op".into()),
            requested_by_name: Some("olga".into()),
            requested_at_ms: Some(2),
            ..PhaseRecord::fixture()
        }
    }

    fn decision(user: &str, verdict: Verdict, dismissed: bool) -> DecisionRecord {
        DecisionRecord {
            id: user.into(),
            user_id: user.into(),
            username: user.into(),
            verdict,
            comment: String::new(),
            evidence_hash: "h".into(),
            created_at_ms: 3,
            dismissed_at_ms: dismissed.then_some(4),
            dismissed_reason: None,
            evidence_json: None,
        }
    }

    #[test]
    fn the_requester_cannot_approve_their_own_gate() {
        let e = may_decide(&phase(), ("op", "op"), &[Role::Approver], "h", "h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("someone else"), "{e}");
    }

    #[test]
    fn only_allowed_roles_decide() {
        let e = may_decide(
            &phase(),
            ("v", "v"),
            &[Role::Viewer, Role::Operator],
            "h",
            "h",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs one of these roles: approver"), "{e}");
        assert!(may_decide(&phase(), ("a", "a"), &[Role::Approver], "h", "h").is_ok());
    }

    #[test]
    fn a_gate_that_names_people_asks_them_only() {
        let mut p = phase();
        p.approvers = vec!["dana".into(), "Erik".into()];
        p.approver_roles = vec![Role::Approver, Role::Admin];
        let e = may_decide(&p, ("a", "ann"), &[Role::Approver], "h", "h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("asks dana, Erik only"), "{e}");
        assert!(may_decide(&p, ("d", "dana"), &[Role::Approver], "h", "h").is_ok());
        assert!(may_decide(&p, ("e", "erik"), &[Role::Admin], "h", "h").is_ok());
        // Named, but without a role that may approve: still refused.
        assert!(may_decide(&p, ("d", "dana"), &[Role::Operator], "h", "h").is_err());
    }

    #[test]
    fn stale_evidence_and_second_decisions_are_refused() {
        let e = may_decide(&phase(), ("a", "a"), &[Role::Approver], "old", "new")
            .unwrap_err()
            .to_string();
        assert!(e.contains("changed since you loaded it"), "{e}");
        let mut p = phase();
        p.decisions.push(decision("a", Verdict::Approve, false));
        assert!(may_decide(&p, ("a", "a"), &[Role::Approver], "h", "h")
            .unwrap_err()
            .to_string()
            .contains("already decided"));
        p.decisions[0].dismissed_at_ms = Some(9);
        assert!(
            may_decide(&p, ("a", "a"), &[Role::Approver], "h", "h").is_ok(),
            "a dismissed decision can be made again"
        );
        let mut p = phase();
        p.status = PhaseStatus::Active;
        assert!(may_decide(&p, ("a", "a"), &[Role::Approver], "h", "h")
            .unwrap_err()
            .to_string()
            .contains("not been requested"));
    }

    #[test]
    fn the_gate_passes_with_enough_live_approvals_or_an_override() {
        let mut p = phase();
        p.decisions = vec![
            decision("a", Verdict::Approve, false),
            decision("b", Verdict::Approve, true),
            decision("c", Verdict::Reject, false),
        ];
        assert_eq!(tally(&p), (1, false));
        assert!(!passed(&p));
        p.decisions.push(decision("d", Verdict::Approve, false));
        assert!(passed(&p));
        let mut p = phase();
        p.decisions = vec![decision("admin", Verdict::Override, false)];
        assert!(passed(&p));
    }
}
