-- Nothing on SQLite: writers take turns, so audit event ids follow commits and a seal never
-- covers an id that a transaction still open holds. (The PostgreSQL migration of this version
-- adds the gate the sealer needs there.)
SELECT 1;
