-- A read of a page of results is one audit event naming every person it showed: one row here
-- per person, so "who saw this person's data" is still one indexed look-up.
CREATE TABLE audit_event_targets (
    event_id BIGINT NOT NULL REFERENCES audit_events (id),
    target_id TEXT NOT NULL,
    PRIMARY KEY (event_id, target_id)
) WITHOUT ROWID;
CREATE INDEX audit_event_targets_target ON audit_event_targets (target_id, event_id);

CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE ON audit_event_targets
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
