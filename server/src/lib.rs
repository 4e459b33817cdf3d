//! Rollout Console server: one module per capability (see DESIGN.md).
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod metrics;
pub mod system;
pub mod telemetry;
