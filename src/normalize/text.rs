//! Free text: folding for search and cleaning of human-entered names.
//!
//! Policy: [`fold`] is lossy and only for matching, never for display: it
//! transliterates to ASCII, lower-cases, deletes apostrophes and turns every
//! other run of punctuation or whitespace into one space. [`clean_text`]
//! keeps what the person typed apart from surrounding whitespace and
//! whitespace runs, and rejects control characters (including tabs and line
//! breaks inside the value, and the invisible bidirectional-override
//! characters), empty values and values over a caller-chosen length.

use super::NormalizeError;

/// Apostrophe-like characters that are deleted rather than turned into a
/// space, so that "O'Brien" folds to "obrien".
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{00B4}')
}

/// Fold text for case- and accent-insensitive search and matching:
/// Unicode → ASCII (deunicode), lower case, apostrophes removed
/// (`"O'Brien"` → `"obrien"`, also `’ ‘ ``), every other run of
/// non-alphanumeric characters (hyphen, dot, comma, whitespace…) becomes one
/// space, trimmed.
///
/// `"Zoë Smith-Jones"` → `"zoe smith jones"`, `"ÅSA"` → `"asa"`,
/// `"  Jean-Luc  "` → `"jean luc"`. The output only contains `[a-z0-9 ]`,
/// with no leading, trailing or doubled spaces.
pub fn fold(input: &str) -> String {
    // Apostrophes go before transliteration; control characters (which
    // deunicode would drop) separate words like any other punctuation.
    let prepared: String = input
        .chars()
        .filter(|c| !is_apostrophe(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let ascii = deunicode::deunicode_with_tofu(&prepared, " ");
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else if !is_apostrophe(c) {
            pending_space = true;
        }
    }
    out
}

/// Bidirectional embedding, override and isolate controls (format
/// characters that can make text display differently from how it is stored).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Clean a human-entered name or short text value: trim, collapse internal
/// whitespace runs to one space; reject control characters (code
/// `"control_characters"`), empty after trim (code `"empty"`), longer than
/// `max_chars` characters (code `"too_long"`).
///
/// Leading and trailing whitespace (tabs and line breaks included) is trimmed
/// away; a control character left inside the value is rejected, as are the
/// bidirectional-override characters U+202A–U+202E and U+2066–U+2069. The
/// length limit applies to the cleaned value.
pub fn clean_text(input: &str, max_chars: usize) -> Result<String, NormalizeError> {
    let s = input.trim();
    if s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(NormalizeError::new(
            "control_characters",
            "The text contains control characters (such as tabs, line breaks or invisible formatting); remove them and try again.",
        ));
    }
    if s.is_empty() {
        return Err(NormalizeError::new("empty", "Enter a value."));
    }
    let cleaned = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.chars().count() > max_chars {
        return Err(NormalizeError::new(
            "too_long",
            format!("The text can be at most {max_chars} characters long."),
        ));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds() {
        for (input, want) in [
            ("Zoë Smith-Jones", "zoe smith jones"),
            ("ÅSA", "asa"),
            ("  Jean-Luc  ", "jean luc"),
            ("O'Brien", "obrien"),
            ("O’Brien", "obrien"),
            ("O‘Brien", "obrien"),
            ("O`Brien", "obrien"),
            ("D'Arcy-O'Neil, Jr.", "darcy oneil jr"),
            ("Smith,John", "smith john"),
            ("St. Mary's\tHouse\n", "st marys house"),
            ("Straße 12", "strasse 12"),
            ("Ærø", "aero"),
            ("Ł ódź", "l odz"),
            ("Ελένη", "elene"),
            ("", ""),
            ("  --  ''  ", ""),
            ("\u{0}a\u{7f}b", "a b"),
        ] {
            assert_eq!(fold(input), want, "{input:?}");
        }
    }

    #[test]
    fn cleans() {
        assert_eq!(clean_text("  Jane   Smith ", 50).as_deref(), Ok("Jane Smith"));
        assert_eq!(clean_text("Zoë\u{a0} O’Brien", 50).as_deref(), Ok("Zoë O’Brien"));
        assert_eq!(clean_text("\tJane\n", 50).as_deref(), Ok("Jane"));
        assert_eq!(clean_text("Jane", 4).as_deref(), Ok("Jane"));
        assert_eq!(clean_text("Zoë", 3).as_deref(), Ok("Zoë"));
    }

    #[test]
    fn clean_rejects() {
        let code = |s: &str, max| clean_text(s, max).map_err(|e| e.code);
        assert_eq!(code("", 10), Err("empty"));
        assert_eq!(code(" \t\n ", 10), Err("empty"));
        assert_eq!(code("Jane\tSmith", 50), Err("control_characters"));
        assert_eq!(code("Jane\nSmith", 50), Err("control_characters"));
        assert_eq!(code("Jane\u{0}", 50), Err("control_characters"));
        assert_eq!(code("a\u{1b}[31mred", 50), Err("control_characters"));
        assert_eq!(code("a\u{85}b", 50), Err("control_characters"));
        assert_eq!(code("abc\u{202E}fed", 50), Err("control_characters"));
        assert_eq!(code("Janet", 4), Err("too_long"));
        assert_eq!(code("x", 0), Err("too_long"));
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), t in "\\PC*", max in 0usize..100) {
            for input in [&s, &t] {
                let _ = fold(input);
                let _ = clean_text(input, max);
            }
        }

        #[test]
        fn fold_output_is_clean_and_idempotent(s in any::<String>(), t in "\\PC*") {
            for input in [&s, &t] {
                let f = fold(input);
                prop_assert!(f.chars().all(|c| matches!(c, 'a'..='z' | '0'..='9' | ' ')), "{:?}", f);
                prop_assert!(!f.contains("  ") && !f.starts_with(' ') && !f.ends_with(' '), "{:?}", f);
                prop_assert_eq!(fold(&f), f.clone());
            }
        }

        #[test]
        fn clean_text_output_is_clean_and_idempotent(s in any::<String>(), t in "\\PC*", u in "[ a-zA-Z\t\u{a0}]{0,20}") {
            for input in [&s, &t, &u] {
                if let Ok(c) = clean_text(input, 1000) {
                    prop_assert!(!c.chars().any(char::is_control), "{:?}", c);
                    prop_assert!(!c.contains("  ") && c.trim() == c && !c.is_empty(), "{:?}", c);
                    prop_assert_eq!(clean_text(&c, 1000), Ok(c.clone()));
                }
            }
        }
    }
}
