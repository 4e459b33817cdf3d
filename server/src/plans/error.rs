//! The plan layer's errors (their kinds: `error_kind`).
crate::layer_error!(PlanError);
