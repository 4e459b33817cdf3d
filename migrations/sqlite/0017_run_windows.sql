-- A run waiting outside its job's window (backfill::window) may be told to
-- go on by an operator: the reason, audited as backfill.window_override,
-- and read by the driver of the run wherever it runs.
ALTER TABLE backfill_runs ADD COLUMN window_override TEXT;
