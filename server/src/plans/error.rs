//! The plan layer's errors (their kinds: `error_kind`).
crate::layer_error!(PlanError);

impl From<super::state::Refused> for PlanError {
    fn from(e: super::state::Refused) -> Self {
        PlanError::Invalid(e.0)
    }
}
