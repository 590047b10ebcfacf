//! The single pass: group a person-ordered stream into one person's events at a time, put them in
//! a canonical order, and hand them to an analytic.
//!
//! Policy: the input must be grouped by person (the caller's SQL sorts by person, then time).
//! Within a person the events are re-sorted if needed into the canonical order — time, then kind
//! name, then activity id (stable otherwise) — so ties at the same instant never depend on the
//! database's tie order. Memory is one buffer holding one person's events. A person id lower than
//! the previous one is counted in [`StreamStats::order_breaks`]: a person split across the stream
//! would be counted twice, so a non-zero figure means the caller's ordering is wrong.

use std::borrow::Borrow;
use std::cmp::Ordering;

use super::input::{ActionClass, Dictionary, EventIds, EventRow};

/// Seconds in a day.
pub(crate) const DAY_SECS: i64 = 86_400;

/// An analytic fed one person at a time.
pub(crate) trait PersonSink {
    /// One person's events, in canonical order. Never empty.
    fn person(&mut self, events: &[EventIds], dict: &Dictionary);
}

/// What the pass saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamStats {
    /// Times the person id went down: the input was not sorted by person.
    pub order_breaks: u64,
}

/// Groups events by person and forwards each group.
#[derive(Debug, Default)]
pub(crate) struct Grouper {
    buf: Vec<EventIds>,
    current: Option<i64>,
    stats: StreamStats,
}

impl Grouper {
    fn push<S: PersonSink>(&mut self, ev: EventIds, dict: &Dictionary, sink: &mut S) {
        if self.current != Some(ev.person) {
            self.flush(dict, sink);
            if self.current.is_some_and(|p| ev.person < p) {
                self.stats.order_breaks += 1;
            }
            self.current = Some(ev.person);
        }
        self.buf.push(ev);
    }

    fn flush<S: PersonSink>(&mut self, dict: &Dictionary, sink: &mut S) {
        if self.buf.is_empty() {
            return;
        }
        canonicalise(&mut self.buf, dict);
        sink.person(&self.buf, dict);
        self.buf.clear();
    }
}

/// Run a sink over interned events.
pub(crate) fn run_ids<I, S>(events: I, dict: &Dictionary, sink: &mut S) -> StreamStats
where
    I: IntoIterator<Item = EventIds>,
    S: PersonSink,
{
    let mut g = Grouper::default();
    for ev in events {
        g.push(ev, dict, sink);
    }
    g.flush(dict, sink);
    g.stats
}

/// Run a sink over caller rows, interning names into `dict` as they appear.
pub(crate) fn run_rows<I, S>(events: I, dict: &mut Dictionary, sink: &mut S) -> StreamStats
where
    I: IntoIterator,
    I::Item: Borrow<EventRow>,
    S: PersonSink,
{
    let mut g = Grouper::default();
    for row in events {
        let ev = dict.encode(row.borrow());
        g.push(ev, dict, sink);
    }
    g.flush(dict, sink);
    g.stats
}

/// The canonical order of one person's events.
fn canonical(a: &EventIds, b: &EventIds, dict: &Dictionary) -> Ordering {
    a.at_secs
        .cmp(&b.at_secs)
        .then_with(|| {
            if a.kind == b.kind {
                Ordering::Equal
            } else {
                dict.kind_name(a.kind).cmp(dict.kind_name(b.kind))
            }
        })
        .then(a.activity.cmp(&b.activity))
}

/// Sort one person's events canonically (a cheap check first: usually already sorted).
pub(crate) fn canonicalise(buf: &mut [EventIds], dict: &Dictionary) {
    if buf
        .windows(2)
        .any(|w| canonical(&w[0], &w[1], dict) == Ordering::Greater)
    {
        buf.sort_by(|a, b| canonical(a, b, dict));
    }
}

/// Is this event a participation (attended, volunteered, responded)?
pub(crate) fn is_participation(ev: &EventIds, dict: &Dictionary) -> bool {
    dict.action_class(ev.action) == ActionClass::Participation
}

/// Whole days from `from` to `to`, rounded down; negative spans count as 0.
pub(crate) fn whole_days(from: i64, to: i64) -> i64 {
    to.saturating_sub(from).max(0) / DAY_SECS
}

/// Calendar month of a timestamp as `year * 12 + (month - 1)` (proleptic Gregorian).
pub(crate) fn month_index(secs: i64) -> i64 {
    let z = secs.div_euclid(DAY_SECS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    year * 12 + (month - 1)
}

/// Seconds at the start of a month index (saturating at the ends of `i64`).
pub(crate) fn month_start(index: i64) -> i64 {
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468).saturating_mul(DAY_SECS)
}

/// [`month_index`] with a one-month memo: a person's events mostly fall in few months.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MonthCache {
    from: i64,
    to: i64,
    month: i64,
}

impl MonthCache {
    /// The month index of `secs`.
    #[inline]
    pub(crate) fn month(&mut self, secs: i64) -> i64 {
        if secs >= self.from && secs < self.to {
            return self.month;
        }
        self.refill(secs);
        self.month
    }

    fn refill(&mut self, secs: i64) {
        // A person's events run forward in time: try the next month before the full calculation.
        if secs >= self.to && self.to > self.from {
            let after = month_start(self.month + 2);
            if secs < after {
                self.month += 1;
                self.from = self.to;
                self.to = after;
                return;
            }
        }
        self.month = month_index(secs);
        self.from = month_start(self.month);
        self.to = month_start(self.month + 1);
    }
}

/// `YYYY-MM` for a month index.
pub(crate) fn month_label(index: i64) -> String {
    format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// A per-id "seen for this person" marker that needs no clearing between people.
#[derive(Debug, Default)]
pub(crate) struct Stamps {
    marks: Vec<u64>,
    round: u64,
}

impl Stamps {
    /// Start a new person: everything becomes unseen.
    pub(crate) fn next_round(&mut self) {
        self.round += 1;
    }

    /// Mark `id` seen; true if it was not seen yet this round.
    pub(crate) fn first_sight(&mut self, id: u16) -> bool {
        let i = usize::from(id);
        if i >= self.marks.len() {
            self.marks.resize(i + 1, 0);
        }
        if self.marks[i] == self.round {
            false
        } else {
            self.marks[i] = self.round;
            true
        }
    }
}
