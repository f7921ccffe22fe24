-- Foundation schema, SQLite dialect. Keep in step with ../postgres/0001_foundation.sql:
-- the only differences allowed are column types and identity columns.

CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    credit_code TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('government', 'social')),
    branch_no BIGINT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'chief', 'staff', 'auditor')),
    department_id BIGINT REFERENCES departments (id),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    CHECK ((role IN ('chief', 'staff')) = (department_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_one_chief_per_department ON users (department_id) WHERE role = 'chief' AND active;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('web', 'api')),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    application TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
);

CREATE TABLE resources (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    seq BIGINT NOT NULL,
    provider_id BIGINT NOT NULL REFERENCES departments (id),
    name TEXT NOT NULL,
    class_kind TEXT NOT NULL,
    share_type TEXT NOT NULL,
    security_grade TEXT NOT NULL,
    update_cycle TEXT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    published_version BIGINT,
    return_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    UNIQUE (prefix, seq)
);
CREATE INDEX resources_provider ON resources (provider_id, code);
CREATE INDEX resources_status ON resources (status, code);

-- The wide columns live apart so that listing, counting and filtering touch narrow rows.
CREATE TABLE resource_bodies (
    resource_id BIGINT PRIMARY KEY REFERENCES resources (id),
    body TEXT NOT NULL,
    search_text TEXT NOT NULL
);

CREATE TABLE resource_versions (
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (resource_id, version)
);

CREATE TABLE resource_grams (
    gram TEXT NOT NULL,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    PRIMARY KEY (gram, resource_id)
);
CREATE INDEX resource_grams_resource ON resource_grams (resource_id);

CREATE TABLE resource_items (
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    authoritative BOOLEAN NOT NULL,
    PRIMARY KEY (resource_id, identifier)
);
CREATE INDEX resource_items_name ON resource_items (name);

CREATE TABLE source_conflicts (
    id INTEGER PRIMARY KEY,
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    item_name TEXT NOT NULL,
    authoritative_resource_id BIGINT NOT NULL REFERENCES resources (id),
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    UNIQUE (resource_id, item_name, authoritative_resource_id)
);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT,
    role TEXT,
    department TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    request_id TEXT,
    source_ip TEXT,
    outcome TEXT,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- Append-only: the product never updates or deletes audit rows, and the database refuses to.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
