//! Activities, engagement logging (single, batch, idempotent), timelines and their scoping.

mod common;

use common::{TestApp, User};
use lighthouse::service::Role;
use serde_json::{json, Value};

struct F {
    app: TestApp,
    officer: User,
    editor: User,
    person: String,
    banquet: String,
    walk: String,
}

async fn fixture() -> F {
    let app = TestApp::new().await;
    app.department("REMB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let editor = app.user(&[Role::DepartmentEditor], &["OPEN"]).await;
    let p = app
        .person(&officer.token, json!({"given_name": "Ada", "departments": ["REMB"]}))
        .await;
    let banquet = app
        .post("/api/v1/activities", &officer.token, json!({"kind": "banquet", "title": "Lord Mayor's Banquet", "department": "REMB", "starts_at": "2026-11-09T19:00:00Z", "capacity": 700}))
        .await;
    assert_eq!(banquet.status, 201, "{}", banquet.text);
    let walk = app
        .post(
            "/api/v1/activities",
            &editor.token,
            json!({"kind": "volunteering", "title": "Epping Forest clean-up", "department": "OPEN",
            "shifts": [{"starts_at": "2026-06-01T09:00:00Z", "ends_at": "2026-06-01T13:00:00Z", "capacity": 20}]}),
        )
        .await;
    assert_eq!(walk.status, 201, "{}", walk.text);
    F {
        person: p["id"].as_str().unwrap().into(),
        banquet: banquet.body["id"].as_str().unwrap().into(),
        walk: walk.body["id"].as_str().unwrap().into(),
        app,
        officer,
        editor,
    }
}

fn ev(person: &str, activity: &str, action: &str, at: &str, reference: Option<&str>) -> Value {
    json!({"person": person, "activity": activity, "action": action, "occurred_at": at, "source": "tickets", "external_ref": reference})
}

#[actix_web::test]
async fn logging_is_idempotent_by_source_and_reference() {
    let f = fixture().await;
    let one = ev(&f.person, &f.banquet, "attended", "2026-11-09T19:30:00Z", Some("T-1"));
    let r = f.app.post("/api/v1/engagements", &f.officer.token, one.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let again = f.app.post("/api/v1/engagements", &f.officer.token, one.clone()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["duplicates"], 1);
    let batch = f.app.post("/api/v1/engagements/batch", &f.officer.token, json!({"events": [one.clone(), one, ev(&f.person, &f.banquet, "invited", "2026-10-01T10:00:00Z", Some("T-0"))]})).await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.body["created"], 1);
    assert_eq!(batch.body["duplicates"], 2);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM engagement_events"), 2);
}

#[actix_web::test]
async fn a_full_batch_larger_than_the_server_wide_body_limit_is_accepted() {
    let f = fixture().await;
    // 10,000 events are about 1.7 MB of JSON: over `server.json_limit_bytes` (1 MiB), within
    // the batch route's own 16 MiB.
    let events: Vec<Value> = (0..10_000)
        .map(|i| {
            ev(
                &f.person,
                &f.banquet,
                "invited",
                "2026-10-01T10:00:00Z",
                Some(&format!("BIG-{i:06}")),
            )
        })
        .collect();
    let body = json!({ "events": events });
    assert!(body.to_string().len() > 1 << 20);
    let r = f.app.post("/api/v1/engagements/batch", &f.officer.token, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 10_000);
}

#[actix_web::test]
async fn a_bad_batch_writes_nothing_and_says_what_is_wrong() {
    let f = fixture().await;
    let events = json!({"events": [
        ev(&f.person, &f.banquet, "attended", "2026-11-09T19:30:00Z", Some("A")),
        ev(&f.person, &f.banquet, "partied", "2026-11-09T19:30:00Z", Some("B")),
        ev("00000000000000000000000000000000", &f.banquet, "attended", "2026-11-09T19:30:00Z", Some("C")),
        {"person": f.person, "activity": f.walk, "action": "attended", "occurred_at": "2026-06-01T10:00:00Z", "hours": 3}
    ]});
    let r = f.app.post("/api/v1/engagements/batch", &f.officer.token, events).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["events[1].action", "events[2].person", "events[3].hours"]);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM engagement_events"), 0);
    let empty = f
        .app
        .post("/api/v1/engagements/batch", &f.officer.token, json!({"events": []}))
        .await;
    assert_eq!(empty.status, 422);
}

