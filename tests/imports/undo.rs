//! Rollbacks that must put back what was there before rather than delete: a department's record
//! replaced by a newer copy, and details a merge chose from the list since.

use super::*;

/// Source records of the external id `ext` written by import `batch` whose data contains `text`.
fn records_of(f: &F, ext: &str, batch: &str, text: &str) -> i64 {
    f.app.count(&format!(
        "SELECT COUNT(*) AS n FROM source_records s JOIN import_batches b ON b.id = s.import_batch_id \
         WHERE s.external_id = '{ext}' AND b.public_id = '{batch}' AND s.data LIKE '%{text}%'"
    ))
}

/// Upload `csv` to BARB, dry-run it with the suggested mapping and commit; the import's id and
/// the committed batch.
async fn imported(f: &F, csv: &str) -> (String, Value) {
    let t = &f.officer.token;
    let id = uploaded(&f.app, t, "department=BARB&file_name=list.csv", csv.as_bytes().to_vec()).await;
    dry_run(&f.app, t, &id, json!({})).await;
    let v = commit(&f.app, t, &id).await;
    (id, v)
}

/// The emails of the one person named Lovelace, sorted.
async fn lovelace_emails(f: &F) -> Vec<String> {
    let t = &f.officer.token;
    let found = f.app.post("/api/v1/people/search", t, json!({"q": "Lovelace"})).await;
    let pid = found.body["items"][0]["id"].as_str().unwrap().to_string();
    let p = f.app.get(&format!("/api/v1/people/{pid}"), t).await;
    let mut list: Vec<String> = p.body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["address"].as_str().map(str::to_string))
        .collect();
    list.sort();
    list
}

#[actix_web::test]
async fn a_record_another_list_committed_since_the_dry_run_is_linked_not_taken_and_comes_back() {
    let f = fixture().await;
    let t = &f.officer.token;
    let list = |email: &str| format!("Ref,Forename,Surname,Email\nX-1,Ada,Lovelace,{email}\n").into_bytes();
    let first = uploaded(&f.app, t, "department=BARB&file_name=a.csv", list("ada@example.org")).await;
    let second = uploaded(&f.app, t, "department=BARB&file_name=b.csv", list("ada.l@example.org")).await;
    // Both dry runs see an empty department: each plans a new person.
    assert_eq!(dry_run(&f.app, t, &first, json!({})).await["counts"]["create"], 1);
    assert_eq!(dry_run(&f.app, t, &second, json!({})).await["counts"]["create"], 1);
    commit(&f.app, t, &first).await;

    // The second list's row is now the department's record X-1: it updates that person.
    let v = commit(&f.app, t, &second).await;
    assert_eq!(v["counts"]["committed_link"], 1, "{v}");
    assert!(v["counts"]["committed_create"].is_null(), "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 1, "nobody new");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 1);
    assert_eq!(records_of(&f, "X-1", &second, "ada.l@example.org"), 1);
    assert_eq!(lovelace_emails(&f).await, ["ada.l@example.org", "ada@example.org"]);
    let rows = f.app.get(&format!("/api/v1/imports/{second}/rows"), t).await;
    assert_eq!(rows.body["items"][0]["outcome"], "link", "{}", rows.text);

    // Rolling it back gives the first list its record back; nothing of the first list is lost.
    let v = rollback(&f.app, t, &second).await;
    assert!(v["counts"]["rolled_back_conflicts"].is_null(), "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 1);
    assert_eq!(records_of(&f, "X-1", &first, "ada@example.org"), 1);
    assert_eq!(lovelace_emails(&f).await, ["ada@example.org"]);
}

#[actix_web::test]
async fn a_rollback_puts_back_the_copy_of_a_record_that_the_list_replaced() {
    let f = fixture().await;
    let t = &f.officer.token;
    let (first, v) = imported(&f, "Ref,Forename,Surname,Email\nX-1,Ada,Lovelace,ada@example.org\n").await;
    assert_eq!(v["counts"]["create"], 1, "{v}");
    // The department sends the record again, twice in one file, with other emails.
    let (second, v) = imported(
        &f,
        "Ref,Forename,Surname,Email\nX-1,Ada,Lovelace,ada.l@example.org\nX-1,Ada,Lovelace,ada.byron@example.org\n",
    )
    .await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 1, "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 1, "{v}");
    assert_eq!(records_of(&f, "X-1", &second, "ada.byron@example.org"), 1);

    let v = rollback(&f.app, t, &second).await;
    assert!(v["counts"]["rolled_back_conflicts"].is_null(), "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 1);
    assert_eq!(
        records_of(&f, "X-1", &first, "ada@example.org"),
        1,
        "the first list's copy is back"
    );
    // Row 2 (after the header) of the first list; no trace of the second list's rows.
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM source_records WHERE row_number = 2 AND data NOT LIKE '%ada.l@%'"),
        1
    );
    let found = f.app.post("/api/v1/people/search", t, json!({"q": "Lovelace"})).await;
    let pid = found.body["items"][0]["id"].as_str().unwrap().to_string();
    let p = f.app.get(&format!("/api/v1/people/{pid}"), t).await;
    let emails: Vec<&str> = p.body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["address"].as_str())
        .collect();
    assert_eq!(emails, ["ada@example.org"], "{}", p.text);

    // With its record back, the first list can be rolled back in turn: nobody is left.
    let v = rollback(&f.app, t, &first).await;
    assert_eq!(v["counts"]["rolled_back_removed"], 1, "{v}");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 0);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 0);
}

