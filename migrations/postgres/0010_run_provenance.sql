-- Where a run ran: the target it connected to and the environment its
-- evidence counts for. Runs recorded before this have neither ('') and
-- satisfy no environment's checks.
ALTER TABLE backfill_runs ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE backfill_runs ADD COLUMN environment TEXT NOT NULL DEFAULT '';
-- An automatic checklist item may only count evidence no older than this.
ALTER TABLE checklist_items ADD COLUMN max_age_ms BIGINT;
