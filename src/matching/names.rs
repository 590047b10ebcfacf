//! Person names: preparation (once per record) and comparison (per pair).
//!
//! Policy: names are folded (case, accents, apostrophes, hyphens and other
//! punctuation removed, see [`fold`]); a leading title (Mr, Dr…) and a
//! trailing generational suffix (Jr, Snr, III…) are taken off and the suffix
//! kept separately for the false-merge guards. Given names compare on the
//! first given name, with nickname groups, initials, middle names and typos;
//! two *different known names* (Daniel/Danielle, Paul/Paula) are never taken
//! for a typo, and a conflicting second given name makes the names
//! different. Family names compare on the folded name with spaces removed
//! (McDonald = Mc Donald), then multi-part containment (Smith-Jones/Smith),
//! typo and NYSIIS phonetic code. Comparison does not allocate.
//! Scanned forms misread letters: tokens go through [`super::ocr`] first.

use super::field::{family as fl, given as gl};
use super::nicknames::{self, MAX_GROUPS};
use super::ocr::{repair_given, undigit};
use super::strsim::{jaro_winkler, nysiis, within_one_edit};
use crate::normalize::text::fold;
use serde::{Deserialize, Serialize};

/// A generational suffix written after a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suffix {
    /// Jr, Jnr, Junior, II.
    Junior,
    /// Sr, Snr, Senior.
    Senior,
    /// III.
    Third,
    /// IV.
    Fourth,
}

impl Suffix {
    fn parse(token: &str) -> Option<Suffix> {
        match token {
            "jr" | "jnr" | "junior" | "ii" => Some(Suffix::Junior),
            "sr" | "snr" | "senior" => Some(Suffix::Senior),
            "iii" => Some(Suffix::Third),
            "iv" => Some(Suffix::Fourth),
            _ => None,
        }
    }
}

/// Titles dropped from the front of a given name (only when a name follows).
const TITLES: &[&str] = &[
    "dame", "dr", "fr", "lady", "lord", "master", "miss", "mr", "mrs", "ms", "mx", "prof", "rev", "sir",
];

/// Family-name particles that do not count as the shared part of a partial match.
const PARTICLES: &[&str] = &[
    "al", "ap", "bin", "da", "de", "del", "della", "den", "der", "di", "dos", "du", "el", "ibn", "la", "le", "mac",
    "mc", "o", "st", "van", "von",
];

/// Fold a name into tokens, dropping a leading title and a trailing suffix.
fn tokens_of(raw: &str, drop_titles: bool) -> (Vec<String>, Option<Suffix>) {
    let mut tokens: Vec<String> = fold(raw)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| if drop_titles { repair_given(t) } else { undigit(t, 'l') })
        .collect();
    if drop_titles {
        while tokens.len() > 1 && tokens.first().is_some_and(|t| TITLES.contains(&t.as_str())) {
            tokens.remove(0);
        }
    }
    let mut suffix = None;
    while tokens.len() > 1 {
        match tokens.last().and_then(|t| Suffix::parse(t)) {
            Some(s) => {
                suffix.get_or_insert(s);
                tokens.pop();
            }
            None => break,
        }
    }
    (tokens, suffix)
}

/// A prepared given name.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenName {
    /// Folded tokens, title and suffix removed; never empty.
    pub(crate) tokens: Vec<String>,
    /// Canonical form of the first token (nickname group head, or the token).
    pub(crate) canonical: String,
    /// Nickname group ids of the first token (sorted; first `group_count` used).
    pub(crate) groups: [u16; MAX_GROUPS],
    /// Number of used entries in `groups`.
    pub(crate) group_count: usize,
    /// True when the first token is in the name table.
    pub(crate) known: bool,
    /// For an unknown first token: the groups of known names one edit away (its likely
    /// typo); first `near_count` used.
    pub(crate) near: [u16; MAX_GROUPS],
    /// Number of used entries in `near`.
    pub(crate) near_count: usize,
}

impl GivenName {
    /// Prepare a raw given name; `None` when nothing is left after folding.
    pub(crate) fn prepare(raw: &str) -> (Option<GivenName>, Option<Suffix>) {
        let (tokens, suffix) = tokens_of(raw, true);
        let Some(first) = tokens.first() else {
            return (None, suffix);
        };
        let (groups, group_count) = nicknames::groups(first);
        let canonical = nicknames::canonical(first).map_or_else(|| first.clone(), str::to_string);
        let known = group_count > 0;
        let (near, near_count) = if known {
            ([u16::MAX; MAX_GROUPS], 0)
        } else {
            nicknames::near_groups(first)
        };
        let name = GivenName {
            tokens,
            canonical,
            groups,
            group_count,
            known,
            near,
            near_count,
        };
        (Some(name), suffix)
    }

