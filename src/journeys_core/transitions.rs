//! Transitions: from each kind of engagement, what people took part in next, and how soon.
//!
//! Policy (counted in people, not events, so suppression protects people):
//! - Engagement means a *participation* (attended, volunteered, responded).
//! - For each person and each kind *K* they took part in, take their **first** *K*
//!   participation. Their *next* participation is the earliest one **strictly later** in time, of
//!   any kind (the same kind included: banquet → banquet means a second banquet). If several
//!   participations share that instant, the one first in canonical order (kind name) counts.
//! - Row *K*: `people` took part in *K*; each cell counts those whose next participation was of
//!   kind *J*, with the median delay in whole days; `no_later` counts those with nothing later.
//!   The cells and `no_later` add up to `people` exactly — that identity is audited, so a single
//!   small cell in a row forces a second one to be hidden.
//! - Medians are published only for published cells (hence from at least *k* people).

use serde::Serialize;

use super::audit::{Cell, Published, Table};
use super::count::Count;
use super::hist::DelayHistogram;
use super::input::{Dictionary, EventIds};
use super::stream::{is_participation, whole_days, PersonSink, Stamps};

/// The transition matrix: kinds × kinds.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TransitionMatrix {
    /// The small-count threshold applied.
    pub min_count: u64,
    /// Kinds with at least one participation, sorted by name: the rows and the columns.
    pub kinds: Vec<String>,
    /// One row per kind, in the order of `kinds`.
    pub rows: Vec<TransitionRow>,
    /// Times the input was found not sorted by person (0 when the caller's SQL is right).
    #[serde(skip)]
    pub order_breaks: u64,
}

/// Everyone who took part in one kind, split by what they took part in next.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TransitionRow {
    /// The kind people took part in.
    pub from: String,
    /// People who took part in it.
    pub people: Count,
    /// One cell per kind, in the order of `TransitionMatrix::kinds`.
    pub next: Vec<TransitionCell>,
    /// People with no participation strictly after their first one of this kind.
    pub no_later: Count,
}

/// People whose next participation was of one kind.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TransitionCell {
    /// The kind of the next participation.
    pub to: String,
    /// How many people.
    pub people: Count,
    /// Median whole days from the first `from` participation to the next one; null when the
    /// count is not published.
    pub median_days: Option<f64>,
}

#[derive(Debug, Default)]
struct Pair {
    people: u64,
    delays: DelayHistogram,
}

/// Accumulates transitions person by person.
#[derive(Debug, Default)]
pub(crate) struct TransitionsAcc {
    from_people: Vec<u64>,
    no_later: Vec<u64>,
    pairs: Vec<Vec<Pair>>,
    stamps: Stamps,
    parts: Vec<(i64, u16)>,
    next: Vec<usize>,
}

fn slot<T: Default>(v: &mut Vec<T>, i: u16) -> Option<&mut T> {
    let i = usize::from(i);
    if i >= v.len() {
        v.resize_with(i + 1, T::default);
    }
    v.get_mut(i)
}

impl PersonSink for TransitionsAcc {
    fn person(&mut self, events: &[EventIds], dict: &Dictionary) {
        self.parts.clear();
        self.parts.extend(
            events
                .iter()
                .filter(|e| is_participation(e, dict))
                .map(|e| (e.at_secs, e.kind)),
        );
        let n = self.parts.len();
        if n == 0 {
            return;
        }
        // next[i]: index of the first participation strictly later than parts[i] (n if none).
        self.next.clear();
        self.next.resize(n, n);
        let mut later = n;
        for i in (0..n).rev() {
            if let (Some(a), Some(b)) = (self.parts.get(i), self.parts.get(i + 1)) {
                if b.0 != a.0 {
                    later = i + 1;
                }
            }
            self.next[i] = later;
        }
        self.stamps.next_round();
        for i in 0..n {
            let (at, kind) = self.parts[i];
            if !self.stamps.first_sight(kind) {
                continue;
            }
            if let Some(p) = slot(&mut self.from_people, kind) {
                *p += 1;
            }
            match self.parts.get(self.next[i]).copied() {
                Some((at2, kind2)) => {
                    let row = slot(&mut self.pairs, kind).map(|r| slot(r, kind2));
                    if let Some(Some(pair)) = row {
                        pair.people += 1;
                        pair.delays.add(whole_days(at, at2));
                    }
                }
                None => {
                    if let Some(p) = slot(&mut self.no_later, kind) {
                        *p += 1;
                    }
                }
            }
        }
    }
}

impl TransitionsAcc {
    /// Suppress and label.
    pub(crate) fn finish(self, dict: &Dictionary, k: u64, order_breaks: u64) -> TransitionMatrix {
        let mut kinds: Vec<u16> = (0..self.from_people.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|i| self.from_people.get(usize::from(*i)).is_some_and(|n| *n > 0))
            .collect();
        kinds.sort_by(|a, b| dict.kind_name(*a).cmp(dict.kind_name(*b)));
        let get = |v: &Vec<u64>, i: u16| v.get(usize::from(i)).copied().unwrap_or(0);
        let pair = |from: u16, to: u16| self.pairs.get(usize::from(from)).and_then(|r| r.get(usize::from(to)));

        let mut table = Table::new();
        let mut layout: Vec<(Cell, Vec<Cell>, Cell)> = Vec::with_capacity(kinds.len());
        for &from in &kinds {
            let total = table.cell(get(&self.from_people, from));
            let cells: Vec<Cell> = kinds
                .iter()
                .map(|&to| table.cell(pair(from, to).map_or(0, |p| p.people)))
                .collect();
            let none = table.cell(get(&self.no_later, from));
            let mut parts = cells.clone();
            parts.push(none);
            table.sum(&parts, total);
            layout.push((total, cells, none));
        }
        let published: Published = table.resolve(k);

        let rows = kinds
            .iter()
            .zip(layout)
            .map(|(&from, (total, cells, none))| TransitionRow {
                from: dict.kind_name(from).to_string(),
                people: published.count(total),
                next: kinds
                    .iter()
                    .zip(cells)
                    .map(|(&to, cell)| {
                        let people = published.count(cell);
                        let median_days = people.exact().and_then(|_| pair(from, to)?.delays.median());
                        TransitionCell {
                            to: dict.kind_name(to).to_string(),
                            people,
                            median_days,
                        }
                    })
                    .collect(),
                no_later: published.count(none),
            })
            .collect();
        TransitionMatrix {
            min_count: k,
            kinds: kinds.iter().map(|k| dict.kind_name(*k).to_string()).collect(),
            rows,
            order_breaks,
        }
    }
}
