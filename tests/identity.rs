//! Merge and unmerge through HTTP: everything moves to the survivor, merged ids redirect, and
//! unmerge gives back byte-identical exports.

mod common;

use common::{TestApp, User};
use lighthouse::service::Role;
use serde_json::{json, Value};

struct F {
    app: TestApp,
    officer: User,
    dpo: User,
    a: String,
    b: String,
}

async fn fixture() -> F {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let admin = app.admin().await;
    app.post("/api/v1/purposes", &admin.token, json!({"code": "newsletter", "description": "News", "category": "marketing", "default_lawful_basis": "consent", "wording": "News?"})).await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let a = app.person(&officer.token, json!({"given_name": "Jon", "family_name": "Smith", "emails": [{"address": "jon@example.org"}], "phones": [{"number": "07700 900123"}], "tags": ["banquet"], "departments": ["BARB"]})).await;
    let b = app
        .person(&officer.token, json!({"given_name": "Jonathan", "family_name": "Smith", "date_of_birth": "1970-03-02", "emails": [{"address": "jon@example.org"}, {"address": "jonathan.smith@example.com"}], "phones": [{"number": "+44 20 7946 0001"}], "addresses": [{"line1": "1 London Wall", "postcode": "EC2V 7HH"}], "tags": ["volunteer"], "departments": ["OPEN"]}))
        .await;
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let r = app.post(&format!("/api/v1/people/{b}/consents"), &officer.token, json!({"purpose": "newsletter", "channel": "email", "status": "granted", "capture_method": "web_checkbox", "wording_version": 1})).await;
    assert_eq!(r.status, 201);
    let r = app.post("/api/v1/engagements", &officer.token, json!({"person": b, "kind": "volunteering", "department": "OPEN", "action": "volunteered", "hours": 2.0, "occurred_at": "2026-05-01T10:00:00Z"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    F {
        app,
        officer,
        dpo,
        a,
        b,
    }
}

/// An export without the history tables that legitimately record the round trip.
async fn export(f: &F, id: &str) -> Value {
    f.app.export_without_history(&f.dpo.token, id).await
}

#[actix_web::test]
async fn merge_moves_everything_and_redirects_the_merged_id() {
    let f = fixture().await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &f.officer.token,
            json!({"merge": [f.b], "fields": {"given_name": f.b}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = &r.body["person"];
    assert_eq!(p["given_name"], "Jonathan", "manual choice");
    assert_eq!(p["date_of_birth"], "1970-03-02", "the only value wins");
    let emails: Vec<&str> = p["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        vec!["jon@example.org", "jonathan.smith@example.com"],
        "duplicates collapse, primary stays"
    );
    assert_eq!(p["phones"].as_array().unwrap().len(), 2);
    assert_eq!(p["tags"], json!(["banquet", "volunteer"]));
    assert_eq!(p["departments"], json!(["BARB", "OPEN"]));
    let gone = f.app.get(&format!("/api/v1/people/{}", f.b), &f.officer.token).await;
    assert_eq!(gone.status, 301);
    assert_eq!(gone.body["merged_into"], f.a.as_str());
    assert_eq!(gone.header("location"), Some(format!("/api/v1/people/{}", f.a)));
    let consents = f
        .app
        .get(&format!("/api/v1/people/{}/consents", f.a), &f.officer.token)
        .await;
    assert_eq!(consents.body["state"][0]["status"], "granted");
    let timeline = f
        .app
        .get(&format!("/api/v1/people/{}/timeline", f.a), &f.officer.token)
        .await;
    assert_eq!(timeline.body["items"][0]["action"], "volunteered");
    assert_eq!(f.app.get("/api/v1/people", &f.officer.token).await.body["total"], 1);
    let again = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &f.officer.token,
            json!({"merge": [f.a]}),
        )
        .await;
    assert_eq!(again.status, 422);
}

#[actix_web::test]
async fn unmerge_restores_byte_identical_exports() {
    let f = fixture().await;
    let (before_a, before_b) = (export(&f, &f.a).await, export(&f, &f.b).await);
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &f.officer.token,
            json!({"merge": [f.b], "survivorship": "most_complete"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["person"]["given_name"], "Jonathan");
    let u = f
        .app
        .post(&format!("/api/v1/people/{}/unmerge", f.a), &f.officer.token, json!({}))
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let (after_a, after_b) = (export(&f, &f.a).await, export(&f, &f.b).await);
    assert_eq!(
        serde_json::to_string(&before_a).unwrap(),
        serde_json::to_string(&after_a).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&before_b).unwrap(),
        serde_json::to_string(&after_b).unwrap()
    );
    // The merge history shows it, undone.
    let h = f
        .app
        .get(&format!("/api/v1/people/{}/merges", f.a), &f.officer.token)
        .await;
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.body.as_array().unwrap().len(), 1, "{}", h.text);
    assert_eq!(h.body[0]["merged"][0], f.b.as_str());
    assert!(h.body[0]["undone_at"].is_string(), "{}", h.text);
    // It no longer keeps a copy of their details (which would outlive an erasure of B).
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM merges WHERE snapshot = '[]' AND undone_at IS NOT NULL"),
        1
    );
    // The pair is now known not to be the same person.
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM match_candidates WHERE status = 'rejected'"),
        1
    );
    let none = f
        .app
        .post(&format!("/api/v1/people/{}/unmerge", f.a), &f.officer.token, json!({}))
        .await;
    assert_eq!(none.status, 422, "nothing left to undo");
}

#[actix_web::test]
async fn changes_after_a_merge_stay_with_the_survivor_on_unmerge() {
    let f = fixture().await;
    f.app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &f.officer.token,
            json!({"merge": [f.b]}),
        )
        .await;
    let p = f
        .app
        .get(&format!("/api/v1/people/{}", f.a), &f.officer.token)
        .await
        .body;
    let mut emails: Vec<Value> = p["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!({"address": e["address"], "primary": e["primary"]}))
        .collect();
    emails.push(json!({"address": "new.after.merge@example.org"}));
    let r = f
        .app
        .patch(
            &format!("/api/v1/people/{}", f.a),
            &f.officer.token,
            json!({"version": p["version"], "emails": emails, "organisation": "Barbican"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = f
        .app
        .post(&format!("/api/v1/people/{}/unmerge", f.a), &f.officer.token, json!({}))
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let a = &u.body["people"][0];
    let b = &u.body["people"][1];
    let a_emails: Vec<&str> = a["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert!(a_emails.contains(&"new.after.merge@example.org"), "{a_emails:?}");
    assert!(!a_emails.contains(&"jonathan.smith@example.com"), "{a_emails:?}");
    assert_eq!(a["organisation"], "Barbican", "an edit after the merge stays");
    assert_eq!(a["given_name"], "Jon");
    let b_emails: Vec<&str> = b["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(b_emails, vec!["jon@example.org", "jonathan.smith@example.com"]);
    assert_eq!(b["status"], "active");
}

#[actix_web::test]
async fn merges_respect_scope() {
    let f = fixture().await;
    let editor = f.app.user(&[Role::DepartmentEditor], &["BARB"]).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &editor.token,
            json!({"merge": [f.b]}),
        )
        .await;
    assert_eq!(r.status, 422, "the editor cannot see B: {}", r.text);
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{}", f.b), &f.officer.token)
            .await
            .status,
        200
    );
}

/// Two departments' records of one man, written differently.
async fn jon_twice(app: &TestApp, token: &str) -> (String, String) {
    let a = app.person(token, json!({"given_name": "Jon", "family_name": "Smith", "date_of_birth": "1970-03-02", "phones": [{"number": "07700 900123"}], "addresses": [{"line1": "1 London Wall", "postcode": "ec2v7hh"}], "departments": ["BARB"]})).await;
    let b = app.person(token, json!({"given_name": "Jonathan", "family_name": "SMITH", "date_of_birth": "1970-03-02", "phones": [{"number": "+44 7700 900123"}], "addresses": [{"line1": "1 London Wall", "postcode": "EC2V 7HH"}], "departments": ["OPEN"]})).await;
    (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    )
}

#[actix_web::test]
async fn possible_duplicates_are_proposed_with_an_explanation_and_a_rejection_sticks() {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let (a, b) = jon_twice(&app, &officer.token).await;
    // Someone else entirely is never proposed.
    app.person(
        &officer.token,
        json!({"given_name": "Mary", "family_name": "Jones", "phones": [{"number": "07700 900999"}]}),
    )
    .await;

    let r = app.get("/api/v1/matches", &officer.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let m = &r.body["items"][0];
    assert_eq!(m["status"], "pending");
    assert_eq!(m["origin"], "entry");
    assert_eq!(m["a"]["id"], a.as_str(), "the older record is a");
    assert_eq!(m["b"]["id"], b.as_str());
    assert!(m["probability"].as_f64().unwrap() >= 0.8);
    let contributions = m["explanation"]["contributions"]
        .as_array()
        .expect("per-field contributions");
    let level = |field: &str| {
        contributions
            .iter()
            .find(|c| c["field"] == field)
            .map(|c| c["level"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_ne!(level("phone"), "missing", "{contributions:?}");
    assert!(contributions.iter().any(|c| c["weight"].as_f64().unwrap_or(0.0) > 0.0));

    // Filters: by score and department.
    let none = app.get("/api/v1/matches?min_score=1&max_score=1", &officer.token).await;
    assert_eq!(none.status, 200);
    assert!(none.body["total"].as_i64().unwrap() <= 1);
    let by_dept = app.get("/api/v1/matches?department=OPEN", &officer.token).await;
    assert_eq!(by_dept.body["total"], 1);
    let theirs = app.get(&format!("/api/v1/matches?person={b}"), &officer.token).await;
    assert_eq!(theirs.body["total"], 1, "{}", theirs.text);
    let mary = app
        .post("/api/v1/people/list", &officer.token, json!({"name": "Mary"}))
        .await;
    let mary = mary.body["items"][0]["id"].as_str().unwrap().to_string();
    let none = app.get(&format!("/api/v1/matches?person={mary}"), &officer.token).await;
    assert_eq!(none.body["total"], 0, "{}", none.text);
    let bad = app.get("/api/v1/matches?min_score=2", &officer.token).await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let bad = app.get("/api/v1/matches?department=NOPE", &officer.token).await;
    assert_eq!(bad.status, 422, "{}", bad.text);

    let id = m["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/matches/{id}/reject"),
            &officer.token,
            json!({"reason": "different people"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = app
        .post(&format!("/api/v1/matches/{id}/reject"), &officer.token, json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(
        again.header("content-type").as_deref(),
        Some("application/problem+json")
    );

    // A later change to either record does not bring the pair back.
    let r = app
        .patch(
            &format!("/api/v1/people/{b}"),
            &officer.token,
            json!({"version": 1, "organisation": "Guildhall"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/api/v1/matches", &officer.token).await;
    assert_eq!(r.body["total"], 0, "{}", r.text);
    let r = app.get("/api/v1/matches?status=rejected", &officer.token).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    // Both people are still there, with their own ids.
    assert_eq!(
        app.get(&format!("/api/v1/people/{a}"), &officer.token).await.status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/people/{b}"), &officer.token).await.status,
        200
    );
    app.flush_audit();
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'match.reject'"),
        1
    );
}

#[actix_web::test]
async fn accepting_a_proposal_merges_and_respects_scope() {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let editor = app.user(&[Role::DepartmentEditor], &["BARB"]).await;
    let (a, b) = jon_twice(&app, &officer.token).await;
    let r = app.get("/api/v1/matches", &officer.token).await;
    let id = r.body["items"][0]["id"].as_str().unwrap().to_string();

    // The BARB editor cannot see the OPEN record: the pair is not theirs to judge.
    let mine = app.get("/api/v1/matches", &editor.token).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["total"], 0, "{}", mine.text);
    let r = app
        .post(&format!("/api/v1/matches/{id}/accept"), &editor.token, json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/matches/{id}/accept"),
            &officer.token,
            json!({"survivor": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);

    let r = app
        .post(
            &format!("/api/v1/matches/{id}/accept"),
            &officer.token,
            json!({"survivor": b}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["person"]["id"], b.as_str());
    let gone = app.get(&format!("/api/v1/people/{a}"), &officer.token).await;
    assert_eq!(gone.status, 301, "{}", gone.text);
    let r = app.get("/api/v1/matches?status=accepted", &officer.token).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let r = app.get("/api/v1/matches", &officer.token).await;
    assert_eq!(r.body["total"], 0, "{}", r.text);
    // The merged person no longer takes part in matching.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM blocking_keys k JOIN people p ON p.id = k.person_id WHERE p.status = 'merged'"
        ),
        0
    );
}

#[actix_web::test]
async fn erasing_a_survivor_erases_the_records_merged_into_it() {
    let f = fixture().await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &f.officer.token,
            json!({"merge": [f.b]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/erase", f.a),
            &f.dpo.token,
            json!({"reason": "subject request"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for id in [&f.a, &f.b] {
        let r = f.app.get(&format!("/api/v1/people/{id}"), &f.officer.token).await;
        assert_eq!(r.status, 410, "{id}: {}", r.text);
    }
    for sql in [
        "SELECT COUNT(*) AS n FROM people WHERE given_name IS NOT NULL OR family_name IS NOT NULL OR date_of_birth IS NOT NULL",
        "SELECT COUNT(*) AS n FROM person_emails",
        "SELECT COUNT(*) AS n FROM merges",
        "SELECT COUNT(*) AS n FROM blocking_keys",
    ] {
        assert_eq!(f.app.count(sql), 0, "{sql}");
    }
}

#[actix_web::test]
async fn dedupe_links_the_obvious_leaves_the_different_and_is_idempotent() {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let same = json!({"given_name": "Margaret", "family_name": "Featherstonehaugh", "date_of_birth": "1958-07-14", "emails": [{"address": "m.featherstonehaugh@example.org"}], "phones": [{"number": "020 7946 0102"}], "addresses": [{"line1": "12 Wood Street", "postcode": "EC2V 7AN"}]});
    let mut a_body = same.clone();
    a_body["departments"] = json!(["BARB"]);
    let mut b_body = same.clone();
    b_body["departments"] = json!(["OPEN"]);
    b_body["given_name"] = json!("MARGARET");
    let a = app.person(&officer.token, a_body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app.person(&officer.token, b_body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = app
        .person(&officer.token, json!({"given_name": "Oliver", "family_name": "Okafor", "date_of_birth": "1990-01-30", "phones": [{"number": "07700 900456"}], "addresses": [{"line1": "3 Aldgate", "postcode": "EC3N 1AH"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // As if the lists had been loaded in bulk: no keys, nothing proposed yet.
    let mut conn = app.state.pool.get().unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("DELETE FROM match_candidates; DELETE FROM blocking_keys")
        .unwrap();
    drop(conn);

    let (ok, text) = app.cli(&["dedupe", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.contains("3 people"), "{text}");
    assert!(text.contains("would link 1 pairs"), "{text}");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM blocking_keys"),
        0,
        "a dry run writes nothing"
    );
    assert_eq!(
        app.get(&format!("/api/v1/people/{b}"), &officer.token).await.status,
        200
    );

    let (ok, text) = app.cli(&["dedupe"]);
    assert!(ok, "{text}");
    assert!(text.contains("linked 1 pairs (1 people merged)"), "{text}");
    let r = app.get(&format!("/api/v1/people/{b}"), &officer.token).await;
    assert_eq!(r.status, 301, "the newer record now redirects to the older: {}", r.text);
    assert!(r.text.contains(&a), "{}", r.text);
    let r = app.get(&format!("/api/v1/people/{a}"), &officer.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["departments"], json!(["BARB", "OPEN"]), "{}", r.text);
    assert_eq!(
        app.get(&format!("/api/v1/people/{c}"), &officer.token).await.status,
        200
    );
    assert!(
        app.count("SELECT COUNT(*) AS n FROM blocking_keys") > 0,
        "keys were written"
    );
    app.flush_audit();
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'person.merge' AND actor = 'system:dedupe'"),
        1
    );

    // A second pass finds nothing new; the merge can be undone like any other.
    let (ok, text) = app.cli(&["dedupe"]);
    assert!(ok, "{text}");
    assert!(text.contains("2 people"), "{text}");
    assert!(text.contains("linked 0 pairs"), "{text}");
    let r = app
        .post(&format!("/api/v1/people/{a}/unmerge"), &officer.token, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get(&format!("/api/v1/people/{b}"), &officer.token).await.status,
        200
    );
    // Unmerged means "not the same person": the pair is not linked again.
    let (ok, text) = app.cli(&["dedupe"]);
    assert!(ok, "{text}");
    assert!(text.contains("linked 0 pairs"), "{text}");
}

#[actix_web::test]
async fn dedupe_started_over_http_reports_progress_and_runs_one_at_a_time() {
    let app = TestApp::new().await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let admin = app.admin().await;
    let body = json!({"given_name": "Margaret", "family_name": "Featherstonehaugh", "date_of_birth": "1958-07-14", "emails": [{"address": "m.featherstonehaugh@example.org"}], "phones": [{"number": "020 7946 0102"}]});
    let a = app.person(&officer.token, body.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app.person(&officer.token, body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = app.state.pool.get().unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("DELETE FROM match_candidates; DELETE FROM blocking_keys")
        .unwrap();
    drop(conn);
    assert_eq!(app.post("/api/v1/dedupe", &officer.token, json!({})).await.status, 403);
    let r = app.post("/api/v1/dedupe", &admin.token, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut job = r.body.clone();
    for _ in 0..200 {
        if job["status"] == "done" || job["status"] == "failed" {
            break;
        }
        // While it is active, a second start is refused.
        let again = app.post("/api/v1/dedupe", &admin.token, json!({})).await;
        assert!(again.status == 409 || again.status == 202, "{}", again.text);
        if again.status == 202 {
            break; // the first finished in between
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        job = app.get(&format!("/api/v1/dedupe/{id}"), &admin.token).await.body;
    }
    let job = app.get(&format!("/api/v1/dedupe/{id}"), &admin.token).await.body;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["people"], 2, "{job}");
    assert_eq!(job["result"]["links"], 1, "{job}");
    let merged = app.get(&format!("/api/v1/people/{b}"), &officer.token).await;
    assert_eq!(merged.status, 301, "{}", merged.text);
    assert!(merged.text.contains(&a));
    assert_eq!(
        app.get("/api/v1/dedupe/0123456789abcdef0123456789abcdef", &admin.token)
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn the_same_name_and_email_twice_is_proposed_for_review() {
    let app = TestApp::new().await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let body = json!({"given_name": "Priya", "family_name": "Raman", "emails": [{"address": "priya.raman@btinternet.com"}], "departments": ["BARB"]});
    let a = app.person(&officer.token, body.clone()).await;
    let b = app.person(&officer.token, body).await;
    let r = app.get("/api/v1/matches", &officer.token).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    assert_eq!(r.body["items"][0]["a"]["id"], a["id"]);
    assert_eq!(r.body["items"][0]["b"]["id"], b["id"]);
}

#[actix_web::test]
async fn a_proposal_about_someone_dedupe_merges_moves_to_the_survivor() {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let a = id(app
        .person(&officer.token, json!({"given_name": "Margaret", "family_name": "Featherstonehaugh", "date_of_birth": "1958-07-14", "emails": [{"address": "m.featherstonehaugh@btinternet.com"}], "addresses": [{"line1": "12 Wood Street", "postcode": "EC2V 7AN"}], "departments": ["BARB"]}))
        .await);
    let b = id(app
        .person(&officer.token, json!({"given_name": "MARGARET", "family_name": "Featherstonehaugh", "date_of_birth": "1958-07-14", "emails": [{"address": "m.featherstonehaugh@btinternet.com"}], "phones": [{"number": "07700 900321"}], "departments": ["OPEN"]}))
        .await);
    // Only B's mobile ties C to the family, and C is written with an initial: a review.
    let c = id(app
        .person(&officer.token, json!({"given_name": "M.", "family_name": "Featherstonehaugh", "phones": [{"number": "07700 900321"}], "departments": ["OPEN"]}))
        .await);
    let mut conn = app.state.pool.get().unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("DELETE FROM match_candidates; DELETE FROM blocking_keys")
        .unwrap();
    drop(conn);
    let (ok, text) = app.cli(&["dedupe"]);
    assert!(ok, "{text}");
    assert!(text.contains("linked 1 pairs (1 people merged), 1 proposed"), "{text}");
    assert_eq!(
        app.get(&format!("/api/v1/people/{b}"), &officer.token).await.status,
        301
    );
    let r = app.get("/api/v1/matches", &officer.token).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let pair = [&r.body["items"][0]["a"]["id"], &r.body["items"][0]["b"]["id"]];
    assert!(pair.contains(&&json!(a)) && pair.contains(&&json!(c)), "{}", r.text);
    // Idempotent: the pending proposal is scored again and not duplicated.
    let (ok, text) = app.cli(&["dedupe"]);
    assert!(ok, "{text}");
    assert!(text.contains("linked 0 pairs (0 people merged), 0 proposed"), "{text}");
    assert_eq!(app.get("/api/v1/matches", &officer.token).await.body["total"], 1);
}

/// A person's stored blocking keys, and the keys their record gives now (both sorted).
fn stored_and_due_keys(app: &TestApp, public_id: &str) -> (Vec<String>, Vec<String>) {
    use diesel::prelude::*;
    use lighthouse::db::schema::blocking_keys;
    use lighthouse::service::identity::index;
    let mut conn = app.state.pool.get().unwrap();
    let id = lighthouse::db::people::find_by_public_id(&mut conn, public_id)
        .unwrap()
        .unwrap()
        .id;
    let stored: Vec<String> = blocking_keys::table
        .filter(blocking_keys::person_id.eq(id))
        .select(blocking_keys::key)
        .order(blocking_keys::key)
        .load(&mut conn)
        .unwrap();
    let due = index::records_of(&mut conn, &[id])
        .unwrap()
        .first()
        .map(|(_, r)| index::stored_keys(&lighthouse::matching::Prepared::from_record(r)))
        .unwrap_or_default();
    (stored, due)
}

#[actix_web::test]
async fn an_edit_rewrites_exactly_the_blocking_keys_that_changed() {
    let f = fixture().await;
    let (before, due) = stored_and_due_keys(&f.app, &f.b);
    assert_eq!(before, due, "keys as created");
    assert!(!before.is_empty());
    let p = f
        .app
        .get(&format!("/api/v1/people/{}", f.b), &f.officer.token)
        .await
        .body;
    let r = f
        .app
        .patch(
            &format!("/api/v1/people/{}", f.b),
            &f.officer.token,
            json!({"version": p["version"], "family_name": "Smythe", "phones": [{"number": "07700 900999"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (after, due) = stored_and_due_keys(&f.app, &f.b);
    assert_eq!(after, due, "stale keys removed, new ones added");
    assert_ne!(after, before);
    assert!(
        after.iter().any(|k| before.contains(k)),
        "keys that stayed are still there"
    );
    // A person merged into another keeps none.
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/merge", f.a),
            &f.officer.token,
            json!({"merge": [f.b]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (merged, _) = stored_and_due_keys(&f.app, &f.b);
    assert!(merged.is_empty(), "a merged person has no keys: {merged:?}");
}

/// Duplicates often share their address: an unmerge leaves it with both. And a change after the
/// merge that no field provenance records (contact points) moves the version on, so a save made
/// from a read before the unmerge is refused rather than overwriting it.
#[actix_web::test]
async fn unmerge_keeps_a_shared_address_and_a_later_change_moves_the_version_on() {
    let f = fixture().await;
    let t = &f.officer.token;
    let place = json!([{"line1": "2 Guildhall Yard", "postcode": "EC2V 5AE"}]);
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let c = id(f
        .app
        .person(
            t,
            json!({"given_name": "Ann", "family_name": "Lee", "addresses": place, "departments": ["BARB"]}),
        )
        .await);
    let d = id(f
        .app
        .person(
            t,
            json!({"given_name": "Anne", "family_name": "Lee", "addresses": place, "departments": ["BARB"]}),
        )
        .await);
    let r = f
        .app
        .post(&format!("/api/v1/people/{c}/merge"), t, json!({"merge": [d]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let read = f.app.get(&format!("/api/v1/people/{c}"), t).await.body;
    let v = read["version"].clone();
    let r = f
        .app
        .patch(
            &format!("/api/v1/people/{c}"),
            t,
            json!({"version": v, "emails": [{"address": "ann.lee@btinternet.com"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = f.app.post(&format!("/api/v1/people/{c}/unmerge"), t, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for who in [&c, &d] {
        let p = f.app.get(&format!("/api/v1/people/{who}"), t).await.body;
        let lines: Vec<&str> = p["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["line1"].as_str().unwrap())
            .collect();
        assert_eq!(lines, ["2 Guildhall Yard"], "{p}");
    }
    let stale = f
        .app
        .patch(
            &format!("/api/v1/people/{c}"),
            t,
            json!({"version": v, "given_name": "Stale"}),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
}
