//! Tests of the streaming CSV reader: encodings, delimiters, quoting, ragged rows, limits.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use proptest::prelude::*;

use super::{csv_rows, csv_rows_from_path, CsvOptions, FileError, RawRow};

fn read_with(bytes: &[u8], opts: &CsvOptions) -> Result<(Vec<String>, Vec<RawRow>), FileError> {
    let (headers, rows) = csv_rows(bytes, opts)?;
    let rows: Result<Vec<RawRow>, FileError> = rows.collect();
    Ok((headers, rows?))
}

fn read(bytes: &[u8]) -> Result<(Vec<String>, Vec<RawRow>), FileError> {
    read_with(bytes, &CsvOptions::default())
}

fn cells(rows: &[RawRow]) -> Vec<Vec<&str>> {
    rows.iter()
        .map(|r| r.cells.iter().map(String::as_str).collect())
        .collect()
}

fn numbers(rows: &[RawRow]) -> Vec<u64> {
    rows.iter().map(|r| r.number).collect()
}

fn codes(row: &RawRow) -> Vec<&'static str> {
    row.problems.iter().map(|p| p.code).collect()
}

#[test]
fn utf8_with_and_without_bom() {
    for bytes in [
        &b"Name,Town\nZo\xC3\xAB,S\xC3\xA3o Paulo\n"[..],
        b"\xEF\xBB\xBFName,Town\r\nZo\xC3\xAB,S\xC3\xA3o Paulo",
    ] {
        let (headers, rows) = read(bytes).unwrap_or_default();
        assert_eq!(headers, ["Name", "Town"]);
        assert_eq!(cells(&rows), [["Zoë", "São Paulo"]]);
        assert_eq!(numbers(&rows), [2]);
        assert!(rows[0].problems.is_empty());
    }
}

#[test]
fn windows_1252_is_transcoded() {
    let Ok((headers, rows)) = csv_rows(&b"Caf\xE9;Prix\n\xC9lodie;\xA35 \x80\n"[..], &CsvOptions::default()) else {
        panic!("readable");
    };
    let sniffed_rows = rows.sniffed();
    assert_eq!(headers, ["Café", "Prix"]);
    assert_eq!((sniffed_rows.encoding, sniffed_rows.delimiter), ("windows-1252", b';'));
    let (_, rows) = read(b"Caf\xE9;Prix\n\xC9lodie;\xA35 \x80\n").unwrap_or_default();
    assert_eq!(cells(&rows), [["Élodie", "£5 €"]]);
    assert!(rows[0].problems.is_empty());
}

#[test]
fn late_invalid_utf8_is_read_as_windows_1252_with_a_warning() {
    let mut file = b"Name,Note\n".to_vec();
    for i in 0..5000 {
        file.extend_from_slice(format!("Person {i},plain ascii\n").as_bytes());
    }
    file.extend_from_slice(b"Caf\xE9,ok\n");
    assert!(file.len() > super::SNIFF_BYTES);
    let (_, rows) = read(&file).unwrap_or_default();
    let last = rows.last().cloned().unwrap_or(RawRow {
        number: 0,
        cells: vec![],
        problems: vec![],
    });
    assert_eq!(last.cells, ["Café", "ok"]);
    assert_eq!(codes(&last), ["invalid_utf8"]);
    assert_eq!(last.problems[0].column.as_deref(), Some("Name"));
}

#[test]
fn utf16_with_bom_is_transcoded() {
    let text = "Name\tEmail\r\nZoë\tzoe@example.com\r\n";
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let (headers, rows) = read(&le).unwrap_or_default();
    assert_eq!(headers, ["Name", "Email"]);
    assert_eq!(cells(&rows), [["Zoë", "zoe@example.com"]]);
}

