//! Reach: people engaged per department, and how many engage with more than one.
//!
//! Policy:
//! - Engaged = at least one participation (attended, volunteered, responded) with the
//!   department among the events passed in. Each person counts once per department.
//! - `by_department_count[d]` counts people engaged with exactly *d* departments (1..=m, where m
//!   is the number of departments present); `more_than_one` is the sum for *d* ≥ 2.
//! - `overlap[i][j]` counts people engaged with both departments *i* and *j*; the diagonal is the
//!   department's own count; the matrix is symmetric.
//! - Audited identities (all exact, so complementary suppression keeps every hidden cell
//!   underdetermined): Σ n_d = people; Σ d·n_d = Σ department counts; Σ C(d,2)·n_d = Σ pair
//!   overlaps; Σ_{d≥2} n_d = more_than_one. With two departments this hides, e.g., the overlap
//!   and the total together when the overlap is small.

use serde::Serialize;

use super::audit::{Cell, Table};
use super::count::Count;
use super::input::{Dictionary, EventIds};
use super::stream::{is_participation, PersonSink, Stamps};

/// Reach across departments.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Reach {
    /// The small-count threshold applied.
    pub min_count: u64,
    /// People engaged with at least one department.
    pub people: Count,
    /// People engaged with two departments or more.
    pub more_than_one: Count,
    /// Department codes, sorted: the order of `departments` and of the overlap matrix.
    pub department_codes: Vec<String>,
    /// People engaged per department.
    pub departments: Vec<DepartmentReach>,
    /// People by the number of departments they engaged with (1..=number of departments).
    pub by_department_count: Vec<DepartmentCountBucket>,
    /// People engaged with both departments (row, column) in `department_codes` order; the
    /// diagonal repeats the department's own count.
    pub overlap: Vec<Vec<Count>>,
    /// Times the input was found not sorted by person (0 when the caller's SQL is right).
    #[serde(skip)]
    pub order_breaks: u64,
}

/// People engaged with one department.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DepartmentReach {
    /// Department code.
    pub department: String,
    /// How many people.
    pub people: Count,
}

/// People engaged with exactly this many departments.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DepartmentCountBucket {
    /// Number of departments.
    pub departments: u32,
    /// How many people.
    pub people: Count,
}

/// Accumulates reach person by person.
#[derive(Debug, Default)]
pub(crate) struct ReachAcc {
    people: u64,
    per_department: Vec<u64>,
    by_count: Vec<u64>,
    /// `pairs[a][b]` for department ids a < b.
    pairs: Vec<Vec<u64>>,
    stamps: Stamps,
    seen: Vec<u16>,
}

impl PersonSink for ReachAcc {
    fn person(&mut self, events: &[EventIds], dict: &Dictionary) {
        self.stamps.next_round();
        self.seen.clear();
        for ev in events.iter().filter(|e| is_participation(e, dict)) {
            if self.stamps.first_sight(ev.department) {
                self.seen.push(ev.department);
            }
        }
        let n = self.seen.len();
        if n == 0 {
            return;
        }
        self.people += 1;
        if self.by_count.len() <= n {
            self.by_count.resize(n + 1, 0);
        }
        if let Some(c) = self.by_count.get_mut(n) {
            *c += 1;
        }
        self.seen.sort_unstable();
        for (i, &a) in self.seen.iter().enumerate() {
            let slot = usize::from(a);
            if slot >= self.per_department.len() {
                self.per_department.resize(slot + 1, 0);
            }
            if let Some(c) = self.per_department.get_mut(slot) {
                *c += 1;
            }
            let rest = self.seen.get(i + 1..).unwrap_or(&[]);
            if let Some(&b_max) = rest.last() {
                if self.pairs.len() <= slot {
                    self.pairs.resize_with(slot + 1, Vec::new);
                }
                if let Some(row) = self.pairs.get_mut(slot) {
                    if row.len() <= usize::from(b_max) {
                        row.resize(usize::from(b_max) + 1, 0);
                    }
                    for &b in rest {
                        if let Some(c) = row.get_mut(usize::from(b)) {
                            *c += 1;
                        }
                    }
                }
            }
        }
    }
}

