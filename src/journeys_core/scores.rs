//! Per-person recency / frequency / breadth, and their 1–5 scores.
//!
//! Policy: only participations (attended, volunteered, responded) count, and only those at or
//! before `now`. Scores use **fixed thresholds**, not quintiles: a person's score then does not
//! depend on everyone else, is stable from run to run, and can be computed for one person alone.
//!
//! | score | recency (days since last) | frequency (last 365 days) | breadth (distinct kinds) |
//! |---|---|---|---|
//! | 5 | ≤ 30 | ≥ 8 | ≥ 5 |
//! | 4 | 31–90 | 4–7 | 4 |
//! | 3 | 91–180 | 2–3 | 3 |
//! | 2 | 181–365 | 1 | 2 |
//! | 1 | > 365, or never | 0 | 0–1 |
//!
//! Recency is whole days (rounded down) from the last participation to `now`. Frequency counts
//! participations in the 365 days up to and including `now` (`now − 365 d < at ≤ now`). Breadth is
//! scored on distinct kinds; distinct departments are reported alongside.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::input::{Dictionary, EventIds, EventRow};
use super::stream::{is_participation, whole_days, Stamps, DAY_SECS};

/// One person's engagement scores. Carries no identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PersonScores {
    /// Whole days since the last participation; null if none.
    pub recency_days: Option<i64>,
    /// Participations in the last 365 days.
    pub frequency_12m: u32,
    /// Distinct kinds taken part in.
    pub breadth_kinds: u32,
    /// Distinct departments taken part with.
    pub breadth_departments: u32,
    /// Recency score, 1–5.
    pub r_score: u8,
    /// Frequency score, 1–5.
    pub f_score: u8,
    /// Breadth score (on kinds), 1–5.
    pub b_score: u8,
}

/// Recency score: ≤30 days 5, ≤90 4, ≤180 3, ≤365 2, older or never 1.
pub fn recency_score(days: Option<i64>) -> u8 {
    match days {
        Some(d) if d <= 30 => 5,
        Some(d) if d <= 90 => 4,
        Some(d) if d <= 180 => 3,
        Some(d) if d <= 365 => 2,
        _ => 1,
    }
}

/// Frequency score: ≥8 → 5, 4–7 → 4, 2–3 → 3, 1 → 2, 0 → 1.
pub fn frequency_score(participations: u32) -> u8 {
    match participations {
        0 => 1,
        1 => 2,
        2..=3 => 3,
        4..=7 => 4,
        _ => 5,
    }
}

/// Breadth score on distinct kinds: ≥5 → 5, 4 → 4, 3 → 3, 2 → 2, 0–1 → 1.
pub fn breadth_score(kinds: u32) -> u8 {
    match kinds {
        0..=1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        _ => 5,
    }
}

/// Scores of one person from their events (any order), as the caller reads them.
pub fn person_scores(events_of_one_person: &[EventRow], now: NaiveDateTime) -> PersonScores {
    let mut dict = Dictionary::new();
    let ids: Vec<EventIds> = events_of_one_person.iter().map(|r| dict.encode(r)).collect();
    person_scores_ids(&ids, &dict, now.and_utc().timestamp())
}

/// Scores of one person from interned events (any order); `now_secs` as in [`EventIds::at_secs`].
pub fn person_scores_ids(events: &[EventIds], dict: &Dictionary, now_secs: i64) -> PersonScores {
    let window_start = now_secs.saturating_sub(365 * DAY_SECS);
    let mut last: Option<i64> = None;
    let mut frequency = 0u32;
    let mut kinds = Stamps::default();
    let mut departments = Stamps::default();
    kinds.next_round();
    departments.next_round();
    let (mut breadth_kinds, mut breadth_departments) = (0u32, 0u32);
    for ev in events
        .iter()
        .filter(|e| is_participation(e, dict) && e.at_secs <= now_secs)
    {
        last = Some(last.map_or(ev.at_secs, |l| l.max(ev.at_secs)));
        if ev.at_secs > window_start {
            frequency = frequency.saturating_add(1);
        }
        if kinds.first_sight(ev.kind) {
            breadth_kinds += 1;
        }
        if departments.first_sight(ev.department) {
            breadth_departments += 1;
        }
    }
    let recency_days = last.map(|l| whole_days(l, now_secs));
    PersonScores {
        recency_days,
        frequency_12m: frequency,
        breadth_kinds,
        breadth_departments,
        r_score: recency_score(recency_days),
        f_score: frequency_score(frequency),
        b_score: breadth_score(breadth_kinds),
    }
}
