//! The identity layer's errors (their kinds: `error_kind`).
crate::layer_error!(IdentityError);

/// True when `e` is a unique-constraint violation (a duplicate name, a second
/// approval …), which is the user's doing rather than the server's.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
