//! A person as a search result shows them, read in one statement per backend.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};

use crate::db::DbConn;

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
