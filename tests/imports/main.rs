//! Imports through HTTP: upload, dry run, commit, re-import, bad files, the error report,
//! rollback (and its refusal), department scope and attendance lists; rows that meet people
//! already held (`held`); commits interrupted and resumed (`resume`); rollbacks that put back
//! what was there before (`undo`).

#[path = "../common/mod.rs"]
mod common;
mod discard;
mod held;
mod resume;
mod undo;

use actix_web::test::TestRequest;
use common::{Resp, TestApp, User};
use lighthouse::service::Role;
use serde_json::{json, Value};

async fn upload(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> Resp {
    let r = TestRequest::post()
        .uri(&format!("/api/v1/imports?{query}"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "text/csv"))
        .set_payload(body);
    app.send(r).await
}

/// Upload `body`, which must be accepted; returns the import's id.
async fn uploaded(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> String {
    accepted(app, token, query, body).await.0
}

/// Upload `body`, which must be accepted; returns the import's id and the answer.
async fn accepted(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> (String, Resp) {
    let r = upload(app, token, query, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["id"].as_str().unwrap().to_string(), r)
}

/// Wait for a running phase to end; returns the import.
async fn settle(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..400 {
        let r = app.get(&format!("/api/v1/imports/{id}"), token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if !matches!(
            r.body["status"].as_str(),
            Some("analysing" | "committing" | "rolling_back")
        ) {
            return r.body;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the import did not finish");
}

/// Start a phase (`dry-run`, `commit`, `rollback`), which must be accepted, and wait for it to
/// end with `status`; returns the import.
async fn phase(app: &TestApp, token: &str, id: &str, action: &str, body: Value, status: &str) -> Value {
    let r = app.post(&format!("/api/v1/imports/{id}/{action}"), token, body).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let v = settle(app, token, id).await;
    assert_eq!(v["status"], status, "{v}");
    v
}

async fn dry_run(app: &TestApp, token: &str, id: &str, body: Value) -> Value {
    phase(app, token, id, "dry-run", body, "analysed").await
}

async fn commit(app: &TestApp, token: &str, id: &str) -> Value {
    phase(app, token, id, "commit", json!({}), "committed").await
}

async fn rollback(app: &TestApp, token: &str, id: &str) -> Value {
    phase(app, token, id, "rollback", json!({}), "rolled_back").await
}

const LIST: &str = "\u{feff}Ref;Forename;Surname;E-mail;Mobile;Postcode;DOB;Newsletter\r\n\
B-1;jon;SMITH;jon.smith@example.org;07700 900123;ec2v7hh;02/03/1970;yes\r\n\
B-2;Mary;Jones;mary@example.org;07700 900222;EC1A 1BB;11/12/1981;no\r\n\
B-3;\"Ann \"\"Nan\"\"\";O'Neil;ann@example;07700 900333;SW1A 1AA;;\r\n\
B-4;;;;;;;\r\n\
B-2;Mary;Jones;mary@example.org;07700 900222;EC1A 1BB;11/12/1981;no\r\n\
=HYPERLINK(\"http://evil.example\");;;;;;;\r\n";

struct F {
    app: TestApp,
    officer: User,
}

async fn fixture() -> F {
    let app = TestApp::new().await;
    app.department("BARB");
    app.department("OPEN");
    let admin = app.admin().await;
    let r = app
        .post("/api/v1/purposes", &admin.token, json!({"code": "newsletter", "description": "News", "category": "marketing", "default_lawful_basis": "consent", "wording": "News?"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    F { app, officer }
}

fn consent_columns() -> Value {
    json!({"newsletter": {"purpose": "newsletter", "channel": "email", "capture_method": "paper_form", "evidence": "2019 Barbican sign-up sheet"}})
}

#[actix_web::test]
async fn a_list_is_dry_run_then_committed_exactly_and_a_reimport_changes_nothing() {
    let f = fixture().await;
    let t = &f.officer.token;
    let (id, r) = accepted(
        &f.app,
        t,
        "department=BARB&file_name=barbican.csv&source_system=box-office",
        LIST.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.body["rows_total"], 6);
    assert_eq!(r.body["file_kind"], "csv");
    let targets: Vec<&str> = r.body["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    for t in [
        "external_id",
        "given_name",
        "family_name",
        "email",
        "mobile",
        "postcode",
        "date_of_birth",
    ] {
        assert!(targets.contains(&t), "{t} suggested: {targets:?}");
    }
    // The consent column must be declared before it can be read.
    let mut mapping = r.body["mapping"].as_array().unwrap().clone();
    mapping.retain(|m| m["header"] != "Newsletter");
    mapping.push(json!({"column": 7, "header": "Newsletter", "target": "consent:newsletter"}));
    let bad = f
        .app
        .post(&format!("/api/v1/imports/{id}/dry-run"), t, json!({"mapping": mapping}))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let v = dry_run(
        &f.app,
        t,
        &id,
        json!({"mapping": mapping, "consents": consent_columns(), "save_template": "box office"}),
    )
    .await;
    let counts = &v["counts"];
    assert_eq!(counts["create"], 3, "{v}");
    assert_eq!(counts["reject"], 2, "{v}");
    assert_eq!(counts["duplicate"], 1, "{v}");
    assert_eq!(counts["warnings"], 1, "the invalid email is a warning: {v}");
    assert_eq!(
        f.app.count("SELECT COUNT(*) AS n FROM people"),
        0,
        "a dry run changes no one"
    );

    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    assert_eq!(rows.status, 200, "{}", rows.text);
    let outcomes: Vec<&str> = rows.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["create", "create", "create", "reject", "duplicate", "reject"]
    );
    assert_eq!(rows.body["items"][4]["duplicate_of"], 3);

    let v = commit(&f.app, t, &id).await;
    assert_eq!(v["counts"]["committed_create"], 3, "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 3);
    // One source record per departmental record: the repeated B-2 row is the same record.
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 3);
    assert_eq!(
        f.app.count("SELECT COUNT(*) AS n FROM import_file_chunks"),
        0,
        "the file is not kept"
    );
    let found = f
        .app
        .post("/api/v1/people/search", t, json!({"q": "jon.smith@example.org"}))
        .await;
    let jid = found.body["items"][0]["id"].as_str().unwrap().to_string();
    let jon = f.app.get(&format!("/api/v1/people/{jid}"), t).await.body;
    assert_eq!(jon["given_name"], "Jon", "{}", found.text);
    assert_eq!(jon["phones"][0]["number"], "+447700900123");
    assert_eq!(jon["departments"], json!(["BARB"]));
    assert_eq!(jon["provenance"]["given_name"]["source"], "import", "{jon}");
    let consents = f.app.get(&format!("/api/v1/people/{jid}/consents"), t).await;
    assert_eq!(consents.body["history"][0]["status"], "granted", "{}", consents.text);
    assert_eq!(consents.body["history"][0]["source"], "import");
    let mary = f
        .app
        .post("/api/v1/people/search", t, json!({"q": "mary@example.org"}))
        .await;
    let mid = mary.body["items"][0]["id"].as_str().unwrap();
    let consents = f.app.get(&format!("/api/v1/people/{mid}/consents"), t).await;
    assert_eq!(
        consents.body["history"][0]["status"], "refused",
        "no is recorded as refused, never as consent"
    );

    // The saved template is listed for the department.
    let saved = f.app.get("/api/v1/import-templates?department=BARB", t).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body[0]["name"], "box office", "{}", saved.text);
    assert!(!saved.body[0]["mapping"].as_array().unwrap().is_empty());
    let none = f.app.get("/api/v1/import-templates?department=NOPE", t).await;
    assert_eq!(none.status, 422, "{}", none.text);

    // The same file again, with the saved template: nothing changes.
    let again = uploaded(
        &f.app,
        t,
        "department=BARB&file_name=barbican.csv&source_system=box-office&template=box%20office",
        LIST.as_bytes().to_vec(),
    )
    .await;
    let v = dry_run(&f.app, t, &again, json!({})).await;
    assert_eq!(v["counts"]["unchanged"], 3, "{v}");
    assert_eq!(v["counts"].get("create"), None, "{v}");
    commit(&f.app, t, &again).await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 3);

    // A newer export in which B-1 has a new email: the department's record of B-1 is replaced
    // (not doubled) and the person gains the address.
    let newer = LIST.replace("jon.smith@example.org", "jon@smith.example.net");
    let newest = uploaded(
        &f.app,
        t,
        "department=BARB&file_name=barbican-2.csv&source_system=box-office&template=box%20office",
        newer.into_bytes(),
    )
    .await;
    let v = dry_run(&f.app, t, &newest, json!({})).await;
    assert_eq!(v["counts"]["link"], 1, "{v}");
    commit(&f.app, t, &newest).await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 3);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 3);
    assert_eq!(
        f.app.count(
            "SELECT COUNT(*) AS n FROM source_records WHERE external_id = 'B-1' AND data LIKE '%jon@smith.example.net%'"
        ),
        1
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM person_emails WHERE address = 'jon@smith.example.net'"),
        1
    );

    // The error report names the rejected and warned rows; formulas are made inert.
    let report = f.app.get(&format!("/api/v1/imports/{id}/errors"), t).await;
    assert_eq!(report.status, 200);
    assert!(report.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        report
            .text
            .starts_with("row,external_id,outcome,severity,column,code,message"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("\n5,B-4,reject,error,,no_identity"),
        "{}",
        report.text
    );
    assert!(report.text.contains("\n4,B-3,create,warning,E-mail"), "{}", report.text);
    assert!(
        report.text.contains("\n7,\"'=HYPERLINK"),
        "a formula is made inert: {}",
        report.text
    );
    // Both reads are audited; the rows' page names the people it showed.
    f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    f.app.flush_audit();
    let read = |action: &str| {
        f.app.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND outcome = 'success'"
        ))
    };
    assert_eq!(read("import.errors.read"), 1);
    assert!(read("import.rows.read") >= 2);
    assert!(
        f.app
            .count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'import.rows.read' AND targets IS NOT NULL")
            >= 1,
        "a page after the commit names its people"
    );
}

#[actix_web::test]
async fn rollback_removes_what_it_created_unless_someone_changed_it_since() {
    let f = fixture().await;
    let t = &f.officer.token;
    let csv = "Forename,Surname,Email\nAda,Lovelace,ada@example.org\nAlan,Turing,alan@example.org\n";
    let id = uploaded(&f.app, t, "department=BARB&file_name=a.csv", csv.as_bytes().to_vec()).await;
    dry_run(&f.app, t, &id, json!({})).await;
    commit(&f.app, t, &id).await;
    let found = f
        .app
        .post("/api/v1/people/search", t, json!({"q": "alan@example.org"}))
        .await;
    let aid = found.body["items"][0]["id"].as_str().unwrap();
    let alan = f.app.get(&format!("/api/v1/people/{aid}"), t).await.body;
    let r = f
        .app
        .patch(
            &format!("/api/v1/people/{aid}"),
            t,
            json!({"version": alan["version"], "organisation": "Bletchley Park"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Ada made a data-protection request since: the register is evidence, and keeps her.
    let ada = f
        .app
        .post("/api/v1/people/search", t, json!({"q": "ada@example.org"}))
        .await;
    let ada = ada.body["items"][0]["id"].as_str().unwrap().to_string();
    let dpo = f.app.user(&[Role::DataProtectionOfficer], &[]).await;
    let req = f
        .app
        .post(
            "/api/v1/rights-requests",
            &dpo.token,
            json!({"kind": "access", "person": ada, "requester": "Ada", "channel": "email"}),
        )
        .await;
    assert_eq!(req.status, 201, "{}", req.text);
    let v = rollback(&f.app, t, &id).await;
    assert!(v["counts"]["rolled_back_removed"].is_null(), "nobody removed: {v}");
    assert_eq!(v["counts"]["rolled_back_conflicts"], 2, "{v}");
    assert_eq!(
        f.app.get(&format!("/api/v1/people/{aid}"), t).await.status,
        200,
        "Alan was changed since: kept"
    );
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 2);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM rights_requests WHERE person_id IS NOT NULL"),
        1
    );
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    assert!(rows.text.contains("rollback_conflict"), "{}", rows.text);
    // A rolled-back import cannot be committed or rolled back again.
    let r = f
        .app
        .post(&format!("/api/v1/imports/{id}/rollback"), t, json!({}))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
}

#[actix_web::test]
async fn bad_files_get_clear_answers_and_never_a_500() {
    let f = fixture().await;
    let t = &f.officer.token;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let wide = {
        let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
        format!("{}\n", header.join(",")).into_bytes()
    };
    let big_field = format!("Forename,Notes\nAda,\"{}\"\n", "x".repeat(1_100_000)).into_bytes();
    for (name, body, code) in [
        ("empty", Vec::new(), "empty_file"),
        ("png", png, "binary_file"),
        ("wide", wide, "too_many_columns"),
    ] {
        let r = upload(&f.app, t, &format!("department=BARB&file_name={name}.csv"), body).await;
        assert_eq!(r.status, 422, "{name}: {}", r.text);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{name}"
        );
        assert!(r.text.contains(code) || r.text.contains("file"), "{name}: {}", r.text);
    }
    // A 1 MB field: the row is refused, the file is not.
    let r = upload(&f.app, t, "department=BARB&file_name=big.csv", big_field).await;
    assert!(r.status == 201 || r.status == 422, "{}", r.text);
    // Unknown department, missing department, someone else's import.
    let r = upload(&f.app, t, "department=NOPE", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = upload(&f.app, t, "file_name=x.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = f.app.get("/api/v1/imports/0123456789abcdef0123456789abcdef", t).await;
    assert_eq!(r.status, 404);
    // A mapping that names a field that does not exist.
    let id = uploaded(&f.app, t, "department=BARB", b"Forename\nAda\n".to_vec()).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/imports/{id}/dry-run"),
            t,
            json!({"mapping": [{"column": 0, "header": "Forename", "target": "shoe_size"}]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("mapping[0].target"), "{}", r.text);
    let r = f.app.post(&format!("/api/v1/imports/{id}/commit"), t, json!({})).await;
    assert_eq!(r.status, 409, "no commit before a dry run: {}", r.text);
}

#[actix_web::test]
async fn uploads_over_the_limit_are_refused() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__IMPORTS__MAX_UPLOAD_BYTES", "2048")]).await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let body = format!("Forename\n{}", "Ada\n".repeat(1000)).into_bytes();
    let r = upload(&app, &officer.token, "department=BARB", body).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM import_batches"), 0);
}

#[actix_web::test]
async fn department_editors_import_only_for_their_departments() {
    let f = fixture().await;
    let editor = f.app.user(&[Role::DepartmentEditor], &["BARB"]).await;
    let r = upload(&f.app, &editor.token, "department=OPEN", b"Forename\nAda\n".to_vec()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("out_of_scope"), "{}", r.text);
    let theirs = upload(&f.app, &f.officer.token, "department=OPEN", b"Forename\nAda\n".to_vec()).await;
    let id = theirs.body["id"].as_str().unwrap();
    assert_eq!(
        f.app.get(&format!("/api/v1/imports/{id}"), &editor.token).await.status,
        404
    );
    let mine = upload(
        &f.app,
        &editor.token,
        "department=BARB",
        b"Forename,Surname\nAda,Lovelace\n".to_vec(),
    )
    .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    let theirs = f
        .app
        .get("/api/v1/import-templates?department=OPEN", &editor.token)
        .await;
    assert_eq!(theirs.status, 422, "another department's templates: {}", theirs.text);
    let list = f.app.get("/api/v1/imports", &editor.token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "{}", list.text);
    let analyst = f.app.user(&[Role::Analyst], &[]).await;
    assert_eq!(f.app.get("/api/v1/imports", &analyst.token).await.status, 403);
}

#[actix_web::test]
async fn an_attendance_list_logs_engagement_once_and_rolls_back() {
    let f = fixture().await;
    let t = &f.officer.token;
    let activity = f
        .app
        .post(
            "/api/v1/activities",
            t,
            json!({"kind": "banquet", "title": "Lord Mayor's Banquet", "department": "OPEN", "starts_at": "2026-11-09T19:00:00Z"}),
        )
        .await;
    assert_eq!(activity.status, 201, "{}", activity.text);
    let aid = activity.body["id"].as_str().unwrap().to_string();
    // Ada is already held; Grace is new.
    let ada = f
        .app
        .person(t, json!({"given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "1985-12-10", "emails": [{"address": "ada.lovelace@analytical-engine.co.uk"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let csv = "Forename,Surname,Email,DOB\nAda,Lovelace,ada.lovelace@analytical-engine.co.uk,10/12/1985\nGrace,Hopper,grace.hopper@cobol-navy.co.uk,09/12/1956\n";
    let id = uploaded(
        &f.app,
        t,
        "department=BARB&file_name=guests.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    let bad = f
        .app
        .post(
            &format!("/api/v1/imports/{id}/dry-run"),
            t,
            json!({"attendance": {"activity": aid, "action": "partied"}}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["field"], "attendance.action");
    let v = dry_run(&f.app, t, &id, json!({"attendance": {"activity": aid}})).await;
    assert_eq!(v["attendance"]["action"], "attended", "{v}");
    commit(&f.app, t, &id).await;
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    assert_eq!(rows.body["items"][0]["outcome"], "link", "{}", rows.text);
    let timeline = f.app.get(&format!("/api/v1/people/{ada}/timeline"), t).await;
    assert_eq!(timeline.body["items"][0]["action"], "attended", "{}", timeline.text);
    assert_eq!(timeline.body["items"][0]["occurred_at"], "2026-11-09T19:00:00Z");
    assert_eq!(timeline.body["items"][0]["activity"]["title"], "Lord Mayor's Banquet");
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM engagement_events WHERE action = 'attended'"),
        2
    );
    // The same list imported again records each attendance once.
    let again = uploaded(
        &f.app,
        t,
        "department=BARB&file_name=guests-again.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    dry_run(&f.app, t, &again, json!({"attendance": {"activity": aid}})).await;
    commit(&f.app, t, &again).await;
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM engagement_events WHERE action = 'attended'"),
        2
    );
    // Rolling back the first list takes its attendances back and removes Grace.
    rollback(&f.app, t, &id).await;
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM engagement_events WHERE action = 'attended'"),
        0
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM people WHERE given_name = 'Grace'"),
        0
    );
}
