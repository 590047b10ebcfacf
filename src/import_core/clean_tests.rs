//! Tests of [`clean_row`]: the row policies, the content hash and robustness.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::{
    clean_row, csv_rows, suggest_mapping, CleanRow, ConsentValue, CsvOptions, DateOrder, Mapping, RawRow, RowOptions,
    RowOutcome, RowProblem, Target,
};

const HEADERS: [&str; 18] = [
    "Title",
    "First Name",
    "Surname",
    "Email",
    "Mobile",
    "Home phone",
    "Address 1",
    "Town",
    "Postcode",
    "Country",
    "DOB",
    "Organisation",
    "ID",
    "Tags",
    "Email opt-in",
    "Notes",
    "Known as",
    "Email 2",
];

fn headers() -> Vec<String> {
    HEADERS.map(String::from).to_vec()
}

fn opts() -> RowOptions {
    RowOptions {
        date_order: DateOrder::DayFirst,
        today: NaiveDate::from_ymd_opt(2025, 6, 15).unwrap_or_default(),
    }
}

/// A raw row from (header, value) pairs; other columns blank.
fn raw(values: &[(&str, &str)]) -> RawRow {
    let cells = HEADERS
        .iter()
        .map(|h| values.iter().find(|(k, _)| k == h).map_or("", |(_, v)| v).to_string())
        .collect();
    RawRow {
        number: 7,
        cells,
        problems: Vec::new(),
    }
}

fn clean(values: &[(&str, &str)]) -> RowOutcome {
    clean_row(&raw(values), &suggest_mapping(&headers()), &opts())
}

fn ok(values: &[(&str, &str)]) -> CleanRow {
    match clean(values) {
        RowOutcome::Clean(row) => row,
        RowOutcome::Rejected { errors, .. } => panic!("rejected: {errors:?}"),
    }
}

fn rejected(values: &[(&str, &str)]) -> Vec<&'static str> {
    match clean(values) {
        RowOutcome::Clean(row) => panic!("accepted: {row:?}"),
        RowOutcome::Rejected { errors, .. } => errors.iter().map(|e| e.code).collect(),
    }
}

fn warnings(row: &CleanRow) -> Vec<&'static str> {
    row.warnings.iter().map(|w| w.code).collect()
}

#[test]
fn a_full_row() {
    let row = ok(&[
        ("Title", "DR."),
        ("First Name", " JONATHAN "),
        ("Surname", "o'brien-mcdonald"),
        ("Known as", "Jon"),
        ("Email", " Jon.OBrien@Example.CO.UK "),
        ("Email 2", "jon.obrien@example.co.uk"),
        ("Mobile", "07700 900123"),
        ("Home phone", "020 7946 0000"),
        ("Address 1", "1 High\nStreet"),
        ("Town", "LONDON"),
        ("Postcode", "ec2v7hh"),
        ("Country", "United Kingdom"),
        ("DOB", "03/04/1980"),
        ("Organisation", "City of London"),
        ("ID", "CRM-0042"),
        ("Tags", "Volunteer; VIP, volunteer"),
        ("Email opt-in", "Yes"),
        ("Notes", "line one\r\nline two"),
    ]);
    assert_eq!(row.number, 7);
    assert_eq!(row.title.as_deref(), Some("Dr"));
    assert_eq!(row.given_name.as_deref(), Some("Jonathan"));
    assert_eq!(row.family_name.as_deref(), Some("O'Brien-McDonald"));
    assert_eq!(row.preferred_name.as_deref(), Some("Jon"));
    assert_eq!(
        row.emails,
        [(
            "Jon.OBrien@example.co.uk".to_string(),
            "jon.obrien@example.co.uk".to_string()
        )]
    );
    assert_eq!(
        row.phones,
        [
            ("+447700900123".to_string(), "mobile"),
            ("+442079460000".to_string(), "home")
        ]
    );
    let address = row.address.clone().unwrap_or_default();
    assert_eq!(address.line1.as_deref(), Some("1 High Street"));
    assert_eq!(address.town.as_deref(), Some("LONDON"), "only names are re-cased");
    assert_eq!(address.postcode.as_deref(), Some("EC2V 7HH"));
    assert_eq!(address.country.as_deref(), Some("GB"));
    assert_eq!(row.date_of_birth, NaiveDate::from_ymd_opt(1980, 4, 3));
    assert_eq!(row.organisation.as_deref(), Some("City of London"));
    assert_eq!(row.external_id.as_deref(), Some("CRM-0042"));
    assert_eq!(row.tags, ["vip", "volunteer"]);
    assert_eq!(row.consents, [("email_opt_in".to_string(), ConsentValue::Granted)]);
    assert_eq!(row.custom, [("notes".to_string(), "line one\nline two".to_string())]);
    assert!(row.warnings.is_empty(), "{:?}", row.warnings);
    assert_eq!(row.content_hash.len(), 16);
    let json = serde_json::to_value(RowOutcome::Clean(row)).unwrap_or_default();
    assert_eq!(json["outcome"], "clean");
    assert_eq!(json["date_of_birth"], "1980-04-03");
}

