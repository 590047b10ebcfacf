DROP INDEX engagement_events_journey;
CREATE INDEX engagement_events_person ON engagement_events (person_id, occurred_at);
