-- Identity resolution: source records, blocking keys, match candidates, merges, background jobs.
CREATE TABLE source_records (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    person_id BIGINT REFERENCES people (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    source_system TEXT NOT NULL,
    external_id TEXT,
    import_batch_id BIGINT,
    row_number BIGINT,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    match_decision TEXT NOT NULL CHECK (match_decision IN ('created', 'linked', 'review', 'manual')),
    match_score DOUBLE PRECISION,
    match_explanation TEXT,
    received_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX source_records_external ON source_records (department_id, source_system, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX source_records_person ON source_records (person_id);
CREATE INDEX source_records_batch ON source_records (import_batch_id, row_number);
CREATE INDEX source_records_hash ON source_records (department_id, content_hash);

CREATE TABLE blocking_keys (
    key TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (key, person_id)
);
CREATE INDEX blocking_keys_person ON blocking_keys (person_id);

CREATE TABLE match_candidates (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    person_a BIGINT NOT NULL REFERENCES people (id),
    person_b BIGINT NOT NULL REFERENCES people (id),
    probability DOUBLE PRECISION NOT NULL,
    match_weight DOUBLE PRECISION NOT NULL,
    explanation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'superseded')),
    origin TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by BIGINT,
    UNIQUE (person_a, person_b)
);
CREATE INDEX match_candidates_status ON match_candidates (status, probability);
CREATE INDEX match_candidates_b ON match_candidates (person_b);

CREATE TABLE merges (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    survivor_id BIGINT NOT NULL REFERENCES people (id),
    merged_ids TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT,
    undone_at TIMESTAMP,
    undone_by BIGINT
);
CREATE INDEX merges_survivor ON merges (survivor_id);

CREATE TABLE match_models (
    name TEXT PRIMARY KEY NOT NULL,
    model TEXT NOT NULL,
    trained_at TIMESTAMP NOT NULL,
    pairs BIGINT NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    params TEXT NOT NULL,
    progress_done BIGINT NOT NULL,
    progress_total BIGINT NOT NULL,
    result TEXT,
    error TEXT,
    claimed_by TEXT,
    heartbeat_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    created_by BIGINT
);
CREATE INDEX jobs_status ON jobs (status, kind, id);
