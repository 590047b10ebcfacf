//! First address lines: preparation (once per record) and comparison.
//!
//! Policy: the line is split at `/` (so `2/10 High St` reads as flat 2 of
//! number 10), each part folded, and then read left to right: a number after
//! Flat/Apartment/Apt/Unit/Room/Suite is the flat; `A/B` is flat A of house
//! B; of two bare numbers the first is the flat and the last the house; a
//! number is digits with at most one trailing letter (`10a`). Street words
//! have the usual abbreviations expanded (Rd→road, St→street, Ave→avenue,
//! Ln→lane…), are de-duplicated and sorted, so word order and an added town
//! matter little. Comparison: street words must agree (equal, one set inside
//! the other, or Jaro–Winkler ≥ 0.92), and then house and flat numbers decide
//! the level: a different house number is a different address (neighbours),
//! and a different flat in the same building is no more than "street only".
//! Comparison does not allocate.

use super::field::address as al;
use super::strsim::jaro_winkler;
use crate::normalize::text::fold;

/// Words that introduce a flat (sub-building) number.
const FLAT_WORDS: &[&str] = &["apartment", "apt", "appt", "flat", "flt", "room", "rm", "suite", "unit"];

/// Words dropped before a number ("No. 10").
const NUMBER_WORDS: &[&str] = &["no", "number"];

/// Street-word abbreviations and their expansion (sorted by abbreviation).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("app", "approach"),
    ("av", "avenue"),
    ("ave", "avenue"),
    ("bldg", "building"),
    ("bldgs", "buildings"),
    ("blvd", "boulevard"),
    ("cl", "close"),
    ("cotts", "cottages"),
    ("cres", "crescent"),
    ("cresc", "crescent"),
    ("ct", "court"),
    ("dr", "drive"),
    ("embk", "embankment"),
    ("est", "estate"),
    ("gdn", "garden"),
    ("gdns", "gardens"),
    ("gr", "grove"),
    ("grn", "green"),
    ("gro", "grove"),
    ("hill", "hill"),
    ("ho", "house"),
    ("hse", "house"),
    ("hts", "heights"),
    ("ln", "lane"),
    ("mdws", "meadows"),
    ("mt", "mount"),
    ("pde", "parade"),
    ("pk", "park"),
    ("pl", "place"),
    ("rd", "road"),
    ("sq", "square"),
    ("st", "street"),
    ("sta", "station"),
    ("str", "street"),
    ("tce", "terrace"),
    ("terr", "terrace"),
    ("twr", "tower"),
    ("vw", "view"),
    ("wk", "walk"),
    ("wy", "way"),
    ("yd", "yard"),
];

/// Expand a street-word abbreviation (the word itself when not one).
fn expand(word: &str) -> &str {
    match ABBREVIATIONS.binary_search_by(|(abbr, _)| (*abbr).cmp(word)) {
        Ok(i) => ABBREVIATIONS.get(i).map_or(word, |(_, full)| full),
        Err(_) => word,
    }
}

/// A house or flat number: digits with at most one trailing letter (`10`, `10a`).
fn is_number(token: &str) -> bool {
    let digits = token.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && digits <= 6 && token.len() - digits <= 1
}

/// A prepared first address line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Flat (sub-building) number or letter.
    pub(crate) flat: Option<String>,
    /// House (building) number.
    pub(crate) house: Option<String>,
    /// Street words, abbreviations expanded, sorted and de-duplicated.
    pub(crate) words: Vec<String>,
    /// `words` joined by spaces (for fuzzy comparison).
    pub(crate) joined: String,
    /// The first street word after the house number (for blocking).
    pub(crate) head: Option<String>,
}

/// A token of the address line.
enum Tok {
    Word(String),
    Slash,
}

impl Address {
    /// Prepare a raw address line; `None` when it holds no street or building
    /// words (numbers alone are not an address).
    pub(crate) fn prepare(raw: &str) -> Option<Address> {
        let mut toks = Vec::new();
        for (i, part) in raw.split('/').enumerate() {
            if i > 0 {
                toks.push(Tok::Slash);
            }
            toks.extend(
                fold(part)
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .map(|t| Tok::Word(t.to_string())),
            );
        }
        let mut addr = Address::default();
        let mut bare: Vec<String> = Vec::new();
        let mut expect_flat = false;
        let mut after_number = false;
        let mut head_after_number = None;
        let mut i = 0;
        while let Some(tok) = toks.get(i) {
            i += 1;
            let Tok::Word(w) = tok else { continue };
            if FLAT_WORDS.contains(&w.as_str()) {
                expect_flat = true;
                continue;
            }
            if expect_flat && (is_number(w) || w.len() == 1) {
                addr.flat = Some(w.clone());
                expect_flat = false;
                continue;
            }
            expect_flat = false;
            if is_number(w) {
                after_number = true;
                if let (Some(Tok::Slash), Some(Tok::Word(next))) = (toks.get(i), toks.get(i + 1)) {
                    if is_number(next) {
                        addr.flat = Some(w.clone());
                        addr.house = Some(next.clone());
                        i += 2;
                        continue;
                    }
                }
                bare.push(w.clone());
                continue;
            }
            let before_number = matches!(toks.get(i), Some(Tok::Word(n)) if is_number(n));
            if NUMBER_WORDS.contains(&w.as_str()) && before_number {
                continue;
            }
            let word = expand(w).to_string();
            if after_number && head_after_number.is_none() {
                head_after_number = Some(word.clone());
            }
            after_number = false;
            addr.words.push(word);
        }
        addr.head = head_after_number.or_else(|| addr.words.first().cloned());
        match bare.len() {
            0 => {}
            1 if addr.house.is_some() => {
                addr.flat.get_or_insert_with(|| bare.remove(0));
            }
            1 => addr.house = bare.pop(),
            _ => {
                if addr.flat.is_none() && addr.house.is_none() {
                    addr.flat = Some(bare.remove(0));
                }
                if addr.house.is_none() {
                    addr.house = bare.pop();
                }
            }
        }
        addr.words.sort_unstable();
        addr.words.dedup();
        addr.joined = addr.words.join(" ");
        if addr.words.is_empty() {
            None
        } else {
            Some(addr)
        }
    }
}

