//! The errors departmental records carry, and the ways departments write the same value: pure
//! functions of a value and a random stream, so the same seed gives the same copies.

use chrono::{Datelike, NaiveDate};

use crate::synth::rng::SplitMix64;

/// Formal given names and their usual short forms. Every pair is also in the matching engine's
/// nickname table (`src/matching/nickname_table.rs`), so a nickname is a variant the engine is
/// meant to recognise, not an unrelated name.
const NICKNAMES: &[(&str, &[&str])] = &[
    ("Abigail", &["Abi", "Abby"]),
    ("Alexander", &["Alex", "Sandy"]),
    ("Alexandra", &["Alex", "Sandy"]),
    ("Alfred", &["Alf", "Alfie"]),
    ("Amelia", &["Millie"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Anthony", &["Tony"]),
    ("Benjamin", &["Ben", "Benji"]),
    ("Catherine", &["Kate", "Cathy"]),
    ("Christopher", &["Chris", "Kit"]),
    ("Daniel", &["Dan", "Danny"]),
    ("David", &["Dave", "Davy"]),
    ("Deborah", &["Debbie", "Deb"]),
    ("Edward", &["Ed", "Ted", "Eddie"]),
    ("Eleanor", &["Ellie", "Nell"]),
    ("Elizabeth", &["Liz", "Beth", "Betty"]),
    ("Emily", &["Em", "Emmy"]),
    ("Florence", &["Flo"]),
    ("Frederick", &["Fred", "Freddie"]),
    ("Henry", &["Harry", "Hal"]),
    ("Isabella", &["Bella", "Izzy"]),
    ("Jacob", &["Jake"]),
    ("James", &["Jim", "Jamie"]),
    ("Jennifer", &["Jen", "Jenny"]),
    ("Jessica", &["Jess"]),
    ("John", &["Jack", "Johnny"]),
    ("Jonathan", &["Jon", "Jonny"]),
    ("Joseph", &["Joe"]),
    ("Joshua", &["Josh"]),
    ("Margaret", &["Peggy", "Maggie", "Meg"]),
    ("Matthew", &["Matt"]),
    ("Michael", &["Mike", "Mick"]),
    ("Nicholas", &["Nick"]),
    ("Oliver", &["Ollie"]),
    ("Olivia", &["Liv"]),
    ("Patricia", &["Pat", "Trish"]),
    ("Peter", &["Pete"]),
    ("Rebecca", &["Becky", "Becca"]),
    ("Richard", &["Rich", "Dick"]),
    ("Robert", &["Rob", "Bob", "Bobby"]),
    ("Samantha", &["Sam"]),
    ("Samuel", &["Sam"]),
    ("Sarah", &["Sally"]),
    ("Stephen", &["Steve"]),
    ("Susan", &["Sue"]),
    ("Theodore", &["Theo", "Teddy"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Victoria", &["Vicky", "Tori"]),
    ("William", &["Will", "Bill", "Billy"]),
];

/// Characters (or pairs) that optical character recognition confuses, both ways.
const OCR_CONFUSIONS: &[(&str, &str)] = &[
    ("rn", "m"),
    ("m", "rn"),
    ("O", "0"),
    ("0", "O"),
    ("o", "0"),
    ("l", "1"),
    ("I", "1"),
    ("1", "l"),
    ("S", "5"),
    ("B", "8"),
    ("cl", "d"),
];

/// A short form of a formal given name, or the formal name of a short form ("Bill" →
/// "William"); `None` when the name is not in the table.
pub fn nickname(given: &str, rng: &mut SplitMix64) -> Option<&'static str> {
    if let Some((_, forms)) = NICKNAMES.iter().find(|(formal, _)| formal.eq_ignore_ascii_case(given)) {
        return rng.pick(forms).copied();
    }
    NICKNAMES
        .iter()
        .find(|(_, forms)| forms.iter().any(|f| f.eq_ignore_ascii_case(given)))
        .map(|(formal, _)| *formal)
}

/// The initial of a given name, with a full stop or without ("J." or "J"); the name itself
/// when it is blank.
pub fn initial(given: &str, dotted: bool) -> String {
    match given.trim().chars().next() {
        Some(c) if dotted => format!("{c}."),
        Some(c) => c.to_string(),
        None => given.to_string(),
    }
}

/// A lower-case ASCII letter other than `not` (compared without case).
fn other_letter(rng: &mut SplitMix64, not: char) -> char {
    let letter = |n: u64| char::from(b'a' + (n % 26) as u8);
    let not = not.to_ascii_lowercase();
    if not.is_ascii_lowercase() {
        // One of the 25 letters after `not`, going round the alphabet.
        letter(u64::from(not as u8 - b'a') + 1 + rng.below(25))
    } else {
        letter(rng.below(26))
    }
}

/// Replace the character at `at` by another letter in the same case.
fn substitute(chars: &mut [char], at: usize, rng: &mut SplitMix64) {
    if let Some(c) = chars.get_mut(at) {
        // Any ASCII letter differs from a character that is not one ('ö', '-', '\'').
        let letter = other_letter(rng, *c);
        *c = if c.is_uppercase() {
            letter.to_ascii_uppercase()
        } else {
            letter
        };
    }
}

/// One typing error: a letter replaced, dropped, doubled, or two neighbours exchanged. The
/// result always differs from the input by exactly one such edit; strings shorter than two
/// characters are returned unchanged.
pub fn typo(s: &str, rng: &mut SplitMix64) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n < 2 {
        return s.to_string();
    }
    let at = rng.below(n as u64) as usize;
    match rng.below(4) {
        0 => substitute(&mut chars, at, rng),
        1 if n > 2 => {
            chars.remove(at);
        }
        2 => {
            let c = chars[at];
            chars.insert(at, c);
        }
        3 => {
            // Exchange two neighbours that differ (exchanging equal ones changes nothing).
            let start = at.min(n - 2);
            match (start..n - 1).chain(0..start).find(|&i| chars[i] != chars[i + 1]) {
                Some(i) => chars.swap(i, i + 1),
                None => substitute(&mut chars, at, rng),
            }
        }
        _ => substitute(&mut chars, at, rng),
    }
    chars.into_iter().collect()
}

/// One OCR misreading (rn↔m, O↔0, l↔1, S→5, B→8, cl→d) at a random place where one applies;
/// the input unchanged when none does.
pub fn ocr(s: &str, rng: &mut SplitMix64) -> String {
    let spots: Vec<(usize, &str, &str)> = OCR_CONFUSIONS
        .iter()
        .flat_map(|(from, to)| s.match_indices(from).map(move |(at, _)| (at, *from, *to)))
        .collect();
    match rng.pick(&spots) {
        Some((at, from, to)) => format!("{}{to}{}", &s[..*at], &s[at + from.len()..]),
        None => s.to_string(),
    }
}

/// The date with day and month exchanged, when that is another valid date.
pub fn swap_day_month(d: NaiveDate) -> Option<NaiveDate> {
    if d.day() == d.month() {
        return None;
    }
    NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
}

/// A mistyped date of birth: the day or the year one off (a neighbouring key), never a date
/// after `latest`.
pub fn date_typo(d: NaiveDate, latest: NaiveDate, rng: &mut SplitMix64) -> NaiveDate {
    let moved = match rng.below(4) {
        0 => d.succ_opt(),
        1 => d.pred_opt(),
        2 => d.with_year(d.year() + 1),
        _ => d.with_year(d.year() - 1),
    };
    moved.filter(|m| *m <= latest).or_else(|| d.pred_opt()).unwrap_or(d)
}

/// How a department writes names and addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// As held ("McDonald").
    AsIs,
    /// "MCDONALD", as old systems do.
    Upper,
    /// "mcdonald", as web forms get them.
    Lower,
}

/// Write `s` in `case`.
pub fn in_case(s: &str, case: Case) -> String {
    match case {
        Case::AsIs => s.to_string(),
        Case::Upper => s.to_uppercase(),
        Case::Lower => s.to_lowercase(),
    }
}

/// How a department writes dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `03/04/1980`.
    DayFirst,
    /// `1980-04-03`.
    Iso,
    /// `3 Apr 1980`.
    MonthName,
}

