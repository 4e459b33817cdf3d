-- Incidents: a guardrail breach, an automatic rollback or a failed
-- backfill, opened from the audit event that records it (`seq`), paged
-- step by step along the plan's escalation until someone acknowledges it.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    seq BIGINT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    environment TEXT NOT NULL,
    summary TEXT NOT NULL,
    opened_ms BIGINT NOT NULL,
    -- Escalation steps paged so far, and who they paged (usernames,
    -- newline-separated, resolved when paged).
    steps_paged BIGINT NOT NULL DEFAULT 0,
    paged TEXT NOT NULL DEFAULT '',
    paged_ms BIGINT,
    acked_by TEXT,
    acked_ms BIGINT
);
CREATE INDEX incidents_open ON incidents (acked_ms, plan_id);
