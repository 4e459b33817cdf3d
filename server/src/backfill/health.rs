//! A PostgreSQL target's own health, read from its statistics views with
//! no Prometheus: the built-in signals a guardrail may watch (`health =
//! "lock_waits"`) and a job may throttle on (`throttle = { lock_waits = 0 }`,
//! as gh-ost's `--max-load` and GitLab's batched migrations do). The
//! statements are the console's own, fixed here, and run read-only under
//! the plan statements' timeouts. A signal that cannot be read (no
//! privilege, no `pg_stat_statements`, no replica) is an error, never a
//! healthy value.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use app::dto::StoreBackend;

use super::error::one_line;
use super::target::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Sessions waiting for a heavyweight lock now.
    LockWaits,
    /// The longest such wait, in seconds (0 when none waits).
    LongestLockWaitS,
    /// Connections in use, as a share of `max_connections` (0…1).
    Connections,
    /// How far the slowest replica is behind, in seconds (on a standby: how
    /// old its last replayed transaction is).
    ReplicationLagS,
    /// Blocks found in shared buffers, as a share of blocks read (0…1),
    /// since the previous reading.
    CacheHitRatio,
    /// Mean execution time of the statements that ran since the previous
    /// reading, in ms (`pg_stat_statements`).
    StatementMeanMs,
}

pub const SIGNALS: [Signal; 6] = [
    Signal::LockWaits,
    Signal::LongestLockWaitS,
    Signal::Connections,
    Signal::ReplicationLagS,
    Signal::CacheHitRatio,
    Signal::StatementMeanMs,
];

const SEES_ALL_SESSIONS: &str =
    "SELECT CAST(CASE WHEN pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') \
     THEN 1 ELSE 0 END AS float8), CAST(NULL AS float8)";

