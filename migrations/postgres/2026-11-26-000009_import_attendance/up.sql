-- An import can be an attendance list: every applied row also logs an engagement event for one
-- activity (JSON: activity id, action, hours).
ALTER TABLE import_batches ADD COLUMN attendance TEXT;
