//! The rows of a chunk that add to people already held (links, and duplicates of an earlier
//! row): each person's record, contact points and tags are read once for the chunk, every row's
//! additions are worked out in memory in file order (so a later row sees what an earlier one
//! added, exactly as if they were applied one by one), and everything is written set by set at
//! the end, with one guarded update per person whose record changed.

use std::collections::HashMap;

use super::bulk::PART;
use super::rows::{new_address, new_emails, new_phones, provenance};
use super::Ctx;
use crate::db::people::{self as dbp, NewAddress, NewEmail, NewPhone, Person, ProvenanceRow};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::import_core::CleanRow;
use crate::service::people::input::person_fields;

/// One held person as the chunk's rows leave them.
struct Held {
    person: Person,
    emails: Vec<String>,
    phones: Vec<String>,
    addresses: Vec<(String, Option<String>)>,
    tags: Vec<String>,
    filled: Vec<&'static str>,
    changed: bool,
}

/// What a chunk's rows add to the people they link to.
pub(super) struct Enricher {
    held: HashMap<i64, Held>,
    emails: Vec<NewEmail>,
    phones: Vec<NewPhone>,
    addresses: Vec<NewAddress>,
    tags: Vec<(i64, String)>,
}

impl Enricher {
    /// Read what these (live, distinct) people hold.
    pub(super) fn load(conn: &mut DbConn, people: Vec<Person>) -> AppResult<Self> {
        let ids: Vec<i64> = people.iter().map(|p| p.id).collect();
        let mut held: HashMap<i64, Held> = people
            .into_iter()
            .map(|person| {
                let h = Held {
                    person,
                    emails: Vec::new(),
                    phones: Vec::new(),
                    addresses: Vec::new(),
                    tags: Vec::new(),
                    filled: Vec::new(),
                    changed: false,
                };
                (h.person.id, h)
            })
            .collect();
        for part in ids.chunks(PART) {
            for e in dbp::emails_of(conn, part)? {
                if let Some(h) = held.get_mut(&e.person_id) {
                    h.emails.push(e.address_key);
                }
            }
            for p in dbp::phones_of(conn, part)? {
                if let Some(h) = held.get_mut(&p.person_id) {
                    h.phones.push(p.number);
                }
            }
            for a in dbp::addresses_of(conn, part)? {
                if let Some(h) = held.get_mut(&a.person_id) {
                    h.addresses.push((a.line1, a.postcode));
                }
            }
            for (id, tag) in dbp::tags_of(conn, part)? {
                if let Some(h) = held.get_mut(&id) {
                    h.tags.push(tag);
                }
            }
        }
        Ok(Enricher {
            held,
            emails: Vec::new(),
            phones: Vec::new(),
            addresses: Vec::new(),
            tags: Vec::new(),
        })
    }

    /// Add what a row knows to a held person, never overwriting what they hold: empty fields
    /// are filled, contact points and tags they lack are added (the first becomes primary when
    /// they had none).
    pub(super) fn add(&mut self, cx: &Ctx<'_>, person_id: i64, r: &CleanRow) -> AppResult<()> {
        let Some(h) = self.held.get_mut(&person_id) else {
            return Err(AppError::Internal(format!(
                "person {person_id} was not loaded for the chunk"
            )));
        };
        let p = &mut h.person;
        for (mine, theirs, name) in [
            (&mut p.title, &r.title, "title"),
            (&mut p.given_name, &r.given_name, "given_name"),
            (&mut p.family_name, &r.family_name, "family_name"),
            (&mut p.preferred_name, &r.preferred_name, "preferred_name"),
            (&mut p.organisation, &r.organisation, "organisation"),
        ] {
            if mine.is_none() && theirs.is_some() {
                mine.clone_from(theirs);
                h.filled.push(name);
            }
        }
        if p.date_of_birth.is_none() && r.date_of_birth.is_some() {
            p.date_of_birth = r.date_of_birth;
            h.filled.push("date_of_birth");
        }
        let emails = new_emails(cx, person_id, r, &h.emails, h.emails.is_empty());
        let phones = new_phones(cx, person_id, r, &h.phones, h.phones.is_empty());
        let address = new_address(cx, person_id, r, h.addresses.is_empty()).filter(|a| {
            !h.addresses
                .iter()
                .any(|(line1, postcode)| line1.eq_ignore_ascii_case(&a.line1) && *postcode == a.postcode)
        });
        let tags: Vec<String> = r.tags.iter().filter(|t| !h.tags.contains(t)).cloned().collect();
        h.changed |=
            !h.filled.is_empty() || !emails.is_empty() || !phones.is_empty() || address.is_some() || !tags.is_empty();
        h.emails.extend(emails.iter().map(|e| e.address_key.clone()));
        h.phones.extend(phones.iter().map(|p| p.number.clone()));
        if let Some(a) = &address {
            h.addresses.push((a.line1.clone(), a.postcode.clone()));
        }
        for t in &tags {
            if !h.tags.contains(t) {
                h.tags.push(t.clone());
                self.tags.push((person_id, t.clone()));
            }
        }
        self.emails.extend(emails);
        self.phones.extend(phones);
        self.addresses.extend(address);
        Ok(())
    }

    /// Write every addition: contact points and tags set by set, then each changed person's
    /// fields, guarded by the version read at the start (a concurrent edit makes the chunk fail
    /// and roll back; committing again resumes), and the provenance of the fields filled.
    pub(super) fn write(self, conn: &mut DbConn, cx: &Ctx<'_>) -> AppResult<()> {
        super::bulk::insert_points(conn, &self.emails, &self.phones, &self.addresses, &self.tags)?;
        let mut held: Vec<&Held> = self.held.values().filter(|h| h.changed).collect();
        held.sort_unstable_by_key(|h| h.person.id);
        let mut prov: Vec<ProvenanceRow> = Vec::new();
        for h in held {
            let p = &h.person;
            let fields = person_fields(
                p.title.clone(),
                p.given_name.clone(),
                p.family_name.clone(),
                p.preferred_name.clone(),
                p.date_of_birth,
                p.organisation.clone(),
            );
            if dbp::update_fields(conn, p.id, p.version, &fields, cx.now)?.is_none() {
                return Err(AppError::conflict(
                    "changed_meanwhile",
                    "A person this import links to changed during the commit; commit again to resume.",
                ));
            }
            prov.extend(provenance(cx, p.id, &h.filled));
        }
        dbp::set_provenance(conn, &prov)?;
        Ok(())
    }
}
