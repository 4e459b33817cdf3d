//! `[prometheus.NAME]`: the Prometheus servers guardrails read, and the
//! servers that hold one environment's metrics alone.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[prometheus.NAME]`: `url = "http://prometheus:9090"`, and the servers
/// that hold one environment's metrics alone:
/// `[prometheus.NAME.environments.staging] url = "http://…"`. A guardrail
/// on `NAME` reads a phase's environment from that environment's own server
/// when it has one, else from `url` (which then holds every environment's
/// metrics, told apart only by the query: `plans::guardrail::environment`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub url: String,
    /// A query that takes longer is an error reading (default 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, PrometheusServer>,
}

/// `[prometheus.NAME.environments.ENV]`: the server holding ENV's metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusServer {
    pub url: String,
    /// Default: the server's `timeout_ms`, else 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl PrometheusConfig {
    /// The server a reading for `environment` asks, and its timeout (ms);
    /// `true` when it holds that environment's metrics alone.
    pub fn for_environment(&self, environment: &str) -> (&str, u64, bool) {
        let timeout = self.timeout_ms.unwrap_or(5_000);
        match self.environments.get(environment) {
            Some(own) => (&own.url, own.timeout_ms.unwrap_or(timeout), true),
            None => (&self.url, timeout, false),
        }
    }
}
