//! The guardrail measurements of a plan's phases (`guardrail_measurements`):
//! every reading with its value, threshold, sample and outcome, kept as the
//! evidence an automatic item and an auditor read.
use sqlx::{AnyConnection, Row};

use crate::db::StoreError;
use crate::plans::guardrail::Outcome;

#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub plan_id: String,
    pub guardrail: String,
    pub environment: String,
    pub at_ms: i64,
    /// What the guardrail read; `None` when its source had no data.
    pub value: Option<f64>,
    /// What its sample query read, when it has one (below the minimum, the
    /// reading is not healthy).
    pub sample: Option<f64>,
    /// The healthy range's bounds as resolved for this reading.
    pub bounds: (Option<f64>, Option<f64>),
    pub threshold: String,
    pub outcome: Outcome,
    pub detail: String,
    /// Where it was read: the source as resolved for its environment and
    /// the exact query (read back by `latest` only).
    pub read_from: Option<(String, String)>,
}

/// The id of a resolved source and query (`guardrail_sources`), kept once.
pub async fn source_id(
    conn: &mut AnyConnection,
    source: &str,
    query: &str,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO guardrail_sources (source, query) VALUES ($1, $2) \
         ON CONFLICT (source, query) DO NOTHING",
    )
    .bind(source)
    .bind(query)
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM guardrail_sources WHERE source = $1 AND query = $2")
            .bind(source)
            .bind(query)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Records a reading (read from `source_id`: `source_id`) and makes it its
/// guardrail's newest in its environment (`guardrail_latest`), in the
/// caller's transaction.
pub async fn insert(
    conn: &mut AnyConnection,
    m: &Measurement,
    source_id: Option<i64>,
) -> Result<(), StoreError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    // Not a cached prepared statement: sqlx's Any driver declares a NULL
    // f64 as float4 on PostgreSQL, so a statement first prepared with a
    // missing bound refuses a later reading's bound ("incorrect binary data
    // format in bind parameter"). Prepared afresh, each reading's types hold.
    sqlx::query(
        "INSERT INTO guardrail_measurements (id, plan_id, guardrail, environment, at_ms, value, \
         sample, threshold, outcome, detail, min_value, max_value, source_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .persistent(false)
    .bind(&id)
    .bind(&m.plan_id)
    .bind(&m.guardrail)
    .bind(&m.environment)
    .bind(m.at_ms)
    .bind(m.value)
    .bind(m.sample)
    .bind(&m.threshold)
    .bind(m.outcome.as_str())
    .bind(&m.detail)
    .bind(m.bounds.0)
    .bind(m.bounds.1)
    .bind(source_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO guardrail_latest (plan_id, guardrail, environment, measurement_id, at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (plan_id, guardrail, environment) DO UPDATE \
         SET measurement_id = excluded.measurement_id, at_ms = excluded.at_ms \
         WHERE excluded.at_ms >= guardrail_latest.at_ms",
    )
    .bind(&m.plan_id)
    .bind(&m.guardrail)
    .bind(&m.environment)
    .bind(&id)
    .bind(m.at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The newest reading of each of the plan's guardrails in each environment.
pub async fn latest(
    conn: &mut AnyConnection,
    plan_id: &str,
) -> Result<Vec<Measurement>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.*, s.source AS read_source, s.query AS read_query \
         FROM guardrail_latest l JOIN guardrail_measurements m ON m.id = l.measurement_id \
         LEFT JOIN guardrail_sources s ON s.id = m.source_id \
         WHERE l.plan_id = $1 ORDER BY m.at_ms DESC, m.id",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?)
}

impl sqlx::FromRow<'_, sqlx::any::AnyRow> for Measurement {
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let outcome: String = r.try_get("outcome")?;
        Ok(Measurement {
            plan_id: r.try_get("plan_id")?,
            guardrail: r.try_get("guardrail")?,
            environment: r.try_get("environment")?,
            at_ms: r.try_get("at_ms")?,
            value: r.try_get("value")?,
            sample: r.try_get("sample")?,
            bounds: (r.try_get("min_value")?, r.try_get("max_value")?),
            threshold: r.try_get("threshold")?,
            outcome: Outcome::parse(&outcome),
            detail: r.try_get("detail")?,
            // `latest` and `recent` read where a reading came from.
            read_from: r
                .try_get::<Option<String>, _>("read_source")
                .ok()
                .flatten()
                .zip(r.try_get::<Option<String>, _>("read_query").ok().flatten()),
        })
    }
}

/// The plan's measurements since `since_ms`, newest first (at most `limit`),
/// each with where it was read from.
pub async fn recent(
    conn: &mut AnyConnection,
    plan_id: &str,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<Measurement>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.*, s.source AS read_source, s.query AS read_query \
         FROM guardrail_measurements m LEFT JOIN guardrail_sources s ON s.id = m.source_id \
         WHERE m.plan_id = $1 AND m.at_ms >= $2 ORDER BY m.at_ms DESC, m.id LIMIT $3",
    )
    .bind(plan_id)
    .bind(since_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// How near its bounds each of the plan's guardrails came in each
/// environment between `from_ms` and `to_ms`: the largest ratio of a reading
/// to its bound (as `timeline::ratio` defines it), worked out in the store so
/// a chart of 200 guardrails reads only the lines it draws.
pub async fn peaks(
    conn: &mut AnyConnection,
    plan_id: &str,
    (from_ms, to_ms): (i64, i64),
) -> Result<Vec<(String, String, f64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT guardrail, environment, \
           MAX(CASE WHEN max_value > 0 THEN value / max_value \
                    WHEN value <= max_value THEN 0.0 \
                    WHEN value - max_value > 9 THEN 10.0 \
                    ELSE 1.0 + value - max_value END) AS over_peak, \
           MAX(CASE WHEN value > 0 THEN min_value / value END) AS under_peak \
         FROM guardrail_measurements \
         WHERE plan_id = $1 AND at_ms >= $2 AND at_ms <= $3 AND value IS NOT NULL \
         GROUP BY guardrail, environment",
    )
    .bind(plan_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let over: Option<f64> = r.try_get("over_peak")?;
        let under: Option<f64> = r.try_get("under_peak")?;
        let peak = match (over, under) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(p) = peak.filter(|p| p.is_finite()) {
            out.push((r.try_get("guardrail")?, r.try_get("environment")?, p));
        }
    }
    Ok(out)
}

