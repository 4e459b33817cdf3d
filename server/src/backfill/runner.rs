//! Runs a job: keyset chunks, each applied in its own transaction on the
//! target (rolled back in a dry-run), the keys it created recorded in the
//! console before the target commits, the checkpoint stored after; transient
//! failures retried with back-off; a chunk that keeps failing split until the
//! failing keys are isolated; throttled and adaptively sized; held while
//! its window is closed or its target unhealthy (`hold.rs`). Undo and
//! verify runs are in `undo.rs` and `verify.rs`.
use std::sync::Arc;
use std::time::Instant;

use app::dto::StoreBackend;
use serde_json::{json, Value};
use sqlx::Executor;

use super::control::Control;
use super::created;
use super::error::{is_lock_timeout, is_transient, one_line, with_retries, BackfillError};
use super::job::{ErrorPolicy, Job};
use super::pace::{next_chunk, pause_after};
use super::runs::{self, Mode, Run, RunStatus};
use super::target::Target;
use crate::audit::{self, Actor, ClientInfo};
use crate::db::Store;
use crate::system::now_ms;

/// One committed (or, in a dry-run, rolled back) chunk, for progress output.
#[derive(Debug, Clone)]
pub struct ChunkReport {
    pub index: u64,
    pub after_key: Option<i64>,
    pub last_key: i64,
    pub keys: usize,
    pub created: i64,
    pub errors: i64,
    pub elapsed_ms: f64,
    pub chunk_size: i64,
    pub processed: i64,
    pub total_estimate: Option<i64>,
    pub rows_per_sec: f64,
}

impl ChunkReport {
    pub fn eta_secs(&self) -> Option<f64> {
        let total = self.total_estimate?;
        (self.rows_per_sec > 0.0)
            .then(|| (total - self.processed).max(0) as f64 / self.rows_per_sec)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Paused(String),
    Cancelled,
    Failed(String),
}

enum ApplyError {
    /// The rows themselves fail (a constraint, bad data): split to isolate.
    Data(String),
    /// Retries did not cure it: stop, resumable.
    Gave(String),
    /// A lock held elsewhere blocked the chunk past `lock_timeout`, in a job
    /// with a throttle: wait and try again, however long it takes.
    Locked(String),
    /// The console's own store failed: stop.
    Console(crate::db::StoreError),
}

pub struct Runner {
    /// Set when the server runs the job (the CLI has no /metrics); with the
    /// plan's name for the `plan` label.
    pub metrics: Option<(super::metrics::BackfillMetrics, String)>,
    pub store: Store,
    pub target: Target,
    pub job: Job,
    pub run: Run,
    pub actor: Actor,
    pub client: ClientInfo,
    pub control: Arc<Control>,
    /// The plans' clock: a job's window is judged on it.
    pub clock: crate::clock::Clock,
    /// The target's health, for the job's throttle, and when it was last
    /// read healthy.
    pub health: super::health::Health,
    pub health_read_at: Option<Instant>,
    /// Since when a lock held elsewhere has blocked its chunks.
    pub locked_since: Option<i64>,
}

impl Runner {
    /// Marks the run failed (an error stopped it), with its audit event.
    pub async fn fail(&mut self, result: Value) -> Result<(), BackfillError> {
        self.finish(RunStatus::Failed, result).await
    }

    /// Ends the run with its status and audit event.
    pub(super) async fn finish(
        &mut self,
        status: RunStatus,
        result: Value,
    ) -> Result<(), BackfillError> {
        let mut tx = self.store.begin_write().await?;
        runs::set_status(&mut tx, &self.run, status, &result).await?;
        audit::append(
            &mut tx,
            now_ms(),
            &self.actor,
            &self.client,
            &format!(
                "backfill.{}",
                match status {
                    RunStatus::Done => "finish",
                    RunStatus::Paused => "pause",
                    RunStatus::Cancelled => "cancel",
                    RunStatus::Running | RunStatus::Failed => "fail",
                }
            ),
            &format!("plan:{}", self.run.plan_id),
            json!({
                "job": self.job.name, "run": self.run.id, "mode": self.run.mode.as_str(),
                "processed": self.run.processed, "created": self.run.created,
                "skipped": self.run.skipped, "errors": self.run.errors,
                "last_key": self.run.last_key, "result": result,
            }),
        )
        .await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        if let Some((m, plan)) = &self.metrics {
            m.state(plan, &self.job.name, status);
        }
        self.run.status = status;
        self.run.result = result;
        Ok(())
    }

    /// The next chunk's last key and size (`None` when no key is left).
    async fn fetch_bounds(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Option<(i64, i64)>, BackfillError> {
        let bounds = with_retries(|| {
            sqlx::query_as::<_, (Option<i64>, i64)>(&self.job.bounds)
                .bind(after)
                .bind(limit)
                .fetch_one(&self.target.read_pool)
        })
        .await
        .map_err(|e| self.read_error(after, &e))?;
        Ok(match bounds {
            (Some(last), n) if n > 0 => Some((last, n)),
            _ => None,
        })
    }

    async fn fetch_keys(&self, after: i64, limit: i64) -> Result<Vec<i64>, BackfillError> {
        with_retries(|| {
            sqlx::query_scalar::<_, i64>(&self.job.select)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.target.read_pool)
        })
        .await
        .map_err(|e| self.read_error(after, &e))
    }

