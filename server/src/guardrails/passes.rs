//! How far the guardrail evaluator has got: the console-clock time at which
//! its last completed pass began. Every reading due by then has been taken.
//! Exported as `rollout_guardrail_pass_timestamp_seconds` so an operator can
//! alert on an evaluator that stopped (a guardrail nobody reads protects
//! nobody); tests wait on it after moving the clock.
use std::sync::Arc;

use prometheus::{IntGauge, Registry};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Passes {
    through: Arc<watch::Sender<i64>>,
    gauge: IntGauge,
}

impl Passes {
    pub fn register(registry: &Registry) -> Result<Passes, prometheus::Error> {
        let gauge = IntGauge::new(
            "rollout_guardrail_pass_timestamp_seconds",
            "Console-clock time (Unix seconds) at which the guardrail evaluator's last completed pass began.",
        )?;
        registry.register(Box::new(gauge.clone()))?;
        Ok(Passes {
            through: Arc::new(watch::channel(0).0),
            gauge,
        })
    }

    /// A pass that began at `started_ms` is complete. Passes run
    /// concurrently and may complete out of order: the time only moves on.
    pub fn completed(&self, started_ms: i64) {
        let moved = self.through.send_if_modified(|t| {
            let later = started_ms > *t;
            if later {
                *t = started_ms;
            }
            later
        });
        if moved {
            self.gauge.set(started_ms / 1000);
        }
    }

    /// The begin time of the last completed pass (0 before the first).
    pub fn through(&self) -> i64 {
        *self.through.borrow()
    }

    /// Waits until a pass that began at or after `ms` has completed.
    pub async fn wait_through(&self, ms: i64) {
        let mut rx = self.through.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = rx.wait_for(|t| *t >= ms).await;
    }
}
