//! The role × endpoint matrix: every route, every role, the expected allow or deny. The table
//! here is written independently of the code's permission table; a route the service registers
//! but this table does not list fails the test.

mod common;

use common::TestApp;
use lighthouse::service::authz::ALL_ROLES;
use lighthouse::service::Role;
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Public,
    SignedIn,
    Roles(&'static [Role]),
}

fn expected() -> Vec<(&'static str, &'static str, Who)> {
    use Role::*;
    const PEOPLE_READ: &[Role] = &[
        Administrator,
        DataProtectionOfficer,
        EngagementOfficer,
        DepartmentEditor,
    ];
    const PEOPLE_WRITE: &[Role] = &[Administrator, EngagementOfficer, DepartmentEditor];
    const ADMIN: &[Role] = &[Administrator];
    const AUDIT: &[Role] = &[Administrator, DataProtectionOfficer];
    const CONSENT_WRITE: &[Role] = &[Administrator, EngagementOfficer, DepartmentEditor];
    const DPO: &[Role] = &[DataProtectionOfficer];
    const SUPPRESS: &[Role] = &[Administrator, DataProtectionOfficer, EngagementOfficer];
    const CAMPAIGNS: &[Role] = &[Administrator, CampaignsManager];
    vec![
        ("GET", "/healthz", Who::Public),
        ("GET", "/readyz", Who::Public),
        ("GET", "/metrics", Who::Public),
        ("GET", "/api/v1/openapi.json", Who::Public),
        ("POST", "/api/v1/auth/login", Who::Public),
        ("POST", "/api/v1/auth/invitation", Who::Public),
        ("GET", "/api/v1/auth/me", Who::SignedIn),
        ("POST", "/api/v1/auth/password", Who::SignedIn),
        ("POST", "/api/v1/auth/totp", Who::SignedIn),
        ("POST", "/api/v1/auth/totp/confirm", Who::SignedIn),
        ("POST", "/api/v1/auth/totp/disable", Who::SignedIn),
        ("GET", "/api/v1/auth/tokens", Who::SignedIn),
        ("POST", "/api/v1/auth/tokens", Who::SignedIn),
        ("DELETE", "/api/v1/auth/tokens/{id}", Who::SignedIn),
        ("GET", "/api/v1/people", Who::Roles(PEOPLE_READ)),
        ("POST", "/api/v1/people", Who::Roles(PEOPLE_WRITE)),
        ("POST", "/api/v1/people/search", Who::Roles(PEOPLE_READ)),
        ("POST", "/api/v1/people/list", Who::Roles(PEOPLE_READ)),
        ("GET", "/api/v1/people/{id}", Who::Roles(PEOPLE_READ)),
        ("PATCH", "/api/v1/people/{id}", Who::Roles(PEOPLE_WRITE)),
        ("GET", "/api/v1/people/{id}/consents", Who::Roles(PEOPLE_READ)),
        ("POST", "/api/v1/people/{id}/consents", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/people/{id}/contact-check", Who::Roles(PEOPLE_READ)),
        ("GET", "/api/v1/people/{id}/export", Who::Roles(DPO)),
        ("POST", "/api/v1/people/{id}/erase", Who::Roles(DPO)),
        ("POST", "/api/v1/people/{id}/restrict", Who::Roles(DPO)),
        ("POST", "/api/v1/people/{id}/unrestrict", Who::Roles(DPO)),
        ("GET", "/api/v1/rights-requests", Who::Roles(DPO)),
        ("POST", "/api/v1/rights-requests", Who::Roles(DPO)),
        ("GET", "/api/v1/rights-requests/{id}", Who::Roles(DPO)),
        ("PATCH", "/api/v1/rights-requests/{id}", Who::Roles(DPO)),
        ("POST", "/api/v1/rights-requests/{id}/stop-clock", Who::Roles(DPO)),
        ("POST", "/api/v1/rights-requests/{id}/restart-clock", Who::Roles(DPO)),
        ("POST", "/api/v1/rights-requests/{id}/extend", Who::Roles(DPO)),
        ("POST", "/api/v1/rights-requests/{id}/close", Who::Roles(DPO)),
        ("GET", "/api/v1/suppressions", Who::Roles(SUPPRESS)),
        ("POST", "/api/v1/suppressions", Who::Roles(SUPPRESS)),
        ("GET", "/api/v1/purposes", Who::SignedIn),
        ("POST", "/api/v1/purposes", Who::Roles(ADMIN)),
        ("PATCH", "/api/v1/purposes/{code}", Who::Roles(ADMIN)),
        ("POST", "/api/v1/purposes/{code}/wordings", Who::Roles(ADMIN)),
        ("POST", "/api/v1/people/{id}/merge", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/people/{id}/merges", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/people/{id}/unmerge", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/imports", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/imports", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/import-templates", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/imports/{id}", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/imports/{id}/dry-run", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/imports/{id}/commit", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/imports/{id}/rollback", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/imports/{id}/rows", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/imports/{id}/errors", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/matches", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/matches/{id}/accept", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/matches/{id}/reject", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/people/{id}/timeline", Who::Roles(PEOPLE_READ)),
        ("GET", "/api/v1/people/{id}/scores", Who::Roles(PEOPLE_READ)),
        ("POST", "/api/v1/dedupe", Who::Roles(ADMIN)),
        ("GET", "/api/v1/dedupe/{id}", Who::Roles(ADMIN)),
        ("GET", "/api/v1/segments", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/segments", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/segments/preview", Who::Roles(CAMPAIGNS)),
        ("GET", "/api/v1/segments/{id}", Who::Roles(CAMPAIGNS)),
        ("PATCH", "/api/v1/segments/{id}", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/segments/{id}/preview", Who::Roles(CAMPAIGNS)),
        ("GET", "/api/v1/templates", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/templates", Who::Roles(CAMPAIGNS)),
        ("GET", "/api/v1/templates/{id}", Who::Roles(CAMPAIGNS)),
        ("PATCH", "/api/v1/templates/{id}", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/templates/{id}/preview", Who::Roles(CAMPAIGNS)),
        ("GET", "/api/v1/campaigns", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/campaigns", Who::Roles(CAMPAIGNS)),
        ("GET", "/api/v1/campaigns/{id}", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/campaigns/{id}/approve", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/campaigns/{id}/start", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/campaigns/{id}/cancel", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/campaigns/{id}/test-send", Who::Roles(CAMPAIGNS)),
        ("POST", "/api/v1/bounces", Who::Roles(CAMPAIGNS)),
        ("GET", "/u/{token}", Who::Public),
        ("POST", "/u/{token}", Who::Public),
        ("GET", "/api/v1/journeys/transitions", Who::SignedIn),
        ("GET", "/api/v1/journeys/funnel", Who::SignedIn),
        ("GET", "/api/v1/journeys/cohorts", Who::SignedIn),
        ("GET", "/api/v1/journeys/paths", Who::SignedIn),
        ("GET", "/api/v1/journeys/reach", Who::SignedIn),
        ("GET", "/api/v1/activity-kinds", Who::SignedIn),
        ("POST", "/api/v1/activity-kinds", Who::Roles(ADMIN)),
        ("GET", "/api/v1/activities", Who::SignedIn),
        ("POST", "/api/v1/activities", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/activities/{id}", Who::SignedIn),
        ("PATCH", "/api/v1/activities/{id}", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/engagements", Who::Roles(CONSENT_WRITE)),
        ("POST", "/api/v1/engagements/batch", Who::Roles(CONSENT_WRITE)),
        ("GET", "/api/v1/departments", Who::SignedIn),
        ("POST", "/api/v1/departments", Who::Roles(ADMIN)),
        ("PATCH", "/api/v1/departments/{code}", Who::Roles(ADMIN)),
        ("GET", "/api/v1/users", Who::Roles(ADMIN)),
        ("POST", "/api/v1/users", Who::Roles(ADMIN)),
        ("GET", "/api/v1/users/{id}", Who::Roles(ADMIN)),
        ("PATCH", "/api/v1/users/{id}", Who::Roles(ADMIN)),
        ("POST", "/api/v1/users/{id}/invitation", Who::Roles(ADMIN)),
        ("POST", "/api/v1/users/{id}/totp/reset", Who::Roles(ADMIN)),
        ("DELETE", "/api/v1/users/{id}/sessions", Who::Roles(ADMIN)),
        ("GET", "/api/v1/audit", Who::Roles(AUDIT)),
        ("GET", "/api/v1/audit/verification", Who::Roles(AUDIT)),
        ("POST", "/api/v1/audit/seals", Who::Roles(AUDIT)),
        // Logout last: it ends the session it is called with.
        ("POST", "/api/v1/auth/logout", Who::SignedIn),
    ]
}

#[actix_web::test]
async fn every_route_is_in_the_matrix() {
    let table = expected();
    for ep in lighthouse::http::endpoints() {
        assert!(
            table.iter().any(|(m, p, _)| *m == ep.method.as_str() && *p == ep.path),
            "{} {} is not in the role × endpoint matrix",
            ep.method,
            ep.path
        );
    }
    assert_eq!(
        table.len(),
        lighthouse::http::endpoints().len(),
        "the matrix lists a route the service lacks"
    );
}

#[actix_web::test]
async fn every_role_gets_what_the_matrix_says() {
    let app = TestApp::new().await;
    app.department("BARB");
    let admin = app.admin().await;
    let person = app
        .person(&admin.token, json!({"given_name": "Ada", "departments": ["BARB"]}))
        .await;
    let victim = app.user(&[Role::Analyst], &[]).await;
    let mut users = Vec::new();
    for role in ALL_ROLES {
        users.push((role, app.user(&[role], &["BARB"]).await));
    }
    let pid = person["id"].as_str().unwrap().to_string();
    // Rows in every table the data map lists, bar the audit trail and sign-in bookkeeping: a
    // refused request writes nothing (security anchor 29).
    let written = {
        let tables: Vec<&str> = lighthouse::service::privacy::datamap::DATA_MAP
            .iter()
            .map(|e| e.table)
            .filter(|t| {
                !matches!(
                    *t,
                    "audit_events" | "audit_event_targets" | "sessions" | "login_throttle"
                )
            })
            .collect();
        let sum = tables
            .iter()
            .map(|t| format!("(SELECT COUNT(*) FROM {t})"))
            .collect::<Vec<_>>()
            .join(" + ");
        format!("SELECT {sum} AS n")
    };
    app.flush_audit();
    let denied_before = app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'access.denied'");
    let mut refused = 0;
    for (method, path, who) in expected() {
        let concrete = path
            .replace("/people/{id}", &format!("/people/{pid}"))
            .replace("/users/{id}", &format!("/users/{}", victim.id))
            .replace("/tokens/{id}", "/tokens/0123456789abcdef0123456789abcdef")
            .replace("/matches/{id}", "/matches/0123456789abcdef0123456789abcdef")
            .replace("/imports/{id}", "/imports/0123456789abcdef0123456789abcdef")
            .replace("/dedupe/{id}", "/dedupe/0123456789abcdef0123456789abcdef")
            .replace("/segments/{id}", "/segments/0123456789abcdef0123456789abcdef")
            .replace("/templates/{id}", "/templates/0123456789abcdef0123456789abcdef")
            .replace("/campaigns/{id}", "/campaigns/0123456789abcdef0123456789abcdef")
            .replace("{token}", "not-a-token")
            .replace("{code}", "BARB");
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let anon = app.req(method, &concrete, None, body.clone()).await;
        if who == Who::Public {
            assert!(
                anon.status != 401 && anon.status != 403,
                "{method} {path} anonymous: {}",
                anon.status
            );
            continue;
        }
        assert_eq!(anon.status, 401, "{method} {path} must need sign-in");
        for (role, user) in &users {
            let allowed = match who {
                Who::SignedIn => true,
                Who::Roles(roles) => roles.contains(role),
                Who::Public => unreachable!(),
            };
            let rows_before = (!allowed).then(|| app.count(&written));
            let r = app.req(method, &concrete, Some(&user.token), body.clone()).await;
            if allowed {
                assert!(
                    r.status != 401 && r.status != 403,
                    "{method} {path} as {role:?}: {} {}",
                    r.status,
                    r.text
                );
            } else {
                assert_eq!(r.status, 403, "{method} {path} as {role:?} must be refused: {}", r.text);
                assert_eq!(
                    rows_before,
                    Some(app.count(&written)),
                    "{method} {path} as {role:?}: refused, yet rows were written"
                );
                refused += 1;
            }
        }
    }
    // Every refusal is in the audit log (security anchor 61).
    app.flush_audit();
    let denied = app.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'access.denied'");
    assert!(refused > 100, "{refused}");
    assert_eq!(denied - denied_before, refused, "one access.denied event per refusal");
}
