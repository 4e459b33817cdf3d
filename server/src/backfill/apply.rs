//! One chunk applied on the target: the plan's statement over the chunk's
//! key range in a transaction with timeouts, the created keys recorded in
//! the console before the commit, each step timed.
//!
//! With the `skip` error policy every range runs under a savepoint, so a
//! failing row costs only its own range: that range is rolled back to its
//! savepoint and split by its keys until the failing keys stand alone,
//! while every other range stays applied once, in the same transaction. A
//! job that has met failing rows starts its next chunks already split
//! (`Runner::parts`), so a range seldom fails and little is applied twice.
//! A transaction takes at most `SAVEPOINTS` ranges — PostgreSQL keeps 64
//! subtransactions a session in shared memory, past that every other
//! session's snapshot reads `pg_subtrans` — and the chunk's other ranges go
//! in its next transaction.
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use app::dto::StoreBackend;
use sqlx::Executor;

use super::chunk::{ApplyError, ChunkTimes};
use super::created;
use super::error::{
    is_lock_timeout, is_transient, is_unique_violation, one_line, BackfillError, RETRIES,
};
use super::job::ErrorPolicy;
use super::runner::Runner;

const SAVEPOINTS: usize = 48;
/// A failing range is split in this many parts, each tried on its own.
const SPLIT: usize = 8;

/// What a chunk did: keys created, keys whose rows failed (each with its
/// error), and its times.
#[derive(Debug, Default)]
pub(super) struct Applied {
    pub created: i64,
    pub failed: Vec<(i64, String)>,
    pub times: ChunkTimes,
}

/// Keys after `after` up to and including `last`, and the keys themselves
/// once they were read (to split the range).
#[derive(Debug, Clone)]
struct Range {
    after: i64,
    last: i64,
    keys: Option<Vec<i64>>,
    /// Tried again once already after a unique violation.
    again: bool,
}

/// The chunk `(after, last]` whose first key is `first`, in `parts` ranges
/// of about equal key span.
fn spans(after: i64, first: i64, last: i64, parts: usize) -> VecDeque<Range> {
    let from = i128::from(first) - 1;
    let width = i128::from(last) - from;
    let parts = (parts.max(1) as i128).min(width.max(1));
    let mut out = VecDeque::new();
    let mut lo = after;
    for i in 1..=parts {
        let hi = if i == parts {
            i128::from(last)
        } else {
            from + width * i / parts
        };
        if hi > i128::from(lo) {
            out.push_back(Range {
                after: lo,
                last: hi as i64,
                keys: None,
                again: false,
            });
            lo = hi as i64;
        }
    }
    out
}

/// `keys` in `SPLIT` ranges of about equal count, in key order.
fn split(after: i64, keys: &[i64]) -> Vec<Range> {
    let size = keys.len().div_ceil(SPLIT).max(1);
    let mut lo = after;
    keys.chunks(size)
        .map(|part| {
            let range = Range {
                after: lo,
                last: part[part.len() - 1],
                keys: Some(part.to_vec()),
                again: false,
            };
            lo = range.last;
            range
        })
        .collect()
}

/// How a transaction of a chunk ended when it did not commit.
enum TxError {
    Target(sqlx::Error),
    Stop(BackfillError),
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> Self {
        TxError::Target(e)
    }
}

