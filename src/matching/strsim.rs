//! Allocation-free string similarity for the comparison hot path.
//!
//! Policy: every function takes byte slices of already-folded text, never
//! allocates, never panics and is symmetric in its two arguments (the inputs
//! are put into a canonical order first, so `f(a, b) == f(b, a)` bit for bit).
//! Inputs longer than [`MAX_LEN`] bytes are compared on their first
//! [`MAX_LEN`] bytes only; names and address lines are far shorter.
//! The phonetic code [`nysiis`] allocates and is meant for
//! [`Prepared`](super::record::Prepared), computed once per record.

/// Longest prefix (in bytes) that [`jaro_winkler`] looks at.
pub const MAX_LEN: usize = 64;

/// Put two slices in a canonical order (shorter first, then lexicographic) so
/// that order-sensitive algorithms give symmetric results.
fn ordered<'a>(a: &'a [u8], b: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    if (a.len(), a) <= (b.len(), b) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Jaro–Winkler similarity in `[0, 1]` (prefix scale 0.1, prefix up to 4).
///
/// Two empty inputs are identical (1.0); one empty input scores 0.0.
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let (a, b) = ordered(a, b);
    let a = a.get(..MAX_LEN).unwrap_or(a);
    let b = b.get(..MAX_LEN).unwrap_or(b);
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_hit = [false; MAX_LEN];
    let mut b_hit = [false; MAX_LEN];
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_hit[j] && b[j] == ca {
                a_hit[i] = true;
                b_hit[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transposed = 0usize;
    let mut k = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if !a_hit[i] {
            continue;
        }
        while k < b.len() && !b_hit[k] {
            k += 1;
        }
        if b.get(k).is_some_and(|&cb| cb != ca) {
            transposed += 1;
        }
        k += 1;
    }
    let m = matches as f64;
    let t = (transposed / 2) as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// True when two equal-length strings differ by exactly one substituted
/// character or one swap of adjacent characters (a single keying slip).
/// Identical or different-length inputs give `false`.
pub fn one_slip(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut first = None;
    let mut second = None;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            if first.is_none() {
                first = Some(i);
            } else if second.is_none() {
                second = Some(i);
            } else {
                return false;
            }
        }
    }
    match (first, second) {
        (Some(_), None) => true,
        (Some(i), Some(j)) => j == i + 1 && a.get(i) == b.get(j) && a.get(j) == b.get(i),
        _ => false,
    }
}

/// Position of the first differing byte of two equal-length strings that
/// differ by [`one_slip`], `None` otherwise.
pub fn slip_position(a: &[u8], b: &[u8]) -> Option<usize> {
    if !one_slip(a, b) {
        return None;
    }
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// True when the strings differ by exactly one edit: a substitution, an
/// insertion, a deletion, or an exchange of two adjacent characters.
pub fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    if a.len() == b.len() {
        return one_slip(a, b);
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    if long.len() != short.len() + 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    short.get(prefix..) == long.get(prefix + 1..)
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'A' | b'E' | b'I' | b'O' | b'U')
}

