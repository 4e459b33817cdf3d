-- Windows. A run waiting outside its job's window (backfill::window) may be
-- told to go on by an operator: the reason, audited as
-- backfill.window_override, and read by the driver of the run wherever it
-- runs.
ALTER TABLE backfill_runs ADD COLUMN window_override TEXT;
-- A baseline is kept with how it was taken: the query asked (a PromQL
-- guardrail's, as the mean over its baseline_window when it has one), or
-- how else the value was found, and the window.
ALTER TABLE guardrail_baselines ADD COLUMN query TEXT NOT NULL DEFAULT '';
ALTER TABLE guardrail_baselines ADD COLUMN window_ms BIGINT;
