//! People: the single customer record.
//!
//! Policy: every value is stored with its provenance; updates are optimistic (a stale version is
//! refused, nothing is overwritten silently); a department editor only sees and edits people
//! linked to their departments, and anyone out of scope gets 404. Deletion is not offered here:
//! it is erasure, a data-protection action.

pub mod input;
mod listing;
pub mod view;

pub(crate) use listing::audit_reads;
pub use listing::{list, paging, search, ListQuery, PeopleParams, PersonPage, SearchRequest, SearchResults};

use chrono::NaiveDateTime;

use self::input::{
    person_fields, Checker, CleanAddress, CleanEmail, CleanPhone, NewPersonRequest, UpdatePersonRequest,
};
use self::view::{assemble, PersonView};
use super::departments::resolve_codes;
use super::privacy::keys::PointHasher;
use super::{audit, new_public_id, Ctx, Permission, Principal, Scope};
use crate::db::people::{self as dbp, NewAddress, NewEmail, NewPersonMeta, NewPhone, Person, ProvenanceRow};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};

/// Statuses a principal may see: restricted people only by those who handle restrictions.
fn visible_statuses(p: &Principal) -> &'static [&'static str] {
    if p.can(Permission::SeeRestricted) {
        &["active", "restricted"]
    } else {
        &["active"]
    }
}

/// Provenance of a staff edit.
fn staff_source(p: &Principal) -> (String, Option<String>) {
    ("staff".into(), Some(p.actor_label()))
}

/// Provenance for a stored value: kept from the old row when the value is unchanged, else the
/// current source.
struct Stamp {
    kind: String,
    reference: Option<String>,
    by: Option<i64>,
    at: NaiveDateTime,
}

impl Stamp {
    fn new(src: &(String, Option<String>), by: i64, at: NaiveDateTime) -> Stamp {
        Stamp {
            kind: src.0.clone(),
            reference: src.1.clone(),
            by: Some(by),
            at,
        }
    }

    fn kept(&self, old: Option<(&String, &Option<String>, Option<i64>, NaiveDateTime)>) -> Stamp {
        match old {
            Some((kind, reference, by, at)) => Stamp {
                kind: kind.clone(),
                reference: reference.clone(),
                by,
                at,
            },
            None => Stamp {
                kind: self.kind.clone(),
                reference: self.reference.clone(),
                by: self.by,
                at: self.at,
            },
        }
    }
}

fn email_rows(
    points: &PointHasher,
    id: i64,
    list: &[CleanEmail],
    keep: &[dbp::EmailRow],
    stamp: &Stamp,
) -> Vec<NewEmail> {
    list.iter()
        .map(|e| {
            let old = keep.iter().find(|o| o.address_key == e.key && o.address == e.address);
            let s = stamp.kept(old.map(|o| (&o.source_kind, &o.source_ref, o.set_by, o.set_at)));
            NewEmail {
                person_id: id,
                address: e.address.clone(),
                address_key: e.key.clone(),
                is_primary: e.primary,
                source_kind: s.kind,
                source_ref: s.reference,
                set_by: s.by,
                set_at: s.at,
                point_hash: points.email(&e.key),
            }
        })
        .collect()
}

fn phone_rows(
    points: &PointHasher,
    id: i64,
    list: &[CleanPhone],
    keep: &[dbp::PhoneRow],
    stamp: &Stamp,
) -> Vec<NewPhone> {
    list.iter()
        .map(|p| {
            let old = keep.iter().find(|o| o.number == p.number);
            let s = stamp.kept(old.map(|o| (&o.source_kind, &o.source_ref, o.set_by, o.set_at)));
            NewPhone {
                person_id: id,
                number: p.number.clone(),
                label: p.label.to_string(),
                is_primary: p.primary,
                source_kind: s.kind,
                source_ref: s.reference,
                set_by: s.by,
                set_at: s.at,
                point_hash: points.phone(&p.number),
            }
        })
        .collect()
}

