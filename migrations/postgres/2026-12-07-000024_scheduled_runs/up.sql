-- Work the service runs on its own now and then (the retention rules, once a period): when a run
-- last started and ended, and its counts. An instance claims a run by moving started_at on in one
-- conditional UPDATE, so with several instances only one runs it each period.
CREATE TABLE scheduled_runs (
    name TEXT PRIMARY KEY NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    report TEXT
);
INSERT INTO scheduled_runs (name) VALUES ('retention');
