//! Runs a job: keyset chunks, each applied in its own transaction on the
//! target (`apply.rs`: rolled back in a dry-run, the keys it created
//! recorded in the console before the target commits, failing keys
//! isolated), the checkpoint stored after; the next chunk's bounds read
//! while a chunk applies; throttled and sized to hold the target's locks
//! about `target_chunk_ms`; held while its window is closed or its target
//! unhealthy (`hold.rs`). Undo and verify runs are in `undo.rs` and
//! `verify.rs`.
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use super::chunk::{ApplyError, ChunkTimes};
use super::control::Control;
use super::error::{one_line, with_retries, BackfillError};
use super::job::{ErrorPolicy, Job};
use super::pace::{next_chunk, pause_after, smoothed_rate};
pub use super::runs::Outcome;
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
    /// How long the chunk held the target's locks.
    pub elapsed_ms: f64,
    /// Where its time went (zeros where a step did not happen).
    pub times: ChunkTimes,
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

    /// The bounds of the chunk after `after` of at most `limit` keys, read
    /// now (when none were read while the chunk before applied).
    async fn fetch_bounds(&self, after: i64, limit: i64) -> Result<Bounds, BackfillError> {
        read_bounds(
            self.target.read_pool.clone(),
            self.job.bounds.clone(),
            after,
            limit,
        )
        .await
        .map_err(|e| self.read_error(after, &e))
    }

    pub(super) async fn fetch_keys(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>, BackfillError> {
        with_retries(|| {
            sqlx::query_scalar::<_, i64>(&self.job.select)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.target.read_pool)
        })
        .await
        .map_err(|e| self.read_error(after, &e))
    }

    /// How many ranges a chunk of `count` keys is cut in (`apply.rs`): one
    /// until the run meets a failing row, then enough that about one range
    /// in five holds one at the rate seen so far (at most 32, leaving a
    /// transaction savepoints to isolate with).
    fn parts(&self, count: i64) -> usize {
        if self.job.policy != ErrorPolicy::Skip || self.run.errors == 0 || self.run.processed == 0 {
            return 1;
        }
        let expected = count as f64 * self.run.errors as f64 / self.run.processed as f64;
        (expected * 5.0).ceil().clamp(1.0, 32.0) as usize
    }

    fn read_error(&self, after: i64, e: &sqlx::Error) -> BackfillError {
        BackfillError::Target {
            target: self.target.name.clone(),
            message: format!("reading keys after {after}: {}", one_line(e)),
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
        let mut prefetch: Option<(i64, i64, Prefetch)> = None;
        // Keys a millisecond of lock hold, smoothed over the chunks so far:
        // sizes the chunk after next.
        let mut pace: Option<f64> = None;
        loop {
            let (chunk, rate) = self.control.take_tune();
            if let Some(c) = chunk {
                self.run.chunk_size = c;
                self.job.fixed_chunk = true;
                pace = None;
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
            let size = self.run.chunk_size;
            // The bounds read while the chunk before applied, if they are
            // for this chunk and size; else read now.
            let read = match prefetch.take() {
                Some((from, limit, handle)) if from == after && limit == size => handle
                    .await
                    .unwrap_or_else(|e| Err(sqlx::Error::Protocol(e.to_string())))
                    .map_err(|e| self.read_error(after, &e)),
                _ => self.fetch_bounds(after, size).await,
            };
            let ((first, last, count), bounds_ms) = match read {
                Ok((Some(b), ms)) => (b, ms),
                Ok((None, _)) => {
                    let result = json!({ "created": self.run.created, "errors": self.run.errors, "dry_run": dry_run });
                    self.finish(RunStatus::Done, result).await?;
                    return Ok(Outcome::Done);
                }
                Err(e) => {
                    let reason = e.to_string();
                    self.finish(RunStatus::Paused, json!({ "reason": reason }))
                        .await?;
                    return Ok(Outcome::Paused(reason));
                }
            };
            // The size after this chunk, from the last chunk's pace, so the
            // next chunk's bounds can be read while this one applies.
            if !self.job.fixed_chunk {
                if let Some(rate) = pace {
                    self.run.chunk_size = next_chunk(size, rate, self.job.target_chunk_ms);
                }
            }
            prefetch = Some((
                last,
                self.run.chunk_size,
                tokio::spawn(read_bounds(
                    self.target.read_pool.clone(),
                    self.job.bounds.clone(),
                    last,
                    self.run.chunk_size,
                )),
            ));
            let applied = match self
                .apply_chunk((after, first, last, count), self.parts(count), dry_run)
                .await
            {
                Ok(applied) => applied,
                Err(ApplyError::Stop(e)) => return Err(e),
                Err(ApplyError::Ended(outcome)) => return Ok(outcome),
                Err(ApplyError::Gave(reason)) => {
                    self.finish(RunStatus::Paused, json!({ "reason": reason }))
                        .await?;
                    return Ok(Outcome::Paused(reason));
                }
                Err(ApplyError::Data { first, message }) => {
                    runs::record_error(&self.store, &self.run.id, first, &message).await?;
                    self.run.errors += 1;
                    let failed = format!("keys {first}..={last} failed: {message}");
                    return if self.job.policy == ErrorPolicy::Rollback {
                        let undo = !dry_run && self.job.undo.is_some();
                        let reason = format!(
                            "{failed}; {}",
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
                        Ok(Outcome::Failed(reason))
                    } else {
                        self.finish(RunStatus::Paused, json!({ "reason": failed }))
                            .await?;
                        Ok(Outcome::Paused(failed))
                    };
                }
            };
            for (key, message) in &applied.failed {
                runs::record_error(&self.store, &self.run.id, *key, message).await?;
            }
            self.unblocked().await?;
            let mut times = applied.times;
            times.bounds_ms = bounds_ms;
            let (created, errors) = (applied.created, applied.failed.len() as i64);
            pace = smoothed_rate(pace, count, times.hold_ms);
            self.run.last_key = Some(last);
            self.run.processed += count;
            self.run.created += created;
            self.run.errors += errors;
            self.run.skipped = self.run.processed - self.run.created - self.run.errors;
            let t = Instant::now();
            runs::checkpoint(&self.store, &self.run).await?;
            times.checkpoint_ms = t.elapsed().as_secs_f64() * 1e3;
            if let Some((m, plan)) = &self.metrics {
                let skipped = count - created - errors;
                let made = if dry_run { "would_create" } else { "created" };
                m.chunk(
                    plan,
                    &self.job.name,
                    [(made, created), ("skipped", skipped), ("error", errors)],
                    &times,
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
                elapsed_ms: times.hold_ms,
                times,
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
            let wait = pause_after(
                count,
                std::time::Duration::from_secs_f64(times.hold_ms / 1e3),
                self.run.max_rows_per_sec,
                self.job.pause_ms,
            );
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// A chunk's bounds — its first key, last key and number of keys (`None`
/// when no key is left) — and how long reading them took (ms).
type Bounds = (Option<(i64, i64, i64)>, f64);
type Prefetch = tokio::task::JoinHandle<Result<Bounds, sqlx::Error>>;

/// Reads the bounds of the chunk after `after` of at most `limit` keys,
/// timed; owned arguments, so the next chunk's can be read on a task of
/// its own while one applies.
async fn read_bounds(
    pool: sqlx::AnyPool,
    sql: String,
    after: i64,
    limit: i64,
) -> Result<Bounds, sqlx::Error> {
    let t = Instant::now();
    let row = with_retries(|| {
        sqlx::query_as::<_, (Option<i64>, Option<i64>, i64)>(&sql)
            .bind(after)
            .bind(limit)
            .fetch_one(&pool)
    })
    .await?;
    let bounds = match row {
        (Some(first), Some(last), n) if n > 0 => Some((first, last, n)),
        _ => None,
    };
    Ok((bounds, t.elapsed().as_secs_f64() * 1e3))
}
