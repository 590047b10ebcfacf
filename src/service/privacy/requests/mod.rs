//! The register of data-protection requests (access, erasure, rectification, restriction,
//! objection, portability) and their statutory clock, for the data protection officer.
//!
//! Policy:
//! - A request is registered on the day it was received (today or earlier, within a year); its
//!   due date follows [`super::deadline`]: a month to the corresponding date, plus any extension
//!   (up to two months, decided before the first month runs out) and the days its clock was
//!   stopped, moved to the next working day in England and Wales.
//! - The clock stops while the officer awaits something from the requester and restarts when it
//!   arrives; a stopped request has no due date until then. Awaiting proof of identity (or a
//!   fee), the month runs again from the day it arrives (the ICO: "the time limit starts from
//!   when you receive the information necessary to confirm their identity"); awaiting
//!   clarification, the days stopped are added (the Data (Use and Access) Act 2025's "stop the
//!   clock").
//! - A request is closed once (completed, refused or withdrawn); closing a stopped request ends
//!   the stop that day. Nothing is deleted: the register is the officer's evidence of timely
//!   answers. Erasing the person blanks who wrote and the notes, and keeps the dates.
//! - Retention (`retention.rights_request_years` after closing, `lighthouse retention`): the
//!   same is blanked and the link to the person removed; the kind, channel, dates, clock and
//!   outcome stay as counts. An anonymised request cannot be changed (409 `anonymised`).
//! - Every change and every read is audited (ids and codes only, never the requester's text).

mod model;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::deadline;
use crate::db::schema::{people, rights_requests};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::normalize::text::clean_text;
use crate::service::{audit, is_public_id, new_public_id, optional_text, Ctx};
pub use model::*;
use model::{restart, Row};

/// Most closed requests one list reads.
const LIST_CAP: i64 = 10_000;

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), FieldError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "invalid_value",
            format!("Use one of: {}.", allowed.join(", ")),
        ))
    }
}

