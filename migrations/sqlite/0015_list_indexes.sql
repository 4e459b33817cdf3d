-- The plans list and the dashboard read every plan's line and progress:
-- covering indexes let them do so without reading the plan rows, whose
-- plan file (source_toml) sits before revision and the times in each row
-- (on SQLite, reading a column after it walks the file's overflow pages).
CREATE INDEX plans_list ON plans (updated_at_ms, id, name, flag_key, status, revision, created_at_ms);
CREATE INDEX phases_progress ON phases (plan_id, status, position, name);
