ALTER TABLE rights_requests DROP COLUMN anonymised_at;