/// A code from `allowed` and an optional note of at most `max` characters, both checked (every
/// fault answered at once); returns the note.
fn code_and_note(code: (&str, &str, &[&str]), note: (&str, Option<&str>, usize)) -> AppResult<Option<String>> {
    let mut errors = Vec::new();
    errors.extend(one_of(code.0, code.1, code.2).err());
    let text = optional_text(note.0, note.1, note.2).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A reason of 3–500 characters.
fn reason(field: &str, v: &str) -> Result<String, FieldError> {
    let r = clean_text(v.trim(), 500).map_err(|e| FieldError::new(field, e.code, e.message))?;
    if r.chars().count() < 3 {
        return Err(FieldError::new(field, "too_short", "Say why, in a few words."));
    }
    Ok(r)
}

/// The internal id of the person a request names.
fn person_id(conn: &mut DbConn, ctx: &Ctx, field: &str, public_id: &str) -> AppResult<i64> {
    let found =
        crate::service::people::find_visible_locked(conn, &ctx.principal, public_id, crate::db::people::Lock::KeyShare);
    match found {
        Ok(p) => Ok(p.id),
        Err(AppError::Merged(survivor)) => Err(AppError::field(
            field,
            "merged_person",
            format!("That record was merged into {survivor}; use that id."),
        )),
        Err(AppError::NotFound | AppError::Gone(_)) => Err(AppError::field(
            field,
            "unknown_person",
            "There is no such person (or their data has been erased).",
        )),
        Err(other) => Err(other),
    }
}

fn public_ids_of(conn: &mut DbConn, rows: &[Row]) -> AppResult<std::collections::HashMap<i64, String>> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.person_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for part in ids.chunks(500) {
        let found: Vec<(i64, String)> = people::table
            .filter(people::id.eq_any(part))
            .select((people::id, people::public_id))
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

fn views(conn: &mut DbConn, rows: &[Row], today: NaiveDate) -> AppResult<Vec<RightsRequestView>> {
    let ids = public_ids_of(conn, rows)?;
    Ok(rows
        .iter()
        .map(|r| r.view(r.person_id.and_then(|p| ids.get(&p).cloned()), today))
        .collect())
}

fn find(conn: &mut DbConn, public_id: &str) -> AppResult<Row> {
    if !is_public_id(public_id) {
        return Err(AppError::NotFound);
    }
    rights_requests::table
        .filter(rights_requests::public_id.eq(public_id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

fn record(conn: &mut DbConn, ctx: &Ctx, action: &str, row: &Row, detail: serde_json::Value) -> AppResult<()> {
    audit::record(
        conn,
        audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            action,
            Some(("rights_request", &row.public_id)),
            "success",
            Some(detail),
        ),
    )
}

/// `POST /api/v1/rights-requests`.
pub fn create(conn: &mut DbConn, ctx: &Ctx, req: &NewRightsRequest) -> AppResult<RightsRequestView> {
    let today = ctx.meta.now.date();
    let mut errors = Vec::new();
    errors.extend(one_of("kind", &req.kind, &KINDS).err());
    errors.extend(one_of("channel", &req.channel, &CHANNELS).err());
    let requester = match optional_text("requester", Some(&req.requester), 200) {
        Ok(Some(r)) => r,
        Ok(None) => {
            errors.push(FieldError::new("requester", "required", "Say who made the request."));
            String::new()
        }
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let notes = optional_text("notes", req.notes.as_deref(), 2000).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let received_on = req.received_on.unwrap_or(today);
    if received_on > today {
        errors.push(FieldError::new(
            "received_on",
            "in_future",
            "A request cannot be received in the future.",
        ));
    } else if (today - received_on).num_days() > 366 {
        errors.push(FieldError::new(
            "received_on",
            "too_old",
            "Register requests received within the last year.",
        ));
    }
    write_tx(conn, |c| {
        let person = match &req.person {
            Some(p) => match person_id(c, ctx, "person", p) {
                Ok(id) => Some(id),
                Err(AppError::Validation(mut v)) => {
                    errors.append(&mut v);
                    None
                }
                Err(other) => return Err(other),
            },
            None => None,
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(std::mem::take(&mut errors)));
        }
        let now = ctx.meta.now;
        let public_id = new_public_id();
        diesel::insert_into(rights_requests::table)
            .values((
                rights_requests::public_id.eq(&public_id),
                rights_requests::kind.eq(&req.kind),
                rights_requests::person_id.eq(person),
                rights_requests::requester.eq(&requester),
                rights_requests::channel.eq(&req.channel),
                rights_requests::received_on.eq(received_on),
                rights_requests::pauses.eq("[]"),
                rights_requests::status.eq("open"),
                rights_requests::notes.eq(&notes),
                rights_requests::created_at.eq(now),
                rights_requests::created_by.eq(Some(ctx.principal.user_id)),
                rights_requests::updated_at.eq(now),
            ))
            .execute(c)?;
        let row = find(c, &public_id)?;
        record(
            c,
            ctx,
            "rights_request.create",
            &row,
            serde_json::json!({"kind": row.kind, "person": req.person, "received_on": row.received_on}),
        )?;
        Ok(views(c, &[row], today)?.remove(0))
    })
}

/// `PATCH /api/v1/rights-requests/{id}`: link a person, or change the notes.
pub fn update(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &UpdateRightsRequest) -> AppResult<RightsRequestView> {
    if req.person.is_none() && req.notes.is_none() {
        return Err(AppError::field(
            "person",
            "nothing_to_change",
            "Give a person or notes.",
        ));
    }
    let notes = match &req.notes {
        Some(n) => Some(optional_text("notes", Some(n), 2000).map_err(|e| AppError::Validation(vec![e]))?),
        None => None,
    };
    write_tx(conn, |c| {
        let row = find(c, id)?;
        let anonymised = || {
            AppError::conflict(
                "anonymised",
                "This request's retention period has ended: who made it and whom it was about were removed, and it cannot be changed.",
            )
        };
        if row.anonymised_at.is_some() {
            return Err(anonymised());
        }
        // Only the fields given are written: a merge moving the request's person at the same
        // moment is not undone.
        let change = LinkChange {
            person_id: match &req.person {
                Some(p) => Some(Some(person_id(c, ctx, "person", p)?)),
                None => None,
            },
            notes: notes.clone(),
            updated_at: ctx.meta.now,
        };
        // Not if a retention run anonymised it since it was read.
        let n = diesel::update(
            rights_requests::table
                .find(row.id)
                .filter(rights_requests::anonymised_at.is_null()),
        )
        .set(&change)
        .execute(c)?;
        if n == 0 {
            return Err(anonymised());
        }
        let changed: Vec<&str> = [("person", req.person.is_some()), ("notes", req.notes.is_some())]
            .into_iter()
            .filter_map(|(f, given)| given.then_some(f))
            .collect();
        let detail = serde_json::json!({"fields": changed, "person": req.person});
        audited_view(c, ctx, id, "rights_request.update", detail)
    })
}

/// What `update` writes: the fields given, and the time.
#[derive(AsChangeset)]
#[diesel(table_name = rights_requests)]
struct LinkChange {
    person_id: Option<Option<i64>>,
    notes: Option<Option<String>>,
    updated_at: chrono::NaiveDateTime,
}

/// The request as saved, its change audited as `action`.
fn audited_view(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    action: &str,
    detail: serde_json::Value,
) -> AppResult<RightsRequestView> {
    let saved = find(conn, public_id)?;
    record(conn, ctx, action, &saved, detail)?;
    Ok(views(conn, &[saved], ctx.meta.now.date())?.remove(0))
}

/// `GET /api/v1/rights-requests/{id}` (audited).
pub fn get(conn: &mut DbConn, ctx: &Ctx, id: &str) -> AppResult<RightsRequestView> {
    write_tx(conn, |c| {
        audited_view(c, ctx, id, "rights_request.read", serde_json::json!({}))
    })
}

/// `GET /api/v1/rights-requests` (audited as one read).
pub fn list(conn: &mut DbConn, ctx: &Ctx, q: &RightsRequestQuery) -> AppResult<RightsRequestPage> {
    let status = q.status.as_deref().unwrap_or("open");
    let mut errors = Vec::new();
    errors.extend(one_of("status", status, &["open", "closed", "all"]).err());
    if let Some(k) = &q.kind {
        errors.extend(one_of("kind", k, &KINDS).err());
    }
    if q.due_within.is_some_and(|d| !(0..=366).contains(&d)) {
        errors.push(FieldError::new("due_within", "out_of_range", "Use 0 to 366 days."));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "out_of_range", "Use 1 to 200."));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        errors.push(FieldError::new("offset", "out_of_range", "Use 0 or more."));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let today = ctx.meta.now.date();
    write_tx(conn, |c| {
        let mut query = rights_requests::table.into_boxed::<crate::db::people::Db>();
        query = match status {
            "open" => query.filter(rights_requests::status.eq("open")),
            "closed" => query.filter(rights_requests::status.ne("open")),
            _ => query,
        };
        if let Some(k) = &q.kind {
            query = query.filter(rights_requests::kind.eq(k.clone()));
        }
        if let Some(p) = &q.person {
            query = query.filter(rights_requests::person_id.eq(person_id(c, ctx, "person", p)?));
        }
        // Every open request (they are few, and the oldest are the most urgent); closed ones
        // up to a cap, newest first.
        let query = query
            .select(Row::as_select())
            .order((rights_requests::received_on.desc(), rights_requests::id.desc()));
        let rows: Vec<Row> = if status == "open" {
            query.load(c)?
        } else {
            query.limit(LIST_CAP).load(c)?
        };
        let mut items = views(c, &rows, today)?;
        if let Some(within) = q.due_within {
            items.retain(|v| v.days_left.is_some_and(|d| d <= within));
        }
        // Open ones first, soonest due first (stopped clocks after them); then the closed ones,
        // most recently closed first.
        items.sort_by(|a, b| {
            let key = |v: &RightsRequestView| (v.status != "open", v.due_on.is_none(), v.due_on);
            key(a)
                .cmp(&key(b))
                .then_with(|| b.closed_at.cmp(&a.closed_at))
                .then_with(|| b.received_on.cmp(&a.received_on))
        });
        let total = items.len();
        let overdue = items.iter().filter(|v| v.overdue).count();
        let due_soon = items.iter().filter(|v| v.due_soon).count();
        let items: Vec<RightsRequestView> = items
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(0))
            .take(usize::try_from(limit).unwrap_or(50))
            .collect();
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "rights_request.list",
                None,
                "success",
                Some(serde_json::json!({"status": status, "shown": items.len()})),
            ),
        )?;
        Ok(RightsRequestPage {
            items,
            total,
            overdue,
            due_soon,
        })
    })
}

