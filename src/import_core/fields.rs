//! Cleaning of single cell values for [`clean_row`](super::clean_row): text, phones,
//! countries, tags and custom attributes.
//!
//! Policy: single-line fields (names, address parts, identifiers, tags) have line breaks and
//! tabs from multi-line cells turned into spaces, then go through
//! `clean_text` with the same length limits as the
//! people service (title 20, names 100, address lines and organisation 200, town and county
//! 100, tags 50, external id 100). Custom attribute values keep their line breaks (as `\n`)
//! and may be up to 2,000 characters. Countries are stored as ISO 3166 alpha-2 codes, as the
//! people service stores them: two-letter codes and common English names are recognised.
//! A phone number that a spreadsheet stored as a number lost its leading zero
//! (`7700900123`); when adding the zero back gives a valid UK number it is used, with a
//! warning. Phone labels follow the column: mobile columns are `mobile`, columns named home
//! or work are `home` / `work`, others are `mobile` for UK mobile numbers and `other` else.

use super::mapping::Target;
use super::RowProblem;
use crate::normalize::phone::{is_uk_mobile, normalize_phone};
use crate::normalize::text::{clean_text, fold};
use crate::normalize::NormalizeError;

/// Longest custom attribute value, in characters.
pub(crate) const MAX_CUSTOM_CHARS: usize = 2000;

fn problem(header: &str, e: NormalizeError) -> RowProblem {
    RowProblem::cell(header, e.code, e.message)
}

/// A single-line text value: line breaks and tabs become spaces, then `clean_text`.
pub(crate) fn single_line(header: &str, value: &str, max: usize) -> Result<String, RowProblem> {
    let flat: String = value
        .chars()
        .map(|c| if matches!(c, '\r' | '\n' | '\t') { ' ' } else { c })
        .collect();
    clean_text(&flat, max).map_err(|e| problem(header, e))
}

/// A custom attribute value: trimmed, line breaks kept as `\n`, tabs as spaces; other
/// control characters are refused.
pub(crate) fn free_text(header: &str, value: &str) -> Result<String, RowProblem> {
    let normalised = value.replace("\r\n", "\n").replace(['\r'], "\n").replace('\t', " ");
    let mut lines = Vec::new();
    for line in normalised.split('\n') {
        match clean_text(line, MAX_CUSTOM_CHARS) {
            Ok(l) => lines.push(l),
            Err(e) if e.code == "empty" => lines.push(String::new()),
            Err(e) => return Err(problem(header, e)),
        }
    }
    let text = lines.join("\n").trim().to_string();
    if text.chars().count() > MAX_CUSTOM_CHARS {
        return Err(RowProblem::cell(
            header,
            "too_long",
            format!("The text can be at most {MAX_CUSTOM_CHARS} characters long."),
        ));
    }
    Ok(text)
}

/// Tags: split on `,` `;` `|`, cleaned, lower-cased.
pub(crate) fn split_tags(header: &str, value: &str) -> Result<Vec<String>, RowProblem> {
    let mut tags = Vec::new();
    for part in value.split([',', ';', '|']).filter(|p| !p.trim().is_empty()) {
        tags.push(single_line(header, part, 50)?.to_lowercase());
    }
    Ok(tags)
}

/// The label for a phone number from the column it came from.
pub(crate) fn phone_label(target: &Target, header: &str, e164: &str) -> &'static str {
    let words = fold(header);
    let has = |w: &str| words.split(' ').any(|x| x == w);
    if *target == Target::Mobile {
        "mobile"
    } else if has("home") {
        "home"
    } else if has("work") || has("office") || has("business") {
        "work"
    } else if is_uk_mobile(e164) {
        "mobile"
    } else {
        "other"
    }
}

/// Normalise a phone number; returns the number and whether a leading zero was added.
pub(crate) fn phone(header: &str, value: &str) -> Result<(String, bool), RowProblem> {
    match normalize_phone(value) {
        Ok(n) => Ok((n, false)),
        Err(e) => {
            let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            let restorable = digits.len() == 10
                && digits.bytes().all(|b| b.is_ascii_digit())
                && matches!(digits.as_bytes().first(), Some(b'1' | b'2' | b'3' | b'7'));
            match restorable.then(|| normalize_phone(&format!("0{digits}"))) {
                Some(Ok(n)) => Ok((n, true)),
                _ => Err(problem(header, e)),
            }
        }
    }
}

