//! The plan layer's errors, and how they reach the browser and the API.
use app::error::AppError;

use crate::db::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The input or the request breaks a rule; the message says which and
    /// how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The plan changed since the caller read it (a stale revision).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PlanError {
    fn from(e: sqlx::Error) -> Self {
        PlanError::Store(StoreError::Query(e))
    }
}

impl From<super::state::Refused> for PlanError {
    fn from(e: super::state::Refused) -> Self {
        PlanError::Invalid(e.0)
    }
}

impl From<PlanError> for AppError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Invalid(m) => AppError::Invalid(m),
            PlanError::NotFound(what) => AppError::NotFound(what),
            PlanError::Conflict(m) => AppError::Conflict(m),
            PlanError::Store(e) => {
                tracing::error!(error = %e, "plan store failure");
                AppError::Internal
            }
        }
    }
}
