//! The filtered, paged list of people and the look-ups by email, phone and name.

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::*;
use crate::db::schema::{people, person_addresses, person_departments, person_emails, person_phones, person_tags};
use crate::db::DbConn;

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
