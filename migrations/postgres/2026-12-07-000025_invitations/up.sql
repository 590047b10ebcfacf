-- An account an administrator opens without a password gets an invitation instead: the SHA-256
-- of a random single-use token the new user follows to choose their own password, and when it
-- stops working (security anchor 10: initial passwords are never chosen by someone else).
ALTER TABLE users ADD COLUMN invite_hash TEXT;
ALTER TABLE users ADD COLUMN invite_expires_at TIMESTAMP;
CREATE UNIQUE INDEX users_invite ON users (invite_hash) WHERE invite_hash IS NOT NULL;
