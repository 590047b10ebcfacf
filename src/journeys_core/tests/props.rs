//! Property tests: no panics on arbitrary streams, consistent transition rows, monotone funnels,
//! audits that leave no hidden cell derivable, exact medians and calendar months.

use chrono::{DateTime, Datelike};
use proptest::prelude::*;

use super::super::audit::{exposed_cell, Relation, Table};
use super::super::hist::DelayHistogram;
use super::super::stream::{month_index, month_start, MonthCache};
use super::super::{
    cohorts, funnel, paths, person_scores, reach, transitions, Count, Dictionary, FunnelScope, Options, OVERFLOW_ID,
    OVERFLOW_NAME,
};
use super::render::renderings;
use super::{at, xml_problem, PERSON};
use crate::journeys_core::EventRow;

const KINDS: [&str; 6] = ["banquet", "volunteering", "<b&\"'>", "=cmd", "", "event"];
const ACTIONS: [&str; 8] = [
    "invited",
    "registered",
    "attended",
    "volunteered",
    "responded",
    "opened",
    " Attended",
    "",
];
const DEPTS: [&str; 4] = ["BARB", "PARK", "-X", "é"];

type Raw = (i64, i64, usize, usize, usize, i64);

fn raw_events(max: usize) -> impl Strategy<Value = Vec<Raw>> {
    prop::collection::vec(
        (
            0i64..12,
            -40_000_000i64..40_000_000,
            0usize..6,
            0usize..8,
            0usize..4,
            0i64..5,
        ),
        0..max,
    )
}

