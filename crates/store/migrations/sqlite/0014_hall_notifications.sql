-- Notifications inside the hall (站内通知): addressed to a department (its chief and staff)
-- or, with department_id NULL, to the bureau; written with the duty they announce.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    department_id BIGINT REFERENCES departments (id),
    duty_id BIGINT REFERENCES duties (id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notifications_owner ON notifications (department_id, id);
-- Who has read which notification: each person their own.
CREATE TABLE notification_reads (
    notification_id BIGINT NOT NULL REFERENCES notifications (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    read_at TEXT NOT NULL,
    PRIMARY KEY (notification_id, user_id)
);
-- The bureau urging (督办) the owner of an open duty: a note, never edited or removed.
CREATE TABLE duty_urgings (
    id INTEGER PRIMARY KEY,
    duty_id BIGINT NOT NULL REFERENCES duties (id),
    note TEXT NOT NULL,
    urged_by TEXT NOT NULL,
    urged_at TEXT NOT NULL
);
CREATE INDEX duty_urgings_duty ON duty_urgings (duty_id, id);
