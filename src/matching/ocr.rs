//! Letters that optical character recognition misreads in names.
//!
//! Policy: a digit inside a name is always a misreading, so `0 1 5 8` are read
//! back as `o l s b` (`1` as `i` when only that gives a known given name); a
//! given name that is not in the name table but becomes one by reading one
//! `rn` as `m`, `m` as `rn`, `cl` as `d` or `d` as `cl` (Ernma → Emma, Sarn →
//! Sam) is read as that name. Names that are known, or have nothing a scanner
//! confuses, are left alone (the common case costs one scan of the bytes).

use super::nicknames;

/// A token read with OCR digits as the letters they stand for (`1` as `one`); the token
/// itself when it has no letter (a number is not a misread name).
pub(crate) fn undigit(token: &str, one: char) -> String {
    if !token.bytes().any(|b| b.is_ascii_digit()) || !token.bytes().any(|b| b.is_ascii_alphabetic()) {
        return token.to_string();
    }
    token
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => one,
            '5' => 's',
            '8' => 'b',
            other => other,
        })
        .collect()
}

/// True when the folded name is in the name table.
fn known(name: &str) -> bool {
    nicknames::groups(name).1 > 0
}

/// A given-name token with OCR misreadings undone where that is unambiguous.
pub(crate) fn repair_given(token: &str) -> String {
    // Most names have nothing to repair: no digit, and no letter OCR confuses.
    let suspect = token.bytes().any(|b| b.is_ascii_digit() || b == b'm' || b == b'd')
        || token.contains("rn")
        || token.contains("cl");
    if !suspect {
        return token.to_string();
    }
    let as_l = undigit(token, 'l');
    if token.contains('1') {
        let as_i = undigit(token, 'i');
        if known(&as_i) && !known(&as_l) {
            return as_i;
        }
    }
    if known(&as_l) || as_l.len() < 3 {
        return as_l;
    }
    const SWAPS: [(&str, &str); 4] = [("rn", "m"), ("m", "rn"), ("cl", "d"), ("d", "cl")];
    for (from, to) in SWAPS {
        for (at, _) in as_l.match_indices(from) {
            let candidate = format!("{}{to}{}", &as_l[..at], &as_l[at + from.len()..]);
            if known(&candidate) {
                return candidate;
            }
        }
    }
    as_l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misreadings_are_undone() {
        for (scanned, read) in [
            ("jas0n", "jason"),
            ("w1lliam", "william"),
            ("1sabella", "isabella"),
            ("ernma", "emma"),
            ("sarn", "sam"),
            ("wi11iarn", "william"),
            ("clarence", "clarence"),
            ("zebedee", "zebedee"),
            ("2nd", "2nd"),
        ] {
            assert_eq!(repair_given(scanned), read, "{scanned}");
        }
        assert_eq!(undigit("8arber", 'l'), "barber");
        assert_eq!(undigit("wa1sh", 'l'), "walsh");
        assert_eq!(undigit("1234", 'l'), "1234");
    }

    proptest::proptest! {
        /// Repair never touches a known name or a name without digits and confusable letters,
        /// and never leaves a digit next to a letter.
        #[test]
        fn repair_is_conservative(s in "[a-z0158]{1,12}") {
            let r = repair_given(&s);
            if nicknames::groups(&s).1 > 0 || !s.bytes().any(|b| b.is_ascii_digit() || b"md".contains(&b)) && !s.contains("rn") && !s.contains("cl") {
                proptest::prop_assert_eq!(&r, &s);
            }
            if s.bytes().any(|b| b.is_ascii_alphabetic()) {
                proptest::prop_assert!(!r.bytes().any(|b| b.is_ascii_digit()), "{} -> {}", s, r);
            }
        }
    }
}
