//! Activities people engage with (banquets, volunteering with shifts, consultations with a
//! reference, events, communications, and any kind an administrator adds).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::engagement::{Activity, ActivityChanges, ActivityFilter, Shift};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::normalize::text::clean_text;
use crate::service::people::paging;
use crate::service::{audit, new_public_id, optional_text_into, Ctx, Scope};

/// A kind of activity.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityKind {
    /// Code, e.g. `banquet`.
    pub code: String,
    /// Label.
    pub label: String,
}

/// A volunteering shift.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftInput {
    /// Start.
    #[serde(deserialize_with = "crate::normalize::bounded_time::required")]
    pub starts_at: DateTime<Utc>,
    /// End.
    #[serde(deserialize_with = "crate::normalize::bounded_time::required")]
    pub ends_at: DateTime<Utc>,
    /// Places.
    pub capacity: Option<i32>,
}

/// A shift as shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ShiftView {
    /// Shift id (use it as `shift` when logging volunteering).
    pub id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Places.
    pub capacity: Option<i32>,
}

/// Create an activity.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivityRequest {
    /// Kind code.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Owning department code.
    pub department: String,
    /// Start.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub starts_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Place.
    pub place: Option<String>,
    /// Capacity.
    pub capacity: Option<i32>,
    /// Consultation reference.
    pub reference: Option<String>,
    /// Volunteering shifts.
    #[serde(default)]
    pub shifts: Vec<ShiftInput>,
}

/// Change an activity (the kind and department stay).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateActivityRequest {
    /// Title.
    pub title: String,
    /// Start.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub starts_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Place.
    pub place: Option<String>,
    /// Capacity.
    pub capacity: Option<i32>,
    /// Consultation reference.
    pub reference: Option<String>,
}

/// An activity as shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ActivityView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Department code.
    pub department: String,
    /// Start.
    pub starts_at: Option<DateTime<Utc>>,
    /// End.
    pub ends_at: Option<DateTime<Utc>>,
    /// Place.
    pub place: Option<String>,
    /// Capacity.
    pub capacity: Option<i32>,
    /// Consultation reference.
    pub reference: Option<String>,
    /// Shifts.
    pub shifts: Vec<ShiftView>,
}

/// Activity list filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// Kind.
    pub kind: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// Starting at or after.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// Starting before.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// Page size 1–200.
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// A page of activities.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ActivityPage {
    /// Activities, newest start first.
    pub items: Vec<ActivityView>,
    /// Total.
    pub total: i64,
}

fn utc(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(|t| t.and_utc())
}

fn naive(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| db::truncate(t.naive_utc()))
}

/// Views of activities with their department codes and shifts.
pub fn views(conn: &mut DbConn, rows: Vec<Activity>) -> AppResult<Vec<ActivityView>> {
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let shifts = db::engagement::shifts_of(conn, &ids)?;
    let depts = db::departments::list(conn)?;
    Ok(rows
        .into_iter()
        .map(|a| ActivityView {
            id: a.public_id,
            department: depts
                .iter()
                .find(|d| d.id == a.department_id)
                .map(|d| d.code.clone())
                .unwrap_or_default(),
            kind: a.kind,
            title: a.title,
            starts_at: utc(a.starts_at),
            ends_at: utc(a.ends_at),
            place: a.place,
            capacity: a.capacity,
            reference: a.reference,
            shifts: shifts
                .iter()
                .filter(|s| s.activity_id == a.id)
                .map(|s| ShiftView {
                    id: s.public_id.clone(),
                    starts_at: s.starts_at.and_utc(),
                    ends_at: s.ends_at.and_utc(),
                    capacity: s.capacity,
                })
                .collect(),
        })
        .collect())
}

/// Shifts one activity may have (a year of daily shifts, and more).
const MAX_SHIFTS: usize = 1000;

fn department_in_scope(ctx: &Ctx, department_id: i64) -> bool {
    match &ctx.principal.scope {
        Scope::All => true,
        Scope::Departments(d) => d.contains(&department_id),
    }
}

