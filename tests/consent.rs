//! The consent ledger through HTTP: purposes, events, derived state, history and the contact check.

mod common;

use common::{TestApp, User};
use lighthouse::service::Role;
use serde_json::{json, Value};

async fn setup() -> (TestApp, User, String) {
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    for (code, category, basis) in [
        ("newsletter", "marketing", "consent"),
        ("events", "marketing", "legitimate_interests"),
        ("service", "service", "public_task"),
        ("volunteering", "service", "consent"),
    ] {
        let mut body = json!({"code": code, "description": format!("{code} messages"), "category": category, "default_lawful_basis": basis, "wording": "May we email you about what is on?"});
        if basis == "public_task" {
            body["statutory_reference"] = json!("Local Government Act 1972, s. 111");
        }
        let r = app.post("/api/v1/purposes", &admin.token, body).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let p = app
        .person(&officer.token, json!({"given_name": "Cleo", "emails": [{"address": "cleo@example.org"}, {"address": "cleo.work@example.com"}], "phones": [{"number": "07700 900321"}], "addresses": [{"line1": "2 Guildhall Yard", "postcode": "EC2V 5AE"}], "departments": ["BARB"]}))
        .await;
    (app, officer, p["id"].as_str().unwrap().to_string())
}

async fn consent(app: &TestApp, u: &User, id: &str, body: Value) -> Value {
    let r = app.post(&format!("/api/v1/people/{id}/consents"), &u.token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn check(app: &TestApp, u: &User, id: &str, purpose: &str, channel: &str, address: Option<&str>) -> Value {
    let r = app
        .post(
            &format!("/api/v1/people/{id}/contact-check"),
            &u.token,
            json!({"purpose": purpose, "channel": channel, "address": address}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[actix_web::test]
async fn purposes_have_versioned_wordings() {
    let (app, _, _) = setup().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/purposes/newsletter/wordings",
            &admin.token,
            json!({"text": "Version two of the wording"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["wordings"][1]["version"], 2);
    let dup = app.post("/api/v1/purposes", &admin.token, json!({"code": "newsletter", "description": "x", "category": "marketing", "default_lawful_basis": "consent"})).await;
    assert_eq!(dup.status, 409);
    let bad = app
        .post(
            "/api/v1/purposes",
            &admin.token,
            json!({"code": "News Letter", "description": "x", "category": "spam", "default_lawful_basis": "consent"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let list = app.get("/api/v1/purposes", &admin.token).await;
    assert_eq!(list.body.as_array().unwrap().len(), 4);
    // A public task or legal obligation names the law behind it (UK GDPR Art. 6(3)); no other
    // basis does.
    let events = "/api/v1/purposes/events";
    let bare = app
        .patch(events, &admin.token, json!({"default_lawful_basis": "public_task"}))
        .await;
    assert_eq!(bare.status, 422, "{}", bare.text);
    assert_eq!(bare.body["errors"][0]["field"], "statutory_reference");
    let patched = app
        .patch(
            events,
            &admin.token,
            json!({"default_lawful_basis": "public_task", "statutory_reference": "Local Government Act 1972, s. 144"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["default_lawful_basis"], "public_task");
    assert_eq!(patched.body["statutory_reference"], "Local Government Act 1972, s. 144");
    let back = app
        .patch(events, &admin.token, json!({"default_lawful_basis": "consent"}))
        .await;
    assert!(
        back.body["statutory_reference"].is_null(),
        "dropped with the basis: {}",
        back.text
    );
    let stray = app
        .post(
            "/api/v1/purposes",
            &admin.token,
            json!({"code": "fair", "description": "x", "category": "marketing", "default_lawful_basis": "consent", "statutory_reference": "Some Act"}),
        )
        .await;
    assert_eq!(stray.status, 422, "{}", stray.text);
    assert_eq!(stray.body["errors"][0]["code"], "not_applicable");
    let duty = app
        .post(
            "/api/v1/purposes",
            &admin.token,
            json!({"code": "electoral", "description": "Electoral registration", "category": "service", "default_lawful_basis": "legal_obligation"}),
        )
        .await;
    assert_eq!(duty.status, 422, "{}", duty.text);
    assert_eq!(duty.body["errors"][0]["code"], "required");
}

#[actix_web::test]
async fn latest_event_wins_withdrawal_wins_ties_and_expiry_shows() {
    let (app, officer, id) = setup().await;
    let grant = |at: &str| json!({"purpose": "newsletter", "channel": "email", "status": "granted", "capture_method": "web_checkbox", "wording_version": 1, "captured_at": at});
    consent(&app, &officer, &id, grant("2026-01-01T10:00:00Z")).await;
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "email", None).await["allowed"],
        true
    );
    consent(&app, &officer, &id, json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "phone_call", "captured_at": "2026-02-01T10:00:00Z"})).await;
    let c = check(&app, &officer, &id, "newsletter", "email", None).await;
    assert_eq!(c["allowed"], false);
    assert_eq!(c["reason"], "withdrawn");
    // An older grant arriving late is kept in the history but does not change the state.
    consent(&app, &officer, &id, grant("2026-01-15T10:00:00Z")).await;
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "email", None).await["reason"],
        "withdrawn"
    );
    // At the same capture time a withdrawal beats a grant, whatever the order recorded.
    consent(&app, &officer, &id, grant("2026-03-01T10:00:00Z")).await;
    consent(&app, &officer, &id, json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "letter", "captured_at": "2026-03-01T10:00:00Z"})).await;
    consent(&app, &officer, &id, grant("2026-03-01T10:00:00Z")).await;
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "email", None).await["reason"],
        "withdrawn"
    );
    // Expiry turns a grant into "expired".
    consent(&app, &officer, &id, json!({"purpose": "newsletter", "channel": "email", "status": "granted", "capture_method": "web_checkbox", "wording_version": 1, "captured_at": "2026-04-01T10:00:00Z", "expires_at": "2026-05-01T00:00:00Z"})).await;
    let r = app.get(&format!("/api/v1/people/{id}/consents"), &officer.token).await;
    assert_eq!(r.body["state"][0]["status"], "expired", "{}", r.text);
    assert_eq!(r.body["history"].as_array().unwrap().len(), 7, "every event kept");
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "email", None).await["reason"],
        "expired"
    );
}

