//! People (the golden record), their contact points, tags, department links and provenance.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};

use super::schema::{
    departments, field_provenance, people, person_addresses, person_departments, person_emails, person_phones,
    person_tags,
};
use super::DbConn;

/// The backend type of [`DbConn`], for boxed queries.
pub type Db = <DbConn as diesel::Connection>::Backend;

/// A person row.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = people)]
pub struct Person {
    /// Internal id.
    pub id: i64,
    /// Opaque public id.
    pub public_id: String,
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
    /// `active`, `restricted`, `erased`, `merged`.
    pub status: String,
    /// Survivor when merged.
    pub merged_into: Option<i64>,
    /// Version.
    pub version: i64,
    /// Folded given name.
    pub given_fold: String,
    /// Folded family name.
    pub family_fold: String,
    /// Folded preferred name.
    pub preferred_fold: String,
    /// Folded "given family".
    pub full_fold: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
    /// When the person's data was erased.
    pub erased_at: Option<NaiveDateTime>,
}

/// The name and scalar fields written on create and update.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = people, treat_none_as_null = true)]
pub struct PersonFields {
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
    /// Folded given name.
    pub given_fold: String,
    /// Folded family name.
    pub family_fold: String,
    /// Folded preferred name.
    pub preferred_fold: String,
    /// Folded full name.
    pub full_fold: String,
}

/// Columns only set on insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = people)]
pub struct NewPersonMeta<'a> {
    /// Public id.
    pub public_id: &'a str,
    /// Status.
    pub status: &'a str,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `staff`, `import`, `api_token`, …
    pub kind: String,
    /// A reference within that kind (source record id, batch id).
    pub reference: Option<String>,
    /// The staff user responsible, if any.
    pub by: Option<i64>,
    /// When it was set.
    pub at: NaiveDateTime,
}

/// An email row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = person_emails, treat_none_as_default_value = false)]
pub struct EmailRow {
    /// Id.
    pub id: i64,
    /// Person.
    pub person_id: i64,
    /// As given.
    pub address: String,
    /// Lower-cased key.
    pub address_key: String,
    /// Primary.
    pub is_primary: bool,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
    /// Keyed hash of the contact point (matches the suppression list).
    pub point_hash: String,
}

/// A new email row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = person_emails)]
pub struct NewEmail {
    /// Person.
    pub person_id: i64,
    /// As given.
    pub address: String,
    /// Key.
    pub address_key: String,
    /// Primary.
    pub is_primary: bool,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
    /// Keyed hash of the contact point (matches the suppression list).
    pub point_hash: String,
}

/// A phone row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = person_phones, treat_none_as_default_value = false)]
pub struct PhoneRow {
    /// Id.
    pub id: i64,
    /// Person.
    pub person_id: i64,
    /// E.164.
    pub number: String,
    /// mobile / home / work / other.
    pub label: String,
    /// Primary.
    pub is_primary: bool,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
    /// Keyed hash of the contact point (matches the suppression list).
    pub point_hash: String,
}

/// A new phone row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = person_phones)]
pub struct NewPhone {
    /// Person.
    pub person_id: i64,
    /// E.164.
    pub number: String,
    /// Label.
    pub label: String,
    /// Primary.
    pub is_primary: bool,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
    /// Keyed hash of the contact point (matches the suppression list).
    pub point_hash: String,
}

/// An address row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = person_addresses)]
pub struct AddressRow {
    /// Id.
    pub id: i64,
    /// Person.
    pub person_id: i64,
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
    /// ISO country code.
    pub country: String,
    /// Primary.
    pub is_primary: bool,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
}

/// A new address row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = person_addresses)]
pub struct NewAddress {
    /// Person.
    pub person_id: i64,
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
    /// Postcode.
    pub postcode: Option<String>,
    /// Country.
    pub country: String,
    /// Primary.
    pub is_primary: bool,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
}

/// Provenance of a scalar field.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = field_provenance)]
pub struct ProvenanceRow {
    /// Person.
    pub person_id: i64,
    /// Field name.
    pub field: String,
    /// Provenance kind.
    pub source_kind: String,
    /// Provenance ref.
    pub source_ref: Option<String>,
    /// Set by.
    pub set_by: Option<i64>,
    /// Set at.
    pub set_at: NaiveDateTime,
}

