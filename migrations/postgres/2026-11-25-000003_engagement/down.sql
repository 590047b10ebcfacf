DROP TABLE IF EXISTS engagement_aggregates;
DROP TABLE IF EXISTS engagement_events;
DROP TABLE IF EXISTS activity_shifts;
DROP TABLE IF EXISTS activities;
DROP TABLE IF EXISTS activity_kinds;
