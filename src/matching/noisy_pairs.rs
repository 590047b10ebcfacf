//! Scenarios for the noise departmental copies carry (OCR, neighbouring-key
//! dates, an initial with a personal mobile, a move) next to the look-alikes
//! the same rules must keep apart.
//!
//! Policy: as in [`super::scenarios`], each case states what a careful human
//! would decide; a relaxation for one kind of noise is tested with the
//! look-alike it could wrongly join.

use super::record::{MatchRecord, Prepared};
use super::*;
use chrono::NaiveDate;

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn run(a: &MatchRecord, b: &MatchRecord) -> (Score, Decision) {
    let (pa, pb) = (Prepared::from_record(a), Prepared::from_record(b));
    let s = Model::default_uk().score(&pa, &pb, &NoFrequencies);
    assert_eq!(
        s.probability,
        Model::default_uk().score(&pb, &pa, &NoFrequencies).probability
    );
    let d = decide(&s, &Thresholds::default());
    (s, d)
}

/// A twin's family: one address, one landline, one family mailbox.
fn family(given: &str, dob: Option<NaiveDate>, mobile: &str) -> MatchRecord {
    MatchRecord {
        given: Some(given.into()),
        family: Some("Okonjo".into()),
        dob,
        emails: vec!["theokonjos@btinternet.com".into()],
        phones: vec!["020 7946 0000".into(), mobile.into()],
        postcode: Some("SE15 3NR".into()),
        address_line: Some("70 Queen's Road".into()),
        organisation: None,
    }
}

#[test]
fn an_initial_with_the_same_mobile_and_date_of_birth_links() {
    let lily = family("Lily", date(1942, 1, 7), "07377 681234");
    let initial = MatchRecord {
        given: Some("L.".into()),
        ..lily.clone()
    };
    let (s, d) = run(&lily, &initial);
    assert_eq!(d, Decision::Link, "{s:#?}");
    assert!(s.guards.is_empty(), "{:?}", s.guards);
    // Her twin sister Laura, written "L.", has her own mobile: the family's mailbox and
    // landline do not settle it.
    let twin = MatchRecord {
        phones: vec!["020 7946 0000".into(), "07377 999999".into()],
        ..initial.clone()
    };
    let (s, d) = run(&lily, &twin);
    assert_eq!(d, Decision::Review, "{s:#?}");
    assert!(s.guards.contains(Guard::GivenInitialOnly));
    // The same mobile without a date of birth to agree: still only a review.
    let undated = MatchRecord { dob: None, ..initial };
    assert_eq!(run(&lily, &undated).1, Decision::Review);
}

#[test]
fn twins_with_names_one_letter_apart_are_not_linked() {
    // Unknown names one keystroke apart read as a typo, which is not a firm identity.
    let a = family("Adaeze", date(2001, 3, 9), "07700 900111");
    let b = family("Adaeza", date(2001, 3, 9), "07700 900222");
    let (s, d) = run(&a, &b);
    assert_eq!(s.contributions[0].level, "jaro_winkler_0.92");
    assert_eq!(d, Decision::Review, "{s:#?}");
    assert!(s.guards.contains(Guard::HouseholdEvidenceOnly));
}

#[test]
fn a_date_of_birth_a_day_or_a_year_out_is_a_typo_not_a_conflict() {
    let base = MatchRecord {
        dob: date(1979, 12, 31),
        ..family("Chidi", None, "07700 900333")
    };
    for dob in [date(1980, 1, 1), date(1980, 12, 31), date(1979, 12, 30)] {
        let other = MatchRecord { dob, ..base.clone() };
        let (s, d) = run(&base, &other);
        assert_eq!(s.contributions[2].level, "dob_typo", "{dob:?}");
        assert!(!s.guards.contains(Guard::DobConflict));
        assert_eq!(d, Decision::Link, "{dob:?} {s:#?}");
    }
    // Father and son of the same name at one address stay apart, a Jr or not.
    let son = MatchRecord {
        dob: date(2004, 12, 31),
        phones: vec!["020 7946 0000".into(), "07700 900444".into()],
        ..base.clone()
    };
    let (s, d) = run(&base, &son);
    assert!(s.guards.contains(Guard::DobConflict));
    assert_ne!(d, Decision::Link, "{s:#?}");
}

