//! Writing one batch of synthetic people: multi-row inserts on both backends.
//!
//! The row types here write `None` as NULL (`treat_none_as_default_value = false`): with the
//! default (None means DEFAULT) diesel falls back to one statement per row on SQLite, which has
//! no DEFAULT keyword in a VALUES list.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;
use diesel::ExecuteCopyFromDsl;

use super::person::{sample_person, SamplePerson};
use crate::db::schema::{
    field_provenance, people, person_addresses, person_departments, person_emails, person_phones, person_tags,
};
use crate::db::DbConn;
use crate::service::new_public_id;
use crate::service::people::input::person_fields;
use crate::service::privacy::keys::PointHasher;

/// Rows per insert statement on SQLite: at most 15 columns × 500 = 7,500 bound parameters,
/// well under its limit of 32,766, and big enough to amortise each statement.
const CHUNK: usize = 500;

/// The provenance kind of every generated value.
pub const SOURCE_KIND: &str = "synthetic";

/// A timestamp formatted once per batch: diesel formats a `NaiveDateTime` for SQLite on every
/// bind (with an allocation), a visible share of the load time when every row has one.
#[derive(Debug, Clone, diesel::expression::AsExpression)]
#[diesel(sql_type = Timestamp)]
pub struct Stamp {
    at: NaiveDateTime,
    text: Arc<str>,
}

impl Stamp {
    /// The stamp for `at`, in the text form diesel writes to SQLite.
    pub fn new(at: NaiveDateTime) -> Stamp {
        Stamp {
            at,
            text: at.format("%F %T%.f").to_string().into(),
        }
    }
}

impl ToSql<Timestamp, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(&*self.text);
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<Timestamp, Pg>::to_sql(&self.at, out)
    }
}

#[derive(Insertable)]
#[diesel(table_name = people, treat_none_as_default_value = false)]
struct PersonRow {
    public_id: String,
    title: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    preferred_name: Option<String>,
    date_of_birth: Option<NaiveDate>,
    organisation: Option<String>,
    status: &'static str,
    version: i64,
    given_fold: String,
    family_fold: String,
    preferred_fold: String,
    full_fold: String,
    created_at: Stamp,
    updated_at: Stamp,
}

#[derive(Insertable)]
#[diesel(table_name = person_emails, treat_none_as_default_value = false)]
struct EmailRow {
    person_id: i64,
    address: String,
    address_key: String,
    is_primary: bool,
    source_kind: &'static str,
    source_ref: Option<String>,
    set_by: Option<i64>,
    set_at: Stamp,
    point_hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = person_phones, treat_none_as_default_value = false)]
struct PhoneRow {
    person_id: i64,
    number: String,
    label: &'static str,
    is_primary: bool,
    source_kind: &'static str,
    source_ref: Option<String>,
    set_by: Option<i64>,
    set_at: Stamp,
    point_hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = person_addresses, treat_none_as_default_value = false)]
struct AddressRow {
    person_id: i64,
    line1: String,
    line2: Option<String>,
    line3: Option<String>,
    town: Option<String>,
    county: Option<String>,
    postcode: Option<String>,
    country: &'static str,
    is_primary: bool,
    source_kind: &'static str,
    source_ref: Option<String>,
    set_by: Option<i64>,
    set_at: Stamp,
}

#[derive(Insertable)]
#[diesel(table_name = person_tags, treat_none_as_default_value = false)]
struct TagRow {
    person_id: i64,
    tag: String,
}

#[derive(Insertable)]
#[diesel(table_name = person_departments, treat_none_as_default_value = false)]
struct DepartmentRow {
    person_id: i64,
    department_id: i64,
    source_kind: &'static str,
    source_ref: Option<String>,
    created_at: Stamp,
}

#[derive(Insertable)]
#[diesel(table_name = field_provenance, treat_none_as_default_value = false)]
struct ProvenanceRow {
    person_id: i64,
    field: &'static str,
    source_kind: &'static str,
    source_ref: Option<String>,
    set_by: Option<i64>,
    set_at: Stamp,
}

/// Rows written by one batch, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    /// People.
    pub people: u64,
    /// Email addresses.
    pub emails: u64,
    /// Phone numbers.
    pub phones: u64,
    /// Postal addresses.
    pub addresses: u64,
    /// Tags.
    pub tags: u64,
    /// Links to departments.
    pub department_links: u64,
    /// Field provenance rows.
    pub provenance: u64,
}

impl RowCounts {
    /// Add another batch's counts.
    pub fn add(&mut self, o: &RowCounts) {
        self.people += o.people;
        self.emails += o.emails;
        self.phones += o.phones;
        self.addresses += o.addresses;
        self.tags += o.tags;
        self.department_links += o.department_links;
        self.provenance += o.provenance;
    }
}

/// Insert `rows` and fail unless every row went in.
///
/// SQLite: multi-row `INSERT OR IGNORE` statements of [`CHUNK`] rows. Full chunks go in as
/// fixed-size arrays, which diesel prepares once and reuses (a slice gets a new statement text,
/// parsed again, every time). A multi-row INSERT that may abort half-way makes SQLite copy every
/// page it touches to a statement journal (a quarter of the load time); with IGNORE, and foreign
/// keys off for the load ([`super::BulkMode`]), nothing can abort. The rows are valid by
/// construction and the count check catches any row that was skipped.
///
/// PostgreSQL: one binary `COPY` per table, which spares the server planning and evaluating
/// every row of a VALUES list.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let n = match &mut *$conn {
            DbConn::Sqlite(c) => {
                let mut n = 0usize;
                for chunk in $rows.chunks(CHUNK) {
                    n += match <&[_; CHUNK]>::try_from(chunk) {
                        Ok(full) => diesel::insert_or_ignore_into($table).values(full).execute(c)?,
                        Err(_) => diesel::insert_or_ignore_into($table).values(chunk).execute(c)?,
                    };
                }
                n
            }
            DbConn::Pg(c) if $rows.is_empty() => 0,
            DbConn::Pg(c) => diesel::copy_from($table).from_insertable($rows.as_slice()).execute(c)?,
        };
        if n != $rows.len() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("{} of {} rows were written", n, $rows.len()).into(),
            ));
        }
        n as u64
    }};
}