/// Load an open request for a change, or say why it cannot change.
fn open_request(conn: &mut DbConn, id: &str) -> AppResult<Row> {
    let row = find(conn, id)?;
    if row.status != "open" {
        return Err(AppError::conflict(
            "request_closed",
            format!("This request is already {}.", row.status),
        ));
    }
    Ok(row)
}

/// Write the changed request, checking nobody changed it meanwhile.
fn save(
    conn: &mut DbConn,
    ctx: &Ctx,
    row: &Row,
    action: &str,
    detail: serde_json::Value,
) -> AppResult<RightsRequestView> {
    let n = diesel::update(
        rights_requests::table
            .find(row.id)
            .filter(rights_requests::status.eq("open"))
            .filter(rights_requests::updated_at.eq(row.updated_at)),
    )
    .set((
        rights_requests::extended_months.eq(row.extended_months),
        rights_requests::extension_reason.eq(&row.extension_reason),
        rights_requests::extended_at.eq(row.extended_at),
        rights_requests::pauses.eq(&row.pauses),
        rights_requests::stopped_on.eq(row.stopped_on),
        rights_requests::stop_awaiting.eq(&row.stop_awaiting),
        rights_requests::stop_reason.eq(&row.stop_reason),
        rights_requests::status.eq(&row.status),
        rights_requests::closed_at.eq(row.closed_at),
        rights_requests::outcome_note.eq(&row.outcome_note),
        rights_requests::updated_at.eq(ctx.meta.now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "stale",
            "The request changed while this was being saved; look again.",
        ));
    }
    audited_view(conn, ctx, &row.public_id, action, detail)
}

