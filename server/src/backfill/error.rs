//! The backfill engine's errors and their kinds.
crate::layer_error!(
    /// No such plan, job or run is `NotFound`; another process driving the
    /// run, or starting one first, is a `Conflict`.
    BackfillError {
        /// The target database failed in a way retries did not cure.
        #[error("target {target}: {message}")]
        Target { target: String, message: String } => Unavailable,
    }
);

/// Errors worth retrying: the connection went away, a lock or statement
/// timed out, a serialization failure or deadlock, the server shut the
/// session down, SQLite was busy.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string()).unwrap_or_default();
            code.starts_with("08")
                || matches!(
                    code.as_str(),
                    "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "5" | "6"
                )
                || d.message().contains("database is locked")
        }
        _ => false,
    }
}

/// PostgreSQL's `lock_timeout` ended the statement (55P03).
pub fn is_lock_timeout(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "55P03"))
}

/// A unique constraint refused a row (PostgreSQL 23505, SQLite 2067).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "23505" || c == "2067"))
}

/// Attempts after the first for a transient failure.
pub const RETRIES: u32 = 6;

/// Runs `op` again after a transient failure (with back-off, at most
/// `RETRIES` times); returns its first success or its last error.
pub async fn with_retries<T, F, Fut>(mut op: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if is_transient(&e) && attempt < RETRIES => {
                tracing::warn!(attempt, error = %e, "transient target error; retrying");
                tokio::time::sleep(super::pace::backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A database error on one line (for run results and the error list).
pub fn one_line(e: &sqlx::Error) -> String {
    e.to_string().replace('\n', " ")
}
