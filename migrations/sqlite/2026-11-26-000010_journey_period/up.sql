-- Journey analytics read one period of events: an index on time that covers those reads replaces
-- the plain time index, so only the period is read however long the history.
DROP INDEX engagement_events_time;
CREATE INDEX engagement_events_period ON engagement_events (occurred_at, person_id, action, kind, department_id, activity_id);
