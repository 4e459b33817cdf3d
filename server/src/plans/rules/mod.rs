//! The rollout's rules as functions of what the store holds: the state
//! machine, gates, exposure and rollbacks, irreversible phases, which edits
//! weaken a gate, the automatic checklist items and the facts they judge,
//! and the evidence a decision is bound to. No writes.
pub mod checks;
pub mod evidence;
pub mod exposure;
pub mod facts;
pub mod gate;
pub mod irreversible;
pub mod state;
pub mod weakening;
