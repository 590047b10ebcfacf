//! Merging people into a survivor, and undoing it exactly.
//!
//! Policy:
//! - A merge moves everything the merged people hold (contact points, addresses, tags,
//!   department links, consent ledger, engagement, source records) to the survivor; the survivor's
//!   scalar values follow the survivorship rule (most recent, most complete, most trusted, or a
//!   per-field choice); nothing is thrown away: every losing value stays on its source records and
//!   in the merge snapshot. Merged ids answer with the survivor (301).
//! - The snapshot holds every row needed to put each person back exactly as they were. Unmerge
//!   restores it; changes made after the merge stay where they were made (rows added to the
//!   survivor stay with the survivor; survivor fields edited after the merge keep their edit).
//! - Unmerging records the pair as "not the same person", so it is never proposed again.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::consent::ConsentEvent;
use crate::db::people::{self as dbp, DepartmentLink, EmailRow, Person, PersonRestore, PhoneRow, ProvenanceRow};
use crate::db::schema::{
    consent_events, consent_state, engagement_events, field_provenance, people, person_addresses, person_departments,
    person_emails, person_phones, person_tags, rights_requests, source_records,
};
use crate::db::DbConn;
use crate::error::AppResult;

/// Everything needed to restore one person exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonSnapshot {
    /// The person row.
    pub person: Person,
    /// Email rows (moved or dropped as duplicates by the merge).
    pub emails: Vec<EmailRow>,
    /// Phone rows.
    pub phones: Vec<PhoneRow>,
    /// Address rows (moved): id, primary flag, and line 1 + postcode to recognise rewritten rows.
    pub addresses: Vec<(i64, bool, String, Option<String>)>,
    /// Tags.
    pub tags: Vec<String>,
    /// Department links.
    pub departments: Vec<DepartmentLink>,
    /// Field provenance.
    pub provenance: Vec<ProvenanceRow>,
    /// Consent event ids (moved).
    pub consent_events: Vec<i64>,
    /// Engagement event ids (moved).
    pub engagements: Vec<i64>,
    /// Source record ids (moved).
    pub source_records: Vec<i64>,
    /// Data-protection request ids (moved).
    #[serde(default)]
    pub rights_requests: Vec<i64>,
    /// Of a merged person: those merged into them before, whom the merge pointed at the survivor
    /// (an unmerge points them back, so the earlier merge can still be undone).
    #[serde(default)]
    pub redirected: Vec<i64>,
    /// Of a merged person: the review proposals about them the merge closed (an unmerge reopens
    /// them).
    #[serde(default)]
    pub superseded: Vec<i64>,
}

/// Take a person's snapshot.
pub fn snapshot(conn: &mut DbConn, person_id: i64) -> AppResult<PersonSnapshot> {
    let ids = [person_id];
    Ok(PersonSnapshot {
        person: dbp::find(conn, person_id)?,
        emails: dbp::emails_of(conn, &ids)?,
        phones: dbp::phones_of(conn, &ids)?,
        addresses: dbp::addresses_of(conn, &ids)?
            .into_iter()
            .map(|a| (a.id, a.is_primary, a.line1, a.postcode))
            .collect(),
        tags: dbp::tags_of(conn, &ids)?.into_iter().map(|t| t.1).collect(),
        departments: dbp::department_links(conn, person_id)?,
        provenance: dbp::provenance_of(conn, &ids)?,
        consent_events: consent_events::table
            .filter(consent_events::person_id.eq(person_id))
            .select(consent_events::id)
            .load(conn)?,
        engagements: engagement_events::table
            .filter(engagement_events::person_id.eq(person_id))
            .select(engagement_events::id)
            .load(conn)?,
        source_records: source_records::table
            .filter(source_records::person_id.eq(person_id))
            .select(source_records::id)
            .load(conn)?,
        rights_requests: rights_requests::table
            .filter(rights_requests::person_id.eq(person_id))
            .select(rights_requests::id)
            .load(conn)?,
        redirected: Vec::new(),
        superseded: Vec::new(),
    })
}

