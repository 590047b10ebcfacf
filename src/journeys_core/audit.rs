//! Small-count suppression with a linear audit (primary + complementary suppression).
//!
//! Policy: an analytic registers every count it will publish as a *cell* and every exact linear
//! identity between published cells as a *relation* (e.g. "the cells of a row add up to the row
//! total"). Then:
//! 1. **Primary**: every cell below *k* is hidden (`"<k"`).
//! 2. **Complementary**: while some hidden cell could be worked out exactly from the shown cells
//!    through the relations, hide one more shown cell — the smallest one sharing a relation with
//!    the exposed cell (ties: the last registered, so analytics register totals and steps before
//!    the parts and differences they prefer to hide). Shown as `"hidden"`.
//!
//! "Worked out exactly" is decided by linear algebra over the hidden cells: cell *j* is exposed
//! when the unit vector *e_j* lies in the row space of the relations restricted to hidden cells,
//! i.e. when the reduced row-echelon form has a row whose only non-zero entry is *j*. This covers
//! the classic rule (one suppressed cell in a row with a shown total is exposed, so a second one
//! is hidden) and its generalisations (funnel chains, the several identities of reach).
//! Not covered: bounds from non-negativity or integrality (a hidden cell known to lie in a narrow
//! range), and identities across different outputs computed on the same filters.

use super::count::Count;

/// Index of a registered cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell(usize);

/// Cells, relations, and the suppression decision.
#[derive(Debug, Default)]
pub(crate) struct Table {
    values: Vec<u64>,
    relations: Vec<Relation>,
}

/// `Σ coefficient × cell = 0`, as (cell index, coefficient) terms.
pub(crate) type Relation = Vec<(usize, i64)>;

/// The decision: which cells are published.
#[derive(Debug)]
pub(crate) struct Published {
    values: Vec<u64>,
    hidden: Vec<bool>,
    k: u64,
}

impl Table {
    /// A new empty table.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Register a cell.
    pub(crate) fn cell(&mut self, value: u64) -> Cell {
        self.values.push(value);
        Cell(self.values.len() - 1)
    }

    /// Register `Σ coefficient × cell = 0`.
    pub(crate) fn relation(&mut self, terms: &[(Cell, i64)]) {
        self.relations.push(terms.iter().map(|(c, a)| (c.0, *a)).collect());
    }

    /// Register `Σ parts = total`.
    pub(crate) fn sum(&mut self, parts: &[Cell], total: Cell) {
        let mut terms: Vec<(Cell, i64)> = parts.iter().map(|c| (*c, 1)).collect();
        terms.push((total, -1));
        self.relation(&terms);
    }

    /// Apply primary and complementary suppression under threshold `k`.
    pub(crate) fn resolve(self, k: u64) -> Published {
        let mut hidden: Vec<bool> = self.values.iter().map(|v| *v < k).collect();
        // Each round hides one more cell, so this ends within `values.len()` rounds.
        for _ in 0..=self.values.len() {
            let Some(exposed) = exposed_cell(&self.relations, &hidden) else {
                break;
            };
            match self.partner(exposed, &hidden) {
                Some(extra) => hidden[extra] = true,
                None => break,
            }
        }
        Published {
            values: self.values,
            hidden,
            k,
        }
    }

    /// The smallest shown cell sharing a relation with `cell` (else any relation with a hidden
    /// cell).
    fn partner(&self, cell: usize, hidden: &[bool]) -> Option<usize> {
        let smallest = |pred: &dyn Fn(&Relation) -> bool| {
            self.relations
                .iter()
                .filter(|r| pred(r))
                .flat_map(|r| r.iter().map(|(c, _)| *c))
                .filter(|c| !hidden[*c])
                .min_by_key(|c| (self.values[*c], std::cmp::Reverse(*c)))
        };
        smallest(&|r| r.iter().any(|(c, a)| *c == cell && *a != 0))
            .or_else(|| smallest(&|r| r.iter().any(|(c, a)| hidden[*c] && *a != 0)))
    }
}

impl Published {
    /// The published form of a cell.
    pub(crate) fn count(&self, cell: Cell) -> Count {
        let value = self.values.get(cell.0).copied().unwrap_or(0);
        let hidden = self.hidden.get(cell.0).copied().unwrap_or(true);
        Count::publish(value, self.k, hidden)
    }
}

/// A hidden cell that the relations pin down exactly, if any.
pub(crate) fn exposed_cell(relations: &[Relation], hidden: &[bool]) -> Option<usize> {
    let mut columns: Vec<usize> = relations
        .iter()
        .flat_map(|r| r.iter().filter(|(c, a)| hidden[*c] && *a != 0).map(|(c, _)| *c))
        .collect();
    columns.sort_unstable();
    columns.dedup();
    if columns.is_empty() {
        return None;
    }
    let mut rows: Vec<Vec<i128>> = relations
        .iter()
        .map(|r| {
            let mut row = vec![0i128; columns.len()];
            for (c, a) in r {
                if let Ok(pos) = columns.binary_search(c) {
                    row[pos] += i128::from(*a);
                }
            }
            row
        })
        .filter(|row| row.iter().any(|x| *x != 0))
        .collect();
    if !reduce(&mut rows) {
        // Arithmetic overflow: be conservative and report the first hidden cell as exposed.
        return columns.first().copied();
    }
    rows.iter().find_map(|row| {
        let mut nz = row.iter().enumerate().filter(|(_, x)| **x != 0);
        match (nz.next(), nz.next()) {
            (Some((pos, _)), None) => columns.get(pos).copied(),
            _ => None,
        }
    })
}

/// Reduced row-echelon form with integer rows (each kept divided by its gcd). False on overflow.
fn reduce(rows: &mut [Vec<i128>]) -> bool {
    let width = rows.first().map_or(0, Vec::len);
    let mut pivot = 0;
    for col in 0..width {
        let Some(found) = (pivot..rows.len()).find(|r| rows[*r][col] != 0) else {
            continue;
        };
        rows.swap(pivot, found);
        let pivot_row = rows[pivot].clone();
        let a = pivot_row[col];
        for (r, row) in rows.iter_mut().enumerate() {
            let b = row[col];
            if r == pivot || b == 0 {
                continue;
            }
            for (x, p) in row.iter_mut().zip(&pivot_row) {
                let Some(v) = x
                    .checked_mul(a)
                    .and_then(|xa| p.checked_mul(b).and_then(|pb| xa.checked_sub(pb)))
                else {
                    return false;
                };
                *x = v;
            }
            normalise(row);
        }
        pivot += 1;
        if pivot == rows.len() {
            break;
        }
    }
    true
}

/// Divide a row by the gcd of its entries.
fn normalise(row: &mut [i128]) {
    let g = row.iter().fold(0i128, |g, x| gcd(g, x.abs()));
    if g > 1 {
        for x in row.iter_mut() {
            *x /= g;
        }
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
