//! Sign-in, lockout, expiry, logout, CSRF, API tokens and password changes, through HTTP.

mod common;

use actix_web::test::TestRequest;
use chrono::Duration;
use common::{TestApp, PASSWORD};
use lighthouse::service::Role;
use serde_json::json;

/// Sign in through HTTP.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> common::Resp {
    app.req(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

#[actix_web::test]
async fn sign_in_sets_a_secure_session_cookie_and_token() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    assert_eq!(admin.token.len(), 43, "256-bit token");
    let r = sign_in(&app, &admin.email, PASSWORD).await;
    let cookie = r
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-lighthouse_session="))
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_ne!(r.body["token"], admin.token.as_str(), "a new token at every sign-in");
    let me = app.get("/api/v1/auth/me", &admin.token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], admin.email.as_str());
    assert!(me.body.get("password_hash").is_none());
    // Only the hash of the token is stored.
    let stored = app.count(&format!(
        "SELECT COUNT(*) AS n FROM sessions WHERE token_hash = '{}'",
        admin.token
    ));
    assert_eq!(stored, 0);
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let wrong = sign_in(&app, &admin.email, "not the password at all").await;
    let unknown = sign_in(&app, "nobody@example.org", "not the password at all").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(
        wrong.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    // A password is checked exactly as given: no case folding, no truncation.
    let upper = sign_in(&app, &admin.email, &PASSWORD.to_uppercase()).await;
    assert_eq!(upper.status, 401);
}

#[actix_web::test]
async fn lockout_after_repeated_failures_even_with_the_right_password() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__AUTH__LOCKOUT_THRESHOLD", "3")]).await;
    let admin = app.admin().await;
    for _ in 0..3 {
        let r = sign_in(&app, &admin.email, "wrong wrong wrong").await;
        assert_eq!(r.status, 401);
    }
    let locked = sign_in(&app, &admin.email, PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    // Unknown accounts lock the same way, so lockout does not reveal which accounts exist.
    for _ in 0..3 {
        sign_in(&app, "ghost@example.org", "wrong wrong wrong").await;
    }
    let ghost = sign_in(&app, "ghost@example.org", PASSWORD).await;
    assert_eq!(ghost.status, 429);
    assert_eq!(ghost.body, locked.body);
    // After the lockout period the right password works again.
    app.state.clock.advance(Duration::minutes(16));
    let ok = sign_in(&app, &admin.email, PASSWORD).await;
    assert_eq!(ok.status, 200);
}

/// Attempts sent side by side all count: the count is one atomic statement, not a read followed
/// by a write (which let simultaneous guesses overwrite each other's count).
#[actix_web::test]
async fn simultaneous_failures_all_count_towards_the_lockout() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__AUTH__LOCKOUT_THRESHOLD", "4")]).await;
    let admin = app.admin().await;
    let body = json!({"email": admin.email, "password": "wrong wrong wrong"});
    let attempts = (0..4).map(|_| app.req("POST", "/api/v1/auth/login", None, Some(body.clone())));
    for r in futures_util::future::join_all(attempts).await {
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let locked = sign_in(&app, &admin.email, PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
}

/// A wrong current password when changing it counts like a failed sign-in, so a stolen session
/// cannot be used to guess the password without limit.
#[actix_web::test]
async fn a_wrong_current_password_counts_towards_the_lockout() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__AUTH__LOCKOUT_THRESHOLD", "3")]).await;
    let admin = app.admin().await;
    let change = |current: &str| {
        app.post(
            "/api/v1/auth/password",
            &admin.token,
            json!({"current_password": current, "new_password": "a fresh long passphrase"}),
        )
    };
    for _ in 0..3 {
        assert_eq!(change("nope nope nope").await.status, 403);
    }
    assert_eq!(change(PASSWORD).await.status, 429, "locked, even with the right one");
    let login = sign_in(&app, &admin.email, PASSWORD).await;
    assert_eq!(login.status, 429);
    app.state.clock.advance(Duration::minutes(16));
    assert_eq!(change(PASSWORD).await.status, 204);
}

