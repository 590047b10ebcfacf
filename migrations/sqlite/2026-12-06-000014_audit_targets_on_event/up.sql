-- A page of results' audit event carries the ids it showed (`targets`, a JSON array, sorted), and
-- `audit_event_targets` becomes the index "who saw this person" and nothing else, keyed (stretch,
-- person, event). It was a table keyed by event plus an index by stretch and person: two entries
-- and a foreign-key check for each person shown, the larger part of the read-audit writer's work
-- under searches. The stretch is now 1,024 events (was 16,384): one write of the audit buffer
-- (about a thousand pages of results) changes about a stretch's pages instead of most of a
-- 16,384-event stretch's (thousands of pages), and a look-up by person, one seek per stretch,
-- still takes milliseconds (20,000 seeks in 7 ms on 2,300,000 events).
DROP TRIGGER audit_events_no_update;
ALTER TABLE audit_events ADD COLUMN targets TEXT;
UPDATE audit_events SET targets = (
    SELECT json_group_array(target_id) FROM (
        SELECT t.target_id FROM audit_event_targets t WHERE t.event_id = audit_events.id ORDER BY t.target_id))
WHERE target_id IS NULL AND id IN (SELECT event_id FROM audit_event_targets);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TABLE audit_target_index (
    stretch BIGINT NOT NULL,
    target_id TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    PRIMARY KEY (stretch, target_id, event_id)
) WITHOUT ROWID;
INSERT INTO audit_target_index (stretch, target_id, event_id)
    SELECT event_id / 1024, target_id, event_id FROM audit_event_targets;
DROP TABLE audit_event_targets;
ALTER TABLE audit_target_index RENAME TO audit_event_targets;
CREATE TRIGGER audit_event_targets_no_update BEFORE UPDATE ON audit_event_targets
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
