//! Events past an endpoint's cursor → its deliveries, in one transaction
//! with the cursor's move, so an event is never skipped nor added twice
//! (a second instance that read the same events loses the cursor race and
//! rolls back).
use crate::audit::cursor;
use crate::audit::query::{oldest_first, AuditFilter};
use crate::db::{Store, StoreError};

use super::endpoint::Endpoint;
use super::store;

/// Events read per transaction.
const BATCH: i64 = 500;

pub(super) async fn fan_out(db: &Store, endpoint: &Endpoint) -> Result<(), StoreError> {
    let mut conn = db.pool().acquire().await?;
    let Some(from) = cursor::get(&mut conn, &endpoint.name).await? else {
        // A new endpoint hears what happens from now on.
        let head = crate::audit::query::head_seq(db).await?;
        cursor::begin(&mut conn, &endpoint.name, head).await?;
        return Ok(());
    };
    drop(conn);
    let events = oldest_first(db, &AuditFilter::default(), from, BATCH).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(());
    };
    let now = crate::system::now_ms();
    let mut tx = db.begin_write().await?;
    for e in events.iter().filter(|e| endpoint.hears(&e.action)) {
        let msg_id = message_id(e.seq, &e.hash);
        store::add(&mut tx, &endpoint.name, (e.seq, &e.action, &msg_id), now).await?;
    }
    if cursor::advance(&mut tx, &endpoint.name, (from, last)).await? {
        tx.commit().await?;
    }
    Ok(())
}

/// The delivery's idempotency key: the event's place in the trail and its
/// hash, so a store restored from an older backup never reuses a key for
/// another event.
pub fn message_id(seq: i64, hash: &str) -> String {
    format!("evt_{seq}_{}", &hash[..hash.len().min(16)])
}
