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

/// The highest id the next seal may cover: at most `room` events after `after`, and, when
/// `made_by` is given, ending before the first event made after it (a later id made earlier
/// waits with it).
pub fn next_block_end(
    conn: &mut DbConn,
    after: i64,
    room: i64,
    made_by: Option<NaiveDateTime>,
) -> QueryResult<Option<i64>> {
    let mut q = audit_events::table
        .filter(audit_events::id.gt(after))
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
