//! The input record and its pre-computed comparison features.
//!
//! Policy: everything a comparison needs is computed once, in
//! [`Prepared::from_record`]: folded names, nickname groups and canonical
//! forms, phonetic codes, email match keys, E.164 phones, postcode parts,
//! address numbers and street words, organisation words. Inputs may be raw or
//! already normalised (every normaliser used here is idempotent). Values that
//! cannot be read (an invalid postcode, a phone that is not a number) and
//! known placeholders or shared role addresses (`noemail@…`, `info@…`,
//! `07000 000000`) are dropped: they count as *missing*, never as evidence.
//! Preparation never panics on any input.

use super::address::Address;
use super::names::{FamilyName, GivenName, Suffix};
use crate::normalize::email::match_key;
use crate::normalize::phone::normalize_phone;
use crate::normalize::postcode::{normalize_postcode, outward, sector};
use crate::normalize::text::fold;
use chrono::{Datelike, NaiveDate};

/// A person as one department recorded them: the input to matching.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchRecord {
    /// Given name(s), possibly with a title or a suffix (`"Dr John Jr"`).
    pub given: Option<String>,
    /// Family name, possibly with a suffix (`"Smith Snr"`).
    pub family: Option<String>,
    /// Date of birth.
    pub dob: Option<NaiveDate>,
    /// Email addresses, raw or as keys; matched with provider rules.
    pub emails: Vec<String>,
    /// Phone numbers, E.164 or any UK-readable form.
    pub phones: Vec<String>,
    /// UK postcode, normalised or raw.
    pub postcode: Option<String>,
    /// First address line (`"Flat 2, 10 High St"`).
    pub address_line: Option<String>,
    /// Organisation (employer, school, business).
    pub organisation: Option<String>,
}

/// A matchable email: the provider-rule key and where its local part ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmailKey {
    /// [`match_key`] of the address.
    pub(crate) key: String,
    /// Byte length of the local part (before `@`).
    pub(crate) local_len: usize,
}

impl EmailKey {
    /// The local part (before `@`).
    pub(crate) fn local(&self) -> &str {
        self.key.get(..self.local_len).unwrap_or("")
    }
}

/// Local parts that are placeholders or shared role mailboxes, not a person.
const ROLE_LOCALS: &[&str] = &[
    "accounts",
    "admin",
    "contact",
    "donotreply",
    "do-not-reply",
    "email",
    "enquiries",
    "enquiry",
    "general",
    "hello",
    "info",
    "mail",
    "n.a",
    "na",
    "no-reply",
    "no.email",
    "nobody",
    "noemail",
    "nomail",
    "none",
    "noreply",
    "null",
    "office",
    "post",
    "reception",
    "sales",
    "test",
    "unknown",
];

/// Domains that are placeholders.
const PLACEHOLDER_DOMAINS: &[&str] = &[
    "example.co.uk",
    "example.com",
    "example.org",
    "invalid",
    "noemail.com",
    "nomail.com",
    "none.com",
    "test.com",
];

fn email_key(raw: &str) -> Option<EmailKey> {
    let key = match_key(raw);
    let (local, domain) = key.rsplit_once('@')?;
    let usable = !local.is_empty()
        && domain.contains('.')
        && !ROLE_LOCALS.contains(&local)
        && !PLACEHOLDER_DOMAINS.contains(&domain);
    let local_len = local.len();
    usable.then_some(EmailKey { key, local_len })
}

fn phone_key(raw: &str) -> Option<String> {
    let e164 = normalize_phone(raw).ok()?;
    let mut seen = [false; 10];
    for d in e164.bytes().skip(1).filter(u8::is_ascii_digit) {
        seen[usize::from(d - b'0')] = true;
    }
    // `+447000000000` and similar fillers use almost no distinct digits.
    (seen.iter().filter(|s| **s).count() >= 4).then_some(e164)
}

/// A normalised postcode with its outward and sector prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Postcode {
    /// `"EC2V 7HH"`.
    pub(crate) full: String,
    /// Byte length of the outward code (`"EC2V"`).
    pub(crate) outward_len: usize,
    /// Byte length of the sector (`"EC2V 7"`).
    pub(crate) sector_len: usize,
}

impl Postcode {
    fn prepare(raw: &str) -> Option<Postcode> {
        let full = normalize_postcode(raw).ok()?;
        let outward_len = outward(&full).len();
        let sector_len = sector(&full).len();
        Some(Postcode {
            full,
            outward_len,
            sector_len,
        })
    }

    /// The outward code.
    pub(crate) fn outward(&self) -> &str {
        self.full.get(..self.outward_len).unwrap_or(&self.full)
    }

    /// The sector.
    pub(crate) fn sector(&self) -> &str {
        self.full.get(..self.sector_len).unwrap_or(&self.full)
    }
}

/// Words dropped from organisation names (legal forms and fillers).
const ORG_NOISE: &[&str] = &[
    "and", "cic", "co", "company", "inc", "limited", "llc", "llp", "ltd", "plc", "the",
];

/// A prepared organisation name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Organisation {
    /// Folded words without legal forms, in order, joined by spaces.
    pub(crate) key: String,
    /// The same words, sorted and de-duplicated.
    pub(crate) words: Vec<String>,
}

impl Organisation {
    fn prepare(raw: &str) -> Option<Organisation> {
        let folded = fold(raw);
        let kept: Vec<&str> = folded
            .split(' ')
            .filter(|w| !w.is_empty() && !ORG_NOISE.contains(w))
            .collect();
        if kept.is_empty() {
            return None;
        }
        let key = kept.join(" ");
        let mut words: Vec<String> = kept.iter().map(|w| w.to_string()).collect();
        words.sort_unstable();
        words.dedup();
        Some(Organisation { key, words })
    }
}