#[test]
fn binary_and_empty_files_are_file_errors() {
    let code = |b: &[u8]| read(b).map(|_| ()).map_err(|e| e.code());
    assert_eq!(code(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0"), Err("binary_file"));
    assert_eq!(code(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3"), Err("binary_file"));
    assert_eq!(code(b"PK\x03\x04\x14\0\0\0"), Err("binary_file"));
    assert_eq!(code(b""), Err("empty_file"));
    assert_eq!(code(b"\xEF\xBB\xBF"), Err("empty_file"));
    assert_eq!(code(b"\r\n  \n"), Err("empty_file"));
    assert_eq!(code(b",,,\n1,2,3\n"), Err("no_header"));
    let utf16_no_bom: Vec<u8> = "a,b\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(code(&utf16_no_bom), Err("unsupported_encoding"));
}

#[test]
fn header_only_file_has_no_rows() {
    for bytes in [&b"Name,Email\n"[..], b"Name,Email", b"Name,Email\r\n\r\n,\r\n"] {
        let (headers, rows) = read(bytes).unwrap_or_default();
        assert_eq!(headers, ["Name", "Email"]);
        assert!(rows.is_empty());
    }
}

#[test]
fn delimiters_are_sniffed() {
    for d in [",", ";", "\t", "|"] {
        let town = if d == "," {
            "\"Bath, Somerset\""
        } else {
            "Bath, Somerset"
        };
        let file = format!("Name{d}Email{d}Town\nAnn{d}ann@example.com{d}York\nBob{d}bob@example.com{d}{town}\n");
        let (headers, rows) = read(file.as_bytes()).unwrap_or_default();
        assert_eq!(headers, ["Name", "Email", "Town"], "{d:?}");
        assert_eq!(cells(&rows)[1], ["Bob", "bob@example.com", "Bath, Somerset"], "{d:?}");
    }
    let forced = CsvOptions {
        delimiter: Some(b';'),
        ..CsvOptions::default()
    };
    let (headers, _) = read_with(b"a,b;c\n1,2;3\n", &forced).unwrap_or_default();
    assert_eq!(headers, ["a,b", "c"]);
    let (headers, rows) = read(b"sep=;\r\nName;Town\r\nAnn;Bath, Somerset\r\n").unwrap_or_default();
    assert_eq!(headers, ["Name", "Town"]);
    assert_eq!(
        (cells(&rows), numbers(&rows)),
        (vec![vec!["Ann", "Bath, Somerset"]], vec![2])
    );
}

#[test]
fn quoted_fields_with_newlines_and_quotes() {
    let file = b"Name,Note,Town\n\"Smith, Jo\",\"Line one\nLine \"\"two\"\"\r\nLine three\",Leeds\nAnn,\"\",York\n";
    let (_, rows) = read(file).unwrap_or_default();
    assert_eq!(
        cells(&rows),
        [
            vec!["Smith, Jo", "Line one\nLine \"two\"\r\nLine three", "Leeds"],
            vec!["Ann", "", "York"]
        ]
    );
    // A multi-line value is still one spreadsheet row.
    assert_eq!(numbers(&rows), [2, 3]);
}

#[test]
fn row_numbers_count_blank_lines() {
    let (_, rows) = read(b"Name\nAnn\n\nBob\n\n\nCy\n").unwrap_or_default();
    assert_eq!(numbers(&rows), [2, 4, 7]);
    let (_, rows) = read(b"Name\r\nAnn\r\n\r\nBob\r\n,\r\nCy").unwrap_or_default();
    assert_eq!(numbers(&rows), [2, 4, 6]);
    let (_, rows) = read(b"Name,Note\n\"a\nb\nc\",x\n\nBob,y\n").unwrap_or_default();
    assert_eq!(numbers(&rows), [2, 4]);
}

#[test]
fn ragged_rows_are_reported_not_fatal() {
    let (_, rows) = read(b"A,B,C\n1,2,3\n4,5\n6,7,8,9\n10,11,12,,\n13,14,15\n").unwrap_or_default();
    assert_eq!(numbers(&rows), [2, 3, 4, 5, 6]);
    assert!(rows[0].problems.is_empty());
    assert_eq!(codes(&rows[1]), ["too_few_cells"]);
    assert!(rows[1].problems[0].message.contains("2 cells"));
    assert_eq!(codes(&rows[2]), ["too_many_cells"]);
    assert_eq!(rows[2].cells, ["6", "7", "8", "9"]);
    assert!(rows[3].problems.is_empty(), "trailing empty cells are harmless");
    assert_eq!(rows[3].cells, ["10", "11", "12"]);
    assert!(rows[4].problems.is_empty());
}

#[test]
fn too_many_columns_is_a_file_error() {
    let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let file = format!("{}\n{}\n", header.join(","), vec!["x"; 10_000].join(","));
    assert_eq!(
        read(file.as_bytes()).map(|_| ()),
        Err(FileError::TooManyColumns {
            found: 10_000,
            max: 500
        })
    );
    let opts = CsvOptions {
        max_columns: 10_000,
        ..CsvOptions::default()
    };
    let (headers, rows) = read_with(file.as_bytes(), &opts).unwrap_or_default();
    assert_eq!((headers.len(), rows.len()), (10_000, 1));
}

#[test]
fn a_one_megabyte_field_is_a_row_error() {
    let big = "x".repeat(1024 * 1024);
    let file = format!("Name,Notes\nAnn,{big}\nBob,short\n");
    let (_, rows) = read(file.as_bytes()).unwrap_or_default();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cells, ["Ann", ""]);
    assert_eq!(codes(&rows[0]), ["field_too_long"]);
    assert_eq!(rows[0].problems[0].column.as_deref(), Some("Notes"));
    assert!(rows[0].problems[0].message.contains("1048576 bytes"));
    assert_eq!(rows[1].cells, ["Bob", "short"]);
    let header_too_long = format!("Name,{big}\n1,2\n");
    assert_eq!(
        read(header_too_long.as_bytes()).map(|_| ()),
        Err(FileError::HeaderTooLong { column: 2, max: 65536 })
    );
}

#[test]
fn an_unclosed_quote_stops_at_the_row_limit() {
    let mut file = b"Name,Note\nAnn,\"never closed\n".to_vec();
    for _ in 0..20_000 {
        file.extend_from_slice(b"more,rows,that,are,swallowed\n");
    }
    let opts = CsvOptions {
        max_row_bytes: 100_000,
        ..CsvOptions::default()
    };
    let (_, rows) = csv_rows(&file[..], &opts).unwrap_or_else(|_| panic!("header readable"));
    let results: Vec<_> = rows.collect();
    assert_eq!(results.len(), 1, "stops after the error");
    assert_eq!(
        results[0].as_ref().map(|_| ()),
        Err(&FileError::RowTooLarge { row: 2, max: 100_000 })
    );
}

/// Produces a large CSV on the fly and counts the bytes handed out.
struct Generated {
    next: u64,
    rows: u64,
    pending: Vec<u8>,
    produced: Rc<Cell<u64>>,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.len() < buf.len() && self.next <= self.rows {
            let line = if self.next == 0 {
                "Id,Name,Email\n".to_string()
            } else {
                format!("{0},Person {0},p{0}@example.com\n", self.next)
            };
            self.pending.extend_from_slice(line.as_bytes());
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.produced.set(self.produced.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn a_million_rows_are_streamed() {
    let produced = Rc::new(Cell::new(0));
    let source = Generated {
        next: 0,
        rows: 1_000_000,
        pending: Vec::new(),
        produced: Rc::clone(&produced),
    };
    let (headers, mut rows) = csv_rows(source, &CsvOptions::default()).unwrap_or_else(|_| panic!("readable"));
    assert_eq!(headers, ["Id", "Name", "Email"]);
    let first = rows.next().and_then(Result::ok).map(|r| r.cells);
    assert_eq!(
        first,
        Some(vec![
            "1".to_string(),
            "Person 1".to_string(),
            "p1@example.com".to_string()
        ])
    );
    assert!(
        produced.get() < 200 * 1024,
        "only the sniffed sample and one buffer are read ahead"
    );
    let (mut count, mut last) = (1u64, 0u64);
    for row in rows {
        count += 1;
        last = row.map(|r| r.number).unwrap_or(0);
    }
    assert_eq!((count, last), (1_000_000, 1_000_001));
}

/// Fails after some bytes.
struct Failing(Vec<u8>);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
        Ok(n)
    }
}

#[test]
fn read_errors_end_the_iteration() {
    let data = format!("Name\n{}", "Ann\n".repeat(30_000)).into_bytes();
    let (_, rows) = csv_rows(Failing(data), &CsvOptions::default()).unwrap_or_else(|_| panic!("readable"));
    let results: Vec<_> = rows.collect();
    assert_eq!(results.len(), 30_001);
    assert!(matches!(results.last(), Some(Err(FileError::Io { .. }))));
    assert_eq!(
        csv_rows(Failing(Vec::new()), &CsvOptions::default())
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("io_error")
    );
}

#[test]
fn path_reader_restarts() {
    let path = std::env::temp_dir().join(format!("importcore-restart-{}.csv", std::process::id()));
    assert!(std::fs::write(&path, "Name,Email\nAnn,ann@example.com\nBob,bob@example.com\n").is_ok());
    let pass = || -> Vec<RawRow> {
        csv_rows_from_path(&path, &CsvOptions::default())
            .map(|(_, rows)| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    };
    let (dry_run, commit) = (pass(), pass());
    assert_eq!(dry_run.len(), 2);
    assert_eq!(dry_run, commit);
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        csv_rows_from_path(&path, &CsvOptions::default())
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("io_error")
    );
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        if let Ok((_, rows)) = csv_rows(&bytes[..], &CsvOptions { max_columns: 8, max_field_bytes: 16, ..CsvOptions::default() }) {
            for row in rows.take(1000) {
                let _ = row;
            }
        }
    }

    #[test]
    fn never_panics_on_csv_like_text(text in "[a-z\",;|\t\r\n ]{0,300}") {
        if let Ok((headers, rows)) = csv_rows(text.as_bytes(), &CsvOptions::default()) {
            prop_assert!(!headers.is_empty());
            let mut last = 1;
            for row in rows {
                let row = row.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(row.number > last);
                last = row.number;
            }
        }
    }
}
