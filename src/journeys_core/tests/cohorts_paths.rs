//! Cohorts and paths against hand-computed examples.

use super::super::{cohorts, paths, Count, Options};
use super::{ev, n, opts};
use crate::journeys_core::EventRow;

fn cohort_fixture() -> Vec<EventRow> {
    vec![
        // P1: first 5 Jan (cohort 2024-01); again 20 Jan (same month) and 2 Mar (+2).
        ev(1, "2024-01-05 10:00", "banquet", "attended", "BARB", 1),
        ev(1, "2024-01-20 10:00", "event", "attended", "CULT", 2),
        ev(1, "2024-03-02 10:00", "event", "attended", "CULT", 3),
        // P2: 31 Jan 23:00 (cohort 2024-01) and 1 Feb 01:00 (+1).
        ev(2, "2024-01-31 23:00", "banquet", "attended", "BARB", 1),
        ev(2, "2024-02-01 01:00", "volunteering", "volunteered", "PARK", 4),
        // P3: an invitation in December does not start a cohort; first 10 Feb (2024-02);
        //     June is after `now` and beyond +3.
        ev(3, "2023-12-01 10:00", "banquet", "invited", "BARB", 1),
        ev(3, "2024-02-10 10:00", "banquet", "attended", "BARB", 5),
        ev(3, "2024-06-01 10:00", "banquet", "attended", "BARB", 6),
        // P4: 15 Mar (2024-03) and 1 Apr (+1).
        ev(4, "2024-03-15 10:00", "consultation", "responded", "PLAN", 7),
        ev(4, "2024-04-01 10:00", "consultation", "responded", "PLAN", 8),
        // P5: only opened an email → in no cohort.
        ev(5, "2024-01-07 10:00", "newsletter", "opened", "COMM", 9),
    ]
}

#[test]
fn cohorts_match_hand_computation() {
    let o = Options {
        cohort_months: 3,
        ..opts("2024-04-15 00:00", 0)
    };
    let t = cohorts(cohort_fixture(), &o);
    assert_eq!(t.observed_to, "2024-04");
    assert_eq!(t.max_offset, 3);
    let months: Vec<&str> = t.cohorts.iter().map(|c| c.month.as_str()).collect();
    assert_eq!(months, ["2024-01", "2024-02", "2024-03"]);
    let cells = |i: usize| -> Vec<(Count, Option<f64>)> {
        t.cohorts[i].cells.iter().map(|c| (c.people, c.share_pct)).collect()
    };
    // 2024-01: P1, P2 (2). +0: 2 (100 %); +1 Feb: P2 (50 %); +2 Mar: P1 (50 %); +3 Apr: 0.
    assert_eq!(t.cohorts[0].people, n(2));
    assert_eq!(
        cells(0),
        [
            (n(2), Some(100.0)),
            (n(1), Some(50.0)),
            (n(1), Some(50.0)),
            (n(0), Some(0.0))
        ]
    );
    // 2024-02: P3 (1). Observed to April → +0..+2: 1, 0, 0.
    assert_eq!(cells(1), [(n(1), Some(100.0)), (n(0), Some(0.0)), (n(0), Some(0.0))]);
    // 2024-03: P4 (1). +0: 1; +1 April: 1.
    assert_eq!(cells(2), [(n(1), Some(100.0)), (n(1), Some(100.0))]);
}

fn path_fixture() -> Vec<EventRow> {
    vec![
        // P1: event, banquet, banquet, volunteering, consultation → cut to 3 kinds.
        ev(1, "2024-01-01 10:00", "event", "attended", "CULT", 1),
        ev(1, "2024-01-02 10:00", "banquet", "attended", "BARB", 2),
        ev(1, "2024-01-03 10:00", "banquet", "attended", "BARB", 3),
        ev(1, "2024-01-04 10:00", "volunteering", "volunteered", "PARK", 4),
        ev(1, "2024-01-05 10:00", "consultation", "responded", "PLAN", 5),
        // P2: event → banquet → volunteering.
        ev(2, "2024-02-01 10:00", "event", "attended", "CULT", 1),
        ev(2, "2024-02-02 10:00", "banquet", "attended", "BARB", 2),
        ev(2, "2024-02-03 10:00", "volunteering", "volunteered", "PARK", 4),
        // P3: banquet only.
        ev(3, "2024-01-01 10:00", "banquet", "attended", "BARB", 2),
        // P4: event and banquet at one instant → ordered by kind name: banquet → event.
        ev(4, "2024-01-01 10:00", "event", "attended", "CULT", 1),
        ev(4, "2024-01-01 10:00", "banquet", "attended", "BARB", 2),
        // P5: invited only → no journey.
        ev(5, "2024-01-01 10:00", "banquet", "invited", "BARB", 2),
        // P6: event → banquet → volunteering → banquet → cut to 3.
        ev(6, "2024-03-01 10:00", "event", "attended", "CULT", 1),
        ev(6, "2024-03-02 10:00", "banquet", "attended", "BARB", 2),
        ev(6, "2024-03-03 10:00", "volunteering", "volunteered", "PARK", 4),
        ev(6, "2024-03-04 10:00", "banquet", "attended", "BARB", 3),
    ]
}

#[test]
fn paths_match_hand_computation() {
    let o = Options {
        max_path_len: 3,
        ..opts("2024-06-01 00:00", 0)
    };
    let p = paths(path_fixture(), &o);
    // event → banquet → volunteering: P1, P2, P6 = 3; banquet: P3; banquet → event: P4.
    // Ties (1 each) by label: "banquet" < "banquet → event". 5 people, none left over.
    let got: Vec<(&str, Count)> = p.paths.iter().map(|e| (e.label.as_str(), e.people)).collect();
    assert_eq!(
        got,
        [
            ("event → banquet → volunteering", n(3)),
            ("banquet", n(1)),
            ("banquet → event", n(1))
        ]
    );
    assert_eq!(p.people, n(5));
    assert_eq!(p.other, n(0));
    assert_eq!(p.paths[0].kinds, ["event", "banquet", "volunteering"]);

    // Top 1: the two single-person journeys go to `other`.
    let top1 = paths(
        path_fixture(),
        &Options {
            top_paths: 1,
            ..o.clone()
        },
    );
    assert_eq!(top1.paths.len(), 1);
    assert_eq!(top1.other, n(2));

    // k = 2: rare journeys are never listed, only pooled (other = 2 ≥ 2, shown).
    let k2 = paths(
        path_fixture(),
        &Options {
            min_count: 2,
            ..o.clone()
        },
    );
    assert_eq!(k2.paths.len(), 1);
    assert_eq!((k2.people, k2.other), (n(5), n(2)));

    // k = 3: other (2) is small; with the total shown it would follow from 5 − 3, so the listed
    // journey is hidden too.
    let k3 = paths(path_fixture(), &Options { min_count: 3, ..o });
    assert_eq!(k3.other, Count::Below(3));
    assert_eq!(k3.paths[0].people, Count::Hidden);
    assert_eq!(k3.people, n(5));
}

#[test]
fn paths_default_length_is_five() {
    let p = paths(path_fixture(), &opts("2024-06-01 00:00", 0));
    // P1 now keeps 4 kinds; P6 keeps event → banquet → volunteering → banquet.
    assert!(p
        .paths
        .iter()
        .any(|e| e.label == "event → banquet → volunteering → consultation"));
    assert!(p
        .paths
        .iter()
        .any(|e| e.label == "event → banquet → volunteering → banquet"));
}
