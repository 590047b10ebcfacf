//! The audit log's hash chain: seals, each over a block of audit events (see
//! `service::audit_chain`). Append-only: triggers refuse updates and deletes on both backends.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::AuditEvent;
use super::schema::{audit_events, audit_seals};
use super::DbConn;

/// A seal: the events with `after_event_id < id <= last_event_id`, chained to the seal before.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_seals)]
pub struct Seal {
    /// Position in the chain: 1, 2, 3 … without gaps.
    pub seq: i64,
    /// The previous seal's last event id (0 for the first seal).
    pub after_event_id: i64,
    /// The highest event id covered.
    pub last_event_id: i64,
    /// Events covered.
    pub event_count: i64,
    /// The previous seal's hash (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256, hex.
    pub hash: String,
    /// When it was made.
    pub sealed_at: NaiveDateTime,
}

/// The newest seal, if any.
pub fn head(conn: &mut DbConn) -> QueryResult<Option<Seal>> {
    audit_seals::table
        .order(audit_seals::seq.desc())
        .select(Seal::as_select())
        .first(conn)
        .optional()
}

/// One seal by position.
pub fn find(conn: &mut DbConn, seq: i64) -> QueryResult<Option<Seal>> {
    audit_seals::table
        .find(seq)
        .select(Seal::as_select())
        .first(conn)
        .optional()
}

/// Up to `limit` seals after position `after`, in order.
pub fn after(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<Seal>> {
    audit_seals::table
        .filter(audit_seals::seq.gt(after))
        .order(audit_seals::seq)
        .limit(limit)
        .select(Seal::as_select())
        .load(conn)
}

/// Store a seal.
pub fn insert(conn: &mut DbConn, seal: &Seal) -> QueryResult<()> {
    crate::with_backend!(conn, |c| diesel::insert_into(audit_seals::table)
        .values(seal)
        .execute(c))?;
    Ok(())
}

/// The key of the gate every insert of audit events passes on PostgreSQL (migration
/// `audit_insert_gate`): "LHAUDIT1" as a big-endian integer.
const GATE_KEY: i64 = 5_496_715_179_679_372_337;

/// Tries at the gate before a sealer gives up for the time being, and the pause between them.
const GATE_TRIES: u32 = 20;
const GATE_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// On PostgreSQL, the highest audit event id that is final: no transaction still open holds an
/// id at or below it. Found by holding the insert gate exclusively for an instant (every
/// transaction that has drawn an id holds it shared until it ends); `Ok(None)` when the gate
/// stayed taken through every try (a long transaction adding events: seal later). Without
/// waiting in the lock queue, so the writers of audit events are never held up. On SQLite ids
/// follow commits, so every committed id is final: `Ok(Some(i64::MAX))`.
pub fn settled_up_to(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    let DbConn::Pg(c) = conn else {
        return Ok(Some(i64::MAX));
    };
    for attempt in 0..GATE_TRIES {
        if attempt > 0 {
            std::thread::sleep(GATE_PAUSE);
        }
        let settled = c.transaction(|c| -> QueryResult<Option<i64>> {
            let open: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "pg_try_advisory_xact_lock({GATE_KEY})"
            )))
            .get_result(c)?;
            if !open {
                return Ok(None);
            }
            // A statement of its own, so its snapshot is taken with the gate held.
            let max: Option<i64> = audit_events::table
                .select(diesel::dsl::max(audit_events::id))
                .first(c)?;
            Ok(Some(max.unwrap_or(0)))
        })?;
        if settled.is_some() {
            return Ok(settled);
        }
    }
    Ok(None)
}

/// The highest id the next seal may cover: at most `room` events after `after`, none above
/// `settled` (see [`settled_up_to`]), and, when `made_by` is given, ending before the first event
/// made after it (a later id made earlier waits with it).
pub fn next_block_end(
    conn: &mut DbConn,
    after: i64,
    room: i64,
    settled: i64,
    made_by: Option<NaiveDateTime>,
) -> QueryResult<Option<i64>> {
    let mut q = audit_events::table
        .filter(audit_events::id.gt(after))
        .filter(audit_events::id.le(settled))
        .select(audit_events::id)
        .order(audit_events::id)
        .limit(room)
        .into_boxed::<super::people::Db>();
    if let Some(t) = made_by {
        let first_recent: Option<i64> = audit_events::table
            .filter(audit_events::id.gt(after))
            .filter(audit_events::occurred_at.gt(t))
            .select(diesel::dsl::min(audit_events::id))
            .first(conn)?;
        if let Some(r) = first_recent {
            q = q.filter(audit_events::id.lt(r));
        }
    }
    Ok(q.load::<i64>(conn)?.last().copied())
}

/// Events per read when streaming a block.
const PAGE: i64 = 5_000;

/// Every event with `after < id <= last`, in id order, handed to `sink` (read a page at a time);
/// the first error `sink` returns ends the walk.
pub fn each_event<E: From<diesel::result::Error>>(
    conn: &mut DbConn,
    after: i64,
    last: i64,
    mut sink: impl FnMut(&AuditEvent) -> Result<(), E>,
) -> Result<(), E> {
    let mut from = after;
    loop {
        let page: Vec<AuditEvent> = audit_events::table
            .filter(audit_events::id.gt(from))
            .filter(audit_events::id.le(last))
            .order(audit_events::id)
            .limit(PAGE)
            .select(AuditEvent::as_select())
            .load(conn)?;
        for ev in &page {
            sink(ev)?;
        }
        match page.last() {
            Some(ev) if page.len() as i64 == PAGE => from = ev.id,
            _ => return Ok(()),
        }
    }
}

/// How many events lie beyond `last`, and when the oldest of them was made.
pub fn unsealed(conn: &mut DbConn, last: i64) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    audit_events::table
        .filter(audit_events::id.gt(last))
        .select((diesel::dsl::count_star(), diesel::dsl::min(audit_events::occurred_at)))
        .first(conn)
}
