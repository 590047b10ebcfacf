//! Dates as people and spreadsheets write them.
//!
//! Policy: accepted forms are `dd/mm/yyyy` and `d/m/yy` (also with `-` or `.`), ISO
//! `yyyy-mm-dd` and `yyyy/mm/dd`, a month name (`12 Mar 1980`, `12 March 1980`,
//! `12-Mar-80`, `March 12, 1980`, `1st March 1980`), a trailing time (`00:00:00`, `T00:00`) and
//! Excel serial day numbers in the 1900 date system (serial 60, Excel's phantom 29 February
//! 1900, is refused; serials below 367 — within 1900 — are refused, as they are more likely
//! ages or codes than dates). A 4-digit number alone is a year, not a date. Two-digit years
//! are taken in the most recent century that does not put them after today.
//! Numeric day/month order is never guessed: with [`DateOrder::DayFirst`] (UK files, the
//! default) `03/04/1980` is 3 April and a value that only makes sense month-first
//! (`12/31/1980`) is refused with code `month_first_date`; [`DateOrder::MonthFirst`] is the
//! mirror image. [`detect_date_order`] tells whether a column's values are consistently
//! month-first so that the caller can offer to switch.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// How to read a numeric date whose first two parts could be day or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// `dd/mm/yyyy`, as UK exports write dates.
    #[default]
    DayFirst,
    /// `mm/dd/yyyy`, as US exports write dates.
    MonthFirst,
}

/// Why a value is not a date: code `empty`, `invalid_date`, `month_first_date`,
/// `day_first_date` or `incomplete_date`, and a message for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError {
    /// Stable machine-readable reason.
    pub code: &'static str,
    /// Plain-English explanation.
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> DateError {
    DateError {
        code,
        message: message.into(),
    }
}

/// The shape of a date value before day/month order is applied.
enum Shape {
    Empty,
    Serial(f64),
    YearOnly,
    /// Year, month, day with no doubt about the order (ISO or month name).
    Ymd(i32, u32, u32),
    /// `a/b/year` where `a` and `b` are day and month in an unknown order.
    Numeric(u32, u32, i32),
    Invalid,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_number(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    let index = MONTHS
        .iter()
        .position(|m| m.starts_with(&w) || (w == "sept" && m.starts_with("sep")))?;
    u32::try_from(index + 1).ok()
}

/// Digits with an optional ordinal suffix (`1st`, `22nd`).
fn day_number(part: &str) -> Option<u32> {
    let lower = part.to_ascii_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| lower.strip_suffix(s))
        .unwrap_or(&lower);
    number(digits)
}

fn number(part: &str) -> Option<u32> {
    if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// A 2- or 4-digit year; two digits resolve to the latest century not after today.
fn year(part: &str, today: NaiveDate) -> Option<i32> {
    let n = i32::try_from(number(part)?).ok()?;
    match part.len() {
        4 => Some(n),
        2 => {
            let century = today.year() - today.year().rem_euclid(100);
            Some(if century + n > today.year() {
                century - 100 + n
            } else {
                century + n
            })
        }
        _ => None,
    }
}

fn shape(input: &str, today: NaiveDate) -> Shape {
    let s = input.trim();
    if s.is_empty() {
        return Shape::Empty;
    }
    // ISO date-time: keep the date.
    let s = match (s.get(..10), s.get(10..11)) {
        (Some(date), Some("T" | "t")) => date,
        _ => s,
    };
    let tokens: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty() && !t.contains(':') && !t.eq_ignore_ascii_case("am") && !t.eq_ignore_ascii_case("pm"))
        .collect();
    if let [only] = tokens.as_slice() {
        if only.bytes().all(|b| b.is_ascii_digit() || b == b'.') && only.bytes().filter(|b| *b == b'.').count() <= 1 {
            if only.len() == 4 && !only.contains('.') {
                return Shape::YearOnly;
            }
            return only.parse::<f64>().map_or(Shape::Invalid, Shape::Serial);
        }
    }
    let parts: Vec<&str> = tokens
        .iter()
        .flat_map(|t| t.split(['/', '-', '.']))
        .filter(|p| !p.is_empty())
        .collect();
    let [p0, p1, p2] = parts.as_slice() else {
        return Shape::Invalid;
    };
    let months: Vec<Option<u32>> = parts.iter().map(|p| month_number(p)).collect();
    let ymd = |y: Option<i32>, m: Option<u32>, d: Option<u32>| match (y, m, d) {
        (Some(y), Some(m), Some(d)) => Shape::Ymd(y, m, d),
        _ => Shape::Invalid,
    };
    match months.as_slice() {
        [Some(m), None, None] => ymd(year(p2, today), Some(*m), day_number(p1)),
        [None, Some(m), None] if p0.len() == 4 => ymd(year(p0, today), Some(*m), day_number(p2)),
        [None, Some(m), None] => ymd(year(p2, today), Some(*m), day_number(p0)),
        [None, None, Some(m)] if p0.len() == 4 => ymd(year(p0, today), Some(*m), day_number(p1)),
        [None, None, None] if p0.len() == 4 => ymd(year(p0, today), number(p1), number(p2)),
        [None, None, None] if p0.len() <= 2 && p1.len() <= 2 => match (number(p0), number(p1), year(p2, today)) {
            (Some(a), Some(b), Some(y)) => Shape::Numeric(a, b, y),
            _ => Shape::Invalid,
        },
        _ => Shape::Invalid,
    }
}

