//! Walking the whole chain: every event's seq, link and hash, then the head.
//! Each backend reads the rows in seq order the fastest way it has (one
//! statement, no per-row driver machinery): rusqlite on SQLite, `COPY … TO
//! STDOUT` on PostgreSQL. Both feed the same [`Walk`].
pub mod offline;
mod postgres;
mod sqlite;

use std::time::Instant;

use app::dto::audit::{ChainReport, ChainStatus};

use super::anchor;
use super::chain::{check_link, Break, EventRef, LinkHasher, GENESIS};
use crate::db::{Store, StoreError, StoreUrl};
use crate::system::now_ms;

/// The rows up to `through` (the head read before the walk), in chain order.
/// `through` comes from the database as an integer, never from a user.
fn rows_sql(through: i64) -> String {
    format!(
        "SELECT seq, at_ms, actor_kind, actor_id, actor_name, action, subject, details, \
         client_addr, user_agent, prev_hash, hash FROM audit_events WHERE seq <= {through} ORDER BY seq"
    )
}

/// The walk so far: what the next event must be, and the first break.
struct Walk {
    hasher: LinkHasher,
    expected_seq: i64,
    prev_hash: String,
    broken: Option<(i64, Break)>,
}

impl Walk {
    fn new() -> Self {
        Walk {
            hasher: LinkHasher::default(),
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            broken: None,
        }
    }

    /// Checks the next stored event; false once the chain is broken (stop).
    fn step(&mut self, event: &EventRef<'_>, stored_prev: &str, stored_hash: &str) -> bool {
        if let Err(b) = check_link(
            &mut self.hasher,
            self.expected_seq,
            &self.prev_hash,
            event,
            stored_prev,
            stored_hash,
        ) {
            self.broken = Some((self.expected_seq, b));
            return false;
        }
        self.prev_hash.clear();
        self.prev_hash.push_str(stored_hash);
        self.expected_seq += 1;
        true
    }
}

/// Verifies the whole chain. A broken link is a result, not an error; errors
/// are only failures to read.
pub async fn verify(store: &Store) -> Result<ChainReport, StoreError> {
    verify_with(store, true).await
}

/// The walk without the anchor: does the chain hold in itself? What `audit
/// verify --reanchor` asks before it anchors the chain anew.
pub async fn verify_unanchored(store: &Store) -> Result<ChainReport, StoreError> {
    verify_with(store, false).await
}

async fn verify_with(store: &Store, anchored: bool) -> Result<ChainReport, StoreError> {
    let started = Instant::now();
    let read_error = |e: String| StoreError::Connect {
        location: store.location(),
        source: sqlx::Error::Protocol(format!("reading the audit trail: {e}")),
    };
    // The head first: events appended while the walk runs are after it and
    // not part of this check, so a busy trail never looks cut off.
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(store.pool())
            .await?;
    let sql = rows_sql(head_seq);
    let walk = match store.url() {
        StoreUrl::Sqlite { path } => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || sqlite::walk(&path, &sql))
                .await
                .expect("the verify walk panicked")
                .map_err(|e| read_error(e.to_string()))?
        }
        StoreUrl::Postgres { .. } => postgres::walk(&store.url().connect_url(), &sql)
            .await
            .map_err(|e| read_error(e.to_string()))?,
    };
    let status = match walk.broken {
        Some((seq, b)) => ChainStatus::Broken {
            seq,
            reason: b.describe(),
        },
        None => match head_status(head_seq, &head_hash, walk.expected_seq - 1, &walk.prev_hash) {
            ChainStatus::Intact { through_seq } if anchored => {
                anchored_status(store, head_seq, through_seq).await?
            }
            broken => broken,
        },
    };
    Ok(ChainReport {
        status,
        // Every event before the expected one held.
        events_checked: walk.expected_seq - 1,
        checked_at_ms: now_ms(),
        duration_ms: started.elapsed().as_millis() as i64,
    })
}

/// An intact chain must also hold the head anchored outside the store.
async fn anchored_status(
    store: &Store,
    head_seq: i64,
    through_seq: i64,
) -> Result<ChainStatus, StoreError> {
    let path = match anchor::path_for(store).await {
        Ok(p) => p,
        Err(reason) => {
            return Ok(ChainStatus::Broken {
                seq: head_seq.max(1),
                reason,
            })
        }
    };
    let problem = match anchor::read(&path) {
        // A store with events always has its anchor (written when it was
        // new): a missing one was removed.
        Ok(None) if head_seq > 0 => Some((head_seq, anchor::missing(&path))),
        Ok(None) => None,
        Ok(Some(a)) => anchor::contradiction(store, &a, head_seq)
            .await?
            .map(|reason| (a.seq, reason)),
        Err(reason) => Some((
            head_seq.max(1),
            format!("{reason}; {}", anchor::missing(&path)),
        )),
    };
    Ok(match problem {
        None => ChainStatus::Intact { through_seq },
        Some((seq, reason)) => ChainStatus::Broken { seq, reason },
    })
}

/// The head must name the last event: otherwise events were cut off the end.
fn head_status(head_seq: i64, head_hash: &str, last_seq: i64, last_hash: &str) -> ChainStatus {
    if head_seq == last_seq && head_hash == last_hash {
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
    }
}
