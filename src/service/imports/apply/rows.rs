//! What rows write, piece by piece: their contact points and provenance as rows to insert, a
//! source record that replaces the department's held copy, consent events and an attendance
//! list's event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::*;
use crate::db::people::{NewAddress, NewEmail, NewPhone, ProvenanceRow};
use crate::db::schema::source_records;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::import_core::{CleanRow, ConsentValue};
use crate::service::new_ordered_public_id;

pub(super) fn stamp_source(cx: &Ctx<'_>) -> (String, Option<String>, Option<i64>, NaiveDateTime) {
    ("import".into(), Some(cx.reference.clone()), cx.by, cx.now)
}

pub(super) fn new_emails(
    cx: &Ctx<'_>,
    person_id: i64,
    r: &CleanRow,
    held: &[String],
    primary_free: bool,
) -> Vec<NewEmail> {
    let (kind, reference, by, at) = stamp_source(cx);
    r.emails
        .iter()
        .filter(|(_, key)| !held.contains(key))
        .enumerate()
        .map(|(i, (address, key))| NewEmail {
            person_id,
            address: address.clone(),
            address_key: key.clone(),
            is_primary: primary_free && i == 0,
            source_kind: kind.clone(),
            source_ref: reference.clone(),
            set_by: by,
            set_at: at,
            point_hash: cx.points.email(key),
        })
        .collect()
}

pub(super) fn new_phones(
    cx: &Ctx<'_>,
    person_id: i64,
    r: &CleanRow,
    held: &[String],
    primary_free: bool,
) -> Vec<NewPhone> {
    let (kind, reference, by, at) = stamp_source(cx);
    r.phones
        .iter()
        .filter(|(n, _)| !held.contains(n))
        .enumerate()
        .map(|(i, (number, label))| NewPhone {
            person_id,
            number: number.clone(),
            label: (*label).to_string(),
            is_primary: primary_free && i == 0,
            source_kind: kind.clone(),
            source_ref: reference.clone(),
            set_by: by,
            set_at: at,
            point_hash: cx.points.phone(number),
        })
        .collect()
}

pub(super) fn new_address(cx: &Ctx<'_>, person_id: i64, r: &CleanRow, primary: bool) -> Option<NewAddress> {
    let a = r.address.as_ref()?;
    let line1 = a.line1.clone()?;
    let (kind, reference, by, at) = stamp_source(cx);
    Some(NewAddress {
        person_id,
        line1,
        line2: a.line2.clone(),
        line3: a.line3.clone(),
        town: a.town.clone(),
        county: a.county.clone(),
        postcode: a.postcode.clone(),
        country: a.country.clone().unwrap_or_else(|| "GB".into()),
        is_primary: primary,
        source_kind: kind,
        source_ref: reference,
        set_by: by,
        set_at: at,
    })
}

pub(super) fn provenance(cx: &Ctx<'_>, person_id: i64, fields: &[&str]) -> Vec<ProvenanceRow> {
    fields
        .iter()
        .map(|f| ProvenanceRow {
            person_id,
            field: (*f).to_string(),
            source_kind: "import".into(),
            source_ref: Some(cx.reference.clone()),
            set_by: cx.by,
            set_at: cx.now,
        })
        .collect()
}

/// A row as its source record keeps it: the row number and the cleaned row as JSON.
pub(super) fn stored_row(r: &CleanRow) -> (i64, String) {
    (
        i64::try_from(r.number).unwrap_or(i64::MAX),
        serde_json::to_string(r).unwrap_or_else(|_| "{}".into()),
    )
}