#[test]
fn invalid_contacts_are_warnings_when_the_person_is_identified() {
    let row = ok(&[("First Name", "Ann"), ("Email", "ann@@example"), ("Mobile", "12345")]);
    assert_eq!(warnings(&row), ["invalid_email", "invalid_phone"]);
    assert!(row.emails.is_empty() && row.phones.is_empty());
    assert!(row.warnings[0].message.ends_with("It was not imported."));
    assert_eq!(row.warnings[0].column.as_deref(), Some("Email"));
    // A valid phone identifies the person even without a name.
    let row = ok(&[("Email", "not-an-email"), ("Mobile", "07700 900123")]);
    assert_eq!(warnings(&row), ["invalid_email"]);
}

#[test]
fn rows_without_identity_are_rejected() {
    assert_eq!(rejected(&[("Email", "ann@@example")]), ["invalid_email", "no_identity"]);
    assert_eq!(rejected(&[("Mobile", "call me")]), ["invalid_phone", "no_identity"]);
    assert_eq!(rejected(&[("Town", "York"), ("Email opt-in", "yes")]), ["no_identity"]);
    assert_eq!(rejected(&[]), ["no_identity"]);
    match clean(&[("ID", "X-1"), ("Postcode", "nonsense")]) {
        RowOutcome::Rejected {
            number,
            external_id,
            errors,
        } => {
            assert_eq!((number, external_id.as_deref()), (7, Some("X-1")));
            assert_eq!(
                errors.iter().map(|e| e.code).collect::<Vec<_>>(),
                ["no_identity", "invalid_postcode"]
            );
        }
        RowOutcome::Clean(_) => panic!("accepted"),
    }
}

#[test]
fn postcodes_and_countries() {
    let row = ok(&[("Surname", "Lee"), ("Address 1", "1 Way"), ("Postcode", "EC2V 7H")]);
    assert_eq!(warnings(&row), ["invalid_postcode"]);
    assert!(row.warnings[0].message.contains("\"EC2V 7H\""));
    let address = row.address.unwrap_or_default();
    assert_eq!((address.line1.as_deref(), address.postcode), (Some("1 Way"), None));
    let row = ok(&[("Surname", "Dupont"), ("Postcode", "75001"), ("Country", "France")]);
    let address = row.address.unwrap_or_default();
    assert_eq!(
        (address.postcode.as_deref(), address.country.as_deref()),
        (Some("75001"), Some("FR"))
    );
    let row = ok(&[("Surname", "Lee"), ("Town", "York"), ("Country", "Narnia")]);
    assert_eq!(warnings(&row), ["unrecognised_country"]);
    // A country alone is not an address.
    assert_eq!(ok(&[("Surname", "Lee"), ("Country", "UK")]).address, None);
}

