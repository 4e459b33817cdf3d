//! Each delivery (`notify_deliveries`); how far each endpoint has read the
//! trail is kept by `audit::cursor`.
use sqlx::AnyConnection;

use crate::db::{Store, StoreError};

/// One delivery: an event for an endpoint, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub endpoint: String,
    pub seq: i64,
    pub action: String,
    pub msg_id: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    pub next_at_ms: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
}

const COLUMNS: &str = "endpoint, seq, action, msg_id, status, attempts, next_at_ms, \
                       last_status, last_error, created_ms, delivered_ms";

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

pub async fn add(
    conn: &mut AnyConnection,
    endpoint: &str,
    (seq, action, msg_id): (i64, &str, &str),
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notify_deliveries (endpoint, seq, action, msg_id, status, next_at_ms, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
    )
    .bind(endpoint)
    .bind(seq)
    .bind(action)
    .bind(msg_id)
    .bind(PENDING)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The endpoint's oldest open delivery, taken for `hold_ms` when it is due
/// and nobody holds it: deliveries leave in the order of the trail, and a
/// failing one holds back the rest until its next attempt.
pub async fn take_next(
    store: &Store,
    endpoint: &str,
    now: i64,
    hold_ms: i64,
) -> Result<Option<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notify_deliveries WHERE endpoint = $1 AND status = $2 \
         ORDER BY seq LIMIT 1"
    );
    let oldest: Option<Delivery> = sqlx::query_as(&sql)
        .bind(endpoint)
        .bind(PENDING)
        .fetch_optional(store.pool())
        .await?;
    let Some(d) = oldest.filter(|d| d.next_at_ms <= now) else {
        return Ok(None);
    };
    let taken = sqlx::query(
        "UPDATE notify_deliveries SET claimed_until_ms = $1 \
         WHERE endpoint = $2 AND seq = $3 AND status = $4 AND claimed_until_ms < $5",
    )
    .bind(now + hold_ms)
    .bind(endpoint)
    .bind(d.seq)
    .bind(PENDING)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok((taken.rows_affected() == 1).then_some(d))
}

/// What an attempt came to.
pub struct Attempt<'a> {
    pub status: &'a str,
    pub http_status: Option<i64>,
    pub error: Option<&'a str>,
    pub next_at_ms: i64,
}

pub async fn record(
    store: &Store,
    d: &Delivery,
    a: Attempt<'_>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE notify_deliveries SET status = $1, attempts = attempts + 1, last_status = $2, \
         last_error = $3, next_at_ms = $4, claimed_until_ms = 0, \
         delivered_ms = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_ms END \
         WHERE endpoint = $6 AND seq = $7",
    )
    .bind(a.status)
    .bind(a.http_status)
    .bind(a.error)
    .bind(a.next_at_ms)
    .bind(now)
    .bind(&d.endpoint)
    .bind(d.seq)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// A delivery given up on, tried again from now.
pub async fn retry(
    conn: &mut AnyConnection,
    endpoint: &str,
    seq: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE notify_deliveries SET status = $1, next_at_ms = $2, created_ms = $2 \
         WHERE endpoint = $3 AND seq = $4 AND status = $5",
    )
    .bind(PENDING)
    .bind(now)
    .bind(endpoint)
    .bind(seq)
    .bind(FAILED)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest `limit` deliveries, newest first.
pub async fn newest(store: &Store, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notify_deliveries ORDER BY created_ms DESC, seq DESC LIMIT {limit}"
    );
    Ok(sqlx::query_as(&sql).fetch_all(store.pool()).await?)
}

/// Per endpoint and status: how many, and the oldest one's creation.
pub async fn counts(store: &Store) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT endpoint, status, COUNT(*), MIN(created_ms) FROM notify_deliveries \
         GROUP BY endpoint, status",
    )
    .fetch_all(store.pool())
    .await?)
}
