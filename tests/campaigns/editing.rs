//! Changing saved segments and templates: allowed while only draft campaigns use them (with
//! `If-Match` against lost updates), refused once a campaign past its draft does, checked like a
//! new one, and audited.

use super::*;
use actix_web::test::TestRequest;

/// PATCH with an `If-Match` header.
async fn patch_if(f: &F, path: &str, tag: &str, body: Value) -> common::Resp {
    let r = TestRequest::default()
        .method(actix_web::http::Method::PATCH)
        .uri(path)
        .insert_header(("authorization", format!("Bearer {}", f.manager.token)))
        .insert_header(("if-match", tag))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_string());
    f.app.send(r).await
}

fn etag(r: &common::Resp) -> String {
    r.headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[actix_web::test]
async fn segments_and_templates_change_while_only_drafts_use_them() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    let c = f.stats(&id).await;
    let seg = format!("/api/v1/segments/{}", c["segment"].as_str().unwrap());
    let tpl = format!("/api/v1/templates/{}", c["template"].as_str().unwrap());

    // Read, then change with the version read: the new version comes back as the ETag.
    let read = f.app.get(&seg, &f.manager.token).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["version"], 1);
    assert_eq!(etag(&read), "\"v1\"");
    let changed = patch_if(
        &f,
        &seg,
        &etag(&read),
        json!({"name": "Residents on the list", "description": "Autumn", "definition": {"and": [{"tag": "newsletter-list"}, {"not": {"tag": "nobody"}}]}}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(etag(&changed), "\"v2\"");
    assert_eq!(changed.body["name"], "Residents on the list");
    assert_eq!(changed.body["description"], "Autumn");
    // A second editor still holding version 1 is told, and nothing changes.
    let stale = patch_if(&f, &seg, "\"v1\"", json!({"name": "Lost update"})).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(
        f.app.get(&seg, &f.manager.token).await.body["name"],
        "Residents on the list"
    );
    // Only what is sent changes; an empty description clears it.
    let partial = f.app.patch(&seg, &f.manager.token, json!({"description": ""})).await;
    assert_eq!(partial.status, 200, "{}", partial.text);
    assert_eq!(partial.body["description"], Value::Null);
    assert_eq!(partial.body["name"], "Residents on the list");
    assert_eq!(partial.body["version"], 3);
    // A change that changes nothing makes no new version (and no audit entry).
    let same = f
        .app
        .patch(&seg, &f.manager.token, json!({"name": "Residents on the list"}))
        .await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.body["version"], 3);
    let empty = f.app.patch(&tpl, &f.manager.token, json!({})).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["version"], 1);
    // A change is checked as a new one is, and a refused change writes nothing.
    let bad = f
        .app
        .patch(
            &seg,
            &f.manager.token,
            json!({"definition": {"field": {"name": "salary", "op": "eq", "value": "1"}}}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.body["errors"][0]["field"]
        .as_str()
        .unwrap()
        .starts_with("definition"));
    let no_link = f
        .app
        .patch(&tpl, &f.manager.token, json!({"html_body": "<p>Hello</p>"}))
        .await;
    assert_eq!(no_link.status, 422, "{}", no_link.text);
    assert_eq!(no_link.body["errors"][0]["field"], "html_body", "{}", no_link.text);
    let t = f.app.get(&tpl, &f.manager.token).await;
    assert_eq!(t.body["html_body"], HTML);
    assert_eq!(t.body["version"], 1);
    let t2 = f
        .app
        .patch(
            &tpl,
            &f.manager.token,
            json!({"subject": "Winter in the City, {{ given_name }}"}),
        )
        .await;
    assert_eq!(t2.status, 200, "{}", t2.text);
    assert_eq!(t2.body["version"], 2);
    assert_eq!(t2.body["html_body"], HTML, "what was not sent stays");
    // Not for someone without the campaigns permission, and not for ids that are not there.
    let officer = f.app.patch(&tpl, &f.officer.token, json!({"name": "x"})).await;
    assert_eq!(officer.status, 403, "{}", officer.text);
    let missing = f
        .app
        .patch(
            "/api/v1/templates/00000000000000000000000000000000",
            &f.manager.token,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);

    // Approved: the segment and template are what was approved and can no longer change.
    f.approve_and_start(&id).await;
    f.drain();
    for path in [&seg, &tpl] {
        let r = f.app.patch(path, &f.manager.token, json!({"name": "Too late"})).await;
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(r.body["code"], "in_use", "{}", r.text);
    }
    // The messages went out with the changed subject, to the changed segment's people.
    let sent = f.sink.messages();
    assert_eq!(sent.len(), 3, "three people have consent");
    assert!(
        sent.iter()
            .all(|m| m.header("Subject").is_some_and(|s| s.starts_with("Winter in the City"))),
        "every message has the changed subject"
    );

    // Each change is in the audit trail.
    let audit = f
        .app
        .get("/api/v1/audit?action=segment.update", &f.app.admin().await.token)
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(2), "{}", audit.text);
}