fn check_times(
    errors: &mut Vec<FieldError>,
    starts: Option<DateTime<Utc>>,
    ends: Option<DateTime<Utc>>,
    capacity: Option<i32>,
) {
    if let (Some(s), Some(e)) = (starts, ends) {
        if e < s {
            errors.push(FieldError::new(
                "ends_at",
                "before_start",
                "The end comes before the start.",
            ));
        }
    }
    if capacity.is_some_and(|c| c < 0) {
        errors.push(FieldError::new(
            "capacity",
            "out_of_range",
            "Capacity cannot be negative.",
        ));
    }
}

/// Create an activity (in one of the user's departments).
pub fn create(conn: &mut DbConn, ctx: &Ctx, req: &NewActivityRequest) -> AppResult<ActivityView> {
    let mut errors = Vec::new();
    let title = optional_text_into(&mut errors, "title", Some(&req.title), 200);
    if title.is_none() && errors.is_empty() {
        errors.push(FieldError::new("title", "required", "Give the activity a title."));
    }
    let place = optional_text_into(&mut errors, "place", req.place.as_deref(), 200);
    let reference = optional_text_into(&mut errors, "reference", req.reference.as_deref(), 100);
    check_times(&mut errors, req.starts_at, req.ends_at, req.capacity);
    if req.shifts.len() > MAX_SHIFTS {
        errors.push(FieldError::new(
            "shifts",
            "too_many",
            format!("An activity has at most {MAX_SHIFTS} shifts."),
        ));
    }
    for (i, s) in req.shifts.iter().enumerate().take(MAX_SHIFTS) {
        if s.ends_at <= s.starts_at {
            errors.push(FieldError::new(
                format!("shifts[{i}].ends_at"),
                "before_start",
                "A shift must end after it starts.",
            ));
        }
        if s.capacity.is_some_and(|c| c < 0) {
            errors.push(FieldError::new(
                format!("shifts[{i}].capacity"),
                "out_of_range",
                "Capacity cannot be negative.",
            ));
        }
    }
    write_tx(conn, |c| {
        if !db::engagement::kinds(c)?.iter().any(|(k, _)| *k == req.kind) {
            errors.push(FieldError::new(
                "kind",
                "unknown_kind",
                format!("There is no activity kind `{}`.", req.kind),
            ));
        }
        let dept = db::departments::find_by_code(c, &req.department)?;
        match &dept {
            None => errors.push(FieldError::new(
                "department",
                "unknown_department",
                "There is no such department.",
            )),
            Some(d) if !department_in_scope(ctx, d.id) => errors.push(FieldError::new(
                "department",
                "out_of_scope",
                "You can only add activities for your own departments.",
            )),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(std::mem::take(&mut errors)));
        }
        let (Some(dept), Some(title)) = (dept, title.clone()) else {
            return Err(AppError::NotFound);
        };
        let a = db::engagement::insert_activity(
            c,
            &Activity {
                id: 0,
                public_id: new_public_id(),
                kind: req.kind.clone(),
                title,
                department_id: dept.id,
                starts_at: naive(req.starts_at),
                ends_at: naive(req.ends_at),
                place: place.clone(),
                capacity: req.capacity,
                reference: reference.clone(),
                created_at: ctx.meta.now,
                updated_at: ctx.meta.now,
            },
        )?;
        let shifts: Vec<Shift> = req
            .shifts
            .iter()
            .map(|s| Shift {
                id: 0,
                public_id: new_public_id(),
                activity_id: a.id,
                starts_at: db::truncate(s.starts_at.naive_utc()),
                ends_at: db::truncate(s.ends_at.naive_utc()),
                capacity: s.capacity,
            })
            .collect();
        db::engagement::insert_shifts(c, &shifts)?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "activity.create",
                Some(("activity", &a.public_id)),
                "success",
                None,
            ),
        )?;
        views(c, vec![a])?.pop().ok_or(AppError::NotFound)
    })
}

/// An activity visible to the user (out-of-scope answers 404).
pub fn find_visible(conn: &mut DbConn, ctx: &Ctx, public_id: &str) -> AppResult<Activity> {
    let a = db::engagement::find_activity(conn, public_id)?.ok_or(AppError::NotFound)?;
    if !department_in_scope(ctx, a.department_id) {
        return Err(AppError::NotFound);
    }
    Ok(a)
}

