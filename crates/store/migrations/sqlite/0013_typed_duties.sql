-- Duties as one typed model (待办): the matter a duty is about is a type and an id, not a
-- string such as 'share_request:12', so every queue can be filtered, joined and indexed by
-- it. Old subjects are split; the bureau's calendar task ('calendar:2027') becomes
-- ('calendar_year', 2027).
ALTER TABLE duties ADD COLUMN subject_type TEXT NOT NULL DEFAULT '';
ALTER TABLE duties ADD COLUMN subject_id BIGINT NOT NULL DEFAULT 0;
UPDATE duties SET
    subject_type = CASE WHEN subject LIKE 'calendar:%' THEN 'calendar_year'
                        ELSE substr(subject, 1, instr(subject, ':') - 1) END,
    subject_id = CAST(substr(subject, instr(subject, ':') + 1) AS INTEGER);
DROP INDEX duties_subject;
ALTER TABLE duties DROP COLUMN subject;
CREATE INDEX duties_subject ON duties (subject_type, subject_id);
-- A department's open duties, earliest due first.
CREATE INDEX duties_department_open ON duties (department_id, due_date) WHERE done_at IS NULL;
