-- Foundation: departments, staff accounts, sessions, people, contact points, provenance, audit.
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE user_departments (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    PRIMARY KEY (user_id, department_id)
);

CREATE TABLE login_throttle (
    key_hash TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_hash TEXT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'api_token')),
    label TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    title TEXT,
    given_name TEXT,
    family_name TEXT,
    preferred_name TEXT,
    date_of_birth DATE,
    organisation TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'restricted', 'erased', 'merged')),
    merged_into BIGINT REFERENCES people (id),
    version BIGINT NOT NULL,
    given_fold TEXT NOT NULL,
    family_fold TEXT NOT NULL,
    preferred_fold TEXT NOT NULL,
    full_fold TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_given_fold ON people (given_fold);
CREATE INDEX people_family_fold ON people (family_fold);
CREATE INDEX people_preferred_fold ON people (preferred_fold);
CREATE INDEX people_full_fold ON people (full_fold);

CREATE TABLE person_emails (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    address_key TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    set_by BIGINT,
    set_at TIMESTAMP NOT NULL,
    UNIQUE (person_id, address_key)
);
CREATE INDEX person_emails_key ON person_emails (address_key);

CREATE TABLE person_phones (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    label TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    set_by BIGINT,
    set_at TIMESTAMP NOT NULL,
    UNIQUE (person_id, number)
);
CREATE INDEX person_phones_number ON person_phones (number);

CREATE TABLE person_addresses (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    line1 TEXT NOT NULL,
    line2 TEXT,
    line3 TEXT,
    town TEXT,
    county TEXT,
    postcode TEXT,
    country TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    set_by BIGINT,
    set_at TIMESTAMP NOT NULL
);
CREATE INDEX person_addresses_person ON person_addresses (person_id);
CREATE INDEX person_addresses_postcode ON person_addresses (postcode);

CREATE TABLE person_tags (
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (person_id, tag)
);
CREATE INDEX person_tags_tag ON person_tags (tag, person_id);

CREATE TABLE person_departments (
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (person_id, department_id)
);
CREATE INDEX person_departments_department ON person_departments (department_id, person_id);

CREATE TABLE field_provenance (
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    set_by BIGINT,
    set_at TIMESTAMP NOT NULL,
    PRIMARY KEY (person_id, field)
);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    actor_user_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    outcome TEXT NOT NULL,
    client_addr TEXT,
    request_id TEXT,
    detail TEXT
);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, occurred_at);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, occurred_at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
