-- A phase's entry criteria (`[[phases.entry]]`): items that must hold before
-- the phase starts (pre-flight), beside its checklist, which must hold
-- before the next phase. Entry items come first in a phase's item order.
ALTER TABLE checklist_items ADD COLUMN entry BIGINT NOT NULL DEFAULT 0;
