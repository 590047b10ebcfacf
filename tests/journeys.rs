//! Journey analytics through HTTP: each analytic against a small hand-computed example,
//! small-count suppression, no personal data in any output, restricted and erased people left
//! out, department scope, CSV and SVG renderings, and one person's scores.

mod common;

use common::{TestApp, User};
use lighthouse::service::Role;
use serde_json::{json, Value};

const PERIOD: &str = "from=2026-01-01T00:00:00Z&to=2026-07-01T00:00:00Z";

/// One engagement of a persona: activity id, action, day.
type Step<'a> = (&'a String, &'static str, &'static str);

struct F {
    app: TestApp,
    officer: User,
    analyst: User,
    /// Every fixture person's names and emails, to look for in analytics output.
    personal: Vec<String>,
    restricted: String,
    erased: String,
    a_person: String,
    /// The volunteering activity's id.
    walk: String,
}

/// Personas, each twice (so every published count is at least 2, the test threshold):
/// A: banquet Jan 10 → volunteering Mar 1 → consultation May 1
/// B: banquet Jan 12 → volunteering Feb 12
/// C: banquet Jan 15 → consultation Mar 15
/// D: invited Jan 1 and registered Jan 5 to the banquet; never came
/// E: volunteering Feb 1 only
/// plus a restricted and an erased person who went to the banquet (and must not count).
async fn fixture() -> F {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__JOURNEYS__MIN_COUNT", "2")]).await;
    for d in ["CITY", "OPEN", "PLAN"] {
        app.department(d);
    }
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let analyst = app.user(&[Role::Analyst], &[]).await;
    let activity = |kind: &'static str, dept: &'static str, title: &'static str| json!({"kind": kind, "title": title, "department": dept, "starts_at": "2026-01-10T19:00:00Z"});
    let mut ids = Vec::new();
    for body in [
        activity("banquet", "CITY", "Banquet"),
        activity("volunteering", "OPEN", "Forest clean-up"),
        activity("consultation", "PLAN", "Local plan"),
    ] {
        let r = app.post("/api/v1/activities", &officer.token, body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let (banquet, walk, plan) = (&ids[0], &ids[1], &ids[2]);
    let personas: Vec<(&str, Vec<Step>)> = vec![
        (
            "A",
            vec![
                (banquet, "attended", "2026-01-10"),
                (walk, "volunteered", "2026-03-01"),
                (plan, "responded", "2026-05-01"),
            ],
        ),
        (
            "B",
            vec![(banquet, "attended", "2026-01-12"), (walk, "volunteered", "2026-02-12")],
        ),
        (
            "C",
            vec![(banquet, "attended", "2026-01-15"), (plan, "responded", "2026-03-15")],
        ),
        (
            "D",
            vec![
                (banquet, "invited", "2026-01-01"),
                (banquet, "registered", "2026-01-05"),
            ],
        ),
        ("E", vec![(walk, "volunteered", "2026-02-01")]),
        ("Restricted", vec![(banquet, "attended", "2026-01-10")]),
        ("Erased", vec![(banquet, "attended", "2026-01-10")]),
    ];
    let mut events = Vec::new();
    let mut personal = Vec::new();
    let (mut restricted, mut erased, mut a_person) = (String::new(), String::new(), String::new());
    for (name, steps) in &personas {
        let copies = if name.len() == 1 { 2 } else { 1 };
        for copy in 0..copies {
            let given = format!("Zebedee{name}{copy}");
            let email = format!("zeb.{name}{copy}@journeys.test").to_lowercase();
            let p = app
                .person(
                    &officer.token,
                    json!({"given_name": given, "family_name": "Quillfeather", "emails": [{"address": email}]}),
                )
                .await;
            let id = p["id"].as_str().unwrap().to_string();
            personal.extend([given, email, id.clone()]);
            match *name {
                "Restricted" => restricted = id.clone(),
                "Erased" => erased = id.clone(),
                "A" if copy == 0 => a_person = id.clone(),
                _ => {}
            }
            for (activity, action, day) in steps {
                events.push(json!({"person": id, "activity": activity, "action": action,
                    "occurred_at": format!("{day}T12:00:00Z"), "source": "fixture"}));
            }
        }
    }
    let r = app
        .post("/api/v1/engagements/batch", &officer.token, json!({"events": events}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    personal.push("Quillfeather".into());
    F {
        app,
        officer,
        analyst,
        personal,
        restricted,
        erased,
        walk: walk.clone(),
        a_person,
    }
}

impl F {
    async fn analytic(&self, name: &str, extra: &str) -> Value {
        let r = self
            .app
            .get(&format!("/api/v1/journeys/{name}?{PERIOD}{extra}"), &self.analyst.token)
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        for value in &self.personal {
            assert!(!r.text.contains(value.as_str()), "{name} leaks {value}: {}", r.text);
        }
        r.body["result"].clone()
    }

    async fn exclude_the_restricted_and_erased(&self) {
        let dpo = self.app.user(&[Role::DataProtectionOfficer], &[]).await;
        let reason = json!({"reason": "test"});
        let r = self
            .app
            .post(
                &format!("/api/v1/people/{}/restrict", self.restricted),
                &dpo.token,
                reason.clone(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = self
            .app
            .post(&format!("/api/v1/people/{}/erase", self.erased), &dpo.token, reason)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

fn row<'a>(matrix: &'a Value, from: &str) -> &'a Value {
    matrix["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["from"] == from)
        .unwrap_or_else(|| panic!("no row {from} in {matrix}"))
}

fn cell<'a>(row: &'a Value, to: &str) -> &'a Value {
    row["next"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["to"] == to)
        .unwrap_or_else(|| panic!("no cell {to} in {row}"))
}

#[actix_web::test]
async fn transitions_match_the_hand_computed_example() {
    let f = fixture().await;
    f.exclude_the_restricted_and_erased().await;
    let m = f.analytic("transitions", "").await;
    let banquet = row(&m, "banquet");
    assert_eq!(banquet["people"], 6, "{m}");
    assert_eq!(cell(banquet, "volunteering")["people"], 4);
    // Delays 50, 50, 31, 31 days.
    assert_eq!(cell(banquet, "volunteering")["median_days"], 40.5);
    assert_eq!(cell(banquet, "consultation")["people"], 2);
    assert_eq!(cell(banquet, "consultation")["median_days"], 59.0);
    let volunteering = row(&m, "volunteering");
    assert_eq!(volunteering["people"], 6);
    assert_eq!(cell(volunteering, "consultation")["people"], 2);
    assert_eq!(volunteering["no_later"], 4);
    assert_eq!(row(&m, "consultation")["no_later"], 4);
}

#[actix_web::test]
async fn funnel_cohorts_paths_and_reach_match_the_hand_computed_example() {
    let f = fixture().await;
    f.exclude_the_restricted_and_erased().await;
    let funnel = f.analytic("funnel", "&kind=banquet").await;
    let people: Vec<&Value> = funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["people"])
        .collect();
    // Invited counts everyone who got at least that far: A, B, C (walk-ins) and D: 8. Registered
    // is 8 too, but its drop-off of 0 is below the threshold, so it is "<2" and the step count,
    // which would give it away, is hidden; attended 6 (D ×2 dropped); came back 6 (drop-off 0).
    assert_eq!(
        people,
        vec![&json!(8), &json!("hidden"), &json!(6), &json!("hidden")],
        "{funnel}"
    );
    let dropped: Vec<&Value> = funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["dropped"])
        .collect();
    assert_eq!(
        dropped,
        vec![&json!(null), &json!("<2"), &json!("hidden"), &json!("<2")]
    );

    let cohorts = f.analytic("cohorts", "&months=4").await;
    let jan = cohorts["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["month"] == "2026-01")
        .unwrap_or_else(|| panic!("{cohorts}"));
    assert_eq!(jan["people"], 6, "{cohorts}");
    let cells: Vec<&Value> = jan["cells"].as_array().unwrap().iter().map(|c| &c["people"]).collect();
    // Jan 6; Feb: B ×2; Mar: A, C ×2; Apr: nobody (suppressed); May: A ×2.
    assert_eq!(cells[..3], [&json!(6), &json!(2), &json!(4)], "{jan}");
    assert_eq!(cells[3], &json!("<2"));
    assert_eq!(cells[4], &json!(2));

    let paths = f.analytic("paths", "").await;
    let list: Vec<(String, Value)> = paths["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["label"].as_str().unwrap().to_string(), p["people"].clone()))
        .collect();
    // Four journeys of 2 people each; the list's total is published and the remainder ("other
    // journeys", 0) is suppressed, so one of the four is hidden to keep that 0 from being derived.
    let mut expected = vec![
        ("banquet → consultation".to_string(), json!(2)),
        ("banquet → volunteering".to_string(), json!(2)),
        ("banquet → volunteering → consultation".to_string(), json!(2)),
        ("volunteering".to_string(), json!("hidden")),
    ];
    let mut list = list;
    list.sort_by(|a, b| a.0.cmp(&b.0));
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(list, expected, "{paths}");

    let reach = f.analytic("reach", "").await;
    assert_eq!(reach["people"], 8, "{reach}");
    assert_eq!(reach["more_than_one"], 6);
    let per: Vec<(String, Value)> = reach["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["department"].as_str().unwrap().to_string(), d["people"].clone()))
        .collect();
    assert_eq!(
        per,
        vec![
            ("CITY".into(), json!(6)),
            ("OPEN".into(), json!(6)),
            ("PLAN".into(), json!(4))
        ]
    );
}

/// Steps of a funnel as (people, dropped), as published.
fn funnel_steps(funnel: &Value) -> Vec<(Value, Value)> {
    funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["people"].clone(), s["dropped"].clone()))
        .collect()
}

#[actix_web::test]
async fn an_activity_funnel_counts_coming_back_only_later_and_within_the_filters() {
    let f = fixture().await;
    let walk = &f.walk;
    // The forest clean-up: A (Mar 1), B (Feb 12) and E (Feb 1) volunteered, two of each. Only A
    // took part in anything afterwards (the local plan, May 1, PLAN); A's banquet was before.
    let all = f.analytic("funnel", &format!("&activity={walk}")).await;
    let steps = funnel_steps(&all);
    assert_eq!(steps[2].0, json!(6), "{all}");
    assert_eq!(steps[3], (json!(2), json!(4)), "{all}");
    // Within OPEN's events only, A's later response (PLAN's) is not seen.
    let open = f.analytic("funnel", &format!("&activity={walk}&department=OPEN")).await;
    let steps = funnel_steps(&open);
    assert_eq!(steps[2].0, json!(6), "{open}");
    assert_eq!(steps[3].0, json!("<2"), "{open}");
    // Nor when the period ends before it.
    let r = f
        .app
        .get(
            &format!("/api/v1/journeys/funnel?from=2026-01-01T00:00:00Z&to=2026-04-01T00:00:00Z&activity={walk}"),
            &f.analyst.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let steps = funnel_steps(&r.body["result"]);
    assert_eq!(steps[2].0, json!(6), "{}", r.text);
    assert_eq!(steps[3].0, json!("<2"), "{}", r.text);
}

#[actix_web::test]
async fn restricted_people_count_until_restricted_and_small_counts_are_suppressed() {
    let f = fixture().await;
    // Before the restriction and erasure, their banquet visits count.
    let before = f.analytic("reach", "").await;
    assert_eq!(before["people"], 10, "{before}");
    f.exclude_the_restricted_and_erased().await;
    let after = f.analytic("reach", "").await;
    assert_eq!(after["people"], 8);
    // With the default threshold of 5, the pairs of the example disappear.
    let strict = TestApp::new().await;
    let analyst = strict.user(&[Role::Analyst], &[]).await;
    let r = strict
        .get(&format!("/api/v1/journeys/reach?{PERIOD}"), &analyst.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"]["people"], "<5");
    let suppressed = f.analytic("paths", "&department=PLAN").await;
    assert!(
        suppressed.to_string().contains("<2")
            || suppressed["paths"].as_array().unwrap().iter().all(|p| p["people"] == 2),
        "{suppressed}"
    );
}

#[actix_web::test]
async fn csv_and_svg_renderings_and_bad_requests() {
    let f = fixture().await;
    for name in ["transitions", "cohorts", "paths", "reach"] {
        let csv = f
            .app
            .get(
                &format!("/api/v1/journeys/{name}?{PERIOD}&format=csv"),
                &f.analyst.token,
            )
            .await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert!(csv.text.lines().count() >= 2, "{name}: {}", csv.text);
        let svg = f
            .app
            .get(
                &format!("/api/v1/journeys/{name}?{PERIOD}&format=svg"),
                &f.analyst.token,
            )
            .await;
        assert_eq!(svg.status, 200);
        assert_eq!(svg.header("content-type").as_deref(), Some("image/svg+xml"));
        assert!(
            svg.text.starts_with("<svg") && svg.text.trim_end().ends_with("</svg>"),
            "{}",
            svg.text
        );
        for value in &f.personal {
            assert!(!csv.text.contains(value.as_str()) && !svg.text.contains(value.as_str()));
        }
    }
    let bad = |q: &'static str| {
        let app = &f.app;
        let token = f.analyst.token.clone();
        async move { app.get(&format!("/api/v1/journeys/{q}"), &token).await }
    };
    for (q, field) in [
        ("funnel?kind=banquet&activity=x", "activity"),
        ("funnel", "activity"),
        ("reach?kind=juggling", "kind"),
        ("reach?department=NOPE", "department"),
        ("reach?from=2026-05-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("paths?top=0", "top"),
    ] {
        let r = bad(q).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
        assert_eq!(r.body["errors"][0]["field"], field, "{q}: {}", r.text);
    }
    assert_eq!(bad("reach?format=pdf").await.status, 400);
}

#[actix_web::test]
async fn department_scope_limits_analytics_and_scores_are_per_person() {
    let f = fixture().await;
    let editor = f.app.user(&[Role::DepartmentEditor], &["OPEN"]).await;
    let r = f
        .app
        .get(&format!("/api/v1/journeys/reach?{PERIOD}"), &editor.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let departments = r.body["result"]["department_codes"].clone();
    assert_eq!(departments, json!(["OPEN"]), "{}", r.text);

    let scores = f
        .app
        .get(&format!("/api/v1/people/{}/scores", f.a_person), &f.officer.token)
        .await;
    assert_eq!(scores.status, 200, "{}", scores.text);
    assert_eq!(scores.body["breadth_kinds"], 3);
    assert_eq!(scores.body["breadth_departments"], 3);
    assert_eq!(scores.body["b_score"], 3);
    // An OPEN editor's scores count OPEN's events only, as their timeline shows.
    let mine = f
        .app
        .get(&format!("/api/v1/people/{}/scores", f.a_person), &editor.token)
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["breadth_departments"], 1, "{}", mine.text);
    // The analyst sees aggregates only, never a person.
    let denied = f
        .app
        .get(&format!("/api/v1/people/{}/scores", f.a_person), &f.analyst.token)
        .await;
    assert_eq!(denied.status, 403);
}

#[actix_web::test]
async fn a_segment_narrows_the_analytics_to_its_people() {
    let f = fixture().await;
    f.exclude_the_restricted_and_erased().await;
    let manager = f.app.user(&[Role::CampaignsManager], &[]).await;
    // People linked to PLAN: the consultation respondents, personas A and C.
    let s = f
        .app
        .post(
            "/api/v1/segments",
            &manager.token,
            json!({"name": "Planning", "definition": {"department": "PLAN"}}),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.text);
    let id = s.body["id"].as_str().unwrap();
    // Segments are the campaigns team's: an analyst may not filter by one.
    let denied = f
        .app
        .get(
            &format!("/api/v1/journeys/reach?{PERIOD}&segment={id}"),
            &f.analyst.token,
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    let r = f
        .app
        .get(&format!("/api/v1/journeys/reach?{PERIOD}&segment={id}"), &manager.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let reach = r.body["result"].clone();
    // A and C (×2) all went to the banquet too; A also volunteered. Totals that would expose
    // the zero of "PLAN only" are hidden, the overlaps are shown.
    assert_eq!(reach["more_than_one"], 4, "{reach}");
    assert_eq!(reach["overlap"][2][0], 4, "PLAN × CITY: {reach}");
    assert_eq!(reach["overlap"][0][1], 2, "CITY × OPEN: {reach}");
    let r = f
        .app
        .get(
            &format!("/api/v1/journeys/reach?{PERIOD}&segment=0123456789abcdef0123456789abcdef"),
            &manager.token,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "segment");
}
