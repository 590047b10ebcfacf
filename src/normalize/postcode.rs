//! UK postcodes, normalised to upper case with one space before the inward
//! code (`"EC2V 7HH"`).
//!
//! Policy: case, whitespace and hyphens are ignored wherever they appear
//! (`" ec2v   7hh "`, `"EC2V7HH"`, `"sw1a-1aa"`); everything else must be an
//! ASCII letter or digit. The outward code must be one of A9, A99, A9A, AA9,
//! AA99 or AA9A and the inward code 9AA, with the Royal Mail letter-position
//! rules applied; `GIR 0AA` is also accepted. Nothing is guessed: look-alike
//! characters (`O`/`0`, `I`/`1`) are not corrected, and the non-geographic
//! overseas-territory codes with four-letter outward codes (e.g. `ASCN 1ZZ`)
//! are rejected.

use super::NormalizeError;

/// Letters allowed in the first position (not Q, V, X).
const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPRSTUWYZ";
/// Letters allowed in the second position (not I, J, Z).
const SECOND: &[u8] = b"ABCDEFGHKLMNOPQRSTUVWXY";
/// Letters allowed in the third position of an A9A outward code.
const THIRD: &[u8] = b"ABCDEFGHJKPSTUW";
/// Letters allowed in the fourth position of an AA9A outward code.
const FOURTH: &[u8] = b"ABEHMNPRVWXY";
/// Letters allowed in the inward code (not C, I, K, M, O, V).
const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

fn invalid() -> NormalizeError {
    NormalizeError::new(
        "invalid_postcode",
        "This is not a valid UK postcode; enter it like EC2V 7HH.",
    )
}

/// Normalise a UK postcode to upper case with one space before the inward
/// code: `"ec2v7hh"` → `"EC2V 7HH"`.
///
/// Errors use the codes `empty` and `invalid_postcode`.
pub fn normalize_postcode(input: &str) -> Result<String, NormalizeError> {
    let mut compact = String::with_capacity(7);
    for c in input.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        if !c.is_ascii_alphanumeric() || compact.len() >= 7 {
            return Err(invalid());
        }
        compact.push(c.to_ascii_uppercase());
    }
    if compact.is_empty() {
        return Err(NormalizeError::new("empty", "Enter a postcode."));
    }
    if compact.len() < 5 {
        return Err(invalid());
    }
    let Some((out, inw)) = compact.split_at_checked(compact.len().saturating_sub(3)) else {
        return Err(invalid());
    };
    let special = out == "GIR" && inw == "0AA";
    if special || (valid_outward(out.as_bytes()) && valid_inward(inw.as_bytes())) {
        Ok(format!("{out} {inw}"))
    } else {
        Err(invalid())
    }
}

fn digit(c: &u8) -> bool {
    c.is_ascii_digit()
}

fn valid_outward(out: &[u8]) -> bool {
    match out {
        [a, n] => FIRST.contains(a) && digit(n),
        [a, x, y] => {
            FIRST.contains(a) && ((digit(x) && (digit(y) || THIRD.contains(y))) || (SECOND.contains(x) && digit(y)))
        }
        [a, b, n, y] => FIRST.contains(a) && SECOND.contains(b) && digit(n) && (digit(y) || FOURTH.contains(y)),
        _ => false,
    }
}

fn valid_inward(inw: &[u8]) -> bool {
    matches!(inw, [n, x, y] if digit(n) && INWARD.contains(x) && INWARD.contains(y))
}

/// The outward code (`"EC2V"`) of a normalised postcode.
///
/// Never panics: for a value without a space it returns the trimmed input.
pub fn outward(normalised: &str) -> &str {
    let s = normalised.trim();
    s.split_once(' ').map_or(s, |(out, _)| out)
}

