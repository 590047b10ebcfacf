//! Reach and person scores against hand-computed examples.

use super::super::{
    breadth_score, frequency_score, person_scores, reach, recency_score, Count, DepartmentCountBucket, PersonScores,
};
use super::{at, ev, n, opts};
use crate::journeys_core::EventRow;

fn reach_fixture() -> Vec<EventRow> {
    vec![
        // P1: BARB and PARK.
        ev(1, "2024-01-01 10:00", "banquet", "attended", "BARB", 1),
        ev(1, "2024-01-05 10:00", "volunteering", "volunteered", "PARK", 2),
        // P2: BARB twice.
        ev(2, "2024-01-01 10:00", "banquet", "attended", "BARB", 1),
        ev(2, "2024-02-01 10:00", "banquet", "attended", "BARB", 3),
        // P3: CULT, BARB, PARK.
        ev(3, "2024-01-01 10:00", "consultation", "responded", "CULT", 4),
        ev(3, "2024-01-02 10:00", "banquet", "attended", "BARB", 1),
        ev(3, "2024-01-03 10:00", "volunteering", "attended", "PARK", 2),
        // P4: invited by BARB (not engagement), attended with CULT.
        ev(4, "2024-01-01 10:00", "banquet", "invited", "BARB", 1),
        ev(4, "2024-01-09 10:00", "event", "attended", "CULT", 5),
        // P5: only opened a BARB email → not engaged.
        ev(5, "2024-01-01 10:00", "newsletter", "opened", "BARB", 6),
    ]
}

#[test]
fn reach_matches_hand_computation() {
    let r = reach(reach_fixture(), &opts("2024-06-01 00:00", 0));
    // Engaged: P1..P4 = 4. BARB: P1 P2 P3 = 3; CULT: P3 P4 = 2; PARK: P1 P3 = 2.
    assert_eq!(r.people, n(4));
    assert_eq!(r.department_codes, ["BARB", "CULT", "PARK"]);
    let per: Vec<Count> = r.departments.iter().map(|d| d.people).collect();
    assert_eq!(per, [n(3), n(2), n(2)]);
    // One department: P2, P4; two: P1; three: P3. More than one: 2.
    let by: Vec<(u32, Count)> = r
        .by_department_count
        .iter()
        .map(|DepartmentCountBucket { departments, people }| (*departments, *people))
        .collect();
    assert_eq!(by, [(1, n(2)), (2, n(1)), (3, n(1))]);
    assert_eq!(r.more_than_one, n(2));
    // Overlaps: BARB∩CULT = P3; BARB∩PARK = P1 P3; CULT∩PARK = P3. Diagonal = own counts.
    assert_eq!(r.overlap, [[n(3), n(1), n(2)], [n(1), n(2), n(1)], [n(2), n(1), n(2)]]);
}

#[test]
fn person_scores_match_hand_computation() {
    let events = vec![
        // 20 days before now → recency 20 (score 5); inside the 12 months.
        ev(1, "2024-06-10 12:00", "banquet", "attended", "BARB", 1),
        // Inside the 12 months.
        ev(1, "2024-01-15 12:00", "volunteering", "volunteered", "PARK", 2),
        // More than 365 days ago: breadth only.
        ev(1, "2023-05-01 12:00", "consultation", "responded", "BARB", 3),
        // Not participation.
        ev(1, "2024-06-29 12:00", "event", "invited", "CULT", 4),
        // After now: ignored.
        ev(1, "2024-07-05 12:00", "event", "attended", "CULT", 5),
    ];
    let s = person_scores(&events, at("2024-06-30 12:00"));
    // frequency 2 → 3; kinds banquet, volunteering, consultation = 3 → 3; departments BARB, PARK.
    assert_eq!(
        s,
        PersonScores {
            recency_days: Some(20),
            frequency_12m: 2,
            breadth_kinds: 3,
            breadth_departments: 2,
            r_score: 5,
            f_score: 3,
            b_score: 3,
        }
    );
    let none = person_scores(&[], at("2024-06-30 12:00"));
    assert_eq!(
        (none.recency_days, none.r_score, none.f_score, none.b_score),
        (None, 1, 1, 1)
    );
}

#[test]
fn score_buckets_have_the_documented_edges() {
    let r: Vec<u8> = [
        Some(0),
        Some(30),
        Some(31),
        Some(90),
        Some(91),
        Some(180),
        Some(181),
        Some(365),
        Some(366),
        None,
    ]
    .iter()
    .map(|d| recency_score(*d))
    .collect();
    assert_eq!(r, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    let f: Vec<u8> = [0, 1, 2, 3, 4, 7, 8, 100].iter().map(|x| frequency_score(*x)).collect();
    assert_eq!(f, [1, 2, 3, 3, 4, 4, 5, 5]);
    let b: Vec<u8> = [0, 1, 2, 3, 4, 5, 9].iter().map(|x| breadth_score(*x)).collect();
    assert_eq!(b, [1, 1, 2, 3, 4, 5, 5]);
}