fn address_rows(id: i64, list: &[CleanAddress], keep: &[dbp::AddressRow], stamp: &Stamp) -> Vec<NewAddress> {
    list.iter()
        .map(|a| {
            let old = keep.iter().find(|o| {
                o.line1 == a.line1
                    && o.line2 == a.line2
                    && o.line3 == a.line3
                    && o.town == a.town
                    && o.postcode == a.postcode
            });
            let s = stamp.kept(old.map(|o| (&o.source_kind, &o.source_ref, o.set_by, o.set_at)));
            NewAddress {
                person_id: id,
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                line3: a.line3.clone(),
                town: a.town.clone(),
                county: a.county.clone(),
                postcode: a.postcode.clone(),
                country: a.country.clone(),
                is_primary: a.primary,
                source_kind: s.kind,
                source_ref: s.reference,
                set_by: s.by,
                set_at: s.at,
            }
        })
        .collect()
}

/// Department ids a new person is linked to: the ones asked for, which a scoped user must hold.
fn departments_for(conn: &mut DbConn, principal: &Principal, codes: &[String]) -> AppResult<Vec<i64>> {
    let ids = resolve_codes(conn, codes, "departments")?;
    if let Scope::Departments(mine) = &principal.scope {
        if ids.is_empty() && mine.len() == 1 {
            return Ok(mine.clone());
        }
        if ids.is_empty() {
            return Err(AppError::field(
                "departments",
                "required",
                "Say which of your departments this person belongs to.",
            ));
        }
        if let Some(i) = ids.iter().position(|d| !mine.contains(d)) {
            return Err(AppError::field(
                &format!("departments[{i}]"),
                "out_of_scope",
                "You can only link people to your own departments.",
            ));
        }
    }
    Ok(ids)
}

fn provenance(
    id: i64,
    fields: &[&str],
    src: &(String, Option<String>),
    by: i64,
    at: NaiveDateTime,
) -> Vec<ProvenanceRow> {
    fields
        .iter()
        .map(|f| ProvenanceRow {
            person_id: id,
            field: (*f).to_string(),
            source_kind: src.0.clone(),
            source_ref: src.1.clone(),
            set_by: Some(by),
            set_at: at,
        })
        .collect()
}

/// Create a person.
pub fn create(conn: &mut DbConn, ctx: &Ctx, req: &NewPersonRequest) -> AppResult<PersonView> {
    let mut ck = Checker::default();
    let fields = person_fields(
        ck.text("title", req.title.as_deref(), 20),
        ck.text("given_name", req.given_name.as_deref(), 100),
        ck.text("family_name", req.family_name.as_deref(), 100),
        ck.text("preferred_name", req.preferred_name.as_deref(), 100),
        ck.dob(req.date_of_birth, ctx.meta.now.date()),
        ck.text("organisation", req.organisation.as_deref(), 200),
    );
    let emails = ck.emails(&req.emails);
    let phones = ck.phones(&req.phones);
    let addresses = ck.addresses(&req.addresses);
    let tags = ck.tags(&req.tags);
    if fields.given_name.is_none()
        && fields.family_name.is_none()
        && emails.is_empty()
        && phones.is_empty()
        && ck.errors.is_empty()
    {
        ck.errors.push(FieldError::new(
            "given_name",
            "required",
            "Give at least a name, an email or a phone number.",
        ));
    }
    if !ck.errors.is_empty() {
        return Err(AppError::Validation(ck.errors));
    }
    let now = ctx.meta.now;
    let by = ctx.principal.user_id;
    let src = staff_source(&ctx.principal);
    let stamp = Stamp::new(&src, by, now);
    write_tx(conn, |c| {
        let depts = departments_for(c, &ctx.principal, &req.departments)?;
        let public_id = new_public_id();
        let meta = NewPersonMeta {
            public_id: &public_id,
            status: "active",
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let person = dbp::insert(c, &meta, &fields)?;
        dbp::replace_emails(c, person.id, &email_rows(&ctx.points, person.id, &emails, &[], &stamp))?;
        dbp::replace_phones(c, person.id, &phone_rows(&ctx.points, person.id, &phones, &[], &stamp))?;
        dbp::replace_addresses(c, person.id, &address_rows(person.id, &addresses, &[], &stamp))?;
        dbp::replace_tags(c, person.id, &tags)?;
        dbp::link_departments(c, person.id, &depts, &src.0, src.1.as_deref(), now)?;
        let set: Vec<&str> = scalar_fields(&fields)
            .into_iter()
            .filter_map(|(f, has)| has.then_some(f))
            .collect();
        dbp::set_provenance(c, &provenance(person.id, &set, &src, by, now))?;
        let ev = audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "person.create",
            Some(("person", &public_id)),
            "success",
            Some(serde_json::json!({"fields": set})),
        );
        audit::record(c, ev)?;
        crate::service::identity::after_change(c, ctx, person.id)?;
        one(c, person)
    })
}

