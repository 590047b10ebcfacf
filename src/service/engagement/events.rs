//! Engagement events: logged one at a time or in batches of thousands, idempotent by
//! (source, external reference), and read back as a person's cross-department timeline.
//!
//! Policy: a batch is all or nothing — if any event is invalid the answer lists every fault by
//! index and nothing is written; events logged before (same source and reference) are counted
//! as duplicates, not errors. Logging an event for a department's activity links the person to
//! that department. A department editor logs only for their departments' activities and sees
//! only their departments' events in a timeline.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::engagement::{Engagement, TimelineFilter};
use crate::db::schema::people;
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::{audit, is_public_id, new_ordered_public_id, optional_text_into, Ctx, Permission, Scope};

/// Every action an engagement event can record.
pub use crate::db::engagement::ACTIONS;

/// Most events in one batch.
pub const MAX_BATCH: usize = 10_000;

/// One engagement to log.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementInput {
    /// Person id.
    pub person: String,
    /// Activity id (its kind and department apply).
    pub activity: Option<String>,
    /// Volunteering shift id (of the activity).
    pub shift: Option<String>,
    /// Kind, when there is no activity (e.g. `communication`).
    pub kind: Option<String>,
    /// Department code, when there is no activity.
    pub department: Option<String>,
    /// invited, registered, attended, no_show, cancelled, volunteered, responded, sent, delivered,
    /// opened, clicked, bounced, unsubscribed, complained.
    pub action: String,
    /// When it happened.
    #[serde(deserialize_with = "crate::normalize::bounded_time::required")]
    pub occurred_at: DateTime<Utc>,
    /// Source system, e.g. `eventbrite` (default `staff`).
    pub source: Option<String>,
    /// The source's own reference: logging the same (source, reference) twice records it once.
    pub external_ref: Option<String>,
    /// Hours volunteered.
    pub hours: Option<f64>,
    /// Consultation response reference.
    pub response_ref: Option<String>,
    /// Free detail (no special-category data, please).
    pub detail: Option<String>,
}

/// A batch to log.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementBatch {
    /// Up to 10,000 events.
    pub events: Vec<EngagementInput>,
}

/// What a batch did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BatchResult {
    /// Events received.
    pub received: usize,
    /// Newly recorded.
    pub created: usize,
    /// Already recorded before (same source and reference).
    pub duplicates: usize,
}

/// An event in a timeline.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TimelineItem {
    /// Event id.
    pub id: String,
    /// Activity id and title, if any.
    pub activity: Option<ActivityRef>,
    /// Kind.
    pub kind: String,
    /// Action.
    pub action: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Department code.
    pub department: String,
    /// Source system.
    pub source: String,
    /// Hours volunteered.
    pub hours: Option<f64>,
    /// Consultation response reference.
    pub response_ref: Option<String>,
    /// Detail.
    pub detail: Option<String>,
}

/// A reference to an activity.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ActivityRef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// A page of a timeline.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TimelinePage {
    /// Newest first.
    pub items: Vec<TimelineItem>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<String>,
}

/// Timeline filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Kind.
    pub kind: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// From (inclusive).
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// Cursor from the previous page.
    pub before: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Hours go with `volunteered` only, between 0 and 24.
pub fn hours_fit(action: &str, hours: f64) -> bool {
    action == "volunteered" && (0.0..=24.0).contains(&hours)
}

