-- Retention of the register of data-protection requests: a request closed longer ago than
-- retention.rights_request_years keeps its kind, channel, dates, clock and outcome (the officer's
-- evidence of timely answers, as counts), and loses who made it, the notes and the link to the
-- person. When that happened.
ALTER TABLE rights_requests ADD COLUMN anonymised_at TIMESTAMP;
