//! The person record through HTTP: create, read, optimistic updates, search, filters,
//! provenance and department scoping.

mod common;

use actix_web::test::TestRequest;
use common::TestApp;
use lighthouse::service::Role;
use serde_json::{json, Value};

fn jon() -> Value {
    json!({
        "title": "Mr",
        "given_name": "Jon",
        "family_name": "Smith",
        "date_of_birth": "1980-02-29",
        "emails": [{"address": "Jon.Smith@Example.org"}, {"address": "jon@work.example.com", "primary": true}],
        "phones": [{"number": "07700 900123"}, {"number": "(020) 7946 0000", "label": "home"}],
        "addresses": [{"line1": "1 London Wall", "town": "London", "postcode": "ec2v7hh"}],
        "tags": ["Banquet", "banquet", "Volunteer"],
        "departments": ["BARB"]
    })
}

async fn setup() -> (TestApp, common::User) {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    (app, officer)
}

#[actix_web::test]
async fn create_normalises_and_records_provenance() {
    let (app, officer) = setup().await;
    let p = app.person(&officer.token, jon()).await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(id.len(), 32, "opaque id");
    assert_eq!(p["emails"][0]["address"], "jon@work.example.com", "primary first");
    assert_eq!(p["emails"][1]["address"], "Jon.Smith@example.org");
    assert_eq!(p["phones"][0]["number"], "+447700900123");
    assert_eq!(p["phones"][0]["label"], "mobile");
    assert_eq!(p["phones"][1]["number"], "+442079460000");
    assert_eq!(p["addresses"][0]["postcode"], "EC2V 7HH");
    assert_eq!(p["tags"], json!(["banquet", "volunteer"]));
    assert_eq!(p["departments"], json!(["BARB"]));
    assert_eq!(p["version"], 1);
    let who = format!("user:{}", officer.id);
    assert_eq!(p["provenance"]["given_name"]["source"], "staff");
    assert_eq!(p["provenance"]["given_name"]["reference"], who.as_str());
    assert_eq!(p["emails"][0]["provenance"]["reference"], who.as_str());
    assert!(p["provenance"].get("preferred_name").is_none());
    let again = app.get(&format!("/api/v1/people/{id}"), &officer.token).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("etag").as_deref(), Some("\"v1\""));
    assert_eq!(again.body, p);
    // Two people get unrelated ids.
    let q = app.person(&officer.token, json!({"given_name": "Ann"})).await;
    assert_ne!(&q["id"].as_str().unwrap()[..8], &id[..8]);
}

#[actix_web::test]
async fn updates_are_optimistic() {
    let (app, officer) = setup().await;
    let other = app.user(&[Role::EngagementOfficer], &[]).await;
    let p = app.person(&officer.token, jon()).await;
    let url = format!("/api/v1/people/{}", p["id"].as_str().unwrap());
    let first = app
        .patch(
            &url,
            &officer.token,
            json!({"version": 1, "preferred_name": "Jonny", "title": null}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["version"], 2);
    assert_eq!(first.body["title"], Value::Null);
    assert_eq!(first.body["given_name"], "Jon", "absent fields stay");
    let stale = app
        .patch(&url, &other.token, json!({"version": 1, "given_name": "John"}))
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["code"], "stale_version");
    let stale_if_match = TestRequest::patch()
        .uri(&url)
        .insert_header(("authorization", format!("Bearer {}", other.token)))
        .insert_header(("if-match", "\"v1\""))
        .insert_header(("content-type", "application/json"))
        .set_payload(json!({"given_name": "John"}).to_string());
    assert_eq!(app.send(stale_if_match).await.status, 412);
    let missing = app.patch(&url, &other.token, json!({"given_name": "John"})).await;
    assert_eq!(missing.status, 422);
    let now = app.get(&url, &other.token).await;
    assert_eq!(now.body["given_name"], "Jon", "nothing overwritten");
    let ok = TestRequest::patch()
        .uri(&url)
        .insert_header(("authorization", format!("Bearer {}", other.token)))
        .insert_header(("if-match", "\"v2\""))
        .insert_header(("content-type", "application/json"))
        .set_payload(
            json!({"given_name": "John", "phones": [{"number": "+44 7700 900123"}, {"number": "07700 900999"}]})
                .to_string(),
        );
    let ok = app.send(ok).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        ok.body["provenance"]["given_name"]["reference"],
        format!("user:{}", other.id).as_str(),
        "provenance follows the edit"
    );
    assert_eq!(
        ok.body["provenance"]["family_name"]["reference"],
        format!("user:{}", officer.id).as_str(),
        "untouched values keep theirs"
    );
    assert_eq!(
        ok.body["phones"][0]["provenance"]["reference"],
        format!("user:{}", officer.id).as_str(),
        "a kept number keeps its provenance"
    );
    assert_eq!(
        ok.body["phones"][1]["provenance"]["reference"],
        format!("user:{}", other.id).as_str()
    );
}