/// True when every word of the smaller (sorted) list is in the larger one and
/// the smaller list has a word of three letters or more.
fn subset(a: &[String], b: &[String]) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    !small.is_empty() && small.iter().any(|w| w.len() >= 3) && small.iter().all(|w| large.binary_search(w).is_ok())
}

/// Compare two prepared address lines (see the level docs in [`al`]).
pub(crate) fn compare_address(a: &Address, b: &Address) -> u8 {
    let words_equal = a.words == b.words;
    let street_same =
        words_equal || subset(&a.words, &b.words) || jaro_winkler(a.joined.as_bytes(), b.joined.as_bytes()) >= 0.92;
    if !street_same {
        return al::DIFFERENT;
    }
    let house_eq = a.house.is_some() && a.house == b.house;
    let house_conflict = a.house.is_some() && b.house.is_some() && !house_eq;
    let flat_eq = a.flat == b.flat;
    let flat_conflict = a.flat.is_some() && b.flat.is_some() && !flat_eq;
    if house_conflict {
        return al::DIFFERENT;
    }
    if flat_conflict {
        return al::STREET_ONLY;
    }
    let numbers_absent = a.house.is_none() && b.house.is_none() && a.flat.is_none() && b.flat.is_none();
    if house_eq || numbers_absent {
        return if flat_eq && words_equal {
            al::EXACT
        } else {
            al::NUMBER_AND_STREET
        };
    }
    al::STREET_ONLY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(s: &str) -> Address {
        Address::prepare(s).unwrap_or_else(|| panic!("no address in {s:?}"))
    }

    fn cmp(a: &str, b: &str) -> &'static str {
        let l = compare_address(&prep(a), &prep(b));
        assert_eq!(l, compare_address(&prep(b), &prep(a)), "{a} / {b} not symmetric");
        al::NAMES[usize::from(l)]
    }

    #[test]
    fn parses_numbers() {
        for (s, flat, house, head) in [
            ("Flat 2, 10 High St", Some("2"), Some("10"), Some("high")),
            ("2/10 High Street", Some("2"), Some("10"), Some("high")),
            ("Flat 2 10 High St", Some("2"), Some("10"), Some("high")),
            ("10 High St, Flat 2", Some("2"), Some("10"), Some("high")),
            (
                "Apartment 5, Riverside House, 20 Mill Ln",
                Some("5"),
                Some("20"),
                Some("mill"),
            ),
            ("10a Station Rd", None, Some("10a"), Some("station")),
            ("No. 7 Acacia Avenue", None, Some("7"), Some("acacia")),
            ("Rose Cottage, Mill Lane", None, None, Some("rose")),
            ("Flat B, 12 Park Rd", Some("b"), Some("12"), Some("park")),
        ] {
            let a = prep(s);
            assert_eq!(a.flat.as_deref(), flat, "{s}");
            assert_eq!(a.house.as_deref(), house, "{s}");
            assert_eq!(a.head.as_deref(), head, "{s}");
        }
        assert_eq!(prep("10 High St").words, ["high", "street"]);
        assert!(Address::prepare(" ,/ ").is_none());
        assert!(Address::prepare("10").is_none());
    }

    #[test]
    fn levels() {
        for (a, b, want) in [
            ("Flat 2, 10 High St", "2/10 High Street", "exact"),
            ("10 High Rd", "10 HIGH ROAD", "exact"),
            ("12 Elm Ave", "12 Elm Avenue", "exact"),
            ("3 Mill Ln", "3 Mill Lane", "exact"),
            ("10 High Street", "10 High Street, London", "number_and_street"),
            ("Flat 2, 10 High St", "10 High Street", "number_and_street"),
            ("Flat 2, 10 High St", "Flat 3, 10 High St", "street_only"),
            ("10 High St", "12 High St", "different"),
            ("High Street", "10 High Street", "street_only"),
            ("10 High St", "10 Low Rd", "different"),
            ("Rose Cottage, Mill Lane", "Rose Cottage Mill Ln", "exact"),
        ] {
            assert_eq!(cmp(a, b), want, "{a} / {b}");
        }
    }

    #[test]
    fn abbreviation_table_is_sorted() {
        assert!(ABBREVIATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(expand("rd"), "road");
        assert_eq!(expand("road"), "road");
    }
}
