//! Reads for journey analytics: engagement events in (person, time) order, a slice of people at a
//! time, and the people the analytics must leave out.
//!
//! Policy: the analytics stream events sorted by person then time; reading them in person-id
//! slices keeps memory bounded and each query an ordered range scan of the
//! `engagement_events_journey` index, which covers every column read here (no table lookups).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::people::Db;
use super::schema::{engagement_events, people};
use super::DbConn;
use crate::journeys_core::FunnelScope;

/// Which events an analytic reads.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// From (inclusive).
    pub from: Option<NaiveDateTime>,
    /// To (exclusive).
    pub to: Option<NaiveDateTime>,
    /// Only these actions.
    pub actions: Vec<&'static str>,
    /// Only these departments (internal ids); `None` = every department.
    pub departments: Option<Vec<i64>>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Steps that count only in one place: these actions pass only for this activity or kind
    /// (a funnel's invitations and registrations elsewhere say nothing about it); `actions` must
    /// not list them.
    pub scoped_steps: Option<ScopedSteps>,
}

/// Actions read only within one activity or kind.
#[derive(Debug, Clone)]
pub struct ScopedSteps {
    /// The actions.
    pub actions: Vec<&'static str>,
    /// The activity or kind they must belong to.
    pub within: FunnelScope,
}

/// One event as the analytics read it: person, time, kind, action, department, activity.
pub type EventTuple = (i64, NaiveDateTime, Code, Code, i64, Option<i64>);

/// A kind or action as read for the analytics: short codes (kinds are at most 30 bytes, actions
/// fewer) are held inline, so reading millions of events allocates nothing per event for them.
#[derive(Debug, Clone, diesel::deserialize::FromSqlRow)]
pub enum Code {
    /// Up to [`Code::INLINE`] bytes.
    Short(u8, [u8; Code::INLINE]),
    /// Anything longer.
    Long(Box<str>),
}

impl Code {
    /// Bytes held inline.
    pub const INLINE: usize = 31;

