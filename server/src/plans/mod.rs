//! Rollout plans: phases, checklists, gates. So far the state machine; the
//! model, storage, approvals and UI build on it.
pub mod state;