/// Write `d` in `style` (every style is one the import reads, day first).
pub fn format_date(d: NaiveDate, style: DateStyle) -> String {
    match style {
        DateStyle::DayFirst => d.format("%d/%m/%Y").to_string(),
        DateStyle::Iso => d.format("%Y-%m-%d").to_string(),
        DateStyle::MonthName => d.format("%-d %b %Y").to_string(),
    }
}

/// How a department writes UK phone numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneStyle {
    /// `07700 900123` / `020 7946 0123`.
    National,
    /// `+44 7700 900123`.
    International,
    /// `+447700900123`, as stored.
    Compact,
}

/// Write an E.164 number in `style`; numbers outside the UK are written as given.
pub fn format_phone(e164: &str, style: PhoneStyle) -> String {
    let Some(nsn) = e164.strip_prefix("+44").filter(|n| n.len() == 10) else {
        return e164.to_string();
    };
    // Mobiles are grouped 4 + 6 ("7700 900123"), London numbers 2 + 4 + 4 ("20 7946 0123").
    let grouped = match (nsn.get(..2), nsn.get(2..6), nsn.get(6..)) {
        (Some("20"), Some(mid), Some(end)) => format!("20 {mid} {end}"),
        _ => match (nsn.get(..4), nsn.get(4..)) {
            (Some(head), Some(tail)) => format!("{head} {tail}"),
            _ => nsn.to_string(),
        },
    };
    match style {
        PhoneStyle::National => format!("0{grouped}"),
        PhoneStyle::International => format!("+44 {grouped}"),
        PhoneStyle::Compact => e164.to_string(),
    }
}

/// How a department writes postcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostcodeStyle {
    /// `EC2V 7HH`.
    Spaced,
    /// `EC2V7HH`.
    Unspaced,
    /// `ec2v 7hh`.
    Lower,
}

