//! The server's integration tests in one binary (one link instead of eight):
//! the store on both backends, HTTP against the real router on port 0, the
//! CLI as a user runs it, the backfill engine on real targets.
#[macro_use]
mod common;

mod anchor;
mod api_errors;
mod approver_sees;
mod audit;
mod auditor;
mod auth;
mod backfill;
mod backfill_crash;
mod backfill_health;
mod baseline;
mod cli;
mod continue_decision;
mod coverage;
mod demo_history;
mod entry;
mod environments;
mod gates_bind;
mod guardrail_baseline;
mod guardrail_deadline;
mod guardrail_environments;
mod guardrail_store;
mod guardrails;
mod http;
mod inbox;
mod live_parts;
mod notify;
mod ofrep;
mod oncall;
mod phase_truth;
mod pilot;
mod plan_statuses;
mod plans;
mod provenance;
mod signed;
mod store;
mod template_complete;
mod template_complete_partitioned;
mod template_walk;
mod throttle;
mod weakening;