impl Runner {
    /// Applies `after < key <= last` (`first` its first key, `count` its
    /// number of keys), split in `parts` ranges when the job skips failing
    /// rows. A lock held elsewhere makes a job with a throttle wait
    /// (`blocked`) and try the transaction again; a transient failure is
    /// retried with back-off.
    pub(super) async fn apply_chunk(
        &mut self,
        (after, first, last, count): (i64, i64, i64, i64),
        parts: usize,
        dry_run: bool,
    ) -> Result<Applied, ApplyError> {
        let isolate = self.job.policy == ErrorPolicy::Skip;
        let mut queue = if isolate {
            spans(after, first, last, parts)
        } else {
            VecDeque::from([Range {
                after,
                last,
                keys: None,
                again: false,
            }])
        };
        // Keys per unit of key span, to read a failing range's keys in a
        // page or two.
        let density = count as f64 / ((i128::from(last) - i128::from(first) + 1) as f64).max(1.0);
        let mut applied = Applied::default();
        let mut attempt = 0;
        while !queue.is_empty() {
            let before = queue.clone();
            let mut step = Applied::default();
            let failed = match self
                .transaction(&mut queue, isolate, (density, count), dry_run, &mut step)
                .await
            {
                Ok(()) => {
                    applied.created += step.created;
                    applied.failed.append(&mut step.failed);
                    let (t, s) = (&mut applied.times, step.times);
                    t.hold_ms = t.hold_ms.max(s.hold_ms);
                    t.statement_ms += s.statement_ms;
                    t.record_ms += s.record_ms;
                    t.commit_ms += s.commit_ms;
                    attempt = 0;
                    continue;
                }
                Err(TxError::Stop(e)) => return Err(ApplyError::Stop(e)),
                Err(TxError::Target(e)) => e,
            };
            queue = before;
            if is_lock_timeout(&failed) && !self.job.throttle.is_empty() {
                let why = format!(
                    "keys {after}..={last} waited too long for a lock held by another session: {}",
                    one_line(&failed)
                );
                if let Some(outcome) = self.blocked(why).await? {
                    return Err(ApplyError::Ended(outcome));
                }
            } else if is_transient(&failed) && attempt < RETRIES {
                tracing::warn!(attempt, error = %failed, "transient target error; retrying");
                tokio::time::sleep(super::pace::backoff(attempt)).await;
                attempt += 1;
            } else if is_transient(&failed) {
                return Err(ApplyError::Gave(format!(
                    "keys {after}..={last}: still failing after retries: {}",
                    one_line(&failed)
                )));
            } else {
                return Err(ApplyError::Data {
                    first,
                    message: one_line(&failed),
                });
            }
        }
        Ok(applied)
    }

    /// One transaction of a chunk: ranges from the front of `queue` (at
    /// most `SAVEPOINTS` of them when isolating), its created keys recorded,
    /// committed (rolled back in a dry-run). On an error `queue` is left
    /// part-way: the caller puts it back.
    async fn transaction(
        &self,
        queue: &mut VecDeque<Range>,
        isolate: bool,
        (density, count): (f64, i64),
        dry_run: bool,
        out: &mut Applied,
    ) -> Result<(), TxError> {
        let t0 = Instant::now();
        let mut statement = Duration::ZERO;
        let mut tx = self.target.pool.begin().await?;
        if self.target.backend() == StoreBackend::Postgres {
            tx.execute(super::target::timeouts(super::target::READ_LIMIT).as_str())
                .await?;
        }
        let mut created = Vec::new();
        let mut taken = 0;
        while taken < SAVEPOINTS {
            let Some(range) = queue.pop_front() else {
                break;
            };
            taken += 1;
            if !isolate {
                let t = Instant::now();
                created.extend(self.statement(&mut tx, range.after, range.last).await?);
                statement += t.elapsed();
                continue;
            }
            tx.execute("SAVEPOINT chunk_range").await?;
            let t = Instant::now();
            let result = self.statement(&mut tx, range.after, range.last).await;
            statement += t.elapsed();
            match result {
                Ok(keys) => created.extend(keys),
                Err(e) if is_transient(&e) => return Err(e.into()),
                Err(e) => {
                    tx.execute("ROLLBACK TO SAVEPOINT chunk_range").await?;
                    let keys = match &range.keys {
                        Some(keys) => keys.clone(),
                        None => {
                            let span = (i128::from(range.last) - i128::from(range.after)) as f64;
                            let page = ((span.min(1e12) * density * 1.25) as i64 + 16).min(count);
                            self.keys_between(range.after, range.last, page).await?
                        }
                    };
                    match keys.len() {
                        0 => {
                            return Err(TxError::Stop(BackfillError::Invalid(format!(
                                "keys {}..={} failed ({}) but the keyset query finds none of them",
                                range.after.saturating_add(1),
                                range.last,
                                one_line(&e)
                            ))))
                        }
                        // A unique violation on one key: most likely the
                        // application wrote that row while the statement
                        // ran; tried once more, the statement skips it.
                        1 if !range.again && is_unique_violation(&e) => {
                            queue.push_front(Range {
                                keys: Some(keys),
                                again: true,
                                ..range
                            });
                        }
                        1 => out.failed.push((keys[0], one_line(&e))),
                        _ => {
                            for part in split(range.after, &keys).into_iter().rev() {
                                queue.push_front(part);
                            }
                        }
                    }
                }
            }
        }
        out.times.statement_ms = statement.as_secs_f64() * 1e3;
        if dry_run {
            tx.rollback().await?;
        } else {
            let t = Instant::now();
            created::record_created(&self.store, &self.run.id, &created)
                .await
                .map_err(|e| TxError::Stop(e.into()))?;
            out.times.record_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            tx.commit().await?;
            out.times.commit_ms = t.elapsed().as_secs_f64() * 1e3;
        }
        out.times.hold_ms = t0.elapsed().as_secs_f64() * 1e3;
        out.created = created.len() as i64;
        Ok(())
    }

