-- What a gate decision was made on, as the decider saw it: every item of the
-- phase with its result then and the guardrails watching it with their
-- newest readings (the `evidence` of its gate.approve / gate.override
-- event). A done phase shows its checklist as it was when approved, not as
-- the checks judge it now. NULL for decisions from before this column.
ALTER TABLE approvals ADD COLUMN evidence_json TEXT;
