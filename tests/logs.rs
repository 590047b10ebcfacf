//! What the service writes to its log while people sign in, enrol a second factor, import a list
//! and follow an unsubscribe link (security anchor 63, ASVS 16.2.5): no password, session or
//! CSRF token, TOTP secret, unsubscribe token or email address, in any form the log could hold
//! them. Its own test binary: the log is captured by a process-wide subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{TestApp, PASSWORD};
use lighthouse::service::auth::totp;
use lighthouse::service::Role;
use serde_json::json;

/// Everything written to the log, as the service's `text` format writes it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

#[actix_web::test]
async fn the_log_holds_no_password_token_secret_or_email() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let app = TestApp::new().await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &["BARB"]).await;
    // Wrong passwords, for a known account and an unknown one.
    let wrong = "a wrong but long passphrase";
    for email in [officer.email.as_str(), "nobody.here@example.org"] {
        let r = app
            .req(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": wrong})),
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // A second factor: enrolled, then used to sign in.
    let r = app
        .post(
            "/api/v1/auth/totp",
            &officer.token,
            json!({"current_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_string();
    let secret = totp::base32_decode(&key).expect("base32 key");
    let step = totp::step_of(app.state.clock.now().and_utc().timestamp());
    let r = app
        .post(
            "/api/v1/auth/totp/confirm",
            &officer.token,
            json!({"code": totp::code_at(&secret, step)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let confirmed_token = r.body["token"].as_str().unwrap().to_string();
    app.state.clock.advance(chrono::Duration::seconds(30));
    let code = totp::code_at(&secret, step + 1);
    let r = app
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": officer.email, "password": PASSWORD, "totp": code})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = r.body["token"].as_str().unwrap().to_string();
    let csrf = r.body["csrf_token"].as_str().unwrap().to_string();
    // A list with people's emails in it, and a search by one.
    let imported = "imported.person@btinternet.com";
    let csv = format!("Forename,Surname,Email\nIda,Imported,{imported}\n");
    let r = app
        .send(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/imports?department=BARB&file_name=list.csv")
                .insert_header(("authorization", format!("Bearer {session}")))
                .insert_header(("content-type", "text/csv"))
                .set_payload(csv),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(&format!("/api/v1/imports/{id}/dry-run"), &session, json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let r = app
        .post("/api/v1/people/search", &session, json!({"q": imported}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An unsubscribe link, followed (whether or not it is still good, its token is in the path).
    let unsubscribe = "UnsubscribeTokenThatMustNotBeLogged0123456789";
    let r = app.req("GET", &format!("/u/{unsubscribe}"), None, None).await;
    assert!(r.status.is_client_error() || r.status.is_success(), "{}", r.status);
    let r = app.req("POST", &format!("/u/{unsubscribe}"), None, None).await;
    assert!(r.status.is_client_error() || r.status.is_success(), "{}", r.status);
    // Let the import's worker finish, so whatever it logs is in too.
    for _ in 0..200 {
        let r = app.get(&format!("/api/v1/imports/{id}"), &session).await;
        if r.body["status"] != "analysing" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.flush_audit();

    let text = log.text();
    assert!(
        text.contains("route=/u/{token}"),
        "requests are logged by route: {text}"
    );
    let user_part = officer.email.split('@').next().unwrap_or_default().to_string();
    for (what, value) in [
        ("the password", PASSWORD),
        ("a wrong password", wrong),
        ("the TOTP key", key.as_str()),
        ("the first session token", officer.token.as_str()),
        ("the confirming session token", confirmed_token.as_str()),
        ("the session token", session.as_str()),
        ("the CSRF token", csrf.as_str()),
        ("the unsubscribe token", unsubscribe),
        ("a user's email", officer.email.as_str()),
        ("a user's email (its local part)", user_part.as_str()),
        ("an unknown email", "nobody.here"),
        ("an imported email", "imported.person"),
    ] {
        assert!(!value.is_empty());
        assert!(
            !text.to_lowercase().contains(&value.to_lowercase()),
            "{what} is in the log:\n{text}"
        );
    }
}
