//! Readers of the trail (`trail_cursors`): each keeps how far it has read,
//! so work derived from events — notifications, incidents — resumes after
//! a stop exactly where it was, and moves its place in the transaction of
//! what it did with the events.
use sqlx::AnyConnection;

use crate::db::StoreError;

/// How far `reader` has read the trail, if it began.
pub async fn get(conn: &mut AnyConnection, reader: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT seq FROM trail_cursors WHERE reader = $1")
            .bind(reader)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// A new reader reads from `seq` on, not the past.
pub async fn begin(conn: &mut AnyConnection, reader: &str, seq: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO trail_cursors (reader, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(reader)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves the place from `from` to `to`; false when another instance moved
/// it first (what it did is then the one kept: roll back).
pub async fn advance(
    conn: &mut AnyConnection,
    reader: &str,
    (from, to): (i64, i64),
) -> Result<bool, StoreError> {
    let moved = sqlx::query("UPDATE trail_cursors SET seq = $1 WHERE reader = $2 AND seq = $3")
        .bind(to)
        .bind(reader)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(moved.rows_affected() == 1)
}
