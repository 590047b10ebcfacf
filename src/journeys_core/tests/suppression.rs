//! Small-count suppression: the published form, the threshold, complementary suppression and
//! suppressed medians.

use super::super::audit::Table;
use super::super::hist::DelayHistogram;
use super::super::{funnel, reach, transitions, Count, FunnelScope};
use super::{ev, n, opts};
use crate::journeys_core::EventRow;

#[test]
fn counts_serialise_as_numbers_or_markers() {
    let json = serde_json::to_string(&[Count::Exact(7), Count::Below(5), Count::Hidden, Count::Below(10)]);
    assert_eq!(json.ok().as_deref(), Some(r#"[7,"<5","hidden","<10"]"#));
    let schema = serde_json::to_string(&schemars::schema_for!(Count)).unwrap_or_default();
    assert!(schema.contains("oneOf") && schema.contains("hidden"));
}

#[test]
fn values_below_k_are_suppressed_with_default_and_custom_thresholds() {
    for v in 0..5 {
        assert_eq!(Count::publish(v, 5, false), Count::Below(5));
        assert_eq!(Count::publish(v, 5, false).label(), "<5");
    }
    assert_eq!(Count::publish(5, 5, false), n(5));
    assert_eq!(Count::publish(2, 3, false).label(), "<3");
    assert_eq!(Count::publish(3, 3, false), n(3));
    assert_eq!(Count::publish(0, 0, false), n(0));
}

/// Seven people who all go banquet → volunteering, plus `extra` who go banquet → event.
fn rows(extra: i64) -> Vec<EventRow> {
    let mut v = Vec::new();
    for p in 0..7 + extra {
        let next = if p < 7 { "volunteering" } else { "event" };
        v.push(ev(p, "2024-01-01 10:00", "banquet", "attended", "BARB", 1));
        v.push(ev(p, "2024-01-08 10:00", next, "attended", "PARK", 2));
    }
    v
}

#[test]
fn analytics_use_the_default_threshold_and_suppress_medians() {
    let m = transitions(rows(2), &opts("2024-06-01 00:00", 5));
    let banquet = &m.rows[0];
    assert_eq!(banquet.from, "banquet");
    assert_eq!(banquet.people, n(9));
    let get = |to: &str| {
        banquet
            .next
            .iter()
            .find(|c| c.to == to)
            .map(|c| (c.people, c.median_days))
    };
    // event: 2 people → "<5", median suppressed.
    assert_eq!(get("event"), Some((Count::Below(5), None)));
    // Row: banquet 0 + event 2 + volunteering 7 + no_later 0 = 9. The three small cells share
    // one equation (they add up to 2) so none of them is determined on its own: volunteering
    // stays exact, with its median (7 days).
    assert_eq!(get("volunteering"), Some((n(7), Some(7.0))));
    // The threshold is configurable: still hidden at k = 3, shown with its median at k = 2.
    let m3 = transitions(rows(2), &opts("2024-06-01 00:00", 3));
    let get3 = m3.rows[0]
        .next
        .iter()
        .find(|c| c.to == "event")
        .map(|c| (c.people, c.median_days));
    assert_eq!(get3, Some((Count::Below(3), None)));
    let m2 = transitions(rows(2), &opts("2024-06-01 00:00", 2));
    let get2 = m2.rows[0]
        .next
        .iter()
        .find(|c| c.to == "event")
        .map(|c| (c.people, c.median_days));
    assert_eq!(get2, Some((n(2), Some(7.0))));
}

#[test]
fn one_small_cell_in_a_row_hides_a_second() {
    let mut t = Table::new();
    let cells = [t.cell(10), t.cell(3), t.cell(20)];
    let total = t.cell(33);
    t.sum(&cells, total);
    let p = t.resolve(5);
    let shown: Vec<Count> = cells.iter().map(|c| p.count(*c)).collect();
    // 3 is small; 33 − 10 − 20 would give it away, so the next smallest (10) is hidden.
    assert_eq!(shown, [Count::Hidden, Count::Below(5), n(20)]);
    assert_eq!(p.count(total), n(33));
}

#[test]
fn funnel_hides_a_step_when_a_drop_off_is_small() {
    // 100 invited; 98 of them registered (2 dropped: small); 50 attended; 20 came back.
    let mut v = Vec::new();
    for p in 0..100 {
        v.push(ev(p, "2024-01-01 10:00", "banquet", "invited", "BARB", 1));
        if p < 98 {
            v.push(ev(p, "2024-01-02 10:00", "banquet", "registered", "BARB", 1));
        }
        if p < 50 {
            v.push(ev(p, "2024-01-10 10:00", "banquet", "attended", "BARB", 1));
        }
        if p < 20 {
            v.push(ev(p, "2024-02-10 10:00", "event", "attended", "CULT", 2));
        }
    }
    let f = funnel(v, &opts("2024-06-01 00:00", 5), FunnelScope::Activity(1));
    let people: Vec<Count> = f.steps.iter().map(|s| s.people).collect();
    let dropped: Vec<Option<Count>> = f.steps.iter().map(|s| s.dropped).collect();
    // Shown 100 and 98 would reveal the 2. The audit hides "registered" (98), then the
    // drop-off 48 that would give 98 back from the shown 50.
    assert_eq!(people, [n(100), Count::Hidden, n(50), n(20)]);
    assert_eq!(dropped, [None, Some(Count::Below(5)), Some(Count::Hidden), Some(n(30))]);
    // Rates need both counts.
    assert_eq!(f.steps[1].conversion_pct, None);
    assert_eq!(f.steps[3].conversion_pct, Some(40.0));
}

#[test]
fn reach_with_two_departments_does_not_leak_a_small_overlap() {
    // 50 with BARB, 40 with PARK, 3 with both: without more hiding, 50 + 40 − 87 = 3.
    let mut v = Vec::new();
    for p in 0..87 {
        if p < 50 {
            v.push(ev(p, "2024-01-01 10:00", "banquet", "attended", "BARB", 1));
        }
        if p >= 47 {
            v.push(ev(p, "2024-01-02 10:00", "volunteering", "volunteered", "PARK", 2));
        }
    }
    let r = reach(v, &opts("2024-06-01 00:00", 5));
    assert_eq!(r.overlap[0][1], Count::Below(5));
    assert_eq!(r.more_than_one, Count::Below(5));
    let a = r.departments[0].people.exact();
    let b = r.departments[1].people.exact();
    let all = r.people.exact();
    let singles = r.by_department_count[0].people.exact();
    // No combination of published numbers gives the overlap back.
    assert!(!(a.is_some() && b.is_some() && all.is_some()));
    assert!(!(all.is_some() && singles.is_some()));
    assert!(!(a.is_some() && b.is_some() && singles.is_some()));
}

#[test]
fn medians_come_from_the_histogram() {
    let mut h = DelayHistogram::default();
    assert_eq!(h.median(), None);
    for d in [5, 1, 3] {
        h.add(d);
    }
    assert_eq!(h.median(), Some(3.0));
    h.add(10);
    assert_eq!(h.median(), Some(4.0));
    h.add(-4);
    h.add(1_000_000);
    assert_eq!(h.total(), 6);
    // 0, 1, 3, 5, 10, 3650 (capped) → (3 + 5) / 2.
    assert_eq!(h.median(), Some(4.0));
}
