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
pub type EventTuple = (i64, NaiveDateTime, String, String, i64, Option<i64>);

/// The filter's events, selecting an [`EventTuple`].
#[allow(clippy::type_complexity)]
fn filtered(
    f: &EventFilter,
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
    match &f.scoped_steps {
        None if !f.actions.is_empty() => q = q.filter(engagement_events::action.eq_any(f.actions.clone())),
        None => {}
        Some(steps) => {
            let step = engagement_events::action.eq_any(steps.actions.clone());
            let plain = engagement_events::action.eq_any(f.actions.clone());
            q = match &steps.within {
                FunnelScope::Activity(a) => {
                    q.filter(plain.or(step.and(engagement_events::activity_id.eq(*a)).assume_not_null()))
                }
                FunnelScope::Kind(k) => q.filter(plain.or(step.and(engagement_events::kind.eq(k.clone())))),
            };
        }
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
    filtered(f)
        .filter(engagement_events::person_id.ge(lo))
        .filter(engagement_events::person_id.lt(hi))
        .order((engagement_events::person_id, engagement_events::occurred_at))
        .load(conn)
}

/// Events with `from <= occurred_at < to` (the filter's ends), in no particular order: a range
/// of the `engagement_events_period` index, which covers every column read.
pub fn events_in_period(conn: &mut DbConn, f: &EventFilter) -> QueryResult<Vec<EventTuple>> {
    filtered(f).load(conn)
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
