CREATE INDEX person_emails_hash ON person_emails (point_hash);
CREATE INDEX person_phones_hash ON person_phones (point_hash);
