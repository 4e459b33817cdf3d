-- Guardrail measurements: every reading of a plan's guardrails, with its
-- value, threshold, sample and outcome (the evidence of guardrail items).
CREATE TABLE guardrail_measurements (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    guardrail TEXT NOT NULL,
    environment TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    value REAL,
    sample REAL,
    threshold TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('healthy', 'failed', 'inconclusive', 'error')),
    detail TEXT NOT NULL
);
CREATE INDEX guardrail_measurements_recent
    ON guardrail_measurements (plan_id, guardrail, environment, at_ms);
