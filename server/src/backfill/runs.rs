//! Backfill runs in the console's store: the run rows with their checkpoint,
//! the keys a run created, and the keys that failed.
use serde_json::Value;
use sqlx::{AnyConnection, Row};

use crate::db::{Store, StoreError};
use crate::system::now_ms;

/// What a run does (its mode) and where it stands (its status): the closed
/// sets the API, the UI and the store share, defined once in `app::dto`.
pub use app::dto::backfill::{RunMode as Mode, RunStatus};

fn decode_status(text: &str) -> Result<RunStatus, sqlx::Error> {
    RunStatus::parse(text).map_err(|e| sqlx::Error::ColumnDecode {
        index: "status".into(),
        source: e.into(),
    })
}

/// How a run (or the part of it this process drove) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Paused(String),
    Cancelled,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub plan_id: String,
    pub job: String,
    pub mode: Mode,
    pub status: RunStatus,
    /// The target it ran on, and the environment its evidence counts for
    /// (both '' for runs recorded before provenance: they count for none).
    pub target: String,
    pub environment: String,
    pub last_key: Option<i64>,
    pub processed: i64,
    pub created: i64,
    pub skipped: i64,
    pub errors: i64,
    pub chunk_size: i64,
    pub max_rows_per_sec: i64,
    pub total_estimate: Option<i64>,
    pub result: Value,
    pub started_by: String,
    pub owner: String,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

fn run_from(row: &sqlx::any::AnyRow) -> Result<Run, sqlx::Error> {
    let mode: String = row.try_get("mode")?;
    let status: String = row.try_get("status")?;
    let result: String = row.try_get("result")?;
    Ok(Run {
        id: row.try_get("id")?,
        plan_id: row.try_get("plan_id")?,
        job: row.try_get("job")?,
        mode: Mode::parse(&mode).unwrap_or(Mode::Run),
        status: decode_status(&status)?,
        target: row.try_get("target")?,
        environment: row.try_get("environment")?,
        last_key: row.try_get("last_key")?,
        processed: row.try_get("processed")?,
        created: row.try_get("created")?,
        skipped: row.try_get("skipped")?,
        errors: row.try_get("errors")?,
        chunk_size: row.try_get("chunk_size")?,
        max_rows_per_sec: row.try_get("max_rows_per_sec")?,
        total_estimate: row.try_get("total_estimate")?,
        result: serde_json::from_str(&result).unwrap_or(Value::Null),
        started_by: row.try_get("started_by")?,
        owner: row.try_get("owner")?,
        started_at_ms: row.try_get("started_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        finished_at_ms: row.try_get("finished_at_ms")?,
    })
}

/// Inserts a new running run (inside the caller's transaction, with its
/// audit event).
pub async fn insert(conn: &mut AnyConnection, run: &Run) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO backfill_runs (id, plan_id, job, mode, status, last_key, processed, created, \
         skipped, errors, chunk_size, max_rows_per_sec, total_estimate, result, started_by, \
         started_at_ms, updated_at_ms, owner, target, environment) \
         VALUES ($1, $2, $3, $4, 'running', $5, 0, 0, 0, 0, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14)",
    )
    .bind(&run.id)
    .bind(&run.plan_id)
    .bind(&run.job)
    .bind(run.mode.as_str())
    .bind(run.last_key)
    .bind(run.chunk_size)
    .bind(run.max_rows_per_sec)
    .bind(run.total_estimate)
    .bind(run.result.to_string())
    .bind(&run.started_by)
    .bind(run.started_at_ms)
    .bind(&run.owner)
    .bind(&run.target)
    .bind(&run.environment)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(store: &Store, id: &str) -> Result<Option<Run>, StoreError> {
    let row = sqlx::query("SELECT * FROM backfill_runs WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.as_ref().map(run_from).transpose()?)
}

/// A run that has not checkpointed for this long while marked running has
/// lost its driver (the process died).
pub const STALE_MS: i64 = 30_000;

/// Takes a run over for `owner`: always when it is paused; when it is marked
/// running only with `takeover` (its driver is known to be gone). False when
/// someone else holds it.
pub async fn claim(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    takeover: bool,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE backfill_runs SET status = 'running', owner = $2, updated_at_ms = $3 \
         WHERE id = $1 AND (status = 'paused' OR (status = 'running' AND $4 = 1))",
    )
    .bind(id)
    .bind(owner)
    .bind(now_ms())
    .bind(i64::from(takeover))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest run of this job in this mode that did not finish.
pub async fn open_run(
    store: &Store,
    plan_id: &str,
    job: &str,
    mode: Mode,
) -> Result<Option<Run>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM backfill_runs WHERE plan_id = $1 AND job = $2 AND mode = $3 \
         AND status IN ('running', 'paused') ORDER BY started_at_ms DESC LIMIT 1",
    )
    .bind(plan_id)
    .bind(job)
    .bind(mode.as_str())
    .fetch_optional(store.pool())
    .await?;
    Ok(row.as_ref().map(run_from).transpose()?)
}

