-- A second sign-in factor (TOTP): the confirmed secret, one awaiting confirmation, and the last
-- step a code was accepted for (a code is never accepted twice). Whether a session may only enrol
-- one follows from the user's roles and secret, so sessions store nothing for it.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