    /// The plan's statement over `after < key <= last`: the keys it created.
    async fn statement(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        after: i64,
        last: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        if self.target.backend() == StoreBackend::Postgres {
            // The created keys come back as one text value, not a row each
            // (decoding rows one by one cost more than the insert itself).
            let listed: String = sqlx::query_scalar(&self.job.apply_listing_keys)
                .bind(after)
                .bind(last)
                .fetch_one(&mut **tx)
                .await?;
            Ok(listed.split(',').filter_map(|k| k.parse().ok()).collect())
        } else {
            sqlx::query_scalar(&self.job.apply)
                .bind(after)
                .bind(last)
                .fetch_all(&mut **tx)
                .await
        }
    }

    /// The keys after `after` up to `last`, read in pages of `page` keys.
    async fn keys_between(
        &self,
        after: i64,
        last: i64,
        page_size: i64,
    ) -> Result<Vec<i64>, TxError> {
        let mut keys = Vec::new();
        let mut from = after;
        loop {
            let page = self
                .fetch_keys(from, page_size)
                .await
                .map_err(TxError::Stop)?;
            let full = page.len() as i64 == page_size;
            keys.extend(page.iter().copied().take_while(|k| *k <= last));
            match page.last() {
                Some(&k) if full && k < last => from = k,
                _ => return Ok(keys),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(q: &VecDeque<Range>) -> Vec<(i64, i64)> {
        q.iter().map(|r| (r.after, r.last)).collect()
    }

    #[test]
    fn a_chunk_is_cut_in_ranges_that_cover_it_once() {
        assert_eq!(bounds(&spans(i64::MIN, 1, 100, 1)), vec![(i64::MIN, 100)]);
        assert_eq!(
            bounds(&spans(0, 1, 100, 4)),
            vec![(0, 25), (25, 50), (50, 75), (75, 100)]
        );
        // The first range starts where the chunk does, whatever its first key.
        assert_eq!(
            bounds(&spans(i64::MIN, 11, 20, 2)),
            vec![(i64::MIN, 15), (15, 20)]
        );
        // Never more ranges than keys in the span.
        assert_eq!(bounds(&spans(4, 5, 6, 8)), vec![(4, 5), (5, 6)]);
        assert_eq!(
            bounds(&spans(i64::MAX - 2, i64::MAX - 1, i64::MAX, 3)).len(),
            2
        );
    }

    #[test]
    fn a_failing_range_splits_by_its_keys() {
        let keys: Vec<i64> = (1..=20).map(|k| k * 3).collect();
        let parts = split(0, &keys);
        assert_eq!(parts.len(), 7, "20 keys in parts of 3");
        assert_eq!(parts[0].after, 0);
        for pair in parts.windows(2) {
            assert_eq!(pair[0].last, pair[1].after, "ranges meet");
        }
        assert_eq!(parts.last().unwrap().last, 60);
        let all: Vec<i64> = parts.iter().flat_map(|p| p.keys.clone().unwrap()).collect();
        assert_eq!(all, keys);
        assert_eq!(split(7, &[8, 9]).len(), 2);
    }
}
