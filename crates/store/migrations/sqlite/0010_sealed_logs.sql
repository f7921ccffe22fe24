-- Both logs are sealed record by record with a key derived from the platform's secret
-- (HMAC-SHA256), so a record forged or rewritten by someone with only database access
-- fails verification. Records written before sealing began have none.
ALTER TABLE audit_log ADD COLUMN seal TEXT;
ALTER TABLE access_log ADD COLUMN seal TEXT;

-- 个人信息查询记录: whose records a data call returned, as keyed hashes of their ID
-- numbers (never the numbers), by the call's request id. Read to answer a citizen's
-- question "which departments looked at my records" (个人信息保护法 第四十四、四十五条).
ALTER TABLE access_log ADD COLUMN request_id TEXT;
CREATE TABLE access_subjects (
    request_id TEXT NOT NULL,
    subject TEXT NOT NULL
);
CREATE INDEX access_subjects_subject ON access_subjects (subject);
CREATE INDEX access_log_request ON access_log (request_id);

-- The database refuses what the product never does: moving the audit chain's head other
-- than with the chain, or inserting a record that does not follow the head (SQLite has no
-- TRUNCATE; DELETE is refused by 0001's trigger). Whoever drops these is caught by the
-- seals and the anchor.
CREATE TRIGGER audit_head_no_insert BEFORE INSERT ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head is kept by the audit chain'); END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head is kept by the audit chain'); END;
CREATE TRIGGER audit_head_moves_with_the_chain BEFORE UPDATE ON audit_head
WHEN NOT (NEW.id = OLD.id AND (
    (NEW.seq = OLD.seq + 1 AND NEW.hash = OLD.hash)
    OR (NEW.seq = OLD.seq AND NEW.hash = (SELECT hash FROM audit_log WHERE seq = NEW.seq))))
BEGIN SELECT RAISE(ABORT, 'audit_head moves only with the chain'); END;
CREATE TRIGGER audit_log_append_at_head BEFORE INSERT ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1 AND seq = NEW.seq AND hash = NEW.prev_hash)
BEGIN SELECT RAISE(ABORT, 'audit records are appended at the chain head'); END;

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
CREATE TRIGGER access_subjects_no_update BEFORE UPDATE ON access_subjects
BEGIN SELECT RAISE(ABORT, 'access_subjects is append-only'); END;
CREATE TRIGGER access_subjects_no_delete BEFORE DELETE ON access_subjects
BEGIN SELECT RAISE(ABORT, 'access_subjects is append-only'); END;
-- Keep in step with ../postgres/0010.
