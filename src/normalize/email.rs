//! Email addresses.
//!
//! Policy: strict but realistic. ASCII only; the local part is an RFC 5322
//! dot-atom (`atext` characters and single interior dots, at most 64
//! characters); the domain is a DNS host name with at least two labels and an
//! alphabetic (or punycode `xn--`) top-level domain; at most 254 characters in
//! all. Not accepted: quoted local parts, comments, IP-literal domains,
//! display names, `<...>` wrappers, `mailto:` prefixes, Unicode addresses
//! (enter IDN domains in punycode). The domain is case-insensitive and shown
//! lower-cased; the local part is shown as typed and compared lower-cased.

use super::NormalizeError;

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// A validated email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The address as shown to people: trimmed, domain lower-cased, local part as given.
    pub display: String,
    /// The whole address lower-cased: what uniqueness checks and search use.
    pub key: String,
}

fn invalid(message: &str) -> NormalizeError {
    NormalizeError::new("invalid_email", message)
}

/// Validate an email address.
///
/// `display`: trimmed, domain lower-cased, local part as given. `key`: whole
/// address lower-cased (what uniqueness and search use). Errors use the codes
/// `empty`, `too_long` (over 254 characters) and `invalid_email`.
pub fn parse_email(input: &str) -> Result<Email, NormalizeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(NormalizeError::new("empty", "Enter an email address."));
    }
    if s.chars().count() > MAX_LEN {
        return Err(NormalizeError::new(
            "too_long",
            "Email addresses can be at most 254 characters long.",
        ));
    }
    if s.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("mailto:")) {
        return Err(invalid("Remove the \"mailto:\" prefix and enter just the address."));
    }
    if s.starts_with('<') || s.ends_with('>') || s.contains('<') {
        return Err(invalid("Enter just the address, without a name or < > brackets."));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid("The email address contains control characters."));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(invalid("Email addresses cannot contain spaces."));
    }
    if !s.is_ascii() {
        return Err(invalid(
            "Email addresses can only contain plain (ASCII) characters; enter international domains in xn-- form.",
        ));
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(invalid("An email address must contain an @."));
    };
    if domain.contains('@') {
        return Err(invalid("An email address must contain exactly one @."));
    }
    check_local(local)?;
    check_domain(domain)?;
    let display = format!("{local}@{}", domain.to_ascii_lowercase());
    let key = display.to_ascii_lowercase();
    Ok(Email { display, key })
}

