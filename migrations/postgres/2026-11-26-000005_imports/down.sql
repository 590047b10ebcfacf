DROP TABLE IF EXISTS import_templates;
DROP TABLE IF EXISTS import_rows;
DROP TABLE IF EXISTS import_file_chunks;
DROP TABLE IF EXISTS import_batches;
