//! Data-protection rights through HTTP and the CLI: subject access export, erasure, restriction,
//! suppression and retention, checked against the data map and the database itself.

mod common;

use common::{TestApp, User};
use diesel::connection::SimpleConnection;
use lighthouse::service::privacy::datamap::{Link, DATA_MAP, IGNORED_TABLES};
use lighthouse::service::privacy::sql::schema_columns;
use lighthouse::service::Role;
use serde_json::{json, Value};

const NAME: &str = "Featherstonehaugh";
const EMAIL: &str = "quentin.featherstonehaugh.8841@example.org";
const PHONE: &str = "+447700900555";

struct Fixture {
    app: TestApp,
    officer: User,
    dpo: User,
    id: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    app.post("/api/v1/purposes", &admin.token, json!({"code": "newsletter", "description": "News", "category": "marketing", "default_lawful_basis": "consent", "wording": "News by email?"})).await;
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let dpo = app.user(&[Role::DataProtectionOfficer], &[]).await;
    let p = app
        .person(
            &officer.token,
            json!({
                "title": "Dr", "given_name": "Quentin", "family_name": NAME, "date_of_birth": "1961-07-14",
                "organisation": "Worshipful Company of Clockmakers",
                "emails": [{"address": EMAIL}], "phones": [{"number": "07700 900555"}],
                "addresses": [{"line1": "99 Aldermanbury Square", "postcode": "EC2V 7HR"}],
                "tags": ["livery"], "departments": ["BARB"]
            }),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_string();
    let r = app.post(&format!("/api/v1/people/{id}/consents"), &officer.token, json!({"purpose": "newsletter", "channel": "email", "contact_point": EMAIL, "status": "granted", "capture_method": "web_checkbox", "wording_version": 1, "evidence": "Signed up at Featherstonehaugh's request"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post("/api/v1/engagements", &officer.token, json!({"person": id, "kind": "banquet", "department": "BARB", "action": "attended", "occurred_at": "2026-11-09T19:00:00Z", "detail": "Seated beside Featherstonehaugh's guest"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post("/api/v1/rights-requests", &dpo.token, json!({"kind": "access", "person": id, "requester": "Mrs Featherstonehaugh", "channel": "email", "notes": "Featherstonehaugh asked by email"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.get(&format!("/api/v1/people/{id}"), &officer.token).await;
    app.flush_audit();
    Fixture { app, officer, dpo, id }
}

#[actix_web::test]
async fn the_data_map_covers_every_table_and_column() {
    let app = TestApp::new().await;
    let mut conn = app.state.pool.get().unwrap();
    let columns = schema_columns(&mut conn).unwrap();
    let mut tables: Vec<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
    tables.dedup();
    for table in tables.iter().filter(|t| !IGNORED_TABLES.contains(t)) {
        let entry = DATA_MAP
            .iter()
            .find(|e| e.table == *table)
            .unwrap_or_else(|| panic!("table {table} is not in the data map"));
        let actual: Vec<&str> = columns
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, c)| c.as_str())
            .collect();
        assert_eq!(
            actual,
            entry.columns.to_vec(),
            "columns of {table} differ from the data map"
        );
        for p in entry.personal {
            assert!(
                entry.columns.contains(p),
                "{table}.{p} is marked personal but is not a column"
            );
        }
        if !entry.personal.is_empty() && entry.link != Link::None {
            assert!(
                entry.export,
                "{table} holds personal data about residents but is not exported"
            );
        }
    }
    for e in DATA_MAP {
        assert!(
            tables.contains(&e.table),
            "the data map lists {} which does not exist",
            e.table
        );
    }
}

#[actix_web::test]
async fn subject_access_export_holds_everything_in_the_data_map() {
    let f = fixture().await;
    // A page of search results that showed them among others is in their audit trail too.
    let other = f
        .app
        .person(
            &f.officer.token,
            json!({"given_name": "Prudence", "family_name": "Featherby"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = f
        .app
        .post("/api/v1/people/search", &f.officer.token, json!({"q": "feather"}))
        .await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2), "{}", r.text);
    f.app.flush_audit();
    let r = f
        .app
        .get(&format!("/api/v1/people/{}/export", f.id), &f.dpo.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = &r.body;
    assert_eq!(doc["person"]["family_name"], NAME);
    assert_eq!(doc["person"]["provenance"]["family_name"]["source"], "staff");
    assert_eq!(
        doc["consents"]["history"][0]["evidence"],
        "Signed up at Featherstonehaugh's request"
    );
    for entry in DATA_MAP.iter().filter(|e| e.link != Link::None) {
        assert!(entry.export, "{} links to people but is not exported", entry.table);
        let rows = doc["tables"][entry.table]
            .as_array()
            .unwrap_or_else(|| panic!("{} missing from the export", entry.table));
        if [
            "source_records",
            "blocking_keys",
            "match_candidates",
            "merges",
            "import_rows",
            "outbox",
        ]
        .contains(&entry.table)
        {
            continue; // no imports, merges or campaigns in this fixture: present, possibly empty
        }
        assert!(
            !rows.is_empty(),
            "the fixture has rows in {} but the export has none",
            entry.table
        );
        for col in entry.columns {
            let withheld = entry.withheld.contains(col);
            assert_eq!(
                rows.iter().all(|r| r.get(*col).is_none()),
                withheld,
                "{}.{col}: exported columns are all there, withheld ones never",
                entry.table
            );
        }
    }
    let reads = doc["tables"]["audit_events"].as_array().unwrap();
    assert!(
        reads.iter().any(|e| e["action"] == "person.read"),
        "who accessed the data is included"
    );
    assert!(
        reads.iter().any(|e| e["action"] == "person.search_read"),
        "a page of results that showed them is included"
    );
    let shown = doc["tables"]["audit_event_targets"].as_array().unwrap();
    assert!(
        shown.iter().all(|t| t["target_id"] == f.id.as_str()),
        "no one else's id"
    );
    assert!(
        !doc.to_string().contains(&other),
        "the export never names the other person the page of results showed"
    );
    let csv = f
        .app
        .get(&format!("/api/v1/people/{}/export?format=csv", f.id), &f.dpo.token)
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains("attachment"));
    assert!(csv.text.starts_with("section,record,field,value"));
    assert!(csv.text.contains(EMAIL));
    // A value a spreadsheet would run as a formula is made inert (security anchor 34).
    let person = f.app.get(&format!("/api/v1/people/{}", f.id), &f.officer.token).await;
    let r = f
        .app
        .patch(
            &format!("/api/v1/people/{}", f.id),
            &f.officer.token,
            json!({"version": person.body["version"], "organisation": "=HYPERLINK(\"http://evil.example\",\"x\")"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let csv = f
        .app
        .get(&format!("/api/v1/people/{}/export?format=csv", f.id), &f.dpo.token)
        .await;
    assert!(
        csv.text
            .contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{}",
        csv.text
    );
    assert!(!csv.text.contains(",=HYPERLINK"), "{}", csv.text);
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{}/export", f.id), &f.officer.token)
            .await
            .status,
        403
    );
}

fn scan_for(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let url = app.state.settings.database.url.clone();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut conn = app.state.pool.get().unwrap();
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        for file in [path.to_string(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            for n in needles {
                for variant in [n.to_string(), n.to_lowercase()] {
                    if bytes.windows(variant.len()).any(|w| w == variant.as_bytes()) {
                        found.push(format!("{variant} in {file}"));
                    }
                }
            }
        }
    } else {
        let mut conn = app.state.pool.get().unwrap();
        let columns = schema_columns(&mut conn).unwrap();
        let mut tables: Vec<String> = columns.into_iter().map(|(t, _)| t).collect();
        tables.dedup();
        for t in tables {
            for n in needles {
                let q = format!(
                    "SELECT COUNT(*) AS n FROM \"{t}\" x WHERE lower(x::text) LIKE '%{}%'",
                    n.to_lowercase()
                );
                if app.count(&q) > 0 {
                    found.push(format!("{n} in {t}"));
                }
            }
        }
    }
    found
}

#[actix_web::test]
async fn erasure_leaves_no_trace_and_the_id_is_gone() {
    let f = fixture().await;
    assert!(
        !scan_for(&f.app, &[NAME]).is_empty(),
        "the scan finds the data before erasure"
    );
    let bad = f
        .app
        .post(
            &format!("/api/v1/people/{}/erase", f.id),
            &f.dpo.token,
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/erase", f.id),
            &f.dpo.token,
            json!({"reason": "Art. 17 request ref DP-114"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["suppressed"], 2);
    let leftovers = scan_for(
        &f.app,
        &[
            NAME,
            EMAIL,
            PHONE,
            "Quentin",
            "Aldermanbury",
            "Clockmakers",
            "1961-07-14",
        ],
    );
    assert!(leftovers.is_empty(), "personal data left after erasure: {leftovers:?}");
    for path in ["", "/consents"] {
        let r = f
            .app
            .get(&format!("/api/v1/people/{}{path}", f.id), &f.officer.token)
            .await;
        assert_eq!(r.status, 410, "{path}: {}", r.text);
    }
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{}/export", f.id), &f.dpo.token)
            .await
            .status,
        410
    );
    assert_eq!(
        f.app
            .post(
                &format!("/api/v1/people/{}/erase", f.id),
                &f.dpo.token,
                json!({"reason": "again please"})
            )
            .await
            .status,
        410
    );
    // Aggregates stay countable: the department link survives without personal data.
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM person_departments"), 1);
    let admin = f.app.admin().await;
    let audit = f
        .app
        .get(
            &format!("/api/v1/audit?target_id={}&action=person.erase", f.id),
            &admin.token,
        )
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
    assert!(!audit.text.contains(NAME));
}

#[actix_web::test]
async fn suppression_survives_erasure_and_a_new_record_with_the_same_address() {
    let f = fixture().await;
    f.app
        .post(
            &format!("/api/v1/people/{}/erase", f.id),
            &f.dpo.token,
            json!({"reason": "Art. 17 request"}),
        )
        .await;
    let again = f
        .app
        .person(
            &f.officer.token,
            json!({"given_name": "Q", "emails": [{"address": EMAIL.to_uppercase()}], "phones": [{"number": PHONE}]}),
        )
        .await;
    let id = again["id"].as_str().unwrap();
    f.app.post(&format!("/api/v1/people/{id}/consents"), &f.officer.token, json!({"purpose": "newsletter", "channel": "email", "status": "granted", "capture_method": "web_checkbox", "wording_version": 1})).await;
    let c = f
        .app
        .post(
            &format!("/api/v1/people/{id}/contact-check"),
            &f.officer.token,
            json!({"purpose": "newsletter", "channel": "email"}),
        )
        .await;
    assert_eq!(c.body["allowed"], false);
    assert_eq!(c.body["reason"], "suppressed");
    let summary = f.app.get("/api/v1/suppressions", &f.dpo.token).await;
    assert_eq!(summary.body["by_reason"]["erasure"], 2);
    // Staff can suppress on objection; the list holds only hashes.
    let r = f
        .app
        .post(
            "/api/v1/suppressions",
            &f.officer.token,
            json!({"channel": "email", "address": "Objector@Example.org", "reason": "objection"}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM suppressions WHERE point_hash LIKE '%@%'"),
        0
    );
}

#[actix_web::test]
async fn restriction_pauses_processing_and_hides_the_person_from_staff() {
    let f = fixture().await;
    let url = format!("/api/v1/people/{}", f.id);
    let r = f
        .app
        .post(
            &format!("{url}/restrict"),
            &f.dpo.token,
            json!({"reason": "Accuracy contested"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "restricted");
    assert_eq!(f.app.get(&url, &f.officer.token).await.status, 404);
    assert_eq!(f.app.get("/api/v1/people", &f.officer.token).await.body["total"], 0);
    assert_eq!(
        f.app
            .post("/api/v1/people/search", &f.officer.token, json!({"q": EMAIL}))
            .await
            .body["items"],
        json!([])
    );
    assert_eq!(
        f.app.get(&url, &f.dpo.token).await.status,
        200,
        "still visible to the DPO"
    );
    let c = f
        .app
        .post(
            &format!("{url}/contact-check"),
            &f.dpo.token,
            json!({"purpose": "newsletter", "channel": "email"}),
        )
        .await;
    assert_eq!(c.body["reason"], "restricted");
    assert_eq!(
        f.app
            .post(&format!("{url}/restrict"), &f.dpo.token, json!({"reason": "twice"}))
            .await
            .status,
        409
    );
    let r = f
        .app
        .post(
            &format!("{url}/unrestrict"),
            &f.dpo.token,
            json!({"reason": "Resolved"}),
        )
        .await;
    assert_eq!(r.body["status"], "active");
    let c = f
        .app
        .post(
            &format!("{url}/contact-check"),
            &f.officer.token,
            json!({"purpose": "newsletter", "channel": "email"}),
        )
        .await;
    assert_eq!(c.body["allowed"], true);
}

#[actix_web::test]
async fn retention_reports_then_erases_people_past_it() {
    let f = fixture().await;
    let stale = f
        .app
        .person(
            &f.officer.token,
            json!({"given_name": "Old", "family_name": "Record", "emails": [{"address": "old.record@example.org"}]}),
        )
        .await;
    let stale_id = stale["id"].as_str().unwrap().to_string();
    // Someone who only takes part (no consent recorded) is not past retention either.
    let active = f
        .app
        .person(
            &f.officer.token,
            json!({"given_name": "Keen", "family_name": "Volunteer"}),
        )
        .await;
    let active_id = active["id"].as_str().unwrap().to_string();
    let r = f
        .app
        .post(
            "/api/v1/engagements",
            &f.officer.token,
            json!({"person": active_id, "kind": "volunteering", "department": "BARB", "action": "volunteered", "hours": 3.0, "occurred_at": "2026-05-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut conn = f.app.state.pool.get().unwrap();
    // Both people are old; only the one without a live consent is past retention.
    conn.batch_execute("UPDATE people SET updated_at = '2015-01-01 00:00:00'")
        .unwrap();
    drop(conn);
    let (ok, text) = f.app.cli(&["retention", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.contains("would erase 1 people"), "{text}");
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{stale_id}"), &f.officer.token)
            .await
            .status,
        200,
        "a dry run changes nothing"
    );
    let (ok, text) = f.app.cli(&["retention"]);
    assert!(ok, "{text}");
    assert!(text.contains("erased 1 people"), "{text}");
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{active_id}"), &f.officer.token)
            .await
            .status,
        200,
        "recent engagement keeps a person"
    );
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{stale_id}"), &f.officer.token)
            .await
            .status,
        410
    );
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{}", f.id), &f.officer.token)
            .await
            .status,
        200
    );
    let (_, text) = f.app.cli(&["retention"]);
    assert!(text.contains("erased 0 people"), "resumable and idempotent: {text}");
    let admin = f.app.admin().await;
    let audit = f
        .app
        .get(
            &format!("/api/v1/audit?target_id={stale_id}&action=person.erase"),
            &admin.token,
        )
        .await;
    assert_eq!(audit.body["items"][0]["actor"], "retention");
    let _ = Value::Null;
}

#[actix_web::test]
async fn the_service_runs_its_retention_rules_on_its_own_once_a_period() {
    use lighthouse::service::privacy::retention::run_if_due;
    let f = fixture().await;
    let stale = |name: &'static str| {
        let app = &f.app;
        let token = f.officer.token.clone();
        async move {
            let p = app
                .person(&token, json!({"given_name": name, "family_name": "Record"}))
                .await;
            let id = p["id"].as_str().unwrap().to_string();
            let mut conn = app.state.pool.get().unwrap();
            conn.batch_execute(&format!(
                "UPDATE people SET updated_at = '2015-01-01 00:00:00' WHERE public_id = '{id}'"
            ))
            .unwrap();
            id
        }
    };
    let first = stale("Older").await;
    // A session ended long ago goes too.
    let gone = f.app.user(&[Role::Analyst], &[]).await;
    let mut conn = f.app.state.pool.get().unwrap();
    conn.batch_execute(&format!(
        "UPDATE sessions SET revoked_at = '2020-01-01 00:00:00' WHERE user_id = (SELECT id FROM users WHERE email = '{}')",
        gone.email
    ))
    .unwrap();
    let sessions_before = f.app.count("SELECT COUNT(*) AS n FROM sessions");
    let mut settings = f.app.state.settings.retention.clone();
    settings.run_every_hours = 24;
    let points = &f.app.state.points;
    let now = f.app.state.clock.now();

    let report = run_if_due(&mut conn, points, &settings, now)
        .unwrap()
        .expect("the first run is due");
    assert_eq!(report.people, 1);
    assert_eq!(report.sessions_deleted, 1);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM sessions"), sessions_before - 1);
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{first}"), &f.officer.token)
            .await
            .status,
        410
    );
    // Not again within the period, whichever instance asks.
    let second = stale("Newer").await;
    let later = now + chrono::Duration::hours(23);
    assert!(run_if_due(&mut conn, points, &settings, later).unwrap().is_none());
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{second}"), &f.officer.token)
            .await
            .status,
        200
    );
    // Once the period has passed.
    let next = now + chrono::Duration::hours(24);
    let report = run_if_due(&mut conn, points, &settings, next)
        .unwrap()
        .expect("due again");
    assert_eq!(report.people, 1);
    assert_eq!(
        f.app
            .get(&format!("/api/v1/people/{second}"), &f.officer.token)
            .await
            .status,
        410
    );
    // Off: never.
    settings.run_every_hours = 0;
    let much_later = now + chrono::Duration::days(30);
    assert!(run_if_due(&mut conn, points, &settings, much_later).unwrap().is_none());
    drop(conn);
    let admin = f.app.admin().await;
    let audit = f.app.get("/api/v1/audit?action=retention.run", &admin.token).await;
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(2), "{}", audit.text);
    assert_eq!(audit.body["items"][0]["actor"], "retention");
}
