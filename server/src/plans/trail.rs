//! A plan's audit events as its page reads them (the timeline, the incident
//! it is in, the edits since its last approval): read once, and after that
//! only those newer than the newest read. The trail is append-only and
//! events commit in the order of their numbers (each takes the next from
//! the audit head's row, held until its commit), so what was read stays
//! true and nothing older can appear after it: a change costs the page one
//! read of the events it added, not of the plan's whole history.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::dto::audit::AuditEvent;

use crate::audit::query::{newest_first, oldest_first, AuditFilter, TextMatch};
use crate::db::{Store, StoreError};

/// A plan's newest events kept and read (a plan with more shows these).
pub const PER_PLAN: usize = 20_000;

/// Bytes of events kept over all plans; past it, all are forgotten and
/// read again as asked.
const BUDGET_BYTES: usize = 64 << 20;

/// A plan's events, oldest first, as one snapshot readers share.
pub type Events = Arc<[Arc<AuditEvent>]>;

#[derive(Default)]
struct Kept {
    /// Each plan's events and their size.
    plans: HashMap<String, (Events, usize)>,
    bytes: usize,
}

/// The plans' events read so far, shared by every clone of the service.
#[derive(Clone, Default)]
pub struct Trails(Arc<Mutex<Kept>>);

impl Trails {
    /// The plan's newest `PER_PLAN` events, oldest first.
    pub async fn of(&self, store: &Store, plan_id: &str) -> Result<Events, StoreError> {
        let known = self.known(plan_id);
        let filter = AuditFilter {
            subject: Some(TextMatch::Exact(format!("plan:{plan_id}"))),
            ..Default::default()
        };
        let limit = PER_PLAN as i64;
        let (mut all, new) = match known.last() {
            Some(last) => {
                let new = oldest_first(store, &filter, last.seq, limit).await?;
                if new.is_empty() {
                    return Ok(known);
                }
                (known.to_vec(), new)
            }
            None => {
                let (mut newest, _) = newest_first(store, &filter, None, limit).await?;
                newest.reverse();
                (Vec::new(), newest)
            }
        };
        all.extend(new.into_iter().map(Arc::new));
        let surplus = all.len().saturating_sub(PER_PLAN);
        all.drain(..surplus);
        let all: Events = all.into();
        self.keep(plan_id, all.clone());
        Ok(all)
    }

    fn known(&self, plan_id: &str) -> Events {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.plans
            .get(plan_id)
            .map_or_else(|| Arc::new([]) as Arc<[_]>, |(e, _)| e.clone())
    }

    /// Keeps `events` as the plan's, unless a read that finished first kept
    /// newer ones.
    fn keep(&self, plan_id: &str, events: Events) {
        let newest = |e: &[Arc<AuditEvent>]| e.last().map_or(0, |e| e.seq);
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let had = kept.plans.get(plan_id).map(|(e, size)| (newest(e), *size));
        if had.is_some_and(|(seq, _)| seq >= newest(&events)) {
            return;
        }
        kept.bytes -= had.map_or(0, |(_, size)| size);
        let size = events.iter().map(|e| bytes(e)).sum::<usize>();
        if kept.bytes + size > BUDGET_BYTES {
            kept.plans.clear();
            kept.bytes = 0;
        }
        kept.bytes += size;
        kept.plans.insert(plan_id.to_string(), (events, size));
    }
}

/// About what an event takes in memory.
fn bytes(e: &AuditEvent) -> usize {
    std::mem::size_of::<AuditEvent>()
        + e.actor_kind.len()
        + e.actor_id.len()
        + e.actor_name.len()
        + e.action.len()
        + e.subject.len()
        + e.details.len()
        + e.client_addr.len()
        + e.user_agent.len()
        + e.prev_hash.len()
        + e.hash.len()
}
