//! The commit: apply exactly what the dry run predicted, chunk by chunk. Each chunk is one
//! transaction that also moves the batch's progress on, so a crash leaves no half-applied chunk
//! and the work resumes after the last committed one.
//!
//! - **create** / **review**: a new person from the row (provenance `import`, the batch as
//!   reference), linked to the department; a review row also proposes the pair for review.
//! - **link** / **duplicate**: the person found (or the one an earlier row created) gains what
//!   the row adds: missing names and date of birth, new emails, phones and address, tags, the
//!   department; nothing they hold is overwritten.
//! - every applied row becomes a source record; consent columns become ledger events with the
//!   batch's declared basis and evidence (a blank answer is never consent).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::scan::{file_rows, record_of, row_options, CHUNK};
use super::{load, materialise, Batch, ConsentColumn};
use crate::db::people::{self as dbp, NewAddress, NewEmail, NewPersonMeta, NewPhone, Person, ProvenanceRow};
use crate::db::schema::{
    import_batches, import_file_chunks, import_rows, person_addresses, person_emails, person_phones, source_records,
};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::import_core::{clean_row, CleanRow, ConsentValue, RowOutcome};
use crate::matching::Prepared;
use crate::service::identity::{index, matcher};
use crate::service::new_ordered_public_id;
use crate::service::people::input::person_fields;
use crate::service::privacy::keys::PointHasher;

/// A stored prediction.
#[derive(Debug, Clone, Queryable)]
struct Planned {
    row_number: i64,
    outcome: String,
    person_id: Option<i64>,
    duplicate_of: Option<i64>,
    match_score: Option<f64>,
    applied: bool,
}

/// An attendance list's event, resolved once per commit.
struct Attend {
    activity: crate::db::engagement::Activity,
    action: String,
    at: NaiveDateTime,
    hours: Option<f64>,
}

struct Ctx<'a> {
    b: &'a Batch,
    attend: Option<Attend>,
    points: &'a PointHasher,
    consents: BTreeMap<String, (ConsentColumn, i64, String)>,
    reference: String,
    now: NaiveDateTime,
    by: Option<i64>,
    matcher: matcher::Matcher,
}

