//! Transitions and funnels against hand-computed examples (no suppression: k = 0).

use super::super::{funnel, transitions, Count, FunnelScope, FunnelStep, TransitionMatrix};
use super::{ev, n, opts};
use crate::journeys_core::EventRow;

/// Four people, times chosen so every delay is easy to count by hand.
fn transition_fixture() -> Vec<EventRow> {
    vec![
        // P1: banquet 1 Jan → volunteering 11 Jan (10 d) → banquet 1 Feb → consultation 1 Mar.
        ev(1, "2024-01-01 10:00", "banquet", "attended", "BARB", 1),
        ev(1, "2024-01-11 10:00", "volunteering", "volunteered", "PARK", 2),
        ev(1, "2024-02-01 10:00", "banquet", "attended", "BARB", 3),
        ev(1, "2024-03-01 10:00", "consultation", "responded", "PLAN", 4),
        // P2: banquet 5 Jan; an invitation (not participation); consultation 25 Jan (20 d).
        ev(2, "2024-01-05 10:00", "banquet", "attended", "BARB", 1),
        ev(2, "2024-01-06 10:00", "event", "invited", "CULT", 5),
        ev(2, "2024-01-25 10:00", "consultation", "responded", "PLAN", 4),
        // P3: banquet and event at the same instant, volunteering 2 d 23 h later (2 d).
        ev(3, "2024-01-01 10:00", "event", "attended", "CULT", 5),
        ev(3, "2024-01-01 10:00", "banquet", "attended", "BARB", 1),
        ev(3, "2024-01-04 09:00", "volunteering", "volunteered", "PARK", 2),
        // P4: banquet 10 Jan → banquet 20 Jan (10 d); an email open (ignored).
        ev(4, "2024-01-10 10:00", "banquet", "attended", "BARB", 1),
        ev(4, "2024-01-20 10:00", "banquet", "ATTENDED ", "BARB", 6),
        ev(4, "2024-01-21 10:00", "banquet", "opened", "BARB", 6),
    ]
}

fn cell(m: &TransitionMatrix, from: &str, to: &str) -> (Count, Option<f64>) {
    let row = m.rows.iter().find(|r| r.from == from);
    let c = row.and_then(|r| r.next.iter().find(|c| c.to == to));
    c.map_or((Count::Hidden, None), |c| (c.people, c.median_days))
}

#[test]
fn transitions_match_hand_computation() {
    let m = transitions(transition_fixture(), &opts("2024-06-01 00:00", 0));
    assert_eq!(m.kinds, ["banquet", "consultation", "event", "volunteering"]);
    // banquet: P1..P4 = 4 people.
    //   P1 → volunteering 10 d; P2 → consultation 20 d; P3 → volunteering 2 d (the tied event
    //   is not strictly later); P4 → banquet 10 d. Nobody without a next step.
    let banquet = &m.rows[0];
    assert_eq!(banquet.people, n(4));
    assert_eq!(cell(&m, "banquet", "banquet"), (n(1), Some(10.0)));
    assert_eq!(cell(&m, "banquet", "consultation"), (n(1), Some(20.0)));
    assert_eq!(cell(&m, "banquet", "event"), (n(0), None));
    // volunteering delays 10 and 2 → median (2 + 10) / 2 = 6.
    assert_eq!(cell(&m, "banquet", "volunteering"), (n(2), Some(6.0)));
    assert_eq!(banquet.no_later, n(0));
    // consultation: P1 (last event) and P2 (last event) → 2 people, both with nothing later.
    assert_eq!(m.rows[1].people, n(2));
    assert_eq!(m.rows[1].no_later, n(2));
    assert!(m.rows[1].next.iter().all(|c| c.people == n(0)));
    // event: P3 only → volunteering after 2 d.
    assert_eq!(m.rows[2].people, n(1));
    assert_eq!(cell(&m, "event", "volunteering"), (n(1), Some(2.0)));
    // volunteering: P1 → banquet 1 Feb (21 d); P3 → nothing later.
    assert_eq!(m.rows[3].people, n(2));
    assert_eq!(cell(&m, "volunteering", "banquet"), (n(1), Some(21.0)));
    assert_eq!(m.rows[3].no_later, n(1));
    assert_eq!(m.order_breaks, 0);
}

#[test]
fn transitions_rows_partition_people() {
    let m = transitions(transition_fixture(), &opts("2024-06-01 00:00", 0));
    for row in &m.rows {
        let next: u64 = row.next.iter().filter_map(|c| c.people.exact()).sum();
        assert_eq!(Some(next + row.no_later.exact().unwrap_or(0)), row.people.exact());
    }
}

