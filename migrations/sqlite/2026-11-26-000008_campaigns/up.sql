-- Targeted communications: saved segments, templates, campaigns and their outbox.
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    definition TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    html_body TEXT NOT NULL,
    text_body TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    segment_id BIGINT NOT NULL REFERENCES segments (id),
    template_id BIGINT NOT NULL REFERENCES templates (id),
    purpose_id BIGINT NOT NULL REFERENCES purposes (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    channel TEXT NOT NULL CHECK (channel IN ('email')),
    sender_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'sending', 'sent', 'cancelled')),
    audience_size BIGINT,
    created_by BIGINT NOT NULL,
    approved_by BIGINT,
    approved_at TIMESTAMP,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX campaigns_status ON campaigns (status, created_at);

-- One row per recipient, written when the campaign starts (the audience is fixed then).
-- queued → sending (claimed by a worker until claimed_until) → sent | skipped | failed | bounced;
-- cancelled when the campaign is cancelled before the row was sent.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    message_ref TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'skipped', 'failed', 'bounced', 'cancelled')),
    skip_reason TEXT,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    last_error TEXT,
    sent_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, person_id)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_person ON outbox (person_id);