/// Insert a person.
pub fn insert(conn: &mut DbConn, meta: &NewPersonMeta, fields: &PersonFields) -> QueryResult<Person> {
    diesel::insert_into(people::table)
        .values((meta, fields))
        .get_result(conn)
}

/// By public id (any status).
pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Person>> {
    // On the backend's own connection: a static statement stays prepared (see `load_of_people!`).
    crate::with_backend!(conn, |c| people::table
        .filter(people::public_id.eq(public_id))
        .select(Person::as_select())
        .first(c)
        .optional())
}

/// By internal id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Person> {
    people::table.find(id).select(Person::as_select()).first(conn)
}

/// Update fields if the version still matches; returns the new row or `None` when stale.
pub fn update_fields(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    fields: &PersonFields,
    at: NaiveDateTime,
) -> QueryResult<Option<Person>> {
    let n = diesel::update(people::table.find(id).filter(people::version.eq(expected_version)))
        .set((
            fields,
            people::version.eq(expected_version + 1),
            people::updated_at.eq(at),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    find(conn, id).map(Some)
}

/// Load rows of `$source` for these people, selected and ordered as given. One person is
/// `person_id = ?`: a statically typed statement run on the backend's own connection, which diesel
/// keeps prepared by its type (through the multi-backend connection it would write the SQL again
/// on every call: a tenth of a person read's time). Several are `person_id IN (…)`, which no
/// backend keeps prepared anyway.
macro_rules! load_of_people {
    ($conn:expr, $source:expr, $person_id:expr, $ids:expr, $select:expr, $order:expr) => {
        match $ids {
            [one] => crate::with_backend!($conn, |c| $source
                .filter($person_id.eq(*one))
                .select($select)
                .order($order)
                .load(c)),
            many => $source
                .filter($person_id.eq_any(many))
                .select($select)
                .order($order)
                .load($conn),
        }
    };
}

/// Emails of these people, primary first.
pub fn emails_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<EmailRow>> {
    load_of_people!(
        conn,
        person_emails::table,
        person_emails::person_id,
        ids,
        EmailRow::as_select(),
        (
            person_emails::person_id,
            person_emails::is_primary.desc(),
            person_emails::id,
        )
    )
}

/// Phones of these people, primary first.
pub fn phones_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<PhoneRow>> {
    load_of_people!(
        conn,
        person_phones::table,
        person_phones::person_id,
        ids,
        PhoneRow::as_select(),
        (
            person_phones::person_id,
            person_phones::is_primary.desc(),
            person_phones::id,
        )
    )
}

/// Addresses of these people, primary first.
pub fn addresses_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<AddressRow>> {
    load_of_people!(
        conn,
        person_addresses::table,
        person_addresses::person_id,
        ids,
        AddressRow::as_select(),
        (
            person_addresses::person_id,
            person_addresses::is_primary.desc(),
            person_addresses::id,
        )
    )
}

/// A person as a search result shows them: names, primary contact points and departments.
#[derive(Debug, Clone, QueryableByName)]
pub struct SummaryRow {
    /// Internal id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Public id.
    #[diesel(sql_type = Text)]
    pub public_id: String,
    /// Title.
    #[diesel(sql_type = Nullable<Text>)]
    pub title: Option<String>,
    /// Given name.
    #[diesel(sql_type = Nullable<Text>)]
    pub given_name: Option<String>,
    /// Family name.
    #[diesel(sql_type = Nullable<Text>)]
    pub family_name: Option<String>,
    /// Preferred name.
    #[diesel(sql_type = Nullable<Text>)]
    pub preferred_name: Option<String>,
    /// Date of birth.
    #[diesel(sql_type = Nullable<Date>)]
    pub date_of_birth: Option<NaiveDate>,
    /// Organisation.
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation: Option<String>,
    /// Status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Primary email address (else the first).
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    /// Primary phone (else the first).
    #[diesel(sql_type = Nullable<Text>)]
    pub phone: Option<String>,
    /// Postcode of the primary address (else the first).
    #[diesel(sql_type = Nullable<Text>)]
    pub postcode: Option<String>,
    /// Linked departments as `id:CODE` joined by commas (codes are `[A-Z0-9_-]`), any order.
    #[diesel(sql_type = Nullable<Text>)]
    pub departments: Option<String>,
}

impl SummaryRow {
    /// The linked departments as (id, code), by code.
    pub fn department_links(&self) -> Vec<(i64, String)> {
        let mut links: Vec<(i64, String)> = self
            .departments
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|pair| {
                let (id, code) = pair.split_once(':')?;
                Some((id.parse().ok()?, code.to_string()))
            })
            .collect();
        links.sort_by(|a, b| a.1.cmp(&b.1));
        links
    }
}

/// The summary statement with a backend's department aggregate and id-list test.
macro_rules! summary_sql {
    ($departments:literal, $id_list:literal) => {
        concat!(
            "SELECT p.id, p.public_id, p.title, p.given_name, p.family_name, p.preferred_name, ",
            "p.date_of_birth, p.organisation, p.status, ",
            "(SELECT e.address FROM person_emails e WHERE e.person_id = p.id ",
            "ORDER BY e.is_primary DESC, e.id LIMIT 1) AS email, ",
            "(SELECT t.number FROM person_phones t WHERE t.person_id = p.id ",
            "ORDER BY t.is_primary DESC, t.id LIMIT 1) AS phone, ",
            "(SELECT a.postcode FROM person_addresses a WHERE a.person_id = p.id ",
            "ORDER BY a.is_primary DESC, a.id LIMIT 1) AS postcode, ",
            "(SELECT ",
            $departments,
            " FROM person_departments pd JOIN departments d ON d.id = pd.department_id ",
            "WHERE pd.person_id = p.id) AS departments ",
            "FROM people p WHERE ",
            $id_list
        )
    };
}

/// The summary statement with its id list (decimal ids joined by commas) bound as one text, so
/// that its text never changes. Unlike `diesel::sql_query`, which diesel never keeps prepared,
/// it has a static query id: each connection prepares it once and keeps it in its statement
/// cache.
#[derive(Debug)]
struct SummaryQuery {
    ids: String,
}

impl diesel::query_builder::QueryId for SummaryQuery {
    type QueryId = SummaryQuery;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for SummaryQuery {
    type SqlType = diesel::sql_types::Untyped;
}

impl<C> RunQueryDsl<C> for SummaryQuery {}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for SummaryQuery {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        out.push_sql(summary_sql!(
            "group_concat(d.id || ':' || d.code, ',')",
            "p.id IN (SELECT value FROM json_each('[' || "
        ));
        out.push_bind_param::<Text, _>(&self.ids)?;
        out.push_sql(" || ']'))");
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SummaryQuery {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql(summary_sql!(
            "string_agg(d.id::text || ':' || d.code, ',')",
            "p.id = ANY(CAST('{' || "
        ));
        out.push_bind_param::<Text, _>(&self.ids)?;
        out.push_sql(" || '}' AS BIGINT[]))");
        Ok(())
    }
}

/// The summaries of these people, in any order, from one statement each connection keeps
/// prepared.
pub fn summaries(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<SummaryRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = SummaryQuery {
        ids: ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
    };
    crate::with_backend!(conn, |c| query.load::<SummaryRow>(c))
}

/// Tags of these people as (person, tag).
pub fn tags_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    load_of_people!(
        conn,
        person_tags::table,
        person_tags::person_id,
        ids,
        (person_tags::person_id, person_tags::tag),
        (person_tags::person_id, person_tags::tag)
    )
}

/// Department links of these people as (person, department id, department code).
pub fn departments_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, i64, String)>> {
    load_of_people!(
        conn,
        person_departments::table.inner_join(departments::table),
        person_departments::person_id,
        ids,
        (person_departments::person_id, departments::id, departments::code),
        (person_departments::person_id, departments::code)
    )
}

