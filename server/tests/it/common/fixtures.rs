//! The plan files the integration tests import, one per shape, kept as
//! TOML in `server/tests/fixtures/plans/` (what a user would write) and
//! named here once. Tests that vary a plan replace lines of these texts.

/// "Approver sees" (`approver_sees.rs`): phases pilot (production, 5 %, 1
/// approval(s), soak 2h, 2 item(s): manual, soak_elapsed); everyone
/// (production, 100 %).
pub const APPROVER_SEES: &str = include_str!("../../fixtures/plans/approver_sees.toml");

/// "Audited" (`auditor.rs`): phases production 5% (production, 5 %, 2
/// approval(s), 2 item(s): manual, guardrail_error_rate); guardrails
/// error_rate.
pub const AUDITOR: &str = include_str!("../../fixtures/plans/auditor.toml");

/// "Relative" (`baseline.rs`): phases dev (dev, 100 %); guardrails latency.
pub const BASELINE: &str = include_str!("../../fixtures/plans/baseline.toml");

/// "Matrix" (`continue_decision.rs`): phases production 5% (production, 5 %).
pub const CONTINUE_DECISION: &str = include_str!("../../fixtures/plans/continue_decision.toml");

/// "Pre-flight" (`entry.rs`): phases pilot (production, 1 %, 0 approval(s), 1
/// item(s): manual, 2 entry criteria).
pub const ENTRY: &str = include_str!("../../fixtures/plans/entry.toml");

/// "Env walk" (`environments.rs`): phases dev (dev, 100 %, 0 approval(s));
/// staging (staging, 100 %, 0 approval(s)); production 5% (production, 5 %, 0
/// approval(s)); production 10% (production, 10 %, 0 approval(s)).
pub const ENVIRONMENTS: &str = include_str!("../../fixtures/plans/environments.toml");

/// "Bound gates" (`gates_bind.rs`): phases pilot (production, 5 %, 2
/// approval(s), 3 item(s): manual, manual, manual); everyone (production, 100
/// %).
pub const GATES_BIND: &str = include_str!("../../fixtures/plans/gates_bind.toml");

/// "Self-guarding" (`guardrails.rs`): phases dev (dev, 100 %); production 5%
/// (production, 5 %); guardrails error_rate, canary.
pub const GUARDRAILS_ACT: &str = include_str!("../../fixtures/plans/guardrails_act.toml");

/// "Guarded" (`guardrails.rs`): phases production 5% (production, 5 %, 3
/// item(s): guardrail_error_rate, guardrail_absent, guardrail_relative);
/// guardrails error_rate, absent, relative.
pub const GUARDRAILS_PROM: &str = include_str!("../../fixtures/plans/guardrails_prom.toml");

/// "Parity" (`guardrails.rs`): phases staging (staging, 100 %, 3 item(s):
/// guardrail_parity, guardrail_null, guardrail_no_rows); guardrails parity,
/// null, no_rows.
pub const GUARDRAILS_SQL: &str = include_str!("../../fixtures/plans/guardrails_sql.toml");

/// "Announced" (`notify/`): phases pilot (staging, 5 %, 1 approval from
/// dana or erik, 1 manual item); everyone (production, 100 %).
pub const NOTIFY: &str = include_str!("../../fixtures/plans/notify.toml");

/// "Paged" (`oncall.rs`): phase production 5% (production, 5 %); guardrail
/// errors (SQL on target t, pauses); escalation olga, then role:admin after
/// 15m, then dba-lead after 30m.
pub const ONCALL: &str = include_str!("../../fixtures/plans/oncall.toml");

/// "Signed" (`signed.rs`): phases pilot (production, 1 %, 1 approval from
/// dana, signed with a passkey); everyone (production, 100 %).
pub const SIGNED: &str = include_str!("../../fixtures/plans/signed.toml");

/// "Two steps in production" (`phase_truth.rs`): phases production 5%
/// (production, 5 %, 1 approval(s), 1 item(s): guardrail_error_rate);
/// production 25% (production, 25 %, 1 approval(s), 1 item(s):
/// guardrail_error_rate); guardrails error_rate.
pub const PHASE_TRUTH: &str = include_str!("../../fixtures/plans/phase_truth.toml");

/// "Pilot" (`pilot.rs`): phases pilot 1% (production, 1 %).
pub const PILOT: &str = include_str!("../../fixtures/plans/pilot.toml");

/// "Gate rules" (`plans.rs`): phases pilot (production, 5 %, 2 approval(s),
/// soak 1h, 1 item(s): manual); everyone (production, 100 %).
pub const PLANS: &str = include_str!("../../fixtures/plans/plans.toml");

/// "Ticks" (`plan_statuses.rs`): phases dev (dev, 100 %, 1 item(s): manual).
pub const PLAN_STATUSES_TICKS: &str = include_str!("../../fixtures/plans/plan_statuses_ticks.toml");

/// "Provenance" (`provenance.rs`): phases dev (dev, 100 %); production 100%
/// (production, 100 %, 1 entry criteria); jobs school, mirror.
pub const PROVENANCE: &str = include_str!("../../fixtures/plans/provenance.toml");

/// A plan with one backfill job over the demo target's school projects
/// (`demo seed`), on the target named `t`: chunk 100, failing rows skipped
/// and recorded. It runs live without a dry-run first, so the engine's tests
/// can; `provenance.rs` tests that rule. Tests replace lines to vary it.
pub const SCHOOL_PLAN: &str = include_str!("../../fixtures/plans/school.toml");

/// "Guarded" (`weakening.rs`): phases canary (staging, 100 %, 2 approval(s),
/// soak 1h, 1 item(s): manual); pilot (production, 5 %, 1 approval(s), soak 2h,
/// 1 item(s): manual, 1 entry criteria); guardrails errors; jobs copy.
pub const WEAKENING: &str = include_str!("../../fixtures/plans/weakening.toml");
