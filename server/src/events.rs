//! Fan-out of change notifications to open pages (SSE): a plan's id is
//! published after each committed change to it; every open plan page of that
//! plan reloads its view.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

#[derive(Clone)]
pub struct PlanEvents {
    tx: broadcast::Sender<String>,
    /// How many changes were published: what this process read before a
    /// change is stale once it moved (`plans::pages`).
    published: Arc<AtomicU64>,
}

impl Default for PlanEvents {
    fn default() -> Self {
        // A slow page that falls 256 changes behind just reloads (Lagged).
        let (tx, _) = broadcast::channel(256);
        PlanEvents {
            tx,
            published: Arc::default(),
        }
    }
}

impl PlanEvents {
    /// After commit: the plan `plan_id` changed.
    pub fn changed(&self, plan_id: &str) {
        self.published.fetch_add(1, Ordering::SeqCst);
        // No subscriber is not an error: nobody has the page open.
        let _ = self.tx.send(plan_id.to_string());
    }

    /// How many changes this process has published so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }
}
