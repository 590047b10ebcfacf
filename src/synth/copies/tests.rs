//! The lists as the import reads them, their truth, and the generator's determinism.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::import_core::{clean_row, csv_rows_from_path, suggest_mapping, CsvOptions, RowOptions, RowOutcome, Target};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lighthouse-synth-copies-{}-{name}-{}",
        std::process::id(),
        crate::service::random_token(4)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn args(out: PathBuf, people: u64, seed: u64, hard: bool) -> CopiesArgs {
    CopiesArgs {
        people,
        departments: 3,
        seed,
        out,
        hard,
    }
}

fn read(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|row| row.map(|r| r.iter().map(str::to_string).collect()).unwrap_or_default())
        .collect()
}

#[test]
fn every_header_is_recognised_by_the_import() {
    for style in &STYLES {
        let headers: Vec<String> = style.columns.iter().map(|c| c.0.to_string()).collect();
        for (c, (header, column)) in suggest_mapping(&headers).columns.iter().zip(style.columns) {
            let want = match column {
                style::Column::Id => Target::ExternalId,
                style::Column::Title => Target::Title,
                style::Column::Given => Target::GivenName,
                style::Column::Family => Target::FamilyName,
                style::Column::Dob => Target::DateOfBirth,
                style::Column::Email => Target::Email,
                style::Column::Phone if *header == "Mobile" => Target::Mobile,
                style::Column::Phone => Target::Phone,
                style::Column::Line1 | style::Column::Street => Target::Line1,
                style::Column::Line2 => Target::Line2,
                style::Column::Town => Target::Town,
                style::Column::Postcode => Target::Postcode,
                style::Column::Organisation => Target::Organisation,
            };
            assert_eq!(c.target, want, "{header}");
        }
    }
}

