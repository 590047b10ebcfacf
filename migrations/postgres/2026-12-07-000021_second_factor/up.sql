-- A second sign-in factor (TOTP): the confirmed secret, one awaiting confirmation, and the last
-- step a code was accepted for (a code is never accepted twice). A session signed in without the
-- factor its roles require may only enrol one.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE sessions ADD COLUMN enrolment_only BOOLEAN NOT NULL DEFAULT FALSE;
