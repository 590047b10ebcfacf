//! Commits interrupted and resumed: the worker dies between chunks, or after its last chunk
//! before the new people's blocking keys are written; a sweeper picks the batch up again.

use diesel::connection::SimpleConnection;

use super::*;

/// Upload `csv` to BARB, dry run it (every row a new person), then start its commit the way the
/// API does and let the worker die after `chunks` chunks: the batch stays `committing` with a
/// stale heartbeat, for the next sweeper. Returns the import's id.
async fn commit_killed_after(f: &F, csv: String, rows: u64, chunks: usize) -> String {
    let t = &f.officer.token;
    let id = uploaded(&f.app, t, "department=BARB&source_system=crm", csv.into_bytes()).await;
    let v = dry_run(&f.app, t, &id, json!({})).await;
    assert_eq!(v["counts"]["create"], rows, "{v}");
    let batch_id = f
        .app
        .count(&format!("SELECT id AS n FROM import_batches WHERE public_id = '{id}'"));
    let stale = "heartbeat_at = '2000-01-01 00:00:00'";
    let mut conn = f.app.state.pool.get().unwrap();
    conn.batch_execute(&format!(
        "UPDATE import_batches SET status = 'committing', rows_done = 0, {stale} WHERE id = {batch_id}"
    ))
    .unwrap();
    let finished = lighthouse::service::imports::apply::run_chunks(
        &mut conn,
        batch_id,
        &f.app.state.points,
        &f.app.state.settings.matching,
        chunks,
    )
    .unwrap();
    assert!(!finished, "the worker stopped before the end");
    conn.batch_execute(&format!("UPDATE import_batches SET {stale} WHERE id = {batch_id}"))
        .unwrap();
    id
}

/// What any instance's sweeper does: resume the one stale batch, then wait for it to end.
async fn resume(f: &F, id: &str) -> Value {
    let worker = lighthouse::service::imports::runner::Worker {
        pool: f.app.state.pool.clone(),
        matching: f.app.state.settings.matching.clone(),
        points: f.app.state.points.clone(),
    };
    assert_eq!(worker.resume_stale().unwrap(), 1);
    let v = settle(&f.app, &f.officer.token, id).await;
    assert_eq!(v["status"], "committed", "{v}");
    v
}

#[actix_web::test]
async fn a_commit_killed_between_chunks_resumes_and_ends_exactly_as_an_uninterrupted_one() {
    let f = fixture().await;
    let mut csv = String::from("Ref,Forename,Surname,Email\n");
    for i in 0..2_500 {
        csv.push_str(&format!("R{i},Person{i},Family{},p{i}@example.org\n", i % 97));
    }
    let id = commit_killed_after(&f, csv, 2_500, 1).await;
    assert_eq!(
        f.app.count("SELECT COUNT(*) AS n FROM people"),
        1_000,
        "exactly one chunk was committed"
    );
    let v = f.app.get(&format!("/api/v1/imports/{id}"), &f.officer.token).await.body;
    assert_eq!(v["status"], "committing");
    assert_eq!(v["rows_done"], 1_000);
    let v = resume(&f, &id).await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 2_500);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 2_500);
    assert_eq!(
        f.app
            .count("SELECT COUNT(DISTINCT external_id) AS n FROM source_records"),
        2_500
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM import_rows WHERE applied = FALSE"),
        0
    );
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM person_emails"), 2_500);
    assert_eq!(v["counts"]["committed_create"], 2_500, "{v}");
}

#[actix_web::test]
async fn a_commit_killed_after_its_last_chunk_gives_the_new_people_their_keys_on_resume() {
    let f = fixture().await;
    let t = &f.officer.token;
    let mut csv = String::from("Ref,Forename,Surname,Mobile\n");
    for i in 0..1_200 {
        csv.push_str(&format!("R{i},Person{i},Family{},07700 9{i:05}\n", i % 89));
    }
    // Both chunks are applied; the worker dies before the pass that writes the new people's keys.
    let id = commit_killed_after(&f, csv, 1_200, 2).await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 1_200);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM blocking_keys"), 0);
    let v = resume(&f, &id).await;
    assert_eq!(v["counts"]["committed_create"], 1_200, "{v}");
    assert_eq!(
        f.app.count("SELECT COUNT(DISTINCT person_id) AS n FROM blocking_keys"),
        1_200,
        "every new person has keys"
    );
    // And matching finds them: the same person in another department's list is linked.
    let again = uploaded(
        &f.app,
        t,
        "department=OPEN&source_system=other",
        b"Id,First Name,Last Name,Tel\nX1,Person7,Family7,+447700900007\n".to_vec(),
    )
    .await;
    let v = dry_run(&f.app, t, &again, json!({})).await;
    assert_eq!(v["counts"]["link"], 1, "{v}");
}