    /// The code from its text.
    pub fn new(text: &str) -> Code {
        match u8::try_from(text.len()) {
            Ok(n) if text.len() <= Code::INLINE => {
                let mut buf = [0u8; Code::INLINE];
                buf[..text.len()].copy_from_slice(text.as_bytes());
                Code::Short(n, buf)
            }
            _ => Code::Long(text.into()),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            // Built from a `&str` cut at its end, so always UTF-8.
            Code::Short(n, buf) => std::str::from_utf8(&buf[..usize::from(*n)]).unwrap_or_default(),
            Code::Long(s) => s,
        }
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for Code {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(Code::new(std::str::from_utf8(value.as_bytes())?))
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for Code {
    fn from_sql(mut value: diesel::sqlite::SqliteValue<'_, '_, '_>) -> diesel::deserialize::Result<Self> {
        Ok(Code::new(value.read_text()))
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, Db> for Code {
    fn from_sql(value: <Db as diesel::backend::Backend>::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        value.from_sql::<Code, diesel::sql_types::Text>()
    }
}

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Which index a read goes along.
#[derive(Debug, Clone, Copy)]
enum Along {
    /// The period index (`action, occurred_at, …`): a period's events of some actions.
    Period,
    /// The person index (`person_id, occurred_at, …`): a range of people's events.
    People,
}

/// The filter's events, selecting an [`EventTuple`].
#[allow(clippy::type_complexity)]
fn filtered(
    f: &EventFilter,
    along: Along,
) -> diesel::dsl::Select<
    engagement_events::BoxedQuery<'static, Db>,
    (
        engagement_events::person_id,
        engagement_events::occurred_at,
        engagement_events::kind,
        engagement_events::action,
        engagement_events::department_id,
        engagement_events::activity_id,
    ),
> {
    let mut q = engagement_events::table.into_boxed::<Db>();
    if let Some(t) = f.from {
        q = q.filter(engagement_events::occurred_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(engagement_events::occurred_at.lt(t));
    }
    // Every read names its actions: the period index is led by action, so each action's part
    // of the period is one range of it.
    let read: Vec<&'static str> = match &f.scoped_steps {
        None if f.actions.is_empty() => super::engagement::ACTIONS.to_vec(),
        None => f.actions.clone(),
        Some(steps) => f.actions.iter().chain(&steps.actions).copied().collect(),
    };
    q = match along {
        Along::Period => q.filter(engagement_events::action.eq_any(read)),
        // Through `lower()` (actions are lower-case), which no index serves: a planner without
        // statistics would otherwise read the period index, action by action, for every slice.
        Along::People => q.filter(lower(engagement_events::action).eq_any(read)),
    };
    if let Some(steps) = &f.scoped_steps {
        let step = engagement_events::action.eq_any(steps.actions.clone());
        let plain = engagement_events::action.eq_any(f.actions.clone());
        q = match (&steps.within, f.actions.is_empty()) {
            // Only the scope's own events: a plain conjunction, which an index on the activity
            // (or the period index, filtered by kind) serves without an `OR`.
            (FunnelScope::Activity(a), true) => q.filter(engagement_events::activity_id.eq(*a)),
            (FunnelScope::Kind(k), true) => q.filter(engagement_events::kind.eq(k.clone())),
            (FunnelScope::Activity(a), false) => {
                q.filter(plain.or(step.and(engagement_events::activity_id.eq(*a)).assume_not_null()))
            }
            (FunnelScope::Kind(k), false) => q.filter(plain.or(step.and(engagement_events::kind.eq(k.clone())))),
        };
    }
    if let Some(d) = &f.departments {
        q = q.filter(engagement_events::department_id.eq_any(d.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(engagement_events::kind.eq(k.clone()));
    }
    q.select((
        engagement_events::person_id,
        engagement_events::occurred_at,
        engagement_events::kind,
        engagement_events::action,
        engagement_events::department_id,
        engagement_events::activity_id,
    ))
}

/// Events of people with `lo <= id < hi`, sorted by person then time.
pub fn events_in_range(conn: &mut DbConn, lo: i64, hi: i64, f: &EventFilter) -> QueryResult<Vec<EventTuple>> {
    filtered(f, Along::People)
        .filter(engagement_events::person_id.ge(lo))
        .filter(engagement_events::person_id.lt(hi))
        .order((engagement_events::person_id, engagement_events::occurred_at))
        .load(conn)
}

/// Events of the given people (at most [`PEOPLE_PER_READ`]) that pass the filter, in no
/// particular order: one index descent per person along the `(person_id, occurred_at, …)`
/// covering index, from the filter's start.
pub fn events_of_people(conn: &mut DbConn, ids: &[i64], f: &EventFilter) -> QueryResult<Vec<EventTuple>> {
    filtered(f, Along::People)
        .filter(engagement_events::person_id.eq_any(ids.to_vec()))
        .load(conn)
}

/// Most people [`events_of_people`] takes at once (SQLite binds each id).
pub const PEOPLE_PER_READ: usize = 5_000;

/// Events with `from <= occurred_at < to` (the filter's ends), in no particular order, each
/// handed to `sink` as it is decoded (no list of rows is built): a range of the
/// `engagement_events_period` index, which covers every column read.
pub fn each_event_in_period(conn: &mut DbConn, f: &EventFilter, mut sink: impl FnMut(EventTuple)) -> QueryResult<()> {
    for row in filtered(f, Along::Period).load_iter::<EventTuple, diesel::connection::DefaultLoadingMode>(conn)? {
        sink(row?);
    }
    Ok(())
}

/// The highest person id with any event (0 if none).
pub fn max_person_with_events(conn: &mut DbConn) -> QueryResult<i64> {
    Ok(engagement_events::table
        .select(diesel::dsl::max(engagement_events::person_id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// People the analytics leave out — restricted, erased or merged away — sorted.
pub fn excluded_people(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    people::table
        .filter(people::status.ne("active"))
        .select(people::id)
        .order(people::id)
        .load(conn)
}

/// Every event of one person, for their scores.
pub fn events_of(conn: &mut DbConn, person_id: i64) -> QueryResult<Vec<EventTuple>> {
    engagement_events::table
        .filter(engagement_events::person_id.eq(person_id))
        .select((
            engagement_events::person_id,
            engagement_events::occurred_at,
            engagement_events::kind,
            engagement_events::action,
            engagement_events::department_id,
            engagement_events::activity_id,
        ))
        .order(engagement_events::occurred_at)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn short_and_long_codes_read_back() {
        assert!(matches!(Code::new("attended"), Code::Short(8, _)));
        assert!(matches!(Code::new(&"k".repeat(Code::INLINE + 1)), Code::Long(_)));
        assert_eq!(Code::new("").as_str(), "");
    }

    proptest::proptest! {
        #[test]
        fn a_code_holds_exactly_its_text(text in "\\PC{0,40}") {
            let code = Code::new(&text);
            proptest::prop_assert_eq!(code.as_str(), text.as_str());
        }
    }
}