/// The date of an Excel serial day number in the 1900 date system (`29295.0` → 1980-03-15).
/// `None` for serial 60 (Excel's non-existent 29 February 1900), values below 1, at or past
/// 10000-01-01, or not finite. A fraction (the time of day) is ignored.
pub(crate) fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let (epoch, offset) = match days {
        60 => return None,
        ..60 => (NaiveDate::from_ymd_opt(1899, 12, 31)?, days),
        _ => (NaiveDate::from_ymd_opt(1899, 12, 30)?, days),
    };
    epoch.checked_add_signed(chrono::TimeDelta::try_days(offset)?)
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Parse a date. `today` resolves two-digit years. See the module policy for the forms
/// accepted and for how day/month order is handled.
pub fn parse_date(input: &str, order: DateOrder, today: NaiveDate) -> Result<NaiveDate, DateError> {
    let shown = input.trim();
    let invalid = || {
        err(
            "invalid_date",
            format!("\"{shown}\" is not a date; write dates like 31/12/1980."),
        )
    };
    match shape(input, today) {
        Shape::Empty => Err(err("empty", "Enter a date.")),
        Shape::Invalid => Err(invalid()),
        Shape::YearOnly => Err(err(
            "incomplete_date",
            format!("\"{shown}\" is only a year; a full date is needed."),
        )),
        Shape::Serial(v) if v < 367.0 => Err(invalid()),
        Shape::Serial(v) => excel_serial_date(v).ok_or_else(invalid),
        Shape::Ymd(y, m, d) => ymd(y, m, d).ok_or_else(invalid),
        Shape::Numeric(a, b, y) => {
            let (preferred, alternative, code, other_name) = match order {
                DateOrder::DayFirst => (ymd(y, b, a), ymd(y, a, b), "month_first_date", "a US (month-first)"),
                DateOrder::MonthFirst => (ymd(y, a, b), ymd(y, b, a), "day_first_date", "a UK (day-first)"),
            };
            match (preferred, alternative) {
                (Some(d), _) => Ok(d),
                (None, Some(_)) => Err(err(
                    code,
                    format!("\"{shown}\" looks like {other_name} date, which this import does not expect; it was not guessed."),
                )),
                (None, None) => Err(invalid()),
            }
        }
    }
}

/// What the numeric dates of a column say about their day/month order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DateOrderReport {
    /// Values valid only day-first (`31/12/1980`).
    pub day_first_only: usize,
    /// Values valid only month-first (`12/31/1980`).
    pub month_first_only: usize,
    /// Values valid either way (`03/04/1980`).
    pub ambiguous: usize,
    /// Blank values, unambiguous forms (ISO, month names, serials) and non-dates.
    pub other: usize,
}

impl DateOrderReport {
    /// The order the evidence supports: `Some` only when one order occurs and the other
    /// never does.
    pub fn suggested(&self) -> Option<DateOrder> {
        match (self.day_first_only, self.month_first_only) {
            (0, 0) => None,
            (_, 0) => Some(DateOrder::DayFirst),
            (0, _) => Some(DateOrder::MonthFirst),
            _ => None,
        }
    }

    /// Whether the column is consistently month-first (some values prove it, none contradict).
    pub fn consistently_month_first(&self) -> bool {
        self.suggested() == Some(DateOrder::MonthFirst)
    }
}

