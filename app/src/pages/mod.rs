//! One module per page.
pub mod audit;
pub mod audit_event;
pub mod dashboard;
pub mod job;
pub mod login;
pub mod not_found;
pub mod plan;
pub mod plan_edit;
pub mod plan_guardrails;
pub mod plan_phase;
pub mod plan_pilot;
pub mod plan_timeline;
pub mod plans;
pub mod tokens;
pub mod users;