/// NYSIIS phonetic code (New York State Identification and Intelligence
/// System), upper case, of the ASCII letters in `name` (everything else is
/// ignored). Empty when there are no letters. Variant: after the first
/// letter, `Y` counts as a vowel (so Smith and Smyth agree).
///
/// `"smith"` and `"smyth"` → `"SNAT"`; `"macdonald"` and `"mcdonald"` share a code.
pub fn nysiis(name: &str) -> String {
    let mut s: Vec<u8> = name
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        return String::new();
    }
    if s.starts_with(b"MAC") {
        s[1] = b'C';
    } else if s.starts_with(b"KN") {
        s[0] = b'N';
    } else if s.starts_with(b"K") {
        s[0] = b'C';
    } else if s.starts_with(b"PH") || s.starts_with(b"PF") {
        s[0] = b'F';
        s[1] = b'F';
    } else if s.starts_with(b"SCH") {
        s[1] = b'S';
        s[2] = b'S';
    }
    if s.ends_with(b"EE") || s.ends_with(b"IE") {
        s.truncate(s.len() - 2);
        s.push(b'Y');
    } else if [b"DT", b"RT", b"RD", b"NT", b"ND"].iter().any(|e| s.ends_with(*e)) {
        s.truncate(s.len() - 2);
        s.push(b'D');
    }
    let mut key = vec![s[0]];
    for i in 1..s.len() {
        let next = s.get(i + 1).copied();
        let prev = s[i - 1];
        match s[i] {
            b'E' if next == Some(b'V') => {
                s[i] = b'A';
                if let Some(n) = s.get_mut(i + 1) {
                    *n = b'F';
                }
            }
            c if is_vowel(c) || c == b'Y' => s[i] = b'A',
            b'Q' => s[i] = b'G',
            b'Z' => s[i] = b'S',
            b'M' => s[i] = b'N',
            b'K' if next == Some(b'N') => s[i] = b'N',
            b'K' => s[i] = b'C',
            b'S' if s.get(i + 1..i + 3) == Some(b"CH") => {
                s[i + 1] = b'S';
                s[i + 2] = b'S';
            }
            b'P' if next == Some(b'H') => {
                s[i] = b'F';
                s[i + 1] = b'F';
            }
            b'H' if !is_vowel(prev) || next.is_none_or(|n| !is_vowel(n)) => s[i] = prev,
            b'W' if is_vowel(prev) => s[i] = prev,
            _ => {}
        }
        if key.last() != Some(&s[i]) {
            key.push(s[i]);
        }
    }
    if key.len() > 1 && key.last() == Some(&b'S') {
        key.pop();
    }
    if key.ends_with(b"AY") {
        key.truncate(key.len() - 2);
        key.push(b'Y');
    }
    if key.len() > 1 && key.last() == Some(&b'A') {
        key.pop();
    }
    String::from_utf8(key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jw(a: &str, b: &str) -> f64 {
        jaro_winkler(a.as_bytes(), b.as_bytes())
    }

    #[test]
    fn jaro_winkler_reference_values() {
        assert!((jw("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jw("dwayne", "duane") - 0.84).abs() < 1e-3);
        assert!((jw("dixon", "dicksonx") - 0.8133).abs() < 1e-3);
        assert_eq!(jw("smith", "smith"), 1.0);
        assert_eq!(jw("", ""), 1.0);
        assert_eq!(jw("", "a"), 0.0);
        assert_eq!(jw("abc", "xyz"), 0.0);
        assert!(jw("jonathon", "jonathan") > 0.92);
        assert!(jw("catherine", "kathryn") < 0.92);
    }

    #[test]
    fn slips() {
        assert!(one_slip(b"19800512", b"19800513"));
        assert!(one_slip(b"19800512", b"19800521"));
        assert!(!one_slip(b"19800512", b"19800512"));
        assert!(!one_slip(b"19800512", b"19811512"));
        assert!(!one_slip(b"123", b"1234"));
        assert!(!one_slip(b"1234", b"1324x"));
        assert!(!one_slip(b"abcd", b"acbe"));
        assert_eq!(slip_position(b"19800512", b"19800521"), Some(6));
        assert_eq!(slip_position(b"19800512", b"19800512"), None);
        assert!(within_one_edit(b"j.smith", b"jsmith"));
        assert!(within_one_edit(b"jsmith", b"jsmiths"));
        assert!(within_one_edit(b"gmail.com", b"gmial.com"));
        assert!(!within_one_edit(b"harry.khan912", b"harry.khan248"));
        assert!(!within_one_edit(b"paul.brown", b"paula.brown5"));
        assert!(!within_one_edit(b"abc", b"abc"));
        assert!(within_one_edit(b"", b"a") && !within_one_edit(b"", b"ab"));
    }

    #[test]
    fn nysiis_codes() {
        assert_eq!(nysiis("smith"), nysiis("smyth"));
        assert_eq!(nysiis("smith"), "SNAT");
        assert_eq!(nysiis("macdonald"), nysiis("mcdonald"));
        assert_eq!(nysiis("knight"), nysiis("night"));
        assert_eq!(nysiis("phillips"), nysiis("filips"));
        assert_eq!(nysiis("stephen"), nysiis("steven"));
        assert_ne!(nysiis("smith"), nysiis("jones"));
        assert_eq!(nysiis(""), "");
        assert_eq!(nysiis("123 -"), "");
        assert_eq!(nysiis("a"), "A");
    }

    proptest! {
        #[test]
        fn never_panics_and_symmetric(a in any::<String>(), b in "[a-z ]{0,80}", c in "[a-z]{0,12}") {
            for (x, y) in [(&a, &b), (&b, &c), (&c, &a)] {
                let s = jaro_winkler(x.as_bytes(), y.as_bytes());
                prop_assert!((0.0..=1.0).contains(&s));
                prop_assert_eq!(s.to_bits(), jaro_winkler(y.as_bytes(), x.as_bytes()).to_bits());
                prop_assert_eq!(one_slip(x.as_bytes(), y.as_bytes()), one_slip(y.as_bytes(), x.as_bytes()));
                prop_assert_eq!(within_one_edit(x.as_bytes(), y.as_bytes()), within_one_edit(y.as_bytes(), x.as_bytes()));
            }
            let _ = nysiis(&a);
            prop_assert!(nysiis(&b).bytes().all(|c| c.is_ascii_uppercase()));
        }
    }
}
