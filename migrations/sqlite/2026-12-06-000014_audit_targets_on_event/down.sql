CREATE TABLE audit_event_targets_by_event (
    event_id BIGINT NOT NULL REFERENCES audit_events (id),
    target_id TEXT NOT NULL,
    PRIMARY KEY (event_id, target_id)
) WITHOUT ROWID;
INSERT INTO audit_event_targets_by_event (event_id, target_id)
    SELECT event_id, target_id FROM audit_event_targets;
DROP TABLE audit_event_targets;
ALTER TABLE audit_event_targets_by_event RENAME TO audit_event_targets;
CREATE INDEX audit_event_targets_stretch ON audit_event_targets ((event_id / 16384), target_id);
CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE ON audit_event_targets
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
ALTER TABLE audit_events DROP COLUMN targets;
