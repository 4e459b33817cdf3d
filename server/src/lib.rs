//! Rollout Console server: one module per capability (see docs/architecture.md).
pub mod api_error;
pub mod audit;
pub mod auth;
pub mod backfill;
pub mod caller;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error_kind;
pub mod events;
pub mod flags;
pub mod guardrails;
pub mod http;
pub mod jobs;
pub mod json_body;
pub mod metrics;
pub mod notify;
pub mod oncall;
pub mod plans;
pub mod problems;
pub mod startup;
pub mod system;
pub mod telemetry;
pub mod webauthn;

/// `2026-11-25 10:30:00 UTC` for command-line tables.
pub fn format_ms(ms: i64) -> String {
    app::format::utc_datetime(ms)
}
