//! Paths: the most frequent journeys through kinds of engagement.
//!
//! Policy:
//! - A person's journey is the sequence of kinds of their participations in canonical order
//!   (time, then kind name for ties), with consecutive repeats collapsed (banquet, banquet,
//!   volunteering → banquet → volunteering), cut to its first `Options::max_path_len` kinds
//!   (default 5). A person with one kind has a journey of length 1. Each person counts once.
//! - Journeys followed by fewer than *k* people are never listed (a rare journey is itself
//!   identifying); they are pooled in `other`. The top `Options::top_paths` journeys by people
//!   (ties: by label) are listed, the rest pooled in `other` too.
//! - Identity: listed + `other` = `people`; audited, so a small `other` cannot be derived from
//!   the total (the smallest listed journey is then hidden as well).
//! - Memory: one counter per distinct journey seen, at most min(people, kinds^max_path_len).

use serde::Serialize;

use super::audit::Table;
use super::count::Count;
use super::input::{Dictionary, EventIds};
use super::intern::{FastMap, OVERFLOW_ID};
use super::stream::{is_participation, PersonSink};

/// Separator between kinds in path labels.
pub const ARROW: &str = " → ";

/// The most frequent journeys.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PathList {
    /// The small-count threshold applied.
    pub min_count: u64,
    /// The longest journey considered, in kinds.
    pub max_len: u32,
    /// People with at least one participation.
    pub people: Count,
    /// The most frequent journeys, most people first.
    pub paths: Vec<PathEntry>,
    /// People whose journey is not listed (rare or beyond the top N).
    pub other: Count,
    /// Times the input was found not sorted by person (0 when the caller's SQL is right).
    #[serde(skip)]
    pub order_breaks: u64,
}

/// One journey.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PathEntry {
    /// The kinds in order.
    pub kinds: Vec<String>,
    /// The kinds joined by `→`.
    pub label: String,
    /// People whose journey this is.
    pub people: Count,
}

/// Accumulates journeys person by person.
#[derive(Debug)]
pub(crate) struct PathsAcc {
    max_len: usize,
    counts: FastMap<u128, u64>,
    people: u64,
}

impl PathsAcc {
    /// Journeys of up to `max_len` kinds (1..=8).
    pub(crate) fn new(max_len: usize) -> Self {
        PathsAcc {
            max_len: max_len.clamp(1, 8),
            counts: FastMap::default(),
            people: 0,
        }
    }
}

/// Kind ids + 1 packed 16 bits each, first kind in the lowest bits; 0 ends the path.
fn unpack(mut key: u128) -> Vec<u16> {
    let mut kinds = Vec::new();
    while key != 0 {
        kinds.push(((key & 0xffff) as u16).wrapping_sub(1));
        key >>= 16;
    }
    kinds
}

impl PersonSink for PathsAcc {
    fn person(&mut self, events: &[EventIds], dict: &Dictionary) {
        let mut key = 0u128;
        let mut len = 0usize;
        let mut last: Option<u16> = None;
        for ev in events.iter().filter(|e| is_participation(e, dict)) {
            if last == Some(ev.kind) {
                continue;
            }
            if len == self.max_len {
                break;
            }
            last = Some(ev.kind);
            key |= (u128::from(ev.kind.min(OVERFLOW_ID - 1)) + 1) << (16 * len);
            len += 1;
        }
        if len > 0 {
            *self.counts.entry(key).or_insert(0) += 1;
            self.people += 1;
        }
    }
}

impl PathsAcc {
    /// Rank, pool, suppress and label.
    pub(crate) fn finish(self, dict: &Dictionary, k: u64, top: usize, order_breaks: u64) -> PathList {
        let mut frequent: Vec<(u64, Vec<String>)> = self
            .counts
            .iter()
            .filter(|(_, n)| **n >= k)
            .map(|(key, n)| {
                let kinds = unpack(*key)
                    .into_iter()
                    .map(|id| dict.kind_name(id).to_string())
                    .collect();
                (*n, kinds)
            })
            .collect();
        frequent.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        frequent.truncate(top);
        let listed: u64 = frequent.iter().map(|(n, _)| n).sum();

        let mut table = Table::new();
        let total = table.cell(self.people);
        let cells: Vec<_> = frequent.iter().map(|(n, _)| table.cell(*n)).collect();
        let other = table.cell(self.people.saturating_sub(listed));
        let mut parts = cells.clone();
        parts.push(other);
        table.sum(&parts, total);
        let published = table.resolve(k);

        PathList {
            min_count: k,
            max_len: u32::try_from(self.max_len).unwrap_or(8),
            people: published.count(total),
            paths: frequent
                .into_iter()
                .zip(cells)
                .map(|((_, kinds), cell)| PathEntry {
                    label: kinds.join(ARROW),
                    kinds,
                    people: published.count(cell),
                })
                .collect(),
            other: published.count(other),
            order_breaks,
        }
    }
}
