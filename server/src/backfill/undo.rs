//! Undo runs: removing exactly the rows earlier runs created (recorded per
//! chunk before the target committed), one recorded chunk per transaction;
//! and the automatic undo of `error_policy = "rollback"`.
use std::time::Instant;

use serde_json::json;

use super::created;
use super::error::{one_line, with_retries, BackfillError};
use super::runner::{ChunkReport, Outcome, Runner};
use super::runs::{self, Mode, Run, RunStatus};
use super::start::Start;
use crate::audit::Actor;
use crate::db::Store;

impl Runner {
    /// `error_policy = "rollback"`: an undo run of this (failed) run.
    pub(super) async fn roll_back(&self) -> Result<Outcome, BackfillError> {
        let mut undo = Runner::start(
            self.store.clone(),
            self.target.clone(),
            self.job.clone(),
            Start::new(
                &self.run.plan_id,
                Mode::Undo,
                Actor::System,
                &self.run.owner,
            ),
        )
        .await?;
        undo.undo(std::slice::from_ref(&self.run), |_| {}).await
    }

    /// Removes exactly what the `sources` runs created, in chunks; each chunk's
    /// keys are forgotten once the target committed their removal.
    pub async fn undo(
        &mut self,
        sources: &[Run],
        mut on_chunk: impl FnMut(&ChunkReport),
    ) -> Result<Outcome, BackfillError> {
        let undo = self.job.undo.clone().ok_or_else(|| {
            BackfillError::Invalid(format!("job {:?} has no undo statement", self.job.name))
        })?;
        let started = Instant::now();
        let mut after = i64::MIN;
        let mut index = 0;
        let mut current = 0;
        loop {
            let Some(source) = sources.get(current) else {
                let ids: Vec<&str> = sources.iter().map(|r| r.id.as_str()).collect();
                self.finish(
                    RunStatus::Done,
                    json!({ "undone_runs": ids, "removed": self.run.created }),
                )
                .await?;
                return Ok(Outcome::Done);
            };
            // One recorded chunk at a time, each removed in one transaction.
            let next = created::next_created(&self.store, &source.id, after).await?;
            let Some((first, keys)) = next else {
                current += 1;
                after = i64::MIN;
                continue;
            };
            let last = keys.last().copied().unwrap_or(first);
            let t0 = Instant::now();
            let pool = &self.target.pool;
            let postgres = self.target.backend() == app::dto::StoreBackend::Postgres;
            let removed = with_retries(|| async {
                let mut tx = pool.begin().await?;
                // The same timeouts as a chunk's transaction.
                if postgres {
                    sqlx::Executor::execute(
                        &mut *tx,
                        super::target::timeouts(super::target::READ_LIMIT).as_str(),
                    )
                    .await?;
                }
                let mut n = 0;
                for key in &keys {
                    n += sqlx::query(&undo)
                        .bind(*key)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(n as i64)
            })
            .await;
            let removed = match removed {
                Ok(n) => n,
                Err(e) => {
                    let reason = format!("undo of keys {}..={last}: {}", keys[0], one_line(&e));
                    self.finish(RunStatus::Paused, json!({ "reason": reason }))
                        .await?;
                    return Ok(Outcome::Paused(reason));
                }
            };
            created::forget_created(&self.store, &source.id, first).await?;
            after = first;
            self.run.last_key = Some(last);
            self.run.processed += keys.len() as i64;
            self.run.created += removed;
            self.run.skipped = self.run.processed - self.run.created;
            runs::checkpoint(&self.store, &self.run).await?;
            index += 1;
            let secs = started.elapsed().as_secs_f64();
            on_chunk(&ChunkReport {
                index,
                after_key: None,
                last_key: last,
                keys: keys.len(),
                created: removed,
                errors: 0,
                elapsed_ms: t0.elapsed().as_secs_f64() * 1e3,
                times: Default::default(),
                chunk_size: self.run.chunk_size,
                processed: self.run.processed,
                total_estimate: None,
                rows_per_sec: if secs > 0.0 {
                    self.run.processed as f64 / secs
                } else {
                    0.0
                },
            });
        }
    }
}

/// The runs an undo removes the rows of: every finished real run of the job
/// on this target for this environment (newest first; those whose rows are
/// already undone have nothing left) — never another environment's keys on
/// this target. Refused while the job has an unfinished run (it would go on
/// creating rows).
pub async fn sources(
    store: &Store,
    plan_id: &str,
    job: &str,
    (target, environment): (&str, &str),
) -> Result<Vec<Run>, BackfillError> {
    if let Some(open) = runs::open_run(store, plan_id, job, Mode::Run).await? {
        return Err(BackfillError::Conflict(
            app::error::Conflict::WrongState,
            format!(
                "run {} of job {job:?} is {}: cancel it (or let it finish) before undoing",
                open.id, open.status
            ),
        ));
    }
    let sources: Vec<Run> = runs::of_plan(store, plan_id)
        .await?
        .into_iter()
        .filter(|r| r.job == job && r.mode == Mode::Run)
        .filter(|r| r.target == target && r.environment == environment)
        .collect();
    if sources.is_empty() {
        return Err(BackfillError::Conflict(
            app::error::Conflict::WrongState,
            format!("job {job:?} has no live run on target {target:?} for {environment} to undo"),
        ));
    }
    Ok(sources)
}
