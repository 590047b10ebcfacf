-- Activities people engage with, and the engagement events themselves.
CREATE TABLE activity_kinds (
    code TEXT PRIMARY KEY NOT NULL,
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL REFERENCES activity_kinds (code),
    title TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    place TEXT,
    capacity INTEGER,
    reference TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX activities_department ON activities (department_id, starts_at);
CREATE INDEX activities_kind ON activities (kind, starts_at);

CREATE TABLE activity_shifts (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    capacity INTEGER
);
CREATE INDEX activity_shifts_activity ON activity_shifts (activity_id);

CREATE TABLE engagement_events (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    activity_id BIGINT REFERENCES activities (id),
    shift_id BIGINT REFERENCES activity_shifts (id),
    kind TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('invited', 'registered', 'attended', 'no_show', 'cancelled',
        'volunteered', 'responded', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'complained')),
    occurred_at TIMESTAMP NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    source TEXT NOT NULL,
    external_ref TEXT,
    hours DOUBLE PRECISION,
    response_ref TEXT,
    detail TEXT,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by BIGINT
);
CREATE INDEX engagement_events_person ON engagement_events (person_id, occurred_at);
CREATE INDEX engagement_events_time ON engagement_events (occurred_at);
CREATE INDEX engagement_events_activity ON engagement_events (activity_id, action);
CREATE UNIQUE INDEX engagement_events_idempotency ON engagement_events (source, external_ref) WHERE external_ref IS NOT NULL;

-- What remains of erased people's engagement: counts only (activity_id 0 = none).
CREATE TABLE engagement_aggregates (
    activity_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    department_id BIGINT NOT NULL,
    month TEXT NOT NULL,
    events BIGINT NOT NULL,
    hours DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (kind, action, department_id, month, activity_id)
);

INSERT INTO activity_kinds (code, label, created_at) VALUES
    ('banquet', 'City banquet', CURRENT_TIMESTAMP),
    ('volunteering', 'Volunteering', CURRENT_TIMESTAMP),
    ('consultation', 'Consultation', CURRENT_TIMESTAMP),
    ('event', 'Event', CURRENT_TIMESTAMP),
    ('communication', 'Communication', CURRENT_TIMESTAMP);