/// Write a normalised postcode in `style`.
pub fn format_postcode(postcode: &str, style: PostcodeStyle) -> String {
    match style {
        PostcodeStyle::Spaced => postcode.to_string(),
        PostcodeStyle::Unspaced => postcode.replace(' ', ""),
        PostcodeStyle::Lower => postcode.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import_core::{parse_date, DateOrder};
    use crate::normalize::phone::normalize_phone;
    use crate::normalize::postcode::normalize_postcode;
    use proptest::prelude::*;

    /// Optimal string alignment distance (edits: replace, delete, insert, exchange neighbours).
    fn osa(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        d[0] = (0..=b.len()).collect();
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        d[a.len()][b.len()]
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn nicknames_go_both_ways_and_unknown_names_have_none() {
        let mut rng = SplitMix64::new(1);
        assert_eq!(nickname("Bill", &mut rng), Some("William"));
        assert_eq!(nickname("peggy", &mut rng), Some("Margaret"));
        assert_eq!(nickname("Jon", &mut rng), Some("Jonathan"));
        for _ in 0..50 {
            let short = nickname("William", &mut rng);
            assert!(matches!(short, Some("Will" | "Bill" | "Billy")), "{short:?}");
        }
        assert_eq!(nickname("Zebedee", &mut rng), None);
        assert_eq!(nickname("", &mut rng), None);
    }

    #[test]
    fn initials() {
        assert_eq!(initial("Jonathan", true), "J.");
        assert_eq!(initial(" Émile", false), "É");
        assert_eq!(initial("", true), "");
    }

    #[test]
    fn ocr_misreads_one_spot_or_nothing() {
        let mut rng = SplitMix64::new(3);
        assert_eq!(ocr("Hamm", &mut SplitMix64::new(0)).len(), 5);
        for _ in 0..20 {
            let out = ocr("Barnes", &mut rng);
            assert!(
                ["8arnes", "Bames", "Barnes"].contains(&out.as_str()) && out != "Barnes",
                "{out}"
            );
        }
        assert_eq!(ocr("Kay", &mut rng), "Kay");
        assert_eq!(ocr("", &mut rng), "");
        let p = ocr("SO14 0AA", &mut rng);
        assert_ne!(p, "SO14 0AA");
    }

    #[test]
    fn day_month_swaps() {
        assert_eq!(swap_day_month(date(1980, 4, 3)), Some(date(1980, 3, 4)));
        assert_eq!(swap_day_month(date(1980, 4, 4)), None);
        assert_eq!(swap_day_month(date(1980, 4, 13)), None);
    }

    #[test]
    fn date_typos_move_by_one_and_stay_in_the_past() {
        let mut rng = SplitMix64::new(9);
        let latest = date(2000, 1, 1);
        for _ in 0..200 {
            let d = date(1999, 12, 31);
            let t = date_typo(d, latest, &mut rng);
            assert!(t != d && t <= latest, "{t}");
            let days = (t - d).num_days().abs();
            assert!(days == 1 || (365..=366).contains(&days), "{t}");
        }
    }

    #[test]
    fn every_written_form_reads_back_as_the_value() {
        let today = date(2026, 1, 1);
        for d in [date(1980, 4, 3), date(1999, 12, 31), date(1931, 1, 9)] {
            for style in [DateStyle::DayFirst, DateStyle::Iso, DateStyle::MonthName] {
                let written = format_date(d, style);
                assert_eq!(parse_date(&written, DateOrder::DayFirst, today), Ok(d), "{written}");
            }
        }
        for e164 in ["+447700900123", "+442079460123", "+441632960000"] {
            for style in [PhoneStyle::National, PhoneStyle::International, PhoneStyle::Compact] {
                let written = format_phone(e164, style);
                assert_eq!(normalize_phone(&written).ok().as_deref(), Some(e164), "{written}");
            }
        }
        assert_eq!(format_phone("+447700900123", PhoneStyle::National), "07700 900123");
        assert_eq!(
            format_phone("+442079460123", PhoneStyle::International),
            "+44 20 7946 0123"
        );
        for style in [PostcodeStyle::Spaced, PostcodeStyle::Unspaced, PostcodeStyle::Lower] {
            let written = format_postcode("EC2V 7HH", style);
            assert_eq!(
                normalize_postcode(&written).ok().as_deref(),
                Some("EC2V 7HH"),
                "{written}"
            );
        }
        assert_eq!(in_case("McDonald", Case::Upper), "MCDONALD");
        assert_eq!(in_case("McDonald", Case::Lower), "mcdonald");
    }

    proptest! {
        #[test]
        fn a_typo_is_exactly_one_edit(s in "[A-Za-z'é -]{2,20}", seed in any::<u64>()) {
            let t = typo(&s, &mut SplitMix64::new(seed));
            prop_assert_eq!(osa(&s, &t), 1, "{} -> {}", s, t);
        }

        #[test]
        fn noise_never_panics_on_any_text(s in ".{0,30}", seed in any::<u64>()) {
            let mut rng = SplitMix64::new(seed);
            let short = s.chars().count() < 2;
            prop_assert_eq!(typo(&s, &mut rng) == s, short);
            let _ = ocr(&s, &mut rng);
            let _ = nickname(&s, &mut rng);
            let _ = initial(&s, seed % 2 == 0);
        }
    }
}
