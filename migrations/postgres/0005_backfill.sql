-- Backfill runs: each run of a plan's job (a real run, a dry-run, an undo or a
-- verify) with its checkpoint; the keys a run created (what undo removes);
-- and the keys that failed, with their error.
CREATE TABLE backfill_runs (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    job TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('run', 'dry_run', 'undo', 'verify')),
    status TEXT NOT NULL CHECK (status IN ('running', 'paused', 'done', 'failed', 'cancelled')),
    -- The checkpoint: every key <= last_key is done (committed on the target).
    last_key BIGINT,
    processed BIGINT NOT NULL,
    created BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    chunk_size BIGINT NOT NULL,
    max_rows_per_sec BIGINT NOT NULL,
    total_estimate BIGINT,
    -- JSON: what a verify found, why a run stopped, …
    result TEXT NOT NULL,
    started_by TEXT NOT NULL,
    -- Who drives it now: "server" or "cli:<pid>"; taken over only when
    -- paused, or when its owner is gone (see backfill::runs::claim).
    owner TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    finished_at_ms BIGINT
);
CREATE INDEX backfill_runs_job ON backfill_runs (plan_id, job, started_at_ms);
-- At most one unfinished run per job and mode: a double click or a second
-- tab cannot start two.
CREATE UNIQUE INDEX backfill_runs_one_open ON backfill_runs (plan_id, job, mode)
    WHERE status IN ('running', 'paused');

-- Recorded in the console before the target commits, so a crash never loses
-- what undo must remove (a key whose chunk did not commit is simply absent).
-- One row per chunk: its created keys as ranges ("1-5,8,10-20"), compact
-- so recording them costs one small write per chunk.
CREATE TABLE backfill_created (
    run_id TEXT NOT NULL REFERENCES backfill_runs (id),
    first_key BIGINT NOT NULL,
    keys TEXT NOT NULL,
    PRIMARY KEY (run_id, first_key)
);

CREATE TABLE backfill_errors (
    run_id TEXT NOT NULL REFERENCES backfill_runs (id),
    key BIGINT NOT NULL,
    error TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- An automatic checklist item may name the backfill job it judges.
ALTER TABLE checklist_items ADD COLUMN job TEXT;

-- Progress over time (one row per checkpoint), for the job page's chart.
CREATE TABLE backfill_samples (
    run_id TEXT NOT NULL REFERENCES backfill_runs (id),
    at_ms BIGINT NOT NULL,
    processed BIGINT NOT NULL,
    created BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    PRIMARY KEY (run_id, at_ms, processed)
);
