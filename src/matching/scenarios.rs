//! End-to-end scenarios: the tricky pairs from the issue, term frequencies
//! and stored models.
//!
//! Policy: each scenario states what a careful human would decide; the
//! engine must agree (Link only when a false merge is implausible).

use super::record::{MatchRecord, Prepared};
use super::*;
use chrono::NaiveDate;

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn rec(given: &str, family: &str) -> MatchRecord {
    MatchRecord {
        given: Some(given.into()),
        family: Some(family.into()),
        ..MatchRecord::default()
    }
}

fn run(a: &MatchRecord, b: &MatchRecord) -> (Score, Decision) {
    run_with(a, b, &NoFrequencies)
}

fn run_with(a: &MatchRecord, b: &MatchRecord, tf: &dyn TermFrequencies) -> (Score, Decision) {
    let (pa, pb) = (Prepared::from_record(a), Prepared::from_record(b));
    let s = Model::default_uk().score(&pa, &pb, tf);
    let d = decide(&s, &Thresholds::default());
    (s, d)
}

fn household() -> MatchRecord {
    MatchRecord {
        dob: date(1990, 6, 1),
        phones: vec!["020 7946 0000".into()],
        postcode: Some("EC2V 7HH".into()),
        address_line: Some("10 High Street".into()),
        emails: vec!["thesmiths@btinternet.com".into()],
        ..rec("Oliver", "Smith")
    }
}

#[test]
fn issue_example_links() {
    let a = MatchRecord {
        phones: vec!["07700 900123".into()],
        postcode: Some("ec2v7hh".into()),
        ..rec("Jon", "Smith")
    };
    let b = MatchRecord {
        phones: vec!["+44 7700 900123".into()],
        postcode: Some("EC2V 7HH".into()),
        ..rec("Jonathan", "SMITH")
    };
    let (s, d) = run(&a, &b);
    assert_eq!(d, Decision::Link, "{s:#?}");
    assert!(s.match_weight > 20.0, "{}", s.match_weight);
    assert_eq!(s.contributions[0].level, "nickname");
    assert!(s.guards.is_empty());
}

#[test]
fn twins_are_not_linked() {
    let a = household();
    let b = MatchRecord {
        given: Some("Harry".into()),
        ..household()
    };
    let (s, d) = run(&a, &b);
    assert_ne!(d, Decision::Link, "{s:#?}");
    assert!(s.guards.contains(Guard::GivenNameConflict));
    // Boy-girl twins with look-alike names.
    let c = MatchRecord {
        given: Some("Daniel".into()),
        ..household()
    };
    let e = MatchRecord {
        given: Some("Danielle".into()),
        ..household()
    };
    assert_ne!(run(&c, &e).1, Decision::Link);
    // One twin recorded by initial only.
    let j = MatchRecord {
        given: Some("H".into()),
        ..household()
    };
    assert_eq!(run(&b, &j).1, Decision::Review);
}

#[test]
fn father_and_son_are_not_linked() {
    let father = MatchRecord {
        dob: date(1962, 3, 14),
        ..MatchRecord {
            given: Some("John".into()),
            ..household()
        }
    };
    let son = MatchRecord {
        dob: date(1991, 11, 2),
        ..father.clone()
    };
    let (s, d) = run(&father, &son);
    assert_ne!(d, Decision::Link, "{s:#?}");
    assert!(s.guards.contains(Guard::DobConflict));
    // With suffixes and no date of birth on one side.
    let junior = MatchRecord {
        family: Some("Smith Jr".into()),
        dob: None,
        ..father.clone()
    };
    let (s, d) = run(&father, &junior);
    assert_eq!(d, Decision::Review, "{s:#?}");
    assert!(s.guards.contains(Guard::SuffixUnconfirmed));
    let senior = MatchRecord {
        given: Some("John Snr".into()),
        ..father.clone()
    };
    let (s, d) = run(&senior, &junior);
    assert_eq!(d, Decision::NewPerson, "{s:#?}");
    assert!(s.guards.contains(Guard::SuffixConflict));
}

