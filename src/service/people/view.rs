//! The person as the API shows it: the golden record with the provenance of every value.
//! Assembled for a page of people with one query per table (no N+1).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::db::people::{self as dbp, Person};
use crate::db::DbConn;
use crate::error::AppResult;

/// Where a value came from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Provenance {
    /// `staff`, `import`, …
    pub source: String,
    /// Which staff user (`user:<id>`), source record or batch.
    pub reference: Option<String>,
    /// When it was set.
    pub set_at: DateTime<Utc>,
}

impl Provenance {
    fn new(kind: &str, reference: &Option<String>, at: NaiveDateTime) -> Self {
        Provenance {
            source: kind.to_string(),
            reference: reference.clone(),
            set_at: at.and_utc(),
        }
    }
}

/// An email address.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EmailView {
    /// Address as given.
    pub address: String,
    /// Primary.
    pub primary: bool,
    /// Where it came from.
    pub provenance: Provenance,
}

/// A phone number.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PhoneView {
    /// E.164.
    pub number: String,
    /// mobile / home / work / other.
    pub label: String,
    /// Primary.
    pub primary: bool,
    /// Where it came from.
    pub provenance: Provenance,
}

/// A postal address.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AddressView {
    /// Line 1.
    pub line1: String,
    /// Line 2.
    pub line2: Option<String>,
    /// Line 3.
    pub line3: Option<String>,
    /// Town.
    pub town: Option<String>,
    /// County.
    pub county: Option<String>,
    /// Normalised postcode.
    pub postcode: Option<String>,
    /// Country code.
    pub country: String,
    /// Primary.
    pub primary: bool,
    /// Where it came from.
    pub provenance: Provenance,
}

/// The golden record.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PersonView {
    /// Opaque public id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Emails, primary first.
    pub emails: Vec<EmailView>,
    /// Phones, primary first.
    pub phones: Vec<PhoneView>,
    /// Addresses, primary first.
    pub addresses: Vec<AddressView>,
    /// Tags.
    pub tags: Vec<String>,
    /// Department codes the person is linked to.
    pub departments: Vec<String>,
    /// `active` or `restricted`.
    pub status: String,
    /// Version for optimistic concurrency (also the `ETag`).
    pub version: i64,
    /// Provenance of each scalar field that has a value.
    pub provenance: BTreeMap<String, Provenance>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Build the views of `people`, in the given order.
pub fn assemble(conn: &mut DbConn, people: Vec<Person>) -> AppResult<Vec<PersonView>> {
    let ids: Vec<i64> = people.iter().map(|p| p.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut emails = group(dbp::emails_of(conn, &ids)?, |e| e.person_id);
    let mut phones = group(dbp::phones_of(conn, &ids)?, |p| p.person_id);
    let mut addresses = group(dbp::addresses_of(conn, &ids)?, |a| a.person_id);
    let mut tags = group(dbp::tags_of(conn, &ids)?, |t| t.0);
    let mut depts = group(dbp::departments_of(conn, &ids)?, |d| d.0);
    let mut prov = group(dbp::provenance_of(conn, &ids)?, |p| p.person_id);
    Ok(people
        .into_iter()
        .map(|p| {
            let id = p.id;
            PersonView {
                id: p.public_id,
                title: p.title,
                given_name: p.given_name,
                family_name: p.family_name,
                preferred_name: p.preferred_name,
                date_of_birth: p.date_of_birth,
                organisation: p.organisation,
                emails: take(&mut emails, id)
                    .into_iter()
                    .map(|e| EmailView {
                        provenance: Provenance::new(&e.source_kind, &e.source_ref, e.set_at),
                        address: e.address,
                        primary: e.is_primary,
                    })
                    .collect(),
                phones: take(&mut phones, id)
                    .into_iter()
                    .map(|x| PhoneView {
                        provenance: Provenance::new(&x.source_kind, &x.source_ref, x.set_at),
                        number: x.number,
                        label: x.label,
                        primary: x.is_primary,
                    })
                    .collect(),
                addresses: take(&mut addresses, id)
                    .into_iter()
                    .map(|a| AddressView {
                        provenance: Provenance::new(&a.source_kind, &a.source_ref, a.set_at),
                        line1: a.line1,
                        line2: a.line2,
                        line3: a.line3,
                        town: a.town,
                        county: a.county,
                        postcode: a.postcode,
                        country: a.country,
                        primary: a.is_primary,
                    })
                    .collect(),
                tags: take(&mut tags, id).into_iter().map(|t| t.1).collect(),
                departments: take(&mut depts, id).into_iter().map(|d| d.2).collect(),
                status: p.status,
                version: p.version,
                provenance: take(&mut prov, id)
                    .into_iter()
                    .map(|r| {
                        (
                            r.field.clone(),
                            Provenance::new(&r.source_kind, &r.source_ref, r.set_at),
                        )
                    })
                    .collect(),
                created_at: p.created_at.and_utc(),
                updated_at: p.updated_at.and_utc(),
            }
        })
        .collect())
}

/// A person in a list of search results: enough to recognise and choose them, and no more. The
/// whole record (every address, provenance) is one `GET` away; a list of twenty people should not
/// spread all of it (data minimisation), and it is what makes search fast.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PersonSummary {
    /// Public id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Primary email address.
    pub email: Option<String>,
    /// Primary phone (E.164).
    pub phone: Option<String>,
    /// Postcode of the primary address.
    pub postcode: Option<String>,
    /// Department codes the person is linked to.
    pub departments: Vec<String>,
    /// `active` or `restricted`.
    pub status: String,
}

impl From<dbp::SummaryRow> for PersonSummary {
    fn from(r: dbp::SummaryRow) -> Self {
        let departments = r.department_links().into_iter().map(|d| d.1).collect();
        PersonSummary {
            id: r.public_id,
            title: r.title,
            given_name: r.given_name,
            family_name: r.family_name,
            preferred_name: r.preferred_name,
            date_of_birth: r.date_of_birth,
            organisation: r.organisation,
            email: r.email,
            phone: r.phone,
            postcode: r.postcode,
            departments,
            status: r.status,
        }
    }
}

/// Rows grouped by person id.
pub(crate) fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> i64) -> BTreeMap<i64, Vec<T>> {
    let mut map: BTreeMap<i64, Vec<T>> = BTreeMap::new();
    for r in rows {
        map.entry(key(&r)).or_default().push(r);
    }
    map
}

/// The rows of one person, taken out of a grouping.
pub(crate) fn take<T>(map: &mut BTreeMap<i64, Vec<T>>, id: i64) -> Vec<T> {
    map.remove(&id).unwrap_or_default()
}
