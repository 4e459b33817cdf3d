//! The incidents table: opened from the audit event that records a breach,
//! an automatic rollback or a failed backfill; paged step by step;
//! acknowledged once.
use sqlx::AnyConnection;

use crate::db::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IncidentRecord {
    pub id: String,
    pub plan_id: String,
    /// The audit event that opened it.
    pub seq: i64,
    pub action: String,
    pub environment: String,
    pub summary: String,
    pub opened_ms: i64,
    /// How many escalation steps have been paged.
    pub steps_paged: i64,
    /// Everyone paged so far, newline-separated.
    pub paged: String,
    pub paged_ms: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_ms: Option<i64>,
}

impl IncidentRecord {
    pub fn paged_people(&self) -> Vec<String> {
        self.paged.lines().map(String::from).collect()
    }
}

/// A new incident's id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

const COLUMNS: &str = "id, plan_id, seq, action, environment, summary, opened_ms, steps_paged, \
                       paged, paged_ms, acked_by, acked_ms";

pub async fn open(conn: &mut AnyConnection, i: &IncidentRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO incidents (id, plan_id, seq, action, environment, summary, opened_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&i.id)
    .bind(&i.plan_id)
    .bind(i.seq)
    .bind(&i.action)
    .bind(&i.environment)
    .bind(&i.summary)
    .bind(i.opened_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every incident nobody acknowledged yet, oldest first.
pub async fn unacknowledged(conn: &mut AnyConnection) -> Result<Vec<IncidentRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM incidents WHERE acked_ms IS NULL ORDER BY opened_ms, seq");
    Ok(sqlx::query_as(&sql).fetch_all(&mut *conn).await?)
}

/// Every incident nobody acknowledged yet with its plan's name, oldest first.
pub async fn unacknowledged_named(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, IncidentRecord)>, StoreError> {
    let mut out = Vec::new();
    for i in unacknowledged(conn).await? {
        let name = super::name_of(conn, &i.plan_id).await?.unwrap_or_default();
        out.push((name, i));
    }
    Ok(out)
}

/// The plan's newest incident, acknowledged or not.
pub async fn newest_of(
    conn: &mut AnyConnection,
    plan_id: &str,
) -> Result<Option<IncidentRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents WHERE plan_id = $1 ORDER BY opened_ms DESC, seq DESC LIMIT 1"
    );
    Ok(sqlx::query_as(&sql)
        .bind(plan_id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<IncidentRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Records that the steps up to `steps_paged` paged `paged` (everyone so
/// far); false when it was acknowledged or paged meanwhile.
pub async fn paged(
    conn: &mut AnyConnection,
    i: &IncidentRecord,
    (steps_paged, paged): (i64, &[String]),
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE incidents SET steps_paged = $1, paged = $2, paged_ms = $3 \
         WHERE id = $4 AND steps_paged = $5 AND acked_ms IS NULL",
    )
    .bind(steps_paged)
    .bind(paged.join("\n"))
    .bind(now)
    .bind(&i.id)
    .bind(i.steps_paged)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Acknowledged by `who`; false when someone did first.
pub async fn acknowledge(
    conn: &mut AnyConnection,
    id: &str,
    who: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE incidents SET acked_by = $1, acked_ms = $2 WHERE id = $3 AND acked_ms IS NULL",
    )
    .bind(who)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
