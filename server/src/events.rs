//! Fan-out of change notifications to open pages (SSE): a plan's id is
//! published after each committed change to it; every open plan page of that
//! plan reloads its view.
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct PlanEvents {
    tx: broadcast::Sender<String>,
}

impl Default for PlanEvents {
    fn default() -> Self {
        // A slow page that falls 256 changes behind just reloads (Lagged).
        let (tx, _) = broadcast::channel(256);
        PlanEvents { tx }
    }
}

impl PlanEvents {
    /// After commit: the plan `plan_id` changed.
    pub fn changed(&self, plan_id: &str) {
        // No subscriber is not an error: nobody has the page open.
        let _ = self.tx.send(plan_id.to_string());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }
}