#[test]
fn dates_of_birth() {
    let dob = |v: &str| {
        let row = ok(&[("Surname", "Lee"), ("DOB", v)]);
        (row.date_of_birth.map(|d| d.to_string()), warnings(&row))
    };
    assert_eq!(dob("03/04/1980"), (Some("1980-04-03".into()), vec![]));
    assert_eq!(dob("12 Mar 1980"), (Some("1980-03-12".into()), vec![]));
    assert_eq!(dob("29295"), (Some("1980-03-15".into()), vec![]));
    assert_eq!(dob("12/31/1980"), (None, vec!["month_first_date"]));
    assert_eq!(dob("01/01/2030"), (None, vec!["date_out_of_range"]));
    assert_eq!(dob("1899-12-31"), (None, vec!["date_out_of_range"]));
    assert_eq!(dob("soon"), (None, vec!["invalid_date"]));
    assert_eq!(dob("1980"), (None, vec!["incomplete_date"]));
    let us = RowOptions {
        date_order: DateOrder::MonthFirst,
        ..opts()
    };
    let outcome = clean_row(
        &raw(&[("Surname", "Lee"), ("DOB", "12/31/1980")]),
        &suggest_mapping(&headers()),
        &us,
    );
    let RowOutcome::Clean(row) = outcome else {
        panic!("rejected")
    };
    assert_eq!(row.date_of_birth, NaiveDate::from_ymd_opt(1980, 12, 31));
}

#[test]
fn titles_consents_phones_and_names() {
    let row = ok(&[("Title", "Herr"), ("Surname", "Müller"), ("Email opt-in", "maybe")]);
    assert_eq!(row.title.as_deref(), Some("Herr"));
    assert_eq!(warnings(&row), ["unrecognised_title", "unrecognised_consent"]);
    assert_eq!(row.consents, [("email_opt_in".to_string(), ConsentValue::Unknown)]);
    let row = ok(&[("Surname", "Lee"), ("Email opt-in", "")]);
    assert_eq!(row.consents, [("email_opt_in".to_string(), ConsentValue::Unknown)]);
    let row = ok(&[("Surname", "Lee"), ("Email opt-in", "Unsubscribed")]);
    assert_eq!(row.consents[0].1, ConsentValue::Withdrawn);
    let row = ok(&[
        ("Surname", "Lee"),
        ("Mobile", "7700900123"),
        ("Home phone", "07700 900123"),
    ]);
    assert_eq!(
        row.phones,
        [("+447700900123".to_string(), "mobile")],
        "the repeat is dropped"
    );
    assert_eq!(warnings(&row), ["leading_zero_added"]);
    assert_eq!(
        rejected(&[("Surname", "Lee\u{202E}"), ("Email", "a@example.com")]),
        ["control_characters"]
    );
    assert_eq!(
        rejected(&[("First Name", &"x".repeat(101))]),
        ["too_long", "no_identity"]
    );
    assert_eq!(rejected(&[("Surname", "Lee"), ("Tags", &"t".repeat(51))]), ["too_long"]);
}

#[test]
fn reader_problems() {
    let mapping = suggest_mapping(&headers());
    let with = |problem: RowProblem| {
        let mut r = raw(&[("Surname", "Lee")]);
        r.problems.push(problem);
        clean_row(&r, &mapping, &opts())
    };
    let is_rejected = |o: &RowOutcome| matches!(o, RowOutcome::Rejected { .. });
    assert!(is_rejected(&with(RowProblem::row("too_many_cells", "x"))));
    assert!(is_rejected(&with(RowProblem::cell("Notes", "field_too_long", "x"))));
    let mut ignoring = mapping.clone();
    ignoring.columns[15].target = Target::Ignore;
    let mut r = raw(&[("Surname", "Lee")]);
    r.problems.push(RowProblem::cell("Notes", "field_too_long", "x"));
    assert!(!is_rejected(&clean_row(&r, &ignoring, &opts())));
    let RowOutcome::Clean(row) = with(RowProblem::row("too_few_cells", "x")) else {
        panic!("rejected")
    };
    assert_eq!(warnings(&row), ["too_few_cells"]);
    // Short rows read as blank, and an empty mapping identifies nobody.
    let short = RawRow {
        number: 2,
        cells: vec![],
        problems: vec![],
    };
    assert!(is_rejected(&clean_row(&short, &mapping, &opts())));
    assert!(is_rejected(&clean_row(&short, &Mapping::default(), &opts())));
}

