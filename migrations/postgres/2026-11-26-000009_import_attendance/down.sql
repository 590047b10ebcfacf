ALTER TABLE import_batches DROP COLUMN attendance;
