-- An edit of a plan that is not a draft and that weakens a gate (fewer
-- approvals, other approver roles, a removed or changed check or item, a
-- shorter soak, a removed phase) is a change request: it takes effect only
-- once the approvals the weakened gate asked for are given (never by its
-- author), or an admin overrides with a reason. `weakens` is a JSON array of
-- sentences saying what it weakens.
CREATE TABLE plan_changes (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    base_revision BIGINT NOT NULL,
    source_toml TEXT NOT NULL,
    weakens TEXT NOT NULL,
    approvals_required BIGINT NOT NULL,
    -- Comma-separated roles, as phases.approver_roles.
    approver_roles TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'withdrawn', 'superseded')),
    closed_at_ms BIGINT
);
CREATE INDEX plan_changes_plan ON plan_changes (plan_id, created_at_ms);
-- At most one pending change per plan.
CREATE UNIQUE INDEX plan_changes_one_pending ON plan_changes (plan_id) WHERE status = 'pending';

CREATE TABLE plan_change_decisions (
    change_id TEXT NOT NULL REFERENCES plan_changes (id),
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('approve', 'reject', 'override')),
    comment TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (change_id, user_id)
);
