//! Rows that meet people already held: links that add without overwriting, suppression that
//! outlives erasure, several rows about one person, and rows sent to review.

use super::*;

/// A person already held (through the API, in OPEN) whom `JON_LIST`'s row describes.
async fn held_jonathan(f: &F) -> Value {
    f.app
        .person(&f.officer.token, json!({"given_name": "Jonathan", "family_name": "Smith", "date_of_birth": "1970-03-02", "phones": [{"number": "07700 900123"}], "addresses": [{"line1": "1 London Wall", "postcode": "EC2V 7HH"}], "departments": ["OPEN"]}))
        .await
}

/// One row describing `held_jonathan` differently, with an email and an organisation they lack.
const JON_LIST: &str = "First Name,Last Name,Email,Mobile,Address Line 1,Postcode,Date of birth,Organisation\n\
    Jon,Smith,jon.smith@example.org,+44 7700 900123,1 London Wall,EC2V7HH,02/03/1970,Guildhall\n";

/// May the newsletter be emailed to this person (the contact check's answer)?
async fn newsletter_check(f: &F, person: &str) -> Value {
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{person}/contact-check"),
            &f.officer.token,
            json!({"purpose": "newsletter", "channel": "email"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// A person held through the API (in OPEN) by name, date of birth and email; their id.
async fn held_jon_by_email(f: &F) -> String {
    let held = f
        .app
        .person(&f.officer.token, json!({"given_name": "Jonathan", "family_name": "Smith", "date_of_birth": "1970-03-02", "emails": [{"address": "jon.smith@btinternet.com"}], "departments": ["OPEN"]}))
        .await;
    held["id"].as_str().unwrap().to_string()
}

/// Upload `list` to BARB with its `Newsletter` column (at `column`) read as consent and dry-run
/// it; returns the import's id and the analysed batch.
async fn dry_run_with_newsletter(f: &F, list: &str, column: usize) -> (String, Value) {
    let t = &f.officer.token;
    let (id, r) = accepted(
        &f.app,
        t,
        "department=BARB&file_name=list.csv",
        list.as_bytes().to_vec(),
    )
    .await;
    let mut mapping = r.body["mapping"].as_array().unwrap().clone();
    mapping.retain(|m| m["header"] != "Newsletter");
    mapping.push(json!({"column": column, "header": "Newsletter", "target": "consent:newsletter"}));
    let v = dry_run(
        &f.app,
        t,
        &id,
        json!({"mapping": mapping, "consents": consent_columns()}),
    )
    .await;
    (id, v)
}

/// [`dry_run_with_newsletter`], then commit; returns the import's id and the committed batch.
async fn import_with_newsletter(f: &F, list: &str, column: usize) -> (String, Value) {
    let (id, _) = dry_run_with_newsletter(f, list, column).await;
    let v = commit(&f.app, &f.officer.token, &id).await;
    (id, v)
}

#[actix_web::test]
async fn a_row_that_is_someone_already_held_links_and_adds_without_overwriting() {
    let f = fixture().await;
    let t = &f.officer.token;
    let held = held_jonathan(&f).await;
    let pid = held["id"].as_str().unwrap().to_string();
    let csv = JON_LIST;
    let id = uploaded(&f.app, t, "department=BARB&file_name=list.csv", csv.as_bytes().to_vec()).await;
    let v = dry_run(&f.app, t, &id, json!({})).await;
    assert_eq!(v["counts"]["link"], 1, "{v}");
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows?outcome=link"), t).await;
    assert_eq!(rows.body["items"][0]["person"], pid.as_str(), "{}", rows.text);
    assert!(rows.body["items"][0]["match_score"].as_f64().unwrap() >= 0.999);
    commit(&f.app, t, &id).await;
    let p = f.app.get(&format!("/api/v1/people/{pid}"), t).await;
    assert_eq!(p.body["given_name"], "Jonathan", "the held name is not overwritten");
    assert_eq!(p.body["organisation"], "Guildhall", "an empty field is filled");
    assert_eq!(p.body["provenance"]["organisation"]["source"], "import");
    assert_eq!(p.body["emails"][0]["address"], "jon.smith@example.org");
    assert_eq!(p.body["departments"], json!(["BARB", "OPEN"]));
    assert_eq!(
        f.app.count("SELECT COUNT(*) AS n FROM people"),
        1,
        "nobody was duplicated"
    );

    // Rolling back takes back exactly what the import gave.
    let r = f
        .app
        .post(&format!("/api/v1/imports/{id}/rollback"), t, json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let v = settle(&f.app, t, &id).await;
    assert_eq!(v["status"], "rolled_back", "{v}");
    let p = f.app.get(&format!("/api/v1/people/{pid}"), t).await;
    assert_eq!(p.body["organisation"], Value::Null, "{}", p.text);
    assert_eq!(p.body["emails"], json!([]));
    assert_eq!(p.body["departments"], json!(["OPEN"]));
    assert_eq!(p.body["given_name"], "Jonathan");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 0);
}

#[actix_web::test]
async fn an_erased_persons_address_stays_suppressed_when_a_list_brings_it_back() {
    let f = fixture().await;
    let t = &f.officer.token;
    let old = f
        .app
        .person(
            t,
            json!({"given_name": "Erin", "family_name": "Gone", "emails": [{"address": "erin.gone@btinternet.com"}]}),
        )
        .await;
    let dpo = f.app.user(&[Role::DataProtectionOfficer], &[]).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/erase", old["id"].as_str().unwrap()),
            &dpo.token,
            json!({"reason": "Art. 17 request"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A departmental list still holds her, with a "yes" to the newsletter.
    let list = "Forename,Surname,E-mail,Newsletter\r\nErin,Gone,Erin.Gone@btinternet.com,yes\r\n";
    let (id, v) = dry_run_with_newsletter(&f, list, 3).await;
    assert_eq!(v["counts"]["create"], 1, "{v}");
    commit(&f.app, t, &id).await;
    let found = f
        .app
        .post("/api/v1/people/list", t, json!({"email": "erin.gone@btinternet.com"}))
        .await;
    let again = found.body["items"][0]["id"]
        .as_str()
        .expect("the list's row became a person")
        .to_string();
    let consents = f.app.get(&format!("/api/v1/people/{again}/consents"), t).await;
    assert_eq!(consents.body["history"][0]["status"], "granted", "{}", consents.text);
    let c = newsletter_check(&f, &again).await;
    assert_eq!(c["allowed"], false, "{c}");
    assert_eq!(c["reason"], "suppressed", "{c}");
}

#[actix_web::test]
async fn rows_adding_to_one_held_person_in_one_chunk_add_in_file_order() {
    let f = fixture().await;
    let t = &f.officer.token;
    let held = held_jonathan(&f).await;
    let pid = held["id"].as_str().unwrap().to_string();
    let version = held["version"].as_i64().unwrap();
    let csv = format!(
        "{JON_LIST}\
         Ada,Lovelace,ada@example.org,,,,,\n\
         Jonathan,Smith,jsmith@work.example.org,07700 900123,1 London Wall,EC2V 7HH,02/03/1970,Barbican Trust\n"
    );
    let id = uploaded(&f.app, t, "department=BARB&file_name=list.csv", csv.as_bytes().to_vec()).await;
    let v = dry_run(&f.app, t, &id, json!({})).await;
    let counts = &v["counts"];
    let to_held = counts["link"].as_i64().unwrap_or(0) + counts["duplicate"].as_i64().unwrap_or(0);
    assert_eq!(to_held, 2, "{v}");
    assert_eq!(counts["create"], 1, "{v}");
    let v = commit(&f.app, t, &id).await;
    assert_eq!(v["counts"]["committed_create"], 1, "{v}");
    let p = f.app.get(&format!("/api/v1/people/{pid}"), t).await;
    assert_eq!(p.body["given_name"], "Jonathan", "{}", p.text);
    assert_eq!(
        p.body["organisation"], "Guildhall",
        "the first row fills the field; the later one does not overwrite it"
    );
    let emails = p.body["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{}", p.text);
    let primary: Vec<&str> = emails
        .iter()
        .filter(|e| e["primary"] == true)
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(primary, ["jon.smith@example.org"], "{}", p.text);
    assert!(
        emails.iter().any(|e| e["address"] == "jsmith@work.example.org"),
        "{}",
        p.text
    );
    assert_eq!(
        p.body["phones"].as_array().unwrap().len(),
        1,
        "the same number is not added twice"
    );
    assert_eq!(
        p.body["addresses"].as_array().unwrap().len(),
        1,
        "the same address is not added twice"
    );
    assert_eq!(p.body["departments"], json!(["BARB", "OPEN"]));
    assert_eq!(p.body["version"], version + 1, "one update for the chunk: {}", p.text);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 2);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM source_records"), 3);
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    let people: Vec<&str> = rows.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["person"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(people[0], pid.as_str(), "{}", rows.text);
    assert_eq!(people[2], pid.as_str(), "{}", rows.text);
    assert_ne!(people[1], pid.as_str());
}

#[actix_web::test]
async fn a_row_that_may_be_someone_held_is_created_and_proposed_for_review_with_them() {
    let f = fixture().await;
    let t = &f.officer.token;
    let held = held_jonathan(&f).await;
    let pid = held["id"].as_str().unwrap().to_string();
    // The same name and dwelling, nothing that settles it either way.
    let csv = "First Name,Last Name,Address Line 1,Postcode\nJonathan,Smith,1 London Wall,EC2V 7HH\n";
    let id = uploaded(
        &f.app,
        t,
        "department=BARB&file_name=maybe.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    let v = dry_run(&f.app, t, &id, json!({})).await;
    assert_eq!(v["counts"]["review"], 1, "{v}");
    commit(&f.app, t, &id).await;
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows?outcome=review"), t).await;
    let new_person = rows.body["items"][0]["person"].as_str().unwrap().to_string();
    assert_ne!(new_person, pid, "a new person is created, not linked");
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 2);
    let m = f.app.get("/api/v1/matches", t).await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["total"], 1, "{}", m.text);
    let item = &m.body["items"][0];
    assert_eq!(item["origin"], "import");
    assert_eq!(item["status"], "pending");
    assert_eq!(item["a"]["id"], pid.as_str(), "the held person is the older record");
    assert_eq!(item["b"]["id"], new_person.as_str());
    assert!(item["explanation"]["contributions"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
}

/// A list's "yes" does not overturn a withdrawal the ledger holds: the list is dated when it is
/// uploaded, not when its answers were given. The answer stays in the history as evidence.
#[actix_web::test]
async fn a_list_cannot_grant_again_what_the_person_withdrew() {
    let f = fixture().await;
    let t = &f.officer.token;
    let pid = held_jon_by_email(&f).await;
    for status in ["granted", "withdrawn"] {
        let r = f
            .app
            .post(
                &format!("/api/v1/people/{pid}/consents"),
                t,
                json!({"purpose": "newsletter", "channel": "email", "status": status, "capture_method": "web_checkbox", "wording_version": 1}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let list =
        "Ref,Forename,Surname,E-mail,DOB,Newsletter\nX-1,Jonathan,Smith,jon.smith@btinternet.com,02/03/1970,yes\n";
    let (_, v) = import_with_newsletter(&f, list, 5).await;
    assert_eq!(v["counts"]["link"], 1, "{v}");
    let consents = f.app.get(&format!("/api/v1/people/{pid}/consents"), t).await;
    let history = consents.body["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|e| e["source"] == "import" && e["status"] == "granted"),
        "the list's answer is kept: {}",
        consents.text
    );
    let check = newsletter_check(&f, &pid).await;
    assert_eq!(check["allowed"], false, "{check}");
    assert_eq!(check["reason"], "withdrawn", "{check}");
}

/// A restricted person (UK GDPR Art. 18) is kept, not processed: a row about them is stored as
/// their source record, but adds nothing to them, and the importer is not shown who they are.
#[actix_web::test]
async fn a_row_about_a_restricted_person_adds_nothing_to_them() {
    let f = fixture().await;
    let t = &f.officer.token;
    let pid = held_jon_by_email(&f).await;
    let dpo = f.app.user(&[Role::DataProtectionOfficer], &[]).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{pid}/restrict"),
            &dpo.token,
            json!({"reason": "Art. 18 request"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = "Ref,Forename,Surname,E-mail,DOB,Mobile,Newsletter\nX-1,Jonathan,Smith,jon.smith@btinternet.com,02/03/1970,07700 900123,yes\n";
    let (id, v) = import_with_newsletter(&f, list, 6).await;
    assert_eq!(v["counts"]["link"], 1, "{v}");
    let rows = f.app.get(&format!("/api/v1/imports/{id}/rows"), t).await;
    assert_eq!(rows.body["items"][0]["outcome"], "link", "{}", rows.text);
    assert!(
        rows.body["items"][0]["person"].is_null(),
        "hidden from the importer: {}",
        rows.text
    );
    let person = f.app.get(&format!("/api/v1/people/{pid}"), &dpo.token).await.body;
    assert_eq!(person["phones"], json!([]), "{person}");
    let consents = f.app.get(&format!("/api/v1/people/{pid}/consents"), &dpo.token).await;
    assert_eq!(consents.body["history"], json!([]), "{}", consents.text);
    assert_eq!(
        f.app.count(&format!(
            "SELECT COUNT(*) AS n FROM source_records s JOIN people p ON p.id = s.person_id \
             WHERE p.public_id = '{pid}' AND s.import_batch_id IS NOT NULL"
        )),
        1,
        "the row is kept as their source record"
    );
}

/// The same rule whichever comes first: a withdrawal recorded after a list's "yes" undoes it even
/// when the person gave it earlier than the list was uploaded (as replaying the ledger in capture
/// order after a merge or rollback would have it).
#[actix_web::test]
async fn a_withdrawal_recorded_after_a_list_grant_undoes_it_whatever_its_date() {
    let f = fixture().await;
    let t = &f.officer.token;
    let list = "Ref,Forename,Surname,E-mail,Newsletter\nX-1,Rosa,Parks,rosa.parks@btinternet.com,yes\n";
    import_with_newsletter(&f, list, 4).await;
    let found = f
        .app
        .post("/api/v1/people/search", t, json!({"q": "rosa.parks@btinternet.com"}))
        .await;
    let pid = found.body["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        newsletter_check(&f, &pid).await["allowed"],
        true,
        "the list's yes counts while nothing says otherwise"
    );
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{pid}/consents"),
            t,
            json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "phone_call",
                "evidence": "Said on the phone in 2020 that she wanted no more emails", "captured_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let after = newsletter_check(&f, &pid).await;
    assert_eq!(after["allowed"], false, "{after}");
    assert_eq!(after["reason"], "withdrawn", "{after}");
}
