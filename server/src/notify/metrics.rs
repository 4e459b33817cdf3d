//! The deliveries as metrics: attempts by outcome, and what waits.
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::db::{Store, StoreError};

use super::endpoint::Endpoint;
use super::store::{self, PENDING};

#[derive(Clone)]
pub(super) struct NotifyMetrics {
    attempts: IntCounterVec,
    waiting: IntGaugeVec,
    oldest: IntGaugeVec,
}

impl NotifyMetrics {
    pub(super) fn register(registry: &Registry) -> Result<NotifyMetrics, prometheus::Error> {
        let attempts = IntCounterVec::new(
            Opts::new(
                "notify_delivery_attempts_total",
                "Delivery attempts by endpoint and outcome: delivered, pending (to be retried), failed (given up).",
            ),
            &["endpoint", "outcome"],
        )?;
        let waiting = IntGaugeVec::new(
            Opts::new(
                "notify_deliveries",
                "Deliveries by endpoint and status (pending, delivered, failed).",
            ),
            &["endpoint", "status"],
        )?;
        let oldest = IntGaugeVec::new(
            Opts::new(
                "notify_oldest_pending_age_seconds",
                "Age of the endpoint's oldest undelivered notification (0: none waits).",
            ),
            &["endpoint"],
        )?;
        registry.register(Box::new(attempts.clone()))?;
        registry.register(Box::new(waiting.clone()))?;
        registry.register(Box::new(oldest.clone()))?;
        Ok(NotifyMetrics {
            attempts,
            waiting,
            oldest,
        })
    }

    pub(super) fn attempted(&self, endpoint: &str, outcome: &str) {
        self.attempts.with_label_values(&[endpoint, outcome]).inc();
    }

    pub(super) async fn refresh(
        &self,
        db: &Store,
        endpoints: &[Endpoint],
    ) -> Result<(), StoreError> {
        let counts = store::counts(db).await?;
        let now = crate::system::now_ms();
        for e in endpoints {
            for status in [store::PENDING, store::DELIVERED, store::FAILED] {
                let n = counts
                    .iter()
                    .find(|(ep, s, ..)| ep == &e.name && s == status)
                    .map_or(0, |c| c.2);
                self.waiting.with_label_values(&[&e.name, status]).set(n);
            }
            let oldest = counts
                .iter()
                .find(|(ep, s, ..)| ep == &e.name && s == PENDING)
                .map_or(0, |c| (now - c.3).max(0) / 1000);
            self.oldest.with_label_values(&[&e.name]).set(oldest);
        }
        Ok(())
    }
}
