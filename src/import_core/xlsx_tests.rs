//! Tests of the .xlsx reader on workbooks built by [`testkit`](super::super::testkit).

use std::io::Cursor;

use super::super::testkit::{b, d, e, n, row, s, workbook, zip};
use super::super::{clean_row, suggest_mapping, FileError, RowOptions, RowOutcome, Target};
use super::*;

fn read(bytes: &[u8], sheet: Option<&str>, opts: &XlsxOptions) -> Result<(Vec<String>, Vec<RawRow>), FileError> {
    xlsx_rows(Cursor::new(bytes), sheet, opts).map(|(h, rows)| (h, rows.collect()))
}

fn people() -> Vec<u8> {
    let rows = vec![
        row(
            1,
            &[
                s("A1", " Name "),
                s("B1", "Email"),
                s("C1", "DOB"),
                s("D1", "Date of birth 2"),
                s("E1", "Mobile"),
                s("F1", "Active"),
                s("G1", "Score"),
            ],
        ),
        row(
            2,
            &[
                s("A2", "Ann Lee"),
                s("B2", "ann@example.com"),
                d("C2", 29295.0),
                n("D2", 29295.0),
                n("E2", 7_700_900_123.0),
                b("F2", true),
                e("G2", "#N/A"),
            ],
        ),
        row(5, &[s("A5", "Bob"), d("C5", 29295.5), n("D5", 1.5), n("G5", 12.25)]),
    ];
    workbook(&[("People", rows), ("Other", vec![row(1, &[s("A1", "X")])])], false)
}

#[test]
fn reads_values_dates_and_row_numbers() {
    let (headers, rows) = read(&people(), None, &XlsxOptions::default()).unwrap_or_default();
    assert_eq!(
        headers,
        ["Name", "Email", "DOB", "Date of birth 2", "Mobile", "Active", "Score"]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].number, 2);
    assert_eq!(
        rows[0].cells,
        [
            "Ann Lee",
            "ann@example.com",
            "1980-03-15",
            "29295",
            "7700900123",
            "TRUE",
            ""
        ]
    );
    assert_eq!(rows[0].problems.len(), 1);
    assert_eq!(
        (rows[0].problems[0].code, rows[0].problems[0].column.as_deref()),
        ("excel_error", Some("Score"))
    );
    assert_eq!(rows[1].number, 5);
    assert_eq!(
        rows[1].cells,
        ["Bob", "", "1980-03-15T12:00:00", "1.5", "", "", "12.25"]
    );
}

#[test]
fn dates_feed_the_date_parser() {
    let (headers, rows) = read(&people(), Some("People"), &XlsxOptions::default()).unwrap_or_default();
    let mut mapping = suggest_mapping(&headers);
    mapping.columns[3].target = Target::Ignore;
    let opts = RowOptions::default();
    let RowOutcome::Clean(row) = clean_row(&rows[0], &mapping, &opts) else {
        panic!("row rejected");
    };
    assert_eq!(row.date_of_birth.map(|d| d.to_string()).as_deref(), Some("1980-03-15"));
    assert_eq!(row.phones, [("+447700900123".to_string(), "mobile")]);
    // The plain serial in the second date column reads the same way.
    mapping.columns[2].target = Target::Ignore;
    mapping.columns[3].target = Target::DateOfBirth;
    let RowOutcome::Clean(row) = clean_row(&rows[0], &mapping, &opts) else {
        panic!("row rejected");
    };
    assert_eq!(row.date_of_birth.map(|d| d.to_string()).as_deref(), Some("1980-03-15"));
}

#[test]
fn sheets_by_name() {
    assert_eq!(
        xlsx_sheets(Cursor::new(people())),
        Ok(vec!["People".to_string(), "Other".to_string()])
    );
    let other = read(&people(), Some(" other "), &XlsxOptions::default()).map(|(h, _)| h);
    assert_eq!(other, Ok(vec!["X".to_string()]));
    let missing = read(&people(), Some("Nope"), &XlsxOptions::default()).map(|_| ());
    assert_eq!(
        missing,
        Err(FileError::SheetNotFound {
            name: "Nope".into(),
            available: vec!["People".into(), "Other".into()],
        })
    );
}

