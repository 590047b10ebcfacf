//! The test application: a fresh database per test (a temporary SQLite file, or a fresh schema
//! in the PostgreSQL database named by `TEST_DATABASE_URL`), the real HTTP stack in process,
//! and small builders for fixtures.
#![allow(dead_code)]

pub mod smtp;

use std::sync::atomic::{AtomicU64, Ordering};

use std::rc::Rc;

use actix_web::body::to_bytes;
use actix_web::dev::Service;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use futures_util::future::LocalBoxFuture;
use lighthouse::config::{Settings, Sources};
use lighthouse::service::{RequestMeta, Role};
use lighthouse::state::AppState;
use serde_json::{json, Value};

/// The password every fixture user has.
pub const PASSWORD: &str = "a long enough test passphrase";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Which backend the suite runs on.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A fresh database URL: a new SQLite file, or a new PostgreSQL schema.
pub fn fresh_database_url() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let unique = format!(
        "{}_{}_{}",
        std::process::id(),
        n,
        lighthouse::service::random_token(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    );
    match postgres_url() {
        Some(base) => {
            let schema = format!("t_{unique}");
            lighthouse::db::pool::init_tls();
            let mut conn = diesel::pg::PgConnection::establish(&base).expect("connect to TEST_DATABASE_URL");
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create test schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-csearch_path%3D{schema}")
        }
        None => {
            let dir = std::env::temp_dir().join("lighthouse-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}", dir.join(format!("{unique}.db")).display())
        }
    }
}

/// Settings for a test: config/test.toml over the defaults, with a fresh database.
pub fn test_settings(extra: &[(&str, &str)]) -> Settings {
    let mut env: std::collections::BTreeMap<String, String> =
        extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.insert("DATABASE_URL".into(), fresh_database_url());
    let file = Some(std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/test.toml"
    )));
    Settings::from_sources(&Sources { file, env }).expect("test settings")
}

/// A response: status, headers and JSON body (Null when empty or not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

type Svc = Box<dyn Fn(TestRequest) -> LocalBoxFuture<'static, Resp>>;

/// The service under test.
pub struct TestApp {
    pub state: AppState,
    svc: Svc,
}

