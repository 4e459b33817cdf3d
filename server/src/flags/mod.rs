//! Feature flags: each rollout plan owns one. The evaluation rules (sticky
//! bucketing and list precedence), what a flag serves (`values`), the kept
//! snapshot evaluations read (`cache`), the evaluate endpoint (`rest`) and
//! OFREP (`ofrep/`) for OpenFeature clients.
pub mod bucketing;
pub mod cache;
pub mod ofrep;
pub mod rest;
pub mod store;
pub mod values;