/// Country names and codes and their ISO 3166 alpha-2 code, by folded name.
const COUNTRIES: &[(&str, &str)] = &[
    ("uk", "GB"),
    ("u k", "GB"),
    ("united kingdom", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("cymru", "GB"),
    ("northern ireland", "GB"),
    ("united kingdom of great britain and northern ireland", "GB"),
    ("ireland", "IE"),
    ("republic of ireland", "IE"),
    ("eire", "IE"),
    ("jersey", "JE"),
    ("guernsey", "GG"),
    ("isle of man", "IM"),
    ("france", "FR"),
    ("germany", "DE"),
    ("spain", "ES"),
    ("portugal", "PT"),
    ("italy", "IT"),
    ("netherlands", "NL"),
    ("the netherlands", "NL"),
    ("holland", "NL"),
    ("belgium", "BE"),
    ("switzerland", "CH"),
    ("poland", "PL"),
    ("sweden", "SE"),
    ("norway", "NO"),
    ("denmark", "DK"),
    ("usa", "US"),
    ("u s a", "US"),
    ("us", "US"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("america", "US"),
    ("canada", "CA"),
    ("australia", "AU"),
    ("new zealand", "NZ"),
    ("india", "IN"),
    ("china", "CN"),
    ("japan", "JP"),
    ("south africa", "ZA"),
];

/// The ISO alpha-2 code for a country cell, or `None` when it is not recognised.
pub(crate) fn country_code(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let folded = fold(trimmed);
    if let Some((_, code)) = COUNTRIES.iter().find(|(name, _)| *name == folded) {
        return Some((*code).to_string());
    }
    (trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic())).then(|| trimmed.to_ascii_uppercase())
}

/// Whether postcodes of this country are written in the UK format.
pub(crate) fn uses_uk_postcodes(country: Option<&str>) -> bool {
    matches!(country, None | Some("GB" | "JE" | "GG" | "IM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields() {
        assert_eq!(single_line("N", " Jane\r\nSmith\t", 100), Ok("Jane Smith".to_string()));
        assert_eq!(
            single_line("N", "a\u{0}b", 100).map_err(|p| p.code),
            Err("control_characters")
        );
        assert_eq!(
            single_line("N", "abcdef", 3).map_err(|p| (p.code, p.column)),
            Err(("too_long", Some("N".into())))
        );
        assert_eq!(
            free_text("C", "  line one \r\n\r\n  line\ttwo  "),
            Ok("line one\n\nline two".to_string())
        );
        assert_eq!(
            free_text("C", "bad\u{202E}").map_err(|p| p.code),
            Err("control_characters")
        );
        assert_eq!(free_text("C", &"x".repeat(2001)).map_err(|p| p.code), Err("too_long"));
        assert_eq!(
            split_tags("T", "Friends; VIP |friends,, "),
            Ok(vec!["friends".into(), "vip".into(), "friends".into()])
        );
        assert!(split_tags("T", &"x".repeat(51)).is_err());
    }

    #[test]
    fn phones() {
        assert_eq!(phone("Mobile", "07700 900123"), Ok(("+447700900123".into(), false)));
        assert_eq!(phone("Mobile", "7700900123"), Ok(("+447700900123".into(), true)));
        assert_eq!(phone("Tel", "2079460000"), Ok(("+442079460000".into(), true)));
        assert_eq!(phone("Tel", "9700900123").map_err(|p| p.code), Err("invalid_phone"));
        assert_eq!(phone("Tel", "not a number").map_err(|p| p.code), Err("invalid_phone"));
        assert_eq!(
            phone("Tel", "020 7946 0000 x12").map_err(|p| p.code),
            Err("phone_extension")
        );
        let mobile = "+447700900123";
        let landline = "+442079460000";
        assert_eq!(phone_label(&Target::Mobile, "Tel", landline), "mobile");
        assert_eq!(phone_label(&Target::Phone, "Home phone", mobile), "home");
        assert_eq!(phone_label(&Target::Phone2, "Work tel", landline), "work");
        assert_eq!(phone_label(&Target::Phone, "Telephone", mobile), "mobile");
        assert_eq!(phone_label(&Target::Phone, "Telephone", landline), "other");
    }

    #[test]
    fn countries() {
        for (input, want) in [
            ("UK", Some("GB")),
            ("United Kingdom", Some("GB")),
            ("ENGLAND", Some("GB")),
            ("gb", Some("GB")),
            ("Éire", Some("IE")),
            ("fr", Some("FR")),
            ("U.S.A.", Some("US")),
            ("USA", Some("US")),
            ("Narnia", None),
        ] {
            assert_eq!(country_code(input).as_deref(), want, "{input}");
        }
        assert!(uses_uk_postcodes(None));
        assert!(uses_uk_postcodes(Some("JE")));
        assert!(!uses_uk_postcodes(Some("FR")));
    }
}
