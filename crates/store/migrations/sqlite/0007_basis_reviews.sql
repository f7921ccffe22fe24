-- A consumer's request that the bureau review the legal basis an entry, or some of its
-- items, is listed 不予共享 under. Keep in step with ../postgres/0007_basis_reviews.sql.
CREATE TABLE basis_reviews (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    provider_id BIGINT NOT NULL REFERENCES departments (id),
    consumer_id BIGINT NOT NULL REFERENCES departments (id),
    requested_by TEXT NOT NULL,
    -- JSON array of the not-shared item identifiers; empty: the whole entry.
    items TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    decided_by TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX basis_reviews_resource ON basis_reviews (resource_id);
