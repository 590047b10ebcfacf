//! Segment filters through HTTP: validation with the path of each fault, injection attempts kept
//! as data, and evaluation against people, consent, engagement and scores.

use super::*;

#[actix_web::test]
async fn segments_validate_with_paths_resist_injection_and_evaluate() {
    let f = fixture_with("1000").await;
    let bad = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"and": [{"tag": "newsletter-list"}, {"field": {"name": "salary", "op": "eq", "value": "1"}}]}}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.body["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("definition/and/1/field"),
        "{}",
        bad.text
    );
    let injection = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"or": [{"tag": "x' OR '1'='1"}, {"field": {"name": "family_name", "op": "eq", "value": "'; DROP TABLE people;--"}}]}}),
        )
        .await;
    assert_eq!(injection.status, 200, "{}", injection.text);
    assert_eq!(injection.body["count"], 0);
    assert_eq!(f.app.count("SELECT COUNT(*) AS n FROM people"), 5);
    let consented = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"and": [{"tag": "newsletter-list"}, {"not": {"consent": {"purpose": "newsletter", "channel": "email"}}}]}, "sample": 5}),
        )
        .await;
    assert_eq!(consented.status, 200, "{}", consented.text);
    assert_eq!(
        consented.body["count"], 2,
        "never asked + withdrawn: {}",
        consented.text
    );
    let by_name = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"and": [{"field": {"name": "email_domain", "op": "eq", "value": "EXAMPLE.net"}}, {"not": {"engaged": {"action": "volunteered"}}}, {"score": {"name": "recency", "op": "lte", "value": 1}}]}}),
        )
        .await;
    assert_eq!(by_name.body["count"], 5, "{}", by_name.text);
    // `contactable` is the whole contact decision: granted, not suppressed, not restricted.
    let contactable =
        json!({"definition": {"consent": {"purpose": "newsletter", "channel": "email", "state": "contactable"}}});
    let r = f
        .app
        .post("/api/v1/segments/preview", &f.manager.token, contactable.clone())
        .await;
    assert_eq!(r.body["count"], 3, "{}", r.text);
    let s = f
        .app
        .post(
            "/api/v1/suppressions",
            &f.officer.token,
            json!({"channel": "email", "address": f.people[1].1.to_uppercase(), "reason": "objection"}),
        )
        .await;
    assert_eq!(s.status, 204, "{}", s.text);
    let r = f
        .app
        .post("/api/v1/segments/preview", &f.manager.token, contactable)
        .await;
    assert_eq!(
        r.body["count"], 2,
        "a suppressed address is never contactable: {}",
        r.text
    );
    let granted = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"consent": {"purpose": "newsletter", "channel": "email"}}}),
        )
        .await;
    assert_eq!(
        granted.body["count"], 3,
        "the recorded state is still a grant: {}",
        granted.text
    );
    let sms = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"consent": {"purpose": "newsletter", "channel": "sms", "state": "contactable"}}}),
        )
        .await;
    assert_eq!(sms.status, 422, "{}", sms.text);
    assert_eq!(
        sms.body["errors"][0]["field"], "definition/consent/state",
        "{}",
        sms.text
    );
    // A district is the outward code: "ec1a" finds EC1A 1BB, and not EC1 or EC1A's neighbours.
    for (postcode, family) in [("EC1A 1BB", "Barts"), ("EC1V 4PW", "Angel")] {
        f.app
            .person(
                &f.officer.token,
                json!({"given_name": "Dee", "family_name": family, "addresses": [{"line1": "1 Street", "postcode": postcode}]}),
            )
            .await;
    }
    for (definition, expected) in [
        (
            json!({"field": {"name": "postcode_district", "op": "eq", "value": "ec1a"}}),
            1,
        ),
        (
            json!({"field": {"name": "postcode_district", "op": "in", "value": ["EC1A", "EC1V", "SW1"]}}),
            2,
        ),
        (
            json!({"field": {"name": "postcode_district", "op": "eq", "value": "EC1"}}),
            0,
        ),
        (
            json!({"field": {"name": "postcode", "op": "starts_with", "value": "ec1"}}),
            2,
        ),
    ] {
        let r = f
            .app
            .post(
                "/api/v1/segments/preview",
                &f.manager.token,
                json!({ "definition": definition }),
            )
            .await;
        assert_eq!(r.body["count"], expected, "{definition}: {}", r.text);
    }
    // Restricted people are never in a segment.
    let dpo = f.app.user(&[Role::DataProtectionOfficer], &[]).await;
    let r = f
        .app
        .post(
            &format!("/api/v1/people/{}/restrict", f.people[0].0),
            &dpo.token,
            json!({"reason": "objection"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = f
        .app
        .post(
            "/api/v1/segments/preview",
            &f.manager.token,
            json!({"definition": {"tag": "newsletter-list"}}),
        )
        .await;
    assert_eq!(all.body["count"], 4);
}