/// Comparison features of one record, computed once by [`Prepared::from_record`].
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub(crate) given: Option<GivenName>,
    pub(crate) family: Option<FamilyName>,
    pub(crate) suffix: Option<Suffix>,
    pub(crate) dob: Option<NaiveDate>,
    /// `YYYYMMDD` as ASCII digits (zeros when there is no date).
    pub(crate) dob_digits: [u8; 8],
    pub(crate) emails: Vec<EmailKey>,
    pub(crate) phones: Vec<String>,
    pub(crate) postcode: Option<Postcode>,
    pub(crate) address: Option<Address>,
    pub(crate) organisation: Option<Organisation>,
}

/// `YYYYMMDD` digits of a date (years outside 0–9999 wrap; they only need to
/// be consistent).
fn date_digits(d: NaiveDate) -> [u8; 8] {
    let year = d.year().rem_euclid(10_000).unsigned_abs();
    let n = year * 10_000 + d.month() * 100 + d.day();
    let mut out = [b'0'; 8];
    let mut rest = n;
    for slot in out.iter_mut().rev() {
        *slot = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
    }
    out
}

impl Prepared {
    /// Compute the comparison features of a record. Never panics.
    pub fn from_record(r: &MatchRecord) -> Prepared {
        let (given, given_suffix) = r.given.as_deref().map_or((None, None), GivenName::prepare);
        let (family, family_suffix) = r.family.as_deref().map_or((None, None), FamilyName::prepare);
        let mut emails: Vec<EmailKey> = r.emails.iter().filter_map(|e| email_key(e)).collect();
        emails.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        emails.dedup();
        let mut phones: Vec<String> = r.phones.iter().filter_map(|p| phone_key(p)).collect();
        phones.sort_unstable();
        phones.dedup();
        Prepared {
            given,
            family,
            suffix: given_suffix.or(family_suffix),
            dob: r.dob,
            dob_digits: r.dob.map_or([b'0'; 8], date_digits),
            emails,
            phones,
            postcode: r.postcode.as_deref().and_then(Postcode::prepare),
            address: r.address_line.as_deref().and_then(Address::prepare),
            organisation: r.organisation.as_deref().and_then(Organisation::prepare),
        }
    }

    /// Canonical form of the first given name (nickname-group head, else the
    /// folded name): the key of given-name term frequencies.
    pub fn given_canonical(&self) -> Option<&str> {
        self.given.as_ref().map(|g| g.canonical.as_str())
    }

    /// Folded family name without spaces: the key of family-name term frequencies.
    pub fn family_key(&self) -> Option<&str> {
        self.family.as_ref().map(|f| f.compact.as_str())
    }

    /// Normalised postcode (`"EC2V 7HH"`), if it was valid.
    pub fn postcode(&self) -> Option<&str> {
        self.postcode.as_ref().map(|p| p.full.as_str())
    }

    /// Email match keys used for matching (placeholders and role mailboxes removed).
    pub fn email_keys(&self) -> impl Iterator<Item = &str> {
        self.emails.iter().map(|e| e.key.as_str())
    }

    /// E.164 phone numbers used for matching.
    pub fn phones(&self) -> &[String] {
        &self.phones
    }

    /// Generational suffix found after the given or family name.
    pub fn suffix(&self) -> Option<Suffix> {
        self.suffix
    }

    /// Date of birth.
    pub fn dob(&self) -> Option<NaiveDate> {
        self.dob
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_the_issue_example() {
        let a = Prepared::from_record(&MatchRecord {
            given: Some("Jon".into()),
            family: Some("Smith".into()),
            phones: vec!["07700 900123".into()],
            postcode: Some("ec2v7hh".into()),
            emails: vec!["J.Smith+council@GoogleMail.com".into(), "info@example.org".into()],
            ..MatchRecord::default()
        });
        assert_eq!(a.given_canonical(), Some("john"));
        assert_eq!(a.family_key(), Some("smith"));
        assert_eq!(a.phones(), ["+447700900123"]);
        assert_eq!(a.postcode(), Some("EC2V 7HH"));
        assert_eq!(
            a.postcode.as_ref().map(|p| (p.outward(), p.sector())),
            Some(("EC2V", "EC2V 7"))
        );
        assert_eq!(a.email_keys().collect::<Vec<_>>(), ["jsmith@gmail.com"]);
        assert_eq!(a.emails.first().map(EmailKey::local), Some("jsmith"));
    }

    #[test]
    fn drops_unusable_values() {
        let p = Prepared::from_record(&MatchRecord {
            given: Some("  ".into()),
            emails: vec![
                "noemail@council.gov.uk".into(),
                "x@example.com".into(),
                "not an email".into(),
            ],
            phones: vec!["07000 000000".into(), "call me".into()],
            postcode: Some("EC2V 7H".into()),
            address_line: Some("10".into()),
            organisation: Some("The Ltd".into()),
            ..MatchRecord::default()
        });
        assert!(p.given.is_none() && p.emails.is_empty() && p.phones.is_empty());
        assert!(p.postcode.is_none() && p.address.is_none() && p.organisation.is_none());
    }

    #[test]
    fn dob_digits_and_orgs() {
        let d = NaiveDate::from_ymd_opt(1980, 3, 7);
        assert_eq!(d.map(date_digits), Some(*b"19800307"));
        let o = Organisation::prepare("The Acme Widget Company Ltd.");
        assert_eq!(o.map(|o| o.key), Some("acme widget".to_string()));
    }
}