#[actix_web::test]
async fn a_rollback_leaves_the_details_a_merge_chose_from_the_list_and_says_so() {
    let f = fixture().await;
    let t = &f.officer.token;
    let admin = f.app.admin().await;
    let grace = f
        .app
        .person(t, json!({"given_name": "Grace", "family_name": "Hopper", "date_of_birth": "1906-12-09", "emails": [{"address": "grace.hopper@btinternet.com"}], "departments": ["BARB"]}))
        .await;
    let gid = grace["id"].as_str().unwrap().to_string();
    let (id, v) = imported(
        &f,
        "Forename,Surname,Email,Date of birth,Organisation\nGrace,Hopper,grace.hopper@btinternet.com,09/12/1906,US Navy\n",
    )
    .await;
    assert_eq!(v["counts"]["link"], 1, "{v}");
    let p = f.app.get(&format!("/api/v1/people/{gid}"), t).await;
    assert_eq!(
        p.body["organisation"], "US Navy",
        "an empty field is filled: {}",
        p.text
    );
    // Another record of her, made since, with her organisation of another time.
    let other = f
        .app
        .person(t, json!({"given_name": "Grace", "family_name": "Hopper", "organisation": "Yale", "emails": [{"address": "g.hopper@outlook.com"}], "departments": ["BARB"]}))
        .await;
    let oid = other["id"].as_str().unwrap().to_string();

    // The two Graces are merged into the one who had an organisation, keeping the list's.
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{oid}/merge"),
            &admin.token,
            json!({"merge": [gid], "fields": {"organisation": gid}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["person"]["organisation"], "US Navy", "{}", r.text);

    let v = rollback(&f.app, t, &id).await;
    assert_eq!(v["counts"]["rolled_back_unlinked"], 1, "{v}");
    assert_eq!(v["counts"]["rolled_back_conflicts"], 1, "{v}");
    let p = f.app.get(&format!("/api/v1/people/{oid}"), t).await;
    assert_eq!(
        p.body["organisation"], "US Navy",
        "not emptied: that would lose Yale as well: {}",
        p.text
    );
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 0);
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    assert!(rows.text.contains("rollback_conflict"), "{}", rows.text);
    assert!(rows.text.contains("organisation"), "{}", rows.text);

    // Undoing the merge still puts both back as they were before it.
    let r = f
        .app
        .post(&format!("/api/v1/people/{oid}/unmerge"), &admin.token, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = f.app.get(&format!("/api/v1/people/{oid}"), t).await;
    assert_eq!(p.body["organisation"], "Yale", "{}", p.text);
}

#[actix_web::test]
async fn lists_rolled_back_out_of_order_leave_the_copy_that_was_there_before_them() {
    let f = fixture().await;
    let t = &f.officer.token;
    let list = |email: &str| format!("Ref,Forename,Surname,Email\nX-1,Ada,Lovelace,{email}\n");
    let (first, _) = imported(&f, &list("ada@example.org")).await;
    let (second, _) = imported(&f, &list("ada.l@example.org")).await;
    let (third, _) = imported(&f, &list("ada.c@example.org")).await;
    assert_eq!(records_of(&f, "X-1", &third, "ada.c@example.org"), 1);

    // The middle list first: the third list's copy stays, and the middle list's email goes.
    let v = rollback(&f.app, t, &second).await;
    assert_eq!(v["counts"]["rolled_back_unlinked"], 1, "{v}");
    assert_eq!(records_of(&f, "X-1", &third, "ada.c@example.org"), 1);
    assert_eq!(lovelace_emails(&f).await, ["ada.c@example.org", "ada@example.org"]);

    // Then the last: the first list's copy is back, not the rolled-back middle one.
    rollback(&f.app, t, &third).await;
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 1);
    assert_eq!(records_of(&f, "X-1", &first, "ada@example.org"), 1);
    assert_eq!(lovelace_emails(&f).await, ["ada@example.org"]);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM import_rows WHERE replaced_source IS NOT NULL"),
        0,
        "rollbacks keep no copies"
    );
}