/// The newest run of a job in `mode` on `target` for `environment`.
pub async fn newest_on(
    conn: &mut AnyConnection,
    plan_id: &str,
    job: &str,
    mode: Mode,
    (target, environment): (&str, &str),
) -> Result<Option<Run>, StoreError> {
    let row = sqlx::query(
        "SELECT * FROM backfill_runs WHERE plan_id = $1 AND job = $2 AND mode = $3 \
         AND target = $4 AND environment = $5 ORDER BY started_at_ms DESC, id LIMIT 1",
    )
    .bind(plan_id)
    .bind(job)
    .bind(mode.as_str())
    .bind(target)
    .bind(environment)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(run_from).transpose()?)
}

/// Runs of a plan (all jobs), newest first.
pub async fn of_plan(store: &Store, plan_id: &str) -> Result<Vec<Run>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    of_plan_in(&mut conn, plan_id).await
}

/// The same, on a given connection (inside a transaction).
pub async fn of_plan_in(conn: &mut AnyConnection, plan_id: &str) -> Result<Vec<Run>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM backfill_runs WHERE plan_id = $1 ORDER BY started_at_ms DESC, id",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(run_from).collect::<Result<_, _>>()?)
}

/// Every plan's runs that are not finished (running or paused), newest first.
pub async fn unfinished(store: &Store) -> Result<Vec<Run>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM backfill_runs WHERE status IN ('running', 'paused') \
         ORDER BY started_at_ms DESC, id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(run_from).collect::<Result<_, _>>()?)
}

/// Runs left `running` (the process that ran them is gone, or still runs).
pub async fn running(store: &Store) -> Result<Vec<Run>, StoreError> {
    let rows =
        sqlx::query("SELECT * FROM backfill_runs WHERE status = 'running' ORDER BY started_at_ms")
            .fetch_all(store.pool())
            .await?;
    Ok(rows.iter().map(run_from).collect::<Result<_, _>>()?)
}

