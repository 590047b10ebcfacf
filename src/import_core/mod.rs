//! Bulk import of people from CSV and Excel (.xlsx) files: reading, column mapping and
//! row validation, with no database access.
//!
//! Policy: uploaded files are hostile input. Nothing in this module panics on file contents;
//! every problem is reported either as a [`FileError`] (the file as a whole cannot be read:
//! empty, binary, unsupported encoding, too many columns, a row so large that the file is
//! almost certainly broken) or as a [`RowProblem`] attached to one row (ragged row, field
//! too long, invalid value). Row problems never stop the import of the other rows.
//!
//! The flow is: [`detect_kind`] on the first bytes → [`csv_rows`] / [`csv_rows_from_path`]
//! or [`xlsx_rows`] → [`suggest_mapping`] (the user may edit it; [`validate_mapping`] checks
//! the result) → [`clean_row`] for every [`RawRow`] → [`RowOutcome`]. A dry run and the real
//! commit read the file twice: every reader here starts from the beginning each time it is
//! called. Error reports for people to download are written with [`write_csv_row`], which
//! neutralises spreadsheet formulas.

mod clean;
mod consent;
mod csv_reader;
mod dates;
mod decode;
mod export;
mod fields;
mod hash;
mod mapping;
mod names;
mod sniff;
mod suggest;
mod synonyms;
mod xlsx;

#[cfg(test)]
mod clean_tests;
#[cfg(test)]
mod csv_tests;
#[cfg(test)]
mod testkit;

use std::fmt;

use serde::Serialize;

pub use clean::{clean_row, CleanAddress, CleanRow, RowOptions, RowOutcome};
pub use consent::{parse_consent, ConsentValue};
pub use csv_reader::{csv_rows, csv_rows_from_path, CsvOptions, CsvRows, RawRow};
pub use dates::{detect_date_order, parse_date, DateError, DateOrder, DateOrderReport};
pub use export::{csv_cell, write_csv_row};
pub use hash::content_hash;
pub use mapping::{validate_mapping, ColumnMapping, Mapping, Target};
pub use names::{fix_name_case, normalize_title};
pub use sniff::{detect_kind, sniff_csv, FileKind, Sniffed, SNIFF_BYTES};
pub use suggest::{header_slug, suggest_mapping, suggest_target};
pub use xlsx::{xlsx_rows, xlsx_sheets, XlsxOptions};

/// A problem with one row (or one cell of it): a stable snake_case `code` that programs may
/// match on, the header of the column concerned (when there is one) and a plain-English
/// message for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// The header of the column the problem is in, or `None` for the row as a whole.
    pub column: Option<String>,
    /// Stable machine-readable reason, e.g. `"invalid_email"`, `"ragged_row"`.
    pub code: &'static str,
    /// Plain-English explanation suitable for showing to staff.
    pub message: String,
}

impl RowProblem {
    /// A problem with the row as a whole.
    pub fn row(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            column: None,
            code,
            message: message.into(),
        }
    }

    /// A problem with the value in the column with header `header`.
    pub fn cell(header: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            column: Some(header.to_string()),
            code,
            message: message.into(),
        }
    }
}

/// Why a whole file cannot be read. Each variant has a stable [`FileError::code`] and a
/// plain-English [`Display`](fmt::Display) message for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The file has no content (no bytes, or only a byte-order mark, blank lines or spaces).
    Empty,
    /// The first row has no column names.
    NoHeader,
    /// The content is binary: `what` names it, e.g. "a PNG image".
    Binary {
        /// What the file looks like, e.g. "a PDF document".
        what: &'static str,
    },
    /// A text encoding that cannot be read: `what` names it, e.g. "UTF-32".
    UnsupportedEncoding {
        /// The encoding found.
        what: &'static str,
    },
    /// The header row has more columns than allowed.
    TooManyColumns {
        /// Columns in the header.
        found: usize,
        /// The configured limit.
        max: usize,
    },
    /// A column name is longer than the field limit.
    HeaderTooLong {
        /// 1-based column number.
        column: usize,
        /// The configured limit in bytes.
        max: usize,
    },
    /// One row is larger than the row limit: almost always a quote that is never closed,
    /// which makes the rest of the file one value.
    RowTooLarge {
        /// The row (as numbered in a spreadsheet) that became too large.
        row: u64,
        /// The configured limit in bytes.
        max: usize,
    },
    /// The worksheet has more cells than the configured limit.
    TooManyCells {
        /// The configured limit.
        max: usize,
    },
    /// A ZIP file that is not a readable .xlsx workbook, or a damaged workbook.
    Workbook {
        /// What the workbook reader said.
        message: String,
    },
    /// The workbook is password protected.
    Encrypted,
    /// The workbook has no worksheets.
    NoSheets,
    /// The sheet asked for does not exist.
    SheetNotFound {
        /// The name asked for.
        name: String,
        /// The sheets the workbook has.
        available: Vec<String>,
    },
    /// The file could not be read from storage.
    Io {
        /// What the operating system said.
        message: String,
    },
}

