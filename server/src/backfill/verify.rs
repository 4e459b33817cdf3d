//! Verify runs: legacy against new row counts on the target, the delta, the
//! coverage by exact counts, and — when the job declares `verify_missing` —
//! how many legacy rows have no new row and the first of their keys; passed
//! when the delta is within the job's `max_delta` and nothing is missing;
//! with `parity_legacy` / `parity_new`, also the values (`parity`).
use super::target_read::Cell;
use serde_json::{json, Value};

use super::error::{one_line, BackfillError};
use super::runner::Runner;
use super::runs::RunStatus;

impl Runner {
    /// Counts legacy and new rows; passes when the delta is within the job's.
    pub async fn verify(&mut self) -> Result<Value, BackfillError> {
        let (legacy_sql, new_sql) = self.job.verify.clone().ok_or_else(|| {
            BackfillError::Invalid(format!(
                "job {:?} has no verify_legacy / verify_new queries",
                self.job.name
            ))
        })?;
        let count = |sql: String| {
            let t = self.target.clone();
            let target = self.target.name.clone();
            async move {
                scalar(&t, &sql, &[])
                    .await
                    .map_err(|e| BackfillError::Target {
                        target,
                        message: one_line(&e),
                    })
            }
        };
        let legacy = count(legacy_sql).await?;
        let new = count(new_sql).await?;
        let delta = legacy - new;
        let coverage = if legacy == 0 {
            100.0
        } else {
            new as f64 * 100.0 / legacy as f64
        };
        // The anti-join, when the job has one: extra rows in the new table
        // cannot hide missing ones, and the first missing keys are named.
        let (missing, missing_keys) = match self.job.verify_missing.clone() {
            Some(m) => {
                let n = count(m.count).await?;
                let keys: Vec<i64> = self
                    .target
                    .read_column(&m.first, &[], super::target::READ_LIMIT)
                    .await
                    .map(|cells| cells.iter().filter_map(Cell::as_i64).collect())
                    .map_err(|e| BackfillError::Target {
                        target: self.target.name.clone(),
                        message: one_line(&e),
                    })?;
                (Some(n), keys)
            }
            None => (None, Vec::new()),
        };
        // Exact counts, never a rounded percentage: one missing row in a
        // million is not full coverage.
        let full = match missing {
            Some(n) => n == 0 && new >= legacy,
            None => new == legacy,
        };
        let values = match self.job.parity.clone() {
            Some((legacy, new)) => Some(super::parity::compare(&self.target, &legacy, &new).await?),
            None => None,
        };
        let mut result = json!({
            "legacy": legacy, "new": new, "delta": delta,
            "coverage_pct": (coverage * 100.0).round() / 100.0,
            "coverage_full": full,
            "missing": missing,
            "missing_keys": missing_keys,
            "max_delta": self.job.max_delta,
            "passed": delta.abs() <= self.job.max_delta && missing.is_none_or(|n| n == 0),
        });
        if let Some(values) = values {
            result["passed"] = json!(result["passed"] == json!(true) && values.passed());
            result["values"] = values.json();
        }
        self.run.processed = legacy;
        self.run.created = new;
        self.finish(RunStatus::Done, result.clone()).await?;
        Ok(result)
    }
}

/// The one integer a counting statement returns (an error when it returns
/// none, or not an integer).
pub async fn scalar(
    target: &super::target::Target,
    sql: &str,
    binds: &[i64],
) -> Result<i64, sqlx::Error> {
    let cells = target
        .read_column(sql, binds, super::target::READ_LIMIT)
        .await?;
    match cells.first() {
        Some(Cell::Int(n)) => Ok(*n),
        Some(other) => Err(sqlx::Error::Protocol(format!(
            "the count is not an integer: {other:?}"
        ))),
        None => Err(sqlx::Error::RowNotFound),
    }
}