/// Look at a column's values (e.g. from a dry run) and count which day/month order each
/// numeric date allows.
pub fn detect_date_order<S: AsRef<str>>(samples: &[S]) -> DateOrderReport {
    let today = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let mut report = DateOrderReport::default();
    for s in samples {
        match shape(s.as_ref(), today) {
            Shape::Numeric(a, b, y) => match (ymd(y, b, a).is_some(), ymd(y, a, b).is_some()) {
                (true, true) => report.ambiguous += 1,
                (true, false) => report.day_first_only += 1,
                (false, true) => report.month_first_only += 1,
                (false, false) => report.other += 1,
            },
            _ => report.other += 1,
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn parse(s: &str) -> Result<NaiveDate, &'static str> {
        parse_date(s, DateOrder::DayFirst, d(2025, 6, 15)).map_err(|e| e.code)
    }

    #[test]
    fn table() {
        let ok = [
            ("31/12/1980", d(1980, 12, 31)),
            ("03/04/1980", d(1980, 4, 3)),
            ("3/4/80", d(1980, 4, 3)),
            ("3/4/25", d(2025, 4, 3)),
            ("3/4/26", d(1926, 4, 3)),
            ("31-12-1980", d(1980, 12, 31)),
            ("31.12.1980", d(1980, 12, 31)),
            ("1980-12-31", d(1980, 12, 31)),
            ("1980/12/31", d(1980, 12, 31)),
            ("1980-12-31T00:00:00", d(1980, 12, 31)),
            ("31/12/1980 00:00", d(1980, 12, 31)),
            ("12 Mar 1980", d(1980, 3, 12)),
            ("12 March 1980", d(1980, 3, 12)),
            ("12-MAR-80", d(1980, 3, 12)),
            ("March 12, 1980", d(1980, 3, 12)),
            ("1st Sept 1980", d(1980, 9, 1)),
            ("  29/02/2000 ", d(2000, 2, 29)),
            ("29295", d(1980, 3, 15)),
            ("29295.75", d(1980, 3, 15)),
            ("45658", d(2025, 1, 1)),
            ("367", d(1901, 1, 1)),
        ];
        for (input, want) in ok {
            assert_eq!(parse(input), Ok(want), "{input}");
        }
        let bad = [
            ("", "empty"),
            ("   ", "empty"),
            ("12/31/1980", "month_first_date"),
            ("31/31/1980", "invalid_date"),
            ("29/02/1981", "invalid_date"),
            ("1980", "incomplete_date"),
            ("60", "invalid_date"),
            ("45", "invalid_date"),
            ("61", "invalid_date"),
            ("0", "invalid_date"),
            ("99999999", "invalid_date"),
            ("1e308", "invalid_date"),
            ("12/1980", "invalid_date"),
            ("1/2/3/4", "invalid_date"),
            ("yesterday", "invalid_date"),
            ("12 Foo 1980", "invalid_date"),
            ("1980-13-01", "invalid_date"),
            ("3/4/980", "invalid_date"),
            ("NaN", "invalid_date"),
        ];
        for (input, want) in bad {
            assert_eq!(parse(input), Err(want), "{input}");
        }
    }

    #[test]
    fn month_first_files() {
        let us = |s: &str| parse_date(s, DateOrder::MonthFirst, d(2025, 6, 15)).map_err(|e| e.code);
        assert_eq!(us("12/31/1980"), Ok(d(1980, 12, 31)));
        assert_eq!(us("03/04/1980"), Ok(d(1980, 3, 4)));
        assert_eq!(us("31/12/1980"), Err("day_first_date"));
        assert_eq!(us("1980-12-31"), Ok(d(1980, 12, 31)));
    }

    #[test]
    fn serials() {
        assert_eq!(excel_serial_date(1.0), Some(d(1900, 1, 1)));
        assert_eq!(excel_serial_date(59.0), Some(d(1900, 2, 28)));
        assert_eq!(excel_serial_date(60.0), None);
        assert_eq!(excel_serial_date(61.0), Some(d(1900, 3, 1)));
        assert_eq!(excel_serial_date(2_958_465.0), Some(d(9999, 12, 31)));
        assert_eq!(excel_serial_date(2_958_466.0), None);
        assert_eq!(excel_serial_date(f64::NAN), None);
        assert_eq!(excel_serial_date(-5.0), None);
    }

    #[test]
    fn detects_order() {
        let uk = detect_date_order(&["31/12/1980", "03/04/1980", "1980-01-01", ""]);
        assert_eq!(
            (uk.day_first_only, uk.month_first_only, uk.ambiguous, uk.other),
            (1, 0, 1, 2)
        );
        assert_eq!(uk.suggested(), Some(DateOrder::DayFirst));
        let us = detect_date_order(&["12/31/1980", "03/04/1980", "2/28/75"]);
        assert!(us.consistently_month_first());
        let mixed = detect_date_order(&["12/31/1980", "31/12/1980"]);
        assert_eq!(mixed.suggested(), None);
        assert_eq!(detect_date_order(&["01/02/2000"]).suggested(), None);
        assert_eq!(detect_date_order::<&str>(&[]).suggested(), None);
    }
}
