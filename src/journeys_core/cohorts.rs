//! Cohorts: people grouped by the calendar month of their first participation, and the share
//! taking part again in each later month — a triangle.
//!
//! Policy:
//! - A person's cohort is the month of their first participation (attended, volunteered,
//!   responded) among the events passed in; people with none are not in any cohort.
//! - Cell *m* counts the cohort's people with at least one participation in calendar month
//!   cohort + *m*. Offset 0 is the cohort itself (everyone: 100 %). Offsets run 0..=N
//!   (`Options::cohort_months`), and only up to the month of `Options::now`: later months are
//!   not observed yet and have no cell (that is what makes the triangle).
//! - `share_pct` = cell / cohort size, published only when both counts are. Cells are not a
//!   partition (a person can appear in many months), so only primary suppression applies, plus
//!   the identity cell 0 = cohort size.

use std::collections::BTreeMap;

use serde::Serialize;

use super::audit::Table;
use super::count::{percent, Count};
use super::input::{Dictionary, EventIds};
use super::stream::{is_participation, month_label, MonthCache, PersonSink};

/// The cohort triangle.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CohortTable {
    /// The small-count threshold applied.
    pub min_count: u64,
    /// The month of `Options::now` (`YYYY-MM`): the last observed month.
    pub observed_to: String,
    /// Most month offsets shown (N; offsets run 0..=N).
    pub max_offset: u32,
    /// One row per cohort month, oldest first.
    pub cohorts: Vec<CohortRow>,
    /// Times the input was found not sorted by person (0 when the caller's SQL is right).
    #[serde(skip)]
    pub order_breaks: u64,
}

/// One cohort.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CohortRow {
    /// The month of first participation, `YYYY-MM`.
    pub month: String,
    /// People whose first participation was that month.
    pub people: Count,
    /// Offsets 0.. up to N or the last observed month, whichever comes first.
    pub cells: Vec<CohortCell>,
}

/// One month of one cohort.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CohortCell {
    /// Months after the cohort month (0 = the cohort month itself).
    pub offset: u32,
    /// Cohort people who took part in that month.
    pub people: Count,
    /// `people` as a percentage of the cohort, one decimal; null when not published.
    pub share_pct: Option<f64>,
}

/// Accumulates cohorts person by person.
#[derive(Debug)]
pub(crate) struct CohortsAcc {
    max_offset: usize,
    cohorts: BTreeMap<i64, Vec<u64>>,
    months: MonthCache,
}

impl CohortsAcc {
    /// Offsets 0..=`max_offset`.
    pub(crate) fn new(max_offset: usize) -> Self {
        CohortsAcc {
            max_offset,
            cohorts: BTreeMap::new(),
            months: MonthCache::default(),
        }
    }
}

impl PersonSink for CohortsAcc {
    fn person(&mut self, events: &[EventIds], dict: &Dictionary) {
        let cache = &mut self.months;
        let mut months = events
            .iter()
            .filter(|e| is_participation(e, dict))
            .map(|e| cache.month(e.at_secs));
        let Some(first) = months.next() else {
            return;
        };
        let cells = self
            .cohorts
            .entry(first)
            .or_insert_with(|| vec![0; self.max_offset + 1]);
        if let Some(c) = cells.first_mut() {
            *c += 1;
        }
        let mut last = 0i64;
        for m in months {
            let offset = m - first;
            if offset == last {
                continue;
            }
            last = offset;
            match usize::try_from(offset).ok().and_then(|o| cells.get_mut(o)) {
                Some(c) => *c += 1,
                None => break,
            }
        }
    }
}

impl CohortsAcc {
    /// Suppress and label; `now_month` bounds the observed offsets.
    pub(crate) fn finish(self, now_month: i64, k: u64, order_breaks: u64) -> CohortTable {
        let mut table = Table::new();
        let layout: Vec<_> = self
            .cohorts
            .iter()
            .map(|(month, cells)| {
                let size = table.cell(cells.first().copied().unwrap_or(0));
                let observed = usize::try_from(now_month.saturating_sub(*month).saturating_add(1)).unwrap_or(0);
                let shown: Vec<_> = cells.iter().take(observed).map(|n| table.cell(*n)).collect();
                if let Some(zero) = shown.first() {
                    table.sum(&[*zero], size);
                }
                (*month, size, shown)
            })
            .collect();
        let published = table.resolve(k);
        let cohorts = layout
            .into_iter()
            .map(|(month, size, shown)| {
                let people = published.count(size);
                CohortRow {
                    month: month_label(month),
                    people,
                    cells: shown
                        .iter()
                        .zip(0u32..)
                        .map(|(c, offset)| {
                            let n = published.count(*c);
                            CohortCell {
                                offset,
                                people: n,
                                share_pct: percent(n, people),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        CohortTable {
            min_count: k,
            observed_to: month_label(now_month),
            max_offset: u32::try_from(self.max_offset).unwrap_or(u32::MAX),
            cohorts,
            order_breaks,
        }
    }
}
