//! Phone numbers, normalised to E.164 (`+447700900123`).
//!
//! Policy: UK first. A number without a country code is read as a UK number
//! and must have the trunk `0` (`07700 900123`), except the bare form
//! `44 7700 900123` (exactly 12 digits, `44` plus a valid UK number). A
//! country code is given as `+CC` or `00CC`; `(0)` after it is dropped, as is
//! a stray trunk `0` after `+44`. UK numbers are checked for length and
//! leading digit; other countries only for 8–15 digits and a non-zero country
//! code. Separators allowed: spaces, `.`, `-`, `/` and one level of
//! parentheses. Letters are rejected; an extension (`x123`, `ext. 123`) is
//! rejected with its own code rather than silently dropped.

use super::NormalizeError;

const MAX_INPUT_CHARS: usize = 64;

fn invalid(message: &str) -> NormalizeError {
    NormalizeError::new("invalid_phone", message)
}

/// Normalise a phone number to E.164 (`"+447700900123"`). Numbers without a
/// country code are read as UK numbers.
///
/// Errors use the codes `empty`, `too_long` (input over 64 characters),
/// `phone_extension` (an extension was written after the number) and
/// `invalid_phone`.
pub fn normalize_phone(input: &str) -> Result<String, NormalizeError> {
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(NormalizeError::new(
            "too_long",
            "Phone numbers can be at most 64 characters long.",
        ));
    }
    let s = input.trim();
    if s.is_empty() {
        return Err(NormalizeError::new("empty", "Enter a phone number."));
    }
    let (plus, body) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    check_letters(body)?;
    let double_zero = body.chars().filter(char::is_ascii_digit).take(2).eq("00".chars());
    let body = if plus || double_zero {
        body.replacen("(0)", "", 1)
    } else {
        body.to_string()
    };
    let digits = collect_digits(&body)?;
    if plus {
        international(&digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        international(rest)
    } else {
        national(&digits)
    }
}

/// Reject letters, with a dedicated error when they form an extension.
fn check_letters(body: &str) -> Result<(), NormalizeError> {
    let Some(at) = body.find(char::is_alphabetic) else {
        return Ok(());
    };
    let (number, tail) = body.split_at(at);
    if number.chars().any(|c| c.is_ascii_digit()) && is_extension(tail) {
        return Err(NormalizeError::new(
            "phone_extension",
            "Extensions cannot be stored in the phone number; enter the number without the extension and record the extension separately.",
        ));
    }
    Err(invalid("Phone numbers cannot contain letters."))
}

/// `x123`, `ext 123`, `ext. 123`, `extension: 123` (any case).
fn is_extension(tail: &str) -> bool {
    let lower = tail.trim().to_ascii_lowercase();
    let rest = ["extension", "ext", "x"].iter().find_map(|p| lower.strip_prefix(p));
    rest.map(|r| r.trim_start_matches(|c: char| c == '.' || c == ':' || c.is_whitespace()))
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
}

/// The ASCII digits of `body`, checking that everything else is a separator.
fn collect_digits(body: &str) -> Result<String, NormalizeError> {
    let mut digits = String::new();
    let mut open = false;
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '(' if !open => open = true,
            ')' if open => open = false,
            '(' | ')' => return Err(invalid("The brackets in the phone number do not match.")),
            '.' | '-' | '/' => {}
            c if c.is_whitespace() => {}
            _ => {
                return Err(invalid(
                    "Phone numbers can only contain digits, spaces, a leading + and . - / ( ).",
                ))
            }
        }
    }
    if open {
        return Err(invalid("The brackets in the phone number do not match."));
    }
    Ok(digits)
}

/// Digits after `+` or `00`: country code then number.
fn international(digits: &str) -> Result<String, NormalizeError> {
    if let Some(nsn) = digits.strip_prefix("44") {
        let nsn = nsn.strip_prefix('0').filter(|n| valid_uk_nsn(n)).unwrap_or(nsn);
        return uk(nsn);
    }
    if digits.starts_with('0') {
        return Err(invalid("A country code cannot start with 0."));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(invalid(
            "International numbers have 8 to 15 digits including the country code.",
        ));
    }
    Ok(format!("+{digits}"))
}

/// Digits written without `+` or `00`.
fn national(digits: &str) -> Result<String, NormalizeError> {
    if let Some(nsn) = digits.strip_prefix('0') {
        return uk(nsn);
    }
    if digits.len() == 12 {
        if let Some(nsn) = digits.strip_prefix("44").filter(|n| valid_uk_nsn(n)) {
            return uk(nsn);
        }
    }
    Err(invalid(
        "Write UK numbers with the leading 0 (07700 900123) and other numbers with the country code (+33 1 23 45 67 89).",
    ))
}

fn uk(nsn: &str) -> Result<String, NormalizeError> {
    if valid_uk_nsn(nsn) {
        Ok(format!("+44{nsn}"))
    } else {
        Err(invalid(
            "This is not a valid UK number: UK numbers have 11 digits starting with 0, e.g. 07700 900123 or 020 7946 0000.",
        ))
    }
}

/// UK national significant number (no trunk 0): 10 digits starting
/// 1, 2, 3, 5, 7, 8 or 9; or 9 digits starting 1 (a few old area codes) or
/// 800 (short freephone numbers).
fn valid_uk_nsn(nsn: &str) -> bool {
    if !nsn.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match nsn.len() {
        10 => matches!(
            nsn.as_bytes().first(),
            Some(b'1' | b'2' | b'3' | b'5' | b'7' | b'8' | b'9')
        ),
        9 => nsn.starts_with('1') || nsn.starts_with("800"),
        _ => false,
    }
}

