//! The second sign-in factor (TOTP) through HTTP: administrators and DPOs cannot complete a
//! sign-in without one (security anchors 12: ASVS 6.3.3), a code is never accepted twice (ASVS
//! 6.5.1), wrong codes count towards the lockout, the secret is never shown again or audited, and
//! turning it off and an administrator's reset.

mod common;

use chrono::Duration;
use common::{TestApp, PASSWORD};
use lighthouse::service::auth::totp;
use lighthouse::service::Role;
use serde_json::{json, Value};

const REQUIRED: (&str, &str) = (
    "LIGHTHOUSE__AUTH__MFA_REQUIRED_ROLES",
    "administrator,data_protection_officer",
);

async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![REQUIRED];
    settings.extend_from_slice(extra);
    TestApp::with_settings(&settings).await
}

/// The code an app holding `key` (base32) shows at the service's clock.
fn code_now(app: &TestApp, key: &str) -> String {
    let secret = totp::base32_decode(key).expect("base32 key");
    totp::code_at(&secret, totp::step_of(app.state.clock.now().and_utc().timestamp()))
}

async fn login(app: &TestApp, email: &str, code: Option<&str>) -> common::Resp {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    app.req("POST", "/api/v1/auth/login", None, Some(body)).await
}

/// Enrol a factor with the session `token`; returns (the key, the new session's token).
async fn enrol(app: &TestApp, token: &str) -> (String, String) {
    let r = app
        .post("/api/v1/auth/totp", token, json!({"current_password": PASSWORD}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_string();
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Data%20Lighthouse:"), "{uri}");
    assert!(uri.contains(&format!("secret={key}")), "{uri}");
    let r = app
        .post("/api/v1/auth/totp/confirm", token, json!({"code": code_now(app, &key)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enrolment_only"], false);
    assert_eq!(r.body["user"]["totp_enabled"], true);
    (key, r.body["token"].as_str().unwrap().to_string())
}

/// A six-digit code that is not `right`.
fn wrong(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// `POST path` with the password and a code.
async fn with_code(app: &TestApp, path: &str, token: &str, code: &str) -> common::Resp {
    app.post(path, token, json!({"current_password": PASSWORD, "code": code}))
        .await
}

/// A service that locks an account after three failures, and a user of `role` who enrolled a
/// factor: (the service, the user, their new session, the code their app shows 30 s later).
async fn enrolled_with_lockout_at_three(role: Role) -> (TestApp, common::User, String, String) {
    let app = app_with(&[("LIGHTHOUSE__AUTH__LOCKOUT_THRESHOLD", "3")]).await;
    let user = app.user(&[role], &[]).await;
    let (key, token) = enrol(&app, &user.token).await;
    app.state.clock.advance(Duration::seconds(30));
    let right = code_now(&app, &key);
    (app, user, token, right)
}

fn problem_code(r: &common::Resp) -> &str {
    r.body["code"].as_str().unwrap_or_default()
}

#[actix_web::test]
async fn an_administrator_cannot_complete_sign_in_without_a_second_factor() {
    let app = app_with(&[]).await;
    let admin = app.admin().await;
    // Signed in with the password alone: a session that can only enrol.
    let first = login(&app, &admin.email, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["enrolment_only"], true);
    let token = first.body["token"].as_str().unwrap().to_string();
    for path in [
        "/api/v1/people",
        "/api/v1/users",
        "/api/v1/auth/tokens",
        "/api/v1/audit",
    ] {
        let r = app.get(path, &token).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        assert_eq!(problem_code(&r), "mfa_enrolment_required", "{path}");
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    }
    let r = app
        .post(
            "/api/v1/auth/tokens",
            &token,
            json!({"label": "sneaky", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let me = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["enrolment_only"], true);
    assert_eq!(me.body["totp_enabled"], false);

    // Enrolling needs the password; a wrong code does not confirm.
    let r = app
        .post(
            "/api/v1/auth/totp",
            &token,
            json!({"current_password": "not the password at all"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app
        .post("/api/v1/auth/totp/confirm", &token, json!({"code": "123456"}))
        .await;
    assert_eq!(r.status, 409, "nothing pending yet: {}", r.text);
    let r = app
        .post("/api/v1/auth/totp", &token, json!({"current_password": PASSWORD}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_string();
    let right = code_now(&app, &key);
    let wrong = wrong(&right);
    let r = app
        .post("/api/v1/auth/totp/confirm", &token, json!({"code": wrong}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "code");
    let r = app
        .post("/api/v1/auth/totp/confirm", &token, json!({"code": right}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let full = r.body["token"].as_str().unwrap().to_string();
    assert!(r.headers.get_all("set-cookie").count() >= 2, "a new session cookie");
    // The enrolment session ended; the new one is a full session.
    assert_eq!(app.get("/api/v1/people", &token).await.status, 401);
    assert_eq!(app.get("/api/v1/people", &full).await.status, 200);

    // From now on the code is asked for at every sign-in.
    let r = login(&app, &admin.email, None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(problem_code(&r), "mfa_required");
    assert!(r.body.get("token").is_none());
    let r = login(&app, &admin.email, Some(wrong)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(problem_code(&r), "mfa_invalid");
    // The confirming code's step is used up: the same code cannot sign in.
    let r = login(&app, &admin.email, Some(&right)).await;
    assert_eq!(r.status, 401, "a code is never accepted twice: {}", r.text);
    app.state.clock.advance(Duration::seconds(30));
    let next = code_now(&app, &key);
    let r = login(&app, &admin.email, Some(&next)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enrolment_only"], false);
    let again = login(&app, &admin.email, Some(&next)).await;
    assert_eq!(again.status, 401, "reused: {}", again.text);
    assert_eq!(problem_code(&again), "mfa_invalid");

    // The secret is never shown again, and never audited.
    let session = r.body["token"].as_str().unwrap().to_string();
    for path in [
        "/api/v1/auth/me".to_string(),
        format!("/api/v1/users/{}", admin.id),
        "/api/v1/users".into(),
    ] {
        let r = app.get(&path, &session).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            !r.text.contains(&key) && !r.text.contains("totp_secret"),
            "{path}: {}",
            r.text
        );
    }
    app.flush_audit();
    let leaked = app.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE detail LIKE '%{key}%' OR detail LIKE '%{next}%'"
    ));
    assert_eq!(leaked, 0);
}

#[actix_web::test]
async fn wrong_codes_count_towards_the_lockout() {
    let (app, dpo, _, right) = enrolled_with_lockout_at_three(Role::DataProtectionOfficer).await;
    let wrong = wrong(&right);
    for _ in 0..3 {
        let r = login(&app, &dpo.email, Some(wrong)).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = login(&app, &dpo.email, Some(&right)).await;
    assert_eq!(r.status, 429, "locked after three wrong codes: {}", r.text);
}

#[actix_web::test]
async fn any_user_may_enrol_and_turn_it_off_and_an_administrator_can_reset_it() {
    let app = app_with(&[]).await;
    // An analyst's role does not require a factor: a full session at once, and one by choice.
    let analyst = app.user(&[Role::Analyst], &[]).await;
    let me = app.get("/api/v1/auth/me", &analyst.token).await;
    assert_eq!(me.body["enrolment_only"], false);
    let (key, token) = enrol(&app, &analyst.token).await;
    assert_eq!(login(&app, &analyst.email, None).await.status, 401);
    // Replacing it (a new phone) needs a code from the current one.
    let r = app
        .post("/api/v1/auth/totp", &token, json!({"current_password": PASSWORD}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "code");
    app.state.clock.advance(Duration::seconds(30));
    let code = code_now(&app, &key);
    let wrong = wrong(&code);
    let r = with_code(&app, "/api/v1/auth/totp/disable", &token, wrong).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = with_code(&app, "/api/v1/auth/totp/disable", &token, &code).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = login(&app, &analyst.email, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["totp_enabled"], false);

    // A DPO who lost their phone: the administrator resets it; the DPO's sessions end and the
    // next sign-in must enrol again.
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let (_, dpo_token) = enrol(&app, &dpo.token).await;
    let admin_session = login(&app, &app.admin().await.email, None).await;
    let admin_token = admin_session.body["token"].as_str().unwrap().to_string();
    let (_, admin_full) = enrol(&app, &admin_token).await;
    let r = app
        .post(
            &format!("/api/v1/users/{}/totp/reset", dpo.id),
            &admin_full,
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app.get("/api/v1/auth/me", &dpo_token).await.status, 401);
    let r = login(&app, &dpo.email, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enrolment_only"], true);
    assert_eq!(r.body["user"]["totp_enabled"], false);
}

#[test]
fn an_unknown_role_in_the_setting_stops_start_up() {
    let settings = lighthouse::config::Settings::from_sources(&lighthouse::config::Sources {
        file: None,
        env: [(
            "LIGHTHOUSE__AUTH__MFA_REQUIRED_ROLES".to_string(),
            "administrator,overlord".to_string(),
        )]
        .into_iter()
        .collect(),
    });
    let err = settings.expect_err("an unknown role");
    assert!(err.to_string().contains("auth.mfa_required_roles"), "{err}");
}

#[actix_web::test]
async fn credentials_from_before_a_factor_was_required_may_only_enrol() {
    let app = app_with(&[]).await;
    let admin_session = login(&app, &app.admin().await.email, None).await;
    let (_, admin) = enrol(&app, admin_session.body["token"].as_str().unwrap()).await;
    // An analyst with a session and an API token, then made an administrator.
    let analyst = app.user(&[Role::Analyst], &[]).await;
    let r = app
        .post(
            "/api/v1/auth/tokens",
            &analyst.token,
            json!({"label": "sync", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let api_token = r.body["token"].as_str().unwrap().to_string();
    let account = app.get(&format!("/api/v1/users/{}", analyst.id), &admin).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{}", analyst.id),
            &admin,
            json!({"version": account.body["version"], "roles": ["administrator"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for token in [&analyst.token, &api_token] {
        let r = app.get("/api/v1/users", token).await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(problem_code(&r), "mfa_enrolment_required");
        assert_eq!(app.get("/api/v1/auth/me", token).await.body["enrolment_only"], true);
    }

    // A DPO who turns the factor off keeps a session that may only enrol again.
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let (key, dpo_token) = enrol(&app, &dpo.token).await;
    app.state.clock.advance(Duration::seconds(30));
    let r = with_code(&app, "/api/v1/auth/totp/disable", &dpo_token, &code_now(&app, &key)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.get("/api/v1/people", &dpo_token).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(problem_code(&r), "mfa_enrolment_required");

    // An administrator cannot reset their own factor (that would skip the password and code).
    let me = app.get("/api/v1/auth/me", &admin).await;
    let r = app
        .post(
            &format!("/api/v1/users/{}/totp/reset", me.body["id"].as_str().unwrap()),
            &admin,
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
}

#[actix_web::test]
async fn wrong_codes_when_replacing_a_factor_count_towards_the_lockout() {
    let (app, _, token, right) = enrolled_with_lockout_at_three(Role::EngagementOfficer).await;
    let wrong = wrong(&right);
    for _ in 0..3 {
        let r = with_code(&app, "/api/v1/auth/totp", &token, wrong).await;
        assert_eq!(r.status, 422, "{}", r.text);
    }
    let r = with_code(&app, "/api/v1/auth/totp", &token, &right).await;
    assert_eq!(r.status, 429, "locked: {}", r.text);
}

const TOTP_KEY: &str = "a test key for the TOTP secrets, 32+ characters";

/// With `auth.totp_key` the secrets are stored encrypted (and bound to their account); secrets
/// stored before the key was set are encrypted at the next start; a start with the wrong key, or
/// none, stops with a message instead of locking the users out unexplained.
#[actix_web::test]
async fn totp_secrets_are_stored_encrypted_under_a_key_kept_outside_the_database() {
    // Enrolled before any key was set: stored as the base32 text.
    let app = app_with(&[]).await;
    let early = app.user(&[Role::Analyst], &[]).await;
    let (early_key, _) = enrol(&app, &early.token).await;
    let plain = format!("SELECT COUNT(*) AS n FROM users WHERE totp_secret = '{early_key}'");
    assert_eq!(app.count(&plain), 1);

    // The service starts again with a key: the stored secret is encrypted, and still works.
    let mut settings = (*app.state.settings).clone();
    settings.auth.totp_key = TOTP_KEY.into();
    let app = TestApp::from_settings(settings.clone()).await;
    assert_eq!(app.count(&plain), 0);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM users WHERE totp_secret LIKE 'enc1:%'"),
        1
    );
    // (The next step's code: the enrolment used this one's.)
    app.state.clock.advance(chrono::Duration::seconds(31));
    let r = login(&app, &early.email, Some(&code_now(&app, &early_key))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Enrolled with the key: the pending and the confirmed secret are never stored as text.
    let later = app.user(&[Role::Analyst], &[]).await;
    let r = app
        .post("/api/v1/auth/totp", &later.token, json!({"current_password": PASSWORD}))
        .await;
    let pending = r.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM users WHERE totp_pending LIKE 'enc1:%' AND totp_pending NOT LIKE '%{pending}%'"
        )),
        1
    );
    let (key, _) = enrol(&app, &later.token).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM users WHERE totp_secret LIKE '%{key}%' OR totp_pending IS NOT NULL"
        )),
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM users WHERE totp_secret LIKE 'enc1:%'"),
        2
    );
    app.state.clock.advance(chrono::Duration::seconds(31));
    let r = login(&app, &later.email, Some(&code_now(&app, &key))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A secret copied into another account's row does not open there: start-up says so.
    let mut conn = app.state.pool.get().unwrap();
    {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!(
            "UPDATE users SET totp_secret = (SELECT totp_secret FROM users WHERE email = '{}') WHERE email = '{}'",
            later.email, early.email
        ))
        .unwrap();
    }
    drop(conn);
    let pool = lighthouse::open_database(&settings).unwrap();
    let err = lighthouse::build_state(settings.clone(), pool)
        .err()
        .expect("a secret that does not open");
    assert!(err.contains("does not open with auth.totp_key"), "{err}");

    // Another key, or none, stops start-up.
    for (other, says) in [
        ("another key, also of at least 32 characters", "does not open"),
        ("", "auth.totp_key is empty"),
    ] {
        let mut s = settings.clone();
        s.auth.totp_key = other.into();
        let pool = lighthouse::open_database(&s).unwrap();
        let err = lighthouse::build_state(s, pool).err().expect("refused");
        assert!(err.contains(says), "{err}");
    }
}
