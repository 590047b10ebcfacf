//! Engagement events and customer journeys: the analytics core. Pure and database-free.
//!
//! Input: engagement events — (person, time, activity kind, action, department, activity) — that
//! the caller streams from SQL **sorted by person, then time**, already filtered (period,
//! department, kind, segment). Each analytic makes **one pass**; memory is bounded by the number
//! of distinct kinds, departments, cohort months (and, for paths, distinct journeys), plus one
//! buffer of a single person's events. Person ids are used only to group events: **no output
//! carries a person id or any other personal data**, only counts of people.
//!
//! Policies, each detailed in its file:
//! - *Participation* (what "engagement" means): actions `attended`, `volunteered`, `responded`
//!   (trimmed, case-insensitive). `invited` and `registered` are funnel steps only; everything
//!   else (sends, opens, clicks, cancellations…) is ignored (`input.rs`).
//! - Ties at the same instant are ordered by kind name, then activity id (`stream.rs`).
//! - Transitions: after each person's first participation of a kind, the next participation
//!   strictly later (`transitions.rs`). Funnel: cumulative "furthest step reached"
//!   (`funnel.rs`). Cohorts: month of first participation (`cohorts.rs`). Paths: each person's
//!   first kinds, repeats merged (`paths.rs`). Reach: departments per person (`reach.rs`).
//!   Scores: fixed thresholds (`scores.rs`).
//! - Small counts: below *k* (default 5, zero included) shown as `"<k"`; complementary cells as
//!   `"hidden"`, chosen by a linear audit of every identity between published counts
//!   (`count.rs`, `audit.rs`); medians and shares only from published counts.
//! - Rendering: CSV with formula neutralisation (`csv.rs`); accessible, self-contained SVG
//!   (`svg.rs`, `charts.rs`).
//!
//! Two input forms: [`EventRow`] with names (each function here), or the faster [`EventIds`]
//! with a [`Dictionary`] (the `*_ids` functions); the first is a thin wrapper over the second.

mod audit;
mod charts;
mod cohorts;
mod count;
mod csv;
mod funnel;
mod hist;
mod input;
mod intern;
mod paths;
mod reach;
mod scores;
mod stream;
mod svg;
mod transitions;

#[cfg(test)]
mod tests;

use std::borrow::Borrow;

pub use cohorts::{CohortCell, CohortRow, CohortTable};
pub use count::{Count, HIDDEN};
pub use csv::csv_cell;
pub use funnel::{Funnel, FunnelStep, FunnelStepCount};
pub use hist::DELAY_CAP_DAYS;
pub use input::{ActionClass, Dictionary, EventIds, EventRow, FunnelScope, Options};
pub use intern::{OVERFLOW_ID, OVERFLOW_NAME};
pub use paths::{PathEntry, PathList, ARROW};
pub use reach::{DepartmentCountBucket, DepartmentReach, Reach};
pub use scores::{breadth_score, frequency_score, person_scores, person_scores_ids, recency_score, PersonScores};
pub use svg::xml_escape;
pub use transitions::{TransitionCell, TransitionMatrix, TransitionRow};

use stream::{month_index, run_ids, run_rows};

/// The transition matrix of a person-ordered stream of rows.
pub fn transitions<I>(events: I, opts: &Options) -> TransitionMatrix
where
    I: IntoIterator,
    I::Item: Borrow<EventRow>,
{
    let mut dict = Dictionary::new();
    let mut acc = transitions::TransitionsAcc::default();
    let stats = run_rows(events, &mut dict, &mut acc);
    acc.finish(&dict, opts.min_count, stats.order_breaks)
}

/// The transition matrix of a person-ordered stream of interned events.
pub fn transitions_ids<I>(events: I, dict: &Dictionary, opts: &Options) -> TransitionMatrix
where
    I: IntoIterator<Item = EventIds>,
{
    let mut acc = transitions::TransitionsAcc::default();
    let stats = run_ids(events, dict, &mut acc);
    acc.finish(dict, opts.min_count, stats.order_breaks)
}