/// `POST /api/v1/rights-requests/{id}/stop-clock`.
pub fn stop_clock(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &StopClockRequest) -> AppResult<RightsRequestView> {
    let why = code_and_note(
        ("awaiting", &req.awaiting, &AWAITING),
        ("reason", req.reason.as_deref(), 500),
    )?;
    write_tx(conn, |c| {
        let mut row = open_request(c, id)?;
        if row.stopped_on.is_some() {
            return Err(AppError::conflict("clock_stopped", "The clock is already stopped."));
        }
        let today = ctx.meta.now.date();
        let on = req.on.unwrap_or(today);
        let earliest = row
            .stops()
            .iter()
            .map(|s| s.restarted_on)
            .max()
            .unwrap_or(row.received_on)
            .max(row.received_on);
        if on < earliest || on > today {
            return Err(AppError::field(
                "on",
                "out_of_range",
                format!("Give a day from {earliest} to today."),
            ));
        }
        row.stopped_on = Some(on);
        row.stop_awaiting = Some(req.awaiting.clone());
        row.stop_reason = why.clone();
        save(
            c,
            ctx,
            &row,
            "rights_request.stop_clock",
            serde_json::json!({"on": on, "awaiting": req.awaiting}),
        )
    })
}

/// `POST /api/v1/rights-requests/{id}/restart-clock`.
pub fn restart_clock(
    conn: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    req: &RestartClockRequest,
) -> AppResult<RightsRequestView> {
    write_tx(conn, |c| {
        let mut row = open_request(c, id)?;
        let Some(stopped_on) = row.stopped_on else {
            return Err(AppError::conflict("clock_running", "The clock is not stopped."));
        };
        let today = ctx.meta.now.date();
        let on = req.on.unwrap_or(today);
        if on < stopped_on || on > today {
            return Err(AppError::field(
                "on",
                "out_of_range",
                format!("Give a day from {stopped_on} to today."),
            ));
        }
        restart(&mut row, on)?;
        save(
            c,
            ctx,
            &row,
            "rights_request.restart_clock",
            serde_json::json!({"on": on}),
        )
    })
}

