//! Health, readiness, metrics and the OpenAPI document.

mod common;

use common::TestApp;
use serde_json::Value;

#[actix_web::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new().await;
    assert_eq!(app.req("GET", "/healthz", None, None).await.body["status"], "ok");
    assert_eq!(app.req("GET", "/readyz", None, None).await.status, 200);
    app.req("GET", "/api/v1/auth/me", None, None).await;
    let m = app.req("GET", "/metrics", None, None).await;
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        m.text
            .contains("lighthouse_http_requests_total{method=\"GET\",route=\"/api/v1/auth/me\",status=\"401\"} 1"),
        "{}",
        m.text
    );
    assert!(m.text.contains("lighthouse_db_pool_connections"));
}

#[actix_web::test]
async fn openapi_describes_every_route_and_its_schemas() {
    let app = TestApp::new().await;
    let r = app.req("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    for ep in lighthouse::http::endpoints() {
        let op = &doc["paths"][ep.path][ep.method.as_str().to_lowercase()];
        assert!(op.is_object(), "{} {} missing from the document", ep.method, ep.path);
        assert!(op["responses"]["4XX"].is_object());
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    let person = &doc["components"]["schemas"]["NewPersonRequest"];
    assert_eq!(
        person["additionalProperties"],
        Value::Bool(false),
        "unknown fields are refused, and documented so"
    );
    let list = &doc["paths"]["/api/v1/people"]["get"]["parameters"];
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "department" && p["in"] == "query"));
    // Security anchor 56: no query parameter anywhere takes personal data or a secret (URLs end
    // up in browser histories, proxies and logs); such values go in bodies.
    const PERSONAL: [&str; 14] = [
        "email",
        "name",
        "given_name",
        "family_name",
        "preferred_name",
        "dob",
        "date_of_birth",
        "phone",
        "postcode",
        "address",
        "token",
        "password",
        "totp",
        "q",
    ];
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" {
                    checked += 1;
                    let name = p["name"].as_str().unwrap();
                    assert!(
                        !PERSONAL.contains(&name),
                        "{method} {path} takes `{name}` in its query string"
                    );
                }
            }
        }
    }
    assert!(checked > 20, "query parameters were found to check: {checked}");
}

#[actix_web::test]
async fn web_client_is_served_with_a_strict_policy() {
    let app = TestApp::new().await;
    let page = app.req("GET", "/", None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.text.contains("<script type=\"module\" src=\"/assets/js/app.js\">"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    let tag = page.header("etag").unwrap();

    // Revalidation answers 304 without a body.
    let again = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/")
                .insert_header(("if-none-match", tag.as_str())),
        )
        .await;
    assert_eq!(again.status, 304);

    let js = app.req("GET", "/assets/js/core.js", None, None).await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(
        !js.text.contains("innerHTML"),
        "values are built as text nodes, never as markup"
    );
    assert_eq!(app.req("GET", "/assets/app.css", None, None).await.status, 200);
    // Compressed for browsers that accept it, with its own validator.
    let gz = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/assets/js/core.js")
                .insert_header(("accept-encoding", "gzip, br")),
        )
        .await;
    assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gz.header("vary").as_deref(), Some("Accept-Encoding"));
    assert_ne!(gz.header("etag"), js.header("etag"));
    // Only the listed files: nothing else, nothing outside the folder.
    for path in [
        "/assets/../Cargo.toml",
        "/assets/js/none.js",
        "/assets/index.html",
        "/assets/%2e%2e/README.md",
    ] {
        let r = app.req("GET", path, None, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.header("content-type").unwrap().contains("problem+json"));
    }
}

#[actix_web::test]
async fn me_lists_the_permissions_of_the_roles() {
    let app = TestApp::new().await;
    let analyst = app.user(&[lighthouse::service::Role::Analyst], &[]).await;
    let me = app.get("/api/v1/auth/me", &analyst.token).await;
    assert_eq!(me.status, 200);
    let perms: Vec<&str> = me.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(perms.contains(&"journeys_read"));
    assert!(!perms.contains(&"people_read"));
    assert_eq!(me.body["roles"][0], "analyst");
}

/// On SQLite the pool's checkpoint thread copies committed pages from the WAL into the database
/// file; a writer no longer does it on its own thread after a commit (only past 128 MB of WAL,
/// when that thread has fallen behind). Read here through a connection that sees the database
/// file alone (`immutable=1` ignores the WAL): the people written appear in it within seconds,
/// far below the size at which a writer would have copied them itself.
#[actix_web::test]
async fn sqlite_commits_reach_the_database_file_from_the_checkpoint_thread() {
    use diesel::prelude::*;
    let app = TestApp::new().await;
    let Ok(lighthouse::db::pool::DbUrl::Sqlite(path)) =
        lighthouse::db::pool::DbUrl::parse(&app.state.settings.database.url)
    else {
        return; // PostgreSQL has no WAL file of ours to look at.
    };
    let admin = app.admin().await;
    for i in 0..50 {
        app.person(
            &admin.token,
            serde_json::json!({"given_name": format!("Checkpointed{i}")}),
        )
        .await;
    }
    let file_only = format!("file:{}?immutable=1", path.display());
    let in_file = || -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let Ok(mut c) = diesel::sqlite::SqliteConnection::establish(&file_only) else {
            return -1;
        };
        diesel::sql_query("SELECT COUNT(*) AS n FROM people WHERE given_name LIKE 'Checkpointed%'")
            .get_result::<N>(&mut c)
            .map(|r| r.n)
            .unwrap_or(-1)
    };
    let mut seen = in_file();
    for _ in 0..100 {
        if seen == 50 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen = in_file();
    }
    assert_eq!(seen, 50, "the committed people never reached the database file");
}

