//! Activities, their shifts, engagement events, and the aggregates kept after erasure.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::people::Db;
use super::schema::{
    activities, activity_kinds, activity_shifts, departments, engagement_aggregates, engagement_events,
};
use super::DbConn;

/// Every action an engagement event can record (the table's `CHECK` lists the same). A query
/// that filters by time alone names them all, so that it reads ranges of the period index,
/// which is led by action.
pub const ACTIONS: &[&str] = &[
    "invited",
    "registered",
    "attended",
    "no_show",
    "cancelled",
    "volunteered",
    "responded",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "unsubscribed",
    "complained",
];

/// An activity.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = activities)]
pub struct Activity {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Kind code.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Owning department.
    pub department_id: i64,
    /// Start.
    pub starts_at: Option<NaiveDateTime>,
    /// End.
    pub ends_at: Option<NaiveDateTime>,
    /// Place.
    pub place: Option<String>,
    /// Capacity.
    pub capacity: Option<i32>,
    /// Consultation reference.
    pub reference: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// Fields changed by an update.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = activities, treat_none_as_null = true)]
pub struct ActivityChanges {
    /// Title.
    pub title: String,
    /// Start.
    pub starts_at: Option<NaiveDateTime>,
    /// End.
    pub ends_at: Option<NaiveDateTime>,
    /// Place.
    pub place: Option<String>,
    /// Capacity.
    pub capacity: Option<i32>,
    /// Reference.
    pub reference: Option<String>,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// A volunteering shift.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = activity_shifts)]
pub struct Shift {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Activity.
    pub activity_id: i64,
    /// Start.
    pub starts_at: NaiveDateTime,
    /// End.
    pub ends_at: NaiveDateTime,
    /// Capacity.
    pub capacity: Option<i32>,
}

/// An engagement event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = engagement_events, treat_none_as_default_value = false)]
pub struct Engagement {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Person.
    pub person_id: i64,
    /// Activity.
    pub activity_id: Option<i64>,
    /// Shift.
    pub shift_id: Option<i64>,
    /// Activity kind (copied from the activity, or given for activity-less events).
    pub kind: String,
    /// Action.
    pub action: String,
    /// When.
    pub occurred_at: NaiveDateTime,
    /// Department.
    pub department_id: i64,
    /// Source system.
    pub source: String,
    /// Idempotency reference within the source.
    pub external_ref: Option<String>,
    /// Volunteering hours.
    pub hours: Option<f64>,
    /// Consultation response reference.
    pub response_ref: Option<String>,
    /// Free detail.
    pub detail: Option<String>,
    /// Recorded.
    pub recorded_at: NaiveDateTime,
    /// Recorded by.
    pub recorded_by: Option<i64>,
}

/// Activity kinds as (code, label).
pub fn kinds(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    activity_kinds::table
        .select((activity_kinds::code, activity_kinds::label))
        .order(activity_kinds::code)
        .load(conn)
}

/// Add a kind.
pub fn insert_kind(conn: &mut DbConn, code: &str, label: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::insert_into(activity_kinds::table)
        .values((
            activity_kinds::code.eq(code),
            activity_kinds::label.eq(label),
            activity_kinds::created_at.eq(at),
        ))
        .execute(conn)
}

/// Insert an activity.
pub fn insert_activity(conn: &mut DbConn, a: &Activity) -> QueryResult<Activity> {
    diesel::insert_into(activities::table).values(a).get_result(conn)
}

/// Update an activity.
pub fn update_activity(conn: &mut DbConn, id: i64, c: &ActivityChanges) -> QueryResult<Activity> {
    diesel::update(activities::table.find(id)).set(c).get_result(conn)
}

/// An activity by public id.
pub fn find_activity(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Activity>> {
    activities::table
        .filter(activities::public_id.eq(public_id))
        .select(Activity::as_select())
        .first(conn)
        .optional()
}

/// Activities by public ids.
pub fn find_activities(conn: &mut DbConn, public_ids: &[String]) -> QueryResult<Vec<Activity>> {
    activities::table
        .filter(activities::public_id.eq_any(public_ids))
        .select(Activity::as_select())
        .load(conn)
}

/// Filters for [`list_activities`].
#[derive(Debug, Default, Clone)]
pub struct ActivityFilter {
    /// Kind.
    pub kind: Option<String>,
    /// Departments (scope or filter).
    pub departments: Option<Vec<i64>>,
    /// Starting at or after.
    pub from: Option<NaiveDateTime>,
    /// Starting before.
    pub to: Option<NaiveDateTime>,
}

fn activity_query(f: &ActivityFilter) -> activities::BoxedQuery<'_, Db> {
    let mut q = activities::table.into_boxed::<Db>();
    if let Some(k) = &f.kind {
        q = q.filter(activities::kind.eq(k));
    }
    if let Some(d) = &f.departments {
        q = q.filter(activities::department_id.eq_any(d));
    }
    if let Some(t) = f.from {
        q = q.filter(activities::starts_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(activities::starts_at.lt(t));
    }
    q
}

/// A page of activities (newest start first) and the total.
pub fn list_activities(
    conn: &mut DbConn,
    f: &ActivityFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Activity>, i64)> {
    let rows = activity_query(f)
        .select(Activity::as_select())
        .order((activities::starts_at.desc(), activities::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    let total = activity_query(f).count().get_result(conn)?;
    Ok((rows, total))
}

/// Insert shifts.
pub fn insert_shifts(conn: &mut DbConn, shifts: &[Shift]) -> QueryResult<usize> {
    if shifts.is_empty() {
        return Ok(0);
    }
    // Five parameters a shift: chunks keep each statement far under both backends' limits.
    let mut n = 0;
    for chunk in shifts.chunks(500) {
        n += crate::with_backend!(conn, |c| diesel::insert_into(activity_shifts::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(n)
}

/// Shifts of activities.
pub fn shifts_of(conn: &mut DbConn, activity_ids: &[i64]) -> QueryResult<Vec<Shift>> {
    activity_shifts::table
        .filter(activity_shifts::activity_id.eq_any(activity_ids))
        .select(Shift::as_select())
        .order(activity_shifts::starts_at)
        .load(conn)
}

/// Insert events, skipping any whose (source, external_ref) was logged before; returns how many
/// were new.
pub fn insert_events(conn: &mut DbConn, events: &[Engagement]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in events.chunks(400) {
        n += crate::with_backend!(conn, |c| diesel::insert_into(engagement_events::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(n)
}

/// Filters for a timeline.
#[derive(Debug, Default, Clone)]
pub struct TimelineFilter {
    /// Kind.
    pub kind: Option<String>,
    /// Departments (filter and scope).
    pub departments: Option<Vec<i64>>,
    /// From (inclusive).
    pub from: Option<NaiveDateTime>,
    /// To (exclusive).
    pub to: Option<NaiveDateTime>,
    /// Cursor: events strictly before (occurred_at, id).
    pub before: Option<(NaiveDateTime, i64)>,
}

/// One entry of a timeline: the event, its department's code and its activity's public id and
/// title (when it has one).
pub type TimelineRow = (Engagement, String, Option<(String, String)>);

/// A person's events, newest first, each with its department's code and its activity's public id
/// and title. The page is chosen from the events and their departments — along the
/// `(person_id, occurred_at, …)` index read backwards, so only the page's rows are fetched however
/// long the history — and its activities are read after, by id: joined in the same statement,
/// PostgreSQL hashed the activities table and fetched and sorted every event of the person (a
/// 440-event history: 15 ms cold instead of 1.7).
pub fn timeline(conn: &mut DbConn, person_id: i64, f: &TimelineFilter, limit: i64) -> QueryResult<Vec<TimelineRow>> {
    let mut q = engagement_events::table
        .inner_join(departments::table)
        .filter(engagement_events::person_id.eq(person_id))
        .into_boxed::<Db>();
    if let Some(k) = &f.kind {
        q = q.filter(engagement_events::kind.eq(k));
    }
    if let Some(d) = &f.departments {
        q = q.filter(engagement_events::department_id.eq_any(d));
    }
    if let Some(t) = f.from {
        q = q.filter(engagement_events::occurred_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(engagement_events::occurred_at.lt(t));
    }
    if let Some((at, id)) = f.before {
        q = q.filter(
            engagement_events::occurred_at
                .lt(at)
                .or(engagement_events::occurred_at.eq(at).and(engagement_events::id.lt(id))),
        );
    }
    let events: Vec<(Engagement, String)> = q
        .select((Engagement::as_select(), departments::code))
        .order((engagement_events::occurred_at.desc(), engagement_events::id.desc()))
        .limit(limit)
        .load(conn)?;
    let mut activity_ids: Vec<i64> = events.iter().filter_map(|e| e.0.activity_id).collect();
    activity_ids.sort_unstable();
    activity_ids.dedup();
    let titles: std::collections::HashMap<i64, (String, String)> = if activity_ids.is_empty() {
        Default::default()
    } else {
        activities::table
            .filter(activities::id.eq_any(activity_ids))
            .select((activities::id, activities::public_id, activities::title))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, public_id, title)| (id, (public_id, title)))
            .collect()
    };
    Ok(events
        .into_iter()
        .map(|(e, code)| {
            let activity = e.activity_id.and_then(|a| titles.get(&a).cloned());
            (e, code, activity)
        })
        .collect())
}

/// Fold a person's events into the erasure aggregates and delete them; returns how many.
pub fn aggregate_and_delete(conn: &mut DbConn, person_id: i64) -> QueryResult<usize> {
    let rows: Vec<Engagement> = engagement_events::table
        .filter(engagement_events::person_id.eq(person_id))
        .select(Engagement::as_select())
        .load(conn)?;
    for e in &rows {
        let month = e.occurred_at.format("%Y-%m").to_string();
        let row = (
            engagement_aggregates::activity_id.eq(e.activity_id.unwrap_or(0)),
            engagement_aggregates::kind.eq(&e.kind),
            engagement_aggregates::action.eq(&e.action),
            engagement_aggregates::department_id.eq(e.department_id),
            engagement_aggregates::month.eq(&month),
            engagement_aggregates::events.eq(1i64),
            engagement_aggregates::hours.eq(e.hours.unwrap_or(0.0)),
        );
        let hours = e.hours.unwrap_or(0.0);
        crate::with_backend!(conn, |c| diesel::insert_into(engagement_aggregates::table)
            .values(row)
            .on_conflict((
                engagement_aggregates::kind,
                engagement_aggregates::action,
                engagement_aggregates::department_id,
                engagement_aggregates::month,
                engagement_aggregates::activity_id,
            ))
            .do_update()
            .set((
                engagement_aggregates::events.eq(engagement_aggregates::events + 1i64),
                engagement_aggregates::hours.eq(engagement_aggregates::hours + hours),
            ))
            .execute(c))?;
    }
    diesel::delete(engagement_events::table.filter(engagement_events::person_id.eq(person_id))).execute(conn)
}
