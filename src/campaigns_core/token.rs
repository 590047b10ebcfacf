//! Unsubscribe tokens: compact, URL-safe, signed claims that let a person leave a list from a link
//! in an email without signing in.
//!
//! Format (version 1): `base64url_nopad(version || payload || tag)`, where
//! - `version` is the byte `0x01` (a later format takes another byte);
//! - `payload` is `person`, `purpose` and `campaign`, each as a LEB128 byte length then its UTF-8
//!   bytes, then `issued` as a zigzag LEB128 integer;
//! - `tag` is the first 16 bytes of HMAC-SHA256 under the caller's key, over a fixed context
//!   string, the version byte and the payload. Every claim is therefore bound by the tag, and a
//!   token cannot be forged or guessed without the key.
//!
//! A token uses only `[A-Za-z0-9_-]`, so it fits in a path segment or query value unescaped.
//! [`verify`] rejects input longer than [`MAX_TOKEN_LEN`] before decoding, checks the tag in
//! constant time before it reads any claim, and accepts only the canonical encoding, so changing
//! any character of a valid token makes it fail. Expiry is the caller's policy: `issued` is
//! returned, not judged.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::base64url::{decode as base64url_decode, encode as base64url_encode};

/// The longest token [`verify`] reads, in characters. Tokens signed over claims longer than
/// about 360 bytes in all exceed it and do not verify; claims are meant to be short identifiers.
pub const MAX_TOKEN_LEN: usize = 512;

/// The format version this module writes and reads.
const VERSION: u8 = 1;
/// Bytes of HMAC-SHA256 kept in a token.
const TAG_LEN: usize = 16;
/// Domain separation: a key shared with another use cannot produce a valid tag here.
const CONTEXT: &[u8] = b"lighthouse/unsubscribe\0";

type HmacSha256 = Hmac<Sha256>;

/// What an unsubscribe token says: who, from what, which campaign sent the link, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnsubscribeClaims {
    /// The person's public id (never an internal row id or an email address).
    pub person: String,
    /// The consent purpose the person leaves (for example `newsletter`).
    pub purpose: String,
    /// The campaign whose email carried the link.
    pub campaign: String,
    /// When the token was issued, in Unix seconds.
    pub issued: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Too long, not canonical base64url, an unknown version, or claims that do not decode.
    #[error("malformed unsubscribe token")]
    Malformed,
    /// Well formed, but the tag does not match: forged, altered, or signed with another key.
    #[error("unsubscribe token signature does not match")]
    BadSignature,
}

/// Signs `claims` under `key` and returns the URL-safe token.
pub fn sign(key: &[u8], claims: &UnsubscribeClaims) -> String {
    let mut bytes = Vec::with_capacity(
        1 + claims.person.len() + claims.purpose.len() + claims.campaign.len() + 3 * 2 + 10 + TAG_LEN,
    );
    bytes.push(VERSION);
    for field in [&claims.person, &claims.purpose, &claims.campaign] {
        put_varint(&mut bytes, field.len() as u64);
        bytes.extend_from_slice(field.as_bytes());
    }
    put_varint(&mut bytes, zigzag(claims.issued));
    let tag = keyed(key, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..TAG_LEN]);
    base64url_encode(&bytes)
}

/// Checks `token` against `key` and returns its claims.
///
/// The tag is checked (in constant time) before any claim is decoded.
pub fn verify(key: &[u8], token: &str) -> Result<UnsubscribeClaims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let bytes = base64url_decode(token).ok_or(TokenError::Malformed)?;
    if bytes.len() < 1 + TAG_LEN || bytes[0] != VERSION {
        return Err(TokenError::Malformed);
    }
    let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    keyed(key, signed)
        .verify_truncated_left(tag)
        .map_err(|_| TokenError::BadSignature)?;
    decode_claims(&signed[1..]).ok_or(TokenError::Malformed)
}