/// RFC 5322 `atext`: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn check_local(local: &str) -> Result<(), NormalizeError> {
    if local.is_empty() {
        return Err(invalid("The part before the @ is missing."));
    }
    if local.len() > MAX_LOCAL {
        return Err(invalid("The part before the @ can be at most 64 characters."));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(invalid(
            "The part before the @ cannot start or end with a dot, or have two dots in a row.",
        ));
    }
    if !local.chars().all(|c| c == '.' || is_atext(c)) {
        return Err(invalid(
            "The part before the @ contains a character that is not allowed.",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), NormalizeError> {
    if domain.is_empty() {
        return Err(invalid("The domain after the @ is missing."));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid("The domain after the @ must contain a dot, e.g. example.com."));
    }
    for label in &labels {
        let ok = (1..=MAX_LABEL).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(invalid("The domain after the @ is not a valid domain name."));
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    let alphabetic = tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
    let punycode = tld.len() > 4 && tld.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--"));
    if !alphabetic && !punycode {
        return Err(invalid(
            "The domain must end in a real top-level domain such as .com or .uk.",
        ));
    }
    Ok(())
}

/// How a mail provider treats variants of the same mailbox.
enum Provider {
    /// Gmail: dots ignored, `+tag` ignored, googlemail.com is gmail.com.
    Gmail,
    /// Sub-addressing with `+tag` only.
    PlusTag,
    /// Yahoo disposable addresses: `base-keyword`.
    DashTag,
    /// Anything else: compared as-is.
    Other,
}

/// The brand of `brand.tld`, `brand.co.cc` or `brand.com.cc` domains.
fn brand(domain: &str) -> Option<&str> {
    let labels: Vec<&str> = domain.split('.').collect();
    match labels.as_slice() {
        [b, _] => Some(b),
        [b, "co" | "com", cc] if cc.len() == 2 => Some(b),
        _ => None,
    }
}

fn provider(domain: &str) -> Provider {
    match domain {
        "gmail.com" | "googlemail.com" => return Provider::Gmail,
        "msn.com" | "icloud.com" | "me.com" | "mac.com" => return Provider::PlusTag,
        "ymail.com" | "rocketmail.com" => return Provider::DashTag,
        _ => {}
    }
    match brand(domain) {
        Some("outlook" | "hotmail" | "live") => Provider::PlusTag,
        Some("yahoo") => Provider::DashTag,
        _ => Provider::Other,
    }
}

/// Identity-matching key: the lower-cased address with the provider's own
/// equivalences applied, so that variants of one mailbox match.
///
/// Conservative, explicit rules (every other domain is left unchanged):
/// - `gmail.com`, `googlemail.com`: drop dots and any `+tag` in the local part;
///   `googlemail.com` becomes `gmail.com`.
/// - `outlook.*`, `hotmail.*`, `live.*` (as `brand.tld`, `brand.co.cc` or
///   `brand.com.cc`), `msn.com`, `icloud.com`, `me.com`, `mac.com`: drop a
///   `+tag` only (dots are significant there).
/// - `yahoo.*` (same shapes), `ymail.com`, `rocketmail.com`: drop a `-keyword`
///   (Yahoo's disposable-address form) only.
///
/// A rule that would leave the local part empty is not applied. Input that is
/// not an address is returned trimmed and lower-cased.
pub fn match_key(key: &str) -> String {
    let key = key.trim().to_lowercase();
    let Some((local, domain)) = key.rsplit_once('@') else {
        return key;
    };
    let before = |c: char| local.split(c).next().unwrap_or_default();
    let (new_local, new_domain) = match provider(domain) {
        Provider::Gmail => (before('+').replace('.', ""), "gmail.com"),
        Provider::PlusTag => (before('+').to_string(), domain),
        Provider::DashTag => (before('-').to_string(), domain),
        Provider::Other => return key,
    };
    if new_local.is_empty() {
        return key;
    }
    format!("{new_local}@{new_domain}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(input: &str) -> &'static str {
        parse_email(input).map_or_else(|e| e.code, |_| "ok")
    }

    #[test]
    fn accepts_and_normalises() {
        let e = parse_email("  Jane.Doe+News@Example.CO.UK ").unwrap();
        assert_eq!(e.display, "Jane.Doe+News@example.co.uk");
        assert_eq!(e.key, "jane.doe+news@example.co.uk");
        for ok in [
            "a@b.co",
            "o'brien@example.com",
            "first_last-x@sub.example.org",
            "!#$%&'*+-/=?^_`{|}~@example.com",
            "user@xn--bcher-kva.example",
            "user@example.xn--p1ai",
            "u@123.example.com",
        ] {
            assert_eq!(code(ok), "ok", "{ok}");
        }
        let max_local = format!("{}@example.com", "a".repeat(64));
        assert_eq!(code(&max_local), "ok");
    }

    #[test]
    fn rejects() {
        let bad = concat!(
            "plainaddress|a@@b.com|a@b@c.com|@example.com|a@|a@localhost|",
            ".a@example.com|a.@example.com|a..b@example.com|a b@example.com|",
            "a@exa mple.com|a@-example.com|a@example-.com|a@example..com|",
            "a@example.com.|a@example.c|a@example.123|a@[127.0.0.1]|",
            "\"quoted\"@example.com|mailto:a@example.com|MAILTO:a@example.com|",
            "<a@example.com>|Jane <a@example.com>|zoë@example.com|a@bücher.de|",
            "a\u{0}b@example.com|a(comment)@example.com|a@exam_ple.com",
        );
        for bad in bad.split('|') {
            assert_eq!(code(bad), "invalid_email", "{bad}");
        }
        assert_eq!(code("   "), "empty");
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert_eq!(code(&long), "too_long");
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(code(&long_local), "invalid_email");
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert_eq!(code(&long_label), "invalid_email");
    }

    #[test]
    fn match_keys() {
        let cases = [
            ("j.o.h.n+spam@gmail.com", "john@gmail.com"),
            ("John.Smith@GoogleMail.com", "johnsmith@gmail.com"),
            ("john.smith+x@outlook.com", "john.smith@outlook.com"),
            ("a.b+x@hotmail.co.uk", "a.b@hotmail.co.uk"),
            ("a+x@live.fr", "a@live.fr"),
            ("a+x@icloud.com", "a@icloud.com"),
            ("a+x@me.com", "a@me.com"),
            ("base-keyword@yahoo.co.uk", "base@yahoo.co.uk"),
            ("a+x@yahoo.com", "a+x@yahoo.com"),
            ("a.b+x@example.com", "a.b+x@example.com"),
            ("a.b+x@hotmail.example.com", "a.b+x@hotmail.example.com"),
            ("+x@gmail.com", "+x@gmail.com"),
            ("not an email", "not an email"),
        ];
        for (input, want) in cases {
            assert_eq!(match_key(input), want, "{input}");
            assert_eq!(match_key(want), match_key(input), "{input}");
        }
    }

    fn email_strategy() -> impl Strategy<Value = String> {
        let local = prop::collection::vec("[A-Za-z0-9_+'-]{1,8}", 1..4).prop_map(|v| v.join("."));
        let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,6}[A-Za-z0-9])?";
        let domain = (prop::collection::vec(label, 1..3), "[A-Za-z]{2,6}")
            .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")));
        (local, domain).prop_map(|(l, d)| format!("{l}@{d}"))
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), t in "\\PC*") {
            let _ = parse_email(&s);
            let _ = parse_email(&t);
            let _ = match_key(&s);
            let _ = match_key(&t);
        }

        #[test]
        fn idempotent_on_arbitrary(s in "\\PC*") {
            if let Ok(e) = parse_email(&s) {
                prop_assert_eq!(parse_email(&e.display), Ok(e.clone()));
            }
            let k = match_key(&s);
            prop_assert_eq!(match_key(&k), k);
        }

        #[test]
        fn case_variants_share_key(addr in email_strategy(), flips in prop::collection::vec(any::<bool>(), 64)) {
            let e = parse_email(&addr)
                .map_err(|err| TestCaseError::fail(format!("{addr} rejected: {err}")))?;
            prop_assert_eq!(&e.key, &addr.to_ascii_lowercase());
            let variant: String = addr.chars().zip(flips.iter().cycle()).map(|(c, &f)| {
                if f { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
            }).collect();
            let v = parse_email(&variant);
            prop_assert_eq!(v.as_ref().map(|v| v.key.clone()), Ok(e.key.clone()));
            prop_assert_eq!(parse_email(&e.display), Ok(e.clone()));
            prop_assert_eq!(match_key(&e.key), match_key(&match_key(&e.key)));
        }
    }
}
