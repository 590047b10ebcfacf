//! Personal names and titles as they arrive from other systems.
//!
//! Policy: a name typed in mixed case is kept exactly as given ("McDonald", "de Souza",
//! "DeShawn"). A name in ALL CAPITALS or all lower case, which says nothing about the
//! intended capitalisation, is title-cased with the usual British rules: each word and each
//! hyphenated part capitalised ("Smith-Jones"), "Mc" names ("McDonald"), one-letter prefixes
//! before an apostrophe ("O'Brien", "D'Arcy"), lower-case particles after the first word
//! ("Ludwig van Beethoven") and Roman-numeral suffixes ("John Smith III"). "Mac" names are
//! not changed (Macey, Mackie and Machin are not MacDonald). Titles are matched word by word
//! against a list of British forms (with or without dots, in any case) and written in
//! their usual short form ("dr." → "Dr", "Councillor" → "Cllr", "the rt. hon." → "The Rt
//! Hon"); an unknown title is not changed and the caller decides what to do.

/// Words that stay lower case when not the first word.
const PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "da", "du", "di", "la", "le", "del", "della",
];

/// Roman numerals used as name suffixes.
const NUMERALS: &[&str] = &["ii", "iii", "iv"];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}')
}

/// Upper-case the first character (when it has a one-character capital).
fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        // A letter whose capital is several letters (ß → SS) is left alone.
        Some(first) if first.to_uppercase().count() == 1 => first.to_uppercase().chain(chars).collect(),
        _ => s.to_string(),
    }
}

/// "mcdonald" → "McDonald"; anything else just capitalised.
fn capitalise_mc(s: &str) -> String {
    match s.strip_prefix("mc") {
        Some(rest) if !rest.is_empty() => format!("Mc{}", capitalise(rest)),
        _ => capitalise(s),
    }
}

/// "o'brien" → "O'Brien"; a longer part before the apostrophe is left alone.
fn capitalise_part(part: &str) -> String {
    if let Some((at, apostrophe)) = part.char_indices().find(|(_, c)| is_apostrophe(*c)) {
        let (before, after) = (
            part.get(..at).unwrap_or_default(),
            part.get(at + apostrophe.len_utf8()..),
        );
        if before.chars().count() == 1 {
            return format!(
                "{}{apostrophe}{}",
                capitalise(before),
                capitalise_mc(after.unwrap_or_default())
            );
        }
    }
    capitalise_mc(part)
}