/// `POST /api/v1/rights-requests/{id}/extend`.
pub fn extend(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &ExtendRequest) -> AppResult<RightsRequestView> {
    let why = reason("reason", &req.reason).map_err(|e| AppError::Validation(vec![e]))?;
    if !(1..=deadline::MAX_EXTENSION_MONTHS).contains(&req.months) {
        return Err(AppError::field(
            "months",
            "out_of_range",
            "Extend by one or two months in all.",
        ));
    }
    write_tx(conn, |c| {
        let mut row = open_request(c, id)?;
        let months = i32::try_from(req.months).unwrap_or(0);
        if months <= row.extended_months {
            return Err(AppError::field(
                "months",
                "not_longer",
                format!("It is already extended by {} month(s).", row.extended_months),
            ));
        }
        // The requester must be told within the first month: with the clock stopped, that
        // month runs on from today.
        let today = ctx.meta.now.date();
        let mut probe = row.clone();
        restart(&mut probe, today)?;
        if probe.due().1.is_some_and(|first| today > first) {
            return Err(AppError::conflict(
                "too_late_to_extend",
                "An extension must be decided (and the requester told) within the first month.",
            ));
        }
        row.extended_months = months;
        row.extension_reason = Some(why.clone());
        row.extended_at = Some(ctx.meta.now);
        save(
            c,
            ctx,
            &row,
            "rights_request.extend",
            serde_json::json!({"months": months}),
        )
    })
}

/// `POST /api/v1/rights-requests/{id}/close`.
pub fn close(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &CloseRequest) -> AppResult<RightsRequestView> {
    let note = code_and_note(
        ("outcome", &req.outcome, &OUTCOMES),
        ("note", req.note.as_deref(), 2000),
    )?;
    write_tx(conn, |c| {
        let mut row = open_request(c, id)?;
        let today = ctx.meta.now.date();
        restart(&mut row, today)?;
        let (due, _) = row.due();
        row.status = req.outcome.clone();
        row.closed_at = Some(ctx.meta.now);
        row.outcome_note = note.clone();
        let late = due.is_some_and(|d| today > d);
        save(
            c,
            ctx,
            &row,
            "rights_request.close",
            serde_json::json!({"outcome": req.outcome, "late": late}),
        )
    })
}

/// Retention of the register: requests closed before `cutoff` and not yet anonymised lose who
/// made them, their free text and the link to their person, each audited as
/// `rights_request.anonymise` in its transaction (500 a transaction); with `dry_run` only
/// counted. Returns how many.
pub fn anonymise_closed_before(
    conn: &mut DbConn,
    cutoff: chrono::NaiveDateTime,
    now: chrono::NaiveDateTime,
    dry_run: bool,
) -> AppResult<usize> {
    let found: Vec<(i64, String)> = rights_requests::table
        .filter(rights_requests::status.ne("open"))
        .filter(rights_requests::closed_at.lt(cutoff))
        .filter(rights_requests::anonymised_at.is_null())
        .select((rights_requests::id, rights_requests::public_id))
        .order(rights_requests::id)
        .load(conn)?;
    if dry_run {
        return Ok(found.len());
    }
    // What an erasure of the person blanks (the data map's entry), and the link to them.
    let entry = super::datamap::entry("rights_requests");
    let Some((entry, super::datamap::Erase::Blank(blank))) = entry.map(|e| (e, e.erase)) else {
        return Err(AppError::Internal(
            "the data map does not say what an erasure blanks in rights_requests".into(),
        ));
    };
    let meta = crate::service::RequestMeta::system(now);
    for part in found.chunks(500) {
        let ids: Vec<i64> = part.iter().map(|f| f.0).collect();
        write_tx(conn, |c| {
            for id in &ids {
                super::sql::blank_row(c, entry, *id, blank)?;
            }
            diesel::update(rights_requests::table.filter(rights_requests::id.eq_any(&ids)))
                .set((
                    rights_requests::person_id.eq(None::<i64>),
                    rights_requests::anonymised_at.eq(Some(now)),
                    rights_requests::updated_at.eq(now),
                ))
                .execute(c)?;
            for (_, public_id) in part {
                let target = Some(("rights_request", public_id.as_str()));
                audit::record(
                    c,
                    audit::system_event(&meta, "retention", "rights_request.anonymise", target, None),
                )?;
            }
            Ok::<_, AppError>(())
        })?;
    }
    Ok(found.len())
}
