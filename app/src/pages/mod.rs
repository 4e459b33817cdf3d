//! One module per page.
pub mod audit;
pub mod audit_event;
pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod tokens;
pub mod users;
