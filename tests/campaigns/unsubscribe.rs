//! One-click unsubscribe (also through a record merged since the message) and bounce notices:
//! what the recipient and the mail system say back.

use super::*;

#[actix_web::test]
async fn unsubscribe_get_shows_a_page_post_withdraws_and_queued_messages_are_skipped() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&id).await;
    f.drain();
    let m = f
        .sink
        .messages()
        .into_iter()
        .find(|m| m.rcpt_to == vec![f.people[0].1.clone()])
        .unwrap();
    let list = m.header("List-Unsubscribe").unwrap();
    let url = list.trim_start_matches('<').split('>').next().unwrap().to_string();
    let path = url.trim_start_matches("https://crm.city.test");
    let page = f.app.req("GET", path, None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<form method=\"post\">"), "{}", page.text);
    // Not framed (click-jacking the button), no scripts, no other base.
    let csp = page.header("content-security-policy").unwrap();
    for rule in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(rule), "{csp} lacks {rule}");
    }
    assert!(!csp.contains("script-src"), "{csp}");
    assert_eq!(page.header("x-content-type-options").as_deref(), Some("nosniff"));
    // GET changed nothing.
    assert_eq!(f.stats(&id).await["stats"]["unsubscribed"], 0);
    let post = f.app.req("POST", path, None, None).await;
    assert_eq!(post.status, 200, "{}", post.text);
    assert_eq!(post.body["recorded"], true);
    assert!(post.headers.get("location").is_none());
    let again = f.app.req("POST", path, None, None).await;
    assert_eq!(again.body["recorded"], false);
    assert_eq!(f.stats(&id).await["stats"]["unsubscribed"], 1);
    // The page's own button (its form names itself) gets a page back, not JSON.
    assert!(page.text.contains("name=\"from\" value=\"page\""), "{}", page.text);
    let button = actix_web::test::TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload("from=page");
    let shown = f.app.send(button).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    assert!(
        shown.text.contains("You had already unsubscribed from emails about"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("on in the City"),
        "the purpose's description: {}",
        shown.text
    );
    let last = if path.ends_with('A') { 'B' } else { 'A' };
    let tampered = format!("{}{last}", &path[..path.len() - 1]);
    assert_eq!(f.app.req("POST", &tampered, None, None).await.status, 404);
    // A second campaign queued for the same person: the withdrawal wins at send time.
    let second = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&second).await;
    f.drain();
    let stats = f.stats(&second).await;
    assert_eq!(stats["stats"]["sent"], 2, "{stats}");
    assert_eq!(stats["stats"]["skipped"]["withdrawn"], 2, "{stats}");
}

#[actix_web::test]
async fn an_unsubscribe_after_a_merge_withdraws_the_survivor() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&id).await;
    f.drain();
    let (merged, survivor) = (&f.people[1].0, &f.people[0].0);
    let m = f
        .sink
        .messages()
        .into_iter()
        .find(|m| m.rcpt_to == vec![f.people[1].1.clone()])
        .unwrap();
    let list = m.header("List-Unsubscribe").unwrap();
    let url = list.trim_start_matches('<').split('>').next().unwrap().to_string();
    let path = url.trim_start_matches("https://crm.city.test").to_string();
    // The record the message went to is merged away before the person clicks.
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{survivor}/merge"),
            &f.officer.token,
            json!({"merge": [merged]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let check = |who: &str| {
        let path = format!("/api/v1/people/{who}/contact-check");
        let body = json!({"purpose": "newsletter", "channel": "email"});
        let f = &f;
        async move { f.app.post(&path, &f.officer.token, body).await.body }
    };
    assert_eq!(check(survivor).await["allowed"], true);
    let post = f.app.req("POST", &path, None, None).await;
    assert_eq!(post.status, 200, "{}", post.text);
    assert_eq!(post.body["recorded"], true);
    let after = check(survivor).await;
    assert_eq!(after["allowed"], false, "{after}");
    assert_eq!(after["reason"], "withdrawn");
    // Undone, the merge gives the withdrawal back to the record the message went to.
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{survivor}/unmerge"),
            &f.officer.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mine = check(merged).await;
    assert_eq!(mine["allowed"], false, "{mine}");
    assert_eq!(mine["reason"], "withdrawn", "{mine}");
    assert_eq!(check(survivor).await["allowed"], true, "the survivor never asked");
    assert_eq!(
        f.app.count(&format!(
            "SELECT COUNT(*) AS n FROM consent_events e JOIN people p ON p.id = e.person_id \
             WHERE p.public_id = '{merged}' AND e.source = 'unsubscribe'"
        )),
        1
    );
}

#[actix_web::test]
async fn temporary_failures_retry_and_hard_bounces_suppress() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&id).await;
    f.sink.set_mode(SinkMode::TempFail);
    f.drain();
    assert_eq!(f.sink.count(), 0);
    let stats = f.stats(&id).await;
    assert_eq!(stats["stats"]["queued"], 3, "retried later: {stats}");
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM outbox WHERE attempts = 1 AND status = 'queued'"),
        3
    );
    // The retry time comes; the server has recovered.
    let due = "UPDATE outbox SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'queued' RETURNING CAST(0 AS BIGINT) AS n";
    f.app.count(due);
    f.sink.set_mode(SinkMode::Accept);
    f.drain();
    assert_eq!(f.sink.count(), 3, "each once after recovery");
    let m = &f.sink.messages()[0];
    let reference = m.header("X-Lighthouse-Message").unwrap();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.test\r\nTo: news@city.test\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\n\
         Content-Type: text/plain\r\n\r\nFailed.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nX-Lighthouse-Message: {reference}\r\n\r\n--B--\r\n",
        m.rcpt_to[0]
    );
    let req = actix_web::test::TestRequest::post()
        .uri("/api/v1/bounces")
        .insert_header(("Authorization", format!("Bearer {}", f.manager.token)))
        .insert_header(("Content-Type", "message/rfc822"))
        .set_payload(dsn.clone());
    let r = f.app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["matched"], 1);
    assert_eq!(r.body["suppressed"], 1);
    // A notice carrying a large original message (past actix's default 256 KiB body limit) is
    // read as well; every notice is audited.
    let big = format!("{dsn}{}\r\n", "original message line\r\n".repeat(20_000));
    let req = actix_web::test::TestRequest::post()
        .uri("/api/v1/bounces")
        .insert_header(("Authorization", format!("Bearer {}", f.manager.token)))
        .insert_header(("Content-Type", "message/rfc822"))
        .set_payload(big);
    let r = f.app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["bounces"], 1, "{}", r.text);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'bounces.record'"),
        2
    );
    assert_eq!(f.stats(&id).await["stats"]["bounced"], 1);
    // The bounced address is never contacted again.
    let next = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&next).await;
    f.drain();
    assert_eq!(f.stats(&next).await["stats"]["skipped"]["suppressed"], 1);
    // Temporary failures up to max_attempts (2) fail the message.
    let last = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&last).await;
    f.sink.set_mode(SinkMode::TempFail);
    f.drain();
    f.app.count(due);
    f.drain();
    assert_eq!(f.stats(&last).await["stats"]["failed"], 2);
}