/// The funnel of one activity or kind, from a person-ordered stream of rows.
pub fn funnel<I>(events: I, opts: &Options, scope: FunnelScope) -> Funnel
where
    I: IntoIterator,
    I::Item: Borrow<EventRow>,
{
    let mut dict = Dictionary::new();
    let kind = match &scope {
        FunnelScope::Kind(name) => Some(dict.kind_id(name)),
        FunnelScope::Activity(_) => None,
    };
    let mut acc = funnel::FunnelAcc::new(&scope, kind);
    let stats = run_rows(events, &mut dict, &mut acc);
    acc.finish(scope, opts.min_count, stats.order_breaks)
}

/// The funnel of one activity or kind, from a person-ordered stream of interned events.
pub fn funnel_ids<I>(events: I, dict: &Dictionary, opts: &Options, scope: FunnelScope) -> Funnel
where
    I: IntoIterator<Item = EventIds>,
{
    let kind = match &scope {
        FunnelScope::Kind(name) => dict.find_kind(name),
        FunnelScope::Activity(_) => None,
    };
    let mut acc = funnel::FunnelAcc::new(&scope, kind);
    let stats = run_ids(events, dict, &mut acc);
    acc.finish(scope, opts.min_count, stats.order_breaks)
}

/// The cohort triangle of a person-ordered stream of rows.
pub fn cohorts<I>(events: I, opts: &Options) -> CohortTable
where
    I: IntoIterator,
    I::Item: Borrow<EventRow>,
{
    let mut dict = Dictionary::new();
    let mut acc = cohorts::CohortsAcc::new(opts.months());
    let stats = run_rows(events, &mut dict, &mut acc);
    acc.finish(month_index(opts.now_secs()), opts.min_count, stats.order_breaks)
}

/// The cohort triangle of a person-ordered stream of interned events.
pub fn cohorts_ids<I>(events: I, dict: &Dictionary, opts: &Options) -> CohortTable
where
    I: IntoIterator<Item = EventIds>,
{
    let mut acc = cohorts::CohortsAcc::new(opts.months());
    let stats = run_ids(events, dict, &mut acc);
    acc.finish(month_index(opts.now_secs()), opts.min_count, stats.order_breaks)
}

/// The most frequent journeys in a person-ordered stream of rows.
pub fn paths<I>(events: I, opts: &Options) -> PathList
where
    I: IntoIterator,
    I::Item: Borrow<EventRow>,
{
    let mut dict = Dictionary::new();
    let mut acc = paths::PathsAcc::new(opts.path_len());
    let stats = run_rows(events, &mut dict, &mut acc);
    acc.finish(&dict, opts.min_count, opts.top_paths, stats.order_breaks)
}

/// The most frequent journeys in a person-ordered stream of interned events.
pub fn paths_ids<I>(events: I, dict: &Dictionary, opts: &Options) -> PathList
where
    I: IntoIterator<Item = EventIds>,
{
    let mut acc = paths::PathsAcc::new(opts.path_len());
    let stats = run_ids(events, dict, &mut acc);
    acc.finish(dict, opts.min_count, opts.top_paths, stats.order_breaks)
}

/// Reach across departments of a person-ordered stream of rows.
pub fn reach<I>(events: I, opts: &Options) -> Reach
where
    I: IntoIterator,
    I::Item: Borrow<EventRow>,
{
    let mut dict = Dictionary::new();
    let mut acc = reach::ReachAcc::default();
    let stats = run_rows(events, &mut dict, &mut acc);
    acc.finish(&dict, opts.min_count, stats.order_breaks)
}

/// Reach across departments of a person-ordered stream of interned events.
pub fn reach_ids<I>(events: I, dict: &Dictionary, opts: &Options) -> Reach
where
    I: IntoIterator<Item = EventIds>,
{
    let mut acc = reach::ReachAcc::default();
    let stats = run_ids(events, dict, &mut acc);
    acc.finish(dict, opts.min_count, stats.order_breaks)
}