#[test]
fn a_huge_field_from_the_reader_rejects_its_row() {
    let file = format!("Surname,Notes\nLee,{}\nKim,short\n", "x".repeat(1024 * 1024));
    let Ok((headers, rows)) = csv_rows(file.as_bytes(), &CsvOptions::default()) else {
        panic!("readable")
    };
    let mapping = suggest_mapping(&headers);
    let outcomes: Vec<RowOutcome> = rows
        .filter_map(Result::ok)
        .map(|r| clean_row(&r, &mapping, &opts()))
        .collect();
    assert!(
        matches!(&outcomes[0], RowOutcome::Rejected { number: 2, errors, .. } if errors[0].code == "field_too_long")
    );
    assert!(matches!(&outcomes[1], RowOutcome::Clean(row) if row.number == 3));
}

#[test]
fn content_hash_ignores_formatting_differences() {
    let hash = |values: &[(&str, &str)]| ok(values).content_hash;
    let a = hash(&[
        ("First Name", "  JONATHAN "),
        ("Surname", "SMITH"),
        ("Email", "Jo@Example.COM"),
        ("Mobile", "07700 900123"),
        ("Postcode", "ec2v7hh"),
        ("Tags", "VIP;friends"),
        ("DOB", "3/4/80"),
    ]);
    let b = hash(&[
        ("First Name", "Jonathan"),
        ("Surname", "  Smith"),
        ("Email", "jo@example.com "),
        ("Mobile", "+44 (0)7700-900-123"),
        ("Postcode", "EC2V 7HH"),
        ("Tags", "friends, vip"),
        ("DOB", "1980-04-03"),
    ]);
    assert_eq!(a, b);
    let c = hash(&[
        ("First Name", "Jonathan"),
        ("Surname", "Smyth"),
        ("Email", "jo@example.com"),
    ]);
    assert_ne!(a, c);
    assert_eq!(
        c,
        hash(&[
            ("First Name", "Jonathan"),
            ("Surname", "Smyth"),
            ("Email", "jo@example.com")
        ])
    );
}

fn target_strategy() -> impl Strategy<Value = Target> {
    prop_oneof![
        prop::sample::select(
            "given_name family_name preferred_name title email email2 phone mobile phone2 line1 line2 line3 town county postcode country date_of_birth organisation external_id tags ignore"
                .split(' ')
                .filter_map(|s| s.parse::<Target>().ok())
                .collect::<Vec<_>>()
        ),
        "[a-z]{1,5}".prop_map(Target::Consent),
        "[a-z]{1,5}".prop_map(Target::Custom),
    ]
}

proptest! {
    #[test]
    fn never_panics(
        cells in prop::collection::vec(any::<String>(), 0..20),
        wild in prop::collection::vec("\\PC{0,20}|[0-9/. -]{0,12}|[a-z@.]{0,15}", 0..20),
        targets in prop::collection::vec((0usize..25, target_strategy()), 0..20),
    ) {
        let mapping = suggest_mapping(&headers());
        for cells in [cells, wild] {
            let row = RawRow { number: 1, cells: cells.clone(), problems: vec![] };
            let _ = clean_row(&row, &mapping, &opts());
            let random = Mapping {
                columns: targets
                    .iter()
                    .map(|(column, target)| super::ColumnMapping { column: *column, header: format!("h{column}"), target: target.clone() })
                    .collect(),
            };
            if let RowOutcome::Clean(clean) = clean_row(&row, &random, &opts()) {
                prop_assert_eq!(clean.content_hash.len(), 16);
            }
        }
    }
}
