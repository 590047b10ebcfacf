//! Reading one worksheet of an Excel 2007+ (.xlsx) workbook as import rows.
//!
//! Policy: the sheet is read cell by cell (never as one dense grid, so a hostile sheet with
//! a cell at XFD1048576 costs nothing) and its filled cells are kept, up to
//! [`XlsxOptions::max_cells`]. The header is the first row with any filled cell; row numbers
//! are the sheet's own. Values are rendered as text the way a person sees them: whole
//! numbers without `.0` (`7700900123`, not `7.7e9`), TRUE/FALSE, and date-formatted cells
//! as ISO `yyyy-mm-dd` (with `Thh:mm:ss` when there is a time; time-only cells as
//! `hh:mm:ss`), in either the 1900 or the 1904 date system. Date-formatted serial 60 (the
//! non-existent 29/02/1900) and error cells (`#N/A`) are read as blank with a row problem.
//! A plain number in a date-of-birth column is left as a number; the date parser reads it
//! as an Excel serial. The same limits as for CSV apply: too many header columns or a too
//! long column name fail the file; a too long value is dropped and reported on its row;
//! filled cells right of the header are reported (`too_many_cells`). Workbook-reader
//! failures, including a panic inside it, become [`FileError::Workbook`].

use std::io::{Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{DataRef, ExcelDateTime, ExcelDateTimeType, Reader, Xlsx, XlsxError};

use super::csv_reader::RawRow;
use super::{FileError, RowProblem};

/// Limits for reading a worksheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlsxOptions {
    /// Most columns the header may have (default 500).
    pub max_columns: usize,
    /// Longest value, in bytes of UTF-8 (default 64 KiB).
    pub max_field_bytes: usize,
    /// Most filled cells read from the sheet (default 5,000,000).
    pub max_cells: usize,
}

impl Default for XlsxOptions {
    fn default() -> Self {
        Self {
            max_columns: 500,
            max_field_bytes: 64 * 1024,
            max_cells: 5_000_000,
        }
    }
}

fn workbook_error(e: XlsxError) -> FileError {
    match e {
        XlsxError::Password => FileError::Encrypted,
        other => FileError::Workbook {
            message: other.to_string(),
        },
    }
}

/// Run the workbook reader, turning a panic inside it into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, FileError>) -> Result<T, FileError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(FileError::Workbook {
            message: "the workbook reader failed on this file".to_string(),
        })
    })
}

fn open<R: Read + Seek>(reader: R) -> Result<Xlsx<R>, FileError> {
    Xlsx::new(reader).map_err(workbook_error)
}

/// The names of the worksheets, in workbook order.
pub fn xlsx_sheets<R: Read + Seek>(reader: R) -> Result<Vec<String>, FileError> {
    guarded(|| Ok(open(reader)?.sheet_names()))
}

/// Read the sheet named `sheet` (matched exactly, then ignoring case and surrounding
/// spaces), or the first sheet when `None`. Returns the column names (trimmed) and the data
/// rows. To read the workbook again, call this again with a fresh reader.
pub fn xlsx_rows<R: Read + Seek>(
    reader: R,
    sheet: Option<&str>,
    opts: &XlsxOptions,
) -> Result<(Vec<String>, std::vec::IntoIter<RawRow>), FileError> {
    guarded(|| {
        let mut workbook = open(reader)?;
        let names = workbook.sheet_names();
        let name = match sheet {
            None => names.first().cloned().ok_or(FileError::NoSheets)?,
            Some(wanted) => names
                .iter()
                .find(|n| *n == wanted)
                .or_else(|| names.iter().find(|n| n.trim().eq_ignore_ascii_case(wanted.trim())))
                .cloned()
                .ok_or_else(|| FileError::SheetNotFound {
                    name: wanted.to_string(),
                    available: names.clone(),
                })?,
        };
        let mut cells = workbook.worksheet_cells_reader(&name).map_err(workbook_error)?;
        let mut sheet = SheetReader {
            opts,
            headers: None,
            rows: Vec::new(),
        };
        sheet.read(|| cells.next_cell())?;
        let headers = sheet.headers.ok_or(FileError::Empty)?;
        Ok((headers, sheet.rows.into_iter()))
    })
}

