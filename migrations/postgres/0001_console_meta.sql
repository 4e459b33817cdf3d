-- The store's own facts: which console instance created it, and when.
CREATE TABLE console_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

INSERT INTO console_meta (key, value, updated_at_ms)
VALUES
    ('instance_id', replace(gen_random_uuid()::text, '-', ''), (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT),
    ('created_at_ms', ((extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)::TEXT, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
