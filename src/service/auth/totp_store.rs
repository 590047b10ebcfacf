//! TOTP secrets at rest: encrypted with a key kept outside the database (`auth.totp_key`).
//!
//! Policy: with a key set, a secret (confirmed or pending) is stored as `enc1:` and the base64url
//! of a random 96-bit nonce and its ChaCha20-Poly1305 ciphertext, under the SHA-256 of the key,
//! with the account's public id as associated data — a secret copied into another account's row
//! does not open. Without a key the secret is stored as its base32 text, and start-up warns. At
//! start-up every stored secret is checked: plain ones are encrypted when a key is set, and an
//! encrypted one that the key does not open (a key lost or changed) stops start-up, as does an
//! encrypted secret with no key, rather than leaving those users unable to sign in unexplained.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::schema::users;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

const PREFIX: &str = "enc1:";

/// The secret's key, from `auth.totp_key` (empty: secrets are stored as they are).
#[derive(Clone)]
pub struct TotpKey(Option<[u8; 32]>);

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "TotpKey(set)"
        } else {
            "TotpKey(none)"
        })
    }
}

impl TotpKey {
    /// From the configured text (at least 32 characters, checked by the configuration).
    pub fn from_setting(text: &str) -> TotpKey {
        if text.is_empty() {
            return TotpKey(None);
        }
        TotpKey(Some(Sha256::digest(text.as_bytes()).into()))
    }

    fn cipher(&self) -> Option<ChaCha20Poly1305> {
        self.0.map(|k| ChaCha20Poly1305::new(Key::from_slice(&k)))
    }

    /// What to store for `base32` (a secret as shown to the user) of the account `public_id`.
    pub fn seal(&self, public_id: &str, base32: &str) -> AppResult<String> {
        let Some(cipher) = self.cipher() else {
            return Ok(base32.to_string());
        };
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: base32.as_bytes(),
                    aad: aad(public_id).as_bytes(),
                },
            )
            .map_err(|_| AppError::Internal("cannot encrypt a TOTP secret".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", crate::base64url::encode(&bytes)))
    }

    /// The base32 secret from what is stored, `None` when it cannot be opened (another key, no
    /// key, another account's row, damaged).
    pub fn open(&self, public_id: &str, stored: &str) -> Option<String> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Some(stored.to_string());
        };
        let bytes = crate::base64url::decode(body)?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher()?
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad(public_id).as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }

    /// The secret's bytes from what is stored (an internal error when it cannot be opened: the
    /// start-up check makes that a damaged row).
    pub fn open_key(&self, public_id: &str, stored: &str) -> AppResult<Vec<u8>> {
        self.open(public_id, stored)
            .and_then(|b| super::totp::base32_decode(&b))
            .ok_or_else(|| AppError::Internal("stored TOTP secret unreadable".into()))
    }
}

fn aad(public_id: &str) -> String {
    format!("lighthouse totp v1:{public_id}")
}

/// At start-up: encrypt every secret stored as plain text when a key is set, and fail when a
/// stored secret cannot be opened. Returns how many were encrypted.
pub fn check_and_seal_stored(conn: &mut DbConn, key: &TotpKey) -> Result<usize, String> {
    type Row = (i64, String, Option<String>, Option<String>);
    let rows: Vec<Row> = users::table
        .filter(users::totp_secret.is_not_null().or(users::totp_pending.is_not_null()))
        .select((users::id, users::public_id, users::totp_secret, users::totp_pending))
        .load(conn)
        .map_err(|e| format!("cannot read the TOTP secrets: {e}"))?;
    if key.0.is_none() && !rows.is_empty() {
        tracing::warn!("TOTP secrets are stored unencrypted: set auth.totp_key (see the README) to encrypt them");
    }
    let mut sealed = 0;
    for (id, public_id, secret, pending) in rows {
        // What to store for a value: itself, or sealed when it is plain text and a key is set.
        let to_store = |stored: Option<String>| -> Result<Option<String>, String> {
            let Some(stored) = stored else { return Ok(None) };
            let encrypted = stored.starts_with(PREFIX);
            if encrypted && key.0.is_none() {
                return Err(
                    "TOTP secrets in the database are encrypted but auth.totp_key is empty: set the key they were encrypted with"
                        .into(),
                );
            }
            let plain = key.open(&public_id, &stored).ok_or_else(|| {
                format!("a TOTP secret (account {public_id}) does not open with auth.totp_key: set the key it was encrypted with")
            })?;
            if encrypted || key.0.is_none() {
                Ok(Some(stored))
            } else {
                key.seal(&public_id, &plain).map(Some).map_err(|e| e.to_string())
            }
        };
        let (new_secret, new_pending) = (to_store(secret.clone())?, to_store(pending.clone())?);
        if (&new_secret, &new_pending) != (&secret, &pending) {
            diesel::update(users::table.find(id))
                .set((users::totp_secret.eq(new_secret), users::totp_pending.eq(new_pending)))
                .execute(conn)
                .map_err(|e| format!("cannot encrypt the stored TOTP secrets: {e}"))?;
            sealed += 1;
        }
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_account_only() {
        let key = TotpKey::from_setting("a key of at least thirty-two characters!");
        let stored = key.seal("abc", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(stored.starts_with(PREFIX) && !stored.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            stored,
            key.seal("abc", "JBSWY3DPEHPK3PXP").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(key.open("abc", &stored).as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert_eq!(key.open("another", &stored), None, "bound to its account");
        let other = TotpKey::from_setting("another key of at least thirty-two characters");
        assert_eq!(other.open("abc", &stored), None);
        assert_eq!(TotpKey::from_setting("").open("abc", &stored), None);
        assert_eq!(key.open("abc", "enc1:!!"), None);
        assert_eq!(key.open("abc", "enc1:AAAA"), None);
        // Plain text (stored before a key was set) reads as it is.
        assert_eq!(key.open("abc", "JBSWY3DPEHPK3PXP").as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert_eq!(TotpKey::from_setting("").seal("abc", "JBSW").unwrap(), "JBSW");
    }
}
