//! Staff accounts, their departments, and the sign-in throttle.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{login_throttle, user_departments, users};
use super::DbConn;

/// A staff account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Internal id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Sign-in email (lower case).
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Comma-separated role identifiers.
    pub roles: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Optimistic concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
    /// Confirmed TOTP secret (base32); never shown again after enrolment.
    pub totp_secret: Option<String>,
    /// TOTP secret awaiting its first code.
    pub totp_pending: Option<String>,
    /// The last TOTP step a code was accepted for.
    pub totp_last_step: Option<i64>,
    /// SHA-256 of a pending invitation's token.
    pub invite_hash: Option<String>,
    /// When the pending invitation stops working.
    pub invite_expires_at: Option<NaiveDateTime>,
}

/// A new account.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Public id.
    pub public_id: &'a str,
    /// Email.
    pub email: &'a str,
    /// Name.
    pub name: &'a str,
    /// Hash.
    pub password_hash: &'a str,
    /// Roles.
    pub roles: &'a str,
    /// Status.
    pub status: &'a str,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// Changes to an account.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    /// Name.
    pub name: Option<String>,
    /// Roles.
    pub roles: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Hash.
    pub password_hash: Option<String>,
    /// Version.
    pub version: Option<i64>,
    /// Updated.
    pub updated_at: Option<NaiveDateTime>,
}

/// Insert an account.
pub fn insert(conn: &mut DbConn, new: &NewUser) -> QueryResult<User> {
    diesel::insert_into(users::table).values(new).get_result(conn)
}

/// By email (lower case).
pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// By public id.
pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::public_id.eq(public_id))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// A page of accounts ordered by email, and the total.
pub fn list(conn: &mut DbConn, limit: i64, offset: i64) -> QueryResult<(Vec<User>, i64)> {
    let total = users::table.count().get_result(conn)?;
    let rows = users::table
        .select(User::as_select())
        .order(users::email)
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Apply changes.
pub fn update(conn: &mut DbConn, id: i64, changes: &UserChanges) -> QueryResult<User> {
    diesel::update(users::table.find(id)).set(changes).get_result(conn)
}

/// Set the TOTP secret awaiting confirmation.
pub fn set_totp_pending(conn: &mut DbConn, id: i64, secret: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::totp_pending.eq(secret), users::updated_at.eq(at)))
        .execute(conn)
}

/// Make the pending `secret` the confirmed TOTP secret, with the step its confirming code was
/// for, while it is still the pending one (another enrolment started since wins); the account's
/// version moves on. Returns whether the account changed.
pub fn confirm_totp(conn: &mut DbConn, id: i64, secret: &str, step: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(users::table.find(id).filter(users::totp_pending.eq(secret)))
        .set((
            users::totp_secret.eq(secret),
            users::totp_pending.eq(None::<String>),
            users::totp_last_step.eq(step),
            users::version.eq(users::version + 1),
            users::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Clear every TOTP field; the account's version moves on.
pub fn clear_totp(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_pending.eq(None::<String>),
            users::totp_last_step.eq(None::<i64>),
            users::version.eq(users::version + 1),
            users::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Record that a code for `step` was used, unless one for this step or a later one already
/// was: one statement, so two sign-ins with the same code at the same moment cannot both pass.
/// Returns whether the step was new.
pub fn use_totp_step(conn: &mut DbConn, id: i64, step: i64) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .find(id)
            .filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(n == 1)
}

/// Department ids of a user.
pub fn department_ids(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<i64>> {
    user_departments::table
        .filter(user_departments::user_id.eq(user_id))
        .select(user_departments::department_id)
        .order(user_departments::department_id)
        .load(conn)
}

/// Department ids of several users, as (user, department) pairs.
pub fn department_ids_of(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    user_departments::table
        .filter(user_departments::user_id.eq_any(user_ids))
        .select((user_departments::user_id, user_departments::department_id))
        .load(conn)
}

/// Replace a user's departments.
pub fn set_departments(conn: &mut DbConn, user_id: i64, department_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(user_departments::table.filter(user_departments::user_id.eq(user_id))).execute(conn)?;
    for d in department_ids {
        diesel::insert_into(user_departments::table)
            .values((
                user_departments::user_id.eq(user_id),
                user_departments::department_id.eq(d),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The throttle row for a sign-in key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttle)]
pub struct Throttle {
    /// Hash of the lower-cased email tried.
    pub key_hash: String,
    /// Consecutive failures.
    pub failures: i32,
    /// Locked until, if locked.
    pub locked_until: Option<NaiveDateTime>,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// The throttle row for a key.
pub fn find_throttle(conn: &mut DbConn, key_hash: &str) -> QueryResult<Option<Throttle>> {
    login_throttle::table
        .find(key_hash)
        .select(Throttle::as_select())
        .first(conn)
        .optional()
}

/// Insert or replace the throttle row.
pub fn save_throttle(conn: &mut DbConn, row: &Throttle) -> QueryResult<()> {
    crate::with_backend!(conn, |c| diesel::insert_into(login_throttle::table)
        .values(row)
        .on_conflict(login_throttle::key_hash)
        .do_update()
        .set(row)
        .execute(c))?;
    Ok(())
}

/// Count one more failure for a key, atomically (two attempts at once both count), and return
/// the count.
pub fn add_failure(conn: &mut DbConn, key_hash: &str, at: NaiveDateTime) -> QueryResult<i32> {
    crate::with_backend!(conn, |c| diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::key_hash.eq(key_hash),
            login_throttle::failures.eq(1),
            login_throttle::updated_at.eq(at),
        ))
        .on_conflict(login_throttle::key_hash)
        .do_update()
        .set((
            login_throttle::failures.eq(login_throttle::failures + 1),
            login_throttle::updated_at.eq(at),
        ))
        .returning(login_throttle::failures)
        .get_result(c))
}

/// Forget the throttle row (after a successful sign-in).
pub fn clear_throttle(conn: &mut DbConn, key_hash: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key_hash)).execute(conn)?;
    Ok(())
}
