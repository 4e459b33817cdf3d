//! Rollout plans, in folders by role; dependencies run one way, each folder
//! using only those above it in this list (`scripts/check-layers` checks it):
//!
//! - `error` — the plan layer's errors;
//! - `file/` — the plan file: format, validation, definition, templates;
//! - `guardrail/` — a guardrail resolved from the file, how a reading is
//!   judged, streaks, and the stored readings;
//! - `store/` — the plan tables, change requests, kept plan files, and
//!   writing a definition into rows;
//! - `rules/` — state machine, gates, exposure, evidence: reads, no writes;
//! - `view/` — what pages and the API show (plan, timeline, incident, edits);
//! - here: the service (`service`, `changes`, `finish`, `admission`,
//!   `acting`, `fits`), what readers see and its kept views and events (`reading`, `pages`, `trail`), the
//!   commands (`commands/`) and REST (`rest`).
pub mod acting;
pub mod admission;
pub mod changes;
pub mod commands;
pub mod error;
pub mod file;
pub mod finish;
pub mod fits;
pub mod guardrail;
pub mod history;
pub mod inbox;
pub mod pages;
pub mod reading;
pub mod rest;
pub mod rules;
pub mod service;
pub mod signing;
pub mod store;
pub mod trail;
pub mod view;

pub use service::PlanService;
