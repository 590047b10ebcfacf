//! Audit events: append-only rows (an UPDATE trigger refuses changes on both backends).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_event_targets, audit_events};
use super::DbConn;

/// A stored audit event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    /// Row id (also the cursor order).
    pub id: i64,
    /// When it happened (UTC).
    pub occurred_at: NaiveDateTime,
    /// Internal id of the acting user, if a user acted.
    pub actor_user_id: Option<i64>,
    /// Actor label: `user:<public id>`, `system`, `cli`, `anonymous`.
    pub actor: String,
    /// What was done, e.g. `person.read`.
    pub action: String,
    /// Kind of target, e.g. `person`.
    pub target_kind: Option<String>,
    /// Public id of the target.
    pub target_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Client address.
    pub client_addr: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// JSON detail without personal values (field names, counts, reasons).
    pub detail: Option<String>,
}

/// An audit event to write. An absent value is written as NULL (not left to the column default),
/// so every insert has the same SQL and SQLite reuses one prepared statement.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct NewAuditEvent {
    /// When.
    pub occurred_at: NaiveDateTime,
    /// Acting user id.
    pub actor_user_id: Option<i64>,
    /// Actor label.
    pub actor: String,
    /// Action.
    pub action: String,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Target public id.
    pub target_id: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Client address.
    pub client_addr: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// JSON detail.
    pub detail: Option<String>,
}

/// Write events: on PostgreSQL one multi-row statement per chunk (fewer round trips); on SQLite one
/// prepared single-row statement run for each (parsing a 500-row statement every time cost more
/// than the rows themselves).
pub fn insert_many(conn: &mut DbConn, events: &[NewAuditEvent]) -> QueryResult<usize> {
    let mut n = 0;
    match conn {
        DbConn::Pg(c) => {
            for chunk in events.chunks(500) {
                n += diesel::insert_into(audit_events::table).values(chunk).execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            for ev in events {
                n += diesel::insert_into(audit_events::table).values(ev).execute(c)?;
            }
        }
    }
    Ok(n)
}

/// Write one event that names several targets (a page of results): the event once, then one
/// `audit_event_targets` row per target. Returns the event's id.
pub fn insert_with_targets(conn: &mut DbConn, event: &NewAuditEvent, targets: &[String]) -> QueryResult<i64> {
    let id: i64 = diesel::insert_into(audit_events::table)
        .values(event)
        .returning(audit_events::id)
        .get_result(conn)?;
    match conn {
        DbConn::Pg(c) => {
            for chunk in targets.chunks(500) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|t| {
                        (
                            audit_event_targets::event_id.eq(id),
                            audit_event_targets::target_id.eq(t),
                        )
                    })
                    .collect();
                diesel::insert_into(audit_event_targets::table)
                    .values(&rows)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            // One statement for the whole list (a JSON array bound as one text), kept prepared:
            // twenty separate inserts per page of results cost more than the rows themselves.
            let query = SqliteTargets {
                event_id: id,
                targets: serde_json::Value::from(targets).to_string(),
            };
            query.execute(c)?;
        }
    }
    Ok(id)
}

/// `audit_event_targets` rows for one event from a JSON array of target ids, in one statement
/// whose text never changes (so each connection prepares it once).
#[derive(Debug)]
struct SqliteTargets {
    event_id: i64,
    targets: String,
}

impl diesel::query_builder::QueryId for SqliteTargets {
    type QueryId = SqliteTargets;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C> RunQueryDsl<C> for SqliteTargets {}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for SqliteTargets {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        out.push_sql("INSERT INTO audit_event_targets (event_id, target_id) SELECT ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.event_id)?;
        out.push_sql(", value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.targets)?;
        out.push_sql(") WHERE true ON CONFLICT DO NOTHING");
        Ok(())
    }
}

/// The targets named by each of `event_ids` that has any (events of a page of results), in
/// target id order.
pub fn targets_of(conn: &mut DbConn, event_ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    audit_event_targets::table
        .filter(audit_event_targets::event_id.eq_any(event_ids))
        .select((audit_event_targets::event_id, audit_event_targets::target_id))
        .order((audit_event_targets::event_id, audit_event_targets::target_id))
        .load(conn)
}

/// The condition that makes a look-up of `audit_event_targets` by target id use its index, which
/// is keyed by stretch of events first (`event_id / 16384`, then target id; see the migration
/// `audit_target_buckets` (2026-12-05)): every stretch from the first to the last, one index seek each.
pub const EVERY_STRETCH: &str = "\"audit_event_targets\".\"event_id\" / 16384 IN (\
     WITH RECURSIVE stretch(n) AS (\
     SELECT MIN(event_id) / 16384 FROM audit_event_targets \
     UNION ALL SELECT n + 1 FROM stretch \
     WHERE n < (SELECT MAX(event_id) / 16384 FROM audit_event_targets)) \
     SELECT n FROM stretch)";

/// Filters for [`list`].
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only this actor (internal user id).
    pub actor_user_id: Option<i64>,
    /// Only this target kind.
    pub target_kind: Option<String>,
    /// Only this target id: events about it alone, and events of a page of results that
    /// showed it.
    pub target_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// From this time (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Before this time.
    pub to: Option<NaiveDateTime>,
    /// Only ids below this (cursor; newest first).
    pub before_id: Option<i64>,
}

/// Events matching `filter`, newest first, at most `limit`.
pub fn list(conn: &mut DbConn, filter: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    let mut q = audit_events::table.select(AuditEvent::as_select()).into_boxed();
    if let Some(a) = filter.actor_user_id {
        q = q.filter(audit_events::actor_user_id.eq(a));
    }
    if let Some(k) = &filter.target_kind {
        q = q.filter(audit_events::target_kind.eq(k.clone()));
    }
    if let Some(t) = &filter.target_id {
        let pages = audit_event_targets::table
            .filter(audit_event_targets::target_id.eq(t.clone()))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(EVERY_STRETCH))
            .select(audit_event_targets::event_id);
        q = q.filter(
            audit_events::target_id
                .eq(t.clone())
                .or(audit_events::target_id.is_null().and(audit_events::id.eq_any(pages))),
        );
    }
    if let Some(a) = &filter.action {
        q = q.filter(audit_events::action.eq(a.clone()));
    }
    if let Some(f) = filter.from {
        q = q.filter(audit_events::occurred_at.ge(f));
    }
    if let Some(t) = filter.to {
        q = q.filter(audit_events::occurred_at.lt(t));
    }
    if let Some(b) = filter.before_id {
        q = q.filter(audit_events::id.lt(b));
    }
    q.order(audit_events::id.desc()).limit(limit).load(conn)
}