/// Move everything `from` holds to `to` (inside the caller's transaction).
pub fn move_rows(conn: &mut DbConn, from: i64, to: i64) -> AppResult<()> {
    let ids = [to];
    let keep_emails: BTreeSet<String> = dbp::emails_of(conn, &ids)?.into_iter().map(|e| e.address_key).collect();
    for e in dbp::emails_of(conn, &[from])? {
        if keep_emails.contains(&e.address_key) {
            diesel::delete(person_emails::table.find(e.id)).execute(conn)?;
        } else {
            diesel::update(person_emails::table.find(e.id))
                .set((person_emails::person_id.eq(to), person_emails::is_primary.eq(false)))
                .execute(conn)?;
        }
    }
    let keep_phones: BTreeSet<String> = dbp::phones_of(conn, &ids)?.into_iter().map(|p| p.number).collect();
    for p in dbp::phones_of(conn, &[from])? {
        if keep_phones.contains(&p.number) {
            diesel::delete(person_phones::table.find(p.id)).execute(conn)?;
        } else {
            diesel::update(person_phones::table.find(p.id))
                .set((person_phones::person_id.eq(to), person_phones::is_primary.eq(false)))
                .execute(conn)?;
        }
    }
    diesel::update(person_addresses::table.filter(person_addresses::person_id.eq(from)))
        .set((
            person_addresses::person_id.eq(to),
            person_addresses::is_primary.eq(false),
        ))
        .execute(conn)?;
    let mut tags: Vec<String> = dbp::tags_of(conn, &[to, from])?.into_iter().map(|t| t.1).collect();
    tags.sort();
    tags.dedup();
    dbp::replace_tags(conn, to, &tags)?;
    diesel::delete(person_tags::table.filter(person_tags::person_id.eq(from))).execute(conn)?;
    for link in dbp::department_links(conn, from)? {
        dbp::link_departments(
            conn,
            to,
            &[link.department_id],
            &link.source_kind,
            link.source_ref.as_deref(),
            link.created_at,
        )?;
    }
    diesel::delete(person_departments::table.filter(person_departments::person_id.eq(from))).execute(conn)?;
    diesel::delete(field_provenance::table.filter(field_provenance::person_id.eq(from))).execute(conn)?;
    diesel::update(consent_events::table.filter(consent_events::person_id.eq(from)))
        .set(consent_events::person_id.eq(to))
        .execute(conn)?;
    diesel::update(engagement_events::table.filter(engagement_events::person_id.eq(from)))
        .set(engagement_events::person_id.eq(to))
        .execute(conn)?;
    diesel::update(source_records::table.filter(source_records::person_id.eq(Some(from))))
        .set(source_records::person_id.eq(Some(to)))
        .execute(conn)?;
    diesel::update(rights_requests::table.filter(rights_requests::person_id.eq(Some(from))))
        .set(rights_requests::person_id.eq(Some(to)))
        .execute(conn)?;
    rebuild_consent_state(conn, from)?;
    rebuild_consent_state(conn, to)?;
    Ok(())
}

/// Recompute a person's derived consent state from their ledger.
pub fn rebuild_consent_state(conn: &mut DbConn, person_id: i64) -> AppResult<()> {
    diesel::delete(consent_state::table.filter(consent_state::person_id.eq(person_id))).execute(conn)?;
    let events: Vec<ConsentEvent> = crate::db::consent::events_of(conn, person_id)?;
    for e in &events {
        crate::service::consent::apply_to_state(conn, e)?;
    }
    Ok(())
}

