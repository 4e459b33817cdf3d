//! The audit trail: append-only, hash-chained events written in the same
//! transaction as the change they record; review, export and verification.
pub mod anchor;
pub mod chain;
pub mod cursor;
pub mod export;
pub mod query;
mod record;
pub mod service;
pub mod signed;
pub mod verify;

pub use record::{append, Actor, ClientInfo};
pub use service::AuditService;