/// HMAC-SHA256 under `key` over the context string and `data`.
///
/// The key block is built as RFC 2104 says (keys longer than the block are hashed first, shorter
/// ones are padded with zeros), so the infallible fixed-size constructor serves any key length
/// and gives the same MAC as `new_from_slice`.
fn keyed(key: &[u8], data: &[u8]) -> HmacSha256 {
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    if key.len() > block.len() {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <HmacSha256 as KeyInit>::new(&block);
    mac.update(CONTEXT);
    mac.update(data);
    mac
}

/// Reads the payload written by [`sign`]; `None` unless it is exactly one canonical payload.
fn decode_claims(mut rest: &[u8]) -> Option<UnsubscribeClaims> {
    let mut text = || -> Option<String> {
        let len = usize::try_from(take_varint(&mut rest)?).ok()?;
        if len > rest.len() {
            return None;
        }
        let (field, tail) = rest.split_at(len);
        rest = tail;
        String::from_utf8(field.to_vec()).ok()
    };
    let person = text()?;
    let purpose = text()?;
    let campaign = text()?;
    let issued = unzigzag(take_varint(&mut rest)?);
    rest.is_empty().then_some(UnsubscribeClaims {
        person,
        purpose,
        campaign,
        issued,
    })
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads one LEB128 integer; refuses overlong encodings and values beyond 64 bits.
fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return None; // overlong: a trailing zero group
            }
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &[u8] = b"test key: 32 bytes of randomness";

    fn claims() -> UnsubscribeClaims {
        UnsubscribeClaims {
            person: "P-7KQ2M9".into(),
            purpose: "newsletter".into(),
            campaign: "C-2025-04-spring".into(),
            issued: 1_745_000_000,
        }
    }

    #[test]
    fn round_trip() {
        let token = sign(KEY, &claims());
        assert_eq!(verify(KEY, &token), Ok(claims()));
    }

    #[test]
    fn token_is_url_safe_and_compact() {
        let token = sign(KEY, &claims());
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        // 1 + (1+8) + (1+10) + (1+16) + 5 + 16 = 59 bytes → 79 characters.
        assert_eq!(token.len(), 79);
        assert!(token.starts_with('A'), "version byte 1 encodes to a leading 'A'");
    }

    #[test]
    fn same_claims_same_token_and_every_claim_is_bound() {
        let base = claims();
        let token = sign(KEY, &base);
        assert_eq!(token, sign(KEY, &base));
        let variants = [
            UnsubscribeClaims {
                person: "P-7KQ2M8".into(),
                ..base.clone()
            },
            UnsubscribeClaims {
                purpose: "events".into(),
                ..base.clone()
            },
            UnsubscribeClaims {
                campaign: "C-2025-04-sprinG".into(),
                ..base.clone()
            },
            UnsubscribeClaims {
                issued: base.issued + 1,
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(sign(KEY, &v), token);
        }
    }

    #[test]
    fn any_single_character_change_fails() {
        let token = sign(KEY, &claims());
        for i in 0..token.len() {
            for &c in crate::base64url::ALPHABET {
                if token.as_bytes()[i] == c {
                    continue;
                }
                let mut bytes = token.clone().into_bytes();
                bytes[i] = c;
                let altered = String::from_utf8(bytes).unwrap();
                assert!(verify(KEY, &altered).is_err(), "position {i} → {}", c as char);
            }
        }
    }

    #[test]
    fn wrong_key_fails() {
        let token = sign(KEY, &claims());
        assert_eq!(verify(b"another key", &token), Err(TokenError::BadSignature));
        assert_eq!(verify(b"", &token), Err(TokenError::BadSignature));
    }

    #[test]
    fn truncation_and_extension_fail() {
        let token = sign(KEY, &claims());
        for n in 0..token.len() {
            assert!(verify(KEY, &token[..n]).is_err(), "prefix of {n}");
        }
        assert!(verify(KEY, &format!("{token}A")).is_err());
        assert!(verify(KEY, &format!("A{token}")).is_err());
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(verify(KEY, ""), Err(TokenError::Malformed));
        assert_eq!(verify(KEY, "not a token!"), Err(TokenError::Malformed));
        assert_eq!(verify(KEY, &"A".repeat(MAX_TOKEN_LEN + 1)), Err(TokenError::Malformed));
        let token = sign(KEY, &claims());
        assert_eq!(verify(KEY, &format!("{token}=")), Err(TokenError::Malformed));
        assert_eq!(
            verify(KEY, "AB+/"),
            Err(TokenError::Malformed),
            "standard base64 alphabet is refused"
        );
        // An unknown version byte is refused before the tag is looked at.
        let mut raw = base64url_decode(&token).unwrap();
        raw[0] = 2;
        assert_eq!(verify(KEY, &base64url_encode(&raw)), Err(TokenError::Malformed));
    }

    #[test]
    fn signed_garbage_payload_is_malformed() {
        // A correctly tagged token whose payload does not decode (trailing byte).
        let mut bytes = vec![VERSION, 0, 0, 0, 0, 7];
        let tag = keyed(KEY, &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        assert_eq!(verify(KEY, &base64url_encode(&bytes)), Err(TokenError::Malformed));
    }

    #[test]
    fn over_long_claims_do_not_verify() {
        let big = UnsubscribeClaims {
            person: "x".repeat(400),
            ..claims()
        };
        assert_eq!(verify(KEY, &sign(KEY, &big)), Err(TokenError::Malformed));
    }

    #[test]
    fn extreme_issued_values() {
        for issued in [0, -1, 1, i64::MIN, i64::MAX] {
            let c = UnsubscribeClaims { issued, ..claims() };
            assert_eq!(verify(KEY, &sign(KEY, &c)), Ok(c));
        }
    }

    #[test]
    fn keyed_matches_standard_hmac_for_any_key_length() {
        for len in [0usize, 1, 31, 32, 63, 64, 65, 200] {
            let key: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
            let mut standard = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
            standard.update(CONTEXT);
            standard.update(b"data");
            assert_eq!(
                keyed(&key, b"data").finalize().into_bytes(),
                standard.finalize().into_bytes(),
                "{len}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn prop_round_trip(person in "\\PC{0,24}", purpose in "[a-z._:|;=\\- ]{0,24}", campaign in "\\PC{0,24}",
                           issued in any::<i64>()) {
            let c = UnsubscribeClaims { person, purpose, campaign, issued };
            let token = sign(KEY, &c);
            prop_assert!(token.len() <= MAX_TOKEN_LEN);
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(verify(KEY, &token), Ok(c));
        }

        #[test]
        fn prop_never_panics(token in "\\PC{0,600}") {
            let _ = verify(KEY, &token);
        }

        #[test]
        fn prop_never_panics_on_alphabet(token in "[A-Za-z0-9_-]{0,200}") {
            // Valid-looking base64url almost never carries a valid tag.
            prop_assert!(verify(KEY, &token).is_err());
        }

        #[test]
        fn prop_varint_and_zigzag_round_trip(n in any::<i64>()) {
            let mut out = Vec::new();
            put_varint(&mut out, zigzag(n));
            let mut slice = &out[..];
            prop_assert_eq!(take_varint(&mut slice).map(unzigzag), Some(n));
            prop_assert!(slice.is_empty());
        }
    }
}
