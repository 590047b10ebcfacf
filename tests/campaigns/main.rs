//! Segments, templates and campaigns through HTTP, sending through real SMTP over TCP to a sink
//! started by the test: consent checked at send time, one-click unsubscribe, approval rules,
//! bounces, outbox idempotence across worker restarts.

#[path = "../common/mod.rs"]
mod common;
mod editing;
mod segments;
mod unsubscribe;

use std::time::Duration;

use common::smtp::{SinkMode, SmtpSink};
use common::{TestApp, User};
use lighthouse::service::Role;
use serde_json::{json, Value};

struct F {
    app: TestApp,
    sink: SmtpSink,
    manager: User,
    second: User,
    officer: User,
    /// (public id, email) of: granted ×3, never asked, withdrawn.
    people: Vec<(String, String)>,
}

async fn fixture_with(threshold: &str) -> F {
    let sink = SmtpSink::start();
    let port = sink.port().to_string();
    let app = TestApp::with_settings(&[
        ("LIGHTHOUSE__CAMPAIGNS__SMTP_HOST", "127.0.0.1"),
        ("LIGHTHOUSE__CAMPAIGNS__SMTP_PORT", &port),
        ("LIGHTHOUSE__CAMPAIGNS__SMTP_TLS", "none"),
        ("LIGHTHOUSE__CAMPAIGNS__FROM_ADDRESS", "news@city.test"),
        ("LIGHTHOUSE__CAMPAIGNS__PUBLIC_BASE_URL", "https://crm.city.test"),
        ("LIGHTHOUSE__CAMPAIGNS__UNSUBSCRIBE_MAILTO", "unsubscribe@city.test"),
        ("LIGHTHOUSE__CAMPAIGNS__RATE_PER_SECOND", "0"),
        ("LIGHTHOUSE__CAMPAIGNS__RETRY_BASE_SECS", "60"),
        ("LIGHTHOUSE__CAMPAIGNS__MAX_ATTEMPTS", "2"),
        ("LIGHTHOUSE__CAMPAIGNS__APPROVAL_THRESHOLD", threshold),
    ])
    .await;
    app.department("COMMS");
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/purposes",
            &admin.token,
            json!({"code": "newsletter", "description": "What's on in the City", "category": "marketing", "default_lawful_basis": "consent", "wording": "May we email you about what is on?"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let manager = app.user(&[Role::CampaignsManager], &[]).await;
    let second = app.user(&[Role::CampaignsManager], &[]).await;
    let mut people = Vec::new();
    for (i, state) in ["granted", "granted", "granted", "none", "withdrawn"]
        .iter()
        .enumerate()
    {
        let email = format!("resident{i}@example.net");
        let p = app
            .person(
                &officer.token,
                json!({"given_name": format!("Res<{i}>"), "family_name": "Ident", "emails": [{"address": email}], "tags": ["newsletter-list"]}),
            )
            .await;
        let id = p["id"].as_str().unwrap().to_string();
        for status in match *state {
            "granted" => vec!["granted"],
            "withdrawn" => vec!["granted", "withdrawn"],
            _ => vec![],
        } {
            let r = app
                .post(
                    &format!("/api/v1/people/{id}/consents"),
                    &officer.token,
                    json!({"purpose": "newsletter", "channel": "email", "status": status, "capture_method": "web_checkbox", "wording_version": 1}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
        people.push((id, email));
    }
    F {
        app,
        sink,
        manager,
        second,
        officer,
        people,
    }
}

impl F {
    async fn campaign(&self, segment: Value, html: &str) -> String {
        let s = self
            .app
            .post(
                "/api/v1/segments",
                &self.manager.token,
                json!({"name": "List", "definition": segment}),
            )
            .await;
        assert_eq!(s.status, 201, "{}", s.text);
        let t = self
            .app
            .post(
                "/api/v1/templates",
                &self.manager.token,
                json!({"name": "Autumn", "subject": "Hello {{ given_name | default: \"resident\" }}",
                    "html_body": html, "text_body": "Dear {{ given_name }}, unsubscribe: {{ unsubscribe_url }}"}),
            )
            .await;
        assert_eq!(t.status, 201, "{}", t.text);
        let c = self
            .app
            .post(
                "/api/v1/campaigns",
                &self.manager.token,
                json!({"name": "Autumn news", "segment": s.body["id"], "template": t.body["id"], "purpose": "newsletter", "department": "COMMS", "sender_name": "Cllr Ada Member"}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.text);
        assert_eq!(c.body["status"], "draft");
        c.body["id"].as_str().unwrap().to_string()
    }

    async fn approve_and_start(&self, id: &str) {
        let a = self
            .app
            .post(
                &format!("/api/v1/campaigns/{id}/approve"),
                &self.second.token,
                json!({}),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let s = self
            .app
            .post(&format!("/api/v1/campaigns/{id}/start"), &self.manager.token, json!({}))
            .await;
        assert_eq!(s.status, 202, "{}", s.text);
    }

    /// Run the sending worker until the outbox has nothing due.
    fn drain(&self) {
        while self.app.state.sender.run_once().expect("send round") > 0 {}
    }

    async fn stats(&self, id: &str) -> Value {
        let r = self
            .app
            .get(&format!("/api/v1/campaigns/{id}"), &self.manager.token)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }
}

const HTML: &str = "<p>Dear {{ given_name }}</p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>";

#[actix_web::test]
async fn a_campaign_reaches_only_consented_people_once_with_list_headers() {
    let f = fixture_with("1000").await;
    // A value that looks like a placeholder is written as it is, never filled in (security
    // anchor 37): templates are rendered once, values are data.
    let second = format!("/api/v1/people/{}", f.people[1].0);
    let held = f.app.get(&second, &f.officer.token).await;
    let r = f
        .app
        .patch(
            &second,
            &f.officer.token,
            json!({"version": held.body["version"], "given_name": "{{ unsubscribe_url }}"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&id).await;
    f.drain();
    assert!(f.sink.wait_for(3, Duration::from_secs(5)));
    let got = f.sink.messages();
    assert_eq!(got.len(), 3, "only the three who consented");
    let mut to: Vec<String> = got.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        vec![f.people[0].1.clone(), f.people[1].1.clone(), f.people[2].1.clone()]
    );
    let m = got.iter().find(|m| m.rcpt_to == vec![f.people[0].1.clone()]).unwrap();
    let list = m.header("List-Unsubscribe").unwrap();
    assert!(list.starts_with("<https://crm.city.test/u/"), "{list}");
    assert!(list.contains("mailto:unsubscribe@city.test"), "{list}");
    assert_eq!(
        m.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(m.header("From").unwrap().contains("Cllr Ada Member"));
    assert!(m.header("Subject").unwrap().starts_with("Hello Res"));
    let literal = got.iter().find(|m| m.rcpt_to == vec![f.people[1].1.clone()]).unwrap();
    assert!(
        literal.data.contains("Dear {{ unsubscribe_url }}"),
        "the placeholder-looking name is sent as written: {}",
        literal.data
    );
    // The name "Res<0>" is escaped in HTML.
    assert!(
        m.data.contains("Res&lt;") && !m.data.contains("<p>Dear Res<"),
        "{}",
        m.data
    );
    let stats = f.stats(&id).await;
    assert_eq!(stats["stats"]["sent"], 3, "{stats}");
    assert_eq!(stats["stats"]["skipped"]["no_consent"], 1, "{stats}");
    assert_eq!(stats["stats"]["skipped"]["withdrawn"], 1, "{stats}");
    assert_eq!(stats["status"], "sent");
    // Nothing is sent twice: another round finds nothing, and the outbox is unique per person.
    f.drain();
    assert_eq!(f.sink.count(), 3);
    // Each message sent is an engagement on the person's timeline.
    let t = f
        .app
        .get(&format!("/api/v1/people/{}/timeline", f.people[0].0), &f.officer.token)
        .await;
    assert_eq!(t.body["items"][0]["action"], "sent", "{}", t.text);
    // And in the person's subject access export.
    let dpo = f.app.user(&[Role::DataProtectionOfficer], &[]).await;
    let export = f
        .app
        .get(&format!("/api/v1/people/{}/export", f.people[0].0), &dpo.token)
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.body["tables"]["outbox"][0]["status"], "sent", "{}", export.text);
}

/// A test message filled with a real person's details goes only to the sender's own address and
/// is in that person's audit trail; one with placeholders may go anywhere.
#[actix_web::test]
async fn a_test_send_with_a_person_goes_only_to_oneself() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    let person = &f.people[0].0;
    let url = format!("/api/v1/campaigns/{id}/test-send");
    let away = f
        .app
        .post(
            &url,
            &f.manager.token,
            json!({"person": person, "to": "someone@elsewhere.example"}),
        )
        .await;
    assert_eq!(away.status, 422, "{}", away.text);
    assert_eq!(away.body["errors"][0]["code"], "own_address_only");
    let mine = f.app.post(&url, &f.manager.token, json!({"person": person})).await;
    assert_eq!(mine.status, 204, "{}", mine.text);
    let plain = f
        .app
        .post(&url, &f.manager.token, json!({"to": "proof@elsewhere.example"}))
        .await;
    assert_eq!(plain.status, 204, "{}", plain.text);
    let to: Vec<Vec<String>> = f.sink.messages().into_iter().map(|m| m.rcpt_to).collect();
    assert_eq!(
        to,
        vec![
            vec![f.manager.email.clone()],
            vec!["proof@elsewhere.example".to_string()]
        ]
    );
    assert_eq!(
        f.app.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'campaign.test_send' AND target_id = '{person}'"
        )),
        1
    );
}

/// With the mail server gone, a test message answers 503 saying so (not the database's words),
/// and nothing is recorded as sent.
#[actix_web::test]
async fn a_test_send_with_the_mail_server_down_says_so() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.sink.stop();
    let r = f
        .app
        .post(
            &format!("/api/v1/campaigns/{id}/test-send"),
            &f.manager.token,
            json!({"to": "proof@elsewhere.example"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(r.body["code"], "mail_server_unavailable", "{}", r.text);
    assert!(r.body["detail"].as_str().unwrap().contains("mail server"), "{}", r.text);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'campaign.test_send'"),
        0
    );
}

#[actix_web::test]
async fn consent_withdrawn_after_queuing_is_not_sent_and_cancel_stops_the_rest() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&id).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/consents", f.people[1].0),
            &f.officer.token,
            json!({"purpose": "newsletter", "channel": "email", "status": "withdrawn", "capture_method": "phone_call"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    f.drain();
    assert_eq!(f.sink.count(), 2);
    assert!(!f.sink.messages().iter().any(|m| m.rcpt_to[0] == f.people[1].1));
    // Cancelling a queued campaign sends nothing more.
    let other = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&other).await;
    let c = f
        .app
        .post(
            &format!("/api/v1/campaigns/{other}/cancel"),
            &f.manager.token,
            json!({}),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    f.drain();
    assert_eq!(f.sink.count(), 2);
    assert_eq!(f.stats(&other).await["stats"]["cancelled"], 5);
}

#[actix_web::test]
async fn approval_needs_a_second_person_above_the_threshold() {
    let f = fixture_with("2").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    let own = f
        .app
        .post(&format!("/api/v1/campaigns/{id}/approve"), &f.manager.token, json!({}))
        .await;
    assert_eq!(own.status, 403, "{}", own.text);
    let early = f
        .app
        .post(&format!("/api/v1/campaigns/{id}/start"), &f.manager.token, json!({}))
        .await;
    assert_eq!(early.status, 409, "{}", early.text);
    let ok = f
        .app
        .post(&format!("/api/v1/campaigns/{id}/approve"), &f.second.token, json!({}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let officer = f.app.post("/api/v1/campaigns", &f.officer.token, json!({})).await;
    assert_eq!(officer.status, 403, "engagement officers do not run campaigns");
    // A small one (at most the threshold) may be approved by its author.
    let small = f.campaign(json!({"department": "NONE"}), HTML).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/campaigns/{small}/approve"),
            &f.manager.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[actix_web::test]
async fn templates_are_sandboxed_and_need_an_unsubscribe_link() {
    let f = fixture_with("1000").await;
    for (body, field) in [
        (
            json!({"name": "x", "subject": "Hi", "html_body": "<p>no link</p>", "text_body": "{{ unsubscribe_url }}"}),
            "html_body",
        ),
        (
            json!({"name": "x", "subject": "Hi {{ password_hash }}", "html_body": HTML, "text_body": "{{ unsubscribe_url }}"}),
            "subject",
        ),
        (
            json!({"name": "x", "subject": "Hi", "html_body": "{{#each people}}{{/each}} {{ unsubscribe_url }}", "text_body": "{{ unsubscribe_url }}"}),
            "html_body",
        ),
        (
            json!({"name": "x", "subject": "Hi", "html_body": "{{{ given_name }}} {{ unsubscribe_url }}", "text_body": "{{ unsubscribe_url }}"}),
            "html_body",
        ),
    ] {
        let r = f.app.post("/api/v1/templates", &f.manager.token, body).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let t = f
        .app
        .post(
            "/api/v1/templates",
            &f.manager.token,
            json!({"name": "ok", "subject": "Hi {{ given_name }}\r\nBcc: x@y.z", "html_body": HTML, "text_body": "{{ unsubscribe_url }}"}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let p = f
        .app
        .post(
            &format!("/api/v1/templates/{}/preview", t.body["id"].as_str().unwrap()),
            &f.manager.token,
            json!({"person": f.people[0].0}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(p.body["html"].as_str().unwrap().contains("Res&lt;0&gt;"), "{}", p.text);
    assert!(!p.body["subject"].as_str().unwrap().contains('\n'));
}

#[actix_web::test]
async fn a_worker_that_dies_mid_claim_loses_and_duplicates_nothing() {
    let f = fixture_with("1000").await;
    let id = f.campaign(json!({"tag": "newsletter-list"}), HTML).await;
    f.approve_and_start(&id).await;
    // A worker claims everything and dies before sending: its claim expires, another takes over.
    f.app.count("UPDATE outbox SET status = 'sending', claimed_by = 'dead', claimed_until = '2000-01-01 00:00:00' RETURNING CAST(0 AS BIGINT) AS n");
    f.drain();
    assert_eq!(f.sink.count(), 3);
    let mut to: Vec<String> = f.sink.messages().iter().map(|m| m.rcpt_to[0].clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 3, "no duplicates");
    f.drain();
    assert_eq!(f.sink.count(), 3);
}
