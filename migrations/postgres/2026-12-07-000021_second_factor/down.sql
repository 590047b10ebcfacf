ALTER TABLE users DROP COLUMN totp_last_step, DROP COLUMN totp_pending, DROP COLUMN totp_secret;
