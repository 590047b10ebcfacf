//! A stable fingerprint of a cleaned row, for idempotent re-imports.
//!
//! Policy: the hash covers only normalised values (never the row number, the warnings or
//! the raw text), so two rows that normalise the same — differing only in spacing, the
//! case of an email address, phone formatting, postcode spacing or ALL-CAPS names — hash
//! the same, and re-importing an unchanged file changes nothing. It is 64-bit FNV-1a over a
//! fixed, versioned serialisation (field name, unit separator, value, record separator),
//! written as 16 lower-case hex digits. It detects changes; it is not a security hash.
//! Changing the serialisation changes every hash: bump `VERSION` when doing so.

use super::clean::CleanRow;

const VERSION: &str = "lighthouse-import-v1";

struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn field(&mut self, name: &str, value: &str) {
        self.bytes(name.as_bytes());
        self.bytes(b"\x1F");
        self.bytes(value.as_bytes());
        self.bytes(b"\x1E");
    }

    fn opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.field(name, v);
        }
    }
}

/// The content hash of a cleaned row (what [`CleanRow::content_hash`] holds).
pub fn content_hash(row: &CleanRow) -> String {
    let mut h = Fnv64::new();
    h.field("version", VERSION);
    h.opt("external_id", row.external_id.as_deref());
    h.opt("title", row.title.as_deref());
    h.opt("given_name", row.given_name.as_deref());
    h.opt("family_name", row.family_name.as_deref());
    h.opt("preferred_name", row.preferred_name.as_deref());
    h.opt("date_of_birth", row.date_of_birth.map(|d| d.to_string()).as_deref());
    for (_, key) in &row.emails {
        h.field("email", key);
    }
    for (number, label) in &row.phones {
        h.field("phone", number);
        h.field("phone_label", label);
    }
    if let Some(a) = &row.address {
        h.field("address", "");
        h.opt("line1", a.line1.as_deref());
        h.opt("line2", a.line2.as_deref());
        h.opt("line3", a.line3.as_deref());
        h.opt("town", a.town.as_deref());
        h.opt("county", a.county.as_deref());
        h.opt("postcode", a.postcode.as_deref());
        h.opt("country", a.country.as_deref());
    }
    h.opt("organisation", row.organisation.as_deref());
    for tag in &row.tags {
        h.field("tag", tag);
    }
    for (purpose, value) in &row.consents {
        h.field("consent", purpose);
        h.field("consent_value", value.as_str());
    }
    for (name, value) in &row.custom {
        h.field("custom", name);
        h.field("custom_value", value);
    }
    format!("{:016x}", h.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        let hash = |s: &str| {
            let mut h = Fnv64::new();
            h.bytes(s.as_bytes());
            format!("{:016x}", h.0)
        };
        // Published FNV-1a 64-bit test vectors.
        assert_eq!(hash(""), "cbf29ce484222325");
        assert_eq!(hash("a"), "af63dc4c8601ec8c");
        assert_eq!(hash("foobar"), "85944171f73967e8");
    }

    #[test]
    fn field_boundaries_matter() {
        let mut a = CleanRow::empty(2);
        a.given_name = Some("Ann".into());
        a.family_name = Some("Lee".into());
        let mut b = CleanRow::empty(3);
        b.given_name = Some("AnnLee".into());
        assert_ne!(content_hash(&a), content_hash(&b));
        let mut c = CleanRow::empty(99);
        c.given_name = Some("Ann".into());
        c.family_name = Some("Lee".into());
        assert_eq!(content_hash(&a), content_hash(&c), "row number is not hashed");
        assert_eq!(content_hash(&a).len(), 16);
    }
}
