-- A person's summary (search results, lists) reads the primary email, phone and postcode:
-- indexes in the order the summary asks for them (primary first, then oldest) and holding the
-- value, so each is one index lookup without visiting the table.
CREATE INDEX person_emails_summary ON person_emails (person_id, is_primary DESC, id, address);
CREATE INDEX person_phones_summary ON person_phones (person_id, is_primary DESC, id, number);
CREATE INDEX person_addresses_summary ON person_addresses (person_id, is_primary DESC, id, postcode);
-- The new address index starts with person_id, so it serves what this one did.
DROP INDEX person_addresses_person;
