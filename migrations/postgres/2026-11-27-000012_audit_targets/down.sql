DROP TABLE audit_event_targets;
