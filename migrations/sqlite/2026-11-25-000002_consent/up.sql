-- Consent ledger, purposes, suppression list, erasure and service keys.
CREATE TABLE purposes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('service', 'marketing')),
    default_lawful_basis TEXT NOT NULL CHECK (default_lawful_basis IN
        ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE purpose_wordings (
    id INTEGER PRIMARY KEY,
    purpose_id BIGINT NOT NULL REFERENCES purposes (id),
    version INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (purpose_id, version)
);

CREATE TABLE consent_events (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    purpose_id BIGINT NOT NULL REFERENCES purposes (id),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'post', 'phone')),
    contact_point TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('granted', 'withdrawn', 'refused')),
    lawful_basis TEXT NOT NULL CHECK (lawful_basis IN
        ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests')),
    source TEXT NOT NULL CHECK (source IN ('staff', 'web_form', 'import', 'unsubscribe', 'api')),
    source_ref TEXT,
    wording_version INTEGER,
    capture_method TEXT NOT NULL,
    evidence TEXT,
    captured_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by BIGINT,
    expires_at TIMESTAMP
);
CREATE INDEX consent_events_person ON consent_events (person_id, purpose_id, channel, captured_at);

-- The current state per person x purpose x channel x contact point ('' = the whole channel),
-- derived from the ledger on every append (latest capture wins; a withdrawal wins a tie).
CREATE TABLE consent_state (
    person_id BIGINT NOT NULL REFERENCES people (id),
    purpose_id BIGINT NOT NULL REFERENCES purposes (id),
    channel TEXT NOT NULL,
    contact_point TEXT NOT NULL,
    status TEXT NOT NULL,
    lawful_basis TEXT NOT NULL,
    capture_method TEXT NOT NULL,
    captured_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    event_id BIGINT NOT NULL,
    PRIMARY KEY (person_id, purpose_id, channel, contact_point)
);
CREATE INDEX consent_state_purpose ON consent_state (purpose_id, channel, person_id);

CREATE TABLE suppressions (
    id INTEGER PRIMARY KEY,
    point_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'phone')),
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribe', 'objection', 'erasure', 'bounce', 'complaint', 'staff')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE service_keys (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

ALTER TABLE people ADD COLUMN erased_at TIMESTAMP;
ALTER TABLE person_emails ADD COLUMN point_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE person_phones ADD COLUMN point_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX person_emails_hash ON person_emails (point_hash);
CREATE INDEX person_phones_hash ON person_phones (point_hash);
CREATE INDEX people_status ON people (status, id);
