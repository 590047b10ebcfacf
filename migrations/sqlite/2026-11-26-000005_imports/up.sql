-- Bulk imports: a batch per uploaded file, the file itself (until it is committed), and the
-- predicted then applied outcome of every row.
CREATE TABLE import_batches (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    source_system TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_kind TEXT NOT NULL CHECK (file_kind IN ('csv', 'xlsx')),
    file_hash TEXT NOT NULL,
    file_bytes BIGINT NOT NULL,
    sheet TEXT,
    headers TEXT NOT NULL,
    mapping TEXT NOT NULL,
    consents TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('uploaded', 'analysing', 'analysed', 'committing', 'committed', 'rolling_back', 'rolled_back', 'failed')),
    rows_total BIGINT NOT NULL,
    rows_done BIGINT NOT NULL,
    counts TEXT NOT NULL,
    error TEXT,
    phase_started_at TIMESTAMP,
    heartbeat_at TIMESTAMP,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    analysed_at TIMESTAMP,
    committed_at TIMESTAMP,
    rolled_back_at TIMESTAMP
);
CREATE INDEX import_batches_department ON import_batches (department_id, created_at);
CREATE INDEX import_batches_status ON import_batches (status);

CREATE TABLE import_file_chunks (
    batch_id BIGINT NOT NULL REFERENCES import_batches (id),
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (batch_id, seq)
);

CREATE TABLE import_rows (
    batch_id BIGINT NOT NULL REFERENCES import_batches (id),
    row_number BIGINT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('create', 'link', 'review', 'duplicate', 'unchanged', 'reject')),
    person_id BIGINT REFERENCES people (id),
    duplicate_of BIGINT,
    match_score DOUBLE PRECISION,
    external_id TEXT,
    problems TEXT NOT NULL,
    applied BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (batch_id, row_number)
);
CREATE INDEX import_rows_person ON import_rows (person_id);
CREATE INDEX import_rows_outcome ON import_rows (batch_id, outcome, row_number);

CREATE TABLE import_templates (
    id INTEGER PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    consents TEXT NOT NULL,
    created_by BIGINT,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (department_id, name)
);