#[test]
fn special_dates() {
    let rows = vec![
        row(1, &[s("A1", "When")]),
        row(2, &[d("A2", 60.0)]),
        row(3, &[d("A3", 0.25)]),
        row(4, &[d("A4", 61.0)]),
    ];
    let (_, rows) = read(&workbook(&[("S", rows)], false), None, &XlsxOptions::default()).unwrap_or_default();
    assert_eq!(rows[0].cells, [""]);
    assert_eq!(rows[0].problems[0].code, "invalid_date");
    assert_eq!(rows[1].cells, ["06:00:00"]);
    assert_eq!(rows[2].cells, ["1900-03-01"]);
    let rows1904 = vec![
        row(1, &[s("A1", "When")]),
        row(2, &[d("A2", 0.0)]),
        row(3, &[d("A3", 27833.0)]),
    ];
    let (_, rows) = read(&workbook(&[("S", rows1904)], true), None, &XlsxOptions::default()).unwrap_or_default();
    assert_eq!(rows[0].cells, ["1904-01-01"]);
    assert_eq!(rows[1].cells, ["1980-03-15"]);
}

#[test]
fn limits() {
    let wide = vec![row(1, &[s("A1", "a"), s("D1", "d")]), row(2, &[s("A2", "1")])];
    let opts = XlsxOptions {
        max_columns: 3,
        ..XlsxOptions::default()
    };
    let err = read(&workbook(&[("S", wide)], false), None, &opts).map(|_| ());
    assert_eq!(err, Err(FileError::TooManyColumns { found: 4, max: 3 }));

    let long = vec![
        row(1, &[s("A1", "Notes"), s("B1", "Name")]),
        row(2, &[s("A2", "too long here"), s("B2", "ok"), s("D2", "stray")]),
    ];
    let opts = XlsxOptions {
        max_field_bytes: 6,
        ..XlsxOptions::default()
    };
    let (_, rows) = read(&workbook(&[("S", long.clone())], false), None, &opts).unwrap_or_default();
    assert_eq!(rows[0].cells, ["", "ok"]);
    let codes: Vec<_> = rows[0].problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["field_too_long", "too_many_cells"]);
    assert_eq!(rows[0].problems[0].column.as_deref(), Some("Notes"));

    let opts = XlsxOptions {
        max_cells: 3,
        ..XlsxOptions::default()
    };
    let err = read(&workbook(&[("S", long)], false), None, &opts).map(|_| ());
    assert_eq!(err, Err(FileError::TooManyCells { max: 3 }));

    // A sparse cell far away costs nothing.
    let sparse = vec![
        row(1, &[s("A1", "Name")]),
        row(1_048_576, &[s("A1048576", "Zed"), s("XFD1048576", "far")]),
    ];
    let (_, rows) = read(&workbook(&[("S", sparse)], false), None, &XlsxOptions::default()).unwrap_or_default();
    assert_eq!(rows[0].number, 1_048_576);
    assert_eq!(rows[0].problems[0].code, "too_many_cells");
}

#[test]
fn broken_workbooks_are_file_errors() {
    let code = |bytes: &[u8]| {
        read(bytes, None, &XlsxOptions::default())
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(code(&workbook(&[("S", vec![])], false)), Err("empty_file"));
    assert_eq!(
        code(&workbook(&[("S", vec![row(1, &[e("A1", "#REF!")])])], false)),
        Err("no_header")
    );
    assert_eq!(code(&workbook(&[], false)), Err("no_sheets"));
    assert_eq!(code(&zip(&[("hello.txt", b"hi".to_vec())])), Err("unreadable_workbook"));
    assert_eq!(code(b"PK\x03\x04 not really a zip"), Err("unreadable_workbook"));
    assert_eq!(code(b""), Err("unreadable_workbook"));
    let mut truncated = people();
    truncated.truncate(truncated.len() / 2);
    assert_eq!(code(&truncated), Err("unreadable_workbook"));
    let bad_xml = workbook(
        &[(
            "S",
            vec!["<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>x".to_string()],
        )],
        false,
    );
    assert_eq!(code(&bad_xml), Err("unreadable_workbook"));
}
