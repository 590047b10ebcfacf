-- Data-protection requests (UK GDPR Arts. 15-21) and their statutory clock (Art. 12(3)): when
-- each was received, whether its clock was stopped (awaiting identity or clarification) or the
-- response extended, and how it was closed. The dates are computed by the service.
CREATE TABLE rights_requests (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'erasure', 'rectification', 'restriction', 'objection', 'portability')),
    person_id BIGINT REFERENCES people (id),
    requester TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'post', 'phone', 'in_person', 'web', 'other')),
    received_on DATE NOT NULL,
    extended_months INTEGER NOT NULL DEFAULT 0 CHECK (extended_months BETWEEN 0 AND 2),
    extension_reason TEXT,
    extended_at TIMESTAMP,
    pauses TEXT NOT NULL DEFAULT '[]',
    stopped_on DATE,
    stop_awaiting TEXT CHECK (stop_awaiting IN ('identity', 'fee', 'clarification')),
    stop_reason TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'refused', 'withdrawn')),
    closed_at TIMESTAMP,
    outcome_note TEXT,
    notes TEXT,
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX rights_requests_person ON rights_requests (person_id);
CREATE INDEX rights_requests_status ON rights_requests (status, received_on);
