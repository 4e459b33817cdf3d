-- Rollout plans: the plan (its TOML source is the definition of record),
-- its phases and checklist items as materialised from that source, with
-- their run-time state; gate decisions; and the flag each plan owns.
CREATE TABLE plans (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    flag_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'completed', 'rolled_back', 'aborted')),
    -- Exactly what was imported or last saved: export returns it byte for byte.
    source_toml TEXT NOT NULL,
    -- Bumped by every change to the plan or its phases: edits name the
    -- revision they started from, so a stale editor cannot overwrite.
    revision BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
-- The typed confirmation of a rollback names the plan: names must not collide.
CREATE UNIQUE INDEX plans_name ON plans (lower(name));
CREATE INDEX plans_updated ON plans (updated_at_ms);

CREATE TABLE phases (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    environment TEXT NOT NULL,
    exposure_bp BIGINT NOT NULL CHECK (exposure_bp BETWEEN 0 AND 10000),
    notes TEXT NOT NULL,
    approvals_required BIGINT NOT NULL CHECK (approvals_required BETWEEN 0 AND 20),
    -- Comma-separated roles.
    approver_roles TEXT NOT NULL,
    soak_ms BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'awaiting_approval', 'approved', 'done')),
    started_at_ms BIGINT,
    requested_by TEXT,
    requested_by_name TEXT,
    requested_at_ms BIGINT,
    approved_at_ms BIGINT,
    done_at_ms BIGINT,
    UNIQUE (plan_id, position)
);

CREATE TABLE checklist_items (
    id TEXT PRIMARY KEY NOT NULL,
    phase_id TEXT NOT NULL REFERENCES phases (id),
    position BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('manual', 'auto')),
    text TEXT NOT NULL,
    -- Manual items: comma-separated roles that may tick.
    tickers TEXT NOT NULL,
    check_name TEXT,
    max_delta BIGINT,
    ticked_by TEXT,
    ticked_by_name TEXT,
    ticked_at_ms BIGINT,
    tick_comment TEXT,
    UNIQUE (phase_id, position)
);

-- Gate decisions. A decision is bound to the evidence hash the decider saw;
-- a change to the phase or its checklist dismisses it (it stays, dismissed).
CREATE TABLE approvals (
    id TEXT PRIMARY KEY NOT NULL,
    phase_id TEXT NOT NULL REFERENCES phases (id),
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('approve', 'reject', 'override')),
    comment TEXT NOT NULL,
    evidence_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    dismissed_at_ms BIGINT,
    dismissed_reason TEXT
);
-- One live decision per person and phase: a double click or a second tab
-- cannot make two.
CREATE UNIQUE INDEX approvals_one_live_per_user ON approvals (phase_id, user_id)
    WHERE dismissed_at_ms IS NULL;
CREATE INDEX approvals_phase ON approvals (phase_id, created_at_ms);

CREATE TABLE flags (
    key TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL UNIQUE REFERENCES plans (id),
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    exposure_bp BIGINT NOT NULL CHECK (exposure_bp BETWEEN 0 AND 10000),
    -- JSON arrays of entity ids.
    allow_list TEXT NOT NULL,
    deny_list TEXT NOT NULL,
    salt TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