impl FileError {
    /// Stable machine-readable reason, in snake_case. Safe to match on.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::Empty => "empty_file",
            FileError::NoHeader => "no_header",
            FileError::Binary { .. } => "binary_file",
            FileError::UnsupportedEncoding { .. } => "unsupported_encoding",
            FileError::TooManyColumns { .. } => "too_many_columns",
            FileError::HeaderTooLong { .. } => "header_too_long",
            FileError::RowTooLarge { .. } => "row_too_large",
            FileError::TooManyCells { .. } => "too_many_cells",
            FileError::Workbook { .. } => "unreadable_workbook",
            FileError::Encrypted => "encrypted_workbook",
            FileError::NoSheets => "no_sheets",
            FileError::SheetNotFound { .. } => "sheet_not_found",
            FileError::Io { .. } => "io_error",
        }
    }

    pub(crate) fn io(e: &std::io::Error) -> Self {
        FileError::Io { message: e.to_string() }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Empty => write!(f, "The file is empty."),
            FileError::NoHeader => write!(f, "The first row must contain the column names, but it is blank."),
            FileError::Binary { what } => write!(
                f,
                "This file is {what}, not a CSV or Excel (.xlsx) file. Save the data as CSV or .xlsx and try again."
            ),
            FileError::UnsupportedEncoding { what } => write!(
                f,
                "The file is written in {what}, which cannot be read. Save it as \"CSV UTF-8\" and try again."
            ),
            FileError::TooManyColumns { found, max } => write!(
                f,
                "The file has {found} columns; at most {max} are allowed. Remove the columns you do not need."
            ),
            FileError::HeaderTooLong { column, max } => {
                write!(f, "The name of column {column} is longer than {max} bytes.")
            }
            FileError::RowTooLarge { row, max } => write!(
                f,
                "Row {row} is larger than {max} bytes. This usually means a quote (\") is opened and never closed."
            ),
            FileError::TooManyCells { max } => {
                write!(
                    f,
                    "The sheet has more than {max} filled cells; split it into smaller files."
                )
            }
            FileError::Workbook { message } => {
                write!(f, "The file is not a readable Excel (.xlsx) workbook: {message}")
            }
            FileError::Encrypted => {
                write!(
                    f,
                    "The workbook is password protected; save a copy without a password and try again."
                )
            }
            FileError::NoSheets => write!(f, "The workbook has no worksheets."),
            FileError::SheetNotFound { name, available } => {
                write!(
                    f,
                    "The workbook has no sheet called \"{name}\"; it has: {}.",
                    available.join(", ")
                )
            }
            FileError::Io { message } => write!(f, "The file could not be read: {message}"),
        }
    }
}

impl std::error::Error for FileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_have_codes_and_messages() {
        let errors = [
            FileError::Empty,
            FileError::NoHeader,
            FileError::Binary { what: "a PNG image" },
            FileError::UnsupportedEncoding { what: "UTF-32" },
            FileError::TooManyColumns { found: 10, max: 5 },
            FileError::HeaderTooLong { column: 3, max: 10 },
            FileError::RowTooLarge { row: 7, max: 100 },
            FileError::TooManyCells { max: 9 },
            FileError::Workbook { message: "bad".into() },
            FileError::Encrypted,
            FileError::NoSheets,
            FileError::SheetNotFound {
                name: "X".into(),
                available: vec!["A".into()],
            },
            FileError::Io { message: "gone".into() },
        ];
        let mut codes: Vec<_> = errors.iter().map(FileError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        for e in &errors {
            assert!(e.to_string().len() > 10, "{e}");
        }
        assert!(FileError::RowTooLarge { row: 7, max: 100 }
            .to_string()
            .contains("Row 7"));
    }

    #[test]
    fn problems() {
        let p = RowProblem::cell("Email", "invalid_email", "bad");
        assert_eq!(p.column.as_deref(), Some("Email"));
        assert_eq!(RowProblem::row("x", "y").column, None);
    }
}
