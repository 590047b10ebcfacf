DROP INDEX users_invite;
ALTER TABLE users DROP COLUMN invite_expires_at;
ALTER TABLE users DROP COLUMN invite_hash;
