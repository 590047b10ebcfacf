-- Journey analytics read every event of a slice of people in (person, time) order: one index
-- that covers those reads replaces the (person, time) index, which it extends.
DROP INDEX engagement_events_person;
CREATE INDEX engagement_events_journey ON engagement_events (person_id, occurred_at, action, kind, department_id, activity_id);
