//! The fuzz test's service, its callers, and the check every answer gets.

use std::collections::BTreeSet;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use actix_web::http::header::HeaderValue;
use actix_web::test::TestRequest;
use futures_util::FutureExt;
use lighthouse::http::{endpoints, Access};
use lighthouse::service::authz::roles_granting;
use lighthouse::service::Role;
use serde_json::{json, Map, Value};

use crate::common::smtp::SmtpSink;
use crate::common::{Resp, TestApp, User, PASSWORD};

/// A body with a content type (none: no `Content-Type` header).
pub type Body = (Option<&'static str>, Vec<u8>);

/// `bytes` as an `application/json` body.
pub fn json_body(bytes: Vec<u8>) -> Body {
    (Some("application/json"), bytes)
}

/// Everything the service logs at warning level or above, to show beside a failure.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = self.0.lock() {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn take(&self) -> String {
        self.0
            .lock()
            .map(|mut log| String::from_utf8_lossy(&std::mem::take(&mut *log)).into_owned())
            .unwrap_or_default()
    }
}

/// The service with one object of every kind, the users who call it, and what went wrong.
pub struct World {
    pub app: TestApp,
    _sink: SmtpSink,
    pub admin: User,
    pub dpo: User,
    /// (kind, public id) of real objects, the kind named by the path segment before its id.
    pub ids: Vec<(&'static str, String)>,
    /// Plausible values by field name, for bodies that reach past the first check.
    pub hints: Map<String, Value>,
    /// A person with a merge to undo, and that merge.
    pub merged: (String, String),
    /// People created so far (each fixture person is numbered, so no two are alike).
    pub people: usize,
    /// What went wrong, one line per request, with all that is needed to send it again.
    pub failures: Vec<String>,
    log: Log,
    _log_guard: tracing::subscriber::DefaultGuard,
    /// The routes only a data protection officer may call (an administrator may not).
    dpo_only: BTreeSet<(String, &'static str)>,
    sent: usize,
    covered: BTreeSet<(&'static str, &'static str)>,
}

impl World {
    pub async fn new() -> World {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .finish();
        let log_guard = tracing::subscriber::set_default(subscriber);
        // Test messages go somewhere real, so that sending is part of what is fuzzed.
        let sink = SmtpSink::start();
        let port = sink.port().to_string();
        let app = TestApp::with_settings(&[
            ("LIGHTHOUSE__CAMPAIGNS__SMTP_HOST", "127.0.0.1"),
            ("LIGHTHOUSE__CAMPAIGNS__SMTP_PORT", &port),
            ("LIGHTHOUSE__CAMPAIGNS__SMTP_TLS", "none"),
            ("LIGHTHOUSE__CAMPAIGNS__FROM_ADDRESS", "news@city.test"),
            ("LIGHTHOUSE__CAMPAIGNS__PUBLIC_BASE_URL", "https://crm.city.test"),
            ("LIGHTHOUSE__CAMPAIGNS__UNSUBSCRIBE_MAILTO", "unsubscribe@city.test"),
            ("LIGHTHOUSE__IMPORTS__UPLOADS_PER_HOUR", "0"),
            ("LIGHTHOUSE__PRIVACY__EXPORTS_PER_HOUR", "0"),
            ("LIGHTHOUSE__CAMPAIGNS__TEST_SENDS_PER_HOUR", "0"),
        ])
        .await;
        app.department("BARB");
        let admin = app.admin().await;
        let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
        let mut world = World {
            app,
            _sink: sink,
            admin,
            dpo,
            ids: Vec::new(),
            hints: Map::new(),
            merged: Default::default(),
            people: 0,
            log,
            _log_guard: log_guard,
            dpo_only: endpoints()
                .iter()
                .filter(|ep| matches!(ep.access, Access::Needs(p) if !roles_granting(p).contains(&Role::Administrator)))
                .map(|ep| (ep.method.to_string(), ep.path))
                .collect(),
            failures: Vec::new(),
            sent: 0,
            covered: BTreeSet::new(),
        };
        world.fixtures().await;
        world
    }

    /// Send one request as the route's caller and check the answer; a failure is noted with
    /// everything needed to send it again.
    pub async fn send(
        &mut self,
        method: &'static str,
        path: &'static str,
        uri: String,
        body: Option<Body>,
    ) -> Option<Resp> {
        self.send_with(method, path, uri, body, None).await
    }

    /// [`send`](Self::send) with one more header.
    pub async fn send_with(
        &mut self,
        method: &'static str,
        path: &'static str,
        uri: String,
        body: Option<Body>,
        header: Option<(&'static str, &[u8])>,
    ) -> Option<Resp> {
        self.covered.insert((method, path));
        let dpo = self.dpo_only.contains(&(method.to_string(), path));
        let token = if dpo { &self.dpo.token } else { &self.admin.token }.clone();
        let mut req = TestRequest::default()
            .method(method.parse().expect("method"))
            .uri(&uri)
            .insert_header(("authorization", format!("Bearer {token}")));
        if let Some((Some(ct), _)) = &body {
            req = req.insert_header(("content-type", *ct));
        }
        if let Some((_, bytes)) = &body {
            req = req.set_payload(bytes.clone());
        }
        if let Some((name, value)) = header {
            req = req.insert_header((name, HeaderValue::from_bytes(value).expect("header value")));
        }
        self.log.take();
        let answer = AssertUnwindSafe(self.app.send(req)).catch_unwind().await;
        self.sent += 1;
        let fault = match &answer {
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(r) => fault(r),
        };
        if let Some(fault) = fault {
            let (ct, bytes) = body.unwrap_or_default();
            self.failures.push(format!(
                "{method} {} (content-type {ct:?}, {header:?}, body {:?}): {fault}\n  log: {}",
                clip(&uri),
                clip(&String::from_utf8_lossy(&bytes)),
                self.log.take().trim()
            ));
        }
        let r = answer.ok()?;
        self.keep_signed_in(method, &uri, &r, dpo).await;
        Some(r)
    }

    /// A request that may end the caller's session (sign-out, a password or second-factor
    /// change, a 401) is followed by a check, and a new session when it ended.
    async fn keep_signed_in(&mut self, method: &str, uri: &str, r: &Resp, dpo: bool) {
        if r.status != 401 && (method == "GET" || !uri.starts_with("/api/v1/auth/")) {
            return;
        }
        let user = if dpo { &self.dpo } else { &self.admin };
        if self.app.get("/api/v1/auth/me", &user.token).await.status == 200 {
            return;
        }
        let login = json!({"email": user.email, "password": PASSWORD});
        let r = self.app.req("POST", "/api/v1/auth/login", None, Some(login)).await;
        let fresh = match r.body["token"].as_str() {
            Some(token) => User {
                token: token.to_string(),
                ..user.clone()
            },
            // Locked out by the garbage sent to password checks: another account of the role.
            None if dpo => self.app.user(&[Role::DataProtectionOfficer], &[]).await,
            None => self.app.admin().await,
        };
        if dpo {
            self.dpo = fresh;
        } else {
            self.admin = fresh;
        }
    }

    /// After the run: every route in `expected` was called, the service still answers, and no
    /// request failed.
    pub async fn finish<'a>(mut self, expected: impl Iterator<Item = &'a (&'static str, &'static str)>) {
        for route in expected {
            assert!(self.covered.contains(route), "{route:?} was not fuzzed");
        }
        let health = self.app.req("GET", "/healthz", None, None).await;
        assert_eq!(health.status, 200, "{}", health.text);
        let admin = self.app.admin().await;
        let p = self
            .app
            .person(&admin.token, json!({"given_name": "Grace", "departments": ["BARB"]}))
            .await;
        let r = self
            .app
            .get(
                &format!("/api/v1/people/{}", p["id"].as_str().unwrap_or_default()),
                &admin.token,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["given_name"], "Grace");
        self.failures.dedup();
        assert!(
            self.failures.is_empty(),
            "{} of {} requests failed (seed {}):\n{}",
            self.failures.len(),
            self.sent,
            crate::seed(),
            self.failures.join("\n")
        );
        assert!(self.sent > 500, "only {} requests sent", self.sent);
    }
}

/// What is wrong with an answer, if anything: a 5xx, or a 4xx that is not a problem document.
fn fault(r: &Resp) -> Option<String> {
    if r.status.is_server_error() {
        return Some(format!("answered {}: {}", r.status, clip(&r.text)));
    }
    if !r.status.is_client_error() {
        return None;
    }
    let ct = r.header("content-type").unwrap_or_default();
    let b = &r.body;
    let problem = ct == "application/problem+json"
        && b["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:lighthouse:problem:"))
        && b["title"].is_string()
        && b["status"] == r.status.as_u16();
    (!problem).then(|| {
        format!(
            "answered {} as {ct:?}, not a problem document: {}",
            r.status,
            clip(&r.text)
        )
    })
}

/// At most 300 characters of `text`, for messages.
pub fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push_str(&format!("… ({} bytes)", text.len()));
    }
    out
}
