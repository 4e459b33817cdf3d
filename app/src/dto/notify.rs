//! The notification delivery log an admin reads.
use serde::{Deserialize, Serialize};

/// Every endpoint and the newest deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub endpoints: Vec<EndpointSummary>,
    pub deliveries: Vec<DeliveryRow>,
}

/// `[notify.NAME]` as configured, and how its deliveries stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSummary {
    pub name: String,
    /// Scheme and host only: a Slack webhook's path is its secret.
    pub address: String,
    /// `json` or `slack`.
    pub format: String,
    pub events: Vec<String>,
    pub signed: bool,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// When the oldest undelivered one was created.
    pub oldest_pending_ms: Option<i64>,
}

/// One delivery of one audit event to one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub endpoint: String,
    /// The audit event announced.
    pub seq: i64,
    pub action: String,
    /// The idempotency key (`webhook-id`), the same on every attempt.
    pub msg_id: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub next_at_ms: i64,
    pub delivered_ms: Option<i64>,
}
