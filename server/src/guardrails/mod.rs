//! Guardrails at work: reading each active phase's guardrails from their
//! sources (`measure`) on their interval, judging and recording every
//! reading, and auditing each change of state (`evaluator`). Their file
//! format and judgement live with the plans (`plans::guardrail_spec`,
//! `plans::guardrail`); how far the evaluator has got (`passes`); the
//! baselines it judges against, exported (`baselines`).
pub mod baselines;
pub mod evaluator;
pub mod measure;
pub mod passes;