    /// The first given name (folded).
    pub(crate) fn first(&self) -> &str {
        self.tokens.first().map_or("", String::as_str)
    }

    /// True when the first given name is a single letter.
    pub(crate) fn is_initial(&self) -> bool {
        self.first().len() == 1
    }

    /// Group ids in use.
    pub(crate) fn group_ids(&self) -> &[u16] {
        self.groups.get(..self.group_count).unwrap_or(&[])
    }

    /// Groups of the known names one edit away (unknown names only).
    fn near_ids(&self) -> &[u16] {
        self.near.get(..self.near_count).unwrap_or(&[])
    }

    fn second(&self) -> Option<&str> {
        self.tokens.get(1).map(String::as_str)
    }

    fn others(&self) -> &[String] {
        self.tokens.get(1..).unwrap_or(&[])
    }
}

/// A prepared family name.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyName {
    /// Folded tokens, suffix removed; never empty.
    pub(crate) tokens: Vec<String>,
    /// Tokens joined without spaces: the exact-match and frequency key.
    pub(crate) compact: String,
    /// NYSIIS code of `compact`.
    pub(crate) phonetic: String,
}

impl FamilyName {
    /// Prepare a raw family name; `None` when nothing is left after folding.
    pub(crate) fn prepare(raw: &str) -> (Option<FamilyName>, Option<Suffix>) {
        let (tokens, suffix) = tokens_of(raw, false);
        if tokens.is_empty() {
            return (None, suffix);
        }
        let compact = tokens.concat();
        let phonetic = nysiis(&compact);
        (
            Some(FamilyName {
                tokens,
                compact,
                phonetic,
            }),
            suffix,
        )
    }
}

/// Same letter as the other's first letter, for a single-letter token.
fn initial_agrees(initial: &str, other: &str) -> bool {
    initial.len() == 1 && other.as_bytes().first() == initial.as_bytes().first()
}

/// Two tokens are compatible: equal, initial of one another, or nicknames.
fn tokens_compatible(a: &str, b: &str) -> bool {
    if a == b || initial_agrees(a, b) || initial_agrees(b, a) {
        return true;
    }
    let (ga, na) = nicknames::groups(a);
    let (gb, nb) = nicknames::groups(b);
    nicknames::share_group(ga.get(..na).unwrap_or(&[]), gb.get(..nb).unwrap_or(&[]))
}

/// Both records give a second given name and the two are not compatible.
fn second_name_conflict(a: &GivenName, b: &GivenName) -> bool {
    match (a.second(), b.second()) {
        (Some(x), Some(y)) => !tokens_compatible(x, y),
        _ => false,
    }
}

/// Compare two given names (see the level docs in [`gl`]).
pub(crate) fn compare_given(a: &GivenName, b: &GivenName) -> u8 {
    let (a1, b1) = (a.first(), b.first());
    let conflict = second_name_conflict(a, b);
    if a1 == b1 {
        return if a.is_initial() {
            gl::INITIAL
        } else if conflict {
            gl::DIFFERENT
        } else {
            gl::EXACT
        };
    }
    if a.is_initial() || b.is_initial() {
        let agrees = initial_agrees(a1, b1) || initial_agrees(b1, a1);
        return if agrees && !conflict {
            gl::INITIAL
        } else {
            gl::DIFFERENT
        };
    }
    if nicknames::share_group(a.group_ids(), b.group_ids()) {
        return if conflict { gl::DIFFERENT } else { gl::NICKNAME };
    }
    // A typo of a form of the other's name (Ddick/Richard, Sall/Sarah): a typo, not a nickname.
    let near =
        nicknames::share_group(a.near_ids(), b.group_ids()) || nicknames::share_group(a.group_ids(), b.near_ids());
    if near && !conflict {
        return gl::TYPO;
    }
    if a.others().iter().any(|t| t == b1) || b.others().iter().any(|t| t == a1) {
        return gl::MIDDLE_NAME;
    }
    if a.known && b.known {
        return gl::DIFFERENT;
    }
    let s = jaro_winkler(a1.as_bytes(), b1.as_bytes());
    // One keystroke apart (Laura/Laaura) is a typo even where Jaro–Winkler is low.
    let one_edit = || a1.len().min(b1.len()) >= 4 && within_one_edit(a1.as_bytes(), b1.as_bytes());
    if conflict {
        gl::DIFFERENT
    } else if s >= 0.92 || one_edit() {
        gl::TYPO
    } else if s >= 0.80 {
        gl::SIMILAR
    } else {
        gl::DIFFERENT
    }
}

