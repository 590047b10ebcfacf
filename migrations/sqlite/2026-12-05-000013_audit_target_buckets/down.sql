DROP INDEX audit_event_targets_stretch;
CREATE INDEX audit_event_targets_target ON audit_event_targets (target_id, event_id);