/// True if an E.164 number is a UK mobile (`+447…`).
///
/// Precisely: `+447` then 9 more digits, excluding the ranges that are not
/// mobiles: `+4470…` (personal numbers) and `+4476…` (pagers) other than
/// `+447624…` (Isle of Man mobiles).
pub fn is_uk_mobile(e164: &str) -> bool {
    let Some(nsn) = e164.strip_prefix("+447") else {
        return false;
    };
    nsn.len() == 9
        && nsn.bytes().all(|b| b.is_ascii_digit())
        && !nsn.starts_with('0')
        && (!nsn.starts_with('6') || nsn.starts_with("624"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(input: &str) -> &'static str {
        normalize_phone(input).map_or_else(|e| e.code, |_| "ok")
    }

    #[test]
    fn written_forms() {
        let cases = [
            ("07700 900123", "+447700900123"),
            ("07700900123", "+447700900123"),
            ("+44 7700 900123", "+447700900123"),
            ("+44 (0)7700 900123", "+447700900123"),
            ("+44 (0) 7700 900123", "+447700900123"),
            ("+44 07700 900123", "+447700900123"),
            ("0044 7700 900 123", "+447700900123"),
            ("0044 (0)7700 900 123", "+447700900123"),
            ("44 7700 900123", "+447700900123"),
            ("(020) 7946 0000", "+442079460000"),
            ("020-7946-0000", "+442079460000"),
            ("+44 20 7946 0000", "+442079460000"),
            ("0121 496 0000", "+441214960000"),
            ("01632 960123", "+441632960123"),
            ("07700.900.123", "+447700900123"),
            ("  07700 900123\t", "+447700900123"),
            ("016977 3456", "+44169773456"),
            ("0800 111 111", "+44800111111"),
            ("+1 212 555 0100", "+12125550100"),
            ("+33 1 23 45 67 89", "+33123456789"),
            ("0033 1 23 45 67 89", "+33123456789"),
            ("+33 (0)1 23 45 67 89", "+33123456789"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_phone(input).as_deref(), Ok(want), "{input}");
            assert_eq!(normalize_phone(want).as_deref(), Ok(want), "{want}");
        }
    }

    #[test]
    fn rejects() {
        let cases = [
            ("empty", "|   "),
            (
                "phone_extension",
                concat!(
                    "07700 900123 x123|07700 900123 ext 123|07700 900123 ext. 123|",
                    "020 7946 0000 Ext: 45",
                ),
            ),
            (
                "invalid_phone",
                concat!(
                    "call 07700 900123|07700 9OO123|0770 090 012|077009001234|",
                    "7700 900123|447700900123 1|44 20 7946 000|04 7700 900123|",
                    "06700 900123|+44 6700 900123|+0 123 456 789|+1 234 56|",
                    "+1 2345 6789 0123 4567|+|++44 7700 900123|07700 (900123|",
                    "07700) 900123|((020)) 7946 0000|07700 900123#|０７７００ ９００１２３",
                ),
            ),
        ];
        for (want, inputs) in cases {
            for input in inputs.split('|') {
                assert_eq!(code(input), want, "{input}");
            }
        }
        assert_eq!(code(&format!("07700900123{}", " ".repeat(60))), "too_long");
    }

    #[test]
    fn mobiles() {
        assert!(is_uk_mobile("+447700900123"));
        assert!(is_uk_mobile("+447624123456"));
        assert!(!is_uk_mobile("+447012345678"));
        assert!(!is_uk_mobile("+447612345678"));
        assert!(!is_uk_mobile("+442079460000"));
        assert!(!is_uk_mobile("+44770090012"));
        assert!(!is_uk_mobile("07700900123"));
        assert!(!is_uk_mobile("+4477009001a3"));
    }

    /// A UK mobile (`07` + 9 digits) written in one of the usual ways.
    fn mobile_variants() -> impl Strategy<Value = (String, String)> {
        let prefixes = prop::sample::select(vec!["0", "+44 ", "+44", "+44 (0)", "0044 ", "44 ", "(0"]);
        let seps = prop::collection::vec(prop::sample::select(vec!["", "", " ", "  ", ".", "-"]), 10);
        let pad = prop::sample::select(vec!["", " ", "\t"]);
        ("7[0-9]{9}", prefixes, seps, pad).prop_map(|(nsn, prefix, seps, pad)| {
            let mut out = format!("{pad}{prefix}");
            for (i, (d, sep)) in nsn.chars().zip(seps).enumerate() {
                out.push(d);
                if prefix == "(0" && i == 3 {
                    out.push_str(") ");
                } else if i < 9 {
                    out.push_str(sep);
                }
            }
            out.push_str(pad);
            (out, format!("+44{nsn}"))
        })
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), t in "\\PC*", u in "[0-9 +()x.-]{0,30}") {
            for input in [&s, &t, &u] {
                if let Ok(n) = normalize_phone(input) {
                    prop_assert_eq!(normalize_phone(&n), Ok(n.clone()));
                    let _ = is_uk_mobile(&n);
                }
                let _ = is_uk_mobile(input);
            }
        }

        #[test]
        fn mobile_forms_agree((written, want) in mobile_variants()) {
            let got = normalize_phone(&written);
            prop_assert_eq!(got.as_deref(), Ok(want.as_str()), "{}", written);
            prop_assert_eq!(normalize_phone(&want), Ok(want.clone()));
        }
    }
}
