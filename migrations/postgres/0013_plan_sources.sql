-- Every version a plan file has had, kept: the plan.import, plan.edit and
-- plan.change_request events name a file by its SHA-256, and an auditor
-- fetches that exact file here (GET /api/v1/plans/{id}/sources/{sha256},
-- `rollout-console plan export --sha256`). Plans from before this table get
-- their current file at the next start.
CREATE TABLE plan_sources (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    source_sha256 TEXT NOT NULL,
    source_toml TEXT NOT NULL,
    first_at_ms BIGINT NOT NULL,
    PRIMARY KEY (plan_id, source_sha256)
);
