//! One module per page.
pub mod account;
pub mod audit;
pub mod audit_event;
pub mod dashboard;
pub mod inbox;
pub mod job;
pub mod job_confirm;
pub mod listing;
pub mod local_time;
pub mod login;
pub mod not_found;
pub mod notifications;
pub mod plan;
pub mod plans;
pub mod regions;
pub mod tokens;
pub mod users;