#[actix_web::test]
async fn consent_is_per_channel_and_per_contact_point() {
    let (app, officer, id) = setup().await;
    consent(&app, &officer, &id, json!({"purpose": "newsletter", "channel": "email", "contact_point": "Cleo.Work@Example.com", "status": "granted", "capture_method": "web_checkbox", "wording_version": 1})).await;
    assert_eq!(
        check(
            &app,
            &officer,
            &id,
            "newsletter",
            "email",
            Some("cleo.work@example.com")
        )
        .await["allowed"],
        true
    );
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "email", Some("cleo@example.org")).await["reason"],
        "no_consent"
    );
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "sms", None).await["reason"],
        "no_consent"
    );
    assert_eq!(
        check(&app, &officer, &id, "newsletter", "email", Some("stranger@example.org")).await["reason"],
        "no_address"
    );
    // A later channel-wide withdrawal covers every address.
    consent(
        &app,
        &officer,
        &id,
        json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "letter"}),
    )
    .await;
    assert_eq!(
        check(
            &app,
            &officer,
            &id,
            "newsletter",
            "email",
            Some("cleo.work@example.com")
        )
        .await["reason"],
        "withdrawn"
    );
    // Service messages on a public-task basis need no consent; an objection stops them.
    assert_eq!(
        check(&app, &officer, &id, "service", "email", None).await["allowed"],
        true
    );
    assert_eq!(
        check(&app, &officer, &id, "volunteering", "email", None).await["reason"],
        "no_consent"
    );
    assert_eq!(
        check(&app, &officer, &id, "events", "post", None).await["reason"],
        "default_basis"
    );
    consent(&app, &officer, &id, json!({"purpose": "service", "channel": "email", "status": "refused", "capture_method": "letter", "evidence": "Art 21 objection letter"})).await;
    assert_eq!(
        check(&app, &officer, &id, "service", "email", None).await["reason"],
        "refused"
    );
}

#[actix_web::test]
async fn bad_consent_events_are_refused_with_reasons() {
    let (app, officer, id) = setup().await;
    let url = format!("/api/v1/people/{id}/consents");
    let cases = [
        (
            json!({"purpose": "nope", "channel": "email", "status": "granted", "capture_method": "x", "evidence": "e"}),
            "purpose",
        ),
        (
            json!({"purpose": "newsletter", "channel": "email", "status": "granted", "capture_method": "x"}),
            "wording_version",
        ),
        (
            json!({"purpose": "newsletter", "channel": "email", "status": "granted", "capture_method": "x", "wording_version": 9}),
            "wording_version",
        ),
        (
            json!({"purpose": "newsletter", "channel": "email", "contact_point": "someone@else.org", "status": "withdrawn", "capture_method": "x"}),
            "contact_point",
        ),
        (
            json!({"purpose": "newsletter", "channel": "post", "contact_point": "x", "status": "withdrawn", "capture_method": "x"}),
            "contact_point",
        ),
        (
            json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "x", "source": "unsubscribe"}),
            "source",
        ),
        (
            json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "x", "captured_at": "2999-01-01T00:00:00Z"}),
            "captured_at",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&url, &officer.token, body).await;
        assert_eq!(r.status, 422, "{field}: {}", r.text);
        assert!(
            r.body["errors"].as_array().unwrap().iter().any(|e| e["field"] == field),
            "{field}: {}",
            r.text
        );
    }
    let r = app
        .post(
            &url,
            &officer.token,
            json!({"purpose": "newsletter", "channel": "fax", "status": "granted", "capture_method": "x"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM consent_events"), 0);
    let editor = app.user(&[Role::DepartmentEditor], &["BARB"]).await;
    app.department("OPEN");
    let other = app
        .person(&officer.token, json!({"given_name": "Otto", "departments": ["OPEN"]}))
        .await;
    let r = app
        .post(
            &format!("/api/v1/people/{}/consents", other["id"].as_str().unwrap()),
            &editor.token,
            json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "x"}),
        )
        .await;
    assert_eq!(r.status, 404, "out of scope");
}

#[actix_web::test]
async fn the_ledger_is_audited_and_shows_provenance() {
    let (app, officer, id) = setup().await;
    let ev = consent(&app, &officer, &id, json!({"purpose": "events", "channel": "phone", "status": "granted", "lawful_basis": "legitimate_interests", "capture_method": "phone_call", "source": "web_form", "source_ref": "form-77", "evidence": "Asked at the Barbican box office"})).await;
    assert_eq!(ev["lawful_basis"], "legitimate_interests");
    assert_eq!(ev["source"], "web_form");
    assert_eq!(ev["source_ref"], "form-77");
    let admin = app.admin().await;
    app.get(&format!("/api/v1/people/{id}/consents"), &officer.token).await;
    let check = app
        .post(
            &format!("/api/v1/people/{id}/contact-check"),
            &officer.token,
            json!({"purpose": "events", "channel": "phone"}),
        )
        .await;
    assert_eq!(check.status, 200, "{}", check.text);
    app.flush_audit();
    let audit = app.get(&format!("/api/v1/audit?target_id={id}"), &admin.token).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"consent.record") && actions.contains(&"consent.read") && actions.contains(&"consent.check"),
        "{actions:?}"
    );
}
