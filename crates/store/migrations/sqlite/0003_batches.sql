-- Collection batches and their quarantined rows. Keep in step with ../postgres/0003_batches.sql.
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    rows_received BIGINT NOT NULL DEFAULT 0,
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    duplicate_keys BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (resource_id, content_hash)
);

CREATE TABLE quarantine (
    batch_id BIGINT NOT NULL REFERENCES batches (id),
    line BIGINT NOT NULL,
    column_name TEXT,
    value TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX quarantine_batch ON quarantine (batch_id, line);
