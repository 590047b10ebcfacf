//! Uploads never committed do not keep their files: a retention run deletes them after
//! `retention.uncommitted_import_days`, and such a batch can no longer be dry-run or committed.
//! Finished imports keep what a rollback needs but, after `retention.import_report_days`, not
//! what their rows quoted from the file.

use super::*;

const ONE: &str = "Forename,Surname,Email\nAda,Lovelace,ada.lovelace@btinternet.com\n";
const TWO: &str = "Forename,Surname,Email\nAlan,Turing,alan.turing@btinternet.com\n";
const THREE: &str =
    "Ref,Forename,Surname,Email\nG-1,Grace,Hopper,grace.hopper@btinternet.com\nG-2,Ada,Byron,not-an-email\n";

#[actix_web::test]
async fn a_retention_run_deletes_the_files_of_imports_never_committed() {
    let f = fixture().await;
    let t = &f.officer.token;
    let uploaded_only = uploaded(&f.app, t, "department=BARB&file_name=one.csv", ONE.as_bytes().to_vec()).await;
    let analysed = uploaded(&f.app, t, "department=BARB&file_name=two.csv", TWO.as_bytes().to_vec()).await;
    dry_run(&f.app, t, &analysed, json!({})).await;
    let done = uploaded(
        &f.app,
        t,
        "department=BARB&file_name=three.csv",
        THREE.as_bytes().to_vec(),
    )
    .await;
    dry_run(&f.app, t, &done, json!({})).await;
    commit(&f.app, t, &done).await;
    // Nothing is old enough yet.
    let (ok, text) = f.app.cli(&["retention", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.contains("would delete the files of 0 imports"), "{text}");
    assert!(text.contains("would clear the row reports of 0 imports"), "{text}");
    let quoted = "SELECT COUNT(*) AS n FROM import_rows WHERE problems <> '[]' OR external_id IS NOT NULL";
    assert!(f.app.count(quoted) > 0, "the committed rows quote their file");
    {
        use diesel::connection::SimpleConnection;
        let mut conn = f.app.state.pool.get().unwrap();
        conn.batch_execute(
            "UPDATE import_batches SET updated_at = '2020-01-01 00:00:00'; \
             UPDATE import_batches SET committed_at = '2020-01-01 00:00:00' WHERE committed_at IS NOT NULL",
        )
        .unwrap();
    }
    let (ok, text) = f.app.cli(&["retention", "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.contains("would delete the files of 2 imports"), "{text}");
    assert!(
        f.app.count("SELECT COUNT(*) AS n FROM import_file_chunks") > 0,
        "a dry run deletes nothing"
    );
    let (ok, text) = f.app.cli(&["retention"]);
    assert!(ok, "{text}");
    assert!(text.contains("deleted the files of 2 imports"), "{text}");
    assert!(text.contains("cleared the row reports of 1 imports"), "{text}");
    assert_eq!(f.app.count(quoted), 0, "no row quotes its file any more");
    let rows = f.app.get(&format!("/api/v1/imports/{done}/rows"), t).await;
    assert_eq!(rows.body["items"].as_array().map(Vec::len), Some(2), "{}", rows.text);
    assert!(
        rows.body["items"][0]["person"].is_string(),
        "outcomes and people stay: {}",
        rows.text
    );
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM import_file_chunks"), 0);
    assert_eq!(
        f.app.count("SELECT COUNT(*) AS n FROM import_rows r JOIN import_batches b ON b.id = r.batch_id WHERE b.committed_at IS NULL"),
        0,
        "the dry run's rows go too"
    );
    for id in [&uploaded_only, &analysed] {
        let b = f.app.get(&format!("/api/v1/imports/{id}"), t).await.body;
        assert_eq!(b["status"], "failed", "{b}");
        assert!(b["error"].as_str().unwrap_or("").starts_with("discarded"), "{b}");
    }
    let again = f
        .app
        .post(&format!("/api/v1/imports/{uploaded_only}/dry-run"), t, json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["code"], "file_discarded");
    let again = f
        .app
        .post(&format!("/api/v1/imports/{analysed}/commit"), t, json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    // The committed import is as it was, and each discard is audited.
    assert_eq!(
        f.app.get(&format!("/api/v1/imports/{done}"), t).await.body["status"],
        "committed"
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'import.discard'"),
        2
    );
}