/// The live person a planned link points at: a merged person's survivor; none if erased.
fn live(conn: &mut DbConn, id: i64) -> AppResult<Option<Person>> {
    let mut p = dbp::find(conn, id)?;
    for _ in 0..5 {
        match (p.status.as_str(), p.merged_into) {
            ("merged", Some(next)) => p = dbp::find(conn, next)?,
            ("active" | "restricted", _) => return Ok(Some(p)),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

fn stamp_source(cx: &Ctx<'_>) -> (String, Option<String>, Option<i64>, NaiveDateTime) {
    ("import".into(), Some(cx.reference.clone()), cx.by, cx.now)
}

fn new_emails(cx: &Ctx<'_>, person_id: i64, r: &CleanRow, held: &[String], primary_free: bool) -> Vec<NewEmail> {
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

fn new_phones(cx: &Ctx<'_>, person_id: i64, r: &CleanRow, held: &[String], primary_free: bool) -> Vec<NewPhone> {
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

fn new_address(cx: &Ctx<'_>, person_id: i64, r: &CleanRow, primary: bool) -> Option<NewAddress> {
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

fn insert_contacts(
    conn: &mut DbConn,
    emails: &[NewEmail],
    phones: &[NewPhone],
    address: Option<NewAddress>,
) -> AppResult<()> {
    if !emails.is_empty() {
        crate::with_backend!(conn, |c| diesel::insert_into(person_emails::table)
            .values(emails)
            .execute(c))?;
    }
    if !phones.is_empty() {
        crate::with_backend!(conn, |c| diesel::insert_into(person_phones::table)
            .values(phones)
            .execute(c))?;
    }
    if let Some(a) = address {
        diesel::insert_into(person_addresses::table).values(&a).execute(conn)?;
    }
    Ok(())
}

fn provenance(cx: &Ctx<'_>, person_id: i64, fields: &[&str]) -> Vec<ProvenanceRow> {
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

/// A new person from a row.
/// Create the person a row describes: (internal id, public id).
fn create_person(conn: &mut DbConn, cx: &Ctx<'_>, r: &CleanRow) -> AppResult<(i64, String)> {
    let fields = person_fields(
        r.title.clone(),
        r.given_name.clone(),
        r.family_name.clone(),
        r.preferred_name.clone(),
        r.date_of_birth,
        r.organisation.clone(),
    );
    let public_id = new_ordered_public_id();
    let meta = NewPersonMeta {
        public_id: &public_id,
        status: "active",
        version: 1,
        created_at: cx.now,
        updated_at: cx.now,
    };
    let person = dbp::insert(conn, &meta, &fields)?;
    insert_contacts(
        conn,
        &new_emails(cx, person.id, r, &[], true),
        &new_phones(cx, person.id, r, &[], true),
        new_address(cx, person.id, r, true),
    )?;
    if !r.tags.is_empty() {
        dbp::replace_tags(conn, person.id, &r.tags)?;
    }
    let set: Vec<&str> = [
        ("title", r.title.is_some()),
        ("given_name", r.given_name.is_some()),
        ("family_name", r.family_name.is_some()),
        ("preferred_name", r.preferred_name.is_some()),
        ("date_of_birth", r.date_of_birth.is_some()),
        ("organisation", r.organisation.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, has)| has.then_some(f))
    .collect();
    dbp::set_provenance(conn, &provenance(cx, person.id, &set))?;
    Ok((person.id, person.public_id))
}

/// Add what a row knows to an existing person, never overwriting what they hold.
fn enrich(conn: &mut DbConn, cx: &Ctx<'_>, p: &Person, r: &CleanRow) -> AppResult<()> {
    let mut filled = Vec::new();
    let mut pick = |mine: &Option<String>, theirs: &Option<String>, name: &'static str| match (mine, theirs) {
        (None, Some(v)) => {
            filled.push(name);
            Some(v.clone())
        }
        _ => mine.clone(),
    };
    let title = pick(&p.title, &r.title, "title");
    let given = pick(&p.given_name, &r.given_name, "given_name");
    let family = pick(&p.family_name, &r.family_name, "family_name");
    let preferred = pick(&p.preferred_name, &r.preferred_name, "preferred_name");
    let organisation = pick(&p.organisation, &r.organisation, "organisation");
    let dob = match (p.date_of_birth, r.date_of_birth) {
        (None, Some(d)) => {
            filled.push("date_of_birth");
            Some(d)
        }
        (mine, _) => mine,
    };
    let held_emails = dbp::emails_of(conn, &[p.id])?;
    let held_phones = dbp::phones_of(conn, &[p.id])?;
    let held_addresses = dbp::addresses_of(conn, &[p.id])?;
    let email_keys: Vec<String> = held_emails.iter().map(|e| e.address_key.clone()).collect();
    let numbers: Vec<String> = held_phones.iter().map(|n| n.number.clone()).collect();
    let emails = new_emails(cx, p.id, r, &email_keys, held_emails.is_empty());
    let phones = new_phones(cx, p.id, r, &numbers, held_phones.is_empty());
    let address = new_address(cx, p.id, r, held_addresses.is_empty()).filter(|a| {
        !held_addresses
            .iter()
            .any(|h| h.line1.eq_ignore_ascii_case(&a.line1) && h.postcode == a.postcode)
    });
    let changed = !filled.is_empty() || !emails.is_empty() || !phones.is_empty() || address.is_some();
    insert_contacts(conn, &emails, &phones, address)?;
    let tags = dbp::tags_of(conn, &[p.id])?;
    let mut all: Vec<String> = tags.into_iter().map(|(_, t)| t).collect();
    let before = all.len();
    for t in &r.tags {
        if !all.contains(t) {
            all.push(t.clone());
        }
    }
    if all.len() != before {
        all.sort();
        dbp::replace_tags(conn, p.id, &all)?;
    }
    if changed || all.len() != before {
        let fields = person_fields(title, given, family, preferred, dob, organisation);
        // A concurrent edit wins: the values it set stay, this row's additions are kept.
        if dbp::update_fields(conn, p.id, p.version, &fields, cx.now)?.is_none() {
            return Err(AppError::conflict(
                "changed_meanwhile",
                "A person this import links to changed during the commit; commit again to resume.",
            ));
        }
        dbp::set_provenance(conn, &provenance(cx, p.id, &filled))?;
    }
    Ok(())
}

fn source_record(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    person_id: i64,
    r: &CleanRow,
    decision: &str,
    score: Option<f64>,
) -> AppResult<()> {
    let data = serde_json::to_string(r).unwrap_or_else(|_| "{}".into());
    let row = i64::try_from(r.number).unwrap_or(i64::MAX);
    if let Some(ext) = &r.external_id {
        // The department's newer copy of a record already held: the stored copy is replaced.
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
            source_records::data.eq(&data),
            source_records::content_hash.eq(&r.content_hash),
            source_records::received_at.eq(cx.now),
        ))
        .execute(conn)?;
        if n > 0 {
            return Ok(());
        }
    }
    diesel::insert_into(source_records::table)
        .values((
            source_records::public_id.eq(new_ordered_public_id()),
            source_records::person_id.eq(Some(person_id)),
            source_records::department_id.eq(cx.b.department_id),
            source_records::source_system.eq(&cx.b.source_system),
            source_records::external_id.eq(&r.external_id),
            source_records::import_batch_id.eq(Some(cx.b.id)),
            source_records::row_number.eq(Some(row)),
            source_records::data.eq(&data),
            source_records::content_hash.eq(&r.content_hash),
            source_records::match_decision.eq(decision),
            source_records::match_score.eq(score),
            source_records::received_at.eq(cx.now),
        ))
        .execute(conn)?;
    Ok(())
}

fn consents(conn: &mut DbConn, cx: &Ctx<'_>, person_id: i64, r: &CleanRow) -> AppResult<()> {
    for (slug, value) in &r.consents {
        let status = match value {
            ConsentValue::Unknown => continue,
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

/// The person an earlier row of this batch ended with.
fn person_of_row(conn: &mut DbConn, batch_id: i64, row: i64) -> AppResult<Option<i64>> {
    Ok(import_rows::table
        .filter(import_rows::batch_id.eq(batch_id))
        .filter(import_rows::row_number.eq(row))
        .select(import_rows::person_id)
        .get_result::<Option<i64>>(conn)
        .optional()?
        .flatten())
}

/// Apply one row; returns the person it ended with and the outcome actually applied.
fn apply_row(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    r: &CleanRow,
    plan: &Planned,
    touched: &mut Vec<i64>,
) -> AppResult<(Option<i64>, &'static str)> {
    let target = match plan.outcome.as_str() {
        "link" | "unchanged" => match plan.person_id {
            Some(id) => live(conn, id)?,
            None => None,
        },
        "duplicate" => match plan.duplicate_of {
            Some(first) => match person_of_row(conn, cx.b.id, first)? {
                Some(id) => live(conn, id)?,
                None => None,
            },
            None => None,
        },
        _ => None,
    };
    let outcome: &'static str = match plan.outcome.as_str() {
        "unchanged" => {
            if let Some(p) = &target {
                attend(conn, cx, p.id, &p.public_id)?;
            }
            return Ok((target.map(|p| p.id), "unchanged"));
        }
        "reject" => return Ok((None, "reject")),
        "link" | "duplicate" if target.is_none() => "create",
        "link" => "link",
        "duplicate" => "duplicate",
        "review" => "review",
        _ => "create",
    };
    let (person_id, public_id) = match (&target, outcome) {
        (Some(p), "link" | "duplicate") => {
            enrich(conn, cx, p, r)?;
            crate::db::people::link_departments(
                conn,
                p.id,
                &[cx.b.department_id],
                "import",
                Some(&cx.reference),
                cx.now,
            )?;
            source_record(conn, cx, p.id, r, "linked", plan.match_score)?;
            (p.id, p.public_id.clone())
        }
        _ => {
            let (id, public_id) = create_person(conn, cx, r)?;
            crate::db::people::link_departments(
                conn,
                id,
                &[cx.b.department_id],
                "import",
                Some(&cx.reference),
                cx.now,
            )?;
            let decision = if outcome == "review" { "review" } else { "created" };
            source_record(conn, cx, id, r, decision, plan.match_score)?;
            (id, public_id)
        }
    };
    consents(conn, cx, person_id, r)?;
    attend(conn, cx, person_id, &public_id)?;
    touched.push(person_id);
    if outcome == "review" {
        let other = match (plan.person_id, plan.duplicate_of) {
            (Some(p), _) => live(conn, p)?.map(|p| p.id),
            (None, Some(first)) => person_of_row(conn, cx.b.id, first)?,
            _ => None,
        };
        if let Some(other) = other {
            let prepared = Prepared::from_record(&record_of(r));
            let theirs = index::records_of(conn, &[other])?;
            if let Some((_, rec)) = theirs.first() {
                let (score, _) = cx.matcher.score(&prepared, &Prepared::from_record(rec));
                matcher::propose(conn, person_id, other, &score, "import", cx.now)?;
            }
        }
    }
    Ok((Some(person_id), outcome))
}

/// Log an attendance list's event for a person: idempotent per activity, action and person (the
/// same attendance in a second list is recorded once), marked with the batch for its rollback.
fn attend(conn: &mut DbConn, cx: &Ctx<'_>, person_id: i64, person_public_id: &str) -> AppResult<()> {
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

/// The idempotency reference of an imported attendance.
pub fn attendance_ref(activity: &str, action: &str, person: &str) -> String {
    format!("attendance:{activity}:{action}:{person}")
}

/// Run the commit of a batch (status `committing`) to the end, resuming after `rows_done`.
pub fn run(
    conn: &mut DbConn,
    batch_id: i64,
    points: &PointHasher,
    settings: &crate::config::MatchingSettings,
) -> AppResult<()> {
    run_chunks(conn, batch_id, points, settings, usize::MAX).map(|_| ())
}

/// Commit at most `max_chunks` chunks, as a worker killed after them would have; returns whether
/// the commit finished. (The crash-and-resume test stops a commit this way.)
pub fn run_chunks(
    conn: &mut DbConn,
    batch_id: i64,
    points: &PointHasher,
    settings: &crate::config::MatchingSettings,
    max_chunks: usize,
) -> AppResult<bool> {
    let b = load(conn, batch_id)?;
    let mut purposes = BTreeMap::new();
    for (slug, decl) in b.consents() {
        if let Some(p) = crate::db::consent::find_purpose(conn, &decl.purpose)? {
            purposes.insert(slug, (decl, p.id, p.default_lawful_basis));
        }
    }
    let now = crate::db::now();
    let attend = match b.attendance() {
        Some(a) => crate::db::engagement::find_activity(conn, &a.activity)?.map(|activity| Attend {
            at: a
                .occurred_at
                .map(|t| t.naive_utc())
                .or(activity.starts_at)
                .unwrap_or(now),
            action: a.action.unwrap_or_else(|| "attended".into()),
            hours: a.hours,
            activity,
        }),
        None => None,
    };
    let cx = Ctx {
        b: &b,
        attend,
        points,
        consents: purposes,
        reference: b.reference(),
        now,
        by: b.created_by,
        matcher: matcher::Matcher::load(conn, settings)?,
    };
    let file = materialise(conn, b.id)?;
    let mapping = b.mapping();
    let opts = row_options(&b, b.created_at.date());
    let mut counts = b.counts();
    let mut done = b.rows_done;
    let mut rows = file_rows(&file.0, &b)?.skip(usize::try_from(done).unwrap_or(0));
    let mut chunks = 0;
    loop {
        if chunks == max_chunks {
            return Ok(false);
        }
        chunks += 1;
        let mut raw = Vec::with_capacity(CHUNK);
        for r in rows.by_ref().take(CHUNK) {
            raw.push(r.map_err(|e| AppError::Internal(format!("the stored file cannot be read again: {e}")))?);
        }
        let (Some(first), Some(last)) = (raw.first(), raw.last()) else {
            break;
        };
        let (lo, hi) = (first.number as i64, last.number as i64);
        let plans: HashMap<i64, Planned> = import_rows::table
            .filter(import_rows::batch_id.eq(b.id))
            .filter(import_rows::row_number.between(lo, hi))
            .select((
                import_rows::row_number,
                import_rows::outcome,
                import_rows::person_id,
                import_rows::duplicate_of,
                import_rows::match_score,
                import_rows::applied,
            ))
            .load::<Planned>(conn)?
            .into_iter()
            .map(|p| (p.row_number, p))
            .collect();
        let n = raw.len() as i64;
        let mut chunk_counts = counts.clone();
        write_tx(conn, |c| -> AppResult<()> {
            let mut touched = Vec::new();
            for raw_row in &raw {
                let Some(plan) = plans.get(&(raw_row.number as i64)) else {
                    continue;
                };
                if plan.applied {
                    continue;
                }
                let (person, outcome) = match clean_row(raw_row, &mapping, &opts) {
                    RowOutcome::Clean(r) => apply_row(c, &cx, &r, plan, &mut touched)?,
                    RowOutcome::Rejected { .. } => (None, "reject"),
                };
                *chunk_counts.entry(format!("committed_{outcome}")).or_insert(0) += 1;
                diesel::update(
                    import_rows::table
                        .filter(import_rows::batch_id.eq(b.id))
                        .filter(import_rows::row_number.eq(plan.row_number)),
                )
                .set((
                    import_rows::applied.eq(true),
                    import_rows::person_id.eq(person),
                    import_rows::outcome.eq(outcome),
                ))
                .execute(c)?;
            }
            touched.sort_unstable();
            touched.dedup();
            index::refresh(c, &touched)?;
            let now = crate::db::now();
            diesel::update(import_batches::table.find(b.id))
                .set((
                    import_batches::rows_done.eq(done + n),
                    import_batches::counts.eq(serde_json::to_string(&chunk_counts).unwrap_or_default()),
                    import_batches::heartbeat_at.eq(Some(now)),
                    import_batches::updated_at.eq(now),
                ))
                .execute(c)?;
            Ok(())
        })?;
        counts = chunk_counts;
        done += n;
    }
    let now = crate::db::now();
    write_tx(conn, |c| {
        diesel::update(import_batches::table.find(b.id))
            .set((
                import_batches::status.eq("committed"),
                import_batches::committed_at.eq(Some(now)),
                import_batches::heartbeat_at.eq(Some(now)),
                import_batches::updated_at.eq(now),
            ))
            .execute(c)?;
        // The file is not needed any more: what was imported is in the source records.
        diesel::delete(import_file_chunks::table.filter(import_file_chunks::batch_id.eq(b.id))).execute(c)?;
        super::audit_phase_end(c, &b, "import.committed", &counts)
    })?;
    Ok(true)
}