/// The WAL file of the test's database, when it is SQLite.
fn sqlite_wal(app: &TestApp) -> Option<std::path::PathBuf> {
    match lighthouse::db::pool::DbUrl::parse(&app.state.settings.database.url) {
        Ok(lighthouse::db::pool::DbUrl::Sqlite(path)) => Some(format!("{}-wal", path.display()).into()),
        _ => None,
    }
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A large write leaves a large WAL file (SQLite keeps it at its largest); once the pages are in
/// the database and nothing is being written, the checkpoint thread truncates it.
#[actix_web::test]
async fn sqlite_wal_file_is_given_back_after_a_large_write() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::new().await;
    let Some(wal) = sqlite_wal(&app) else {
        return; // PostgreSQL has no WAL file of ours to look at.
    };
    let wal_len = || file_len(&wal);
    {
        let mut conn = app.state.pool.get().unwrap();
        // About 80 MB in one transaction: far below the size at which the writer would
        // checkpoint (and so restart the WAL) itself.
        conn.batch_execute(
            "CREATE TABLE wal_ballast (b BLOB); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80) \
             INSERT INTO wal_ballast SELECT randomblob(1000000) FROM n;",
        )
        .unwrap();
    }
    assert!(
        wal_len() > 64 * 1024 * 1024,
        "the write made a WAL of {} bytes",
        wal_len()
    );
    let mut len = wal_len();
    for _ in 0..150 {
        if len <= 64 * 1024 * 1024 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        len = wal_len();
    }
    assert!(len <= 64 * 1024 * 1024, "the WAL file kept {len} bytes");
}

/// Writers that never pause (two threads committing back to back, as two clients bulk-logging
/// do) leave no moment at which every WAL frame is in the database, so SQLite alone never starts
/// the WAL over and the file grows with everything written (4 GB in a bulk-logging benchmark).
/// The checkpoint thread makes it start over past 256 MB: here 640 MB is written and the file
/// stays near 256 MB.
#[actix_web::test]
async fn sqlite_wal_starts_over_under_back_to_back_writers() {
    use diesel::connection::SimpleConnection;
    use lighthouse::db::write_tx;
    let app = TestApp::new().await;
    let Some(wal) = sqlite_wal(&app) else {
        return; // PostgreSQL has no WAL file of ours to look at.
    };
    let pool = app.state.pool.clone();
    pool.get()
        .unwrap()
        .batch_execute(
            "CREATE TABLE wal_churn (i INTEGER PRIMARY KEY, b BLOB); \
             INSERT INTO wal_churn VALUES (1, NULL), (2, NULL), (3, NULL), (4, NULL);",
        )
        .unwrap();
    let largest = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut conn = pool.get().unwrap();
                // 80 transactions of 4 MB each (the same rows rewritten: the database file
                // does not grow, only the WAL would).
                for _ in 0..80 {
                    write_tx(&mut conn, |c| {
                        c.batch_execute("UPDATE wal_churn SET b = randomblob(1000000)")
                    })
                    .unwrap();
                    largest.fetch_max(file_len(&wal), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let largest = largest.into_inner();
    assert!(
        largest < 400 * 1024 * 1024,
        "the WAL grew to {largest} bytes with 640 MB written"
    );
}

/// A writer waiting for SQLite's write lock gets it in the first short gap between another
/// thread's transactions, rather than sleeping through gaps (SQLite's own busy handler sleeps up
/// to 100 ms between tries, and under back-to-back batches a writer failed after the timeout).
#[actix_web::test]
async fn sqlite_writer_gets_the_lock_between_back_to_back_transactions() {
    use lighthouse::db::write_tx;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let app = TestApp::new().await;
    if !app.state.settings.database.url.starts_with("sqlite") {
        return; // PostgreSQL has row locks, not one write lock.
    }
    let stop = AtomicBool::new(false);
    let pool = app.state.pool.clone();
    let waited = std::thread::scope(|s| {
        let busy = s.spawn(|| {
            let mut conn = pool.get().unwrap();
            while !stop.load(Ordering::Relaxed) {
                // Hold the lock for 60 ms, let go for 3 ms.
                // (`BEGIN IMMEDIATE` takes the lock: no statement is needed to hold it.)
                write_tx(&mut conn, |_| -> diesel::QueryResult<()> {
                    std::thread::sleep(Duration::from_millis(60));
                    Ok(())
                })
                .unwrap();
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        let mut conn = pool.get().unwrap();
        let began = Instant::now();
        write_tx(&mut conn, |_| -> diesel::QueryResult<()> { Ok(()) }).unwrap();
        let waited = began.elapsed();
        stop.store(true, Ordering::Relaxed);
        busy.join().unwrap();
        waited
    });
    assert!(
        waited < Duration::from_millis(500),
        "the second writer waited {waited:?}"
    );
}

#[actix_web::test]
async fn the_document_and_the_metrics_can_be_turned_off_and_no_banner_names_the_software() {
    let on = TestApp::new().await;
    for path in ["/api/v1/openapi.json", "/metrics", "/healthz"] {
        let r = on.req("GET", path, None, None).await;
        assert_eq!(r.status, 200, "{path}");
        for banner in ["server", "x-powered-by"] {
            assert!(r.header(banner).is_none(), "{path} has a {banner} header");
        }
    }
    let off = TestApp::with_settings(&[
        ("LIGHTHOUSE__SERVER__OPENAPI", "false"),
        ("LIGHTHOUSE__SERVER__METRICS", "false"),
    ])
    .await;
    for path in ["/api/v1/openapi.json", "/metrics"] {
        let r = off.req("GET", path, None, None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    }
    assert_eq!(off.req("GET", "/healthz", None, None).await.status, 200);
}
