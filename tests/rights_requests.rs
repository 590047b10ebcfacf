//! The register of data-protection requests through HTTP: the statutory clock (stopped,
//! restarted, extended), closing, listing by due date, who may use it, and what merges and
//! erasure do to it — on SQLite and PostgreSQL.

mod common;

use chrono::{Days, NaiveDate, Utc};
use common::{TestApp, User};
use lighthouse::service::privacy::deadline::due_date;
use lighthouse::service::Role;
use serde_json::{json, Value};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn ago(days: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(days)).unwrap()
}

fn date(v: &Value) -> NaiveDate {
    v.as_str().unwrap().parse().unwrap()
}

struct F {
    app: TestApp,
    dpo: User,
    officer: User,
    person: String,
}

async fn fixture() -> F {
    let app = TestApp::new().await;
    app.department("BARB");
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let p = app
        .person(&officer.token, json!({"given_name": "Edith", "family_name": "Cavell", "emails": [{"address": "edith.cavell@example.net"}], "departments": ["BARB"]}))
        .await;
    F {
        app,
        dpo,
        officer,
        person: p["id"].as_str().unwrap().to_string(),
    }
}

async fn register(f: &F, body: Value) -> Value {
    let r = f.app.post("/api/v1/rights-requests", &f.dpo.token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn get(f: &F, id: &str) -> common::Resp {
    f.app.get(&format!("/api/v1/rights-requests/{id}"), &f.dpo.token).await
}

async fn act(f: &F, id: &str, what: &str, body: Value) -> common::Resp {
    f.app
        .post(&format!("/api/v1/rights-requests/{id}/{what}"), &f.dpo.token, body)
        .await
}

#[actix_web::test]
async fn a_request_is_due_a_month_on_and_its_clock_stops_restarts_and_extends() {
    let f = fixture().await;
    let received = ago(20);
    let r = register(&f, json!({"kind": "access", "person": f.person, "requester": "Edith Cavell", "channel": "email", "received_on": received, "notes": "asked for everything since 2020"})).await;
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["status"], "open");
    assert_eq!(r["person"], f.person.as_str());
    let due = due_date(received, 0, 0).unwrap();
    assert_eq!(date(&r["due_on"]), due);
    assert_eq!(r["days_left"], (due - today()).num_days());
    assert_eq!(r["overdue"], false);

    // Stopped on day 5 to ask what they meant, restarted on day 15: ten days later.
    let s = act(
        &f,
        &id,
        "stop-clock",
        json!({"awaiting": "clarification", "reason": "which years?", "on": ago(15)}),
    )
    .await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert!(s.body["due_on"].is_null(), "no due date while stopped: {}", s.text);
    assert_eq!(date(&s.body["clock_stopped_on"]), ago(15));
    assert_eq!(s.body["awaiting"], "clarification");
    let again = act(&f, &id, "stop-clock", json!({"awaiting": "fee"})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    let early = act(&f, &id, "restart-clock", json!({"on": ago(16)})).await;
    assert_eq!(early.status, 422, "before the stop: {}", early.text);
    assert_eq!(early.body["errors"][0]["field"], "on");
    let s = act(&f, &id, "restart-clock", json!({"on": ago(5)})).await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["stopped_days"], 10);
    assert_eq!(s.body["clock_stops"][0]["awaiting"], "clarification");
    assert!(
        s.body["stop_reason"].is_null(),
        "the note goes with the stop: {}",
        s.text
    );
    assert_eq!(date(&s.body["due_on"]), due_date(received, 0, 10).unwrap());
    let running = act(&f, &id, "restart-clock", json!({})).await;
    assert_eq!(running.status, 409, "{}", running.text);

    // Extended by two months, within the first month.
    let e = act(
        &f,
        &id,
        "extend",
        json!({"months": 2, "reason": "numerous requests from the same person"}),
    )
    .await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert_eq!(date(&e.body["due_on"]), due_date(received, 2, 10).unwrap());
    assert_eq!(date(&e.body["first_due_on"]), due_date(received, 0, 10).unwrap());
    let shorter = act(&f, &id, "extend", json!({"months": 1, "reason": "changed my mind"})).await;
    assert_eq!(shorter.status, 422, "{}", shorter.text);
    let three = act(&f, &id, "extend", json!({"months": 3, "reason": "complex"})).await;
    assert_eq!(three.status, 422, "{}", three.text);

    // Closed once; nothing changes a closed request.
    let c = act(
        &f,
        &id,
        "close",
        json!({"outcome": "completed", "note": "export sent by secure email"}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["status"], "completed");
    assert!(c.body["closed_at"].is_string());
    assert!(c.body["days_left"].is_null());
    for (what, body) in [
        ("close", json!({"outcome": "refused"})),
        ("stop-clock", json!({"awaiting": "identity"})),
        ("extend", json!({"months": 2, "reason": "complex case"})),
    ] {
        let r = act(&f, &id, what, body).await;
        assert_eq!(r.status, 409, "{what}: {}", r.text);
        assert_eq!(r.body["code"], "request_closed", "{what}: {}", r.text);
    }
    // Every step is in the audit log, and none of it carries the requester's words.
    f.app.flush_audit();
    let actions = f.app.count(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE 'rights_request.%' AND target_kind = 'rights_request'",
    );
    assert_eq!(actions, 5, "create, stop, restart, extend, close");
    assert_eq!(
        f.app.count(
            "SELECT COUNT(*) AS n FROM audit_events WHERE detail LIKE '%Edith%' OR detail LIKE '%secure email%'"
        ),
        0
    );
}

#[actix_web::test]
async fn awaiting_proof_of_identity_the_month_runs_again_from_its_arrival() {
    let f = fixture().await;
    let received = ago(30);
    let r = register(
        &f,
        json!({"kind": "access", "requester": "Someone", "channel": "post", "received_on": received}),
    )
    .await;
    let id = r["id"].as_str().unwrap();
    let bad = act(&f, id, "stop-clock", json!({"awaiting": "patience"})).await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["field"], "awaiting");
    let s = act(&f, id, "stop-clock", json!({"awaiting": "identity", "on": ago(29)})).await;
    assert_eq!(s.status, 200, "{}", s.text);
    let s = act(&f, id, "restart-clock", json!({"on": ago(3)})).await;
    assert_eq!(s.status, 200, "{}", s.text);
    // A month from the day the proof arrived, not 26 days added to the first month.
    assert_eq!(date(&s.body["counts_from"]), ago(3));
    assert_eq!(date(&s.body["due_on"]), due_date(ago(3), 0, 0).unwrap());
    assert_eq!(s.body["stopped_days"], 0);
    assert_eq!(s.body["overdue"], false);
}

#[actix_web::test]
async fn extending_after_the_first_month_is_refused_and_late_requests_are_flagged() {
    let f = fixture().await;
    let late = register(
        &f,
        json!({"kind": "erasure", "requester": "A. Resident", "channel": "post", "received_on": ago(45)}),
    )
    .await;
    assert_eq!(late["overdue"], true);
    let id = late["id"].as_str().unwrap();
    let e = act(&f, id, "extend", json!({"months": 1, "reason": "complex case"})).await;
    assert_eq!(e.status, 409, "{}", e.text);
    assert_eq!(e.body["code"], "too_late_to_extend");

    let soon = register(
        &f,
        json!({"kind": "objection", "requester": "B. Resident", "channel": "phone", "received_on": ago(27)}),
    )
    .await;
    let fresh = register(
        &f,
        json!({"kind": "access", "requester": "C. Resident", "channel": "web"}),
    )
    .await;
    assert_eq!(date(&fresh["received_on"]), today());
    let closed = register(
        &f,
        json!({"kind": "rectification", "requester": "D. Resident", "channel": "in_person"}),
    )
    .await;
    let r = act(
        &f,
        closed["id"].as_str().unwrap(),
        "close",
        json!({"outcome": "withdrawn"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Open ones, soonest due first.
    let list = f.app.get("/api/v1/rights-requests", &f.dpo.token).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id, soon["id"].as_str().unwrap(), fresh["id"].as_str().unwrap()]);
    assert_eq!(list.body["total"], 3);
    assert_eq!(list.body["overdue"], 1);
    // Due within ten days: the late one and the one received 27 days ago.
    let within = f.app.get("/api/v1/rights-requests?due_within=10", &f.dpo.token).await;
    assert_eq!(within.body["total"], 2, "{}", within.text);
    let all = f
        .app
        .get("/api/v1/rights-requests?status=all&kind=rectification", &f.dpo.token)
        .await;
    assert_eq!(all.body["total"], 1, "{}", all.text);
    assert_eq!(all.body["items"][0]["status"], "withdrawn");
    let closed_list = f.app.get("/api/v1/rights-requests?status=closed", &f.dpo.token).await;
    assert_eq!(closed_list.body["total"], 1, "{}", closed_list.text);
}

#[actix_web::test]
async fn bad_input_gets_field_errors_and_only_the_dpo_may_use_the_register() {
    let f = fixture().await;
    let tomorrow = today().checked_add_days(Days::new(1)).unwrap();
    for (body, field, code) in [
        (
            json!({"kind": "gossip", "requester": "X", "channel": "email"}),
            "kind",
            "invalid_value",
        ),
        (
            json!({"kind": "access", "requester": "X", "channel": "pigeon"}),
            "channel",
            "invalid_value",
        ),
        (
            json!({"kind": "access", "requester": "  ", "channel": "email"}),
            "requester",
            "required",
        ),
        (
            json!({"kind": "access", "requester": "X", "channel": "email", "received_on": tomorrow}),
            "received_on",
            "in_future",
        ),
        (
            json!({"kind": "access", "requester": "X", "channel": "email", "received_on": ago(400)}),
            "received_on",
            "too_old",
        ),
        (
            json!({"kind": "access", "requester": "X", "channel": "email", "person": "0123456789abcdef0123456789abcdef"}),
            "person",
            "unknown_person",
        ),
    ] {
        let r = f.app.post("/api/v1/rights-requests", &f.dpo.token, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.text);
        assert_eq!(r.body["errors"][0]["code"], code, "{body}: {}", r.text);
    }
    let bad_date = f
        .app
        .post(
            "/api/v1/rights-requests",
            &f.dpo.token,
            json!({"kind": "access", "requester": "X", "channel": "email", "received_on": "2026-02-30"}),
        )
        .await;
    assert_eq!(bad_date.status, 422, "{}", bad_date.text);
    for q in ["status=shut", "due_within=-1", "limit=0", "kind=gossip"] {
        let r = f.app.get(&format!("/api/v1/rights-requests?{q}"), &f.dpo.token).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
    }
    let missing = f
        .app
        .get("/api/v1/rights-requests/0123456789abcdef0123456789abcdef", &f.dpo.token)
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        f.app
            .get("/api/v1/rights-requests/not-an-id", &f.dpo.token)
            .await
            .status,
        404
    );

    let admin = f.app.admin().await;
    let analyst = f.app.user(&[Role::Analyst], &[]).await;
    for user in [&f.officer, &admin, &analyst] {
        assert_eq!(f.app.get("/api/v1/rights-requests", &user.token).await.status, 403);
        let r = f
            .app
            .post(
                "/api/v1/rights-requests",
                &user.token,
                json!({"kind": "access", "requester": "X", "channel": "email"}),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
    }
}

#[actix_web::test]
async fn a_request_follows_its_person_through_a_merge_and_outlives_their_erasure() {
    let f = fixture().await;
    let other = f
        .app
        .person(
            &f.officer.token,
            json!({"given_name": "E.", "family_name": "Cavell", "departments": ["BARB"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = register(&f, json!({"kind": "access", "person": other, "requester": "Edith Cavell", "channel": "email", "notes": "prefers post"})).await;
    let id = r["id"].as_str().unwrap().to_string();

    let m = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.person),
            &f.officer.token,
            json!({"merge": [other]}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(get(&f, &id).await.body["person"], f.person.as_str());
    // A merged record is not a person a new request can name.
    let merged = f
        .app
        .post(
            "/api/v1/rights-requests",
            &f.dpo.token,
            json!({"kind": "access", "person": other, "requester": "X", "channel": "email"}),
        )
        .await;
    assert_eq!(merged.status, 422, "{}", merged.text);
    assert_eq!(merged.body["errors"][0]["code"], "merged_person");
    let by_person = f
        .app
        .get(&format!("/api/v1/rights-requests?person={}", f.person), &f.dpo.token)
        .await;
    assert_eq!(by_person.body["total"], 1, "{}", by_person.text);
    // The subject access export of the survivor includes it.
    let export = f
        .app
        .get(&format!("/api/v1/people/{}/export", f.person), &f.dpo.token)
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.body["tables"]["rights_requests"][0]["public_id"], id.as_str());

    let u = f
        .app
        .post(
            &format!("/api/v1/people/{}/unmerge", f.person),
            &f.officer.token,
            json!({}),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(get(&f, &id).await.body["person"], other.as_str());

    // Erased: the request and its dates stay (the officer's evidence); who wrote, and the
    // notes, do not.
    let e = f
        .app
        .post(
            &format!("/api/v1/people/{other}/erase"),
            &f.dpo.token,
            json!({"reason": "Art. 17 request"}),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    let after = get(&f, &id).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["requester"], "");
    assert!(after.body["notes"].is_null(), "{}", after.text);
    assert_eq!(after.body["received_on"], r["received_on"]);
    assert_eq!(after.body["due_on"], r["due_on"]);
    let c = act(&f, &id, "close", json!({"outcome": "completed"})).await;
    assert_eq!(c.status, 200, "{}", c.text);
}

#[actix_web::test]
async fn a_request_is_linked_to_its_person_once_they_are_known() {
    let f = fixture().await;
    let r = register(
        &f,
        json!({"kind": "erasure", "requester": "E. Cavell", "channel": "post", "notes": "signed letter, no address"}),
    )
    .await;
    let id = r["id"].as_str().unwrap();
    assert!(r["person"].is_null());
    let path = format!("/api/v1/rights-requests/{id}");
    let patch = |body: Value| f.app.req("PATCH", &path, Some(&f.dpo.token), Some(body));
    let empty = patch(json!({})).await;
    assert_eq!(empty.status, 422, "{}", empty.text);
    let unknown = patch(json!({"person": "0123456789abcdef0123456789abcdef"})).await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_person");
    let linked = patch(json!({"person": f.person})).await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    assert_eq!(linked.body["person"], f.person.as_str());
    assert_eq!(linked.body["notes"], "signed letter, no address", "notes unchanged");
    let cleared = patch(json!({"notes": ""})).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert!(cleared.body["notes"].is_null());
    assert_eq!(cleared.body["person"], f.person.as_str(), "person unchanged");
    let mine = f
        .app
        .get(&format!("/api/v1/rights-requests?person={}", f.person), &f.dpo.token)
        .await;
    assert_eq!(mine.body["total"], 1, "{}", mine.text);
    // Linked, the person's erasure reaches who wrote.
    let e = f
        .app
        .post(
            &format!("/api/v1/people/{}/erase", f.person),
            &f.dpo.token,
            json!({"reason": "Art. 17 request"}),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert_eq!(get(&f, id).await.body["requester"], "");
    let no = f
        .app
        .req(
            "PATCH",
            &format!("/api/v1/rights-requests/{id}"),
            Some(&f.officer.token),
            Some(json!({"notes": "x"})),
        )
        .await;
    assert_eq!(no.status, 403);
}

#[actix_web::test]
async fn past_its_retention_period_a_closed_request_keeps_its_dates_and_loses_who_and_whom() {
    use diesel::connection::SimpleConnection;
    let f = fixture().await;
    let old = register(&f, json!({"kind": "access", "person": f.person, "requester": "Edith Cavell", "channel": "post", "received_on": ago(40), "notes": "wrote from Brussels"})).await;
    let old_id = old["id"].as_str().unwrap().to_string();
    let c = act(
        &f,
        &old_id,
        "close",
        json!({"outcome": "completed", "note": "sent by post"}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    let recent = register(&f, json!({"kind": "erasure", "person": f.person, "requester": "Edith Cavell", "channel": "email", "received_on": ago(3)})).await;
    let recent_id = recent["id"].as_str().unwrap().to_string();
    let c = act(&f, &recent_id, "close", json!({"outcome": "withdrawn"})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let open = register(
        &f,
        json!({"kind": "objection", "person": f.person, "requester": "Edith Cavell", "channel": "email"}),
    )
    .await;
    let open_id = open["id"].as_str().unwrap().to_string();
    // The first was closed seven years ago (the default period is six); so was the open one
    // registered, which stays as it is while it is open.
    let mut conn = f.app.state.pool.get().unwrap();
    conn.batch_execute(&format!(
        "UPDATE rights_requests SET closed_at = '2019-01-01 00:00:00' WHERE public_id = '{old_id}'; \
         UPDATE rights_requests SET created_at = '2019-01-01 00:00:00' WHERE public_id = '{open_id}'"
    ))
    .unwrap();
    drop(conn);

    let (ok, text) = f.app.cli(&["retention", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("would anonymise 1 data-protection requests closed before"),
        "{text}"
    );
    assert_eq!(
        get(&f, &old_id).await.body["requester"],
        "Edith Cavell",
        "a dry run changes nothing"
    );

    let (ok, text) = f.app.cli(&["retention"]);
    assert!(ok, "{text}");
    assert!(text.contains("anonymised 1 data-protection requests"), "{text}");
    let r = get(&f, &old_id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["requester"], "", "{}", r.text);
    assert_eq!(r.body["person"], Value::Null);
    assert_eq!(r.body["notes"], Value::Null);
    assert_eq!(r.body["outcome_note"], Value::Null);
    assert!(r.body["anonymised_at"].is_string(), "{}", r.text);
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.body["kind"], "access");
    assert_eq!(r.body["channel"], "post");
    assert_eq!(date(&r.body["received_on"]), ago(40), "the dates stay");
    for id in [&recent_id, &open_id] {
        let r = get(&f, id).await;
        assert_eq!(r.body["requester"], "Edith Cavell", "{}", r.text);
        assert_eq!(r.body["person"], f.person.as_str());
        assert!(r.body["anonymised_at"].is_null());
    }
    // It cannot be linked to anyone again.
    let r = f
        .app
        .patch(
            &format!("/api/v1/rights-requests/{old_id}"),
            &f.dpo.token,
            json!({"person": f.person}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["code"], "anonymised", "{}", r.text);
    // The person's subject access export no longer lists it.
    let export = f.app.export_without_history(&f.dpo.token, &f.person).await;
    assert!(!export.to_string().contains(&old_id), "{export}");
    assert!(export.to_string().contains(&recent_id), "{export}");
    let (_, text) = f.app.cli(&["retention"]);
    assert!(text.contains("anonymised 0 data-protection requests"), "once: {text}");
    let admin = f.app.admin().await;
    let audit = f
        .app
        .get(
            &format!("/api/v1/audit?target_id={old_id}&action=rights_request.anonymise"),
            &admin.token,
        )
        .await;
    assert_eq!(audit.body["items"][0]["actor"], "retention", "{}", audit.text);
}
