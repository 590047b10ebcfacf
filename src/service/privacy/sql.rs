//! Generic statements over the data map: fetch a person's rows of a table as JSON documents,
//! delete them, or blank columns. Table and column names come only from the compiled-in map
//! (never from a request), and the person is always a bound parameter.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::datamap::{Blank, Entry, Link};
use crate::db::DbConn;

#[derive(QueryableByName)]
struct Doc {
    #[diesel(sql_type = Text)]
    doc: String,
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

fn where_clause(link: Link) -> Option<String> {
    match link {
        Link::None => None,
        Link::PersonId(col) => Some(format!("{} = $1", quoted(col))),
        Link::TargetId(col) => Some(format!("{} = $1", quoted(col))),
        Link::AuditEvent => Some(format!(
            "((\"target_kind\" = 'person' AND \"target_id\" = $1) OR (\"target_id\" IS NULL AND \"id\" IN \
             (SELECT \"event_id\" FROM \"audit_event_targets\" WHERE \"target_id\" = $1 AND {})))",
            crate::db::audit::EVERY_STRETCH
        )),
        Link::EitherPersonId(a, b) => Some(format!("({} = $1 OR {} = $1)", quoted(a), quoted(b))),
    }
}

/// The person's rows of `entry` as JSON object texts, every column but the withheld ones, ordered
/// by every column in turn (a total order, so two exports of the same data are byte-identical on
/// either backend).
pub fn rows_as_json(
    conn: &mut DbConn,
    entry: &Entry,
    person_id: i64,
    public_id: &str,
) -> QueryResult<Vec<serde_json::Value>> {
    let Some(filter) = where_clause(entry.link) else {
        return Ok(Vec::new());
    };
    let pairs = entry
        .columns
        .iter()
        .filter(|c| !entry.withheld.contains(c))
        .map(|c| format!("'{c}', {}", quoted(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let order = entry.columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", ");
    let from = format!("FROM {} WHERE {filter} ORDER BY {order}", quoted(entry.table));
    let sql = match conn {
        DbConn::Sqlite(_) => format!("SELECT json_object({pairs}) AS doc {from}"),
        DbConn::Pg(_) => format!("SELECT json_build_object({pairs})::text AS doc {from}"),
    };
    let docs: Vec<Doc> = match entry.link {
        Link::TargetId(_) | Link::AuditEvent => diesel::sql_query(sql).bind::<Text, _>(public_id).load(conn)?,
        _ => diesel::sql_query(sql).bind::<BigInt, _>(person_id).load(conn)?,
    };
    Ok(docs
        .into_iter()
        .filter_map(|d| serde_json::from_str(&d.doc).ok())
        .collect())
}

/// Delete the person's rows of `entry`.
pub fn delete_rows(conn: &mut DbConn, entry: &Entry, person_id: i64) -> QueryResult<usize> {
    let filter = match entry.link {
        Link::PersonId(_) | Link::EitherPersonId(..) => where_clause(entry.link),
        _ => None,
    };
    let Some(filter) = filter else { return Ok(0) };
    let sql = format!("DELETE FROM {} WHERE {filter}", quoted(entry.table));
    diesel::sql_query(sql).bind::<BigInt, _>(person_id).execute(conn)
}

/// `SET` assignments that blank `columns`.
fn blank_sets(columns: &[(&str, Blank)]) -> String {
    columns
        .iter()
        .map(|(c, b)| format!("{} = {}", quoted(c), if *b == Blank::Null { "NULL" } else { "''" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Blank columns in the person's rows of `entry`.
pub fn blank_columns(
    conn: &mut DbConn,
    entry: &Entry,
    person_id: i64,
    columns: &[(&str, Blank)],
) -> QueryResult<usize> {
    let Link::PersonId(col) = entry.link else { return Ok(0) };
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = $1",
        quoted(entry.table),
        blank_sets(columns),
        quoted(col)
    );
    diesel::sql_query(sql).bind::<BigInt, _>(person_id).execute(conn)
}

/// Blank columns in the row of `entry` whose `id` is `id`, whoever it is about (a row that
/// outlives its retention period).
pub fn blank_row(conn: &mut DbConn, entry: &Entry, id: i64, columns: &[(&str, Blank)]) -> QueryResult<usize> {
    let sql = format!(
        "UPDATE {} SET {} WHERE \"id\" = $1",
        quoted(entry.table),
        blank_sets(columns)
    );
    diesel::sql_query(sql).bind::<BigInt, _>(id).execute(conn)
}

/// Column names of every table in the database (for the data-map test and checks).
pub fn schema_columns(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Col {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        column_name: String,
    }
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
                              WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
        }
        DbConn::Pg(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
                          WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        }
    };
    let cols: Vec<Col> = diesel::sql_query(sql).load(conn)?;
    Ok(cols.into_iter().map(|c| (c.table_name, c.column_name)).collect())
}