#[test]
fn mover_links() {
    let before = MatchRecord {
        dob: date(1985, 2, 20),
        emails: vec!["a.patel@gmail.com".into()],
        phones: vec!["07700 900456".into()],
        postcode: Some("EC2V 7HH".into()),
        address_line: Some("Flat 2, 10 High St".into()),
        ..rec("Anita", "Patel")
    };
    let after = MatchRecord {
        emails: vec!["APatel+council@googlemail.com".into()],
        phones: vec!["07700 900789".into()],
        postcode: Some("SW1A 1AA".into()),
        address_line: Some("1 The Mall".into()),
        ..before.clone()
    };
    let (s, d) = run(&before, &after);
    assert_eq!(d, Decision::Link, "{s:#?}");
    // Name and date of birth with an unseen email: at least review.
    let no_email = MatchRecord {
        emails: vec![],
        ..after.clone()
    };
    assert_ne!(run(&before, &no_email).1, Decision::NewPerson);
}

#[test]
fn ordinary_variants_link() {
    let a = MatchRecord {
        dob: date(1970, 4, 3),
        postcode: Some("M1 1AE".into()),
        address_line: Some("Flat 2, 10 High St".into()),
        ..rec("Margaret", "O'Brien")
    };
    for b in [
        MatchRecord {
            given: Some("Peggy".into()),
            family: Some("OBRIEN".into()),
            address_line: Some("2/10 High Street".into()),
            ..a.clone()
        },
        MatchRecord {
            dob: date(1970, 3, 4),
            ..a.clone()
        },
        MatchRecord {
            given: Some("O'Brien".into()),
            family: Some("Margaret".into()),
            ..a.clone()
        },
    ] {
        let (s, d) = run(&a, &b);
        assert_eq!(d, Decision::Link, "{b:?} {s:#?}");
    }
}

#[test]
fn strangers_and_thin_evidence() {
    let a = MatchRecord {
        dob: date(1980, 1, 1),
        ..rec("John", "Smith")
    };
    let b = MatchRecord {
        dob: date(1980, 1, 1),
        ..rec("John", "Smith")
    };
    // Name + dob only, commonest name, with real frequencies: not a link.
    let mut others: Vec<Prepared> = (0..2000)
        .map(|i| {
            Prepared::from_record(&rec(
                if i % 20 == 0 { "John" } else { "Someone" },
                if i % 40 == 0 { "Smith" } else { "Else" },
            ))
        })
        .collect();
    others.push(Prepared::from_record(&a));
    let table = FrequencyTable::from_records(&others);
    let (s, d) = run_with(&a, &b, &table);
    assert_eq!(d, Decision::Review, "{s:#?}");
    assert!(s.contributions[0].tf_adjusted && s.contributions[1].tf_adjusted);
    // A rare surname makes name + dob strong enough.
    let c = MatchRecord {
        family: Some("Featherstonehaugh".into()),
        ..a.clone()
    };
    let (rare, _) = run_with(&c, &c.clone(), &table);
    let (common, _) = run_with(&a, &b, &table);
    assert!(rare.match_weight > common.match_weight + 3.0);
    // Nothing in common.
    let z = MatchRecord {
        dob: date(1999, 9, 9),
        postcode: Some("SW1A 1AA".into()),
        ..rec("Mary", "Jones")
    };
    assert_eq!(run(&a, &z).1, Decision::NewPerson);
}

#[test]
fn shared_mailbox_is_discounted() {
    let mk = |g: &str| MatchRecord {
        emails: vec!["thesmiths@btinternet.com".into()],
        ..rec(g, "Smith")
    };
    let mut recs: Vec<Prepared> = (0..1000).map(|_| Prepared::from_record(&mk("Any"))).collect();
    recs.push(Prepared::from_record(&MatchRecord::default()));
    let table = FrequencyTable::from_records(&recs);
    let (plain, _) = run(&mk("Ann"), &mk("Ann"));
    let (tf, _) = run_with(&mk("Ann"), &mk("Ann"), &table);
    assert!(tf.contributions[3].tf_adjusted);
    assert!(tf.contributions[3].weight < plain.contributions[3].weight - 10.0);
}

