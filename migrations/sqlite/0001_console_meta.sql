-- The store's own facts: which console instance created it, and when.
CREATE TABLE console_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

INSERT INTO console_meta (key, value, updated_at_ms)
VALUES
    ('instance_id', lower(hex(randomblob(16))), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    ('created_at_ms', CAST(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS TEXT), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
