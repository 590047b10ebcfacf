//! Streaming CSV reading: one row at a time from any `std::io::Read`.
//!
//! Policy: the first row is the header; the first [`SNIFF_BYTES`] bytes decide the encoding
//! and (unless given) the delimiter; an Excel `sep=;` first line is skipped. Rows are read one at a time and never all held in
//! memory; to read a file twice (dry run, then commit) call [`csv_rows_from_path`] (or
//! [`csv_rows`] on a fresh reader) again. Limits ([`CsvOptions`]): a header with more than
//! `max_columns` columns, a column name longer than `max_field_bytes` or a single row over
//! `max_row_bytes` (an unclosed quote) fails the file; a value longer than `max_field_bytes`
//! is dropped and reported on its row (`field_too_long`). Rows with a different number of
//! cells from the header are reported, not fatal: extra non-blank cells (`too_many_cells`)
//! and missing cells (`too_few_cells`, read as blank). Blank rows are skipped. Row numbers
//! are those a spreadsheet shows: the header is row 1, a multi-line quoted value stays one
//! row, and blank lines count.
//!
//! [`SNIFF_BYTES`]: super::SNIFF_BYTES

use std::fs::File;
use std::io::{self, Chain, Cursor, Read};
use std::path::Path;

use serde::Serialize;

use super::decode::{decode_field, read_up_to, DecodeReader, Limited};
use super::sniff::{sniff_csv, Sniffed, SNIFF_BYTES};
use super::{FileError, RowProblem};

/// Limits and settings for reading a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field delimiter, or `None` to sniff it (`,` `;` tab or `|`).
    pub delimiter: Option<u8>,
    /// Most columns the header may have (default 500).
    pub max_columns: usize,
    /// Longest value, in bytes of UTF-8 (default 64 KiB).
    pub max_field_bytes: usize,
    /// Largest single row in bytes (default 16 MiB); past it the file is refused, as this
    /// almost always means a quote that is never closed.
    pub max_row_bytes: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: None,
            max_columns: 500,
            max_field_bytes: 64 * 1024,
            max_row_bytes: 16 * 1024 * 1024,
        }
    }
}

/// One data row as read from the file, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawRow {
    /// 1-based row number as a spreadsheet user would see it: the header is row 1, the first
    /// data row is row 2.
    pub number: u64,
    /// The cell texts, by column (may be shorter or longer than the header).
    pub cells: Vec<String>,
    /// Problems found while reading (ragged row, value too long, bad encoding).
    pub problems: Vec<RowProblem>,
}

impl RawRow {
    /// The text of cell `column`, or `""` when the row is shorter.
    pub fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }

    /// Whether every cell is blank.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

type Prefixed<R> = Chain<Cursor<Vec<u8>>, R>;

/// The byte stream the CSV parser sees: the file itself, or UTF-16 transcoded to UTF-8.
enum Source<R> {
    Bytes(Prefixed<R>),
    Utf16(DecodeReader<Prefixed<R>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Bytes(r) => r.read(buf),
            Source::Utf16(r) => r.read(buf),
        }
    }
}

/// The data rows of a CSV file, read one at a time. Yields `Err` once (and then ends) when
/// the rest of the file cannot be read.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<Limited<Source<R>>>,
    record: csv::ByteRecord,
    sniffed: Sniffed,
    opts: CsvOptions,
    headers: Vec<String>,
    utf8: bool,
    last_number: u64,
    done: bool,
}

/// Read a CSV file from any reader: sniffs the encoding and delimiter, strips a BOM,
/// transcodes Windows-1252 and UTF-16 to UTF-8 on the fly and returns the (trimmed) column
/// names and an iterator over the data rows.
///
/// Errors: see [`FileError`]; [`FileError::Empty`] for a file with no header row.
pub fn csv_rows<R: Read>(mut reader: R, opts: &CsvOptions) -> Result<(Vec<String>, CsvRows<R>), FileError> {
    let mut prefix = vec![0; SNIFF_BYTES];
    let n = read_up_to(&mut reader, &mut prefix).map_err(|e| FileError::io(&e))?;
    prefix.truncate(n);
    let mut sniffed = sniff_csv(&prefix)?;
    if let Some(d) = opts.delimiter {
        sniffed.delimiter = d;
    }
    let mut cursor = Cursor::new(prefix);
    let source = match sniffed.encoding {
        "utf-16le" | "utf-16be" => Source::Utf16(DecodeReader::new(cursor.chain(reader), sniffed.encoding_rs())),
        _ => {
            cursor.set_position(sniffed.bom_len() as u64);
            Source::Bytes(cursor.chain(reader))
        }
    };
    let csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniffed.delimiter)
        .from_reader(Limited::new(source));
    let mut rows = CsvRows {
        reader: csv_reader,
        record: csv::ByteRecord::new(),
        utf8: sniffed.encoding != "windows-1252",
        sniffed,
        opts: opts.clone(),
        headers: Vec::new(),
        last_number: 0,
        done: false,
    };
    if rows.sniffed.sep_line {
        // Excel's "sep=;" line is not a row as far as a spreadsheet user can see.
        rows.read_record()?;
        rows.last_number = 0;
    }
    rows.read_header()?;
    Ok((rows.headers.clone(), rows))
}