/// Of two commits asked for at once, one starts; and an import a commit left part-way cannot be
/// dry-run again (that would forget which people its chunks made, which a rollback needs).
#[actix_web::test]
async fn one_commit_starts_and_a_partly_committed_import_keeps_its_rows() {
    let f = fixture().await;
    let t = &f.officer.token;
    let csv = "Ref,Forename,Surname,Email\nR1,Ada,Lovelace,ada@example.org\nR2,Alan,Turing,alan@example.org\n";
    let id = uploaded(&f.app, t, "department=BARB", csv.as_bytes().to_vec()).await;
    dry_run(&f.app, t, &id, json!({})).await;
    let url = format!("/api/v1/imports/{id}/commit");
    let (a, b) = futures_util::future::join(f.app.post(&url, t, json!({})), f.app.post(&url, t, json!({}))).await;
    let mut answers = [a.status.as_u16(), b.status.as_u16()];
    answers.sort_unstable();
    assert_eq!(answers, [202, 409], "{} / {}", a.text, b.text);
    assert_eq!(settle(&f.app, t, &id).await["status"], "committed");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 2);

    let mut big = String::from("Ref,Forename,Surname,Email\n");
    for i in 0..1_500 {
        big.push_str(&format!("S{i},Person{i},Family{},s{i}@example.org\n", i % 97));
    }
    let part = commit_killed_after(&f, big, 1_500, 1).await;
    let mut conn = f.app.state.pool.get().unwrap();
    conn.batch_execute(&format!(
        "UPDATE import_batches SET status = 'failed' WHERE public_id = '{part}'"
    ))
    .unwrap();
    drop(conn);
    let again = f
        .app
        .post(&format!("/api/v1/imports/{part}/dry-run"), t, json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["code"], "partly_committed");
    // Committing again finishes it.
    let r = f
        .app
        .post(&format!("/api/v1/imports/{part}/commit"), t, json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(settle(&f.app, t, &part).await["status"], "committed");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 1_502);
}

/// A rollback that failed part-way starts again where it stopped (a commit that failed does too).
#[actix_web::test]
async fn a_failed_rollback_starts_again() {
    let f = fixture().await;
    let t = &f.officer.token;
    let csv = "Ref,Forename,Surname,Email\nR1,Ada,Lovelace,ada@example.org\nR2,Alan,Turing,alan@example.org\n";
    let id = uploaded(&f.app, t, "department=BARB", csv.as_bytes().to_vec()).await;
    dry_run(&f.app, t, &id, json!({})).await;
    commit(&f.app, t, &id).await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 2);
    // As a rollback whose worker failed before its first chunk leaves it.
    let mut conn = f.app.state.pool.get().unwrap();
    conn.batch_execute(&format!(
        "UPDATE import_batches SET status = 'failed', rows_done = 0, error = 'interrupted' WHERE public_id = '{id}'"
    ))
    .unwrap();
    drop(conn);
    let v = rollback(&f.app, t, &id).await;
    assert_eq!(v["status"], "rolled_back", "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 0);
    // Once rolled back, nothing starts again.
    let again = f
        .app
        .post(&format!("/api/v1/imports/{id}/rollback"), t, json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
}

/// PostgreSQL: a chunk cancelled in a lock cycle is tried again, and the commit ends as if
/// nothing had happened. The cycle is made on purpose: the list's row links to someone merged
/// (after its dry run) into a survivor that another transaction holds; the chunk locks the
/// merged person and waits for the survivor, and that transaction then asks for the merged
/// person, so PostgreSQL cancels the chunk (the first to wait).
#[actix_web::test]
async fn a_chunk_cancelled_in_a_deadlock_is_tried_again() {
    if common::postgres_url().is_none() {
        return;
    }
    let f = fixture().await;
    let t = &f.officer.token;
    let admin = f.app.admin().await;
    let list = |email: &str| format!("Ref,Forename,Surname,Email\nX-1,Ada,Lovelace,{email}\n").into_bytes();
    let first = uploaded(&f.app, t, "department=BARB&file_name=a.csv", list("ada@example.org")).await;
    dry_run(&f.app, t, &first, json!({})).await;
    commit(&f.app, t, &first).await;
    let second = uploaded(&f.app, t, "department=BARB&file_name=b.csv", list("ada.l@example.org")).await;
    assert_eq!(dry_run(&f.app, t, &second, json!({})).await["counts"]["link"], 1);

    let found = f.app.post("/api/v1/people/search", t, json!({"q": "Lovelace"})).await;
    let ada = found.body["items"][0]["id"].as_str().unwrap().to_string();
    let king = f
        .app
        .person(
            t,
            json!({"given_name": "Augusta", "family_name": "King", "departments": ["BARB"]}),
        )
        .await;
    let king = king["id"].as_str().unwrap().to_string();
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{king}/merge"),
            &admin.token,
            json!({"merge": [ada]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id_of = |public: &str| {
        f.app
            .count(&format!("SELECT id AS n FROM people WHERE public_id = '{public}'"))
    };
    let (merged, survivor) = (id_of(&ada), id_of(&king));
    assert!(merged < survivor, "the chunk locks the merged person first");

    let holder = common::PeopleLock::hold(&f.app, survivor, "UPDATE");
    let r = f
        .app
        .post(&format!("/api/v1/imports/{second}/commit"), t, json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    holder.wait_for_a_waiter();
    // Closes the cycle; returns once PostgreSQL has cancelled the chunk (after its
    // deadlock_timeout), then lets go.
    holder.take_then_commit(merged, "UPDATE");

    let v = settle(&f.app, t, &second).await;
    assert_eq!(v["status"], "committed", "{v}");
    assert_eq!(v["counts"]["committed_link"], 1, "{v}");
    assert_eq!(
        f.app.count(&format!(
            "SELECT COUNT(*) AS n FROM source_records WHERE person_id = {survivor} AND data LIKE '%ada.l@%'"
        )),
        1,
        "the row went to the survivor"
    );
}
