//! Keyed hashes of contact points: the suppression list stores only these, so it survives
//! erasure without keeping the address itself.
//!
//! Policy: emails are hashed by their identity-matching key (provider dots and tags removed), so
//! suppressing one spelling suppresses them all; phones by their E.164 form. The key comes from
//! `privacy.hash_key`, or is generated once and kept in the database (so every instance agrees).

use std::sync::Arc;

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::db::schema::service_keys;
use crate::db::{self, DbConn};
use crate::normalize::email::match_key;

const KEY_NAME: &str = "point_hash_key";

/// Computes contact-point hashes; cheap to clone.
#[derive(Clone)]
pub struct PointHasher {
    key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for PointHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PointHasher(..)")
    }
}

impl PointHasher {
    /// A hasher with the configured key, or the one kept in the database (created if absent).
    pub fn load(conn: &mut DbConn, configured: &str) -> QueryResult<PointHasher> {
        let secret = if configured.is_empty() {
            stored_key(conn)?
        } else {
            configured.to_string()
        };
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        Ok(PointHasher { key: Arc::new(key) })
    }

    /// A hasher with a fixed secret (tests and tools).
    pub fn with_secret(secret: &str) -> PointHasher {
        PointHasher {
            key: Arc::new(Sha256::digest(secret.as_bytes()).into()),
        }
    }

    /// A key for another use, derived from this one (so one stored secret serves them all and a
    /// value made for one use is worthless for another): HMAC(key, "subkey:" + purpose).
    pub fn subkey(&self, purpose: &str) -> Vec<u8> {
        hex::decode(self.mac("subkey", purpose)).unwrap_or_default()
    }

    fn mac(&self, kind: &str, value: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key[..]) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Hash of an email, given its lower-cased key.
    pub fn email(&self, key: &str) -> String {
        self.mac("email", &match_key(key))
    }

    /// Hash of a phone number in E.164.
    pub fn phone(&self, e164: &str) -> String {
        self.mac("phone", e164)
    }
}

fn stored_key(conn: &mut DbConn) -> QueryResult<String> {
    let fresh = crate::service::random_token(32);
    let row = (
        service_keys::name.eq(KEY_NAME),
        service_keys::value.eq(&fresh),
        service_keys::created_at.eq(db::now()),
    );
    // Several instances may start at once: the first insert wins, everyone reads it back.
    crate::with_backend!(conn, |c| diesel::insert_into(service_keys::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    service_keys::table
        .find(KEY_NAME)
        .select(service_keys::value)
        .first(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_variants_share_a_hash() {
        let h = PointHasher::with_secret("test secret");
        assert_eq!(h.email("jon.smith+news@gmail.com"), h.email("jonsmith@googlemail.com"));
        assert_ne!(h.email("a@example.org"), h.email("b@example.org"));
        assert_ne!(
            h.email("a@example.org"),
            PointHasher::with_secret("other").email("a@example.org")
        );
        assert_eq!(h.phone("+447700900123").len(), 64);
    }
}