impl Signal {
    pub fn parse(name: &str) -> Option<Signal> {
        SIGNALS.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::LockWaits => "lock_waits",
            Signal::LongestLockWaitS => "longest_lock_wait_s",
            Signal::Connections => "connections",
            Signal::ReplicationLagS => "replication_lag_s",
            Signal::CacheHitRatio => "cache_hit_ratio",
            Signal::StatementMeanMs => "statement_mean_ms",
        }
    }

    /// The names, for messages.
    pub fn names() -> String {
        SIGNALS.map(Signal::name).join(", ")
    }

    /// A high value is the unhealthy one (every signal but the cache hit
    /// ratio): a throttle's number is then a ceiling, else a floor.
    pub fn higher_is_worse(self) -> bool {
        self != Signal::CacheHitRatio
    }

    /// What it measures, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Signal::LockWaits => "sessions waiting for a lock",
            Signal::LongestLockWaitS => "the longest lock wait (s)",
            Signal::Connections => "connections in use / max_connections",
            Signal::ReplicationLagS => "replication lag (s)",
            Signal::CacheHitRatio => "cache hit ratio since the last reading",
            Signal::StatementMeanMs => "mean statement time since the last reading (ms)",
        }
    }

    /// The statement: one row of two numbers. For a gauge, the value and
    /// NULL; for a counter pair, the cumulative numerator and denominator,
    /// of which a reading takes the change since the previous one.
    pub fn sql(self) -> &'static str {
        match self {
            Signal::LockWaits => {
                "SELECT CAST(count(*) AS float8), CAST(NULL AS float8) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock'"
            }
            Signal::LongestLockWaitS => {
                "SELECT CAST(coalesce(max(extract(epoch FROM clock_timestamp() - state_change)), 0) AS float8), \
                 CAST(NULL AS float8) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            }
            Signal::Connections => {
                "SELECT CAST(count(*) AS float8) / CAST(current_setting('max_connections') AS float8), \
                 CAST(NULL AS float8) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            }
            Signal::ReplicationLagS => {
                "SELECT CAST(CASE WHEN pg_is_in_recovery() \
                 THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) \
                 ELSE (SELECT max(extract(epoch FROM replay_lag)) FROM pg_stat_replication) END AS float8), \
                 CAST(NULL AS float8)"
            }
            Signal::CacheHitRatio => {
                "SELECT CAST(blks_hit AS float8), CAST(blks_hit + blks_read AS float8) \
                 FROM pg_stat_database WHERE datname = current_database()"
            }
            Signal::StatementMeanMs => {
                "SELECT CAST(sum(total_exec_time) AS float8), CAST(sum(calls) AS float8) \
                 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            }
        }
    }

    fn is_counter(self) -> bool {
        matches!(self, Signal::CacheHitRatio | Signal::StatementMeanMs)
    }

    /// Reads other sessions' waits, which PostgreSQL hides from a role
    /// without `pg_read_all_stats`.
    fn needs_all_sessions(self) -> bool {
        matches!(self, Signal::LockWaits | Signal::LongestLockWaitS)
    }
}

/// Reads signals, keeping each counter's previous totals per target so a
/// reading covers the time since the one before.
#[derive(Debug, Default)]
pub struct Health {
    previous: Mutex<HashMap<(String, Signal), (f64, f64)>>,
}

impl Health {
    /// `signal` on `target` now; an error says what to fix.
    pub async fn read(
        &self,
        target: &Target,
        signal: Signal,
        limit: Duration,
    ) -> Result<f64, String> {
        let name = &target.name;
        if target.backend() != StoreBackend::Postgres {
            return Err(format!(
                "{} reads PostgreSQL's statistics; target {name:?} is SQLite",
                signal.name()
            ));
        }
        if signal.needs_all_sessions() && !target.superuser {
            let (sees, _) = self.row(target, SEES_ALL_SESSIONS, limit).await?;
            if sees != Some(1.0) {
                return Err(format!(
                    "{}: target {name:?}'s role cannot see other sessions' waits; \
                     GRANT pg_monitor TO it (docs/security.md)",
                    signal.name()
                ));
            }
        }
        let (a, b) = self.row(target, signal.sql(), limit).await.map_err(|e| {
            if signal == Signal::StatementMeanMs && e.contains("pg_stat_statements") {
                format!(
                    "statement_mean_ms: pg_stat_statements is not installed on target {name:?} \
                     (shared_preload_libraries = 'pg_stat_statements', then CREATE EXTENSION pg_stat_statements)"
                )
            } else {
                format!("{}: {e}", signal.name())
            }
        })?;
        if !signal.is_counter() {
            return a.ok_or_else(|| match signal {
                Signal::ReplicationLagS => format!(
                    "replication_lag_s: no replica reports to target {name:?} (pg_stat_replication is empty)"
                ),
                _ => format!("{}: no value", signal.name()),
            });
        }
        let (Some(total), Some(count)) = (a, b) else {
            return Err(format!("{}: no value", signal.name()));
        };
        let key = (name.clone(), signal);
        let before = {
            let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
            previous.insert(key, (total, count))
        };
        // Since the previous reading; the first (or one after a statistics
        // reset) covers everything since the last reset.
        let (total, count) = match before {
            Some((t0, c0)) if count > c0 && total >= t0 => (total - t0, count - c0),
            Some((_, c0)) if count == c0 => {
                return Err(format!(
                    "{}: nothing happened since the previous reading",
                    signal.name()
                ))
            }
            _ => (total, count),
        };
        if count <= 0.0 {
            return Err(format!("{}: nothing to measure yet", signal.name()));
        }
        Ok(total / count)
    }

    async fn row(
        &self,
        target: &Target,
        sql: &str,
        limit: Duration,
    ) -> Result<(Option<f64>, Option<f64>), String> {
        let mut tx = target
            .read_tx(limit)
            .await
            .map_err(|e| format!("target {:?}: {}", target.name, one_line(&e)))?;
        sqlx::query_as::<_, (Option<f64>, Option<f64>)>(sql)
            .fetch_optional(&mut *tx)
            .await
            .map(|row| row.unwrap_or((None, None)))
            .map_err(|e| one_line(&e))
    }
}

/// A job's throttle: while any signal is past its number (above a ceiling,
/// below the cache hit floor), or cannot be read, the run waits before its
/// next chunk.
pub async fn throttled(
    health: &Health,
    target: &Target,
    throttle: &[(Signal, f64)],
) -> Option<String> {
    for (signal, limit) in throttle {
        let value = match health.read(target, *signal, Duration::from_secs(5)).await {
            Ok(v) => v,
            Err(e) => return Some(format!("cannot read the target's health: {e}")),
        };
        let past = if signal.higher_is_worse() {
            value > *limit
        } else {
            value < *limit
        };
        if past {
            return Some(format!(
                "{} on target {:?} is {} ({}), past the job's throttle of {}",
                signal.name(),
                target.name,
                app::format::number(value),
                signal.describe(),
                app::format::number(*limit)
            ));
        }
    }
    None
}
