DROP INDEX engagement_events_period;
CREATE INDEX engagement_events_period ON engagement_events (occurred_at, person_id, action, kind, department_id, activity_id);
ALTER TABLE engagement_events RESET (autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor);
