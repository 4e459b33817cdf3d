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
use super::signal::{Signal, SEES_ALL_SESSIONS};
use super::target::Target;

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
