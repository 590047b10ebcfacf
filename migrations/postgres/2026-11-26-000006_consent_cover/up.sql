-- The contactable set for a purpose reads every state row of one purpose and channel: an index
-- holding every column the decision needs answers it without touching the table.
DROP INDEX IF EXISTS consent_state_purpose;
CREATE INDEX consent_state_purpose ON consent_state
    (purpose_id, channel, person_id, contact_point, status, lawful_basis, capture_method, captured_at, expires_at);
