-- A hash chain over the audit log. Each seal covers the audit events with
-- after_event_id < id <= last_event_id (the blocks follow one another without gaps) and its
-- hash is SHA-256 over the previous seal's hash and every covered event, so changing, removing or
-- slipping in an event below the head, or removing a seal, no longer verifies. Append-only, like
-- the log itself.
CREATE TABLE audit_seals (
    seq INTEGER PRIMARY KEY NOT NULL,
    after_event_id BIGINT NOT NULL,
    last_event_id BIGINT NOT NULL,
    event_count BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sealed_at TIMESTAMP NOT NULL
);
CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;
CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit seals are append-only');
END;
