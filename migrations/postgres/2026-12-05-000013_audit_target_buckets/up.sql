-- "Who saw this person's data" is indexed by stretch of events first, then person: (event_id /
-- 16384, target_id). Keyed by person alone, every person a page of results showed was an insert
-- at a random place in an index as big as the whole audit trail, so each write of the audit
-- buffer touched thousands of its pages; now a write touches only the latest stretch's part. A
-- look-up by person probes each stretch in turn (one index seek per 16,384 events).
DROP INDEX audit_event_targets_target;
CREATE INDEX audit_event_targets_stretch ON audit_event_targets ((event_id / 16384), target_id);
