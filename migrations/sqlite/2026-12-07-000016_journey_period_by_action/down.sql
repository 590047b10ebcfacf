DROP INDEX engagement_events_period;
CREATE INDEX engagement_events_period ON engagement_events (occurred_at, person_id, action, kind, department_id, activity_id);