#[test]
fn the_same_seed_writes_the_same_files() {
    let (a, b, c) = (temp_dir("a"), temp_dir("b"), temp_dir("c"));
    for (dir, seed) in [(&a, 4), (&b, 4), (&c, 5)] {
        assert!(write_copies(&args(dir.clone(), 300, seed, true), |_| {}).is_ok());
    }
    for file in ["DEPT1.csv", "DEPT2.csv", "DEPT3.csv", "truth.csv"] {
        let bytes = |d: &PathBuf| std::fs::read(d.join(file)).unwrap_or_default();
        assert!(!bytes(&a).is_empty());
        assert_eq!(bytes(&a), bytes(&b), "{file}");
        assert_ne!(bytes(&a), bytes(&c), "{file}");
    }
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn the_truth_names_every_row_once_and_ids_are_not_shared() {
    let dir = temp_dir("truth");
    let report = write_copies(&args(dir.clone(), 2_000, 9, false), |_| {});
    let Ok(report) = report else {
        panic!("{report:?}");
    };
    let truth = read(&dir.join("truth.csv"));
    assert_eq!(truth[0], ["department", "external_id", "entity"]);
    let mut entity_of = HashMap::new();
    for row in &truth[1..] {
        assert!(entity_of
            .insert((row[0].clone(), row[1].clone()), row[2].clone())
            .is_none());
    }
    let mut all_ids = HashSet::new();
    let mut per_entity: HashMap<String, usize> = HashMap::new();
    for (code, rows) in report.departments.iter().zip(&report.rows) {
        let list = read(&dir.join(format!("{code}.csv")));
        assert_eq!(list.len() as u64, rows + 1);
        for row in &list[1..] {
            let entity = entity_of.get(&(code.clone(), row[0].clone()));
            assert!(entity.is_some(), "{code} {} is not in the truth", row[0]);
            *per_entity.entry(entity.cloned().unwrap_or_default()).or_default() += 1;
            assert!(all_ids.insert(row[0].clone()), "{} is used twice", row[0]);
        }
    }
    assert_eq!(all_ids.len(), truth.len() - 1);
    assert_eq!(per_entity.len(), 2_000, "every entity has a copy");
    let several = per_entity.values().filter(|n| **n > 1).count();
    assert!(
        several > 600 && several < 1_400,
        "{several} entities in more than one list"
    );
    assert_eq!(report.relations.iter().map(|r| r.1).sum::<u64>(), 2_000);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_import_reads_every_row() {
    let dir = temp_dir("import");
    assert!(write_copies(&args(dir.clone(), 1_500, 2, true), |_| {}).is_ok());
    for code in ["DEPT1", "DEPT2", "DEPT3"] {
        let path = dir.join(format!("{code}.csv"));
        let Ok((headers, rows)) = csv_rows_from_path(&path, &CsvOptions::default()) else {
            panic!("{code}: unreadable");
        };
        let mapping = suggest_mapping(&headers);
        let (mut clean, mut with_dob, mut total) = (0, 0, 0);
        for raw in rows.flatten() {
            total += 1;
            match clean_row(&raw, &mapping, &RowOptions::default()) {
                RowOutcome::Clean(r) => {
                    clean += 1;
                    with_dob += usize::from(r.date_of_birth.is_some());
                    assert!(r.external_id.is_some() && r.given_name.is_some() && r.family_name.is_some());
                }
                RowOutcome::Rejected { errors, .. } => panic!("{code}: {errors:?}"),
            }
        }
        assert!(total > 800 && clean == total, "{code}: {clean} of {total}");
        // About 75 % of hard copies give a date of birth, and every one written is read.
        assert!(
            with_dob * 100 > total * 65 && with_dob * 100 < total * 85,
            "{code}: {with_dob}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hard_copies_differ_more_from_the_person() {
    let differing = |rates: Rates| {
        let mut n = 0;
        for e in Entities::new(3, 3_000, rates) {
            let mut rng = SplitMix64::for_item(3, e.id);
            let r = noisy_copy(&e, 3, &rates, &mut rng);
            n += usize::from(r.given != e.given || r.family != e.family);
        }
        n
    };
    let (normal, hard) = (differing(Rates::NORMAL), differing(Rates::HARD));
    assert!(normal > 300 && hard > normal * 3 / 2, "normal {normal}, hard {hard}");
}

#[test]
fn departments_are_distinct_but_for_a_repeat() {
    let mut rng = SplitMix64::new(1);
    let mut sizes = [0usize; 5];
    for _ in 0..10_000 {
        let d = departments_of(3, &Rates::HARD, &mut rng);
        let distinct: HashSet<usize> = d.iter().copied().collect();
        assert!(d.iter().all(|x| *x < 3) && !d.is_empty());
        assert!(distinct.len() == d.len() || distinct.len() + 1 == d.len());
        sizes[distinct.len()] += 1;
    }
    assert!(sizes[1] > 3_000 && sizes[2] > 1_500 && sizes[3] > 1_500, "{sizes:?}");
    assert_eq!(departments_of(1, &Rates::HARD, &mut rng)[0], 0);
}

#[test]
fn external_ids_are_unique_in_a_department() {
    for style in &STYLES {
        let ids: HashSet<String> = (0..200_000).map(|n| external_id(1, 0, n, style)).collect();
        assert_eq!(ids.len(), 200_000);
    }
    assert_ne!(external_id(1, 0, 0, &STYLES[0]), external_id(1, 3, 0, &STYLES[0]));
}

#[test]
fn a_list_of_chosen_people_copies_exactly_those_people() {
    let dir = temp_dir("list");
    let quiet = Rates {
        nickname: 0.0,
        initial: 0.0,
        typo: 0.0,
        ocr: 0.0,
        swapped_names: 0.0,
        missing: [0.0; 4],
        day_month_swap: 0.0,
        date_typo: 0.0,
        changed: [0.0; 3],
        ..Rates::NORMAL
    };
    let spec = ListSpec {
        seed: 6,
        department: 0,
        first_row: 0,
        rates: quiet,
    };
    let indices: Vec<u64> = vec![17, 3, 250_000, 4, 99];
    let path = dir.join("quiet.csv");
    assert!(std::fs::create_dir_all(&dir).is_ok());
    assert_eq!(write_list(&path, &spec, indices.iter().copied()), Ok(5));
    let Ok((headers, rows)) = csv_rows_from_path(&path, &CsvOptions::default()) else {
        panic!("unreadable");
    };
    let mapping = suggest_mapping(&headers);
    let rows: Vec<_> = rows.flatten().collect();
    assert_eq!(rows.len(), 5);
    for (raw, index) in rows.iter().zip(&indices) {
        let p = crate::synth::sample_person(6, *index);
        let RowOutcome::Clean(r) = clean_row(raw, &mapping, &RowOptions::default()) else {
            panic!("row of person {index} rejected");
        };
        assert_eq!(r.given_name.as_deref(), Some(p.given_name.as_str()), "{index}");
        assert_eq!(r.family_name.as_deref(), Some(p.family_name.as_str()), "{index}");
        assert_eq!(r.date_of_birth, Some(p.date_of_birth), "{index}");
        assert!(r.phones.iter().any(|ph| ph.0 == p.phone), "{index}");
    }

    // The same spec writes the same bytes; another first row only other ids.
    let again = dir.join("again.csv");
    assert_eq!(write_list(&again, &spec, indices.iter().copied()), Ok(5));
    let later = dir.join("later.csv");
    let later_spec = ListSpec { first_row: 5, ..spec };
    assert_eq!(write_list(&later, &later_spec, indices.iter().copied()), Ok(5));
    let bytes = |p: &Path| std::fs::read(p).unwrap_or_default();
    assert_eq!(bytes(&path), bytes(&again));
    let (first, second) = (read(&path), read(&later));
    for (a, b) in first[1..].iter().zip(&second[1..]) {
        assert_ne!(a[0], b[0]);
        assert_eq!(a[1..], b[1..]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_noisy_list_keeps_most_people_recognisable() {
    let dir = temp_dir("noisy-list");
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let path = dir.join("list.csv");
    let spec = ListSpec {
        seed: 2,
        department: 1,
        first_row: 0,
        rates: Rates::NORMAL,
    };
    assert_eq!(write_list(&path, &spec, 1_000..3_000), Ok(2_000));
    let Ok((headers, rows)) = csv_rows_from_path(&path, &CsvOptions::default()) else {
        panic!("unreadable");
    };
    let mapping = suggest_mapping(&headers);
    let (mut clean, mut same_family) = (0, 0);
    for (raw, index) in rows.flatten().zip(1_000u64..) {
        if let RowOutcome::Clean(r) = clean_row(&raw, &mapping, &RowOptions::default()) {
            clean += 1;
            let p = crate::synth::sample_person(2, index);
            let family = r.family_name.unwrap_or_default().to_lowercase();
            same_family += usize::from(family == p.family_name.to_lowercase());
        }
    }
    assert_eq!(clean, 2_000);
    // Typos, OCR misreadings and swapped names change a family name now and then.
    assert!(same_family > 1_850 && same_family < 2_000, "{same_family}");
    let _ = std::fs::remove_dir_all(dir);
}
