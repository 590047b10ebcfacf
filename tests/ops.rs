//! Health, readiness, metrics and the OpenAPI document.

mod common;

use common::TestApp;
use serde_json::Value;

#[actix_web::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new().await;
    assert_eq!(app.req("GET", "/healthz", None, None).await.body["status"], "ok");
    assert_eq!(app.req("GET", "/readyz", None, None).await.status, 200);
    app.req("GET", "/api/v1/auth/me", None, None).await;
    let m = app.req("GET", "/metrics", None, None).await;
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        m.text
            .contains("lighthouse_http_requests_total{method=\"GET\",route=\"/api/v1/auth/me\",status=\"401\"} 1"),
        "{}",
        m.text
    );
    assert!(m.text.contains("lighthouse_db_pool_connections"));
}

#[actix_web::test]
async fn openapi_describes_every_route_and_its_schemas() {
    let app = TestApp::new().await;
    let r = app.req("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    for ep in lighthouse::http::endpoints() {
        let op = &doc["paths"][ep.path][ep.method.as_str().to_lowercase()];
        assert!(op.is_object(), "{} {} missing from the document", ep.method, ep.path);
        assert!(op["responses"]["4XX"].is_object());
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    let person = &doc["components"]["schemas"]["NewPersonRequest"];
    assert_eq!(
        person["additionalProperties"],
        Value::Bool(false),
        "unknown fields are refused, and documented so"
    );
    let list = &doc["paths"]["/api/v1/people"]["get"]["parameters"];
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "postcode" && p["in"] == "query"));
}