/// Each scalar field by provenance name, and whether it has a value.
pub(crate) fn scalar_fields(f: &dbp::PersonFields) -> [(&'static str, bool); 6] {
    [
        ("title", f.title.is_some()),
        ("given_name", f.given_name.is_some()),
        ("family_name", f.family_name.is_some()),
        ("preferred_name", f.preferred_name.is_some()),
        ("date_of_birth", f.date_of_birth.is_some()),
        ("organisation", f.organisation.is_some()),
    ]
}

fn one(conn: &mut DbConn, person: Person) -> AppResult<PersonView> {
    assemble(conn, vec![person])?.pop().ok_or(AppError::NotFound)
}

/// Find a visible person in the principal's scope: erased answers 410, anything else unseen 404.
pub fn find_visible(conn: &mut DbConn, principal: &Principal, public_id: &str) -> AppResult<Person> {
    if !super::is_public_id(public_id) {
        return Err(AppError::NotFound);
    }
    let person = dbp::find_by_public_id(conn, public_id)?.ok_or(AppError::NotFound)?;
    if let Scope::Departments(_) = principal.scope {
        let linked: Vec<i64> = dbp::departments_of(conn, &[person.id])?
            .into_iter()
            .map(|d| d.1)
            .collect();
        if !principal.in_scope(&linked) {
            return Err(AppError::NotFound);
        }
    }
    match person.status.as_str() {
        "erased" => Err(AppError::Gone("This person's data has been erased.".into())),
        "restricted" if !principal.can(Permission::SeeRestricted) => Err(AppError::NotFound),
        "active" | "restricted" => Ok(person),
        "merged" => match person.merged_into {
            Some(target) => Err(AppError::Merged(dbp::find(conn, target)?.public_id)),
            None => Err(AppError::NotFound),
        },
        _ => Err(AppError::NotFound),
    }
}

/// [`find_visible`] inside a write transaction, with the person locked against merges,
/// unmerges and erasures until it ends (see [`dbp::lock`]); on PostgreSQL the person is read
/// again once locked, so a merge that ended meanwhile answers as it would have (301).
pub fn find_visible_locked(
    conn: &mut DbConn,
    principal: &Principal,
    public_id: &str,
    how: dbp::Lock,
) -> AppResult<Person> {
    let person = find_visible(conn, principal, public_id)?;
    dbp::lock(conn, &[person.id], how)?;
    match conn {
        DbConn::Pg(_) => find_visible(conn, principal, public_id),
        DbConn::Sqlite(_) => Ok(person),
    }
}

/// Read one person; the read is audited.
pub fn get(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, public_id: &str) -> AppResult<PersonView> {
    let person = find_visible(conn, &ctx.principal, public_id)?;
    let view = one(conn, person)?;
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "person.read",
        Some(("person", public_id)),
        "success",
        None,
    ));
    Ok(view)
}

