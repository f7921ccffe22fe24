-- Collection: remembered column mappings, saved database sources, per-entry data state.
-- Keep in step with ../postgres/0004_collection.sql.
ALTER TABLE batches ADD COLUMN rows_deleted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1;
CREATE INDEX batches_resource_finished ON batches (resource_id, status, finished_at);

-- The column mapping last used to upload data into an entry:
-- a JSON object {"file column": "ITEM_IDENTIFIER" or null to ignore it}.
CREATE TABLE column_mappings (
    resource_id BIGINT PRIMARY KEY REFERENCES resources (id),
    mapping TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A department's database that the platform pulls an entry's data from.
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('postgres', 'mysql')),
    -- The connection URL with its password, encrypted with the platform's secret key.
    url_sealed TEXT NOT NULL,
    -- The same URL without the password, for display.
    url_display TEXT NOT NULL,
    query TEXT NOT NULL,
    mapping TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    change_column TEXT,
    change_kind TEXT CHECK (change_kind IN ('timestamp', 'key')),
    overlap BIGINT NOT NULL DEFAULT 300,
    delete_column TEXT,
    reconcile_every BIGINT NOT NULL DEFAULT 0,
    watermark TEXT,
    runs BIGINT NOT NULL DEFAULT 0,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at TEXT NOT NULL,
    last_run_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    failures BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (resource_id, name)
);
CREATE INDEX sources_due ON sources (enabled, next_run_at);

-- Per entry: rows held and the last successful batch, kept by each batch's transaction so
-- statistics never count a data table.
CREATE TABLE resource_data (
    resource_id BIGINT PRIMARY KEY REFERENCES resources (id),
    row_count BIGINT NOT NULL,
    last_batch_id BIGINT NOT NULL REFERENCES batches (id),
    last_success_at TEXT NOT NULL
);
