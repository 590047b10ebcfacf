-- Segments and templates can be changed while only draft campaigns use them; each change
-- counts a version (the ETag, for If-Match), and an approval holds to the version it looked at.
ALTER TABLE segments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE templates ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