/// The run's status as stored: another writer (an emergency rollback) may
/// have paused it.
pub async fn status(store: &Store, id: &str) -> Result<RunStatus, StoreError> {
    let text: String = sqlx::query_scalar("SELECT status FROM backfill_runs WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    Ok(decode_status(&text)?)
}

/// Pauses every running run of a plan (inside the caller's transaction);
/// their runners stop after their current chunk. Returns how many.
pub async fn pause_plan(
    conn: &mut AnyConnection,
    plan_id: &str,
    reason: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE backfill_runs SET status = 'paused', result = $2, updated_at_ms = $3 \
         WHERE plan_id = $1 AND status = 'running'",
    )
    .bind(plan_id)
    .bind(serde_json::json!({ "reason": reason }).to_string())
    .bind(now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// The checkpoint after a committed chunk, with a progress sample.
pub async fn checkpoint(store: &Store, run: &Run) -> Result<(), StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO backfill_samples (run_id, at_ms, processed, created, errors) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(&run.id)
    .bind(now)
    .bind(run.processed)
    .bind(run.created)
    .bind(run.errors)
    .execute(store.pool())
    .await?;
    sqlx::query(
        "UPDATE backfill_runs SET last_key = $2, processed = $3, created = $4, skipped = $5, \
         errors = $6, chunk_size = $7, max_rows_per_sec = $8, updated_at_ms = $9 WHERE id = $1",
    )
    .bind(&run.id)
    .bind(run.last_key)
    .bind(run.processed)
    .bind(run.created)
    .bind(run.skipped)
    .bind(run.errors)
    .bind(run.chunk_size)
    .bind(run.max_rows_per_sec)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Ends (or pauses) a run, inside the caller's transaction.
pub async fn set_status(
    conn: &mut AnyConnection,
    run: &Run,
    status: RunStatus,
    result: &Value,
) -> Result<(), StoreError> {
    let now = now_ms();
    let finished = status.is_final().then_some(now);
    sqlx::query(
        "UPDATE backfill_runs SET status = $2, result = $3, updated_at_ms = $4, finished_at_ms = $5, \
         last_key = $6, processed = $7, created = $8, skipped = $9, errors = $10 WHERE id = $1",
    )
    .bind(&run.id)
    .bind(status.as_str())
    .bind(result.to_string())
    .bind(now)
    .bind(finished)
    .bind(run.last_key)
    .bind(run.processed)
    .bind(run.created)
    .bind(run.skipped)
    .bind(run.errors)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn record_error(
    store: &Store,
    run_id: &str,
    key: i64,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO backfill_errors (run_id, key, error, at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (run_id, key) DO UPDATE SET error = excluded.error, at_ms = excluded.at_ms",
    )
    .bind(run_id)
    .bind(key)
    .bind(error)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

pub async fn errors(
    store: &Store,
    run_id: &str,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT key, error FROM backfill_errors WHERE run_id = $1 ORDER BY key LIMIT $2",
    )
    .bind(run_id)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// A run's progress samples, oldest first: (at_ms, processed, created, errors).
pub async fn samples(store: &Store, run_id: &str) -> Result<Vec<(i64, i64, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT at_ms, processed, created, errors FROM backfill_samples WHERE run_id = $1 \
         ORDER BY at_ms, processed",
    )
    .bind(run_id)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Per plan and job, what its finished and unfinished live runs created and
/// how many keys failed: (plan_id, job, created, errors).
pub async fn live_totals(store: &Store) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT plan_id, job, SUM(created) AS created, SUM(errors) AS errors FROM backfill_runs \
         WHERE mode = 'run' GROUP BY plan_id, job",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("plan_id")?,
                r.try_get("job")?,
                r.try_get::<i64, _>("created")?,
                r.try_get::<i64, _>("errors")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::Query)
}

/// What a running run waits for (`None`: it no longer waits), in its result
/// while it runs.
pub async fn set_waiting(store: &Store, run_id: &str, waiting: &Value) -> Result<(), StoreError> {
    sqlx::query("UPDATE backfill_runs SET result = $2, updated_at_ms = $3 WHERE id = $1")
        .bind(run_id)
        .bind(waiting.to_string())
        .bind(now_ms())
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Why an operator let the run go on outside its window, if one did.
pub async fn window_override(store: &Store, run_id: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT window_override FROM backfill_runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(store.pool())
            .await?
            .flatten(),
    )
}

/// Records an operator's override of a running run's window (inside the
/// caller's transaction, with its audit event); false when the run is not
/// running.
pub async fn override_window(
    conn: &mut AnyConnection,
    run_id: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE backfill_runs SET window_override = $2 WHERE id = $1 AND status = 'running'",
    )
    .bind(run_id)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
