//! Rollout plans: the plan file format and its validation, the stored model
//! (phases, checklists, gates), the state machine and gate rules, the
//! service that changes plans with their audit events, and the REST API.
pub mod acting;
pub mod admission;
pub mod change_store;
pub mod changes;
pub mod checks;
pub mod commands;
pub mod definition;
pub mod duration;
pub mod edits;
pub mod error;
pub mod evidence;
pub mod exposure;
pub mod facts;
pub mod finish;
pub mod gate;
pub mod guardrail;
pub mod guardrail_spec;
pub mod guardrail_streak;
pub mod incident;
pub mod irreversible;
pub mod materialize;
pub mod measure_store;
pub mod rest;
pub mod service;
pub mod sources;
pub mod spec;
pub mod state;
pub mod store;
pub mod templates;
pub mod timeline;
pub mod view;
pub mod weakening;

pub use service::PlanService;
