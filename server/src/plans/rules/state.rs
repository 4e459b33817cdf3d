//! The rollout state machine as pure functions: which transitions a plan and
//! its phases allow, and what still blocks the next phase. No I/O: the plan
//! service loads the facts, asks here, and writes the result with its audit
//! event.
use std::fmt;

pub use app::dto::plans::{PhaseStatus, PlanStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanEvent {
    Activate,
    Complete,
    RollBack,
    Abort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseEvent {
    Start,
    RequestApproval,
    /// The gate's last needed approval arrived.
    Approve,
    /// Any approver rejected: back to active until approval is requested again.
    Reject,
    /// The next phase started (or the plan completed).
    Finish,
    /// An admin passed the gate without (all) its approvals.
    Override,
    /// A change dismissed approvals the gate counted: it needs fresh ones.
    Dismiss,
    /// Standard rollback of the current phase: back to pending.
    RollBack,
    /// The phase after this one was rolled back: this one is current again.
    Reopen,
    /// An edit left its checklist incomplete: it is no longer up for approval.
    Unready,
}

/// A transition that is not allowed, said so a person can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn plan_transition(from: PlanStatus, event: PlanEvent) -> Result<PlanStatus, Refused> {
    use PlanEvent::*;
    use PlanStatus::*;
    match (from, event) {
        (Draft, Activate) => Ok(Active),
        (Active, Complete) => Ok(Completed),
        (Active, RollBack) => Ok(RolledBack),
        // A launched feature keeps its kill switch: the emergency rollback.
        (Completed, RollBack) => Ok(RolledBack),
        (Draft | Active, Abort) => Ok(Aborted),
        (Completed | RolledBack | Aborted, _) => Err(Refused(format!(
            "the plan is {from}, which is final; create a new plan to try again"
        ))),
        _ => Err(Refused(format!("a {from} plan cannot {event:?}"))),
    }
}

pub fn phase_transition(from: PhaseStatus, event: PhaseEvent) -> Result<PhaseStatus, Refused> {
    use PhaseEvent::*;
    use PhaseStatus::*;
    match (from, event) {
        (Pending, Start) => Ok(Active),
        (Active, RequestApproval) => Ok(AwaitingApproval),
        (AwaitingApproval, Approve) => Ok(Approved),
        (AwaitingApproval | Approved, Reject) => Ok(Active),
        (Approved, Finish) => Ok(Done),
        (Active | AwaitingApproval, Override) => Ok(Approved),
        (Approved, Dismiss) => Ok(AwaitingApproval),
        (Active | AwaitingApproval | Approved, RollBack) => Ok(Pending),
        (Done, Reopen) => Ok(Approved),
        (AwaitingApproval | Approved, Unready) => Ok(Active),
        _ => Err(Refused(format!("a phase that is {from} cannot {event:?}"))),
    }
}

/// What the service knows about the phase before the one to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousPhase {
    pub name: String,
    pub status: PhaseStatus,
    /// When it started (its exposure took effect), unix ms.
    pub started_at_ms: i64,
    /// Its gate's minimum soak before the next phase may start.
    pub soak_ms: i64,
    /// Its checklist items that are not met, as "\"text\" is not ticked" or
    /// "\"text\": why" (empty when the checklist is complete).
    pub open_items: Vec<String>,
}

/// Why the next phase cannot start yet: every reason, not just the first.
pub fn start_blockers(
    plan: PlanStatus,
    phase: PhaseStatus,
    previous: Option<&PreviousPhase>,
    now_ms: i64,
) -> Vec<String> {
    let mut blockers = Vec::new();
    if plan != PlanStatus::Active {
        blockers.push(format!("the plan is {plan}, not active"));
    }
    if phase != PhaseStatus::Pending {
        blockers.push(format!("this phase is {phase}, not pending"));
    }
    if let Some(prev) = previous {
        if prev.status != PhaseStatus::Approved {
            blockers.push(format!("phase {:?} is not approved yet", prev.name));
        }
        for item in &prev.open_items {
            blockers.push(format!(
                "the checklist of phase {:?} is not complete: {item}",
                prev.name
            ));
        }
        let soaked = now_ms - prev.started_at_ms;
        if soaked < prev.soak_ms {
            let left = prev.soak_ms - soaked;
            blockers.push(format!(
                "phase {:?} must soak {} more (until {})",
                prev.name,
                human(left),
                app::format::utc_datetime(prev.started_at_ms + prev.soak_ms)
            ));
        }
    }
    blockers
}

