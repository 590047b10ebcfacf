ALTER TABLE purposes DROP COLUMN statutory_reference;
