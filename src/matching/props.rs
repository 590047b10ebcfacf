//! Property tests of the whole pipeline.
//!
//! Policy: properties that must hold for *any* input: symmetry, no panics,
//! identical well-identified records link, a disagreeing date of birth never
//! helps, and lightly perturbed copies of a record stay blockable together.

use super::record::{MatchRecord, Prepared};
use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z][a-z]{1,9}",
        prop::sample::select(vec![
            "Zoë",
            "José",
            "O'Brien",
            "Smith-Jones",
            "Jean-Luc",
            "Ng",
            "Bill",
            "William",
            "Mary Jane",
        ])
        .prop_map(str::to_string),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1920i32..2020, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default())
}

fn contact() -> impl Strategy<Value = (Vec<String>, Vec<String>, Option<String>)> {
    prop_oneof![
        "[a-z]{3,8}[0-9]{0,3}".prop_map(|l| (vec![format!("{l}@example.net")], vec![], None)),
        // A real-looking mobile: the matcher ignores filler numbers with fewer than 4 distinct
        // digits (`+447177711144`), which would not identify anyone.
        "[1-9][0-9]{8}"
            .prop_filter("a filler number", |n| {
                let mut digits: Vec<char> = format!("447{n}").chars().collect();
                digits.sort_unstable();
                digits.dedup();
                digits.len() >= 4
            })
            .prop_map(|n| (vec![], vec![format!("07{n}")], None)),
        prop::sample::select(vec!["EC2V 7HH", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT"]).prop_map(|p| (
            vec![],
            vec![],
            Some(p.to_string())
        )),
    ]
}

/// A well-identified record: given + family + dob + one contact point.
fn identified() -> impl Strategy<Value = MatchRecord> {
    (name(), name(), date(), contact()).prop_map(|(g, f, dob, (emails, phones, postcode))| MatchRecord {
        given: Some(g),
        family: Some(f),
        dob: Some(dob),
        emails,
        phones,
        postcode,
        address_line: None,
        organisation: None,
    })
}

/// Any record, fields drawn from arbitrary strings.
fn arbitrary() -> impl Strategy<Value = MatchRecord> {
    let s = || prop::option::of(any::<String>());
    (
        s(),
        s(),
        prop::option::of(date()),
        prop::collection::vec(any::<String>(), 0..3),
        s(),
        s(),
        s(),
    )
        .prop_map(
            |(given, family, dob, emails, postcode, address_line, organisation)| MatchRecord {
                given,
                family,
                dob,
                phones: emails.iter().map(|e| e.chars().rev().collect()).collect(),
                emails,
                postcode,
                address_line,
                organisation,
            },
        )
}

/// Case, spacing and phone-format changes, and a nickname for some names.
fn perturb(r: &MatchRecord, flip: bool) -> MatchRecord {
    let nick = |g: &str| match g {
        "William" => "Bill".to_string(),
        "Mary Jane" => "MARY-JANE".to_string(),
        other => other.to_uppercase(),
    };
    MatchRecord {
        given: r.given.as_deref().map(nick),
        family: r
            .family
            .as_deref()
            .map(|f| if flip { f.to_lowercase() } else { format!("  {f} ") }),
        emails: r.emails.iter().map(|e| e.to_uppercase()).collect(),
        phones: r
            .phones
            .iter()
            .map(|p| format!("+44 {}", p.trim_start_matches('0')))
            .collect(),
        postcode: r.postcode.as_deref().map(|p| p.replace(' ', "").to_lowercase()),
        ..r.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn scoring_is_symmetric_and_total(a in arbitrary(), b in arbitrary(), c in identified()) {
        let model = Model::default_uk();
        for (x, y) in [(&a, &b), (&a, &c), (&c, &b)] {
            let (px, py) = (Prepared::from_record(x), Prepared::from_record(y));
            prop_assert_eq!(compare(&px, &py), compare(&py, &px));
            let (s1, s2) = (model.score(&px, &py, &NoFrequencies), model.score(&py, &px, &NoFrequencies));
            prop_assert_eq!(s1.match_weight.to_bits(), s2.match_weight.to_bits());
            prop_assert_eq!(s1.guards, s2.guards);
            prop_assert!(s1.match_weight.is_finite() && (0.0..=1.0).contains(&s1.probability));
            let _ = blocking_keys(&px);
        }
    }

    #[test]
    fn identical_identified_records_link(r in identified()) {
        let p = Prepared::from_record(&r);
        let s = Model::default_uk().score(&p, &p.clone(), &NoFrequencies);
        prop_assert_eq!(decide(&s, &Thresholds::default()), Decision::Link, "{:?} {:#?}", r, s);
    }

    #[test]
    fn a_disagreeing_dob_never_helps(r in identified(), other in identified(), shift in 2i32..40) {
        let model = Model::default_uk();
        let without = MatchRecord { dob: None, ..other.clone() };
        let dob = r.dob.and_then(|d| NaiveDate::from_ymd_opt(chrono::Datelike::year(&d) - shift, 1 + (chrono::Datelike::month(&d) % 12), 28));
        let with = MatchRecord { dob, ..other };
        let (pr, pw, pwo) = (Prepared::from_record(&r), Prepared::from_record(&with), Prepared::from_record(&without));
        let c = compare(&pr, &pw);
        prop_assume!(c.level(Field::Dob) == Some(field::dob::DIFFERENT));
        let s_with = model.score(&pr, &pw, &NoFrequencies);
        let s_without = model.score(&pr, &pwo, &NoFrequencies);
        prop_assert!(s_with.match_weight <= s_without.match_weight);
        let t = Thresholds::default();
        prop_assert!(decide(&s_with, &t).rank() <= decide(&s_without, &t).rank());
    }

    #[test]
    fn perturbed_copies_share_a_block(r in identified(), flip in any::<bool>()) {
        let p = perturb(&r, flip);
        let ka = blocking_keys(&Prepared::from_record(&r));
        let kb = blocking_keys(&Prepared::from_record(&p));
        prop_assert!(ka.iter().any(|k| kb.contains(k)), "{:?}\n{:?}", ka, kb);
        let s = Model::default_uk().score(&Prepared::from_record(&r), &Prepared::from_record(&p), &NoFrequencies);
        prop_assert_eq!(decide(&s, &Thresholds::default()), Decision::Link);
    }
}