#[test]
fn models_round_trip_as_json() {
    let m = Model::default_uk();
    let json = serde_json::to_string_pretty(&m).unwrap_or_default();
    assert!(json.contains("\"nickname\"") && json.contains("\"prior\""));
    let back: Result<Model, _> = serde_json::from_str(&json);
    assert_eq!(back.ok().as_ref(), Some(&m));
    let broken = json.replacen("\"nickname\"", "\"nick\"", 1);
    assert!(serde_json::from_str::<Model>(&broken).is_err());
    let mut spec = m.spec().clone();
    spec.fields.pop();
    assert!(Model::from_spec(spec).is_err());
    let mut spec = m.spec().clone();
    spec.fields[2].levels[0].m = 2.0;
    assert!(Model::from_spec(spec).is_err());
    let mut spec = m.spec().clone();
    spec.fields[2].levels[0].tf = true;
    assert!(Model::from_spec(spec).is_err());
    assert!(m.with_prior(0.0).is_err() && m.with_prior(1e-4).is_ok());
    let s = run(&rec("Ann", "Lee"), &rec("Ann", "Lee")).0;
    let explained = serde_json::to_value(&s).map(|v| v["contributions"][0]["level"].clone());
    assert_eq!(explained.ok(), Some(serde_json::json!("exact")));
}

#[test]
fn household_evidence_alone_never_links() {
    // Father and son of the same name sharing a landline; one record has no
    // date of birth and nobody wrote "Jr".
    let father = MatchRecord {
        dob: date(1962, 3, 14),
        phones: vec!["020 7946 0000".into()],
        postcode: Some("EC2V 7HH".into()),
        address_line: Some("10 High Street".into()),
        ..rec("John", "Smith")
    };
    let unknown = MatchRecord {
        dob: None,
        ..father.clone()
    };
    let (s, d) = run(&father, &unknown);
    assert_eq!(d, Decision::Review, "{s:#?}");
    assert!(s.guards.contains(Guard::HouseholdEvidenceOnly));
    // The same pair with one personal mobile in common links.
    let with_mobile = |r: &MatchRecord| MatchRecord {
        phones: vec!["020 7946 0000".into(), "07700 900123".into()],
        ..r.clone()
    };
    assert_eq!(run(&with_mobile(&father), &with_mobile(&unknown)).1, Decision::Link);
    // "Jon" could be John or his twin Jonathan: not firm without a personal identifier.
    let jon = MatchRecord {
        given: Some("Jon".into()),
        ..father.clone()
    };
    let (s, d) = run(&father, &jon);
    assert_eq!(d, Decision::Review, "{s:#?}");
    // Mother and son at one address: both personal identifiers conflict.
    let son = MatchRecord {
        dob: date(1990, 8, 1),
        ..rec("Oliver", "Smith")
    };
    let mother = MatchRecord {
        given: Some("Mary".into()),
        ..MatchRecord {
            dob: date(1961, 2, 2),
            ..father.clone()
        }
    };
    let son = MatchRecord {
        phones: father.phones.clone(),
        postcode: father.postcode.clone(),
        address_line: father.address_line.clone(),
        ..son
    };
    assert_eq!(run(&mother, &son).1, Decision::NewPerson);
}

#[test]
fn the_same_name_and_email_is_at_least_a_review_unless_the_email_is_a_placeholder() {
    let a = MatchRecord {
        emails: vec!["priya.raman@btinternet.com".into()],
        ..rec("Priya", "Raman")
    };
    let (s, d) = run(&a, &a.clone());
    assert_ne!(d, Decision::NewPerson, "{s:#?}");
    // example.org (RFC 2606) is what lists put in when they have no address: it says nothing.
    let p = MatchRecord {
        emails: vec!["priya.raman@example.org".into()],
        ..rec("Priya", "Raman")
    };
    let (s, d) = run(&p, &p.clone());
    assert_eq!(d, Decision::NewPerson, "{s:#?}");
    assert_eq!(
        s.contributions
            .iter()
            .find(|c| c.field == Field::Email)
            .map(|c| c.level),
        Some("missing")
    );
}
