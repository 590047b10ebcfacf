//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, six digits, steps
//! of 30 seconds — what every authenticator app reads from an `otpauth://` address.
//!
//! Policy: a code is accepted for the current step and one step either side (clock drift of up
//! to 30 seconds); the step it was accepted for is remembered per user, and a code for that step
//! or an earlier one is refused, so a code seen over a shoulder or in a log cannot be used again
//! (ASVS 6.5.1). Secrets are 160 random bits, shown once in base32 (RFC 4648, no padding).

use hmac::{Hmac, Mac};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (RFC 4226 recommends 160 bits).
pub const SECRET_BYTES: usize = 20;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 (RFC 4648) without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Base32 (RFC 4648) to bytes: case, spaces, hyphens and padding ignored (people copy keys in
/// groups); `None` for any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars() {
        if matches!(c, ' ' | '-' | '=') {
            continue;
        }
        let value = ALPHABET.iter().position(|a| char::from(*a) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

/// The HOTP value of `key` at `counter` (RFC 4226 §5.3), `DIGITS` digits.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes a key of any length; this cannot happen.
        Err(_) => return u32::MAX,
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = [
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    (u32::from_be_bytes(word) & 0x7fff_ffff) % 10u32.pow(DIGITS)
}

/// The step a Unix time falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code for `key` at a step, as an app shows it (leading zeros kept).
pub fn code_at(key: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(key, step.max(0) as u64), width = DIGITS as usize)
}

/// The step `code` is valid for, within one step of `now_step`, if any. The code is compared in
/// constant time; spaces people type between groups of digits are ignored.
pub fn verify(key: &[u8], code: &str, now_step: i64) -> Option<i64> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = None;
    for step in [now_step - 1, now_step, now_step + 1] {
        let expected = code_at(key, step);
        let same = expected
            .bytes()
            .zip(digits.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// The `otpauth://` address an authenticator app reads (usually from a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent(issuer),
        percent(account),
        percent(issuer)
    )
}

/// RFC 3986 percent-encoding of everything but unreserved characters (a space is `%20`, which
/// authenticator apps read in the label, where `+` would stay a plus).
fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the eight-digit values, of which an app shows the last six).
    #[test]
    fn rfc_6238_test_vectors() {
        let key = b"12345678901234567890";
        for (time, eight) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(key, step_of(time)), eight[2..], "at {time}");
        }
    }

    /// RFC 4226 appendix D.
    #[test]
    fn rfc_4226_hotp_values() {
        let key = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(key, counter as u64), *want);
        }
    }

    #[test]
    fn rfc_4648_base32_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base32_decode("mzxw 6ytb-oi=="), Some(b"foobar".to_vec()));
        assert_eq!(base32_decode("MZXW1"), None);
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_only() {
        let key = b"12345678901234567890";
        let code = code_at(key, 1000);
        assert_eq!(verify(key, &code, 1000), Some(1000));
        assert_eq!(verify(key, &code, 999), Some(1000));
        assert_eq!(verify(key, &code, 1001), Some(1000));
        assert_eq!(verify(key, &code, 1002), None);
        assert_eq!(verify(key, &code, 998), None);
        assert_eq!(verify(key, &format!("{} {}", &code[..3], &code[3..]), 1000), Some(1000));
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert_eq!(verify(key, bad, 1000), None, "{bad:?}");
        }
    }

    #[test]
    fn the_address_names_the_issuer_and_account() {
        let uri = otpauth_uri("Data Lighthouse", "dpo@city.example", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Data%20Lighthouse:dpo%40city.example?secret=JBSWY3DPEHPK3PXP&issuer=Data%20Lighthouse&algorithm=SHA1&digits=6&period=30"
        );
    }

    proptest::proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let text = base32_encode(&bytes);
            proptest::prop_assert_eq!(base32_decode(&text), Some(bytes));
            proptest::prop_assert!(text.bytes().all(|b| ALPHABET.contains(&b)));
        }

        #[test]
        fn codes_are_six_digits_and_verify_at_their_step(key in proptest::collection::vec(proptest::num::u8::ANY, 1..64), step in 0i64..100_000_000) {
            let code = code_at(&key, step);
            proptest::prop_assert_eq!(code.len(), 6);
            proptest::prop_assert!(verify(&key, &code, step).is_some());
        }
    }
}
