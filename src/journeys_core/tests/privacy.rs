//! No personal data in outputs: person ids never appear in any JSON, CSV or SVG.

use super::super::{cohorts, funnel, paths, person_scores, reach, transitions, Dictionary, EventIds, FunnelScope};
use super::render::renderings;
use super::{ev, opts, PERSON};
use crate::journeys_core::EventRow;

/// 40 people with ids 987654321.., a mix of kinds, departments and actions.
fn crowd() -> Vec<EventRow> {
    let kinds = ["banquet", "volunteering", "consultation", "event"];
    let depts = ["BARB", "PARK", "PLAN", "CULT"];
    let actions = [
        "invited",
        "registered",
        "attended",
        "volunteered",
        "responded",
        "opened",
    ];
    let mut v = Vec::new();
    for p in 0..40i64 {
        for e in 0..6i64 {
            let i = usize::try_from((p + e) % 4).unwrap_or(0);
            let a = usize::try_from((p * 7 + e) % 6).unwrap_or(0);
            let when = format!("2024-{:02}-{:02} 10:00", 1 + (p + e) % 6, 1 + (p * 3 + e) % 27);
            v.push(ev(
                p,
                &when,
                kinds[i],
                actions[a],
                depts[(i + 1) % 4],
                100 + (p + e) % 5,
            ));
        }
    }
    v.sort_by_key(|a| (a.person, a.at));
    v
}

fn assert_no_ids(name: &str, text: &str) {
    assert!(!text.contains("98765"), "{name} leaks a person id");
    for p in 0..40 {
        assert!(!text.contains(&(PERSON + p).to_string()), "{name} leaks {}", PERSON + p);
    }
}

#[test]
fn no_output_contains_a_person_id() {
    let rows = crowd();
    for k in [0, 5] {
        let o = opts("2024-07-01 00:00", k);
        let json = [
            serde_json::to_string(&transitions(&rows, &o)),
            serde_json::to_string(&funnel(&rows, &o, FunnelScope::Activity(101))),
            serde_json::to_string(&funnel(&rows, &o, FunnelScope::Kind("banquet".into()))),
            serde_json::to_string(&cohorts(&rows, &o)),
            serde_json::to_string(&paths(&rows, &o)),
            serde_json::to_string(&reach(&rows, &o)),
            serde_json::to_string(&person_scores(&rows, o.now)),
        ];
        for (i, j) in json.iter().enumerate() {
            let text = j.as_ref().map(String::as_str).unwrap_or("serialisation failed");
            assert!(!text.contains("failed"));
            assert_no_ids(&format!("json {i}"), text);
        }
        for (name, csv, svg) in renderings(&rows, &o) {
            assert_no_ids(name, &csv);
            assert_no_ids(name, &svg);
        }
    }
}

#[test]
fn the_id_form_gives_the_same_answers_as_the_row_form() {
    let rows = crowd();
    let o = opts("2024-07-01 00:00", 5);
    let mut dict = Dictionary::new();
    let ids: Vec<EventIds> = rows.iter().map(|r| dict.encode(r)).collect();
    let same = |a: Result<String, serde_json::Error>, b: Result<String, serde_json::Error>| {
        assert_eq!(a.ok(), b.ok());
    };
    same(
        serde_json::to_string(&transitions(&rows, &o)),
        serde_json::to_string(&super::super::transitions_ids(ids.iter().copied(), &dict, &o)),
    );
    same(
        serde_json::to_string(&funnel(&rows, &o, FunnelScope::Kind("event".into()))),
        serde_json::to_string(&super::super::funnel_ids(
            ids.iter().copied(),
            &dict,
            &o,
            FunnelScope::Kind("event".into()),
        )),
    );
    same(
        serde_json::to_string(&cohorts(&rows, &o)),
        serde_json::to_string(&super::super::cohorts_ids(ids.iter().copied(), &dict, &o)),
    );
    same(
        serde_json::to_string(&paths(&rows, &o)),
        serde_json::to_string(&super::super::paths_ids(ids.iter().copied(), &dict, &o)),
    );
    same(
        serde_json::to_string(&reach(&rows, &o)),
        serde_json::to_string(&super::super::reach_ids(ids.iter().copied(), &dict, &o)),
    );
}

#[test]
fn output_schemas_have_no_person_field_and_use_suppressed_counts() {
    use super::super::{CohortTable, Funnel, PathList, PersonScores, Reach, TransitionMatrix};
    let schemas = [
        schemars::schema_for!(TransitionMatrix),
        schemars::schema_for!(Funnel),
        schemars::schema_for!(CohortTable),
        schemars::schema_for!(PathList),
        schemars::schema_for!(Reach),
        schemars::schema_for!(PersonScores),
    ];
    for (i, s) in schemas.iter().enumerate() {
        let text = serde_json::to_string(s).unwrap_or_default();
        assert!(!text.contains("\"person\""), "schema {i} has a person field");
        assert!(!text.contains("order_breaks"), "schema {i} shows a diagnostic");
        assert!(i == 5 || text.contains("SuppressedCount"), "schema {i}: {text}");
    }
}
