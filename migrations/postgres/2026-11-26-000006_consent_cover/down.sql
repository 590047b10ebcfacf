DROP INDEX IF EXISTS consent_state_purpose;
CREATE INDEX consent_state_purpose ON consent_state (purpose_id, channel, person_id);
