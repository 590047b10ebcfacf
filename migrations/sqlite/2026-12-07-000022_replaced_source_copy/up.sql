-- A row that brought a newer copy of a record its department sent before (same source system
-- and external id) keeps the copy it replaced, so that a rollback of its batch puts that copy
-- back instead of deleting the record. JSON: person_id, import_batch_id, row_number, data,
-- content_hash, received_at; NULL when the record was new, or first written by the same batch.
ALTER TABLE import_rows ADD COLUMN replaced_source TEXT;
