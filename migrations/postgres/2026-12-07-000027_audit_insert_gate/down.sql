DROP TRIGGER audit_events_gate ON audit_events;
DROP FUNCTION audit_events_gate();
