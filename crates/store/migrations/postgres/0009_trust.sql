-- Verification has its own, small daily quota per grant (核验 answers guesses).
ALTER TABLE grants ADD COLUMN verify_quota BIGINT NOT NULL DEFAULT 1000;

-- Refusals of the same caller, route and reason within a second are audited as one record
-- that counts them (a flood of 403s must not become a flood of commits).
ALTER TABLE audit_log ADD COLUMN occurrences BIGINT NOT NULL DEFAULT 1;

-- One-off data fixes that run from code after the schema migrations, once each.
CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL
);
-- Keep in step with ../sqlite/0009.