#[test]
fn ocr_misreadings_in_names_are_read_back() {
    let a = MatchRecord {
        dob: date(1982, 2, 6),
        postcode: Some("SW11 3BH".into()),
        ..family("Jason", None, "07980 434927")
    };
    for (given, family_name) in [("JAS0N", "Okonjo"), ("Jason", "0konjo"), ("Jas0n", "Okonj0")] {
        let b = MatchRecord {
            given: Some(given.into()),
            family: Some(family_name.into()),
            ..a.clone()
        };
        let (s, d) = run(&a, &b);
        assert_eq!((s.contributions[0].level, s.contributions[1].level), ("exact", "exact"));
        assert_eq!(d, Decision::Link, "{given} {family_name}");
    }
}

#[test]
fn a_move_counts_once_and_a_typo_then_goes_to_review() {
    // Moved (another postcode and street), no contact points in common, the given name
    // mistyped: a reviewer should see it.
    let before = MatchRecord {
        given: Some("Laura".into()),
        family: Some("Walsh".into()),
        dob: date(1975, 2, 15),
        emails: vec!["laurawalsh848@gmail.com".into()],
        postcode: Some("EC2V 6QW".into()),
        address_line: Some("185 St John's Wood Road".into()),
        ..MatchRecord::default()
    };
    let after = MatchRecord {
        given: Some("Laaura".into()),
        emails: vec![],
        postcode: Some("WC2B 2JP".into()),
        address_line: Some("17 Kensington Church Street".into()),
        ..before.clone()
    };
    let (s, d) = run(&before, &after);
    assert_eq!(s.contributions[6].level, "missing");
    assert_eq!(d, Decision::Review, "{s:#?}");
    // Swapped names with a typo, same date of birth, moved: also a review.
    let swapped = MatchRecord {
        given: Some("Walhs".into()),
        family: Some("Laura".into()),
        ..after
    };
    let (s, d) = run(&before, &swapped);
    assert_eq!(s.contributions[0].level, "swapped");
    assert_eq!(d, Decision::Review, "{s:#?}");
}

#[test]
fn a_sibling_a_year_digit_apart_with_a_nickname_is_not_linked() {
    // James Evans, known as Jamie (and scanned "Jarnie"), and his brother Jamie at one
    // address: born 1963 and 1967, one digit apart.
    let brother = MatchRecord {
        given: Some("Jamie".into()),
        family: Some("Evans".into()),
        dob: date(1967, 2, 11),
        emails: vec!["j.jones.6524@gmail.com".into()],
        phones: vec!["07371 849025".into()],
        postcode: Some("EC1V 2UE".into()),
        address_line: Some("86 Stoke Newington Church Street".into()),
        organisation: None,
    };
    let james = MatchRecord {
        given: Some("Jarnie".into()),
        dob: date(1963, 2, 11),
        emails: vec!["james.evans6523@gmail.com".into()],
        phones: vec![],
        ..brother.clone()
    };
    let (s, d) = run(&brother, &james);
    assert_eq!(s.contributions[0].level, "exact");
    assert_eq!(s.contributions[2].level, "dob_typo");
    assert!(s.guards.contains(Guard::HouseholdEvidenceOnly));
    assert_ne!(d, Decision::Link, "{s:#?}");
    // A day out instead is a typo of one person's date.
    let same = MatchRecord {
        dob: date(1967, 2, 12),
        ..james
    };
    assert_eq!(run(&brother, &same).1, Decision::Link);
}
