-- `person_emails_hash` and `person_phones_hash` are read by nothing: a contact point's hash is
-- compared with the suppression list in memory (the list has its own index on the hash), and no
-- query looks people up by it. Each still cost every new email and phone a write at a random
-- page of a large index (an imported new person wrote about 22 such entries), so they go.
DROP INDEX IF EXISTS person_emails_hash;
DROP INDEX IF EXISTS person_phones_hash;
