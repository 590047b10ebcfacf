-- Journey analytics read one action class at a time (participation, a funnel's steps) over a
-- period: with the period index led by time, a year's read walked every event of the year and
-- threw most away (communications — sent, opened, clicked — are about 40 % of events and no
-- journey reads them). Led by action, each action's part of the period is one range of the
-- index, and only the events wanted are read. Every query that filters by time alone now names
-- the actions it accepts (all of them where it wants every event), so it still reads ranges of
-- this index; new events still land at the recent end of each action's range.
DROP INDEX engagement_events_period;
CREATE INDEX engagement_events_period ON engagement_events (action, occurred_at, person_id, kind, department_id, activity_id);
-- The analytics read the index only, which needs the visibility map to be current. With the
-- default insert scale factor (20 %) autovacuum would first visit a 10,000,000-event ledger after
-- 2,000,000 new events, and until then every recent event costs a visit to the table; at 1 % it
-- follows a bulk load of 100,000 events within a minute or so.
ALTER TABLE engagement_events SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
