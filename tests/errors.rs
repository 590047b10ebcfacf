//! Bad input gets a clear problem+json answer: never a 500, a panic or a partial write.

mod common;

use actix_web::test::TestRequest;
use common::TestApp;
use lighthouse::service::Role;
use serde_json::json;

fn raw(token: &str, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> TestRequest {
    TestRequest::default()
        .method(method.parse().unwrap())
        .uri(uri)
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", content_type.to_string()))
        .set_payload(body)
}

#[actix_web::test]
async fn malformed_and_hostile_bodies_get_4xx_problems() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__SERVER__JSON_LIMIT_BYTES", "4096")]).await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let t = &officer.token;
    let cases: Vec<(TestRequest, u16, &str)> = vec![
        (
            raw(t, "POST", "/api/v1/people", "application/json", b"{not json".to_vec()),
            400,
            "malformed_json",
        ),
        (
            raw(t, "POST", "/api/v1/people", "application/json", b"".to_vec()),
            400,
            "malformed_json",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "application/json",
                br#"{"given_name": "A"} x"#.to_vec(),
            ),
            400,
            "malformed_json",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "application/json",
                br#"{"given_name": "A\u0000B"} x"#.to_vec(),
            ),
            422,
            "validation_failed",
        ),
        (
            raw(t, "POST", "/api/v1/people", "application/json", b"[1,2,3]".to_vec()),
            422,
            "validation_failed",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "application/json",
                br#"{"given_name": 5}"#.to_vec(),
            ),
            422,
            "validation_failed",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "application/json",
                br#"{"id": "x", "given_name": "A"}"#.to_vec(),
            ),
            422,
            "validation_failed",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "application/json",
                br#"{"emails": [{"address": 1}]}"#.to_vec(),
            ),
            422,
            "validation_failed",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "application/json",
                br#"{"date_of_birth": "31/12/1980"}"#.to_vec(),
            ),
            422,
            "validation_failed",
        ),
        (
            raw(
                t,
                "POST",
                "/api/v1/people",
                "text/plain",
                br#"{"given_name": "A"}"#.to_vec(),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            raw(t, "POST", "/api/v1/people", "application/xml", b"<a/>".to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            raw(t, "POST", "/api/v1/people", "application/json", vec![b' '; 5000]),
            413,
            "payload_too_large",
        ),
        (
            raw(t, "POST", "/api/v1/people", "application/json", vec![0xff, 0xfe, 0x00]),
            400,
            "malformed_json",
        ),
        (
            raw(t, "GET", "/api/v1/people?limit=-1", "application/json", vec![]),
            422,
            "validation_failed",
        ),
        (
            raw(
                t,
                "GET",
                "/api/v1/people?limit=99999999999999999999",
                "application/json",
                vec![],
            ),
            400,
            "invalid_query",
        ),
        (
            raw(t, "GET", "/api/v1/people?offset=1&offset=2", "application/json", vec![]),
            400,
            "invalid_query",
        ),
        (
            raw(t, "GET", "/api/v1/nowhere", "application/json", vec![]),
            404,
            "not_found",
        ),
        (
            raw(t, "TRACE", "/api/v1/people", "application/json", vec![]),
            405,
            "method_not_allowed",
        ),
        (
            raw(
                t,
                "DELETE",
                "/api/v1/people/0123456789abcdef0123456789abcdef",
                "application/json",
                vec![],
            ),
            405,
            "method_not_allowed",
        ),
        (
            raw(
                t,
                "PATCH",
                "/api/v1/people/0123456789abcdef0123456789abcdef",
                "application/json",
                br#"{"version": 1}"#.to_vec(),
            ),
            404,
            "not_found",
        ),
    ];
    for (req, status, code) in cases {
        let r = app.send(req).await;
        assert_eq!(r.status, status, "{code}: {}", r.text);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            r.text
        );
        assert_eq!(r.body["code"], code, "{}", r.text);
        assert_eq!(r.body["type"], format!("urn:lighthouse:problem:{code}").as_str());
        assert_eq!(r.body["status"], status);
        assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));
        assert!(
            !r.text.to_lowercase().contains("diesel") && !r.text.contains("sqlite"),
            "{}",
            r.text
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM people"), 0, "no partial writes");
}

