//! People (the golden record), their contact points, tags, department links and provenance.
//!
//! This module holds the person row itself; [`contacts`] their emails, phones and addresses,
//! [`links`] tags, department links and provenance, [`summary`] the search-result shape and
//! [`search`] the filtered listing and look-ups.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::people;
use super::DbConn;

/// The backend type of [`DbConn`], for boxed queries.
pub type Db = <DbConn as diesel::Connection>::Backend;

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

mod contacts;
mod links;
mod search;
mod summary;

pub use contacts::*;
pub use links::*;
pub use search::*;
pub use summary::*;

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

/// How [`lock`] holds people rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Against every other writer (`FOR UPDATE`): merges, unmerges and erasures, which move or
    /// remove what a person holds.
    Update,
    /// Against those only (`FOR KEY SHARE`): writers that add rows to a person (consent,
    /// engagement, import rows). They do not block each other, nor edits of the person's fields.
    KeyShare,
}

/// Lock people rows until the end of the transaction, in id order (so two lockers cannot
/// dead-lock on them). On PostgreSQL this is what keeps a merge from
/// moving a person's rows while another transaction adds to them (READ COMMITTED: a reader that
/// waited sees the row as the merge left it). On SQLite every write transaction already holds
/// the database's one write lock from its `BEGIN IMMEDIATE`, so this does nothing.
pub fn lock(conn: &mut DbConn, ids: &[i64], how: Lock) -> QueryResult<()> {
    let DbConn::Pg(c) = conn else {
        return Ok(());
    };
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for part in ids.chunks(1000) {
        let q = people::table
            .filter(people::id.eq_any(part))
            .select(people::id)
            .order(people::id);
        match how {
            Lock::Update => q.for_update().load::<i64>(c)?,
            Lock::KeyShare => q.for_key_share().load::<i64>(c)?,
        };
    }
    Ok(())
}

/// [`lock`] people and, in the same id order, whom those merged since were merged into (up to
/// five merges on). A transaction that will follow a merged person to their survivor locks the
/// survivor now rather than after the others, out of order: a merge of that survivor at the
/// same moment locks the people merged into them too, and the two would wait for each other.
/// Only a merge that ends between the look-up and the lock is still followed later (by
/// [`live_locked`]).
pub fn lock_with_survivors(conn: &mut DbConn, ids: &[i64], how: Lock) -> QueryResult<()> {
    if let DbConn::Sqlite(_) = conn {
        return Ok(());
    }
    let mut all = ids.to_vec();
    let mut frontier = ids.to_vec();
    for _ in 0..5 {
        let mut next = Vec::new();
        for part in frontier.chunks(1000) {
            let found: Vec<Option<i64>> = people::table
                .filter(people::id.eq_any(part))
                .filter(people::status.eq("merged"))
                .select(people::merged_into)
                .load(conn)?;
            next.extend(found.into_iter().flatten());
        }
        if next.is_empty() {
            break;
        }
        all.extend_from_slice(&next);
        frontier = next;
    }
    lock(conn, &all, how)
}

/// [`live`], with the person found locked (see [`lock`]): a merge that ends while this waits
/// is followed to its survivor.
pub fn live_locked(conn: &mut DbConn, id: i64, how: Lock) -> QueryResult<Option<Person>> {
    let mut next = id;
    for _ in 0..5 {
        let Some(p) = live(conn, next)? else {
            return Ok(None);
        };
        if let DbConn::Sqlite(_) = conn {
            return Ok(Some(p));
        }
        lock(conn, &[p.id], how)?;
        let now = find(conn, p.id)?;
        match (now.status.as_str(), now.merged_into) {
            ("active" | "restricted", _) => return Ok(Some(now)),
            ("merged", Some(survivor)) => next = survivor,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// The person a record stands for now: itself when active or restricted, the survivor when it
/// was merged (followed up to five merges), `None` when erased.
pub fn live(conn: &mut DbConn, id: i64) -> QueryResult<Option<Person>> {
    let mut p = find(conn, id)?;
    for _ in 0..5 {
        match (p.status.as_str(), p.merged_into) {
            ("merged", Some(next)) => p = find(conn, next)?,
            ("active" | "restricted", _) => return Ok(Some(p)),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// The id of whom the record `id` stands for now ([`live`]); `None` when they were erased or the
/// record is gone.
pub fn live_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<i64>> {
    match live(conn, id) {
        Ok(p) => Ok(p.map(|p| p.id)),
        Err(diesel::result::Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
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