fn rows(raw: &[Raw], sorted: bool) -> Vec<EventRow> {
    let base = at("2024-01-01 00:00");
    let mut v: Vec<EventRow> = raw
        .iter()
        .map(|&(p, secs, k, a, d, act)| EventRow {
            person: PERSON + p,
            at: base + chrono::Duration::seconds(secs),
            kind: KINDS[k].to_string(),
            action: ACTIONS[a].to_string(),
            department: DEPTS[d].to_string(),
            activity: act,
        })
        .collect();
    if sorted {
        v.sort_by_key(|r| r.person);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn nothing_panics_and_svg_stays_well_formed(raw in raw_events(60), sorted: bool, k in 0u64..7,
                                                 len in 0usize..10, months in 0usize..200, top in 0usize..4) {
        let o = Options {
            min_count: k,
            max_path_len: len,
            cohort_months: months,
            top_paths: top,
            ..Options::new(at("2024-03-15 00:00"))
        };
        let v = rows(&raw, sorted);
        for (name, _, svg) in renderings(&v, &o) {
            prop_assert_eq!(xml_problem(&svg), None, "{}", name);
        }
        let f = funnel(&v, &o, FunnelScope::Activity(2));
        prop_assert!(serde_json::to_string(&f).is_ok());
        prop_assert!(!f.to_svg().is_empty());
        let _ = person_scores(&v, o.now).to_svg();
    }

    #[test]
    fn transition_rows_add_up(raw in raw_events(80)) {
        let v = rows(&raw, true);
        let m = transitions(&v, &Options { min_count: 0, ..Options::new(at("2024-03-15 00:00")) });
        let mut total_people = 0;
        for row in &m.rows {
            let people = row.people.exact().unwrap_or(u64::MAX);
            let next: u64 = row.next.iter().filter_map(|c| c.people.exact()).sum();
            prop_assert_eq!(next + row.no_later.exact().unwrap_or(0), people);
            for c in &row.next {
                prop_assert!(c.people.exact().unwrap_or(0) <= people);
                prop_assert_eq!(c.median_days.is_some(), c.people.exact().unwrap_or(0) > 0);
            }
            total_people += people;
        }
        // Each row counts a person at most once: at most people × kinds.
        prop_assert!(total_people <= 12 * m.kinds.len() as u64);
    }

    #[test]
    fn funnels_never_increase(raw in raw_events(80), k in 0u64..4, activity in 0i64..5) {
        let v = rows(&raw, true);
        let o = Options { min_count: k, ..Options::new(at("2024-03-15 00:00")) };
        let raw_f = funnel(&v, &Options { min_count: 0, ..o.clone() }, FunnelScope::Activity(activity));
        let exact: Vec<u64> = raw_f.steps.iter().filter_map(|s| s.people.exact()).collect();
        prop_assert_eq!(exact.len(), 4);
        prop_assert!(exact.windows(2).all(|w| w[0] >= w[1]));
        let f = funnel(&v, &o, FunnelScope::Kind("banquet".into()));
        let shown: Vec<u64> = f.steps.iter().filter_map(|s| s.people.exact()).collect();
        prop_assert!(shown.windows(2).all(|w| w[0] >= w[1]));
        prop_assert!(shown.iter().all(|n| *n >= k));
    }

    #[test]
    fn audit_leaves_nothing_derivable(values in prop::collection::vec(0u64..30, 2..12),
                                      k in 1u64..10, groups in 1usize..4) {
        // Rows of cells with a total each, and a grand total over the row totals.
        let mut t = Table::new();
        let mut all = Vec::new();
        let mut vals: Vec<u64> = Vec::new();
        let mut relations: Vec<Relation> = Vec::new();
        let mut totals = Vec::new();
        for chunk in values.chunks(values.len().div_ceil(groups)) {
            let first = all.len();
            all.extend(chunk.iter().map(|v| t.cell(*v)));
            vals.extend_from_slice(chunk);
            let total = t.cell(chunk.iter().sum());
            all.push(total);
            vals.push(chunk.iter().sum());
            t.sum(&all[first..first + chunk.len()], total);
            let mut r: Relation = (first..first + chunk.len()).map(|c| (c, 1)).collect();
            r.push((first + chunk.len(), -1));
            relations.push(r);
            totals.push(first + chunk.len());
        }
        let grand = t.cell(values.iter().sum());
        all.push(grand);
        vals.push(values.iter().sum());
        let row_totals: Vec<_> = totals.iter().map(|i| all[*i]).collect();
        t.sum(&row_totals, grand);
        let mut r: Relation = totals.iter().map(|i| (*i, 1)).collect();
        r.push((all.len() - 1, -1));
        relations.push(r);
        let p = t.resolve(k);
        let hidden: Vec<bool> = all.iter().map(|c| !matches!(p.count(*c), Count::Exact(_))).collect();
        prop_assert_eq!(exposed_cell(&relations, &hidden), None);
        // Primary suppression is exactly "below k".
        for (c, v) in all.iter().zip(vals.iter()) {
            prop_assert_eq!(matches!(p.count(*c), Count::Below(_)), *v < k);
        }
    }

    #[test]
    fn histogram_median_is_exact(delays in prop::collection::vec(0i64..4000, 1..50)) {
        let mut h = DelayHistogram::default();
        for d in &delays {
            h.add(*d);
        }
        let mut s: Vec<i64> = delays.iter().map(|d| (*d).min(3650)).collect();
        s.sort_unstable();
        let mid = (s[(s.len() - 1) / 2] + s[s.len() / 2]) as f64 / 2.0;
        prop_assert_eq!(h.median(), Some(mid));
    }

    #[test]
    fn month_index_matches_chrono(secs in -60_000_000_000i64..60_000_000_000,
                                  steps in prop::collection::vec(-5_000_000i64..5_000_000, 0..20)) {
        if let Some(d) = DateTime::from_timestamp(secs, 0) {
            prop_assert_eq!(month_index(secs), i64::from(d.year()) * 12 + i64::from(d.month0()));
            let start = month_start(month_index(secs));
            prop_assert!(start <= secs && month_index(start) == month_index(secs));
            prop_assert_eq!(month_index(start - 1), month_index(secs) - 1);
        }
        let mut cache = MonthCache::default();
        let mut t = secs;
        for s in steps {
            t += s;
            prop_assert_eq!(cache.month(t), month_index(t));
        }
    }
}

proptest! {
    #[test]
    fn interning_is_a_bijection(names in prop::collection::vec("[a-zé<&]{0,12}", 0..300)) {
        let mut dict = Dictionary::new();
        let mut reference: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
        for name in &names {
            let next = u16::try_from(reference.len()).unwrap_or(u16::MAX);
            let expected = *reference.entry(name.clone()).or_insert(next);
            prop_assert_eq!(dict.kind_id(name), expected);
            prop_assert_eq!(dict.kind_name(expected), name.as_str());
            prop_assert_eq!(dict.find_kind(name), Some(expected));
        }
        prop_assert_eq!(dict.kind_count(), reference.len());
        prop_assert_eq!(dict.find_kind("not interned!"), None);
    }
}

#[test]
fn interning_overflows_gracefully() {
    let mut dict = Dictionary::new();
    for i in 0..70_000u32 {
        let id = dict.department_id(&i.to_string());
        assert!(i < 65_534 || id == OVERFLOW_ID);
    }
    assert_eq!(dict.department_id("7"), 7);
    assert_eq!(dict.department_name(OVERFLOW_ID), OVERFLOW_NAME);
    assert_eq!(dict.department_count(), 65_534);
}

#[test]
fn outputs_survive_extreme_timestamps() {
    let base = EventRow {
        person: PERSON,
        at: chrono::NaiveDateTime::MIN,
        kind: "banquet".into(),
        action: "attended".into(),
        department: "BARB".into(),
        activity: 1,
    };
    let late = EventRow {
        at: chrono::NaiveDateTime::MAX,
        kind: "event".into(),
        ..base.clone()
    };
    let v = vec![base, late];
    let o = Options::new(at("2024-03-15 00:00"));
    for (name, _, svg) in renderings(&v, &o) {
        assert_eq!(xml_problem(&svg), None, "{name}");
    }
    let m = transitions(
        &v,
        &Options {
            min_count: 0,
            ..o.clone()
        },
    );
    assert_eq!(m.rows[0].next[1].median_days, Some(3650.0));
    assert!(cohorts(&v, &o).cohorts.len() <= 2);
    assert!(paths(&v, &o).paths.is_empty());
    assert!(reach(&v, &o).people == Count::Below(5));
}