/// A signed-in user: their token and public id.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
    pub csrf: String,
    pub cookie: String,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_settings(&[]).await
    }

    pub async fn with_settings(extra: &[(&str, &str)]) -> TestApp {
        Self::from_settings(test_settings(extra)).await
    }

    /// The service with these settings (e.g. another database URL than the fresh one).
    pub async fn from_settings(settings: Settings) -> TestApp {
        let pool = lighthouse::open_database(&settings).expect("open test database");
        let (state, _writer) = lighthouse::build_state(settings, pool).expect("state");
        let app = lighthouse::app(state.clone());
        let svc = Rc::new(test::init_service(app).await);
        let call: Svc = Box::new(move |r: TestRequest| {
            let svc = svc.clone();
            Box::pin(async move {
                let res = svc.call(r.to_request()).await.expect("service call");
                let status = res.status();
                let headers = res.headers().clone();
                let bytes = to_bytes(res.into_body()).await.unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).to_string();
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Resp {
                    status,
                    headers,
                    body,
                    text,
                }
            })
        });
        TestApp { state, svc: call }
    }

    /// Send a request; `token` as bearer.
    pub async fn req(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut r = test::TestRequest::default()
            .method(method.parse().expect("method"))
            .uri(path);
        if let Some(t) = token {
            r = r.insert_header(("authorization", format!("Bearer {t}")));
        }
        if let Some(b) = body {
            r = r
                .insert_header(("content-type", "application/json"))
                .set_payload(b.to_string());
        }
        self.send(r).await
    }

    /// Send a prepared request (peer address set to loopback when absent).
    pub async fn send(&self, req: TestRequest) -> Resp {
        (self.svc)(req.peer_addr("127.0.0.1:40000".parse().expect("addr"))).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.req("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req("POST", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req("PATCH", path, Some(token), Some(body)).await
    }

    /// Create a department directly (fixture).
    pub fn department(&self, code: &str) {
        let mut conn = self.state.pool.get().expect("conn");
        let req = lighthouse::service::departments::NewDepartmentRequest {
            code: code.into(),
            name: format!("Department {code}"),
        };
        lighthouse::service::departments::create(&mut conn, None, lighthouse::db::now(), &req).expect("department");
    }

    /// Create a user directly (fixture) and sign them in through HTTP.
    pub async fn user(&self, roles: &[Role], departments: &[&str]) -> User {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let email = format!("user{n}@example.org");
        {
            let mut conn = self.state.pool.get().expect("conn");
            let req = lighthouse::service::users::NewUserRequest {
                email: email.clone(),
                name: format!("User {n}"),
                password: Some(PASSWORD.into()),
                roles: roles.to_vec(),
                departments: departments.iter().map(|d| d.to_string()).collect(),
            };
            let meta = RequestMeta::system(lighthouse::db::now());
            lighthouse::service::users::create(&mut conn, &self.state.hasher, None, &meta, &req, 24).expect("user");
        }
        self.login(&email).await
    }

    pub async fn login(&self, email: &str) -> User {
        let r = self
            .req(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, 200, "login failed: {}", r.text);
        let cookie = r
            .headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("__Host-lighthouse_session="))
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_string();
        User {
            id: r.body["user"]["id"].as_str().unwrap_or_default().to_string(),
            email: email.into(),
            token: r.body["token"].as_str().unwrap_or_default().to_string(),
            csrf: r.body["csrf_token"].as_str().unwrap_or_default().to_string(),
            cookie,
        }
    }

    /// An administrator.
    pub async fn admin(&self) -> User {
        self.user(&[Role::Administrator], &[]).await
    }

    /// Create a person through the API and return its JSON.
    /// A person's subject access export (read with a DPO's `token`) without the history tables
    /// that legitimately record a round trip (audit, merges, match candidates) and without its
    /// generation time: what must come back byte-identical after a merge and its unmerge.
    pub async fn export_without_history(&self, token: &str, person: &str) -> Value {
        let r = self.get(&format!("/api/v1/people/{person}/export"), token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut doc = r.body;
        doc.as_object_mut().unwrap().remove("generated_at");
        let tables = doc["tables"].as_object_mut().unwrap();
        for history in ["audit_events", "merges", "match_candidates"] {
            tables.remove(history);
        }
        doc
    }

    pub async fn person(&self, token: &str, body: Value) -> Value {
        let r = self.post("/api/v1/people", token, body).await;
        assert_eq!(r.status, 201, "create person: {}", r.text);
        r.body
    }

    /// Wait until buffered audit events are written.
    pub fn flush_audit(&self) {
        self.state.audit.flush();
    }

    /// Run the `lighthouse` binary against this test's database: (success, stdout + stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lighthouse"))
            .args(args)
            .env("DATABASE_URL", &self.state.settings.database.url)
            .env("LIGHTHOUSE__PRIVACY__HASH_KEY", "")
            .output()
            .expect("run lighthouse");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return (false, format!("{}\n{text}", out.status));
        }
        (true, text)
    }

    /// Run SQL text and return how many rows a COUNT query gives (fixtures and checks).
    pub fn count(&self, sql: &str) -> i64 {
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = self.state.pool.get().expect("conn");
        let rows: Vec<N> = diesel::sql_query(sql).load(&mut *conn).expect("count query");
        rows.first().map(|r| r.n).unwrap_or(0)
    }
}

/// PostgreSQL: a transaction of its own holding a row lock on `people`, for tests that make a
/// lock cycle on purpose. Its `deadlock_timeout` is long, so when the cycle closes PostgreSQL
/// cancels the other side (the first to wait).
pub struct PeopleLock {
    conn: diesel::pg::PgConnection,
    pid: i32,
    url: String,
}

impl PeopleLock {
    /// Lock person `id` (internal id) `FOR <mode>` (`UPDATE`, `KEY SHARE` …) in a new
    /// transaction on the app's database.
    pub fn hold(app: &TestApp, id: i64, mode: &str) -> PeopleLock {
        use diesel::RunQueryDsl;
        let url = app.state.settings.database.url.clone();
        let mut conn = diesel::pg::PgConnection::establish(&url).expect("connect");
        conn.batch_execute(&format!(
            "BEGIN; SET LOCAL deadlock_timeout = '30s'; SELECT id FROM people WHERE id = {id} FOR {mode}"
        ))
        .expect("lock");
        let pid = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()"))
            .get_result(&mut conn)
            .expect("backend pid");
        PeopleLock { conn, pid, url }
    }

    /// Wait (10 s at most) until another session waits for this one's lock.
    pub fn wait_for_a_waiter(&self) {
        use diesel::RunQueryDsl;
        let mut watch = diesel::pg::PgConnection::establish(&self.url).expect("connect");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let waiting: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "(SELECT COUNT(*) FROM pg_stat_activity WHERE {} = ANY(pg_blocking_pids(pid)))",
                self.pid
            )))
            .get_result(&mut watch)
            .expect("pg_stat_activity");
            if waiting > 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "nobody waited for the lock");
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    }

    /// Ask for person `id` `FOR <mode>` too, closing the cycle (returns once PostgreSQL has
    /// cancelled the other side), then commit and let go.
    pub fn take_then_commit(mut self, id: i64, mode: &str) {
        self.conn
            .batch_execute(&format!("SELECT id FROM people WHERE id = {id} FOR {mode}; COMMIT"))
            .expect("close the cycle");
    }
}
