-- A gate every statement that adds audit events passes: before its first row takes an id from
-- the sequence, the statement takes a shared transaction-level advisory lock (key 'LHAUDIT1'),
-- held until its transaction ends. The sealer takes the same key exclusively for an instant:
-- once it holds it, no transaction that has drawn an audit event id is still open, so every id
-- up to the largest committed one is final and a seal up to there can never miss an event that
-- commits later. Advisory locks need no privilege, so the service's role passes the gate too.
CREATE FUNCTION audit_events_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(5496715179679372337);
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_events_gate BEFORE INSERT ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_gate();
