-- Typed flags. A plan's flag may serve a string, an integer, a float or an
-- object instead of true/false ([flag] in the plan file): its type, and the
-- value (JSON text) and variant name served when an entity is on and off.
-- A flag from before is the boolean it was.
ALTER TABLE flags ADD COLUMN value_type TEXT NOT NULL DEFAULT 'boolean';
ALTER TABLE flags ADD COLUMN on_value TEXT NOT NULL DEFAULT 'true';
ALTER TABLE flags ADD COLUMN off_value TEXT NOT NULL DEFAULT 'false';
ALTER TABLE flags ADD COLUMN on_variant TEXT NOT NULL DEFAULT 'on';
ALTER TABLE flags ADD COLUMN off_variant TEXT NOT NULL DEFAULT 'off';
-- What last set a flag's state in an environment (a phase's name, a
-- rollback, an allow-list change), so an evaluation can say which phase
-- set what; empty for a state from before.
ALTER TABLE flag_states ADD COLUMN set_by TEXT NOT NULL DEFAULT '';