/// The department's newer copy of a record it already holds (same source system and external
/// id): the stored copy is replaced and points at the row's person; the row keeps the copy it
/// replaced for a rollback ([`crate::service::imports::replaced`]).
pub(super) fn replace_source_record(conn: &mut DbConn, cx: &Ctx<'_>, person_id: i64, r: &CleanRow) -> AppResult<()> {
    let Some(ext) = &r.external_id else {
        return Err(AppError::Internal(
            "a source record without an external id cannot replace one".into(),
        ));
    };
    let (row, data) = stored_row(r);
    let held = crate::service::imports::replaced::Held::of(cx.b, ext);
    crate::service::imports::replaced::keep(conn, cx.b.id, row, person_id, &held)?;
    let n = diesel::update(
        source_records::table
            .filter(source_records::department_id.eq(cx.b.department_id))
            .filter(source_records::source_system.eq(&cx.b.source_system))
            .filter(source_records::external_id.eq(ext)),
    )
    .set((
        source_records::person_id.eq(Some(person_id)),
        source_records::import_batch_id.eq(Some(cx.b.id)),
        source_records::row_number.eq(Some(row)),
        source_records::data.eq(data),
        source_records::content_hash.eq(&r.content_hash),
        source_records::received_at.eq(cx.now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::Internal(format!(
            "the source record {ext} was neither inserted nor held"
        )));
    }
    Ok(())
}

/// The row's consent answers as ledger events; with `grants` false (a restricted person), only
/// its withdrawals and refusals.
pub(super) fn consents(conn: &mut DbConn, cx: &Ctx<'_>, person_id: i64, r: &CleanRow, grants: bool) -> AppResult<()> {
    for (slug, value) in &r.consents {
        let status = match value {
            ConsentValue::Unknown => continue,
            ConsentValue::Granted if !grants => continue,
            v => v.as_str(),
        };
        let Some((decl, purpose_id, default_basis)) = cx.consents.get(slug) else {
            continue;
        };
        let point = match decl.channel.as_str() {
            "email" => r.emails.first().map(|e| e.1.clone()),
            "sms" | "phone" => r.phones.first().map(|p| p.0.clone()),
            _ => None,
        }
        .unwrap_or_default();
        crate::service::consent::append(
            conn,
            crate::db::consent::ConsentEvent {
                id: 0,
                public_id: new_ordered_public_id(),
                person_id,
                purpose_id: *purpose_id,
                channel: decl.channel.clone(),
                contact_point: point,
                status: status.to_string(),
                lawful_basis: decl.lawful_basis.clone().unwrap_or_else(|| default_basis.clone()),
                source: "import".into(),
                source_ref: Some(cx.reference.clone()),
                wording_version: decl.wording_version,
                capture_method: decl.capture_method.clone(),
                evidence: Some(decl.evidence.clone()),
                captured_at: cx.b.created_at,
                recorded_at: cx.now,
                recorded_by: cx.by,
                expires_at: None,
            },
        )?;
    }
    Ok(())
}

/// Log an attendance list's event for a person: idempotent per activity, action and person (the
/// same attendance in a second list is recorded once), marked with the batch for its rollback.
pub(super) fn attend(conn: &mut DbConn, cx: &Ctx<'_>, person_id: i64, person_public_id: &str) -> AppResult<()> {
    let Some(a) = &cx.attend else { return Ok(()) };
    crate::db::engagement::insert_events(
        conn,
        &[crate::db::engagement::Engagement {
            id: 0,
            public_id: crate::service::new_ordered_public_id(),
            person_id,
            activity_id: Some(a.activity.id),
            shift_id: None,
            kind: a.activity.kind.clone(),
            action: a.action.clone(),
            occurred_at: a.at,
            department_id: a.activity.department_id,
            source: "import".into(),
            external_ref: Some(attendance_ref(&a.activity.public_id, &a.action, person_public_id)),
            hours: a.hours,
            response_ref: None,
            detail: Some(cx.reference.clone()),
            recorded_at: cx.now,
            recorded_by: cx.by,
        }],
    )?;
    crate::db::people::link_departments(
        conn,
        person_id,
        &[a.activity.department_id],
        "import",
        Some(&cx.reference),
        cx.now,
    )?;
    Ok(())
}
