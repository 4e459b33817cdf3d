//! Notifications with no loss. The audit trail is the outbox: each event is
//! written in the transaction of the change it records, so an endpoint that
//! reads the trail from where it stopped announces every change exactly
//! when it committed. The worker turns the events an endpoint hears into
//! deliveries (`fanout`), then posts them in the trail's order, signed
//! (`sign`), retrying with exponential back-off (`deliver`); a receiver that
//! is down, or a console that restarts, delays deliveries but loses none,
//! and every attempt of one delivery carries the same idempotency key
//! (`webhook-id`). `[notify.NAME]` in the configuration names the endpoints.
mod deliver;
pub mod endpoint;
mod fanout;
pub mod message;
mod metrics;
pub mod sign;
pub mod store;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::db::{Store, StoreError};
pub use endpoint::Endpoint;

/// How often the worker looks for new events and due deliveries.
const TICK: Duration = Duration::from_millis(500);

/// The endpoints and the worker that serves them.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    endpoints: Arc<Vec<Endpoint>>,
    base_url: Arc<str>,
    client: reqwest::Client,
    metrics: metrics::NotifyMetrics,
}

impl Notifier {
    /// The configured endpoints, their variables read through `var`. A
    /// variable that is missing or a secret that cannot sign is an error
    /// naming the setting (the console does not start half-deaf).
    pub fn from_config(
        store: Store,
        config: &Config,
        base_url: &str,
        registry: &prometheus::Registry,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Notifier, String> {
        let endpoints = config
            .notify
            .iter()
            .map(|(name, cfg)| Endpoint::resolve(name, cfg, &var))
            .collect::<Result<Vec<_>, _>>()?;
        let client = reqwest::Client::builder()
            .timeout(deliver::TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rollout-console/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("notify: the HTTP client could not be built: {e}"))?;
        let metrics = metrics::NotifyMetrics::register(registry)
            .map_err(|e| format!("notify: registering its metrics failed: {e}"))?;
        Ok(Notifier {
            store,
            endpoints: Arc::new(endpoints),
            base_url: base_url.trim_end_matches('/').into(),
            client,
            metrics,
        })
    }

    /// The delivery log for the admin page and its server functions.
    pub fn service(&self) -> view::NotifyService {
        view::NotifyService {
            store: self.store.clone(),
            endpoints: self.endpoints.clone(),
        }
    }

    /// Runs the worker for as long as the process lives.
    pub fn spawn(self) {
        if self.endpoints.is_empty() {
            return;
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_problem: Option<String> = None;
            for n in 0u64.. {
                tick.tick().await;
                let mut passed = self.pass().await;
                // The gauges count every delivery: every 10 s is enough.
                if passed.is_ok() && n % 20 == 0 {
                    passed = self.metrics.refresh(&self.store, &self.endpoints).await;
                }
                let problem = passed.err().map(|e| e.to_string());
                if problem.is_some() && problem != last_problem {
                    tracing::warn!(
                        problem = problem.as_deref(),
                        "notifications: a pass failed; retrying"
                    );
                }
                last_problem = problem;
            }
        });
    }

    /// One pass: new events become deliveries, then every endpoint sends
    /// what is due, oldest first, until one attempt fails.
    pub async fn pass(&self) -> Result<(), StoreError> {
        for endpoint in self.endpoints.iter() {
            fanout::fan_out(&self.store, endpoint).await?;
            deliver::send_due(self, endpoint).await?;
        }
        Ok(())
    }
}
