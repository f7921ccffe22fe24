-- The change feed (GET /api/v1/data/{code}/changes): the order in which batches became
-- visible, and the rows they deleted. Keep in step with ../postgres/0006_change_feed.sql.

-- Assigned under the platform's write lock when a batch is published, so it follows commit
-- order (batch ids follow start order, and batches can finish out of it).
ALTER TABLE batches ADD COLUMN published_seq BIGINT;
UPDATE batches SET published_seq = id WHERE status = 'succeeded';
CREATE UNIQUE INDEX batches_published_seq ON batches (published_seq);
CREATE INDEX batches_resource_published ON batches (resource_id, published_seq);

-- A row a batch deleted: its key, and its values so that a consumer's row filter can still
-- decide whether the consumer may learn of the deletion. Pruned after the feed's retention.
CREATE TABLE data_deletions (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    batch_id BIGINT NOT NULL REFERENCES batches (id),
    -- JSON array of the key values, in key order.
    key_values TEXT NOT NULL,
    -- JSON object: column name → value.
    row_values TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX data_deletions_batch ON data_deletions (batch_id, id);
CREATE INDEX data_deletions_deleted_at ON data_deletions (deleted_at);
