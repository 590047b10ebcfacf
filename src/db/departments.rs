//! Departments: the unit of scoping.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::departments;
use super::DbConn;

/// A department.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = departments)]
pub struct Department {
    /// Internal id.
    pub id: i64,
    /// Short stable code, e.g. `BARB`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last renamed.
    pub updated_at: NaiveDateTime,
}

/// A new department.
#[derive(Debug, Insertable)]
#[diesel(table_name = departments)]
pub struct NewDepartment<'a> {
    /// Code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// Insert a department.
pub fn insert(conn: &mut DbConn, new: &NewDepartment) -> QueryResult<Department> {
    diesel::insert_into(departments::table).values(new).get_result(conn)
}

/// All departments by code.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Department>> {
    departments::table
        .select(Department::as_select())
        .order(departments::code)
        .load(conn)
}

/// One department by code.
pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Department>> {
    departments::table
        .filter(departments::code.eq(code))
        .select(Department::as_select())
        .first(conn)
        .optional()
}

/// Departments by codes; the result may be shorter than `codes` when some are unknown.
pub fn find_by_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<Department>> {
    departments::table
        .filter(departments::code.eq_any(codes))
        .select(Department::as_select())
        .load(conn)
}

/// Departments by internal ids.
pub fn find_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Department>> {
    departments::table
        .filter(departments::id.eq_any(ids))
        .select(Department::as_select())
        .order(departments::code)
        .load(conn)
}

/// Rename a department.
pub fn rename(conn: &mut DbConn, id: i64, name: &str, at: NaiveDateTime) -> QueryResult<Department> {
    diesel::update(departments::table.find(id))
        .set((departments::name.eq(name), departments::updated_at.eq(at)))
        .get_result(conn)
}
