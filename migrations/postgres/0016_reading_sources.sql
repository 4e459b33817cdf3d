-- Where each guardrail reading came from: the source as resolved for its
-- environment (the server, its URL) and the exact query it ran (with the
-- environment put in), kept once and named by every reading that ran it.
CREATE TABLE guardrail_sources (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    query TEXT NOT NULL,
    UNIQUE (source, query)
);
ALTER TABLE guardrail_measurements ADD COLUMN source_id BIGINT REFERENCES guardrail_sources (id);
