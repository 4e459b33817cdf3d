//! Audit trail shapes: events, the review filter, pages of results, and the
//! result of verifying the hash chain.
use serde::{Deserialize, Serialize};

/// One stored audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub seq: i64,
    pub at_ms: i64,
    /// `user`, `token`, `system`, `cli` or `anonymous`.
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub subject: String,
    /// A JSON object, as stored (canonical JSON).
    pub details: String,
    pub client_addr: String,
    pub user_agent: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The review filter as the browser sends it (query string of `/audit` and of
/// the export endpoints). The server parses and validates it; times are UTC,
/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` or unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Exact actor name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `*` (e.g. `auth.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Exact subject, or a prefix ending in `*` (e.g. `user:*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// From this time, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Until this time, exclusive (a range ending before its `from` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Keyset cursor: only events with a smaller seq (the next, older page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// The cursor for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
    /// The names of the plans the events are about (`plan:ID` → name), for
    /// people reading the page; empty in the REST API.
    #[serde(default)]
    pub subject_names: Vec<(String, String)>,
    /// The subject filter as applied (a plan's name resolved to `plan:ID`),
    /// for links that must select the same events (the exports).
    #[serde(default)]
    pub subject: Option<String>,
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainStatus {
    /// Every event links to the one before it, through `through_seq`.
    Intact { through_seq: i64 },
    /// The first event that does not hold, and why.
    Broken { seq: i64, reason: String },
}

/// A verification and when it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChainReport {
    #[serde(flatten)]
    pub status: ChainStatus,
    pub events_checked: i64,
    pub checked_at_ms: i64,
    pub duration_ms: i64,
}

impl ChainReport {
    /// The badge text: "chain intact through #N" or the first broken seq and why.
    pub fn headline(&self) -> String {
        match &self.status {
            ChainStatus::Intact { through_seq: 0 } => "chain intact (no events yet)".to_string(),
            ChainStatus::Intact { through_seq } => format!("chain intact through #{through_seq}"),
            ChainStatus::Broken { seq, reason } => format!("chain broken at #{seq}: {reason}"),
        }
    }
}