/// One rendered cell: column, text and a problem with it.
type RenderedCell = (usize, String, Option<(&'static str, String)>);

struct SheetReader<'o> {
    opts: &'o XlsxOptions,
    headers: Option<Vec<String>>,
    rows: Vec<RawRow>,
}

impl SheetReader<'_> {
    /// Read every cell that `next_cell` yields (the sheet's cell reader).
    fn read<'a>(
        &mut self,
        mut next_cell: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, XlsxError>,
    ) -> Result<(), FileError> {
        let mut pending: Vec<RenderedCell> = Vec::new();
        let mut pending_row: Option<u32> = None;
        let mut count = 0usize;
        while let Some(cell) = next_cell().map_err(workbook_error)? {
            count += 1;
            if count > self.opts.max_cells {
                return Err(FileError::TooManyCells {
                    max: self.opts.max_cells,
                });
            }
            let (row, col) = cell.get_position();
            let (text, problem) = render(cell.get_value(), self.opts.max_field_bytes);
            if text.trim().is_empty() && problem.is_none() {
                continue;
            }
            if pending_row != Some(row) {
                if let Some(r) = pending_row {
                    self.finish_row(r, std::mem::take(&mut pending))?;
                }
                pending_row = Some(row);
            }
            let col = col as usize;
            if self.headers.is_none() && col >= self.opts.max_columns {
                return Err(FileError::TooManyColumns {
                    found: col + 1,
                    max: self.opts.max_columns,
                });
            }
            pending.push((col, text, problem));
        }
        if let Some(r) = pending_row {
            self.finish_row(r, pending)?;
        }
        Ok(())
    }

    fn finish_row(&mut self, row: u32, cells: Vec<RenderedCell>) -> Result<(), FileError> {
        let Some(headers) = &self.headers else {
            let width = cells.iter().map(|(c, _, _)| c + 1).max().unwrap_or(0);
            let mut headers = vec![String::new(); width];
            for (col, text, problem) in cells {
                if matches!(problem, Some(("field_too_long", _))) {
                    return Err(FileError::HeaderTooLong {
                        column: col + 1,
                        max: self.opts.max_field_bytes,
                    });
                }
                if let Some(slot) = headers.get_mut(col) {
                    *slot = text.trim().to_string();
                }
            }
            while headers.last().is_some_and(String::is_empty) {
                headers.pop();
            }
            if headers.is_empty() {
                return Err(FileError::NoHeader);
            }
            self.headers = Some(headers);
            return Ok(());
        };
        let width = headers.len();
        let mut raw = RawRow {
            number: u64::from(row) + 1,
            cells: vec![String::new(); width],
            problems: Vec::new(),
        };
        let mut extra = 0usize;
        for (col, text, problem) in cells {
            if let Some((code, message)) = problem {
                raw.problems.push(match headers.get(col).filter(|h| !h.is_empty()) {
                    Some(h) => RowProblem::cell(h, code, message),
                    None => RowProblem::row(code, format!("Column {}: {message}", col + 1)),
                });
            }
            match raw.cells.get_mut(col) {
                Some(slot) => *slot = text,
                None => extra += 1,
            }
        }
        if extra > 0 {
            raw.problems.push(RowProblem::row(
                "too_many_cells",
                format!("This row has {extra} filled cells to the right of the last column with a header; they were not read and the row's values may be in the wrong columns."),
            ));
        }
        self.rows.push(raw);
        Ok(())
    }
}

/// A whole number as an integer, anything else in Rust's shortest round-trip form.
fn render_number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn render_datetime(dt: &ExcelDateTime) -> (String, Option<(&'static str, String)>) {
    let v = dt.as_f64();
    if dt.is_duration() || !(0.0..2_958_466.0).contains(&v) {
        return (render_number(v), None);
    }
    let (y, m, d, hh, mm, ss, _) = dt.to_ymd_hms_milli();
    let time = format!("{hh:02}:{mm:02}:{ss:02}");
    if v < 1.0 && ExcelDateTime::new(v, ExcelDateTimeType::DateTime, true) != *dt {
        // Time of day only (1900 system: day 0 does not exist).
        return (time, None);
    }
    match chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d)) {
        Some(date) if (hh, mm, ss) == (0, 0, 0) => (date.to_string(), None),
        Some(date) => (format!("{date}T{time}"), None),
        None => (
            String::new(),
            Some((
                "invalid_date",
                format!(
                    "The cell holds Excel's date {y:04}-{m:02}-{d:02}, which does not exist; it was read as blank."
                ),
            )),
        ),
    }
}

fn render(value: &DataRef<'_>, max_bytes: usize) -> (String, Option<(&'static str, String)>) {
    let text = match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            if s.len() > max_bytes {
                return too_long(s.len(), max_bytes);
            }
            s.clone()
        }
        DataRef::SharedString(s) => {
            if s.len() > max_bytes {
                return too_long(s.len(), max_bytes);
            }
            (*s).to_string()
        }
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => render_number(*f),
        DataRef::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).to_string(),
        DataRef::DateTime(dt) => return render_datetime(dt),
        DataRef::Error(e) => {
            let message = format!("The cell shows an Excel error ({e}); it was read as blank.");
            return (String::new(), Some(("excel_error", message)));
        }
    };
    (text, None)
}

fn too_long(len: usize, max: usize) -> (String, Option<(&'static str, String)>) {
    let message = format!("The value is {len} bytes long; at most {max} are allowed, so it was not read.");
    (String::new(), Some(("field_too_long", message)))
}

#[cfg(test)]
#[path = "xlsx_tests.rs"]
mod tests;