/// Change a person if `version` is still current.
pub fn update(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    if_match: Option<i64>,
    req: &UpdatePersonRequest,
) -> AppResult<PersonView> {
    let Some(expected) = if_match.or(req.version) else {
        return Err(AppError::field(
            "version",
            "required",
            "Send the version you read (or an If-Match header).",
        ));
    };
    let now = ctx.meta.now;
    let by = ctx.principal.user_id;
    let src = staff_source(&ctx.principal);
    let stamp = Stamp::new(&src, by, now);
    write_tx(conn, |c| {
        let person = find_visible(c, &ctx.principal, public_id)?;
        if person.version != expected {
            return Err(stale(if_match.is_some()));
        }
        let mut ck = Checker::default();
        let pick = |new: &Option<Option<String>>, old: &Option<String>, ck: &mut Checker, f: &str, max: usize| match new
        {
            None => old.clone(),
            Some(v) => ck.text(f, v.as_deref(), max),
        };
        let fields = person_fields(
            pick(&req.title, &person.title, &mut ck, "title", 20),
            pick(&req.given_name, &person.given_name, &mut ck, "given_name", 100),
            pick(&req.family_name, &person.family_name, &mut ck, "family_name", 100),
            pick(
                &req.preferred_name,
                &person.preferred_name,
                &mut ck,
                "preferred_name",
                100,
            ),
            match req.date_of_birth {
                None => person.date_of_birth,
                Some(d) => ck.dob(d, now.date()),
            },
            pick(&req.organisation, &person.organisation, &mut ck, "organisation", 200),
        );
        let emails = req.emails.as_ref().map(|e| ck.emails(e));
        let phones = req.phones.as_ref().map(|p| ck.phones(p));
        let addresses = req.addresses.as_ref().map(|a| ck.addresses(a));
        let tags = req.tags.as_ref().map(|t| ck.tags(t));
        if !ck.errors.is_empty() {
            return Err(AppError::Validation(ck.errors));
        }
        let depts = match &req.departments {
            Some(codes) => Some(departments_for(c, &ctx.principal, codes)?),
            None => None,
        };
        let updated =
            dbp::update_fields(c, person.id, expected, &fields, now)?.ok_or_else(|| stale(if_match.is_some()))?;
        let mut changed: Vec<&str> = changed_scalars(&person, &updated);
        dbp::set_provenance(c, &provenance(person.id, &changed, &src, by, now))?;
        if let Some(list) = emails {
            let old = dbp::emails_of(c, &[person.id])?;
            dbp::replace_emails(c, person.id, &email_rows(&ctx.points, person.id, &list, &old, &stamp))?;
            changed.push("emails");
        }
        if let Some(list) = phones {
            let old = dbp::phones_of(c, &[person.id])?;
            dbp::replace_phones(c, person.id, &phone_rows(&ctx.points, person.id, &list, &old, &stamp))?;
            changed.push("phones");
        }
        if let Some(list) = addresses {
            let old = dbp::addresses_of(c, &[person.id])?;
            dbp::replace_addresses(c, person.id, &address_rows(person.id, &list, &old, &stamp))?;
            changed.push("addresses");
        }
        if let Some(list) = tags {
            dbp::replace_tags(c, person.id, &list)?;
            changed.push("tags");
        }
        if let Some(ids) = depts {
            dbp::link_departments(c, person.id, &ids, &src.0, src.1.as_deref(), now)?;
            changed.push("departments");
        }
        let ev = audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "person.update",
            Some(("person", public_id)),
            "success",
            Some(serde_json::json!({"fields": changed})),
        );
        audit::record(c, ev)?;
        crate::service::identity::after_change(c, ctx, person.id)?;
        one(c, updated)
    })
}

fn stale(precondition: bool) -> AppError {
    let msg = "Someone changed this person since you read them; reload and apply your change again.";
    if precondition {
        AppError::PreconditionFailed(msg.into())
    } else {
        AppError::conflict("stale_version", msg)
    }
}

fn changed_scalars(old: &Person, new: &Person) -> Vec<&'static str> {
    let mut out = Vec::new();
    let pairs = [
        ("title", old.title != new.title),
        ("given_name", old.given_name != new.given_name),
        ("family_name", old.family_name != new.family_name),
        ("preferred_name", old.preferred_name != new.preferred_name),
        ("date_of_birth", old.date_of_birth != new.date_of_birth),
        ("organisation", old.organisation != new.organisation),
    ];
    for (f, differs) in pairs {
        if differs {
            out.push(f);
        }
    }
    out
}