#[actix_web::test]
async fn timeline_is_newest_first_paged_filtered_and_scoped() {
    let f = fixture().await;
    let shift = f
        .app
        .get(&format!("/api/v1/activities/{}", f.walk), &f.officer.token)
        .await
        .body["shifts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut events = Vec::new();
    for day in 1..=5 {
        events.push(ev(
            &f.person,
            &f.banquet,
            "attended",
            &format!("2026-0{day}-10T19:00:00Z"),
            Some(&format!("B{day}")),
        ));
    }
    events.push(json!({"person": f.person, "activity": f.walk, "shift": shift, "action": "volunteered", "hours": 4.0, "occurred_at": "2026-06-01T09:00:00Z", "external_ref": "V1", "source": "volunteer_app"}));
    events.push(json!({"person": f.person, "kind": "communication", "department": "REMB", "action": "sent", "occurred_at": "2026-07-01T09:00:00Z"}));
    let r = f
        .app
        .post("/api/v1/engagements/batch", &f.officer.token, json!({"events": events}))
        .await;
    assert_eq!(r.body["created"], 7, "{}", r.text);
    let url = format!("/api/v1/people/{}/timeline", f.person);
    let page1 = f.app.get(&format!("{url}?limit=3"), &f.officer.token).await;
    assert_eq!(page1.status, 200, "{}", page1.text);
    let items = page1.body["items"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|i| i["action"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["sent", "volunteered", "attended"]
    );
    assert_eq!(items[1]["hours"], 4.0);
    assert_eq!(items[1]["department"], "OPEN");
    assert_eq!(items[2]["activity"]["title"], "Lord Mayor's Banquet");
    let cursor = page1.body["next_before"].as_str().unwrap();
    let page2 = f
        .app
        .get(&format!("{url}?limit=3&before={cursor}"), &f.officer.token)
        .await;
    let dates: Vec<&str> = page2.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["occurred_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        vec!["2026-04-10T19:00:00Z", "2026-03-10T19:00:00Z", "2026-02-10T19:00:00Z"]
    );
    let banquets = f
        .app
        .get(
            &format!("{url}?kind=banquet&from=2026-02-01T00:00:00Z&to=2026-04-01T00:00:00Z"),
            &f.officer.token,
        )
        .await;
    assert_eq!(banquets.body["items"].as_array().unwrap().len(), 2);
    // The editor of OPEN sees the person (linked to OPEN by volunteering) but only OPEN's events.
    let departments = |page: &Value| -> Vec<String> {
        let items = page["items"].as_array().unwrap();
        items
            .iter()
            .map(|i| i["department"].as_str().unwrap().to_string())
            .collect()
    };
    let scoped = f.app.get(&url, &f.editor.token).await;
    assert_eq!(scoped.status, 200, "{}", scoped.text);
    assert_eq!(departments(&scoped.body), vec!["OPEN"]);
    // A department filter by code; an unknown code is the client's mistake, named.
    let open = f.app.get(&format!("{url}?department=OPEN"), &f.officer.token).await;
    assert_eq!(departments(&open.body), vec!["OPEN"]);
    let unknown = f.app.get(&format!("{url}?department=NOPE"), &f.officer.token).await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(unknown.body["errors"][0]["field"], "department", "{}", unknown.text);
    assert_eq!(
        f.app
            .get(&format!("{url}?before=nonsense"), &f.officer.token)
            .await
            .status,
        422
    );
}

#[actix_web::test]
async fn activities_respect_department_scope() {
    let f = fixture().await;
    assert_eq!(
        f.app
            .get(&format!("/api/v1/activities/{}", f.banquet), &f.editor.token)
            .await
            .status,
        404
    );
    let list = f.app.get("/api/v1/activities", &f.editor.token).await;
    assert_eq!(list.body["total"], 1);
    let theirs = f
        .app
        .post(
            "/api/v1/activities",
            &f.editor.token,
            json!({"kind": "event", "title": "Not mine", "department": "REMB"}),
        )
        .await;
    assert_eq!(theirs.status, 422);
    let log = f
        .app
        .post(
            "/api/v1/engagements",
            &f.editor.token,
            ev(&f.person, &f.banquet, "attended", "2026-11-09T19:30:00Z", None),
        )
        .await;
    assert_eq!(
        log.status, 422,
        "the editor cannot log for another department's activity"
    );
    let bad = f.app.post("/api/v1/activities", &f.officer.token, json!({"kind": "rave", "title": "x", "department": "REMB", "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"})).await;
    assert_eq!(bad.status, 422);
    let admin = f.app.admin().await;
    let k = f
        .app
        .post(
            "/api/v1/activity-kinds",
            &admin.token,
            json!({"code": "lecture", "label": "Gresham lecture"}),
        )
        .await;
    assert_eq!(k.status, 201);
    let ok = f
        .app
        .post(
            "/api/v1/activities",
            &f.officer.token,
            json!({"kind": "lecture", "title": "On clocks", "department": "REMB"}),
        )
        .await;
    assert_eq!(ok.status, 201);
}

#[actix_web::test]
async fn erasure_keeps_only_anonymous_engagement_counts() {
    let f = fixture().await;
    f.app
        .post(
            "/api/v1/engagements/batch",
            &f.officer.token,
            json!({"events": [
                ev(&f.person, &f.banquet, "attended", "2026-11-09T19:30:00Z", Some("E1")),
                ev(&f.person, &f.banquet, "invited", "2026-10-09T19:30:00Z", Some("E2")),
            ]}),
        )
        .await;
    let dpo = f.app.user(&[Role::DataProtectionOfficer], &[]).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/erase", f.person),
            &dpo.token,
            json!({"reason": "Art. 17"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM engagement_events"), 0);
    assert_eq!(
        f.app
            .count("SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) AS n FROM engagement_aggregates"),
        2
    );
}
