-- Guardrail measurements: every reading of a plan's guardrails, with its
-- value, threshold, sample and outcome (the evidence of guardrail items).
CREATE TABLE guardrail_measurements (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    guardrail TEXT NOT NULL,
    environment TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION,
    sample DOUBLE PRECISION,
    -- The bounds as they were resolved for this reading (with its baseline).
    max_value DOUBLE PRECISION,
    min_value DOUBLE PRECISION,
    threshold TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('healthy', 'failed', 'inconclusive', 'error')),
    detail TEXT NOT NULL
);
CREATE INDEX guardrail_measurements_recent
    ON guardrail_measurements (plan_id, guardrail, environment, at_ms);
-- The baseline of a guardrail whose bounds are relative to it: its value just
-- before the phase started, captured once per phase start.
CREATE TABLE guardrail_baselines (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    guardrail TEXT NOT NULL,
    environment TEXT NOT NULL,
    phase_started_at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    captured_at_ms BIGINT NOT NULL,
    PRIMARY KEY (plan_id, guardrail, environment, phase_started_at_ms)
);
