//! Business rules and transactions, one module per capability. Services are plain synchronous
//! functions taking `&mut DbConn`; they know nothing about HTTP.

pub mod audit;
pub mod audit_chain;
pub mod auth;
pub mod authz;
pub mod campaigns;
pub mod consent;
pub mod departments;
pub mod engagement;
pub mod identity;
pub mod imports;
pub mod journeys;
pub mod limits;
pub mod people;
pub mod privacy;
pub mod session_cache;
pub mod users;

use chrono::NaiveDateTime;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use authz::{Permission, Principal, Role, Scope};

/// Who is asking, from where, and when: passed to every service call that audits.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// Client address as seen by the server.
    pub client_addr: Option<String>,
    /// The request id (also in logs and the `X-Request-Id` header).
    pub request_id: Option<String>,
    /// The service clock's time for this request.
    pub now: NaiveDateTime,
}

impl RequestMeta {
    /// Metadata for work started outside HTTP (CLI, background jobs).
    pub fn system(now: NaiveDateTime) -> Self {
        RequestMeta {
            client_addr: None,
            request_id: None,
            now,
        }
    }
}

/// A signed-in request: the principal, the request metadata and the contact-point hasher.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The user.
    pub principal: Principal,
    /// The request.
    pub meta: RequestMeta,
    /// Keyed hashing of contact points (suppression list).
    pub points: privacy::keys::PointHasher,
    /// Matching thresholds and candidate limits.
    pub matching: crate::config::MatchingSettings,
}

/// Optional free text: trimmed, empty as none, at most `max` characters (cleaned as
/// [`crate::normalize::text::clean_text`] does).
pub fn optional_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, crate::error::FieldError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => crate::normalize::text::clean_text(v, max)
            .map(Some)
            .map_err(|e| crate::error::FieldError::new(field, e.code, e.message)),
    }
}

/// [`optional_text`] for checks that report every field at once: a fault goes into `errors`.
pub fn optional_text_into(
    errors: &mut Vec<crate::error::FieldError>,
    field: &str,
    v: Option<&str>,
    max: usize,
) -> Option<String> {
    optional_text(field, v, max).unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

/// `n` random bytes from the operating system's CSPRNG, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::base64url::encode(&bytes)
}

/// An opaque, non-sequential public id: 128 random bits as 32 hex characters.
pub fn new_public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A public id for rows written in bulk (engagement events, outbox messages, the people, source
/// records and consent events an import writes): the same shape as
/// [`new_public_id`], but its first 6 bytes are the time in milliseconds, so the unique index
/// grows at its end instead of at random pages; the other 10 bytes are random (80 bits, from a
/// CSPRNG seeded by the system). It reveals when the row was written, nothing else.
pub fn new_ordered_public_id() -> String {
    let mut bytes = [0u8; 16];
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    rand::thread_rng().fill_bytes(&mut bytes[6..]);
    hex::encode(bytes)
}

/// Whether `s` has the shape of a public id (so bad ids are refused before any query).
pub fn is_public_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of `s`, hex.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_unique() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
        assert!(is_public_id(&new_public_id()));
        assert!(!is_public_id("1"));
    }
}

#[cfg(test)]
mod ordered_id_tests {
    use super::{is_public_id, new_ordered_public_id};

    #[test]
    fn ordered_ids_are_public_ids_that_sort_by_time_and_differ() {
        let a = new_ordered_public_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_ordered_public_id();
        assert!(is_public_id(&a) && is_public_id(&b));
        assert!(a[..12] < b[..12], "{a} then {b}");
        let many: std::collections::HashSet<String> = (0..10_000).map(|_| new_ordered_public_id()).collect();
        assert_eq!(many.len(), 10_000);
    }
}

/// How many times [`retry_busy`] runs a cancelled transaction again.
pub const BUSY_RETRIES: u64 = 3;

/// An error that may say the database cancelled a transaction as busy (PostgreSQL gave it up in
/// a lock cycle, as a merge racing an import chunk can be; SQLite's write lock stayed taken past
/// the busy timeout): the transaction wrote nothing and can be run again.
pub trait MaybeBusy {
    /// The cause, when the error is such a cancellation.
    fn busy(&self) -> Option<&str>;
}

impl MaybeBusy for crate::error::AppError {
    fn busy(&self) -> Option<&str> {
        match self {
            crate::error::AppError::Unavailable(why) => Some(why),
            _ => None,
        }
    }
}

/// Run `transaction` (a whole one: it writes nothing when it fails) again while the database
/// cancels it as busy, up to [`BUSY_RETRIES`] more times, before the error reaches the caller.
pub fn retry_busy<T, E: MaybeBusy>(mut transaction: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let mut attempt = 0;
    loop {
        match transaction() {
            Err(e) if attempt < BUSY_RETRIES && e.busy().is_some() => {
                attempt += 1;
                tracing::warn!(
                    error = e.busy().unwrap_or_default(),
                    attempt,
                    "transaction cancelled by the database; trying again"
                );
                std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
            }
            outcome => return outcome,
        }
    }
}

/// [`crate::db::write_tx`] run again while the database cancels it as busy ([`retry_busy`]).
pub fn write_tx_retrying<T>(
    conn: &mut crate::db::DbConn,
    f: impl Fn(&mut crate::db::DbConn) -> crate::error::AppResult<T>,
) -> crate::error::AppResult<T> {
    retry_busy(|| crate::db::write_tx(conn, &f))
}

/// Run `work(conn, part, parts)` as two parts at once, part 1 on an idle connection of `pool` on
/// another thread, when `worth_it` and such a connection is free; otherwise as one part on
/// `conn`. Only an idle connection is taken: under load the work runs alone rather than wait.
/// The results come back in part order.
pub fn in_two_parts<T, F>(
    conn: &mut crate::db::DbConn,
    pool: Option<&crate::db::DbPool>,
    worth_it: bool,
    work: F,
) -> crate::error::AppResult<Vec<T>>
where
    T: Send,
    F: Fn(&mut crate::db::DbConn, usize, usize) -> crate::error::AppResult<Vec<T>> + Sync,
{
    let second = match pool {
        Some(pool) if worth_it => pool.try_get(),
        _ => None,
    };
    let Some(mut other) = second else {
        return work(conn, 0, 1);
    };
    std::thread::scope(|s| {
        let helper = s.spawn(|| work(&mut other, 1, 2));
        let mut out = work(conn, 0, 2)?;
        out.extend(
            helper
                .join()
                .unwrap_or_else(|_| Err(crate::error::AppError::Internal("the second worker stopped".into())))?,
        );
        Ok(out)
    })
}