impl ReachAcc {
    /// Suppress and label.
    pub(crate) fn finish(self, dict: &Dictionary, k: u64, order_breaks: u64) -> Reach {
        let mut depts: Vec<u16> = (0..self.per_department.len())
            .filter(|i| self.per_department.get(*i).is_some_and(|n| *n > 0))
            .filter_map(|i| u16::try_from(i).ok())
            .collect();
        depts.sort_by(|a, b| dict.department_name(*a).cmp(dict.department_name(*b)));
        let m = depts.len();

        let mut table = Table::new();
        let total = table.cell(self.people);
        let dept_cells: Vec<Cell> = depts
            .iter()
            .map(|d| table.cell(self.per_department.get(usize::from(*d)).copied().unwrap_or(0)))
            .collect();
        let count_cells: Vec<Cell> = (1..=m)
            .map(|d| table.cell(self.by_count.get(d).copied().unwrap_or(0)))
            .collect();
        let more_than_one = table.cell(self.by_count.iter().skip(2).sum());
        // Pair cells for i < j, in row-major order.
        let mut pair_cells: Vec<Vec<Option<Cell>>> = vec![vec![None; m]; m];
        let mut all_pairs = Vec::new();
        for (i, a) in depts.iter().enumerate() {
            for (j, b) in depts.iter().enumerate().skip(i + 1) {
                let key = if a < b { (*a, *b) } else { (*b, *a) };
                let count = self
                    .pairs
                    .get(usize::from(key.0))
                    .and_then(|r| r.get(usize::from(key.1)));
                let cell = table.cell(count.copied().unwrap_or(0));
                if let Some(row) = pair_cells.get_mut(i) {
                    row[j] = Some(cell);
                }
                if let Some(row) = pair_cells.get_mut(j) {
                    row[i] = Some(cell);
                }
                all_pairs.push(cell);
            }
        }

        table.sum(&count_cells, total);
        table.sum(&count_cells.iter().skip(1).copied().collect::<Vec<_>>(), more_than_one);
        let weighted = |w: &dyn Fn(i64) -> i64, others: &[Cell]| {
            let mut terms: Vec<(Cell, i64)> = count_cells
                .iter()
                .zip(1i64..)
                .map(|(c, d)| (*c, w(d)))
                .filter(|(_, a)| *a != 0)
                .collect();
            terms.extend(others.iter().map(|c| (*c, -1)));
            terms
        };
        table.relation(&weighted(&|d| d, &dept_cells));
        table.relation(&weighted(&|d| d * (d - 1) / 2, &all_pairs));
        let published = table.resolve(k);

        let names: Vec<String> = depts.iter().map(|d| dict.department_name(*d).to_string()).collect();
        let overlap = pair_cells
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, cell)| match (i == j, cell) {
                        (true, _) => dept_cells.get(i).map_or(Count::Below(k), |c| published.count(*c)),
                        (false, Some(c)) => published.count(*c),
                        (false, None) => Count::Below(k),
                    })
                    .collect()
            })
            .collect();
        Reach {
            min_count: k,
            people: published.count(total),
            more_than_one: published.count(more_than_one),
            departments: names
                .iter()
                .zip(&dept_cells)
                .map(|(name, c)| DepartmentReach {
                    department: name.clone(),
                    people: published.count(*c),
                })
                .collect(),
            by_department_count: count_cells
                .iter()
                .zip(1u32..)
                .map(|(c, d)| DepartmentCountBucket {
                    departments: d,
                    people: published.count(*c),
                })
                .collect(),
            department_codes: names,
            overlap,
            order_breaks,
        }
    }
}
