//! The identity layer's errors, and how they reach the browser.
use app::error::AppError;

use crate::db::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The input breaks a rule; the message says which and how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IdentityError {
    fn from(e: sqlx::Error) -> Self {
        IdentityError::Store(StoreError::Query(e))
    }
}

impl From<IdentityError> for AppError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid(m) | IdentityError::Conflict(m) => AppError::Invalid(m),
            IdentityError::NotFound(what) => AppError::NotFound(what),
            IdentityError::Store(e) => {
                tracing::error!(error = %e, "identity store failure");
                AppError::Internal
            }
        }
    }
}

/// True when `e` is a unique-constraint violation (a duplicate name, a second
/// approval …), which is the user's doing rather than the server's.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
