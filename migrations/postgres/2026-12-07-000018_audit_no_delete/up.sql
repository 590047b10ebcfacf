-- The audit log is append-only: deleting from it (or truncating it) is refused as updating it
-- already is.
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_event_targets_no_delete BEFORE DELETE ON audit_event_targets
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_event_targets_no_truncate BEFORE TRUNCATE ON audit_event_targets
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
