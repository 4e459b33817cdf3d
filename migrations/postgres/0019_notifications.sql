-- Notifications. The audit trail is the outbox: an event exists exactly
-- when the change it records committed, so announcing the trail's events
-- loses none. Each reader of the trail (a notification endpoint, or
-- `:incidents`, which opens incidents) keeps how far it has read it…
CREATE TABLE trail_cursors (
    reader TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
-- …and one delivery per (endpoint, event) it hears: its idempotency key is
-- the same on every attempt, and attempts back off exponentially.
CREATE TABLE notify_deliveries (
    endpoint TEXT NOT NULL,
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at_ms BIGINT NOT NULL,
    claimed_until_ms BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    PRIMARY KEY (endpoint, seq)
);
CREATE INDEX notify_deliveries_open ON notify_deliveries (status, endpoint, seq);
-- The people a gate asks (usernames, newline-separated; empty: every holder
-- of its approver roles).
ALTER TABLE phases ADD COLUMN approvers TEXT NOT NULL DEFAULT '';
