//! Merges that follow one another, proposals a merge closed, and merges racing other writers —
//! through HTTP, on SQLite and PostgreSQL.

mod common;

use common::{TestApp, User};
use futures_util::future::join_all;
use lighthouse::service::Role;
use serde_json::{json, Value};

fn id(v: Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// An export without the history tables that legitimately record the round trips.
async fn export(app: &TestApp, dpo: &User, person: &str) -> String {
    serde_json::to_string(&app.export_without_history(&dpo.token, person).await).unwrap()
}

async fn merge(app: &TestApp, user: &User, survivor: &str, merged: &str) {
    let r = app
        .post(
            &format!("/api/v1/people/{survivor}/merge"),
            &user.token,
            json!({"merge": [merged]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn unmerge(app: &TestApp, user: &User, survivor: &str) {
    let r = app
        .post(&format!("/api/v1/people/{survivor}/unmerge"), &user.token, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Where a merged id redirects.
async fn redirect(app: &TestApp, user: &User, person: &str) -> String {
    let r = app.get(&format!("/api/v1/people/{person}"), &user.token).await;
    assert_eq!(r.status, 301, "{}", r.text);
    let location = r.headers.get("location").unwrap().to_str().unwrap().to_string();
    location.rsplit('/').next().unwrap().to_string()
}

#[actix_web::test]
async fn a_chain_of_merges_is_undone_one_merge_at_a_time() {
    let app = TestApp::new().await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let a = id(app
        .person(&officer.token, json!({"given_name": "Ann", "family_name": "Lee", "emails": [{"address": "ann.lee@example.net"}], "departments": ["BARB"]}))
        .await);
    let b = id(app
        .person(&officer.token, json!({"given_name": "Anne", "family_name": "Lee", "phones": [{"number": "07700 900456"}], "departments": ["BARB"]}))
        .await);
    let c = id(app
        .person(&officer.token, json!({"given_name": "A.", "family_name": "Lee", "date_of_birth": "1981-02-03", "addresses": [{"line1": "2 Milk Street", "postcode": "EC2V 8AA"}], "departments": ["BARB"]}))
        .await);
    let before = [
        export(&app, &dpo, &a).await,
        export(&app, &dpo, &b).await,
        export(&app, &dpo, &c).await,
    ];

    merge(&app, &officer, &b, &c).await;
    merge(&app, &officer, &a, &b).await;
    // C followed B to A.
    assert_eq!(redirect(&app, &officer, &c).await, a);

    // Undoing the second merge gives B back with what C brought it, and C points at B again.
    unmerge(&app, &officer, &a).await;
    assert_eq!(redirect(&app, &officer, &c).await, b);
    assert_eq!(export(&app, &dpo, &a).await, before[0]);

    // So the first merge can be undone too, and everyone is as they were.
    unmerge(&app, &officer, &b).await;
    let after = [
        export(&app, &dpo, &a).await,
        export(&app, &dpo, &b).await,
        export(&app, &dpo, &c).await,
    ];
    assert_eq!(after, before);
}

#[actix_web::test]
async fn an_unmerge_puts_back_the_proposals_its_merge_closed() {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    // Two records of one man: proposed for review.
    let p = id(app
        .person(&officer.token, json!({"given_name": "Jon", "family_name": "Smith", "date_of_birth": "1970-03-02", "phones": [{"number": "07700 900123"}], "addresses": [{"line1": "1 London Wall", "postcode": "ec2v7hh"}], "departments": ["BARB"]}))
        .await);
    let q = id(app
        .person(&officer.token, json!({"given_name": "Jonathan", "family_name": "SMITH", "date_of_birth": "1970-03-02", "phones": [{"number": "+44 7700 900123"}], "addresses": [{"line1": "1 London Wall", "postcode": "EC2V 7HH"}], "departments": ["OPEN"]}))
        .await);
    let pending = |app: &TestApp| app.count("SELECT COUNT(*) AS n FROM match_candidates WHERE status = 'pending'");
    assert_eq!(pending(&app), 1);
    let r = id(app
        .person(&officer.token, json!({"given_name": "Ruth", "family_name": "Okafor", "emails": [{"address": "ruth.okafor@example.net"}], "departments": ["OPEN"]}))
        .await);

    // Merging Q into someone else closes the proposal about Q …
    merge(&app, &officer, &r, &q).await;
    assert_eq!(pending(&app), 0);
    // … and undoing that merge puts it back in the queue, as it was.
    unmerge(&app, &officer, &r).await;
    let m = app.get("/api/v1/matches", &officer.token).await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["total"], 1, "{}", m.text);
    let pair = [&m.body["items"][0]["a"]["id"], &m.body["items"][0]["b"]["id"]];
    assert!(pair.contains(&&json!(p)) && pair.contains(&&json!(q)), "{}", m.text);
    assert!(m.body["items"][0]["decided_at"].is_null(), "{}", m.text);
}

#[actix_web::test]
async fn merges_racing_consent_and_engagement_leave_nothing_on_a_merged_record() {
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    let r = app
        .post("/api/v1/purposes", &admin.token, json!({"code": "newsletter", "description": "News", "category": "marketing", "default_lawful_basis": "consent", "wording": "News?"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let mut pairs = Vec::new();
    for i in 0..6 {
        let a = id(app
            .person(
                &officer.token,
                json!({"given_name": "Keep", "family_name": format!("Racer{i}"), "departments": ["BARB"]}),
            )
            .await);
        let b = id(app
            .person(
                &officer.token,
                json!({"given_name": "Gone", "family_name": format!("Racer{i}"), "departments": ["BARB"]}),
            )
            .await);
        pairs.push((a, b));
    }
    // For each pair at once: the merge, a consent and a batch of engagements for the record
    // being merged away.
    let mut requests = Vec::new();
    for (n, (a, b)) in pairs.iter().enumerate() {
        requests.push((format!("/api/v1/people/{a}/merge"), json!({"merge": [b]})));
        requests.push((
            format!("/api/v1/people/{b}/consents"),
            json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "phone_call"}),
        ));
        let events: Vec<Value> = (0..20)
            .map(|k| json!({"person": b, "kind": "event", "department": "BARB", "action": "attended", "occurred_at": "2026-05-01T10:00:00Z", "external_ref": format!("race-{n}-{k}")}))
            .collect();
        requests.push(("/api/v1/engagements/batch".to_string(), json!({"events": events})));
    }
    let calls = requests
        .iter()
        .map(|(path, body)| app.post(path, &officer.token, body.clone()));
    for r in join_all(calls).await {
        // Each either went through before the merge, or found the record merged.
        assert!(
            matches!(r.status.as_u16(), 200 | 201 | 301 | 422 | 503),
            "{} {}",
            r.status,
            r.text
        );
        if r.status == 422 {
            assert!(r.text.contains("unknown_person"), "{}", r.text);
        }
    }
    for (a, b) in &pairs {
        assert_eq!(redirect(&app, &officer, b).await, *a);
    }
    for table in ["consent_events", "engagement_events", "consent_state"] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM {table} t JOIN people p ON p.id = t.person_id WHERE p.status = 'merged'"
            )),
            0,
            "{table} rows left on merged records"
        );
    }
}

/// PostgreSQL: a merge that the database gives up in a lock cycle (as one racing an import chunk
/// can be) is run again and succeeds, instead of answering 503. The cycle is made on purpose:
/// another transaction holds the survivor; the merge locks the merged person and waits for the
/// survivor; that transaction then asks for the merged person, and PostgreSQL cancels the merge
/// (the first to wait).
#[actix_web::test]
async fn a_merge_cancelled_in_a_deadlock_is_run_again() {
    if common::postgres_url().is_none() {
        return;
    }
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    let person = |given: &'static str| {
        app.person(
            &admin.token,
            json!({"given_name": given, "family_name": "Locke", "departments": ["BARB"]}),
        )
    };
    let older = id(person("John").await);
    let survivor = id(person("Jon").await);
    let id_of = |public: &str| app.count(&format!("SELECT id AS n FROM people WHERE public_id = '{public}'"));
    let (merged_id, survivor_id) = (id_of(&older), id_of(&survivor));
    assert!(merged_id < survivor_id, "the merge locks the merged person first");

    let holder = common::PeopleLock::hold(&app, survivor_id, "KEY SHARE");
    let closer = std::thread::spawn(move || {
        holder.wait_for_a_waiter();
        // Closes the cycle; returns once PostgreSQL has cancelled the merge, then lets go.
        holder.take_then_commit(merged_id, "KEY SHARE");
    });
    let r = app
        .post(
            &format!("/api/v1/people/{survivor}/merge"),
            &admin.token,
            json!({"merge": [older]}),
        )
        .await;
    closer.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(redirect(&app, &admin, &older).await, survivor);
}
