//! The delivery log (`NotifyPort`): each endpoint as configured with its
//! counts, the newest deliveries, and sending a given-up one again.
use app::access::Action;
use app::dto::notify::{DeliveryLog, DeliveryRow, EndpointSummary};
use app::error::AppError;
use app::service::{Caller, NotifyPort};
use serde_json::json;

use crate::auth::{actor_of, client_of};
use crate::config::NotifyFormat;
use crate::db::Store;

use super::endpoint::Endpoint;
use super::store::{self, Delivery};

/// The deliveries the log shows, newest first.
const SHOWN: i64 = 200;

pub struct NotifyService {
    pub store: Store,
    pub endpoints: std::sync::Arc<Vec<Endpoint>>,
}

#[async_trait::async_trait]
impl NotifyPort for NotifyService {
    async fn deliveries(&self, caller: &Caller) -> Result<DeliveryLog, AppError> {
        caller.require(Action::ManageNotifications)?;
        let counts = store::counts(&self.store).await?;
        let count = |name: &str, status: &str| {
            counts
                .iter()
                .find(|(e, s, ..)| e == name && s == status)
                .map(|c| (c.2, c.3))
        };
        let endpoints = self
            .endpoints
            .iter()
            .map(|e| EndpointSummary {
                name: e.name.clone(),
                address: e.shown_address(),
                format: match e.format {
                    NotifyFormat::Json => "json",
                    NotifyFormat::Slack => "slack",
                }
                .into(),
                events: e.events.clone(),
                signed: e.secret.is_some(),
                pending: count(&e.name, store::PENDING).map_or(0, |c| c.0),
                delivered: count(&e.name, store::DELIVERED).map_or(0, |c| c.0),
                failed: count(&e.name, store::FAILED).map_or(0, |c| c.0),
                oldest_pending_ms: count(&e.name, store::PENDING).map(|c| c.1),
            })
            .collect();
        let deliveries = store::newest(&self.store, SHOWN)
            .await?
            .into_iter()
            .map(row)
            .collect();
        Ok(DeliveryLog {
            endpoints,
            deliveries,
        })
    }

    async fn retry(&self, caller: &Caller, endpoint: &str, seq: i64) -> Result<(), AppError> {
        let who = caller.require(Action::ManageNotifications)?;
        let now = crate::system::now_ms();
        let mut tx = self.store.begin_write().await?;
        if !store::retry(&mut tx, endpoint, seq, now).await? {
            return Err(AppError::Invalid(format!(
                "endpoint {endpoint:?} has no given-up delivery of event {seq}; only a failed delivery can be sent again"
            )));
        }
        crate::audit::append(
            &mut tx,
            now,
            &actor_of(who),
            &client_of(caller),
            "notify.retry",
            &format!("notify:{endpoint}"),
            json!({ "endpoint": endpoint, "event": seq }),
        )
        .await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        Ok(())
    }
}

fn row(d: Delivery) -> DeliveryRow {
    DeliveryRow {
        endpoint: d.endpoint,
        seq: d.seq,
        action: d.action,
        msg_id: d.msg_id,
        status: d.status,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        created_ms: d.created_ms,
        next_at_ms: d.next_at_ms,
        delivered_ms: d.delivered_ms,
    }
}
