//! Anti-automation on costly actions (ASVS 2.4.1): past a user's hourly limit, 429 and a
//! `rate_limited` audit event; the limit is per user and counts the last hour only.

mod common;

use chrono::Duration;
use common::TestApp;
use lighthouse::service::Role;
use serde_json::json;

#[actix_web::test]
async fn exports_and_uploads_past_the_hourly_limit_are_refused_and_audited() {
    let app = TestApp::with_settings(&[
        ("LIGHTHOUSE__PRIVACY__EXPORTS_PER_HOUR", "2"),
        ("LIGHTHOUSE__IMPORTS__UPLOADS_PER_HOUR", "1"),
    ])
    .await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let other = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let person = app
        .person(&officer.token, json!({"given_name": "Ada", "family_name": "Lovelace"}))
        .await;
    let url = format!("/api/v1/people/{}/export", person["id"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(app.get(&url, &dpo.token).await.status, 200);
    }
    let refused = app.get(&url, &dpo.token).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.body["code"], "too_many_requests", "{}", refused.text);
    assert_eq!(
        refused.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(app.get(&url, &other.token).await.status, 200, "per user");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'rate_limited' AND outcome = 'denied'"),
        1
    );
    app.state.clock.advance(Duration::minutes(61));
    let dpo = app.login(&dpo.email).await;
    assert_eq!(app.get(&url, &dpo.token).await.status, 200, "an hour later");
    let officer = app.login(&officer.email).await;

    let upload = |name: &'static str| {
        let req = actix_web::test::TestRequest::post()
            .uri(&format!("/api/v1/imports?department=BARB&file_name={name}"))
            .insert_header(("authorization", format!("Bearer {}", officer.token)))
            .insert_header(("content-type", "text/csv"))
            .set_payload("Forename,Surname\nAda,Lovelace\n");
        app.send(req)
    };
    assert_eq!(upload("a.csv").await.status, 201);
    let second = upload("b.csv").await;
    assert_eq!(second.status, 429, "{}", second.text);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM import_batches"),
        1,
        "nothing stored"
    );
}