/// One guardrail's readings in one environment between `from_ms` and
/// `to_ms`, newest first (at most `limit`).
pub async fn line(
    conn: &mut AnyConnection,
    plan_id: &str,
    (guardrail, environment): (&str, &str),
    (from_ms, to_ms): (i64, i64),
    limit: i64,
) -> Result<Vec<Measurement>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT * FROM guardrail_measurements WHERE plan_id = $1 AND guardrail = $2 \
         AND environment = $3 AND at_ms >= $4 AND at_ms <= $5 ORDER BY at_ms DESC, id LIMIT $6",
    )
    .bind(plan_id)
    .bind(guardrail)
    .bind(environment)
    .bind(from_ms)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// A plan whose guardrails are watched now: it is active, and the phase
/// under way rolls out in `environment`.
#[derive(Debug, Clone)]
pub struct Watched {
    pub plan_id: String,
    pub source_toml: String,
    pub phase: String,
    pub environment: String,
    pub started_at_ms: i64,
}

pub async fn watched(conn: &mut AnyConnection) -> Result<Vec<Watched>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.id, p.source_toml, ph.name, ph.environment, ph.started_at_ms \
         FROM plans p JOIN phases ph ON ph.plan_id = p.id \
         WHERE p.status = 'active' AND ph.status IN ('active', 'awaiting_approval', 'approved') \
         ORDER BY p.id, ph.position DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<Watched> = Vec::new();
    for r in &rows {
        let plan_id: String = r.try_get("id")?;
        // The newest phase under way is the one that counts.
        if out.last().is_some_and(|w| w.plan_id == plan_id) {
            continue;
        }
        out.push(Watched {
            plan_id,
            source_toml: r.try_get("source_toml")?,
            phase: r.try_get("name")?,
            environment: r.try_get("environment")?,
            started_at_ms: r.try_get::<Option<i64>, _>("started_at_ms")?.unwrap_or(0),
        });
    }
    Ok(out)
}

/// One guardrail's readings in `environment` since `since_ms`, newest first
/// (at most 1,000): what its streaks are counted on.
pub async fn streak(
    conn: &mut AnyConnection,
    plan_id: &str,
    (guardrail, environment): (&str, &str),
    since_ms: i64,
) -> Result<Vec<(i64, Outcome)>, StoreError> {
    let rows = sqlx::query(
        "SELECT at_ms, outcome FROM guardrail_measurements WHERE plan_id = $1 AND guardrail = $2 \
         AND environment = $3 AND at_ms >= $4 ORDER BY at_ms DESC, id LIMIT 1000",
    )
    .bind(plan_id)
    .bind(guardrail)
    .bind(environment)
    .bind(since_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let outcome: String = r.try_get("outcome")?;
            Ok((r.try_get("at_ms")?, Outcome::parse(&outcome)))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::Query)
}

/// The baseline captured for a guardrail at a phase start (or, keyed
/// `ROLLOUT_BASELINE`, for the rollout in that environment), if any.
pub async fn baseline(
    conn: &mut AnyConnection,
    plan_id: &str,
    (guardrail, environment): (&str, &str),
    phase_started_at_ms: i64,
) -> Result<Option<f64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT value FROM guardrail_baselines WHERE plan_id = $1 AND guardrail = $2 \
         AND environment = $3 AND phase_started_at_ms = $4",
    )
    .bind(plan_id)
    .bind(guardrail)
    .bind(environment)
    .bind(phase_started_at_ms)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn save_baseline(
    conn: &mut AnyConnection,
    plan_id: &str,
    (guardrail, environment): (&str, &str),
    (phase_started_at_ms, value, now): (i64, f64, i64),
    (query, window_ms): (&str, Option<i64>),
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO guardrail_baselines (plan_id, guardrail, environment, phase_started_at_ms, \
         value, captured_at_ms, query, window_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT DO NOTHING",
    )
    .bind(plan_id)
    .bind(guardrail)
    .bind(environment)
    .bind(phase_started_at_ms)
    .bind(value)
    .bind(now)
    .bind(query)
    .bind(window_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The newest value a guardrail read in `environment` before `before_ms`
/// (a SQL guardrail's baseline: what it read in the phase before).
pub async fn value_before(
    conn: &mut AnyConnection,
    plan_id: &str,
    (guardrail, environment): (&str, &str),
    before_ms: i64,
) -> Result<Option<f64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT value FROM guardrail_measurements WHERE plan_id = $1 AND guardrail = $2 \
         AND environment = $3 AND at_ms < $4 AND value IS NOT NULL ORDER BY at_ms DESC LIMIT 1",
    )
    .bind(plan_id)
    .bind(guardrail)
    .bind(environment)
    .bind(before_ms)
    .fetch_optional(&mut *conn)
    .await?)
}
