//! Rollout plans: phases, checklists, gates. So far the plan file format with
//! its validation, and the state machine; the model, storage, approvals and
//! UI build on them.
pub mod spec;
pub mod state;
pub mod templates;