/// Title-case a name that is entirely upper or entirely lower case; return any other name
/// unchanged. See the module policy for the rules.
pub fn fix_name_case(name: &str) -> String {
    let has_upper = name.chars().any(char::is_uppercase);
    let has_lower = name.chars().any(char::is_lowercase);
    if has_upper == has_lower {
        return name.to_string();
    }
    name.split(' ')
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && PARTICLES.contains(&lower.as_str()) {
                lower
            } else if i > 0 && NUMERALS.contains(&lower.as_str()) {
                lower.to_uppercase()
            } else {
                lower.split('-').map(capitalise_part).collect::<Vec<_>>().join("-")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Title words: the usual written form and the spellings accepted for it.
const TITLES: &[(&str, &[&str])] = &[
    ("Mr", &["mr", "mister"]),
    ("Mrs", &["mrs"]),
    ("Ms", &["ms"]),
    ("Miss", &["miss"]),
    ("Mx", &["mx"]),
    ("Master", &["master"]),
    ("Dr", &["dr", "doctor"]),
    ("Prof", &["prof", "professor"]),
    ("Rev", &["rev", "revd", "reverend"]),
    ("Fr", &["fr", "father"]),
    ("Sir", &["sir"]),
    ("Dame", &["dame"]),
    ("Lord", &["lord"]),
    ("Lady", &["lady"]),
    ("Baron", &["baron"]),
    ("Baroness", &["baroness"]),
    ("Cllr", &["cllr", "clr", "councillor", "councilor"]),
    ("Ald", &["ald", "alderman", "alderwoman"]),
    ("Sheriff", &["sheriff"]),
    ("Deputy", &["deputy", "dep"]),
    ("The", &["the"]),
    ("Rt", &["rt", "right"]),
    ("Hon", &["hon", "honourable", "honorable"]),
    ("Capt", &["capt", "captain"]),
    ("Col", &["col", "colonel"]),
    ("Maj", &["maj", "major"]),
    ("Lt", &["lt", "lieutenant"]),
    ("Sgt", &["sgt", "sergeant"]),
    ("Cdr", &["cdr", "commander"]),
    ("Canon", &["canon"]),
    ("Bishop", &["bishop"]),
    ("Rabbi", &["rabbi"]),
    ("Imam", &["imam"]),
    ("Judge", &["judge"]),
];

/// The usual form of a title (`"dr."` → `"Dr"`, `"MRS"` → `"Mrs"`, `"Cllr Dr"` → `"Cllr
/// Dr"`), or `None` when any word of it is not a known title word.
pub fn normalize_title(title: &str) -> Option<String> {
    let mut out = Vec::new();
    for word in title.split_whitespace() {
        let key: String = word
            .chars()
            .filter(|c| *c != '.' && !is_apostrophe(*c))
            .flat_map(char::to_lowercase)
            .collect();
        let (canonical, _) = TITLES.iter().find(|(_, spellings)| spellings.contains(&key.as_str()))?;
        out.push(*canonical);
    }
    if out.is_empty() {
        None
    } else {
        Some(out.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn name_case() {
        for (input, want) in [
            ("JONATHAN SMITH", "Jonathan Smith"),
            ("mcdonald", "McDonald"),
            ("MCDONALD", "McDonald"),
            ("o'brien", "O'Brien"),
            ("O’BRIEN", "O’Brien"),
            ("d'arcy", "D'Arcy"),
            ("SMITH-JONES", "Smith-Jones"),
            ("jean-luc", "Jean-Luc"),
            ("ludwig van beethoven", "Ludwig van Beethoven"),
            ("VAN DER BERG", "Van der Berg"),
            ("JOHN SMITH III", "John Smith III"),
            ("ZOË", "Zoë"),
            ("ÉLODIE", "Élodie"),
            ("mackie", "Mackie"),
            ("J", "J"),
            ("mc", "Mc"),
            ("o'", "O'"),
            // Mixed case is kept as given.
            ("McDonald", "McDonald"),
            ("de Souza", "de Souza"),
            ("DeShawn", "DeShawn"),
            ("Jonathan SMITH", "Jonathan SMITH"),
            ("李", "李"),
            ("", ""),
        ] {
            assert_eq!(fix_name_case(input), want, "{input}");
        }
    }

    #[test]
    fn titles() {
        for (input, want) in [
            ("Mr", "Mr"),
            ("MR.", "Mr"),
            ("mrs", "Mrs"),
            ("Dr.", "Dr"),
            ("Doctor", "Dr"),
            ("Prof.", "Prof"),
            ("Rev'd", "Rev"),
            ("Councillor", "Cllr"),
            ("cllr dr", "Cllr Dr"),
            ("Alderman", "Ald"),
            ("the rt. hon.", "The Rt Hon"),
            ("Sir", "Sir"),
            ("DAME", "Dame"),
            ("Lady", "Lady"),
            ("Mx", "Mx"),
        ] {
            assert_eq!(normalize_title(input).as_deref(), Some(want), "{input}");
        }
        for unknown in ["Herr", "Mr Smith", "", "  ", "Dr Who"] {
            assert_eq!(normalize_title(unknown), None, "{unknown}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(s in "\\PC{0,30}") {
            let fixed = fix_name_case(&s);
            prop_assert_eq!(fix_name_case(&fixed), fixed.clone());
            let _ = normalize_title(&s);
        }
    }
}