#[actix_web::test]
async fn search_finds_people_by_any_contact_point_or_name_prefix() {
    let (app, officer) = setup().await;
    let p = app.person(&officer.token, jon()).await;
    app.person(
        &officer.token,
        json!({"given_name": "Zoë", "family_name": "O'Brien-Smythe", "departments": ["OPEN"]}),
    )
    .await;
    app.person(
        &officer.token,
        json!({"given_name": "Jonathan", "family_name": "Smithers"}),
    )
    .await;
    let id = p["id"].as_str().unwrap();
    let search = |q: &str| {
        let q = q.to_string();
        let app = &app;
        let token = officer.token.clone();
        async move { app.post("/api/v1/people/search", &token, json!({"q": q})).await }
    };
    for q in [
        "JON.SMITH@example.ORG",
        "jon@work.example.com",
        "07700900123",
        "+44 7700 900 123",
        "020 7946 0000",
        "EC2V7HH",
    ] {
        let r = search(q).await;
        assert_eq!(r.status, 200);
        let ids: Vec<&str> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![id], "search {q}");
    }
    // A result is a summary: who they are and how to tell them apart, not the whole record.
    let r = search("07700900123").await;
    assert_eq!(
        r.body["items"][0],
        json!({
            "id": id, "title": "Mr", "given_name": "Jon", "family_name": "Smith",
            "preferred_name": null, "date_of_birth": "1980-02-29", "organisation": null,
            "email": "jon@work.example.com", "phone": "+447700900123", "postcode": "EC2V 7HH",
            "departments": ["BARB"], "status": "active"
        }),
        "{}",
        r.text
    );
    let r = search("zoe").await;
    assert_eq!(r.body["items"][0]["given_name"], "Zoë", "accent-insensitive");
    let r = search("obrien").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "apostrophes ignored");
    let r = search("SMITH").await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        2,
        "Smith and Smithers: {}",
        r.text
    );
    let r = search("jon smi").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "full-name prefix");
    let r = search("nobody").await;
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(search("").await.status, 422);
}

#[actix_web::test]
async fn list_filters_and_pages() {
    let (app, officer) = setup().await;
    app.person(&officer.token, jon()).await;
    for i in 0..5 {
        app.person(
            &officer.token,
            json!({"given_name": format!("Person{i}"), "tags": ["bulk"], "departments": ["OPEN"]}),
        )
        .await;
    }
    let all = app.get("/api/v1/people?limit=4", &officer.token).await;
    assert_eq!(all.body["total"], 6);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
    let next = app.get("/api/v1/people?limit=4&offset=4", &officer.token).await;
    assert_eq!(next.body["items"].as_array().unwrap().len(), 2);
    let first_ids: Vec<Value> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert!(
        !first_ids.contains(&next.body["items"][0]["id"]),
        "pages do not overlap"
    );
    for (q, total) in [("tag=bulk", 5), ("department=BARB", 1), ("department=OPEN", 5)] {
        let r = app.get(&format!("/api/v1/people?{q}"), &officer.token).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!(r.body["total"], total, "{q}");
    }
    // Personal filters go in a body, never in a URL (security anchor 56).
    let bodies = [
        (json!({"name": "smi"}), 1),
        (json!({"email": "JON.SMITH@EXAMPLE.ORG"}), 1),
        (json!({"phone": "07700 900123"}), 1),
        (json!({"postcode": "ec2v 7hh"}), 1),
        (json!({"name": "person", "tag": "bulk", "limit": 2}), 5),
        (json!({"department": "BARB"}), 1),
    ];
    for (body, total) in bodies {
        let r = app.post("/api/v1/people/list", &officer.token, body.clone()).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text);
        assert_eq!(r.body["total"], total, "{body}");
    }
    for q in [
        "name=smi",
        "email=JON.SMITH%40EXAMPLE.ORG",
        "phone=07700%20900123",
        "postcode=ec2v%207hh",
    ] {
        let r = app.get(&format!("/api/v1/people?{q}"), &officer.token).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.body["errors"][0]["code"], "personal_data_in_url", "{q}: {}", r.text);
        assert!(r.text.contains("POST /api/v1/people/list"), "{}", r.text);
    }
    assert_eq!(app.get("/api/v1/people?limit=0", &officer.token).await.status, 422);
    assert_eq!(app.get("/api/v1/people?limit=abc", &officer.token).await.status, 400);
    assert_eq!(
        app.post("/api/v1/people/list", &officer.token, json!({"phone": "hello"}))
            .await
            .status,
        422
    );
    assert_eq!(
        app.get("/api/v1/people?department=NOPE", &officer.token).await.status,
        422
    );
}

