DROP INDEX engagement_events_period;
CREATE INDEX engagement_events_time ON engagement_events (occurred_at);