/// One activity.
pub fn get(conn: &mut DbConn, ctx: &Ctx, public_id: &str) -> AppResult<ActivityView> {
    let a = find_visible(conn, ctx, public_id)?;
    views(conn, vec![a])?.pop().ok_or(AppError::NotFound)
}

/// Change an activity.
pub fn update(conn: &mut DbConn, ctx: &Ctx, public_id: &str, req: &UpdateActivityRequest) -> AppResult<ActivityView> {
    let mut errors = Vec::new();
    let title = optional_text_into(&mut errors, "title", Some(&req.title), 200);
    let place = optional_text_into(&mut errors, "place", req.place.as_deref(), 200);
    let reference = optional_text_into(&mut errors, "reference", req.reference.as_deref(), 100);
    check_times(&mut errors, req.starts_at, req.ends_at, req.capacity);
    let Some(title) = title.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(FieldError::new("title", "required", "Give the activity a title."));
        }
        return Err(AppError::Validation(errors));
    };
    write_tx(conn, |c| {
        let a = find_visible(c, ctx, public_id)?;
        let changes = ActivityChanges {
            title,
            starts_at: naive(req.starts_at),
            ends_at: naive(req.ends_at),
            place,
            capacity: req.capacity,
            reference,
            updated_at: ctx.meta.now,
        };
        let a = db::engagement::update_activity(c, a.id, &changes)?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "activity.update",
                Some(("activity", public_id)),
                "success",
                None,
            ),
        )?;
        views(c, vec![a])?.pop().ok_or(AppError::NotFound)
    })
}

/// List activities in scope.
pub fn list(conn: &mut DbConn, ctx: &Ctx, q: &ActivityQuery) -> AppResult<ActivityPage> {
    let (limit, offset) = paging(q.limit, q.offset, 200)?;
    let mut filter = ActivityFilter {
        kind: q.kind.clone(),
        departments: None,
        from: naive(q.from),
        to: naive(q.to),
    };
    if let Some(code) = &q.department {
        let d = db::departments::find_by_code(conn, code)?
            .ok_or_else(|| AppError::field("department", "unknown_department", "There is no such department."))?;
        filter.departments = Some(vec![d.id]);
    }
    if let Scope::Departments(mine) = &ctx.principal.scope {
        let allowed: Vec<i64> = match &filter.departments {
            Some(d) => d.iter().copied().filter(|x| mine.contains(x)).collect(),
            None => mine.clone(),
        };
        filter.departments = Some(allowed);
    }
    let (rows, total) = db::engagement::list_activities(conn, &filter, limit, offset)?;
    Ok(ActivityPage {
        items: views(conn, rows)?,
        total,
    })
}

/// Every activity kind.
pub fn kinds(conn: &mut DbConn) -> AppResult<Vec<ActivityKind>> {
    Ok(db::engagement::kinds(conn)?
        .into_iter()
        .map(|(code, label)| ActivityKind { code, label })
        .collect())
}

/// Add an activity kind (administrators).
pub fn add_kind(conn: &mut DbConn, ctx: &Ctx, req: &ActivityKind) -> AppResult<ActivityKind> {
    let ok = (2..=30).contains(&req.code.len()) && req.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !ok {
        return Err(AppError::field(
            "code",
            "invalid_code",
            "Use 2–30 lower-case letters or `_`.",
        ));
    }
    let label = clean_text(&req.label, 100).map_err(|e| AppError::field("label", e.code, e.message))?;
    write_tx(conn, |c| {
        let duplicate = || AppError::conflict("duplicate_kind", "This kind exists.");
        if db::engagement::kinds(c)?.iter().any(|(k, _)| *k == req.code) {
            return Err(duplicate());
        }
        db::unique_or(
            c,
            |c| db::engagement::insert_kind(c, &req.code, &label, ctx.meta.now),
            duplicate,
        )?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "activity_kind.create",
                Some(("activity_kind", &req.code)),
                "success",
                None,
            ),
        )?;
        Ok(ActivityKind {
            code: req.code.clone(),
            label,
        })
    })
}
