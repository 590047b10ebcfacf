ALTER TABLE import_rows DROP COLUMN replaced_source;