/// Log a batch of engagements (one event is a batch of one).
pub fn log(conn: &mut DbConn, ctx: &Ctx, events: &[EngagementInput]) -> AppResult<BatchResult> {
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(AppError::field(
            "events",
            "batch_size",
            format!("Send between 1 and {MAX_BATCH} events."),
        ));
    }
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let person_ids: Vec<String> = events
            .iter()
            .map(|e| e.person.clone())
            .filter(|p| is_public_id(p))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut persons: HashMap<String, (i64, String)> = HashMap::new();
        for chunk in person_ids.chunks(500) {
            let rows: Vec<(i64, String, String)> = people::table
                .filter(people::public_id.eq_any(chunk))
                .select((people::id, people::public_id, people::status))
                .load(c)?;
            persons.extend(rows.into_iter().map(|(id, pid, status)| (pid, (id, status))));
        }
        if let DbConn::Pg(_) = c {
            // Held against a merge or erasure until the events are in, then read again: one
            // that ended while this waited is seen (its people are no longer active).
            let ids: Vec<i64> = persons.values().map(|p| p.0).collect();
            db::people::lock(c, &ids, db::people::Lock::KeyShare)?;
            for part in ids.chunks(500) {
                let rows: Vec<(String, String)> = people::table
                    .filter(people::id.eq_any(part))
                    .select((people::public_id, people::status))
                    .load(c)?;
                for (pid, status) in rows {
                    if let Some(p) = persons.get_mut(&pid) {
                        p.1 = status;
                    }
                }
            }
        }
        let in_scope = |d: i64| match &ctx.principal.scope {
            Scope::All => true,
            Scope::Departments(m) => m.contains(&d),
        };
        // For a department-scoped reader: the people linked to one of their departments.
        let linked: Option<HashSet<i64>> = match &ctx.principal.scope {
            Scope::All => None,
            Scope::Departments(_) => {
                let ids: Vec<i64> = persons.values().map(|p| p.0).collect();
                let links = db::people::departments_of(c, &ids)?;
                Some(links.into_iter().filter(|l| in_scope(l.1)).map(|l| l.0).collect())
            }
        };
        let activity_ids: Vec<String> = events
            .iter()
            .filter_map(|e| e.activity.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let activities = db::engagement::find_activities(c, &activity_ids)?;
        let activity_by_id: HashMap<&str, &db::engagement::Activity> =
            activities.iter().map(|a| (a.public_id.as_str(), a)).collect();
        let shifts = db::engagement::shifts_of(c, &activities.iter().map(|a| a.id).collect::<Vec<_>>())?;
        let kinds: HashSet<String> = db::engagement::kinds(c)?.into_iter().map(|k| k.0).collect();
        let depts = db::departments::list(c)?;
        let see_restricted = ctx.principal.can(Permission::SeeRestricted);
        let mut errors = Vec::new();
        let mut rows = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let f = |name: &str| format!("events[{i}].{name}");
            let before = errors.len();
            let person = persons.get(&e.person).filter(|(id, status)| {
                let visible = status == "active" || (status == "restricted" && see_restricted);
                let scoped = linked.as_ref().is_none_or(|l| l.contains(id));
                visible && scoped
            });
            if person.is_none() {
                errors.push(FieldError::new(
                    f("person"),
                    "unknown_person",
                    "There is no such person (or you cannot see them).",
                ));
            }
            let activity = match &e.activity {
                Some(a) => match activity_by_id
                    .get(a.as_str())
                    .copied()
                    .filter(|x| in_scope(x.department_id))
                {
                    Some(x) => Some(x),
                    None => {
                        errors.push(FieldError::new(
                            f("activity"),
                            "unknown_activity",
                            "There is no such activity (or it is not one of yours).",
                        ));
                        None
                    }
                },
                None => None,
            };
            let (kind, department) = match activity {
                Some(a) => (Some(a.kind.clone()), Some(a.department_id)),
                None if e.activity.is_some() => (None, None),
                None => {
                    let kind = e.kind.clone().filter(|k| kinds.contains(k));
                    if kind.is_none() {
                        errors.push(FieldError::new(
                            f("kind"),
                            "unknown_kind",
                            "Give an activity, or a known kind.",
                        ));
                    }
                    let dept = e
                        .department
                        .as_ref()
                        .and_then(|code| depts.iter().find(|d| &d.code == code))
                        .map(|d| d.id)
                        .filter(|d| in_scope(*d));
                    if dept.is_none() {
                        errors.push(FieldError::new(
                            f("department"),
                            "unknown_department",
                            "Give an activity, or one of your departments.",
                        ));
                    }
                    (kind, dept)
                }
            };
            if !ACTIONS.contains(&e.action.as_str()) {
                errors.push(FieldError::new(
                    f("action"),
                    "unknown_action",
                    format!("Use one of: {}.", ACTIONS.join(", ")),
                ));
            }
            if let Some(h) = e.hours {
                if !hours_fit(&e.action, h) {
                    errors.push(FieldError::new(
                        f("hours"),
                        "invalid_hours",
                        "Hours go with `volunteered`, between 0 and 24.",
                    ));
                }
            }
            let shift = match (&e.shift, activity) {
                (None, _) => None,
                (Some(s), Some(a)) => {
                    let found = shifts
                        .iter()
                        .find(|x| &x.public_id == s && x.activity_id == a.id)
                        .map(|x| x.id);
                    if found.is_none() {
                        errors.push(FieldError::new(
                            f("shift"),
                            "unknown_shift",
                            "This shift is not one of the activity's.",
                        ));
                    }
                    found
                }
                (Some(_), None) => {
                    errors.push(FieldError::new(
                        f("shift"),
                        "needs_activity",
                        "A shift belongs to an activity.",
                    ));
                    None
                }
            };
            let occurred_at = db::truncate(e.occurred_at.naive_utc());
            if occurred_at > now + Duration::days(3 * 365) {
                errors.push(FieldError::new(
                    f("occurred_at"),
                    "out_of_range",
                    "That is too far in the future.",
                ));
            }
            let source = optional_text_into(&mut errors, &f("source"), e.source.as_deref(), 50)
                .unwrap_or_else(|| "staff".into());
            let external_ref = optional_text_into(&mut errors, &f("external_ref"), e.external_ref.as_deref(), 200);
            let response_ref = optional_text_into(&mut errors, &f("response_ref"), e.response_ref.as_deref(), 100);
            let detail = optional_text_into(&mut errors, &f("detail"), e.detail.as_deref(), 1000);
            if errors.len() > before {
                continue;
            }
            let (Some((person_id, _)), Some(kind), Some(department_id)) = (person, kind, department) else {
                continue;
            };
            rows.push(Engagement {
                id: 0,
                public_id: new_ordered_public_id(),
                person_id: *person_id,
                activity_id: activity.map(|a| a.id),
                shift_id: shift,
                kind,
                action: e.action.clone(),
                occurred_at,
                department_id,
                source,
                external_ref,
                hours: e.hours,
                response_ref,
                detail,
                recorded_at: now,
                recorded_by: Some(ctx.principal.user_id),
            });
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        // Logging the same (source, reference) twice within one batch also counts once.
        let created = db::engagement::insert_events(c, &rows)?;
        let mut pairs: Vec<(i64, i64)> = rows.iter().map(|r| (r.person_id, r.department_id)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        db::people::link_pairs(c, &pairs, "engagement", None, now)?;
        let detail = serde_json::json!({"received": events.len(), "created": created});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "engagement.log",
                None,
                "success",
                Some(detail),
            ),
        )?;
        Ok(BatchResult {
            received: events.len(),
            created,
            duplicates: events.len() - created,
        })
    })
}