#[actix_web::test]
async fn department_editors_only_see_their_departments() {
    let (app, officer) = setup().await;
    let editor = app.user(&[Role::DepartmentEditor], &["BARB"]).await;
    let barb = app.person(&officer.token, jon()).await;
    let open = app
        .person(
            &officer.token,
            json!({"given_name": "Olive", "emails": [{"address": "olive@example.org"}], "departments": ["OPEN"]}),
        )
        .await;
    let open_url = format!("/api/v1/people/{}", open["id"].as_str().unwrap());
    assert_eq!(
        app.get(
            &format!("/api/v1/people/{}", barb["id"].as_str().unwrap()),
            &editor.token
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.get(&open_url, &editor.token).await.status,
        404,
        "out of scope looks absent"
    );
    let patch = app
        .patch(&open_url, &editor.token, json!({"version": 1, "given_name": "Changed"}))
        .await;
    assert_eq!(patch.status, 404);
    assert_eq!(
        app.get(&open_url, &officer.token).await.body["given_name"],
        "Olive",
        "nothing changed"
    );
    let list = app.get("/api/v1/people", &editor.token).await;
    assert_eq!(list.body["total"], 1);
    let found = app
        .post(
            "/api/v1/people/search",
            &editor.token,
            json!({"q": "olive@example.org"}),
        )
        .await;
    assert_eq!(found.body["items"], json!([]));
    // New people default to the editor's only department; other departments are refused.
    let mine = app.person(&editor.token, json!({"given_name": "Bea"})).await;
    assert_eq!(mine["departments"], json!(["BARB"]));
    let theirs = app
        .post(
            "/api/v1/people",
            &editor.token,
            json!({"given_name": "Cy", "departments": ["OPEN"]}),
        )
        .await;
    assert_eq!(theirs.status, 422);
    // Nor can an editor link one of their people to another department (security anchor 26).
    let barb_url = format!("/api/v1/people/{}", barb["id"].as_str().unwrap());
    let held = app.get(&barb_url, &editor.token).await;
    let widen = app
        .patch(
            &barb_url,
            &editor.token,
            json!({"version": held.body["version"], "departments": ["BARB", "OPEN"]}),
        )
        .await;
    assert_eq!(widen.status, 422, "{}", widen.text);
    assert_eq!(widen.body["errors"][0]["code"], "out_of_scope", "{}", widen.text);
    assert_eq!(
        app.get(&barb_url, &officer.token).await.body["departments"],
        json!(["BARB"]),
        "nothing changed"
    );
    assert_eq!(
        app.get("/api/v1/people/00000000000000000000000000000000", &editor.token)
            .await
            .status,
        404
    );
    assert_eq!(app.get("/api/v1/people/not-an-id", &editor.token).await.status, 404);
    // A second role that reads no people (campaigns, analytics) does not widen the scope.
    for roles in [
        [Role::DepartmentEditor, Role::CampaignsManager],
        [Role::DepartmentEditor, Role::Analyst],
    ] {
        let both = app.user(&roles, &["BARB"]).await;
        assert_eq!(app.get(&open_url, &both.token).await.status, 404, "{roles:?}");
        let patch = app
            .patch(&open_url, &both.token, json!({"version": 1, "given_name": "Changed"}))
            .await;
        assert_eq!(patch.status, 404, "{roles:?}");
        assert_eq!(
            app.get("/api/v1/people", &both.token).await.body["total"],
            2,
            "{roles:?}"
        );
    }
    // Nor does a segment preview name people outside the departments (the count is the audience).
    let both = app
        .user(&[Role::DepartmentEditor, Role::CampaignsManager], &["BARB"])
        .await;
    let preview = app
        .post(
            "/api/v1/segments/preview",
            &both.token,
            json!({"definition": {"department": "OPEN"}, "sample": 5}),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["count"], 1, "{}", preview.text);
    assert_eq!(preview.body["sample"], json!([]), "{}", preview.text);
}

#[actix_web::test]
async fn invalid_values_are_reported_per_field() {
    let (app, officer) = setup().await;
    let r = app
        .post(
            "/api/v1/people",
            &officer.token,
            json!({
                "given_name": "Ann\u{0007}",
                "date_of_birth": "2999-01-01",
                "emails": [{"address": "not-an-email"}, {"address": "a@b.example", "primary": true}, {"address": "c@d.example", "primary": true}],
                "phones": [{"number": "12"}],
                "addresses": [{"line1": "", "postcode": "XYZ"}],
                "departments": ["NOPE"]
            }),
        )
        .await;
    assert_eq!(r.status, 422);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "given_name",
        "date_of_birth",
        "emails[0].address",
        "emails",
        "phones[0].number",
        "addresses[0].postcode",
        "addresses[0].line1",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM people"), 0);
    let empty = app.post("/api/v1/people", &officer.token, json!({})).await;
    assert_eq!(empty.status, 422);
    let html = app
        .person(&officer.token, json!({"given_name": "<img src=x onerror=alert(1)>"}))
        .await;
    assert_eq!(html["given_name"], "<img src=x onerror=alert(1)>", "stored as data");
}

#[actix_web::test]
async fn a_page_of_results_is_one_audit_event_naming_everyone_it_showed() {
    let (app, officer) = setup().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for given in ["Ann", "Bea", "Cat"] {
        let p = app
            .person(&officer.token, json!({"given_name": given, "family_name": "Quixley"}))
            .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    let r = app
        .post("/api/v1/people/search", &officer.token, json!({"q": "quix"}))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3, "{}", r.text);
    app.flush_audit();
    let r = app.get("/api/v1/audit?action=person.search_read", &admin.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one event for the page: {}", r.text);
    assert_eq!(items[0]["target_kind"], "person");
    assert!(items[0].get("target_id").is_none_or(Value::is_null));
    let named: Vec<String> = items[0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(named, expected, "the ids it showed, in order");
    // Each person's own trail lists the page.
    for id in &ids {
        let r = app
            .get(
                &format!("/api/v1/audit?target_id={id}&action=person.search_read"),
                &admin.token,
            )
            .await;
        assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);
    }
    let mut conn = app.state.pool.get().unwrap();
    use diesel::connection::SimpleConnection;
    assert!(conn
        .batch_execute("UPDATE audit_event_targets SET target_id = 'x'")
        .is_err());
    assert!(conn.batch_execute("DELETE FROM audit_event_targets").is_err());
    // The index by target is kept in stretches of events: a person's trail finds pages in every
    // stretch, not only the first or the last.
    for event in [40_000, 100_000] {
        conn.batch_execute(&format!(
            "INSERT INTO audit_events (id, occurred_at, actor, action, target_kind, outcome) \
             VALUES ({event}, '2026-01-01 00:00:00', 'system', 'person.search_read', 'person', 'success'); \
             INSERT INTO audit_event_targets (stretch, target_id, event_id) VALUES ({}, '{}', {event})",
            event / lighthouse::db::audit::STRETCH,
            ids[0]
        ))
        .unwrap();
    }
    drop(conn);
    let trail = |id: String| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/audit?target_id={id}&action=person.search_read"),
                    &token,
                )
                .await;
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let first = trail(ids[0].clone()).await;
    assert_eq!(&first[..2], &[100_000, 40_000], "{first:?}");
    assert_eq!(first.len(), 3, "{first:?}");
    assert_eq!(trail(ids[1].clone()).await.len(), 1);
}

#[actix_web::test]
async fn reads_and_changes_are_audited() {
    let (app, officer) = setup().await;
    let admin = app.admin().await;
    let p = app.person(&officer.token, jon()).await;
    let id = p["id"].as_str().unwrap();
    app.get(&format!("/api/v1/people/{id}"), &officer.token).await;
    app.patch(
        &format!("/api/v1/people/{id}"),
        &officer.token,
        json!({"version": 1, "given_name": "John"}),
    )
    .await;
    app.post("/api/v1/people/search", &officer.token, json!({"q": "john"}))
        .await;
    app.flush_audit();
    let r = app
        .get(
            &format!("/api/v1/audit?target_kind=person&target_id={id}"),
            &admin.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["person.create", "person.read", "person.update", "person.search_read"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let ev = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "person.update")
        .unwrap();
    assert_eq!(ev["actor"], format!("user:{}", officer.id).as_str());
    assert_eq!(ev["client_addr"], "127.0.0.1");
    assert!(ev["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(ev["detail"]["fields"], json!(["given_name"]));
    assert!(!r.text.contains("John"), "audit details hold no personal values");
    let by_actor = app
        .get(
            &format!("/api/v1/audit?actor={}&action=person.read", officer.id),
            &admin.token,
        )
        .await;
    assert_eq!(by_actor.body["items"].as_array().unwrap().len(), 1);
    let logins = app.get("/api/v1/audit?action=auth.login", &admin.token).await;
    assert!(logins.body["items"].as_array().unwrap().len() >= 2);
    // The audit log is append-only.
    let mut conn = app.state.pool.get().unwrap();
    use diesel::connection::SimpleConnection;
    assert!(conn.batch_execute("UPDATE audit_events SET action = 'x'").is_err());
    assert!(conn.batch_execute("DELETE FROM audit_events").is_err());
    drop(conn);
    assert!(app.count("SELECT COUNT(*) AS n FROM audit_events") > 0);
}
