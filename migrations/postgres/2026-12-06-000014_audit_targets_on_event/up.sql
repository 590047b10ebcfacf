-- A page of results' audit event carries the ids it showed (`targets`, a JSON array, sorted), and
-- `audit_event_targets` becomes the index "who saw this person" and nothing else, keyed (stretch,
-- person, event). It was a table keyed by event plus an index by stretch and person: two entries
-- and a foreign-key check for each person shown, the larger part of the read-audit writer's work
-- under searches. The stretch is now 1,024 events (was 16,384): one write of the audit buffer
-- (about a thousand pages of results) changes about a stretch's pages instead of most of a
-- 16,384-event stretch's (thousands of pages), and a look-up by person, one seek per stretch,
-- still takes milliseconds (20,000 seeks in 7 ms on 2,300,000 events).
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
ALTER TABLE audit_events ADD COLUMN targets TEXT;
UPDATE audit_events e SET targets = t.list
FROM (SELECT event_id, json_agg(target_id ORDER BY target_id)::text AS list
      FROM audit_event_targets GROUP BY event_id) t
WHERE e.id = t.event_id AND e.target_id IS NULL;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;

CREATE TABLE audit_target_index (
    stretch BIGINT NOT NULL,
    target_id TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    CONSTRAINT audit_event_targets_key PRIMARY KEY (stretch, target_id, event_id)
);
INSERT INTO audit_target_index (stretch, target_id, event_id)
    SELECT event_id / 1024, target_id, event_id FROM audit_event_targets;
DROP TABLE audit_event_targets;
ALTER TABLE audit_target_index RENAME TO audit_event_targets;
CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE ON audit_event_targets
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
