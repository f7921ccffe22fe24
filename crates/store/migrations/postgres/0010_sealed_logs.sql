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

-- The database refuses what the product never does: truncating either log, moving the
-- audit chain's head other than with the chain, or inserting a record that does not
-- follow the head. Whoever disables these is caught by the seals and the anchor.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE FUNCTION audit_head_moves_with_the_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_head is kept by the audit chain';
    END IF;
    IF NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND NEW.hash = OLD.hash THEN
        RETURN NEW;
    END IF;
    IF NEW.id = OLD.id AND NEW.seq = OLD.seq
       AND NEW.hash = (SELECT hash FROM audit_log WHERE seq = NEW.seq) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_head moves only with the chain';
END $$;
CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head
FOR EACH ROW EXECUTE FUNCTION audit_head_moves_with_the_chain();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE FUNCTION audit_log_follows_the_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1 AND seq = NEW.seq AND hash = NEW.prev_hash) THEN
        RAISE EXCEPTION 'audit records are appended at the chain head';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_append_at_head BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_follows_the_head();

CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$;
CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log
FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_subjects_no_change BEFORE UPDATE OR DELETE ON access_subjects
FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_subjects_no_truncate BEFORE TRUNCATE ON access_subjects
FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
-- Keep in step with ../sqlite/0010.
