//! Verify runs: legacy against new row counts on the target, the delta and
//! the coverage, passed when the delta is within the job's `max_delta`.
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
            let pool = self.target.read_pool.clone();
            let target = self.target.name.clone();
            async move {
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(&pool)
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
        let result = json!({
            "legacy": legacy, "new": new, "delta": delta,
            "coverage_pct": (coverage * 100.0).round() / 100.0,
            "max_delta": self.job.max_delta,
            "passed": delta.abs() <= self.job.max_delta,
        });
        self.run.processed = legacy;
        self.run.created = new;
        self.finish(RunStatus::Done, result.clone()).await?;
        Ok(result)
    }
}