#[actix_web::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.state.clock.advance(Duration::minutes(29));
    assert_eq!(app.get("/api/v1/auth/me", &admin.token).await.status, 200);
    app.state.clock.advance(Duration::minutes(31));
    assert_eq!(
        app.get("/api/v1/auth/me", &admin.token).await.status,
        401,
        "idle for 31 minutes"
    );

    let active = app.login(&admin.email).await;
    for _ in 0..25 {
        app.state.clock.advance(Duration::minutes(29));
        let r = app.get("/api/v1/auth/me", &active.token).await;
        if r.status != 200 {
            assert_eq!(r.status, 401);
            return;
        }
    }
    panic!("an active session outlived the absolute lifetime");
}

#[actix_web::test]
async fn logout_ends_the_session() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let r = app.req("POST", "/api/v1/auth/logout", Some(&admin.token), None).await;
    assert_eq!(r.status, 204);
    assert_eq!(app.get("/api/v1/auth/me", &admin.token).await.status, 401);
    assert_eq!(
        app.req("GET", "/api/v1/auth/me", Some("forged-token"), None)
            .await
            .status,
        401
    );
    assert_eq!(app.req("GET", "/api/v1/auth/me", None, None).await.status, 401);
}

#[actix_web::test]
async fn cookie_sessions_need_the_csrf_header_for_unsafe_requests() {
    let app = TestApp::new().await;
    app.department("BARB");
    let user = app.user(&[Role::EngagementOfficer], &[]).await;
    let get = TestRequest::get()
        .uri("/api/v1/auth/me")
        .insert_header(("cookie", user.cookie.clone()));
    assert_eq!(app.send(get).await.status, 200, "cookie sessions work for reads");
    let body = json!({"given_name": "Ada"}).to_string();
    let no_csrf = TestRequest::post()
        .uri("/api/v1/people")
        .insert_header(("cookie", user.cookie.clone()))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.clone());
    let r = app.send(no_csrf).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM people"), 0, "nothing written");
    let wrong = TestRequest::post()
        .uri("/api/v1/people")
        .insert_header(("cookie", user.cookie.clone()))
        .insert_header(("x-csrf-token", "guess"))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.clone());
    assert_eq!(app.send(wrong).await.status, 403);
    let ok = TestRequest::post()
        .uri("/api/v1/people")
        .insert_header(("cookie", user.cookie.clone()))
        .insert_header(("x-csrf-token", user.csrf.clone()))
        .insert_header(("content-type", "application/json"))
        .set_payload(body);
    assert_eq!(app.send(ok).await.status, 201);
}

#[actix_web::test]
async fn disabling_a_user_ends_their_sessions_and_role_changes_apply_at_once() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let second = app.login(&officer.email).await;
    assert_eq!(app.get("/api/v1/people", &officer.token).await.status, 200);
    let u = app.get(&format!("/api/v1/users/{}", officer.id), &admin.token).await;
    let demote = app
        .patch(
            &format!("/api/v1/users/{}", officer.id),
            &admin.token,
            json!({"version": u.body["version"], "roles": ["analyst"]}),
        )
        .await;
    assert_eq!(demote.status, 200, "{}", demote.text);
    assert_eq!(
        app.get("/api/v1/people", &officer.token).await.status,
        403,
        "demotion applies on the next request"
    );
    let disable = app
        .patch(
            &format!("/api/v1/users/{}", officer.id),
            &admin.token,
            json!({"version": demote.body["version"], "status": "disabled"}),
        )
        .await;
    assert_eq!(disable.status, 200);
    assert_eq!(app.get("/api/v1/auth/me", &officer.token).await.status, 401);
    assert_eq!(app.get("/api/v1/auth/me", &second.token).await.status, 401);
    let relogin = sign_in(&app, &officer.email, PASSWORD).await;
    assert_eq!(relogin.status, 401);
}