/// Put a snapshot email row back under its old id, or under a new one when a row added since
/// (an edit rewrites contact rows; SQLite reuses freed ids) holds that id now.
fn put_back_email(conn: &mut DbConn, e: &EmailRow) -> AppResult<()> {
    let taken: i64 = person_emails::table.find(e.id).count().get_result(conn)?;
    if taken == 0 {
        diesel::insert_into(person_emails::table).values(e).execute(conn)?;
        return Ok(());
    }
    diesel::insert_into(person_emails::table)
        .values((
            person_emails::person_id.eq(e.person_id),
            person_emails::address.eq(&e.address),
            person_emails::address_key.eq(&e.address_key),
            person_emails::is_primary.eq(e.is_primary),
            person_emails::source_kind.eq(&e.source_kind),
            person_emails::source_ref.eq(&e.source_ref),
            person_emails::set_by.eq(e.set_by),
            person_emails::set_at.eq(e.set_at),
            person_emails::point_hash.eq(&e.point_hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// [`put_back_email`] for a phone row.
fn put_back_phone(conn: &mut DbConn, p: &PhoneRow) -> AppResult<()> {
    let taken: i64 = person_phones::table.find(p.id).count().get_result(conn)?;
    if taken == 0 {
        diesel::insert_into(person_phones::table).values(p).execute(conn)?;
        return Ok(());
    }
    diesel::insert_into(person_phones::table)
        .values((
            person_phones::person_id.eq(p.person_id),
            person_phones::number.eq(&p.number),
            person_phones::label.eq(&p.label),
            person_phones::is_primary.eq(p.is_primary),
            person_phones::source_kind.eq(&p.source_kind),
            person_phones::source_ref.eq(&p.source_ref),
            person_phones::set_by.eq(p.set_by),
            person_phones::set_at.eq(p.set_at),
            person_phones::point_hash.eq(&p.point_hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Put a merged person back from their snapshot, taking their rows back from `survivor`.
pub fn restore_merged(conn: &mut DbConn, snap: &PersonSnapshot) -> AppResult<()> {
    let id = snap.person.id;
    // Ids can be reused after an edit rewrote rows, so a row is only taken back if its value matches.
    for e in &snap.emails {
        diesel::delete(
            person_emails::table
                .find(e.id)
                .filter(person_emails::address_key.eq(&e.address_key)),
        )
        .execute(conn)?;
    }
    for e in &snap.emails {
        put_back_email(conn, e)?;
    }
    for p in &snap.phones {
        diesel::delete(
            person_phones::table
                .find(p.id)
                .filter(person_phones::number.eq(&p.number)),
        )
        .execute(conn)?;
    }
    for p in &snap.phones {
        put_back_phone(conn, p)?;
    }
    // By id and value: SQLite reuses the ids of rows an edit rewrote.
    for (address_id, primary, line1, postcode) in &snap.addresses {
        let held: Option<(String, Option<String>)> = person_addresses::table
            .find(address_id)
            .select((person_addresses::line1, person_addresses::postcode))
            .first(conn)
            .optional()?;
        if held.is_some_and(|(l, p)| l == *line1 && p == *postcode) {
            diesel::update(person_addresses::table.find(address_id))
                .set((
                    person_addresses::person_id.eq(id),
                    person_addresses::is_primary.eq(primary),
                ))
                .execute(conn)?;
        }
    }
    dbp::replace_tags(conn, id, &snap.tags)?;
    diesel::delete(person_departments::table.filter(person_departments::person_id.eq(id))).execute(conn)?;
    for link in &snap.departments {
        diesel::insert_into(person_departments::table)
            .values(link)
            .execute(conn)?;
    }
    diesel::delete(field_provenance::table.filter(field_provenance::person_id.eq(id))).execute(conn)?;
    for p in &snap.provenance {
        diesel::insert_into(field_provenance::table).values(p).execute(conn)?;
    }
    diesel::update(consent_events::table.filter(consent_events::id.eq_any(&snap.consent_events)))
        .set(consent_events::person_id.eq(id))
        .execute(conn)?;
    // An unsubscribe clicked in a message to this record after the merge was recorded on the
    // survivor; it is this person's, and goes back with them.
    let evidence = crate::service::campaigns::unsubscribe::unsubscribe_evidence(&snap.person.public_id);
    diesel::update(
        consent_events::table
            .filter(consent_events::source.eq("unsubscribe"))
            .filter(consent_events::evidence.eq(evidence)),
    )
    .set(consent_events::person_id.eq(id))
    .execute(conn)?;
    diesel::update(engagement_events::table.filter(engagement_events::id.eq_any(&snap.engagements)))
        .set(engagement_events::person_id.eq(id))
        .execute(conn)?;
    diesel::update(source_records::table.filter(source_records::id.eq_any(&snap.source_records)))
        .set(source_records::person_id.eq(Some(id)))
        .execute(conn)?;
    diesel::update(rights_requests::table.filter(rights_requests::id.eq_any(&snap.rights_requests)))
        .set(rights_requests::person_id.eq(Some(id)))
        .execute(conn)?;
    dbp::restore(conn, id, &PersonRestore::from(&snap.person))?;
    rebuild_consent_state(conn, id)?;
    Ok(())
}

/// Put the survivor back: its own snapshot rows return, rows added after the merge stay, and
/// fields edited after the merge keep their edit.
pub fn restore_survivor(
    conn: &mut DbConn,
    snap: &PersonSnapshot,
    merged: &[PersonSnapshot],
    merged_at: NaiveDateTime,
) -> AppResult<()> {
    let id = snap.person.id;
    // An edit after the merge may have rewritten rows (new ids): values that came from the merged
    // people and that the survivor did not have before go back, recognised by value.
    let own_keys: BTreeSet<&String> = snap.emails.iter().map(|e| &e.address_key).collect();
    let merged_keys: Vec<String> = merged
        .iter()
        .flat_map(|m| m.emails.iter().map(|e| e.address_key.clone()))
        .filter(|k| !own_keys.contains(k))
        .collect();
    diesel::delete(
        person_emails::table
            .filter(person_emails::person_id.eq(id))
            .filter(person_emails::address_key.eq_any(&merged_keys)),
    )
    .execute(conn)?;
    let own_numbers: BTreeSet<&String> = snap.phones.iter().map(|p| &p.number).collect();
    let merged_numbers: Vec<String> = merged
        .iter()
        .flat_map(|m| m.phones.iter().map(|p| p.number.clone()))
        .filter(|n| !own_numbers.contains(n))
        .collect();
    diesel::delete(
        person_phones::table
            .filter(person_phones::person_id.eq(id))
            .filter(person_phones::number.eq_any(&merged_numbers)),
    )
    .execute(conn)?;
    // An address that came from a merged person goes, unless the survivor had it too (duplicates
    // often share their address).
    let own_places: BTreeSet<(&String, &Option<String>)> = snap.addresses.iter().map(|(_, _, l, pc)| (l, pc)).collect();
    for a in dbp::addresses_of(conn, &[id])? {
        let from_merged = merged
            .iter()
            .flat_map(|m| m.addresses.iter())
            .any(|(_, _, line1, pc)| *line1 == a.line1 && *pc == a.postcode);
        if from_merged && !own_places.contains(&(&a.line1, &a.postcode)) {
            diesel::delete(person_addresses::table.find(a.id)).execute(conn)?;
        }
    }
    // Contact points the survivor had keep their original rows (primary flags included).
    for e in &snap.emails {
        diesel::delete(
            person_emails::table
                .filter(person_emails::person_id.eq(id))
                .filter(person_emails::address_key.eq(&e.address_key)),
        )
        .execute(conn)?;
        diesel::delete(
            person_emails::table
                .find(e.id)
                .filter(person_emails::address_key.eq(&e.address_key)),
        )
        .execute(conn)?;
        put_back_email(conn, e)?;
    }
    for p in &snap.phones {
        diesel::delete(
            person_phones::table
                .find(p.id)
                .filter(person_phones::number.eq(&p.number)),
        )
        .execute(conn)?;
        diesel::delete(
            person_phones::table
                .filter(person_phones::person_id.eq(id))
                .filter(person_phones::number.eq(&p.number)),
        )
        .execute(conn)?;
        put_back_phone(conn, p)?;
    }
    let from_merged: BTreeSet<&String> = merged.iter().flat_map(|m| m.tags.iter()).collect();
    let mut tags: Vec<String> = dbp::tags_of(conn, &[id])?
        .into_iter()
        .map(|t| t.1)
        .filter(|t| snap.tags.contains(t) || !from_merged.contains(t))
        .collect();
    tags.sort();
    dbp::replace_tags(conn, id, &tags)?;
    let merged_depts: BTreeSet<i64> = merged
        .iter()
        .flat_map(|m| m.departments.iter().map(|d| d.department_id))
        .collect();
    let current = dbp::department_links(conn, id)?;
    diesel::delete(person_departments::table.filter(person_departments::person_id.eq(id))).execute(conn)?;
    for link in &snap.departments {
        diesel::insert_into(person_departments::table)
            .values(link)
            .execute(conn)?;
    }
    for link in current
        .iter()
        .filter(|l| !snap.departments.iter().any(|s| s.department_id == l.department_id))
    {
        if !merged_depts.contains(&link.department_id) || link.created_at > merged_at {
            diesel::insert_into(person_departments::table)
                .values(link)
                .execute(conn)?;
        }
    }
    let now = dbp::find(conn, id)?;
    let provenance = dbp::provenance_of(conn, &[id])?;
    let edited_later: BTreeSet<String> = provenance
        .iter()
        .filter(|p| p.set_at > merged_at)
        .map(|p| p.field.clone())
        .collect();
    if edited_later.is_empty() {
        diesel::delete(field_provenance::table.filter(field_provenance::person_id.eq(id))).execute(conn)?;
        for p in &snap.provenance {
            diesel::insert_into(field_provenance::table).values(p).execute(conn)?;
        }
        let mut row = PersonRestore::from(&snap.person);
        // Changed since the merge where no field provenance shows it (contact points): the
        // version moves on, so that a save based on an older read cannot overwrite the change.
        if now.version > snap.person.version + 1 {
            row.version = now.version + 1;
        }
        dbp::restore(conn, id, &row)?;
    } else {
        let mut row = PersonRestore::from(&snap.person);
        let keep = |f: &str| edited_later.contains(f);
        if keep("title") {
            row.title = now.title.clone();
        }
        if keep("given_name") {
            row.given_name = now.given_name.clone();
            row.given_fold = now.given_fold.clone();
        }
        if keep("family_name") {
            row.family_name = now.family_name.clone();
            row.family_fold = now.family_fold.clone();
        }
        if keep("preferred_name") {
            row.preferred_name = now.preferred_name.clone();
            row.preferred_fold = now.preferred_fold.clone();
        }
        if keep("date_of_birth") {
            row.date_of_birth = now.date_of_birth;
        }
        if keep("organisation") {
            row.organisation = now.organisation.clone();
        }
        row.full_fold = format!("{} {}", row.given_fold, row.family_fold).trim().to_string();
        row.version = now.version + 1;
        row.updated_at = now.updated_at;
        row.status = now.status.clone();
        diesel::delete(
            field_provenance::table
                .filter(field_provenance::person_id.eq(id))
                .filter(field_provenance::field.ne_all(edited_later.iter().cloned().collect::<Vec<_>>())),
        )
        .execute(conn)?;
        for p in snap.provenance.iter().filter(|p| !edited_later.contains(&p.field)) {
            diesel::insert_into(field_provenance::table).values(p).execute(conn)?;
        }
        dbp::restore(conn, id, &row)?;
    }
    rebuild_consent_state(conn, id)?;
    let _ = people::table;
    Ok(())
}
