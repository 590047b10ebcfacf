-- UK GDPR Art. 6(3): a purpose relying on public task or legal obligation names the law that
-- gives the task or the obligation (checked by the service for new and changed purposes).
ALTER TABLE purposes ADD COLUMN statutory_reference TEXT;