#[actix_web::test]
async fn administrators_cannot_give_themselves_roles_or_lock_themselves_out() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let me = format!("/api/v1/users/{}", admin.id);
    let v = app.get(&me, &admin.token).await.body["version"].clone();
    for (body, status) in [
        (
            json!({"version": v, "roles": ["administrator", "data_protection_officer"]}),
            403,
        ),
        (json!({"version": v, "roles": ["analyst"]}), 403),
        (json!({"version": v, "status": "disabled"}), 409),
    ] {
        let r = app.patch(&me, &admin.token, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    assert_eq!(app.get(&me, &admin.token).await.body["roles"], json!(["administrator"]));
    // Another administrator can.
    let other = app.admin().await;
    let r = app
        .patch(
            &me,
            &other.token,
            json!({"version": v, "roles": ["administrator", "data_protection_officer"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[actix_web::test]
async fn api_tokens_work_as_bearer_and_can_be_revoked() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/auth/tokens",
            &admin.token,
            json!({"label": "volunteering sync", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_string();
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/auth/me", &token).await.status, 200);
    let list = app.get("/api/v1/auth/tokens", &admin.token).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert!(list.body[0].get("token").is_none(), "the secret is shown once");
    let too_long = app
        .post(
            "/api/v1/auth/tokens",
            &admin.token,
            json!({"label": "x", "expires_in_days": 10000}),
        )
        .await;
    assert_eq!(too_long.status, 422);
    let del = app
        .req("DELETE", &format!("/api/v1/auth/tokens/{id}"), Some(&admin.token), None)
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(app.get("/api/v1/auth/me", &token).await.status, 401);
}

#[actix_web::test]
async fn password_change_needs_the_current_password_and_a_good_new_one() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let other = app.login(&admin.email).await;
    let wrong = app
        .post(
            "/api/v1/auth/password",
            &admin.token,
            json!({"current_password": "nope nope nope", "new_password": "a fresh long passphrase"}),
        )
        .await;
    assert_eq!(wrong.status, 403);
    let common = app
        .post(
            "/api/v1/auth/password",
            &admin.token,
            json!({"current_password": PASSWORD, "new_password": "password1234"}),
        )
        .await;
    assert_eq!(common.status, 422);
    assert_eq!(common.body["errors"][0]["code"], "common_password");
    let short = app
        .post(
            "/api/v1/auth/password",
            &admin.token,
            json!({"current_password": PASSWORD, "new_password": "elevenchars"}),
        )
        .await;
    assert_eq!(short.status, 422);
    let ok = app
        .post(
            "/api/v1/auth/password",
            &admin.token,
            json!({"current_password": PASSWORD, "new_password": "a fresh long passphrase"}),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert_eq!(
        app.get("/api/v1/auth/me", &admin.token).await.status,
        200,
        "this session stays"
    );
    assert_eq!(
        app.get("/api/v1/auth/me", &other.token).await.status,
        401,
        "other sessions end"
    );
}

#[actix_web::test]
async fn new_accounts_follow_the_password_policy() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let mk = |pw: &str| json!({"email": "new@example.org", "name": "New", "password": pw, "roles": ["analyst"]});
    assert_eq!(
        app.post("/api/v1/users", &admin.token, mk("elevenchars")).await.status,
        422
    );
    assert_eq!(
        app.post("/api/v1/users", &admin.token, mk(&"x".repeat(129)))
            .await
            .status,
        422
    );
    assert_eq!(
        app.post("/api/v1/users", &admin.token, mk("qwertyuiop12")).await.status,
        422
    );
    let ok = app
        .post("/api/v1/users", &admin.token, mk("lowercase only passphrase"))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let dup = app
        .post("/api/v1/users", &admin.token, mk("lowercase only passphrase"))
        .await;
    assert_eq!(dup.status, 409);
    let hash = app.count("SELECT COUNT(*) AS n FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'");
    assert_eq!(hash, 2);
    let editor_without_department = app
        .post("/api/v1/users", &admin.token, json!({"email": "ed@example.org", "name": "Ed", "password": "lowercase only passphrase", "roles": ["department_editor"]}))
        .await;
    assert_eq!(editor_without_department.status, 422);
}

#[actix_web::test]
async fn with_the_session_cache_on_sign_out_revocation_and_disabling_still_apply_at_once() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__AUTH__SESSION_CACHE_SECS", "30")]).await;
    let admin = app.admin().await;
    let user = app.user(&[Role::EngagementOfficer], &[]).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/auth/me", &user.token).await.status, 200);
    }
    // An API token, used (so remembered), then revoked.
    let t = app
        .post(
            "/api/v1/auth/tokens",
            &user.token,
            json!({"label": "sync", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let api = t.body["token"].as_str().unwrap().to_string();
    let tid = t.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/auth/me", &api).await.status, 200);
    let r = app
        .req("DELETE", &format!("/api/v1/auth/tokens/{tid}"), Some(&user.token), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app.get("/api/v1/auth/me", &api).await.status, 401);
    // Disabling the user ends the remembered session too.
    let u = app.get(&format!("/api/v1/users/{}", user.id), &admin.token).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{}", user.id),
            &admin.token,
            json!({"version": u.body["version"], "status": "disabled"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get("/api/v1/auth/me", &user.token).await.status, 401);
    // Signing out.
    assert_eq!(app.get("/api/v1/auth/me", &admin.token).await.status, 200);
    let r = app.req("POST", "/api/v1/auth/logout", Some(&admin.token), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app.get("/api/v1/auth/me", &admin.token).await.status, 401);
}

/// SQLite has one write lock for the whole database. While another connection holds it past the
/// busy timeout, reads still answer (the session's activity, which is a write, is recorded by a
/// later request) and writes get a 503 problem saying to try again, never a 500; nothing is
/// half-written, and once the lock is free the same write goes through.
#[actix_web::test]
async fn a_busy_database_delays_bookkeeping_and_asks_writers_to_retry() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    if common::postgres_url().is_some() {
        // PostgreSQL locks rows, not the database: there is no such wait to time out.
        return;
    }
    let app = TestApp::with_settings(&[("LIGHTHOUSE__DATABASE__BUSY_TIMEOUT_MS", "200")]).await;
    let admin = app.admin().await;
    let person = app
        .person(&admin.token, json!({"given_name": "Ada", "family_name": "Lovelace"}))
        .await;
    let url = format!("/api/v1/people/{}", person["id"].as_str().unwrap());
    let path = app
        .state
        .settings
        .database
        .url
        .trim_start_matches("sqlite://")
        .to_string();
    let mut holder = diesel::sqlite::SqliteConnection::establish(&path).expect("second connection");
    // The session's last activity is now due to be recorded (it is touched once a minute).
    app.state.clock.advance(Duration::minutes(2));
    holder.batch_execute("BEGIN IMMEDIATE").expect("take the write lock");

    let read = app.get(&url, &admin.token).await;
    assert_eq!(read.status, 200, "a read answers while the lock is held: {}", read.text);
    let write = app
        .patch(&url, &admin.token, json!({"version": 1, "given_name": "Augusta"}))
        .await;
    assert_eq!(write.status, 503, "{}", write.text);
    assert_eq!(write.body["type"], "urn:lighthouse:problem:unavailable");
    assert_eq!(write.header("retry-after").as_deref(), Some("1"));
    assert!(write
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/problem+json"));

    holder.batch_execute("COMMIT").expect("release the write lock");
    let unchanged = app.get(&url, &admin.token).await;
    assert_eq!(unchanged.body["given_name"], "Ada", "nothing half-written");
    assert_eq!(unchanged.body["version"], 1);
    let retried = app
        .patch(&url, &admin.token, json!({"version": 1, "given_name": "Augusta"}))
        .await;
    assert_eq!(
        retried.status, 200,
        "the same write goes through once the lock is free: {}",
        retried.text
    );
    assert_eq!(retried.body["version"], 2);
}

#[actix_web::test]
async fn an_administrator_ends_every_session_and_token_of_a_user() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let user = app.user(&[Role::Analyst], &[]).await;
    let second = app.login(&user.email).await;
    let r = app
        .post(
            "/api/v1/auth/tokens",
            &user.token,
            json!({"label": "reports", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let api_token = r.body["token"].as_str().unwrap().to_string();
    for t in [&user.token, &second.token, &api_token] {
        assert_eq!(app.get("/api/v1/auth/me", t).await.status, 200);
    }
    let r = app
        .req(
            "DELETE",
            &format!("/api/v1/users/{}/sessions", user.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    for t in [&user.token, &second.token, &api_token] {
        assert_eq!(app.get("/api/v1/auth/me", t).await.status, 401);
    }
    assert_eq!(
        app.get("/api/v1/auth/me", &admin.token).await.status,
        200,
        "only theirs"
    );
    // They can sign in again.
    assert_eq!(sign_in(&app, &user.email, PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn a_weaker_stored_hash_is_rewritten_at_the_next_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let app = TestApp::new().await;
    let user = app.user(&[Role::Analyst], &[]).await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(
        PASSWORD.as_bytes(),
        &SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap(),
    )
    .unwrap()
    .to_string();
    assert!(weak.contains("m=4096,t=1,p=1"), "{weak}");
    let mut conn = app.state.pool.get().unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        &format!(
            "UPDATE users SET password_hash = '{weak}' WHERE email = '{}'",
            user.email
        ),
    )
    .unwrap();
    drop(conn);
    assert_eq!(sign_in(&app, &user.email, PASSWORD).await.status, 200);
    let rewritten = app.count(&format!(
        "SELECT COUNT(*) AS n FROM users WHERE email = '{}' AND password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'",
        user.email
    ));
    assert_eq!(rewritten, 1, "the stored hash now has the current parameters");
    assert_eq!(sign_in(&app, &user.email, PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn the_longest_password_is_checked_whole_and_failures_are_audited() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let user = app.user(&[Role::Analyst], &[]).await;
    let longest: String = "correct horse battery staple ".repeat(5).chars().take(128).collect();
    assert_eq!(longest.chars().count(), 128);
    let r = app
        .post(
            "/api/v1/auth/password",
            &user.token,
            json!({"current_password": PASSWORD, "new_password": longest}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let longer = format!("{longest}x");
    let signed_in = sign_in(&app, &user.email, &longest).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let token = signed_in.body["token"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/auth/password",
            &token,
            json!({"current_password": longest, "new_password": longer}),
        )
        .await;
    assert_eq!(r.status, 422, "129 characters: {}", r.text);
    // No truncation: the first 72 characters (bcrypt's limit) are not the password.
    let first_72: String = longest.chars().take(72).collect();
    assert_eq!(sign_in(&app, &user.email, &first_72).await.status, 401);
    assert_eq!(sign_in(&app, &user.email, &longest).await.status, 200);
    // Failed sign-ins are in the audit log, against the account and without the password.
    let audit = app
        .get(
            &format!("/api/v1/audit?action=auth.login&target_id={}", user.id),
            &admin.token,
        )
        .await;
    let items = audit.body["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["outcome"] == "failure"), "{}", audit.text);
    assert!(!audit.text.contains(&first_72), "{}", audit.text);
}

async fn accept(app: &TestApp, token: &str, password: &str) -> common::Resp {
    app.req(
        "POST",
        "/api/v1/auth/invitation",
        None,
        Some(json!({"token": token, "password": password})),
    )
    .await
}

#[actix_web::test]
async fn an_invited_user_chooses_their_own_password_once_and_in_time() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let email = "new.starter@example.org";
    let r = app
        .post(
            "/api/v1/users",
            &admin.token,
            json!({"email": email, "name": "New Starter", "roles": ["analyst"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let uid = r.body["id"].as_str().unwrap().to_string();
    let token = r.body["invitation"]["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43, "256 bits");
    assert!(r.body["invitation_expires_at"].is_string(), "{}", r.text);
    // Nobody can sign in to it yet, and only the token's hash is stored.
    assert_eq!(sign_in(&app, email, PASSWORD).await.status, 401);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM users WHERE invite_hash = '{token}'"
        )),
        0
    );
    let shown = app.get(&format!("/api/v1/users/{uid}"), &admin.token).await;
    assert!(shown.body.get("invitation").is_none(), "shown once: {}", shown.text);
    assert!(shown.body["invitation_expires_at"].is_string());

    // The password policy applies; a refused password leaves the link working.
    let weak = accept(&app, &token, "password1234").await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    let ok = accept(&app, &token, PASSWORD).await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    let first = sign_in(&app, email, PASSWORD).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let session = first.body["token"].as_str().unwrap().to_string();
    // Once only.
    let again = accept(&app, &token, "another long passphrase").await;
    assert_eq!(again.status, 410, "{}", again.text);
    assert_eq!(again.body["code"], "gone", "{}", again.text);
    let shown = app.get(&format!("/api/v1/users/{uid}"), &admin.token).await;
    assert!(shown.body["invitation_expires_at"].is_null(), "{}", shown.text);
    assert_eq!(accept(&app, "no-such-token", PASSWORD).await.status, 410);

    // A new link replaces the last one; accepting it ends the account's sessions.
    let issue = || async {
        let r = app
            .post(&format!("/api/v1/users/{uid}/invitation"), &admin.token, json!({}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["token"].as_str().unwrap().to_string()
    };
    let replaced = issue().await;
    let newest = issue().await;
    assert_eq!(accept(&app, &replaced, "a replaced passphrase").await.status, 410);
    assert_eq!(accept(&app, &newest, "a brand new passphrase").await.status, 204);
    assert_eq!(app.get("/api/v1/auth/me", &session).await.status, 401);
    assert_eq!(sign_in(&app, email, "a brand new passphrase").await.status, 200);
    let own = app
        .post(
            &format!("/api/v1/users/{}/invitation", admin.id),
            &admin.token,
            json!({}),
        )
        .await;
    assert_eq!(own.status, 409, "{}", own.text);

    // A link stops working after auth.invitation_hours (24).
    let late = issue().await;
    app.state.clock.advance(Duration::hours(25));
    let r = accept(&app, &late, "too late a passphrase").await;
    assert_eq!(r.status, 410, "{}", r.text);
    assert!(r.text.contains("expired"), "{}", r.text);
    assert_eq!(sign_in(&app, email, "a brand new passphrase").await.status, 200);

    // Audited, never with the token.
    let admin = app.login(&admin.email).await;
    app.flush_audit();
    let audit = app.get(&format!("/api/v1/audit?target_id={uid}"), &admin.token).await;
    for action in ["user.create", "user.invite", "user.invitation_accept"] {
        assert!(audit.text.contains(action), "{action}: {}", audit.text);
    }
    for t in [&token, &replaced, &newest, &late] {
        assert!(!audit.text.contains(t.as_str()));
    }
}

/// Security anchor 8: a wrong password for an account that exists and any password for one that
/// does not get the same answer in the same time (an unknown email is verified against a dummy
/// hash). Sign-ins go in pairs, one of each, each first in every other pair, so whatever else the
/// machine is doing falls on both alike; the median of the pairs' differences must be within 10 %
/// of the median sign-in. (The hash's own time is bimodal here — about 15 or 24 ms on PostgreSQL,
/// whichever the account — so medians of the two sides taken apart flip between the modes.) A
/// round disturbed by the rest of the suite is measured again, up to three rounds; without the
/// dummy verification every round differs by most of a sign-in.
#[actix_web::test]
async fn a_sign_in_takes_as_long_and_answers_the_same_whether_or_not_the_account_exists() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__AUTH__LOCKOUT_THRESHOLD", "100000")]).await;
    let user = app.user(&[Role::Analyst], &[]).await;
    let attempt = |email: String| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            let r = app
                .req(
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"email": email, "password": "not the password at all"})),
                )
                .await;
            (started.elapsed().as_secs_f64(), r)
        }
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (mut differences, mut all) = (Vec::new(), Vec::new());
        for i in 0..40 {
            let ((t1, r1), (t2, r2)) = if i % 2 == 0 {
                let known = attempt(user.email.clone()).await;
                (known, attempt(format!("nobody-{i}@example.org")).await)
            } else {
                let unknown = attempt(format!("nobody-{i}@example.org")).await;
                (attempt(user.email.clone()).await, unknown)
            };
            assert_eq!(r1.status, 401, "{}", r1.text);
            assert_eq!((r1.status, &r1.text), (r2.status, &r2.text), "the same answer");
            differences.push(t1 - t2);
            all.extend([t1, t2]);
        }
        let (d, m) = (median(differences), median(all));
        rounds.push(format!(
            "median sign-in {:.1} ms, median of known − unknown {:+.1} ms",
            m * 1e3,
            d * 1e3
        ));
        if d.abs() < 0.10 * m {
            return;
        }
    }
    panic!("an existing account's sign-in takes 10 % longer or shorter in every round: {rounds:?}");
}
