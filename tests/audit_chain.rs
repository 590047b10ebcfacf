//! The audit log's hash chain (security anchor 65): seals cover every event, follow on from one
//! another, and verification finds an event changed or removed, a seal removed from the end
//! (against a head known from elsewhere), and says what it found through the API and the CLI.

mod common;

use common::TestApp;
use diesel::connection::SimpleConnection;
use lighthouse::db::Backend;
use lighthouse::service::Role;
use serde_json::{json, Value};

/// Some audited work: a person created and read.
async fn activity(app: &TestApp, token: &str, name: &str) {
    let p = app
        .person(
            token,
            json!({"given_name": name, "family_name": "Sealed", "departments": ["BARB"]}),
        )
        .await;
    let r = app
        .get(&format!("/api/v1/people/{}", p["id"].as_str().unwrap()), token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.flush_audit();
}

async fn seal(app: &TestApp, token: &str) -> Value {
    let r = app.req("POST", "/api/v1/audit/seals", Some(token), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.flush_audit();
    r.body
}

async fn verification(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/audit/verification{query}"), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn codes(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}

/// Change the audit tables behind the service's back, as someone with the database's owner
/// rights could: the append-only triggers are dropped (SQLite) or disabled (PostgreSQL) first.
fn tamper(app: &TestApp, table: &str, trigger: &str, sql: &str) {
    let mut conn = app.state.pool.get().unwrap();
    let script = match conn.backend() {
        Backend::Sqlite => format!("DROP TRIGGER {trigger}; {sql};"),
        Backend::Postgres => format!(
            "ALTER TABLE {table} DISABLE TRIGGER {trigger}; {sql}; ALTER TABLE {table} ENABLE TRIGGER {trigger};"
        ),
    };
    conn.batch_execute(&script).expect("tamper");
}

#[actix_web::test]
async fn seals_cover_every_event_and_follow_on_from_one_another() {
    let app = TestApp::new().await;
    app.department("BARB");
    let dpo = app
        .user(&[Role::DataProtectionOfficer, Role::EngagementOfficer], &[])
        .await;
    activity(&app, &dpo.token, "Ada").await;

    // Nothing sealed yet: the whole log is unsealed, and an empty chain verifies.
    let before = verification(&app, &dpo.token, "").await;
    assert_eq!(before["ok"], true, "{before}");
    assert!(before["head"].is_null());
    let events = app.count("SELECT COUNT(*) AS n FROM audit_events");
    assert!(events >= 3, "the sign-in, the creation and the read are audited");

    let first = seal(&app, &dpo.token).await;
    let s1 = &first["sealed"][0];
    assert_eq!(first["sealed"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(s1["seq"], 1);
    assert_eq!(s1["after_event_id"], 0);
    assert_eq!(s1["prev_hash"], "0".repeat(64));
    assert_eq!(s1["hash"].as_str().unwrap().len(), 64);
    let covered = s1["event_count"].as_i64().unwrap();
    let last = s1["last_event_id"].as_i64().unwrap();
    assert_eq!(
        covered,
        app.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE id <= {last}")),
        "a seal covers every event up to its last"
    );
    assert!(covered >= events, "everything written before the seal is in it");

    // Sealing again with nothing new (but the seal's own audit event) makes one small seal.
    activity(&app, &dpo.token, "Bea").await;
    let second = seal(&app, &dpo.token).await;
    let s2 = &second["sealed"][0];
    assert_eq!(s2["seq"], 2);
    assert_eq!(s2["prev_hash"], s1["hash"], "each seal names the one before");
    assert_eq!(s2["after_event_id"], s1["last_event_id"], "blocks follow one another");
    assert_eq!(second["head"]["seq"], 2);

    let v = verification(&app, &dpo.token, "").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["seals_checked"], 2);
    assert_eq!(
        v["events_checked"].as_i64().unwrap(),
        covered + s2["event_count"].as_i64().unwrap()
    );
    // The verification's own audit event (and the second seal's) are not sealed yet.
    app.flush_audit();
    assert!(
        verification(&app, &dpo.token, "").await["unsealed_events"]
            .as_i64()
            .unwrap()
            >= 1
    );

    // A head known from elsewhere: the right one verifies, a wrong hash does not.
    let h2 = s2["hash"].as_str().unwrap();
    let ok = verification(&app, &dpo.token, &format!("?expect_seq=2&expect_hash={h2}")).await;
    assert_eq!(ok["ok"], true, "{ok}");
    let wrong = verification(
        &app,
        &dpo.token,
        &format!("?expect_seq=2&expect_hash={}", "a".repeat(64)),
    )
    .await;
    assert_eq!(wrong["ok"], false);
    assert_eq!(codes(&wrong), vec!["expected_hash_differs"]);
    // From a later seal only.
    let tail = verification(&app, &dpo.token, "?from_seq=2").await;
    assert_eq!(
        (tail["ok"].clone(), tail["seals_checked"].clone()),
        (json!(true), json!(1))
    );
    assert!(v["next_from_seq"].is_null(), "the whole chain in one answer: {v}");
    // A seal at a time: the answer says where to go on, and the last one that it is done.
    let part = verification(&app, &dpo.token, "?max_seals=1").await;
    assert_eq!(
        (part["seals_checked"].clone(), part["next_from_seq"].clone()),
        (json!(1), json!(2))
    );
    let rest = verification(&app, &dpo.token, "?max_seals=1&from_seq=2").await;
    assert_eq!(
        (rest["seals_checked"].clone(), rest["ok"].clone()),
        (json!(1), json!(true))
    );
    assert!(rest["next_from_seq"].is_null(), "{rest}");

    // What a client gets wrong is a 422 problem, never a 500.
    for q in [
        "?expect_seq=2",
        "?expect_hash=abc",
        "?expect_seq=0&expect_hash=".to_string().as_str(),
        "?from_seq=0",
        "?from_seq=99",
        "?max_seals=0",
        "?max_seals=201",
    ] {
        let r = app.get(&format!("/api/v1/audit/verification{q}"), &dpo.token).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    }
    // Sealing and verifying are audited.
    app.flush_audit();
    assert!(app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'audit.seal'") >= 2);
    assert!(app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'audit.verify'") >= 1);
}

#[actix_web::test]
async fn a_changed_or_removed_event_or_a_removed_seal_is_found() {
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    activity(&app, &officer.token, "Cyd").await;
    let s1 = seal(&app, &admin.token).await["sealed"][0].clone();
    activity(&app, &officer.token, "Dee").await;
    let s2 = seal(&app, &admin.token).await["sealed"][0].clone();
    assert_eq!(verification(&app, &admin.token, "").await["ok"], true);
    let (cli_ok, out) = app.cli(&["audit", "verify"]);
    assert!(cli_ok, "{out}");

    // An event of the first block changed: its outcome turned into a failure.
    tamper(
        &app,
        "audit_events",
        "audit_events_no_update",
        "UPDATE audit_events SET outcome = 'failure' WHERE id = (SELECT MIN(id) FROM audit_events)",
    );
    let v = verification(&app, &admin.token, "").await;
    assert_eq!(v["ok"], false);
    assert_eq!(codes(&v), vec!["events_changed"], "{v}");
    assert_eq!(v["problems"][0]["seq"], 1);
    // The CLI says the same and fails.
    let (cli_ok, out) = app.cli(&["audit", "verify"]);
    assert!(!cli_ok, "{out}");
    assert!(
        out.contains("events_changed") && out.contains("does not verify"),
        "{out}"
    );

    // An event of the second block removed (one that names no other rows).
    let last2 = s2["last_event_id"].as_i64().unwrap();
    let after2 = s2["after_event_id"].as_i64().unwrap();
    tamper(
        &app,
        "audit_events",
        "audit_events_no_delete",
        &format!(
            "DELETE FROM audit_events WHERE id = (SELECT MAX(id) FROM audit_events WHERE id > {after2} AND id <= {last2} \
             AND id NOT IN (SELECT event_id FROM audit_event_targets))"
        ),
    );
    let v = verification(&app, &admin.token, "").await;
    assert_eq!(codes(&v), vec!["events_changed", "events_removed"], "{v}");
    assert_eq!(v["problems"][1]["seq"], 2);

    // The last seal removed: the chain alone cannot tell (it is a shorter chain), but the head
    // kept elsewhere can.
    tamper(
        &app,
        "audit_seals",
        "audit_seals_no_delete",
        "DELETE FROM audit_seals WHERE seq = 2",
    );
    let h2 = s2["hash"].as_str().unwrap();
    let v = verification(&app, &admin.token, &format!("?expect_seq=2&expect_hash={h2}")).await;
    assert_eq!(codes(&v), vec!["events_changed", "expected_seal_missing"], "{v}");
    assert_eq!(v["head"]["seq"], 1);
    assert_eq!(v["head"]["hash"], s1["hash"]);
    let (cli_ok, out) = app.cli(&["audit", "verify", "--expect", &format!("2:{h2}")]);
    assert!(!cli_ok && out.contains("expected_seal_missing"), "{out}");
    let (cli_ok, out) = app.cli(&["audit", "verify", "--expect", "2:nothex"]);
    assert!(!cli_ok && out.contains("SEQ:HASH"), "{out}");
}

#[actix_web::test]
async fn the_log_and_its_seals_refuse_changes() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    seal(&app, &admin.token).await;
    let mut conn = app.state.pool.get().unwrap();
    let statements = [
        "UPDATE audit_seals SET hash = 'x'",
        "DELETE FROM audit_seals",
        "UPDATE audit_events SET outcome = 'failure'",
        "DELETE FROM audit_events",
    ];
    refused(&mut conn, &statements, "append-only");
}

/// Every statement fails, with an error that says `says`.
fn refused(conn: &mut lighthouse::db::DbConn, statements: &[&str], says: &str) {
    for sql in statements {
        let err = conn.batch_execute(sql).expect_err(sql);
        assert!(err.to_string().contains(says), "{sql}: {err}");
    }
}

#[actix_web::test]
async fn on_postgresql_young_events_wait_for_a_later_seal() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__AUDIT__SEAL_GRACE_SECONDS", "3600")]).await;
    app.department("BARB");
    let dpo = app
        .user(&[Role::DataProtectionOfficer, Role::EngagementOfficer], &[])
        .await;
    activity(&app, &dpo.token, "Eve").await;
    let backend = app.state.pool.get().unwrap().backend();
    let report = seal(&app, &dpo.token).await;
    match backend {
        // Ids follow commits on SQLite: nothing need wait.
        Backend::Sqlite => assert_eq!(report["sealed"].as_array().unwrap().len(), 1, "{report}"),
        // A transaction still open could commit an event with a lower id than one sealed.
        Backend::Postgres => assert!(report["sealed"].as_array().unwrap().is_empty(), "{report}"),
    }
    // An hour on, everything up to then is sealed, and it verifies.
    app.state.clock.advance(chrono::Duration::seconds(3601));
    let dpo = app.login(&dpo.email).await;
    let later = seal(&app, &dpo.token).await;
    assert!(!later["sealed"].as_array().unwrap().is_empty(), "{later}");
    assert_eq!(verification(&app, &dpo.token, "").await["ok"], true);
}

/// PostgreSQL, no grace: an event whose transaction drew its id before a later event committed,
/// and is still open when the sealer runs, is not left out of a seal (it would verify as
/// `events_added` once it commits): the seal waits until no such transaction is open.
#[actix_web::test]
async fn on_postgresql_a_seal_never_passes_over_an_event_still_to_be_committed() {
    use diesel::Connection;
    if common::postgres_url().is_none() {
        return;
    }
    let app = TestApp::new().await;
    app.department("BARB");
    let dpo = app
        .user(&[Role::DataProtectionOfficer, Role::EngagementOfficer], &[])
        .await;
    seal(&app, &dpo.token).await;
    let mut slow = diesel::pg::PgConnection::establish(&app.state.settings.database.url).unwrap();
    slow.batch_execute(
        "BEGIN; INSERT INTO audit_events (occurred_at, actor, action, outcome) \
         VALUES (now(), 'system:test', 'test.slow', 'success')",
    )
    .unwrap();
    // Later events, committed with higher ids while that transaction is open.
    activity(&app, &dpo.token, "Eve").await;
    let report = seal(&app, &dpo.token).await;
    assert!(report["sealed"].as_array().unwrap().is_empty(), "{report}");

    slow.batch_execute("COMMIT").unwrap();
    let later = seal(&app, &dpo.token).await;
    assert!(!later["sealed"].as_array().unwrap().is_empty(), "{later}");
    let v = verification(&app, &dpo.token, "").await;
    assert_eq!(v["ok"], true, "{v}");
}

#[actix_web::test]
async fn the_schedule_seals_on_its_own() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.flush_audit();
    lighthouse::service::audit_chain::start_schedule(
        app.state.pool.clone(),
        std::time::Duration::from_millis(200),
        chrono::Duration::zero(),
        app.state.clock.clone(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.count("SELECT COUNT(*) AS n FROM audit_seals") == 0 {
        assert!(std::time::Instant::now() < deadline, "no seal within 20 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(verification(&app, &admin.token, "").await["ok"], true);
}

#[actix_web::test]
async fn an_export_of_the_sealed_log_verifies_on_its_own_and_shows_changes() {
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    activity(&app, &officer.token, "Fay").await;
    seal(&app, &admin.token).await;
    activity(&app, &officer.token, "Gus").await;
    let s2 = seal(&app, &admin.token).await["sealed"][0].clone();

    let dir = std::env::temp_dir().join(format!(
        "lighthouse-audit-export-{}",
        lighthouse::service::random_token(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let all = dir.join("all.jsonl");
    let (ok, out) = app.cli(&["audit", "export", "--out", all.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("\"seals\":2"), "{out}");
    let text = std::fs::read_to_string(&all).unwrap();
    let sealed = s2["last_event_id"].as_i64().unwrap();
    let events = text.lines().filter(|l| l.starts_with("{\"event\"")).count() as i64;
    assert_eq!(
        events,
        app.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE id <= {sealed}"))
    );
    // Every event is there whole, as the log holds it.
    assert!(text.contains("\"action\":\"person.read\""), "{text}");
    let (ok, out) = app.cli(&["audit", "check-export", all.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("\"seals_checked\": 2"), "{out}");

    // The next export starts after the last seal written.
    let rest = dir.join("rest.jsonl");
    let (ok, out) = app.cli(&["audit", "export", "--after-seq", "1", "--out", rest.to_str().unwrap()]);
    assert!(ok && out.contains("\"seals\":1"), "{out}");
    let (ok, out) = app.cli(&["audit", "check-export", rest.to_str().unwrap()]);
    assert!(ok && out.contains("\"from_seq\": 2"), "{out}");

    // A copy changed in one event, or with a line dropped, no longer verifies.
    let changed = dir.join("changed.jsonl");
    std::fs::write(
        &changed,
        text.replacen("\"outcome\":\"success\"", "\"outcome\":\"failure\"", 1),
    )
    .unwrap();
    let (ok, out) = app.cli(&["audit", "check-export", changed.to_str().unwrap()]);
    assert!(!ok && out.contains("events_changed"), "{out}");
    let dropped = dir.join("dropped.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    let without: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| *l)
        .collect();
    std::fs::write(&dropped, without.join("\n")).unwrap();
    let (ok, out) = app.cli(&["audit", "check-export", dropped.to_str().unwrap()]);
    assert!(!ok && out.contains("events_removed"), "{out}");
    let garbage = dir.join("garbage.jsonl");
    std::fs::write(&garbage, "{\"seal\": 1}\n").unwrap();
    let (ok, out) = app.cli(&["audit", "check-export", garbage.to_str().unwrap()]);
    assert!(!ok && out.contains("line 1"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[actix_web::test]
async fn with_migrate_on_start_off_a_pending_migration_stops_the_start() {
    let mut settings = common::test_settings(&[]);
    settings.database.migrate_on_start = false;
    let err = lighthouse::open_database(&settings).expect_err("an empty database has every migration pending");
    assert!(err.contains("pending") && err.contains("lighthouse migrate"), "{err}");
    // Once migrated (by the owner), the same settings open it.
    settings.database.migrate_on_start = true;
    lighthouse::open_database(&settings).expect("migrate");
    settings.database.migrate_on_start = false;
    lighthouse::open_database(&settings).expect("nothing pending");
}

/// The service runs as a role that may read the audit log and add to it, and nothing more there
/// (security anchor 65). PostgreSQL only: SQLite has no roles; there the triggers are what refuse
/// changes (`the_log_and_its_seals_refuse_changes`).
#[actix_web::test]
async fn on_postgresql_the_service_role_may_only_add_to_the_audit_log() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let role = format!(
        "lh_app_{}",
        lighthouse::service::random_token(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    );
    let admin_conn = || {
        use diesel::Connection;
        diesel::pg::PgConnection::establish(&base).expect("connect as the owner")
    };
    admin_conn()
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .expect("create the role");

    // The owner migrates and grants; the service then runs as the role, without migrating.
    let owner = TestApp::with_settings(&[("LIGHTHOUSE__DATABASE__APP_ROLE", &role)]).await;
    let mut settings = (*owner.state.settings).clone();
    settings.database.url = settings
        .database
        .url
        .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    assert!(
        settings.database.url.contains(&role),
        "the test database URL names the postgres user"
    );
    settings.database.migrate_on_start = false;
    let app = TestApp::from_settings(settings).await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    activity(&app, &officer.token, "Hal").await;
    let admin = app.admin().await;
    let sealed = seal(&app, &admin.token).await;
    assert_eq!(sealed["sealed"][0]["seq"], 1, "{sealed}");
    assert_eq!(verification(&app, &admin.token, "").await["ok"], true);

    // As the role, directly: the audit tables take no change, other tables do.
    let mut conn = app.state.pool.get().unwrap();
    let statements = [
        "UPDATE audit_events SET outcome = 'failure'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "DELETE FROM audit_event_targets",
        "UPDATE audit_seals SET hash = 'x'",
        "DELETE FROM audit_seals",
        "DELETE FROM __diesel_schema_migrations",
    ];
    refused(&mut conn, &statements, "permission denied");
    // Only the owner alters tables.
    refused(
        &mut conn,
        &["ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"],
        "must be owner",
    );
    conn.batch_execute("UPDATE people SET updated_at = updated_at")
        .expect("other tables are the service's to change");
    drop(conn);
    drop(app);
    drop(owner);

    let mut c = admin_conn();
    let _ = c.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
}