/// A NUL character in any text, path or query value, and a time outside 1900–9999, are refused
/// naming where they are: PostgreSQL can store neither, so they must never reach it (a 500 there
/// and not on SQLite).
#[actix_web::test]
async fn nul_characters_and_out_of_range_times_are_refused_by_name() {
    let app = TestApp::new().await;
    app.department("OPEN");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let t = &officer.token;
    let json_cases = [
        ("/api/v1/people", json!({"given_name": "A\u{0}B"}), "given_name"),
        (
            "/api/v1/people",
            json!({"given_name": "A", "emails": [{"address": "a\u{0}@example.org"}]}),
            "emails[0].address",
        ),
        (
            "/api/v1/activities",
            json!({"kind": "event", "title": "Fair", "department": "OPEN", "place": "\u{0}"}),
            "place",
        ),
    ];
    for (path, body, field) in json_cases {
        let r = app.post(path, t, body).await;
        assert_eq!(r.status, 422, "{path}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
        assert_eq!(r.body["errors"][0]["code"], "control_characters", "{}", r.text);
    }
    // Signing in is public: the same answer, before any look-up.
    let r = app
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "a\u{0}b@example.org", "password": "x"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "email");
    // An escaped backslash before `u0000` is text, not a NUL.
    let r = app
        .send(raw(
            t,
            "POST",
            "/api/v1/activities",
            "application/json",
            br#"{"kind": "event", "title": "Back\\u0000slash", "department": "OPEN"}"#.to_vec(),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["title"], "Back\\u0000slash");
    for (uri, field) in [
        ("/api/v1/activities/%00", "path"),
        ("/api/v1/people?tag=%00", "query"),
        ("/api/v1/activities?kind=a%00b", "query"),
    ] {
        let r = app.get(uri, t).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text);
        assert_eq!(r.body["code"], "control_characters", "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    // Times: in query strings (where chrono would overflow in the journeys' arithmetic) and in
    // bodies; a bad query value names its parameter.
    for (uri, field) in [
        ("/api/v1/journeys/transitions?to=-262143-01-01T00:00:00Z", "to"),
        ("/api/v1/journeys/funnel?to=%2B262142-12-31T00:00:00Z", "to"),
        ("/api/v1/journeys/cohorts?from=1899-12-31T23:59:59Z", "from"),
        ("/api/v1/activities?from=-5000-01-01T00:00:00Z", "from"),
        ("/api/v1/people?limit=abc", "limit"),
    ] {
        let r = app.get(uri, t).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_query", "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let person = app
        .person(t, json!({"given_name": "Ada", "departments": ["OPEN"]}))
        .await;
    let r = app
        .post(
            "/api/v1/engagements",
            t,
            json!({"person": person["id"], "kind": "event", "action": "attended", "department": "OPEN",
                "occurred_at": "-5000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "occurred_at", "{}", r.text);
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("out of range"));
    // Shifts: a bounded number, none with a negative capacity.
    let shift = json!({"starts_at": "2026-01-01T10:00:00Z", "ends_at": "2026-01-01T12:00:00Z", "capacity": -1});
    let r = app
        .post(
            "/api/v1/activities",
            t,
            json!({"kind": "volunteering", "title": "Litter pick", "department": "OPEN", "shifts": [shift]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "shifts[0].capacity", "{}", r.text);
    let many = vec![json!({"starts_at": "2026-01-01T10:00:00Z", "ends_at": "2026-01-01T12:00:00Z"}); 1001];
    let r = app
        .post(
            "/api/v1/activities",
            t,
            json!({"kind": "volunteering", "title": "Litter pick", "department": "OPEN", "shifts": many}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["code"], "too_many", "{}", r.text);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM activity_shifts"), 0);
}

#[actix_web::test]
async fn field_errors_carry_the_json_path() {
    let app = TestApp::new().await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let r = app
        .post(
            "/api/v1/people",
            &officer.token,
            json!({"given_name": "A", "phones": [{"number": "07700900123", "label": "pager"}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "phones[0].label", "{}", r.text);
    let r = app
        .post(
            "/api/v1/people",
            &officer.token,
            json!({"given_name": "A", "unknown_field": 1}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown_field"));
}

#[actix_web::test]
async fn responses_carry_security_headers_and_request_ids() {
    let app = TestApp::new().await;
    let r = app
        .send(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("x-request-id", "abc-123")),
        )
        .await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("abc-123"));
    let r = app
        .send(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("x-request-id", "bad id\twith junk")),
        )
        .await;
    assert_ne!(r.header("x-request-id").as_deref(), Some("bad id\twith junk"));
    let r = app.req("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!(r.status, 401);
    for h in [
        "x-content-type-options",
        "content-security-policy",
        "referrer-policy",
        "strict-transport-security",
        "x-request-id",
    ] {
        assert!(r.header(h).is_some(), "{h} missing on a 401");
    }
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // No banner naming the server or its version.
    assert!(r.header("server").is_none(), "{:?}", r.header("server"));
    // No cross-origin access: a preflight from another origin is not granted, nor is a read.
    let admin = app.admin().await;
    let preflight = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/people")
                .insert_header(("origin", "https://evil.example"))
                .insert_header(("access-control-request-method", "POST")),
        )
        .await;
    assert!(preflight.status.as_u16() >= 400, "{}", preflight.status);
    assert!(preflight.header("access-control-allow-origin").is_none());
    let read = app
        .send(
            TestRequest::get()
                .uri("/api/v1/people")
                .insert_header(("origin", "https://evil.example"))
                .insert_header(("authorization", format!("Bearer {}", admin.token))),
        )
        .await;
    assert_eq!(read.status, 200);
    assert!(read.header("access-control-allow-origin").is_none());
    assert!(read.header("access-control-allow-credentials").is_none());
}

#[actix_web::test]
async fn a_database_fault_is_a_generic_500_and_the_service_carries_on() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    assert_eq!(app.get("/api/v1/purposes", &admin.token).await.status, 200);
    // Break the database under the service (security anchors 57 and 58).
    let mut conn = app.state.pool.get().unwrap();
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "ALTER TABLE purposes RENAME TO purposes_hidden")
        .unwrap();
    drop(conn);
    let r = app.get("/api/v1/purposes", &admin.token).await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(r.body["code"], "internal", "{}", r.text);
    assert!(
        r.body["request_id"].is_string() || r.header("x-request-id").is_some(),
        "{}",
        r.text
    );
    let lower = r.text.to_lowercase();
    for leak in [
        "purposes",
        "no such table",
        "relation",
        "does not exist",
        "diesel",
        "sqlite",
        "postgres",
        "panicked",
        "src/",
        "select ",
    ] {
        assert!(!lower.contains(leak), "the answer gives away `{leak}`: {}", r.text);
    }
    // Other requests go on being answered.
    assert_eq!(app.get("/api/v1/auth/me", &admin.token).await.status, 200);
    assert_eq!(app.get("/api/v1/departments", &admin.token).await.status, 200);
}

/// Read one HTTP/1.1 response (head and a `content-length` body) from a keep-alive connection.
fn read_response(stream: &mut std::net::TcpStream) -> (String, String) {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).expect("read the head"),
            1,
            "connection closed: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("read the body");
    (head, String::from_utf8_lossy(&body).into_owned())
}

/// Security anchor 58: a handler that panics answers 500 (problem+json, with the usual headers)
/// and the next request on the same connection, to the same single worker, succeeds: the panic
/// is neither a dropped connection nor a dead worker. Through a real server, which turns the
/// middleware's error into the response.
#[actix_web::test]
async fn a_handler_that_panics_answers_500_and_the_next_request_succeeds() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let app = TestApp::new().await;
    let state = app.state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(actix_web::middleware::from_fn(lighthouse::http::middleware::observe))
            .route(
                "/api/v1/boom",
                web::get().to(|| async {
                    if std::hint::black_box(true) {
                        panic!("a bug in a handler");
                    }
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/api/v1/fine",
                web::get().to(|| async { HttpResponse::Ok().body("fine") }),
            )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind");
    let addr = server.addrs()[0];
    let running = server.run();
    let handle = running.handle();
    actix_web::rt::spawn(running);
    let (boom, fine) = actix_web::rt::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /api/v1/boom HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let boom = read_response(&mut stream);
        stream
            .write_all(b"GET /api/v1/fine HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let fine = read_response(&mut stream);
        (boom, fine)
    })
    .await
    .unwrap();
    handle.stop(false).await;
    assert!(boom.0.starts_with("http/1.1 500"), "{boom:?}");
    assert!(boom.0.contains("content-type: application/problem+json"), "{boom:?}");
    assert!(
        boom.0.contains("x-content-type-options: nosniff") && boom.0.contains("x-request-id:"),
        "{boom:?}"
    );
    let problem: serde_json::Value = serde_json::from_str(&boom.1).expect("a problem document");
    assert_eq!(problem["status"], 500);
    assert!(
        !boom.1.contains("a bug in a handler"),
        "the panic's message stays in the log: {}",
        boom.1
    );
    assert!(fine.0.starts_with("http/1.1 200"), "{fine:?}");
    assert_eq!(fine.1, "fine");
}

/// A panic in the middle of a request's database work: 500, nothing of its transaction is kept,
/// and the connection it held is not handed to the next request mid-transaction.
#[actix_web::test]
async fn a_panic_inside_a_transaction_writes_nothing_and_the_service_goes_on() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let outcome = app
        .state
        .db(|c| {
            lighthouse::db::write_tx(c, |c| -> lighthouse::error::AppResult<()> {
                use diesel::connection::SimpleConnection;
                c.batch_execute("INSERT INTO departments (code, name, created_at, updated_at) VALUES ('PANIC', 'Panic', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")?;
                if std::hint::black_box(true) {
                    panic!("a bug mid-transaction");
                }
                Ok(())
            })
        })
        .await;
    assert!(
        matches!(outcome, Err(lighthouse::error::AppError::Internal(_))),
        "{outcome:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM departments WHERE code = 'PANIC'"),
        0
    );
    // Every pooled connection still works (none is left inside the dead transaction).
    for _ in 0..8 {
        let r = app.get("/api/v1/departments", &admin.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = app
        .post(
            "/api/v1/departments",
            &admin.token,
            json!({"code": "AFTER", "name": "After"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}
