ALTER TABLE templates DROP COLUMN version;
ALTER TABLE segments DROP COLUMN version;