/// Field provenance of these people.
pub fn provenance_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ProvenanceRow>> {
    load_of_people!(
        conn,
        field_provenance::table,
        field_provenance::person_id,
        ids,
        ProvenanceRow::as_select(),
        (field_provenance::person_id, field_provenance::field)
    )
}

/// Replace the emails of a person.
pub fn replace_emails(conn: &mut DbConn, person_id: i64, rows: &[NewEmail]) -> QueryResult<()> {
    diesel::delete(person_emails::table.filter(person_emails::person_id.eq(person_id))).execute(conn)?;
    if !rows.is_empty() {
        crate::with_backend!(conn, |c| diesel::insert_into(person_emails::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// Replace the phones of a person.
pub fn replace_phones(conn: &mut DbConn, person_id: i64, rows: &[NewPhone]) -> QueryResult<()> {
    diesel::delete(person_phones::table.filter(person_phones::person_id.eq(person_id))).execute(conn)?;
    if !rows.is_empty() {
        crate::with_backend!(conn, |c| diesel::insert_into(person_phones::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// Replace the addresses of a person.
pub fn replace_addresses(conn: &mut DbConn, person_id: i64, rows: &[NewAddress]) -> QueryResult<()> {
    diesel::delete(person_addresses::table.filter(person_addresses::person_id.eq(person_id))).execute(conn)?;
    if !rows.is_empty() {
        crate::with_backend!(conn, |c| diesel::insert_into(person_addresses::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// Replace the tags of a person.
pub fn replace_tags(conn: &mut DbConn, person_id: i64, tags: &[String]) -> QueryResult<()> {
    diesel::delete(person_tags::table.filter(person_tags::person_id.eq(person_id))).execute(conn)?;
    let rows: Vec<_> = tags
        .iter()
        .map(|t| (person_tags::person_id.eq(person_id), person_tags::tag.eq(t)))
        .collect();
    if !rows.is_empty() {
        crate::with_backend!(conn, |c| diesel::insert_into(person_tags::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// Link a person to departments (existing links are kept).
pub fn link_departments(
    conn: &mut DbConn,
    person_id: i64,
    department_ids: &[i64],
    source_kind: &str,
    source_ref: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    for d in department_ids {
        let row = (
            person_departments::person_id.eq(person_id),
            person_departments::department_id.eq(d),
            person_departments::source_kind.eq(source_kind),
            person_departments::source_ref.eq(source_ref),
            person_departments::created_at.eq(at),
        );
        crate::with_backend!(conn, |c| diesel::insert_into(person_departments::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Link many (person, department) pairs at once (pairs already linked are left as they are).
pub fn link_pairs(conn: &mut DbConn, pairs: &[(i64, i64)], source_kind: &str, at: NaiveDateTime) -> QueryResult<()> {
    for chunk in pairs.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(p, d)| {
                (
                    person_departments::person_id.eq(*p),
                    person_departments::department_id.eq(*d),
                    person_departments::source_kind.eq(source_kind),
                    person_departments::source_ref.eq(None::<&str>),
                    person_departments::created_at.eq(at),
                )
            })
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(person_departments::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Set the provenance of scalar fields.
/// When `rows` names a (person, field) twice, the later row wins, as if they were set one after
/// the other; each statement sets up to 500 fields.
pub fn set_provenance(conn: &mut DbConn, rows: &[ProvenanceRow]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    // Tuples, not the struct: SQLite's multi-row insert cannot take an absent value as DEFAULT.
    let unique: Vec<_> = rows
        .iter()
        .rev()
        .filter(|r| seen.insert((r.person_id, r.field.as_str())))
        .map(|r| {
            (
                field_provenance::person_id.eq(r.person_id),
                field_provenance::field.eq(&r.field),
                field_provenance::source_kind.eq(&r.source_kind),
                field_provenance::source_ref.eq(r.source_ref.as_deref()),
                field_provenance::set_by.eq(r.set_by),
                field_provenance::set_at.eq(r.set_at),
            )
        })
        .collect();
    for chunk in unique.chunks(500) {
        crate::with_backend!(conn, |c| diesel::insert_into(field_provenance::table)
            .values(chunk)
            .on_conflict((field_provenance::person_id, field_provenance::field))
            .do_update()
            .set((
                field_provenance::source_kind.eq(excluded(field_provenance::source_kind)),
                field_provenance::source_ref.eq(excluded(field_provenance::source_ref)),
                field_provenance::set_by.eq(excluded(field_provenance::set_by)),
                field_provenance::set_at.eq(excluded(field_provenance::set_at)),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// Filters for [`list`]; all values are already normalised.
#[derive(Debug, Default, Clone)]
pub struct PersonFilter {
    /// Folded name prefix.
    pub name_prefix: Option<String>,
    /// Email key.
    pub email_key: Option<String>,
    /// E.164 number.
    pub phone: Option<String>,
    /// Normalised postcode.
    pub postcode: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Department id.
    pub department: Option<i64>,
    /// Only people linked to one of these departments (scope).
    pub scope: Option<Vec<i64>>,
    /// Statuses to include.
    pub statuses: Vec<String>,
}

/// The first string after every string that starts with `prefix` (for an index range scan).
fn prefix_upper_bound(prefix: &str) -> String {
    // Folded text is ASCII; `~` sorts after every character fold produces.
    format!("{prefix}~")
}

fn filtered<'a>(f: &'a PersonFilter) -> people::BoxedQuery<'a, Db> {
    let mut q = people::table.into_boxed::<Db>();
    if !f.statuses.is_empty() {
        q = q.filter(people::status.eq_any(&f.statuses));
    }
    if let Some(p) = &f.name_prefix {
        let hi = prefix_upper_bound(p);
        q = q.filter(
            people::given_fold
                .ge(p.clone())
                .and(people::given_fold.lt(hi.clone()))
                .or(people::family_fold
                    .ge(p.clone())
                    .and(people::family_fold.lt(hi.clone())))
                .or(people::preferred_fold
                    .ge(p.clone())
                    .and(people::preferred_fold.lt(hi.clone())))
                .or(people::full_fold.ge(p.clone()).and(people::full_fold.lt(hi))),
        );
    }
    if let Some(e) = &f.email_key {
        q = q.filter(
            people::id.eq_any(
                person_emails::table
                    .filter(person_emails::address_key.eq(e))
                    .select(person_emails::person_id),
            ),
        );
    }
    if let Some(n) = &f.phone {
        q = q.filter(
            people::id.eq_any(
                person_phones::table
                    .filter(person_phones::number.eq(n))
                    .select(person_phones::person_id),
            ),
        );
    }
    if let Some(pc) = &f.postcode {
        q = q.filter(
            people::id.eq_any(
                person_addresses::table
                    .filter(person_addresses::postcode.eq(pc))
                    .select(person_addresses::person_id),
            ),
        );
    }
    if let Some(t) = &f.tag {
        q = q.filter(
            people::id.eq_any(
                person_tags::table
                    .filter(person_tags::tag.eq(t))
                    .select(person_tags::person_id),
            ),
        );
    }
    if let Some(d) = f.department {
        q = q.filter(
            people::id.eq_any(
                person_departments::table
                    .filter(person_departments::department_id.eq(d))
                    .select(person_departments::person_id),
            ),
        );
    }
    if let Some(scope) = &f.scope {
        q = q.filter(
            people::id.eq_any(
                person_departments::table
                    .filter(person_departments::department_id.eq_any(scope))
                    .select(person_departments::person_id),
            ),
        );
    }
    q
}

/// A page of people matching `filter` in id order, and the total when asked for.
pub fn list(
    conn: &mut DbConn,
    filter: &PersonFilter,
    limit: i64,
    offset: i64,
    with_total: bool,
) -> QueryResult<(Vec<Person>, Option<i64>)> {
    let rows = filtered(filter)
        .select(Person::as_select())
        .order(people::id)
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    let total = if with_total {
        Some(filtered(filter).count().get_result(conn)?)
    } else {
        None
    };
    Ok((rows, total))
}

/// Ids of people with this email key.
pub fn ids_by_email(conn: &mut DbConn, key: &str, limit: i64) -> QueryResult<Vec<i64>> {
    crate::with_backend!(conn, |c| person_emails::table
        .filter(person_emails::address_key.eq(key))
        .select(person_emails::person_id)
        .limit(limit)
        .load(c))
}

/// Ids of people with this phone.
pub fn ids_by_phone(conn: &mut DbConn, number: &str, limit: i64) -> QueryResult<Vec<i64>> {
    crate::with_backend!(conn, |c| person_phones::table
        .filter(person_phones::number.eq(number))
        .select(person_phones::person_id)
        .limit(limit)
        .load(c))
}

/// Ids of people whose folded names start with `prefix`, one indexed range scan per column.
pub fn ids_by_name_prefix(conn: &mut DbConn, prefix: &str, limit: i64) -> QueryResult<Vec<i64>> {
    let hi = prefix_upper_bound(prefix);
    let mut ids: Vec<i64> = Vec::new();
    // Family names first (what people search by), then full, given and preferred names; stop as
    // soon as there are enough.
    // One static statement per column, on the backend's own connection (kept prepared). The
    // bounds are written `? || ''`: SQLite, when it holds index samples (after ANALYZE), plans a
    // range against a bare parameter by its value and so prepares the statement again for every
    // new prefix; an expression keeps one plan, which is the same index range.
    macro_rules! range {
        ($col:expr) => {
            crate::with_backend!(conn, |c| people::table
                .select(people::id)
                .filter(
                    $col.ge(prefix.into_sql::<Text>().concat(""))
                        .and($col.lt(hi.as_str().into_sql::<Text>().concat(""))),
                )
                .limit(limit)
                .load::<i64>(c))
        };
    }
    for column in 0..4 {
        let found = match column {
            0 => range!(people::family_fold),
            1 => range!(people::full_fold),
            2 => range!(people::given_fold),
            _ => range!(people::preferred_fold),
        }?;
        for id in found {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() as i64 >= limit {
            break;
        }
    }
    Ok(ids)
}

/// People by internal ids.
pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Person>> {
    people::table
        .filter(people::id.eq_any(ids))
        .select(Person::as_select())
        .order(people::id)
        .load(conn)
}

/// Every column of a person row but the id, for restoring a snapshot exactly.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = people, treat_none_as_null = true)]
pub struct PersonRestore {
    /// Public id.
    pub public_id: String,
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
    /// Status.
    pub status: String,
    /// Survivor.
    pub merged_into: Option<i64>,
    /// Version.
    pub version: i64,
    /// Folded given name.
    pub given_fold: String,
    /// Folded family name.
    pub family_fold: String,
    /// Folded preferred name.
    pub preferred_fold: String,
    /// Folded full name.
    pub full_fold: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
    /// Erased.
    pub erased_at: Option<NaiveDateTime>,
}

impl From<&Person> for PersonRestore {
    fn from(p: &Person) -> Self {
        PersonRestore {
            public_id: p.public_id.clone(),
            title: p.title.clone(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            preferred_name: p.preferred_name.clone(),
            date_of_birth: p.date_of_birth,
            organisation: p.organisation.clone(),
            status: p.status.clone(),
            merged_into: p.merged_into,
            version: p.version,
            given_fold: p.given_fold.clone(),
            family_fold: p.family_fold.clone(),
            preferred_fold: p.preferred_fold.clone(),
            full_fold: p.full_fold.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            erased_at: p.erased_at,
        }
    }
}

/// Restore a person row to exactly these values.
pub fn restore(conn: &mut DbConn, id: i64, row: &PersonRestore) -> QueryResult<()> {
    diesel::update(people::table.find(id)).set(row).execute(conn)?;
    Ok(())
}

/// A department link row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = person_departments, treat_none_as_default_value = false)]
pub struct DepartmentLink {
    /// Person.
    pub person_id: i64,
    /// Department.
    pub department_id: i64,
    /// Source kind.
    pub source_kind: String,
    /// Source ref.
    pub source_ref: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// Department link rows of a person.
pub fn department_links(conn: &mut DbConn, person_id: i64) -> QueryResult<Vec<DepartmentLink>> {
    person_departments::table
        .filter(person_departments::person_id.eq(person_id))
        .select(DepartmentLink::as_select())
        .order(person_departments::department_id)
        .load(conn)
}