    fn read_error(&self, after: i64, e: &sqlx::Error) -> BackfillError {
        BackfillError::Target {
            target: self.target.name.clone(),
            message: format!("reading keys after {after}: {}", one_line(e)),
        }
    }

    /// Applies `after < key <= last` once, in a transaction with timeouts.
    /// The outer error is the target's; the inner one the console's (the
    /// created keys could not be recorded, so the chunk was not committed).
    async fn apply_once(
        &self,
        after: i64,
        last: i64,
        dry_run: bool,
    ) -> Result<Result<Vec<i64>, crate::db::StoreError>, sqlx::Error> {
        let mut tx = self.target.pool.begin().await?;
        if self.target.backend() == StoreBackend::Postgres {
            tx.execute(super::target::timeouts(super::target::READ_LIMIT).as_str())
                .await?;
        }
        let created: Vec<i64> = if self.target.backend() == StoreBackend::Postgres {
            // The created keys come back as one text value, not a row each
            // (decoding rows one by one cost more than the insert itself).
            let listed: String = sqlx::query_scalar(&self.job.apply_listing_keys)
                .bind(after)
                .bind(last)
                .fetch_one(&mut *tx)
                .await?;
            listed.split(',').filter_map(|k| k.parse().ok()).collect()
        } else {
            sqlx::query_scalar(&self.job.apply)
                .bind(after)
                .bind(last)
                .fetch_all(&mut *tx)
                .await?
        };
        if dry_run {
            tx.rollback().await?;
        } else {
            if let Err(e) = created::record_created(&self.store, &self.run.id, &created).await {
                return Ok(Err(e));
            }
            tx.commit().await?;
        }
        Ok(Ok(created))
    }

    async fn apply(&self, after: i64, last: i64, dry_run: bool) -> Result<Vec<i64>, ApplyError> {
        if !self.job.throttle.is_empty() {
            match self.apply_once(after, last, dry_run).await {
                Ok(Ok(created)) => return Ok(created),
                Ok(Err(console)) => return Err(ApplyError::Console(console)),
                Err(e) if is_lock_timeout(&e) => {
                    return Err(ApplyError::Locked(format!(
                    "keys {after}..={last} waited too long for a lock held by another session: {}",
                    one_line(&e)
                )))
                }
                // Anything else: the usual retries.
                Err(_) => {}
            }
        }
        match with_retries(|| self.apply_once(after, last, dry_run)).await {
            Ok(Ok(created)) => Ok(created),
            Ok(Err(console)) => Err(ApplyError::Console(console)),
            Err(e) if is_transient(&e) => Err(ApplyError::Gave(format!(
                "keys {after}..={last}: still failing after retries: {}",
                one_line(&e)
            ))),
            Err(e) => Err(ApplyError::Data(one_line(&e))),
        }
    }

