-- At most one dedupe job queued or running: two requests at once (PostgreSQL runs them side by
-- side) could otherwise both find none and start two passes. Any surplus left from before is
-- closed first, keeping the newest.
UPDATE jobs SET status = 'failed', error = 'superseded: only one dedupe job runs at a time'
WHERE kind = 'dedupe' AND status IN ('queued', 'running')
  AND id <> (SELECT MAX(id) FROM jobs WHERE kind = 'dedupe' AND status IN ('queued', 'running'));
CREATE UNIQUE INDEX jobs_one_active_dedupe ON jobs (kind) WHERE kind = 'dedupe' AND status IN ('queued', 'running');
