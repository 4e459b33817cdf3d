//! The plan layer's errors (their kinds: `error_kind`).
crate::layer_error!(PlanError);

/// A transition the plan's or the phase's state does not allow.
impl From<super::state::Refused> for PlanError {
    fn from(e: super::state::Refused) -> Self {
        PlanError::Conflict(app::error::Conflict::WrongState, e.0)
    }
}
