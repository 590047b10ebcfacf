-- The audit log is append-only: deleting from it is refused as updating it already is.
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_event_targets_no_delete BEFORE DELETE ON audit_event_targets
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