    /// Runs (or dry-runs) until done, paused, cancelled or failed, calling
    /// `on_chunk` after each checkpoint.
    pub async fn run(
        &mut self,
        mut on_chunk: impl FnMut(&ChunkReport),
    ) -> Result<Outcome, BackfillError> {
        let dry_run = self.run.mode == Mode::DryRun;
        let started = Instant::now();
        let processed_at_start = self.run.processed;
        let mut index = 0u64;
        loop {
            let (chunk, rate) = self.control.take_tune();
            if let Some(c) = chunk {
                self.run.chunk_size = c;
                self.job.fixed_chunk = true;
            }
            if let Some(r) = rate {
                self.run.max_rows_per_sec = r;
            }
            if let Some(outcome) = self.hold().await? {
                return Ok(outcome);
            }
            // A pause or cancel asked for, or a pause from elsewhere (an
            // emergency rollback): stop here.
            if let Some(outcome) = self.steered().await? {
                return Ok(outcome);
            }
            let after = self.run.last_key.unwrap_or(i64::MIN);
            let bounds = match self.fetch_bounds(after, self.run.chunk_size).await {
                Ok(b) => b,
                Err(e) => {
                    let reason = e.to_string();
                    self.finish(RunStatus::Paused, json!({ "reason": reason }))
                        .await?;
                    return Ok(Outcome::Paused(reason));
                }
            };
            let Some((last, count)) = bounds else {
                let result = json!({ "created": self.run.created, "errors": self.run.errors, "dry_run": dry_run });
                self.finish(RunStatus::Done, result).await?;
                return Ok(Outcome::Done);
            };
            let t0 = Instant::now();
            let mut created = 0i64;
            let mut errors = 0i64;
            // Ranges to apply: (after, last, the keys when known).
            let mut stack: Vec<(i64, i64, Option<Vec<i64>>)> = vec![(after, last, None)];
            while let Some((lo, hi, known)) = stack.pop() {
                match self.apply(lo, hi, dry_run).await {
                    Ok(c) => created += c.len() as i64,
                    Err(ApplyError::Console(e)) => return Err(e.into()),
                    Err(ApplyError::Locked(why)) => {
                        stack.push((lo, hi, known));
                        if let Some(outcome) = self.blocked(why).await? {
                            return Ok(outcome);
                        }
                    }
                    Err(ApplyError::Gave(reason)) => {
                        self.finish(RunStatus::Paused, json!({ "reason": reason }))
                            .await?;
                        return Ok(Outcome::Paused(reason));
                    }
                    Err(ApplyError::Data(msg)) => {
                        // Only a failing range needs its keys: to name and split them.
                        let part = match known {
                            Some(keys) => keys,
                            None => self
                                .fetch_keys(lo, count)
                                .await?
                                .into_iter()
                                .filter(|k| *k <= hi)
                                .collect(),
                        };
                        if part.is_empty() {
                            return Err(BackfillError::Invalid(format!(
                                "keys {lo}..={hi} failed ({msg}) but the keyset query finds none of them"
                            )));
                        }
                        match self.job.policy {
                            ErrorPolicy::Pause => {
                                runs::record_error(&self.store, &self.run.id, part[0], &msg)
                                    .await?;
                                self.run.errors += 1;
                                let reason = format!("keys {}..={hi} failed: {msg}", part[0]);
                                self.finish(RunStatus::Paused, json!({ "reason": reason }))
                                    .await?;
                                return Ok(Outcome::Paused(reason));
                            }
                            ErrorPolicy::Rollback => {
                                runs::record_error(&self.store, &self.run.id, part[0], &msg)
                                    .await?;
                                self.run.errors += 1;
                                let undo = !dry_run && self.job.undo.is_some();
                                let reason = format!(
                                    "keys {}..={hi} failed: {msg}; {}",
                                    part[0],
                                    if undo {
                                        "what the run created is being undone"
                                    } else {
                                        "the job has no undo statement: nothing was undone"
                                    }
                                );
                                self.finish(RunStatus::Failed, json!({ "reason": reason }))
                                    .await?;
                                if undo {
                                    self.roll_back().await?;
                                }
                                return Ok(Outcome::Failed(reason));
                            }
                            ErrorPolicy::Skip if part.len() == 1 => {
                                runs::record_error(&self.store, &self.run.id, part[0], &msg)
                                    .await?;
                                errors += 1;
                            }
                            ErrorPolicy::Skip => {
                                let mid = part.len() / 2;
                                let (left, right) = part.split_at(mid);
                                let split = left[left.len() - 1];
                                // Left first: the stack pops the last pushed.
                                stack.push((split, hi, Some(right.to_vec())));
                                stack.push((lo, split, Some(left.to_vec())));
                            }
                        }
                    }
                }
            }
            self.unblocked().await?;
            let elapsed = t0.elapsed();
            self.run.last_key = Some(last);
            self.run.processed += count;
            self.run.created += created;
            self.run.errors += errors;
            self.run.skipped = self.run.processed - self.run.created - self.run.errors;
            let size = self.run.chunk_size;
            if !self.job.fixed_chunk {
                self.run.chunk_size =
                    next_chunk(size, elapsed.as_secs_f64() * 1e3, self.job.target_chunk_ms);
            }
            runs::checkpoint(&self.store, &self.run).await?;
            if let Some((m, plan)) = &self.metrics {
                let skipped = count - created - errors;
                let made = if dry_run { "would_create" } else { "created" };
                m.chunk(
                    plan,
                    &self.job.name,
                    [(made, created), ("skipped", skipped), ("error", errors)],
                    elapsed.as_secs_f64(),
                );
            }
            index += 1;
            let secs = started.elapsed().as_secs_f64();
            on_chunk(&ChunkReport {
                index,
                after_key: (after != i64::MIN).then_some(after),
                last_key: last,
                keys: count as usize,
                created,
                errors,
                elapsed_ms: elapsed.as_secs_f64() * 1e3,
                chunk_size: size,
                processed: self.run.processed,
                total_estimate: self.run.total_estimate,
                rows_per_sec: if secs > 0.0 {
                    (self.run.processed - processed_at_start) as f64 / secs
                } else {
                    0.0
                },
            });
            if self.job.policy == ErrorPolicy::Skip && self.run.processed > 0 {
                let pct = self.run.errors as f64 * 100.0 / self.run.processed as f64;
                if self.run.errors > 0 && pct > self.job.error_threshold_pct {
                    let reason = format!(
                        "{:.2} % of keys failed, above the threshold of {} %",
                        pct, self.job.error_threshold_pct
                    );
                    self.finish(RunStatus::Paused, json!({ "reason": reason }))
                        .await?;
                    return Ok(Outcome::Paused(reason));
                }
            }
            let wait = pause_after(count, elapsed, self.run.max_rows_per_sec, self.job.pause_ms);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}