fn encode_cursor(at: NaiveDateTime, id: i64) -> String {
    format!("{}_{}", at.and_utc().timestamp_micros(), id)
}

fn decode_cursor(s: &str) -> Option<(NaiveDateTime, i64)> {
    let (micros, id) = s.split_once('_')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.parse().ok()?))
}

/// A person's engagement timeline across departments, newest first, within the reader's scope.
pub fn timeline(
    conn: &mut DbConn,
    ctx: &Ctx,
    sink: &audit::AuditSink,
    public_id: &str,
    q: &TimelineQuery,
) -> AppResult<TimelinePage> {
    let (limit, _) = crate::service::people::paging(q.limit, None, 200)?;
    let person = crate::service::people::find_visible(conn, &ctx.principal, public_id)?;
    let before =
        match &q.before {
            Some(b) => Some(decode_cursor(b).ok_or_else(|| {
                AppError::field("before", "invalid_cursor", "Use next_before from the previous page.")
            })?),
            None => None,
        };
    let mut departments = match &q.department {
        Some(code) => Some(vec![db::departments::find_by_code(conn, code)?
            .map(|d| d.id)
            .ok_or_else(|| {
                AppError::field("department", "unknown_department", "There is no such department.")
            })?]),
        None => None,
    };
    if let Scope::Departments(mine) = &ctx.principal.scope {
        departments = Some(
            departments
                .unwrap_or_else(|| mine.clone())
                .into_iter()
                .filter(|d| mine.contains(d))
                .collect(),
        );
    }
    let filter = TimelineFilter {
        kind: q.kind.clone(),
        departments,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
        before,
    };
    let rows = db::engagement::timeline(conn, person.id, &filter, limit)?;
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|(r, _, _)| encode_cursor(r.occurred_at, r.id)))
        .flatten();
    let items = rows
        .into_iter()
        .map(|(r, department, activity)| TimelineItem {
            id: r.public_id,
            activity: activity.map(|(id, title)| ActivityRef { id, title }),
            kind: r.kind,
            action: r.action,
            occurred_at: r.occurred_at.and_utc(),
            department,
            source: r.source,
            hours: r.hours,
            response_ref: r.response_ref,
            detail: r.detail,
        })
        .collect();
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "timeline.read",
        Some(("person", public_id)),
        "success",
        None,
    ));
    Ok(TimelinePage { items, next_before })
}
