//! Walking the whole chain: every event's seq, link and hash, then the head.
//! Rows are read in keyset batches; each batch is hashed on the available
//! cores while the next one is fetched.
use app::dto::audit::{ChainReport, ChainStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::chain::{check_link, Break, ChainEvent, GENESIS};
use crate::db::{Store, StoreError};
use crate::system::now_ms;

const BATCH: i64 = 20_000;

struct StoredLink {
    event: ChainEvent,
    prev_hash: String,
    hash: String,
}

fn decode(row: &AnyRow) -> Result<StoredLink, sqlx::Error> {
    Ok(StoredLink {
        event: ChainEvent {
            seq: row.try_get(0)?,
            at_ms: row.try_get(1)?,
            actor_kind: row.try_get(2)?,
            actor_id: row.try_get(3)?,
            actor_name: row.try_get(4)?,
            action: row.try_get(5)?,
            subject: row.try_get(6)?,
            details: row.try_get(7)?,
            client_addr: row.try_get(8)?,
            user_agent: row.try_get(9)?,
        },
        prev_hash: row.try_get(10)?,
        hash: row.try_get(11)?,
    })
}

async fn fetch_batch(store: &Store, after: i64) -> Result<Vec<StoredLink>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor_kind, actor_id, actor_name, action, subject, details, \
         client_addr, user_agent, prev_hash, hash FROM audit_events \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(BATCH)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
}

/// Checks a batch: links between neighbours (cheap, in order) and each hash
/// (the costly part, spread over threads). Returns the first break.
fn check_batch(
    batch: &[StoredLink],
    expected_seq: i64,
    expected_prev: &str,
) -> Option<(i64, Break)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = batch.len().div_ceil(threads).max(1);
    let mut breaks: Vec<(i64, Break)> = std::thread::scope(|scope| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let offset = i * chunk;
                scope.spawn(move || {
                    for (j, link) in part.iter().enumerate() {
                        let index = offset + j;
                        let (want_seq, want_prev) = if index == 0 {
                            (expected_seq, expected_prev)
                        } else {
                            (expected_seq + index as i64, batch[index - 1].hash.as_str())
                        };
                        if let Err(b) = check_link(
                            want_seq,
                            want_prev,
                            &link.event,
                            &link.prev_hash,
                            &link.hash,
                        ) {
                            return Some((want_seq, b));
                        }
                    }
                    None
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("a verify thread panicked"))
            .collect()
    });
    breaks.sort_by_key(|(seq, _)| *seq);
    breaks.into_iter().next()
}

/// Verifies the whole chain. A broken link is a result, not an error; errors
/// are only failures to read.
pub async fn verify(store: &Store) -> Result<ChainReport, StoreError> {
    let started = std::time::Instant::now();
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    let mut checked = 0;
    let mut next = fetch_batch(store, 0).await?;
    let status = loop {
        let batch = next;
        if batch.is_empty() {
            break head_status(store, expected_seq - 1, &prev).await?;
        }
        let last_seq = batch.last().map(|l| l.event.seq).unwrap_or(0);
        // Fetch the next batch while this one is hashed.
        let fetch = fetch_batch(store, last_seq);
        let check = {
            let (seq, prev) = (expected_seq, prev.clone());
            tokio::task::spawn_blocking(move || (check_batch(&batch, seq, &prev), batch))
        };
        let (fetched, checked_batch) = tokio::join!(fetch, check);
        let (found, batch) = checked_batch.expect("verify task panicked");
        if let Some((seq, b)) = found {
            checked += seq - expected_seq;
            break ChainStatus::Broken {
                seq,
                reason: b.describe(),
            };
        }
        checked += batch.len() as i64;
        expected_seq += batch.len() as i64;
        prev = batch.last().map(|l| l.hash.clone()).unwrap_or(prev);
        next = fetched?;
    };
    Ok(ChainReport {
        status,
        events_checked: checked,
        checked_at_ms: now_ms(),
        duration_ms: started.elapsed().as_millis() as i64,
    })
}

/// The head must name the last event: otherwise events were cut off the end.
async fn head_status(
    store: &Store,
    last_seq: i64,
    last_hash: &str,
) -> Result<ChainStatus, StoreError> {
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(store.pool())
            .await?;
    Ok(if head_seq == last_seq && head_hash == last_hash {
        ChainStatus::Intact {
            through_seq: last_seq,
        }
    } else if head_seq > last_seq {
        ChainStatus::Broken {
            seq: last_seq + 1,
            reason: format!(
                "the chain ends at #{last_seq} but its head records #{head_seq}: events were removed from the end"
            ),
        }
    } else {
        ChainStatus::Broken {
            seq: head_seq.max(1),
            reason:
                "the chain head does not match the last event: the head or the event was altered"
                    .to_string(),
        }
    })
}