fn human(ms: i64) -> String {
    let mins = (ms + 59_999) / 60_000;
    match mins {
        m if m < 60 => format!("{m} min"),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

/// A transition the plan's or the phase's state does not allow.
impl From<Refused> for crate::plans::error::PlanError {
    fn from(e: Refused) -> Self {
        Self::Conflict(app::error::Conflict::WrongState, e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn prev(status: PhaseStatus, checklist: bool) -> PreviousPhase {
        PreviousPhase {
            name: "production 5%".into(),
            status,
            started_at_ms: 0,
            soak_ms: 24 * H,
            open_items: if checklist {
                Vec::new()
            } else {
                vec![r#""Error rate < 0.1%" is not ticked"#.into()]
            },
        }
    }

    #[test]
    fn plans_move_draft_active_then_one_final_state() {
        use PlanEvent::*;
        use PlanStatus::*;
        assert_eq!(plan_transition(Draft, Activate), Ok(Active));
        assert_eq!(plan_transition(Active, Complete), Ok(Completed));
        assert_eq!(plan_transition(Active, RollBack), Ok(RolledBack));
        assert_eq!(plan_transition(Draft, Abort), Ok(Aborted));
        assert!(plan_transition(Draft, Complete).is_err());
        assert!(plan_transition(Draft, RollBack).is_err());
        assert_eq!(plan_transition(Completed, RollBack), Ok(RolledBack));
        for done in [Completed, RolledBack, Aborted] {
            for e in [Activate, Complete, RollBack, Abort] {
                if (done, e) == (Completed, RollBack) {
                    continue;
                }
                let err = plan_transition(done, e).unwrap_err();
                assert!(err.0.contains("final"), "{err}");
            }
        }
    }

    #[test]
    fn phases_walk_their_states_and_a_rejection_goes_back() {
        use PhaseEvent::*;
        use PhaseStatus::*;
        let mut s = Pending;
        for e in [
            Start,
            RequestApproval,
            Reject,
            RequestApproval,
            Approve,
            Finish,
        ] {
            s = phase_transition(s, e).unwrap();
        }
        assert_eq!(s, Done);
        assert!(
            phase_transition(Pending, Approve).is_err(),
            "no approval before a request"
        );
        assert!(
            phase_transition(Active, Approve).is_err(),
            "a rejection blocks until re-requested"
        );
        assert!(phase_transition(Done, Start).is_err());
        assert_eq!(phase_transition(Active, Override), Ok(Approved));
        assert_eq!(phase_transition(Approved, Dismiss), Ok(AwaitingApproval));
        assert_eq!(phase_transition(Approved, RollBack), Ok(Pending));
        assert_eq!(phase_transition(Done, Reopen), Ok(Approved));
        assert!(phase_transition(Pending, RollBack).is_err());
        assert!(phase_transition(Done, RollBack).is_err());
    }

    #[test]
    fn a_phase_cannot_start_early() {
        let now = 23 * H;
        let blockers = start_blockers(
            PlanStatus::Active,
            PhaseStatus::Pending,
            Some(&prev(PhaseStatus::AwaitingApproval, false)),
            now,
        );
        assert_eq!(blockers.len(), 3, "{blockers:?}");
        assert!(blockers[0].contains("not approved"));
        assert!(
            blockers[1]
                .contains(r#"checklist of phase "production 5%" is not complete: "Error rate"#),
            "names the item: {blockers:?}"
        );
        assert!(
            blockers[2].contains("soak 1 h more (until 1970-01-02 00:00:00 UTC)"),
            "{blockers:?}"
        );
        assert_eq!(human(90 * 60_000), "1 h 30 min");
        assert_eq!(human(1), "1 min");
        let ready = start_blockers(
            PlanStatus::Active,
            PhaseStatus::Pending,
            Some(&prev(PhaseStatus::Approved, true)),
            24 * H,
        );
        assert!(ready.is_empty(), "{ready:?}");
        assert!(start_blockers(PlanStatus::Active, PhaseStatus::Pending, None, 0).is_empty());
        let draft = start_blockers(PlanStatus::Draft, PhaseStatus::Active, None, 0);
        assert_eq!(draft.len(), 2);
    }
}