/// The sector (`"EC2V 7"`) of a normalised postcode.
///
/// Never panics: for a value without a space (or nothing after it) it returns
/// the same as [`outward`].
pub fn sector(normalised: &str) -> &str {
    let s = normalised.trim();
    let Some(space) = s.find(' ') else {
        return s;
    };
    let end = s
        .get(space + 1..)
        .and_then(|rest| rest.chars().next())
        .map_or(space, |c| space + 1 + c.len_utf8());
    s.get(..end).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_all_formats() {
        let cases = [
            ("ec2v7hh", "EC2V 7HH"),
            (" ec2v   7hh ", "EC2V 7HH"),
            ("EC2V7HH", "EC2V 7HH"),
            ("sw1a-1aa", "SW1A 1AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("W1A 0AX", "W1A 0AX"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("N1C 4AG", "N1C 4AG"),
            ("gir0aa", "GIR 0AA"),
            ("GX11 1AA", "GX11 1AA"),
            ("e\u{a0}1 6AN", "E1 6AN"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_postcode(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "EC2V 7H",
            "EC2V 7HHH",
            "EC2V",
            "7HH",
            "QA1 1AA",
            "VA1 1AA",
            "XA1 1AA",
            "AI1 1AA",
            "AJ1 1AA",
            "AZ1 1AA",
            "A1I 1AA",
            "AA1C 1AA",
            "A1 1CA",
            "A1 1AI",
            "A1 1AK",
            "A1 1AM",
            "A1 1OA",
            "A1 1AV",
            "EC2V 7H0",
            "ECV2 7HH",
            "E1 A6N",
            "ABC 1AA",
            "ASCN 1ZZ",
            "EC2V_7HH",
            "EC2V.7HH",
            "ÉC2V 7HH",
            "SW1A 1AA SW1A 1AA",
            "1A1 1AA",
            "GIR 0AB",
        ] {
            let e = normalize_postcode(bad);
            assert_eq!(e.map_err(|e| e.code), Err("invalid_postcode"), "{bad}");
        }
        assert_eq!(normalize_postcode(" - ").map_err(|e| e.code), Err("empty"));
    }

    #[test]
    fn parts() {
        assert_eq!(outward("EC2V 7HH"), "EC2V");
        assert_eq!(sector("EC2V 7HH"), "EC2V 7");
        assert_eq!(outward("M1 1AE"), "M1");
        assert_eq!(sector("M1 1AE"), "M1 1");
        assert_eq!(outward("EC2V7HH"), "EC2V7HH");
        assert_eq!(sector("EC2V "), "EC2V");
        assert_eq!(sector("A é"), "A é");
        assert_eq!(sector(""), "");
    }

    fn pick(set: &'static [u8]) -> impl Strategy<Value = char> {
        prop::sample::select(set).prop_map(char::from)
    }

    fn num() -> impl Strategy<Value = char> {
        (b'0'..=b'9').prop_map(char::from)
    }

    fn postcode_strategy() -> impl Strategy<Value = String> {
        let outward = prop_oneof![
            (pick(FIRST), num()).prop_map(|(a, b)| format!("{a}{b}")),
            (pick(FIRST), num(), num()).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
            (pick(FIRST), num(), pick(THIRD)).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
            (pick(FIRST), pick(SECOND), num()).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
            (pick(FIRST), pick(SECOND), num(), num()).prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}")),
            (pick(FIRST), pick(SECOND), num(), pick(FOURTH)).prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}")),
        ];
        (outward, num(), pick(INWARD), pick(INWARD)).prop_map(|(out, n, x, y)| format!("{out} {n}{x}{y}"))
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), t in "\\PC*") {
            for input in [&s, &t] {
                if let Ok(n) = normalize_postcode(input) {
                    prop_assert_eq!(normalize_postcode(&n), Ok(n.clone()));
                }
                let _ = (outward(input), sector(input));
            }
        }

        #[test]
        fn spacing_and_case_variants_agree(
            pc in postcode_strategy(),
            marks in prop::collection::vec((any::<bool>(), prop::sample::select(vec!["", "", " ", "  ", "-", "\t"])), 8),
        ) {
            prop_assert_eq!(normalize_postcode(&pc), Ok(pc.clone()));
            let mut variant = String::new();
            for (c, (lower, sep)) in pc.chars().filter(|c| *c != ' ').zip(marks.iter().cycle()) {
                variant.push_str(sep);
                variant.push(if *lower { c.to_ascii_lowercase() } else { c });
            }
            prop_assert_eq!(normalize_postcode(&variant), Ok(pc.clone()), "{}", variant);
            prop_assert!(sector(&pc).starts_with(outward(&pc)));
            prop_assert_eq!(sector(&pc).len(), outward(&pc).len() + 2);
        }
    }
}
