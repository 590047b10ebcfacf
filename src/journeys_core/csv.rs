//! CSV rendering of every output (RFC 4180, `\r\n` line ends, a header row, long format).
//!
//! Policy: a cell is quoted when it holds a comma, a quote, CR or LF. A cell that a spreadsheet
//! could read as a formula — starting with `=`, `+`, `-`, `@`, tab, CR or NUL — is prefixed with `'`
//! (OWASP "CSV injection"). Hidden counts appear as `<5` / `hidden`; unpublished numbers
//! (medians, shares) are empty cells. Kinds and department codes come from data and go through
//! the same escaping.

use std::fmt::Write as _;

use super::cohorts::CohortTable;
use super::count::Count;
use super::funnel::Funnel;
use super::input::FunnelScope;
use super::paths::PathList;
use super::reach::Reach;
use super::scores::PersonScores;
use super::transitions::TransitionMatrix;

/// Make one cell safe: neutralise formulas, then quote if needed (the one rule every CSV the
/// service writes follows).
pub use crate::import_core::csv_cell;

/// Builds a CSV document row by row.
#[derive(Debug, Default)]
struct Csv(String);

impl Csv {
    fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c.as_ref())).collect();
        let _ = write!(self.0, "{}\r\n", line.join(","));
    }
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_default()
}

fn opt_count(c: Option<Count>) -> String {
    c.map(|c| c.label()).unwrap_or_default()
}

impl TransitionMatrix {
    /// One line per (from, outcome): `outcome` is `next` (with `to_kind`) or `no_later`.
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::default();
        csv.row(&[
            "from_kind",
            "from_people",
            "outcome",
            "to_kind",
            "people",
            "median_days",
        ]);
        for row in &self.rows {
            let from_people = row.people.label();
            for cell in &row.next {
                csv.row(&[
                    row.from.as_str(),
                    &from_people,
                    "next",
                    &cell.to,
                    &cell.people.label(),
                    &num(cell.median_days),
                ]);
            }
            csv.row(&[
                row.from.as_str(),
                &from_people,
                "no_later",
                "",
                &row.no_later.label(),
                "",
            ]);
        }
        csv.0
    }
}

fn scope_cells(scope: &FunnelScope) -> (&'static str, String) {
    match scope {
        FunnelScope::Activity(a) => ("activity", a.to_string()),
        FunnelScope::Kind(k) => ("kind", k.clone()),
    }
}

impl Funnel {
    /// One line per step.
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::default();
        let (scope, value) = scope_cells(&self.scope);
        csv.row(&["scope", "scope_value", "step", "people", "dropped", "conversion_pct"]);
        for s in &self.steps {
            csv.row(&[
                scope,
                &value,
                s.step.code(),
                &s.people.label(),
                &opt_count(s.dropped),
                &num(s.conversion_pct),
            ]);
        }
        csv.0
    }
}

impl CohortTable {
    /// One line per (cohort, observed month offset).
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::default();
        csv.row(&["cohort_month", "cohort_people", "month_offset", "people", "share_pct"]);
        for c in &self.cohorts {
            let size = c.people.label();
            for cell in &c.cells {
                csv.row(&[
                    c.month.as_str(),
                    &size,
                    &cell.offset.to_string(),
                    &cell.people.label(),
                    &num(cell.share_pct),
                ]);
            }
        }
        csv.0
    }
}

impl PathList {
    /// One line per listed path, then `other` and `all`.
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::default();
        csv.row(&["rank", "path", "length", "people"]);
        for (i, p) in self.paths.iter().enumerate() {
            csv.row(&[
                &(i + 1).to_string(),
                &p.label,
                &p.kinds.len().to_string(),
                &p.people.label(),
            ]);
        }
        csv.row(&["", "(other journeys)", "", &self.other.label()]);
        csv.row(&["", "(all people)", "", &self.people.label()]);
        csv.0
    }
}

impl Reach {
    /// Long format: `measure` is `people`, `more_than_one`, `department`, `department_count` or
    /// `overlap` (each unordered pair once).
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::default();
        csv.row(&[
            "measure",
            "department",
            "other_department",
            "department_count",
            "people",
        ]);
        csv.row(&["people", "", "", "", &self.people.label()]);
        csv.row(&["more_than_one", "", "", "", &self.more_than_one.label()]);
        for d in &self.departments {
            csv.row(&["department", &d.department, "", "", &d.people.label()]);
        }
        for b in &self.by_department_count {
            csv.row(&[
                "department_count",
                "",
                "",
                &b.departments.to_string(),
                &b.people.label(),
            ]);
        }
        for (i, row) in self.overlap.iter().enumerate() {
            for (j, cell) in row.iter().enumerate().skip(i + 1) {
                let a = self.department_codes.get(i).map_or("", String::as_str);
                let b = self.department_codes.get(j).map_or("", String::as_str);
                csv.row(&["overlap", a, b, "", &cell.label()]);
            }
        }
        csv.0
    }
}

impl PersonScores {
    /// A header and one line.
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::default();
        csv.row(&[
            "recency_days",
            "frequency_12m",
            "breadth_kinds",
            "breadth_departments",
            "r_score",
            "f_score",
            "b_score",
        ]);
        csv.row(&[
            self.recency_days.map(|d| d.to_string()).unwrap_or_default(),
            self.frequency_12m.to_string(),
            self.breadth_kinds.to_string(),
            self.breadth_departments.to_string(),
            self.r_score.to_string(),
            self.f_score.to_string(),
            self.b_score.to_string(),
        ]);
        csv.0
    }
}