/// True when the shorter token list is contained in the longer one and they
/// share a token that is not a particle (Smith-Jones/Smith, da Silva/Silva).
fn contains_part(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() < long.len()
        && short.iter().all(|t| long.contains(t))
        && short.iter().any(|t| t.len() >= 2 && !PARTICLES.contains(&t.as_str()))
}

/// Compare two family names (see the level docs in [`fl`]).
pub(crate) fn compare_family(a: &FamilyName, b: &FamilyName) -> u8 {
    if a.compact == b.compact {
        return fl::EXACT;
    }
    if contains_part(&a.tokens, &b.tokens) {
        return fl::PARTIAL;
    }
    let one_edit =
        a.compact.len().min(b.compact.len()) >= 5 && within_one_edit(a.compact.as_bytes(), b.compact.as_bytes());
    if one_edit || jaro_winkler(a.compact.as_bytes(), b.compact.as_bytes()) >= 0.92 {
        return fl::TYPO;
    }
    if !a.phonetic.is_empty() && a.phonetic == b.phonetic {
        return fl::PHONETIC;
    }
    fl::DIFFERENT
}

/// A given name and a family name denote the same name (exact or nickname).
fn given_is_family(g: &GivenName, f: &FamilyName) -> bool {
    let first = g.first();
    if first.len() < 2 {
        return false;
    }
    if first == f.compact || f.tokens.first().is_some_and(|t| t == first) {
        return true;
    }
    let (gf, nf) = nicknames::groups(&f.compact);
    nicknames::share_group(g.group_ids(), gf.get(..nf).unwrap_or(&[]))
}

/// A given name and a family name are alike enough to be one name with a typo.
fn given_near_family(g: &GivenName, f: &FamilyName) -> bool {
    let first = g.first();
    first.len() >= 3 && jaro_winkler(first.as_bytes(), f.compact.as_bytes()) >= 0.92
}

