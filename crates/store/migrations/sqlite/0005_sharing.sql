-- Sharing: the working-day calendar, share requests, grants, duties with deadlines and
-- their accountability records, and the data API's access log.
-- Keep in step with ../postgres/0005_sharing.sql.

-- Holiday schedules the bureau imported (2020–2026 ship with the code; a row here adds a
-- year or replaces a built-in one). Dates are JSON arrays of YYYY-MM-DD.
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    notice TEXT NOT NULL,
    notice_date TEXT NOT NULL,
    holidays TEXT NOT NULL,
    make_up_days TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

-- A consumer department's application for an entry's data (共享申请).
CREATE TABLE share_requests (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    provider_id BIGINT NOT NULL REFERENCES departments (id),
    consumer_id BIGINT NOT NULL REFERENCES departments (id),
    applicant TEXT NOT NULL,
    -- JSON array of item identifiers.
    items TEXT NOT NULL,
    purpose TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    application TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    share_type TEXT NOT NULL,
    status TEXT NOT NULL,
    -- JSON array of the items granted (a decision may grant fewer).
    granted_items TEXT,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT,
    -- The approved request this one renews.
    renewal_of BIGINT REFERENCES share_requests (id),
    created_at TEXT NOT NULL
);
CREATE INDEX share_requests_provider ON share_requests (provider_id, status);
CREATE INDEX share_requests_consumer ON share_requests (consumer_id, status);

-- Staff members a chief allows to decide the department's share requests.
CREATE TABLE decision_delegates (
    department_id BIGINT NOT NULL REFERENCES departments (id),
    username TEXT NOT NULL,
    delegated_by TEXT NOT NULL,
    delegated_at TEXT NOT NULL,
    PRIMARY KEY (department_id, username)
);

-- What an application may read of an entry (授权).
CREATE TABLE grants (
    id INTEGER PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES share_requests (id),
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    consumer_id BIGINT NOT NULL REFERENCES departments (id),
    application TEXT NOT NULL,
    -- JSON array of {"item": IDENTIFIER, "clear": bool}.
    items TEXT NOT NULL,
    -- JSON object {IDENTIFIER: [allowed values]} or NULL for every row.
    row_filter TEXT,
    expires_at TEXT NOT NULL,
    rate_per_minute BIGINT NOT NULL,
    daily_quota BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    revoke_reason TEXT
);
CREATE INDEX grants_lookup ON grants (resource_id, consumer_id, application, status);

-- A duty with a deadline in working days, owed by a department (or the bureau when
-- department_id is NULL).
CREATE TABLE duties (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    department_id BIGINT REFERENCES departments (id),
    received_at TEXT NOT NULL,
    due_date TEXT NOT NULL,
    provisional BOOLEAN NOT NULL,
    done_at TEXT
);
CREATE INDEX duties_open ON duties (done_at, due_date);
CREATE INDEX duties_subject ON duties (subject);

-- A missed duty (责任追究): written once per duty, when it is first seen overdue.
CREATE TABLE accountability (
    id INTEGER PRIMARY KEY,
    duty_id BIGINT NOT NULL UNIQUE REFERENCES duties (id),
    department_id BIGINT REFERENCES departments (id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    due_date TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- Every data API call, without the values (group-committed by the server).
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    token_id BIGINT,
    department_id BIGINT,
    application TEXT,
    resource_id BIGINT,
    endpoint TEXT NOT NULL,
    items TEXT NOT NULL,
    filter_shape TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_us BIGINT NOT NULL
);
CREATE INDEX access_log_resource ON access_log (resource_id, at);
CREATE INDEX access_log_department ON access_log (department_id, at);

-- A consumer's objection to one record (数据异议): while accepted, the record is flagged
-- 异议中 to every consumer; the provider corrects it or confirms it as is.
CREATE TABLE objections (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    provider_id BIGINT NOT NULL REFERENCES departments (id),
    consumer_id BIGINT NOT NULL REFERENCES departments (id),
    -- The record's key values, JSON array of text.
    record_key TEXT NOT NULL,
    items TEXT NOT NULL,
    description TEXT NOT NULL,
    raised_by TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX objections_open ON objections (resource_id, status);

-- A consumer's need for data nobody catalogued (需求清单): the bureau assigns a likely
-- provider, which catalogues it or declines with reasons within its deadline.
CREATE TABLE data_needs (
    id INTEGER PRIMARY KEY,
    consumer_id BIGINT NOT NULL REFERENCES departments (id),
    raised_by TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_id BIGINT REFERENCES departments (id),
    assigned_by TEXT,
    answer TEXT,
    resource_code TEXT,
    answered_by TEXT,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
