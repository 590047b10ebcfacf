//! A person's emails, phones and postal addresses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{person_addresses, person_emails, person_phones};
use crate::db::DbConn;

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
#[diesel(table_name = person_emails, treat_none_as_default_value = false)]
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
#[diesel(table_name = person_phones, treat_none_as_default_value = false)]
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
#[diesel(table_name = person_addresses, treat_none_as_default_value = false)]
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