/// True when record A's given name is record B's family name and vice versa
/// (one of the two may carry a typo).
pub(crate) fn swapped(ag: &GivenName, af: &FamilyName, bg: &GivenName, bf: &FamilyName) -> bool {
    let (ab, ba) = (given_is_family(ag, bf), given_is_family(bg, af));
    (ab && (ba || given_near_family(bg, af))) || (ba && given_near_family(ag, bf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(s: &str) -> GivenName {
        GivenName::prepare(s).0.unwrap_or_else(|| panic!("no name in {s:?}"))
    }

    fn family(s: &str) -> FamilyName {
        FamilyName::prepare(s).0.unwrap_or_else(|| panic!("no name in {s:?}"))
    }

    fn g(a: &str, b: &str) -> &'static str {
        let l = compare_given(&given(a), &given(b));
        assert_eq!(l, compare_given(&given(b), &given(a)), "{a} {b} not symmetric");
        gl::NAMES[usize::from(l)]
    }

    fn f(a: &str, b: &str) -> &'static str {
        let l = compare_family(&family(a), &family(b));
        assert_eq!(l, compare_family(&family(b), &family(a)), "{a} {b} not symmetric");
        fl::NAMES[usize::from(l)]
    }

    #[test]
    fn given_levels() {
        for (a, b, want) in [
            ("Jon", "JON", "exact"),
            ("Zoë", "zoe", "exact"),
            ("José", "Jose", "exact"),
            ("Mary-Jane", "Mary Jane", "exact"),
            ("Mr John", "john", "exact"),
            ("Jon", "Jonathan", "nickname"),
            ("Bill", "William", "nickname"),
            ("Peggy", "Margaret", "nickname"),
            ("Bob", "Robert", "nickname"),
            ("Liz", "Elizabeth", "nickname"),
            ("Jim", "James", "nickname"),
            ("Kate", "Catherine", "nickname"),
            ("J", "John", "initial"),
            ("J.", "James", "initial"),
            ("J", "J", "initial"),
            ("J", "K", "different"),
            ("J", "Mary", "different"),
            ("John Paul", "Paul", "middle_name"),
            ("Jonathon", "Jonathen", "jaro_winkler_0.92"),
            ("Oluwaseyi", "Oluwaseye", "jaro_winkler_0.92"),
            ("Laura", "Laaura", "jaro_winkler_0.92"),
            ("Ngozi", "Nngozi", "jaro_winkler_0.92"),
            ("Ana", "Anna", "jaro_winkler_0.92"),
            ("Ife", "Ifa", "jaro_winkler_0.80"),
            ("Daniel", "Danielle", "different"),
            ("Paul", "Paula", "different"),
            ("Louis", "Louise", "different"),
            ("Oliver", "Harry", "different"),
            ("Mary Jane", "Mary Anne", "different"),
            ("John A", "John B", "different"),
            ("John A", "John Andrew", "exact"),
            ("Mary Jane", "Mary", "exact"),
            // OCR misreadings.
            ("Jas0n", "Jason", "exact"),
            ("W1LLIAM", "William", "exact"),
            ("1SABELLA", "Isabella", "exact"),
            ("Ernma", "Emma", "exact"),
            ("Sarn", "Sam", "exact"),
            ("Clarence", "Clarence", "exact"),
            ("Wi11iam", "William", "exact"),
            ("Wi11iarn", "William", "exact"),
            ("Sa5kia", "Saskia", "exact"),
            // A typo of a nickname.
            ("Ddick", "Richard", "jaro_winkler_0.92"),
            ("Sall", "Sarah", "jaro_winkler_0.92"),
            ("Beca", "Rebecca", "jaro_winkler_0.92"),
            ("Ddick", "Daniel", "different"),
        ] {
            assert_eq!(g(a, b), want, "{a} / {b}");
        }
    }

    #[test]
    fn family_levels() {
        for (a, b, want) in [
            ("Smith", "SMITH", "exact"),
            ("O'Brien", "OBrien", "exact"),
            ("McDonald", "Mc Donald", "exact"),
            ("Müller", "Muller", "exact"),
            ("Smith-Jones", "Smith Jones", "exact"),
            ("Smith-Jones", "Smith", "partial"),
            ("da Silva", "Silva", "partial"),
            ("van Dyke", "van", "different"),
            ("Featherstonehaugh", "Featherstonhaugh", "jaro_winkler_0.92"),
            ("Thompson", "Thomson", "jaro_winkler_0.92"),
            ("Smith", "Smyth", "jaro_winkler_0.92"),
            ("Smith", "Smixh", "jaro_winkler_0.92"),
            ("Hall", "Hill", "phonetic"),
            ("Gibson", "Gibosn", "jaro_winkler_0.92"),
            ("Mohammed", "Muhammad", "phonetic"),
            ("Smith", "Jones", "different"),
            ("8arber", "Barber", "exact"),
            ("Wa1sh", "WALSH", "exact"),
            ("C0x", "Cox", "exact"),
        ] {
            assert_eq!(f(a, b), want, "{a} / {b}");
        }
    }

    #[test]
    fn suffixes_and_titles() {
        let (n, s) = GivenName::prepare("Dr John Jr.");
        assert_eq!(n.map(|n| n.tokens), Some(vec!["john".to_string()]));
        assert_eq!(s, Some(Suffix::Junior));
        let (n, s) = FamilyName::prepare("Smith Snr");
        assert_eq!(n.map(|n| n.compact), Some("smith".to_string()));
        assert_eq!(s, Some(Suffix::Senior));
        assert_eq!(FamilyName::prepare("Smith III").1, Some(Suffix::Third));
        // A lone token is kept as the name, never dropped as a title/suffix.
        assert_eq!(
            GivenName::prepare("Miss").0.map(|n| n.canonical),
            Some("miss".to_string())
        );
        assert_eq!(FamilyName::prepare("Jr").1, None);
        assert!(GivenName::prepare(" - ").0.is_none());
    }

    #[test]
    fn swaps() {
        let (ag, af) = (given("John"), family("Smith"));
        let (bg, bf) = (given("Smith"), family("John"));
        assert!(swapped(&ag, &af, &bg, &bf) && swapped(&bg, &bf, &ag, &af));
        let (cg, cf) = (given("Smith"), family("Jon"));
        assert!(swapped(&ag, &af, &cg, &cf));
        // One side mistyped.
        let (dg, df) = (given("Smith"), family("Jhon"));
        assert!(swapped(&ag, &af, &dg, &df) && swapped(&dg, &df, &ag, &af));
        let (eg, ef) = (given("Smiht"), family("John"));
        assert!(swapped(&ag, &af, &eg, &ef));
        // Both mistyped, or another name: not a swap.
        let (hg, hf) = (given("Smiht"), family("Jhon"));
        assert!(!swapped(&ag, &af, &hg, &hf));
        let (kg, kf) = (given("Jones"), family("John"));
        assert!(!swapped(&ag, &af, &kg, &kf));
        assert!(!swapped(&ag, &af, &ag, &af));
    }
}
