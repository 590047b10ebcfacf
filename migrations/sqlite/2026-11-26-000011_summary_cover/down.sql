CREATE INDEX person_addresses_person ON person_addresses (person_id);
DROP INDEX person_addresses_summary;
DROP INDEX person_phones_summary;
DROP INDEX person_emails_summary;
