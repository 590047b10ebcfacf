//! A short-lived cache of authenticated sessions, so that a burst of requests with one token
//! does not look the session up in the database every time.
//!
//! Policy: an entry lives `auth.session_cache_secs` (default 2 s; 0 turns the cache off) and
//! never past the session's own end. Signing out, revoking tokens, changing a password and any
//! change to staff accounts empty this instance's cache at once; on *other* instances such a
//! change takes effect within the cache lifetime. Entries are keyed by the token's SHA-256, never
//! by the token itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::auth::Authenticated;

/// Most entries held; when full the cache is emptied (a cheap, bounded policy).
const MAX_ENTRIES: usize = 10_000;

/// The cache.
#[derive(Default)]
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Authenticated, Instant)>>,
}

impl SessionCache {
    /// A cache keeping entries for `ttl` (zero: off).
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh entry for this token hash, if any.
    pub fn get(&self, token_hash: &str, now: NaiveDateTime) -> Option<Authenticated> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (authed, at) = entries.get(token_hash)?;
        (at.elapsed() < self.ttl && now < authed.valid_until).then(|| authed.clone())
    }

    /// Remember a successful authentication.
    pub fn put(&self, token_hash: String, authed: &Authenticated) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(token_hash, (authed.clone(), Instant::now()));
        }
    }

    /// Forget everything (after sign-out, revocation or a change to staff accounts).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
