//! A person's tags, department links and field provenance.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{departments, field_provenance, person_departments, person_tags};
use crate::db::DbConn;

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
pub fn link_pairs(
    conn: &mut DbConn,
    pairs: &[(i64, i64)],
    source_kind: &str,
    source_ref: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    for chunk in pairs.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(p, d)| {
                (
                    person_departments::person_id.eq(*p),
                    person_departments::department_id.eq(*d),
                    person_departments::source_kind.eq(source_kind),
                    person_departments::source_ref.eq(source_ref),
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
