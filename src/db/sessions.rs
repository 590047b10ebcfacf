//! Sessions and API tokens: only hashes of the tokens are stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{sessions, users};
use super::users::User;
use super::DbConn;

/// A session or API token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Internal id.
    pub id: i64,
    /// Public id (API tokens are listed and revoked by it).
    pub public_id: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// SHA-256 of the CSRF token (sessions only).
    pub csrf_hash: Option<String>,
    /// Owner.
    pub user_id: i64,
    /// `session` or `api_token`.
    pub kind: String,
    /// Label of an API token.
    pub label: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last request.
    pub last_seen_at: NaiveDateTime,
    /// Absolute expiry.
    pub expires_at: NaiveDateTime,
    /// Revoked at (logout, disable).
    pub revoked_at: Option<NaiveDateTime>,
}

/// A new session.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    /// Public id.
    pub public_id: &'a str,
    /// Token hash.
    pub token_hash: &'a str,
    /// CSRF hash.
    pub csrf_hash: Option<&'a str>,
    /// Owner.
    pub user_id: i64,
    /// Kind.
    pub kind: &'a str,
    /// Label.
    pub label: Option<&'a str>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last seen.
    pub last_seen_at: NaiveDateTime,
    /// Expiry.
    pub expires_at: NaiveDateTime,
}

/// Insert a session.
pub fn insert(conn: &mut DbConn, new: &NewSession) -> QueryResult<Session> {
    diesel::insert_into(sessions::table).values(new).get_result(conn)
}

/// A live (not revoked) session with its user, by token hash.
pub fn find_live_with_user(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::revoked_at.is_null())
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// Record activity.
pub fn touch(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_seen_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Revoke one session.
pub fn revoke(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(at))
        .execute(conn)
}

/// Revoke every session and token of a user, except `keep` when given.
pub fn revoke_all_for_user(
    conn: &mut DbConn,
    user_id: i64,
    keep: Option<i64>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(keep.unwrap_or(-1))),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)
}

/// Live API tokens of a user.
pub fn list_tokens(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::kind.eq("api_token"))
        .filter(sessions::revoked_at.is_null())
        .select(Session::as_select())
        .order(sessions::id)
        .load(conn)
}

/// An API token of a user by public id.
pub fn find_token(conn: &mut DbConn, user_id: i64, public_id: &str) -> QueryResult<Option<Session>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::public_id.eq(public_id))
        .filter(sessions::kind.eq("api_token"))
        .select(Session::as_select())
        .first(conn)
        .optional()
}
