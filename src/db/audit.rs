//! Audit events: append-only rows (an UPDATE trigger refuses changes on both backends).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_event_targets, audit_events};
use super::DbConn;

/// A stored audit event. Serialised whole, with the time as [`EXACT_TIME`], in the audit seals'
/// exports (`service::audit_chain`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = audit_events)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Row id (also the cursor order).
    pub id: i64,
    /// When it happened (UTC).
    #[serde(with = "exact_time")]
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
    /// The public ids an event about several targets names (a page of results), as a sorted
    /// JSON array; absent for an event about one target or none.
    pub targets: Option<String>,
}

/// How an event's time is written where its exact text matters (a seal hashes it, an export
/// carries it): `YYYY-MM-DDTHH:MM:SS[.fraction]` with every digit stored.
pub const EXACT_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

mod exact_time {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format(super::EXACT_TIME))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        NaiveDateTime::parse_from_str(&text, super::EXACT_TIME).map_err(serde::de::Error::custom)
    }
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
    /// Targets of an event about several, as a sorted JSON array (see [`insert_page`]).
    pub targets: Option<String>,
}

/// Events per stretch: `audit_event_targets` is keyed by stretch (`event_id / STRETCH`) first, so
/// a write of the audit buffer changes only the latest stretch's pages (see the migration
/// `audit_targets_on_event`, which fixes the value for existing rows).
pub const STRETCH: i64 = 1024;

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

/// Write one event that names several targets (a page of results): the event, which carries the
/// list (`targets`, a JSON array of public ids), then one `audit_event_targets` entry per target,
/// the index by person, made from that same list. Returns the event's id.
pub fn insert_page(conn: &mut DbConn, event: &NewAuditEvent) -> QueryResult<i64> {
    let id: i64 = diesel::insert_into(audit_events::table)
        .values(event)
        .returning(audit_events::id)
        .get_result(conn)?;
    let entries = PageTargets {
        stretch: id / STRETCH,
        event_id: id,
        list: event.targets.as_deref().unwrap_or("[]"),
    };
    crate::with_backend!(conn, |c| entries.execute(c))?;
    Ok(id)
}

/// `audit_event_targets` entries for one event from its JSON array of target ids, in one
/// statement whose text never changes (so each connection prepares it once): twenty separate
/// inserts per page of results cost more than the rows themselves.
#[derive(Debug)]
struct PageTargets<'a> {
    stretch: i64,
    event_id: i64,
    list: &'a str,
}

impl diesel::query_builder::QueryId for PageTargets<'_> {
    type QueryId = PageTargets<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C> RunQueryDsl<C> for PageTargets<'_> {}

impl PageTargets<'_> {
    /// The statement, with the backend's call that turns the JSON array into rows of text
    /// (`open` before the bound list, `close` after it).
    fn walk<'b, DB>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
        open: &str,
        close: &str,
    ) -> QueryResult<()>
    where
        DB: diesel::backend::Backend,
        i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    {
        out.push_sql("INSERT INTO audit_event_targets (stretch, target_id, event_id) SELECT ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.stretch)?;
        out.push_sql(", value, ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.event_id)?;
        out.push_sql(" FROM ");
        out.push_sql(open);
        out.push_bind_param::<diesel::sql_types::Text, _>(self.list)?;
        out.push_sql(close);
        // `WHERE true` lets SQLite read `ON CONFLICT` as the upsert clause after a SELECT.
        out.push_sql(" WHERE true ON CONFLICT DO NOTHING");
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for PageTargets<'_> {
    fn walk_ast<'b>(&'b self, out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        self.walk(out, "json_each(", ")")
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PageTargets<'_> {
    fn walk_ast<'b>(&'b self, out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        self.walk(out, "json_array_elements_text(CAST(", " AS json))")
    }
}

/// The condition that makes a look-up of `audit_event_targets` by target id use its key, which
/// starts with the stretch of events ([`STRETCH`]): every stretch from the first to the last, one
/// seek each.
pub const EVERY_STRETCH: &str = "\"audit_event_targets\".\"stretch\" IN (\
     WITH RECURSIVE stretch(n) AS (\
     SELECT MIN(stretch) FROM audit_event_targets \
     UNION ALL SELECT n + 1 FROM stretch \
     WHERE n < (SELECT MAX(stretch) FROM audit_event_targets)) \
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
