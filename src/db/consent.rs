//! Purposes, their wordings, the consent ledger, its derived state, and the suppression list.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{consent_events, consent_state, purpose_wordings, purposes, suppressions};
use super::DbConn;

/// A purpose of contact.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = purposes)]
pub struct Purpose {
    /// Id.
    pub id: i64,
    /// Stable code, e.g. `newsletter`.
    pub code: String,
    /// What it is for.
    pub description: String,
    /// `service` or `marketing`.
    pub category: String,
    /// Lawful basis used when an event does not name one.
    pub default_lawful_basis: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
    /// The law behind a public task or legal obligation basis.
    pub statutory_reference: Option<String>,
}

/// A new purpose.
#[derive(Debug, Insertable)]
#[diesel(table_name = purposes)]
pub struct NewPurpose<'a> {
    /// Code.
    pub code: &'a str,
    /// Description.
    pub description: &'a str,
    /// Category.
    pub category: &'a str,
    /// Default basis.
    pub default_lawful_basis: &'a str,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
    /// The law behind a public task or legal obligation basis.
    pub statutory_reference: Option<&'a str>,
}

/// A version of the text a person was shown for a purpose.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = purpose_wordings)]
pub struct Wording {
    /// Id.
    pub id: i64,
    /// Purpose.
    pub purpose_id: i64,
    /// Version number, from 1.
    pub version: i32,
    /// The text.
    pub text: String,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// One consent event (the ledger is append-only).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_events)]
pub struct ConsentEvent {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Person.
    pub person_id: i64,
    /// Purpose.
    pub purpose_id: i64,
    /// email / sms / post / phone.
    pub channel: String,
    /// Normalised contact point, or '' for the whole channel.
    pub contact_point: String,
    /// granted / withdrawn / refused.
    pub status: String,
    /// Lawful basis.
    pub lawful_basis: String,
    /// staff / web_form / import / unsubscribe / api.
    pub source: String,
    /// Reference within the source (batch id, campaign id, form id).
    pub source_ref: Option<String>,
    /// Wording version shown.
    pub wording_version: Option<i32>,
    /// How it was captured (e.g. `paper_form`, `phone_call`, `web_checkbox`, `soft_opt_in`).
    pub capture_method: String,
    /// Free-text evidence.
    pub evidence: Option<String>,
    /// When the person gave or withdrew it.
    pub captured_at: NaiveDateTime,
    /// When it was recorded here.
    pub recorded_at: NaiveDateTime,
    /// Staff user who recorded it.
    pub recorded_by: Option<i64>,
    /// Expiry of a grant.
    pub expires_at: Option<NaiveDateTime>,
}

/// The derived current state of one person × purpose × channel × point.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = consent_state)]
pub struct ConsentState {
    /// Person.
    pub person_id: i64,
    /// Purpose.
    pub purpose_id: i64,
    /// Channel.
    pub channel: String,
    /// Point ('' = channel-wide).
    pub contact_point: String,
    /// Status.
    pub status: String,
    /// Basis.
    pub lawful_basis: String,
    /// Capture method.
    pub capture_method: String,
    /// Captured.
    pub captured_at: NaiveDateTime,
    /// Expiry.
    pub expires_at: Option<NaiveDateTime>,
    /// The event it came from.
    pub event_id: i64,
}

/// Insert a purpose.
pub fn insert_purpose(conn: &mut DbConn, p: &NewPurpose) -> QueryResult<Purpose> {
    diesel::insert_into(purposes::table).values(p).get_result(conn)
}

/// All purposes by code.
pub fn list_purposes(conn: &mut DbConn) -> QueryResult<Vec<Purpose>> {
    purposes::table
        .select(Purpose::as_select())
        .order(purposes::code)
        .load(conn)
}

/// A purpose by code.
pub fn find_purpose(conn: &mut DbConn, code: &str) -> QueryResult<Option<Purpose>> {
    purposes::table
        .filter(purposes::code.eq(code))
        .select(Purpose::as_select())
        .first(conn)
        .optional()
}

/// A purpose by id.
pub fn purpose(conn: &mut DbConn, id: i64) -> QueryResult<Purpose> {
    purposes::table.find(id).select(Purpose::as_select()).first(conn)
}

/// Update a purpose's description, category and default basis.
pub fn update_purpose(
    conn: &mut DbConn,
    id: i64,
    description: &str,
    category: &str,
    basis: &str,
    statutory_reference: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<Purpose> {
    diesel::update(purposes::table.find(id))
        .set((
            purposes::description.eq(description),
            purposes::category.eq(category),
            purposes::default_lawful_basis.eq(basis),
            purposes::statutory_reference.eq(statutory_reference),
            purposes::updated_at.eq(at),
        ))
        .get_result(conn)
}

/// Wordings of these purposes, by purpose then version.
pub fn wordings_of(conn: &mut DbConn, purpose_ids: &[i64]) -> QueryResult<Vec<Wording>> {
    purpose_wordings::table
        .filter(purpose_wordings::purpose_id.eq_any(purpose_ids))
        .select(Wording::as_select())
        .order((purpose_wordings::purpose_id, purpose_wordings::version))
        .load(conn)
}

/// Add the next wording version of a purpose.
pub fn add_wording(conn: &mut DbConn, purpose_id: i64, text: &str, at: NaiveDateTime) -> QueryResult<Wording> {
    let last: Option<i32> = purpose_wordings::table
        .filter(purpose_wordings::purpose_id.eq(purpose_id))
        .select(diesel::dsl::max(purpose_wordings::version))
        .first(conn)?;
    diesel::insert_into(purpose_wordings::table)
        .values((
            purpose_wordings::purpose_id.eq(purpose_id),
            purpose_wordings::version.eq(last.unwrap_or(0) + 1),
            purpose_wordings::text.eq(text),
            purpose_wordings::created_at.eq(at),
        ))
        .get_result(conn)
}

/// Append an event.
pub fn insert_event(conn: &mut DbConn, e: &ConsentEvent) -> QueryResult<ConsentEvent> {
    diesel::insert_into(consent_events::table).values(e).get_result(conn)
}

/// Append many events (imports).
pub fn insert_events(conn: &mut DbConn, events: &[ConsentEvent]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in events.chunks(500) {
        n += crate::with_backend!(conn, |c| diesel::insert_into(consent_events::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(n)
}

/// Every event of a person, oldest first.
pub fn events_of(conn: &mut DbConn, person_id: i64) -> QueryResult<Vec<ConsentEvent>> {
    consent_events::table
        .filter(consent_events::person_id.eq(person_id))
        .select(ConsentEvent::as_select())
        .order((consent_events::captured_at, consent_events::id))
        .load(conn)
}

/// The current state rows of a person.
pub fn state_of(conn: &mut DbConn, person_id: i64) -> QueryResult<Vec<ConsentState>> {
    consent_state::table
        .filter(consent_state::person_id.eq(person_id))
        .select(ConsentState::as_select())
        .order((
            consent_state::purpose_id,
            consent_state::channel,
            consent_state::contact_point,
        ))
        .load(conn)
}

/// The state rows of a person for one purpose and channel (the point-specific and the channel-wide).
pub fn state_for(conn: &mut DbConn, person_id: i64, purpose_id: i64, channel: &str) -> QueryResult<Vec<ConsentState>> {
    consent_state::table
        .filter(consent_state::person_id.eq(person_id))
        .filter(consent_state::purpose_id.eq(purpose_id))
        .filter(consent_state::channel.eq(channel))
        .select(ConsentState::as_select())
        .load(conn)
}

/// Of these events (ids), those whose source is `source`.
pub fn events_from(conn: &mut DbConn, ids: &[i64], source: &str) -> QueryResult<Vec<i64>> {
    consent_events::table
        .filter(consent_events::id.eq_any(ids))
        .filter(consent_events::source.eq(source))
        .select(consent_events::id)
        .load(conn)
}

/// Remove one state row.
pub fn delete_state(conn: &mut DbConn, s: &ConsentState) -> QueryResult<usize> {
    diesel::delete(
        consent_state::table
            .filter(consent_state::person_id.eq(s.person_id))
            .filter(consent_state::purpose_id.eq(s.purpose_id))
            .filter(consent_state::channel.eq(&s.channel))
            .filter(consent_state::contact_point.eq(&s.contact_point)),
    )
    .execute(conn)
}

/// Write a state row (insert or replace).
pub fn save_state(conn: &mut DbConn, s: &ConsentState) -> QueryResult<()> {
    crate::with_backend!(conn, |c| diesel::insert_into(consent_state::table)
        .values(s)
        .on_conflict((
            consent_state::person_id,
            consent_state::purpose_id,
            consent_state::channel,
            consent_state::contact_point
        ))
        .do_update()
        .set(s)
        .execute(c))?;
    Ok(())
}

/// Whether a point hash is suppressed.
pub fn is_suppressed(conn: &mut DbConn, hash: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        suppressions::table.filter(suppressions::point_hash.eq(hash)),
    ))
    .get_result(conn)
}

/// Which of these hashes are suppressed.
pub fn suppressed_among(conn: &mut DbConn, hashes: &[String]) -> QueryResult<Vec<String>> {
    suppressions::table
        .filter(suppressions::point_hash.eq_any(hashes))
        .select(suppressions::point_hash)
        .load(conn)
}

/// Add a point to the suppression list (kept once; the first reason stays).
pub fn suppress(conn: &mut DbConn, hash: &str, kind: &str, reason: &str, at: NaiveDateTime) -> QueryResult<()> {
    let row = (
        suppressions::point_hash.eq(hash),
        suppressions::kind.eq(kind),
        suppressions::reason.eq(reason),
        suppressions::created_at.eq(at),
    );
    crate::with_backend!(conn, |c| diesel::insert_into(suppressions::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Suppression entries by reason.
pub fn suppression_counts(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    suppressions::table
        .group_by(suppressions::reason)
        .select((suppressions::reason, diesel::dsl::count_star()))
        .order(suppressions::reason)
        .load(conn)
}
