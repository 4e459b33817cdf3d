//! Feature flags: each rollout plan owns one. The evaluation rules (sticky
//! bucketing and list precedence), the read cache, and the evaluate endpoint;
//! OFREP comes later on the same rules.
pub mod bucketing;
pub mod cache;
pub mod rest;
pub mod store;