/// Activities: 100 and 101 banquets, 200 volunteering, 300 consultation.
fn funnel_fixture() -> Vec<EventRow> {
    vec![
        // P1: invited, registered, attended 100 on 1 Feb, volunteered at 200 on 1 Mar → came back.
        ev(1, "2024-01-10 09:00", "banquet", "invited", "BARB", 100),
        ev(1, "2024-01-15 09:00", "banquet", "registered", "BARB", 100),
        ev(1, "2024-02-01 19:00", "banquet", "attended", "BARB", 100),
        ev(1, "2024-03-01 09:00", "volunteering", "volunteered", "PARK", 200),
        // P2: invited and registered, never attended → registered.
        ev(2, "2024-01-10 09:00", "banquet", "invited", "BARB", 100),
        ev(2, "2024-01-16 09:00", "banquet", "registered", "BARB", 100),
        // P3: walk-in (no invitation or registration), and the same banquet again → attended
        //     (the same activity is not "another activity").
        ev(3, "2024-02-01 19:00", "banquet", "attended", "BARB", 100),
        ev(3, "2024-02-02 19:00", "banquet", "attended", "BARB", 100),
        // P4: invited only → invited.
        ev(4, "2024-01-10 09:00", "banquet", "invited", "BARB", 100),
        // P5: took part elsewhere *before* the banquet, nothing after → attended.
        ev(5, "2024-01-01 09:00", "consultation", "responded", "PLAN", 300),
        ev(5, "2024-01-10 09:00", "banquet", "invited", "BARB", 100),
        ev(5, "2024-02-01 19:00", "banquet", "attended", "BARB", 100),
        // P6: never in scope → not counted.
        ev(6, "2024-03-01 09:00", "volunteering", "volunteered", "PARK", 200),
        // P7: registered, attended, and volunteering at the same instant (not later) → attended.
        ev(7, "2024-01-15 09:00", "banquet", "registered", "BARB", 100),
        ev(7, "2024-02-01 19:00", "banquet", "attended", "BARB", 100),
        ev(7, "2024-02-01 19:00", "volunteering", "volunteered", "PARK", 200),
    ]
}

#[test]
fn funnel_matches_hand_computation() {
    let f = funnel(
        funnel_fixture(),
        &opts("2024-06-01 00:00", 0),
        FunnelScope::Activity(100),
    );
    let people: Vec<Count> = f.steps.iter().map(|s| s.people).collect();
    // Furthest steps: P1 came back, P2 registered, P3 attended, P4 invited, P5 attended,
    // P7 attended. invited ≥: 6; registered ≥: P1 P2 P3 P5 P7 = 5; attended ≥: P1 P3 P5 P7 = 4;
    // came back: P1 = 1.
    assert_eq!(people, [n(6), n(5), n(4), n(1)]);
    let dropped: Vec<Option<Count>> = f.steps.iter().map(|s| s.dropped).collect();
    assert_eq!(dropped, [None, Some(n(1)), Some(n(1)), Some(n(3))]);
    let conv: Vec<Option<f64>> = f.steps.iter().map(|s| s.conversion_pct).collect();
    // 5/6 = 83.3 %, 4/5 = 80 %, 1/4 = 25 %.
    assert_eq!(conv, [None, Some(83.3), Some(80.0), Some(25.0)]);
    assert_eq!(f.steps[3].step, FunnelStep::CameBack);
}

#[test]
fn funnel_by_kind_counts_another_activity_of_the_same_kind_as_coming_back() {
    let rows = vec![
        // P1: banquet 100 then banquet 101 a month later → came back.
        ev(1, "2024-01-01 19:00", "banquet", "attended", "BARB", 100),
        ev(1, "2024-02-01 19:00", "banquet", "attended", "BARB", 101),
        // P2: invited to banquet 101 only.
        ev(2, "2024-01-20 09:00", "banquet", "invited", "BARB", 101),
        // P3: invited to a consultation: out of scope.
        ev(3, "2024-01-20 09:00", "consultation", "invited", "PLAN", 300),
    ];
    let f = funnel(rows, &opts("2024-06-01 00:00", 0), FunnelScope::Kind("banquet".into()));
    let people: Vec<Count> = f.steps.iter().map(|s| s.people).collect();
    assert_eq!(people, [n(2), n(1), n(1), n(1)]);
    let unknown = funnel(
        funnel_fixture(),
        &opts("2024-06-01 00:00", 0),
        FunnelScope::Kind("gala".into()),
    );
    assert!(unknown.steps.iter().all(|s| s.people == n(0)));
}

#[test]
fn funnel_and_transitions_do_not_depend_on_tie_order_or_input_form() {
    let mut rows = transition_fixture();
    let a = serde_json::to_string(&transitions(&rows, &opts("2024-06-01 00:00", 0)));
    // Reverse each person's events: the canonical order restores them.
    rows.reverse();
    rows.sort_by_key(|r| r.person);
    let b = serde_json::to_string(&transitions(rows.iter(), &opts("2024-06-01 00:00", 0)));
    assert_eq!(a.ok(), b.ok());
}
