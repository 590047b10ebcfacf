//! The contactable set: everyone who may be emailed for a purpose now, at their primary
//! address — the same [`decide::decide`] as the single contact check, for everyone at once.
//!
//! Used by segments (`{"consent": {…, "state": "contactable"}}`) and measured by the consent
//! benchmark. Two scans are read (people with their primary emails; the suppression list and
//! the purpose's consent states) and merged in memory by person id.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::decide::{self, Facts, StateFact};
use super::types::{Category, Channel, ConsentStatus, LawfulBasis};
use crate::db::consent::Purpose;
use crate::db::schema::{consent_state as cs, people, person_emails, suppressions};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// (person, contact point, status, lawful basis, capture method, captured, expires).
type StateRow = (
    i64,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// (person, address, address key, point hash) of every active person's primary email.
type EmailRow = (i64, String, String, String);

/// Everyone who may be emailed for `purpose` now: (person id, address). Reads on two pooled
/// connections at once.
pub fn contactable_by_email(
    pool: &crate::db::DbPool,
    purpose: &Purpose,
    now: NaiveDateTime,
) -> AppResult<Vec<(i64, String)>> {
    let (rows, loaded) = std::thread::scope(|s| {
        let people = s.spawn(|| load_people(&mut *pool.get()?));
        let states = pool
            .get()
            .map_err(AppError::from)
            .and_then(|mut c| load_states(&mut c, purpose));
        let people = people
            .join()
            .unwrap_or_else(|_| Err(AppError::Internal("the people reader stopped".into())));
        (people, states)
    });
    let (suppressed, states) = loaded?;
    Ok(decide_all(rows?, &suppressed, &states, purpose, now))
}

/// The ids of everyone who may be emailed for `purpose` now, on one connection (inside a
/// request), in id order.
pub fn contactable_ids_by_email(conn: &mut DbConn, purpose: &Purpose, now: NaiveDateTime) -> AppResult<Vec<i64>> {
    let rows = load_people(conn)?;
    let (suppressed, states) = load_states(conn, purpose)?;
    Ok(decide_all(rows, &suppressed, &states, purpose, now)
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

fn load_people(conn: &mut DbConn) -> AppResult<Vec<EmailRow>> {
    // Two scans joined here rather than a join in SQL: SQLite would otherwise walk the people
    // index and probe the emails one by one, more than twice as slow for a million people.
    let active: Vec<i64> = people::table
        .filter(people::status.eq("active"))
        .select(people::id)
        .order(people::id)
        .load(conn)?;
    let mut rows = person_emails::table
        .filter(person_emails::is_primary.eq(true))
        .select((
            person_emails::person_id,
            person_emails::address,
            person_emails::address_key,
            person_emails::point_hash,
        ))
        .load::<EmailRow>(conn)?;
    rows.sort_unstable_by_key(|r| r.0);
    let mut ai = 0;
    rows.retain(|r| {
        while ai < active.len() && active[ai] < r.0 {
            ai += 1;
        }
        ai < active.len() && active[ai] == r.0
    });
    Ok(rows)
}

fn load_states(conn: &mut DbConn, purpose: &Purpose) -> AppResult<(HashSet<String>, Vec<StateRow>)> {
    // The suppression list is small next to the people: one set in memory beats a look-up per
    // person.
    let suppressed: HashSet<String> = suppressions::table
        .filter(suppressions::kind.eq("email"))
        .select(suppressions::point_hash)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    // Only the columns the decision reads, all held by the covering index on consent_state.
    let states: Vec<StateRow> = cs::table
        .filter(cs::purpose_id.eq(purpose.id))
        .filter(cs::channel.eq("email"))
        .select((
            cs::person_id,
            cs::contact_point,
            cs::status,
            cs::lawful_basis,
            cs::capture_method,
            cs::captured_at,
            cs::expires_at,
        ))
        .order(cs::person_id)
        .load(conn)?;
    Ok((suppressed, states))
}

/// Merge the people (in id order) with their states (in person order) and decide each.
fn decide_all(
    rows: Vec<EmailRow>,
    suppressed: &HashSet<String>,
    states: &[StateRow],
    purpose: &Purpose,
    now: NaiveDateTime,
) -> Vec<(i64, String)> {
    let to_fact = |s: &StateRow| -> Option<StateFact> {
        Some(StateFact {
            status: ConsentStatus::parse(&s.2)?,
            basis: LawfulBasis::parse(&s.3)?,
            capture_method: s.4.clone(),
            captured_at: s.5,
            expires_at: s.6,
        })
    };
    let category = Category::parse(&purpose.category).unwrap_or(Category::Marketing);
    let default_basis = LawfulBasis::parse(&purpose.default_lawful_basis).unwrap_or(LawfulBasis::Consent);
    let mut out = Vec::new();
    let mut si = 0;
    for (person_id, address, key, hash) in rows {
        while si < states.len() && states[si].0 < person_id {
            si += 1;
        }
        let mut point = None;
        let mut wide = None;
        let mut j = si;
        while j < states.len() && states[j].0 == person_id {
            if states[j].1.is_empty() {
                wide = to_fact(&states[j]);
            } else if states[j].1 == key {
                point = to_fact(&states[j]);
            }
            j += 1;
        }
        let facts = Facts {
            person_status: "active",
            category,
            default_basis,
            channel: Channel::Email,
            address_known: true,
            suppressed: suppressed.contains(&hash),
            point,
            channel_wide: wide,
            now,
        };
        if decide::decide(&facts).allowed {
            out.push((person_id, address));
        }
    }
    out
}