/// Write the people `range` of the data set made from `seed`, linked to `departments` (ids),
/// with contact points hashed by `points`. The caller holds the transaction.
pub fn insert_batch(
    conn: &mut DbConn,
    points: &PointHasher,
    seed: u64,
    range: std::ops::Range<u64>,
    departments: &[i64],
    source_ref: &str,
    now: &Stamp,
) -> QueryResult<RowCounts> {
    let sample: Vec<SamplePerson> = range.map(|i| sample_person(seed, i)).collect();
    let rows: Vec<PersonRow> = sample.iter().map(|p| person_row(p, now)).collect();
    let mut counts = RowCounts {
        people: insert_all!(conn, people::table, rows),
        ..RowCounts::default()
    };
    let public_ids: Vec<&str> = rows.iter().map(|r| r.public_id.as_str()).collect();
    let mut id_of: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for chunk in public_ids.chunks(CHUNK * 10) {
        let found: Vec<(i64, String)> = people::table
            .filter(people::public_id.eq_any(chunk))
            .select((people::id, people::public_id))
            .load(conn)?;
        id_of.extend(found.into_iter().map(|(id, public)| (public, id)));
    }
    let mut ids = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(*id_of.get(&r.public_id).ok_or(diesel::result::Error::NotFound)?);
    }
    let src = Some(source_ref.to_string());
    let mut emails = Vec::new();
    let mut phones = Vec::new();
    let mut addresses = Vec::new();
    let mut tags = Vec::new();
    let mut links = Vec::new();
    let mut provenance = Vec::new();
    for ((p, row), &id) in sample.into_iter().zip(&rows).zip(&ids) {
        let department_indices = p.department_indices(departments.len());
        for (i, address) in std::iter::once(p.email).chain(p.other_email).enumerate() {
            let key = address.to_ascii_lowercase();
            emails.push(EmailRow {
                person_id: id,
                address,
                point_hash: points.email(&key),
                address_key: key,
                is_primary: i == 0,
                source_kind: SOURCE_KIND,
                source_ref: src.clone(),
                set_by: None,
                set_at: now.clone(),
            });
        }
        phones.push(PhoneRow {
            person_id: id,
            point_hash: points.phone(&p.phone),
            number: p.phone,
            label: "mobile",
            is_primary: true,
            source_kind: SOURCE_KIND,
            source_ref: src.clone(),
            set_by: None,
            set_at: now.clone(),
        });
        let a = p.address;
        addresses.push(AddressRow {
            person_id: id,
            line1: a.line1,
            line2: a.line2,
            line3: None,
            town: Some(a.town),
            county: a.county,
            postcode: Some(a.postcode),
            country: "GB",
            is_primary: true,
            source_kind: SOURCE_KIND,
            source_ref: src.clone(),
            set_by: None,
            set_at: now.clone(),
        });
        tags.extend(p.tags.into_iter().map(|tag| TagRow { person_id: id, tag }));
        for d in department_indices {
            links.push(DepartmentRow {
                person_id: id,
                department_id: departments[d],
                source_kind: SOURCE_KIND,
                source_ref: src.clone(),
                created_at: now.clone(),
            });
        }
        for field in set_fields(row) {
            provenance.push(ProvenanceRow {
                person_id: id,
                field,
                source_kind: SOURCE_KIND,
                source_ref: src.clone(),
                set_by: None,
                set_at: now.clone(),
            });
        }
    }
    counts.emails = insert_all!(conn, person_emails::table, emails);
    counts.phones = insert_all!(conn, person_phones::table, phones);
    counts.addresses = insert_all!(conn, person_addresses::table, addresses);
    counts.tags = insert_all!(conn, person_tags::table, tags);
    counts.department_links = insert_all!(conn, person_departments::table, links);
    counts.provenance = insert_all!(conn, field_provenance::table, provenance);
    Ok(counts)
}

/// The people row of a sample person, with the folded search columns made exactly as the
/// people service makes them.
fn person_row(p: &SamplePerson, now: &Stamp) -> PersonRow {
    let f = person_fields(
        p.title.clone(),
        Some(p.given_name.clone()),
        Some(p.family_name.clone()),
        p.preferred_name.clone(),
        Some(p.date_of_birth),
        p.organisation.clone(),
    );
    PersonRow {
        public_id: new_public_id(),
        title: f.title,
        given_name: f.given_name,
        family_name: f.family_name,
        preferred_name: f.preferred_name,
        date_of_birth: f.date_of_birth,
        organisation: f.organisation,
        status: "active",
        version: 1,
        given_fold: f.given_fold,
        family_fold: f.family_fold,
        preferred_fold: f.preferred_fold,
        full_fold: f.full_fold,
        created_at: now.clone(),
        updated_at: now.clone(),
    }
}

/// The scalar fields that have a value (those get a provenance row, as in the service).
fn set_fields(r: &PersonRow) -> impl Iterator<Item = &'static str> {
    [
        ("title", r.title.is_some()),
        ("given_name", r.given_name.is_some()),
        ("family_name", r.family_name.is_some()),
        ("preferred_name", r.preferred_name.is_some()),
        ("date_of_birth", r.date_of_birth.is_some()),
        ("organisation", r.organisation.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, has)| has.then_some(f))
}