/// [`csv_rows`] on the file at `path`. Each call reads the file from the start, so a dry
/// run and the commit can each call it.
pub fn csv_rows_from_path(
    path: impl AsRef<Path>,
    opts: &CsvOptions,
) -> Result<(Vec<String>, CsvRows<File>), FileError> {
    let file = File::open(path).map_err(|e| FileError::io(&e))?;
    csv_rows(file, opts)
}

impl<R: Read> CsvRows<R> {
    /// The encoding and delimiter in use.
    pub fn sniffed(&self) -> Sniffed {
        self.sniffed
    }

    /// The column names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Read the next record into `self.record`; returns its row number.
    fn read_record(&mut self) -> Result<Option<u64>, FileError> {
        let start_line = self.reader.position().line();
        let limited = self.reader.get_mut();
        limited.limit = limited.read.saturating_add(self.opts.max_row_bytes as u64);
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                // Lines consumed, less the line breaks inside quoted values and the row's
                // own line break, are blank lines that a spreadsheet would show as rows.
                let span = self.reader.position().line().saturating_sub(start_line);
                let embedded: u64 = self
                    .record
                    .iter()
                    .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
                    .sum();
                let blank_lines = span.saturating_sub(embedded + 1);
                self.last_number = self.last_number.saturating_add(1 + blank_lines);
                Ok(Some(self.last_number))
            }
            Ok(false) => Ok(None),
            Err(_) if self.reader.get_ref().tripped => Err(FileError::RowTooLarge {
                row: self.last_number + 1,
                max: self.opts.max_row_bytes,
            }),
            Err(e) => Err(FileError::Io { message: e.to_string() }),
        }
    }

    fn read_header(&mut self) -> Result<(), FileError> {
        if self.read_record()?.is_none() {
            return Err(FileError::Empty);
        }
        let mut headers = Vec::with_capacity(self.record.len().min(self.opts.max_columns + 1));
        for (i, field) in self.record.iter().enumerate() {
            if field.len() > self.opts.max_field_bytes {
                return Err(FileError::HeaderTooLong {
                    column: i + 1,
                    max: self.opts.max_field_bytes,
                });
            }
            let (text, _) = decode_field(field, self.utf8);
            headers.push(text.trim_start_matches('\u{FEFF}').trim().to_string());
        }
        while headers.last().is_some_and(String::is_empty) {
            headers.pop();
        }
        if headers.is_empty() {
            return Err(FileError::NoHeader);
        }
        if headers.len() > self.opts.max_columns {
            return Err(FileError::TooManyColumns {
                found: headers.len(),
                max: self.opts.max_columns,
            });
        }
        self.headers = headers;
        Ok(())
    }

    fn header(&self, column: usize) -> Option<&str> {
        self.headers.get(column).map(String::as_str)
    }

    fn problem(&self, column: usize, code: &'static str, message: String) -> RowProblem {
        match self.header(column) {
            Some(h) => RowProblem::cell(h, code, message),
            None => RowProblem::row(code, format!("Column {}: {message}", column + 1)),
        }
    }

    /// Turn `self.record` into a row, applying the limits.
    fn build_row(&self, number: u64) -> RawRow {
        let mut problems = Vec::new();
        let mut cells = Vec::with_capacity(self.headers.len());
        let found = self.record.len();
        let mut encoding_reported = false;
        for (i, field) in self.record.iter().take(self.opts.max_columns).enumerate() {
            if field.len() > self.opts.max_field_bytes {
                let message = format!(
                    "The value is {} bytes long; at most {} are allowed, so it was not read.",
                    field.len(),
                    self.opts.max_field_bytes
                );
                problems.push(self.problem(i, "field_too_long", message));
                cells.push(String::new());
                continue;
            }
            let (text, fallback) = decode_field(field, self.utf8);
            if fallback && !encoding_reported {
                encoding_reported = true;
                let message =
                    "This value is not valid UTF-8; it was read as Windows-1252. Check accented letters and symbols.";
                problems.push(self.problem(i, "invalid_utf8", message.to_string()));
            }
            cells.push(text);
        }
        let expected = self.headers.len();
        while cells.len() > expected && cells.last().is_some_and(|c| c.trim().is_empty()) {
            cells.pop();
        }
        if cells.len() > expected || found > self.opts.max_columns {
            problems.push(RowProblem::row(
                "too_many_cells",
                format!(
                    "This row has {found} cells but the header has {expected} columns, so its values may be in the wrong columns (is there an unquoted delimiter in a value?)."
                ),
            ));
        } else if found < expected {
            problems.push(RowProblem::row(
                "too_few_cells",
                format!("This row has {found} cells but the header has {expected} columns; the missing cells are read as blank."),
            ));
        }
        RawRow {
            number,
            cells,
            problems,
        }
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<RawRow, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.read_record() {
                Ok(Some(number)) => {
                    let row = self.build_row(number);
                    if row.is_blank() && row.problems.iter().all(|p| p.code == "too_few_cells") {
                        continue;
                    }
                    return Some(Ok(row));
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl<R: Read> std::iter::FusedIterator for CsvRows<R> {}
