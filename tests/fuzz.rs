//! Hostile input on every route: nothing a client sends may answer 5xx or panic, and every
//! client error is an `application/problem+json` document with `type`, `title` and `status`.
//!
//! Signed in as an administrator (as a data protection officer on the routes only they may
//! call), each route gets garbage path parameters (never found: a 4xx) and real ids of every
//! kind of object, garbage query strings for the parameters its OpenAPI entry declares, and
//! hostile bodies: generic ones (not JSON, not an object, nested 10,000 deep, too large, other
//! media types, CSV and spreadsheet garbage) and ones built from its request schema around a
//! body it accepts, every field given every wrong type and the extremes of its own; PATCH routes
//! also get `If-Match` headers that are no version. The inputs come from a seeded generator, so
//! a failure reproduces (`FUZZ_SEED` tries another seed), and a failure lists each request with
//! what the service logged. After each run the service must still answer `/healthz` and an
//! ordinary request.

mod common;
#[path = "fuzz/fixtures.rs"]
mod fixtures;
#[path = "fuzz/inputs.rs"]
mod inputs;
#[path = "fuzz/schema.rs"]
mod schema;
#[path = "fuzz/world.rs"]
mod world;

use lighthouse::http::endpoints;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use schema::{Schemas, Step};
use serde_json::Value;
use world::{clip, json_body, World};

/// Every route, as tests/matrix.rs lists them; `every_route_is_fuzzed` keeps the two in step
/// with the route table.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/invitation"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/auth/totp"),
    ("POST", "/api/v1/auth/totp/confirm"),
    ("POST", "/api/v1/auth/totp/disable"),
    ("GET", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/auth/tokens"),
    ("DELETE", "/api/v1/auth/tokens/{id}"),
    ("GET", "/api/v1/people"),
    ("POST", "/api/v1/people"),
    ("POST", "/api/v1/people/search"),
    ("POST", "/api/v1/people/list"),
    ("GET", "/api/v1/people/{id}"),
    ("PATCH", "/api/v1/people/{id}"),
    ("GET", "/api/v1/people/{id}/consents"),
    ("POST", "/api/v1/people/{id}/consents"),
    ("POST", "/api/v1/people/{id}/contact-check"),
    ("GET", "/api/v1/people/{id}/export"),
    ("POST", "/api/v1/people/{id}/erase"),
    ("POST", "/api/v1/people/{id}/restrict"),
    ("POST", "/api/v1/people/{id}/unrestrict"),
    ("GET", "/api/v1/rights-requests"),
    ("POST", "/api/v1/rights-requests"),
    ("GET", "/api/v1/rights-requests/{id}"),
    ("PATCH", "/api/v1/rights-requests/{id}"),
    ("POST", "/api/v1/rights-requests/{id}/stop-clock"),
    ("POST", "/api/v1/rights-requests/{id}/restart-clock"),
    ("POST", "/api/v1/rights-requests/{id}/extend"),
    ("POST", "/api/v1/rights-requests/{id}/close"),
    ("GET", "/api/v1/suppressions"),
    ("POST", "/api/v1/suppressions"),
    ("GET", "/api/v1/purposes"),
    ("POST", "/api/v1/purposes"),
    ("PATCH", "/api/v1/purposes/{code}"),
    ("POST", "/api/v1/purposes/{code}/wordings"),
    ("POST", "/api/v1/people/{id}/merge"),
    ("GET", "/api/v1/people/{id}/merges"),
    ("POST", "/api/v1/people/{id}/unmerge"),
    ("POST", "/api/v1/imports"),
    ("GET", "/api/v1/imports"),
    ("GET", "/api/v1/import-templates"),
    ("GET", "/api/v1/imports/{id}"),
    ("POST", "/api/v1/imports/{id}/dry-run"),
    ("POST", "/api/v1/imports/{id}/commit"),
    ("POST", "/api/v1/imports/{id}/rollback"),
    ("GET", "/api/v1/imports/{id}/rows"),
    ("GET", "/api/v1/imports/{id}/errors"),
    ("GET", "/api/v1/matches"),
    ("POST", "/api/v1/matches/{id}/accept"),
    ("POST", "/api/v1/matches/{id}/reject"),
    ("GET", "/api/v1/people/{id}/timeline"),
    ("GET", "/api/v1/people/{id}/scores"),
    ("POST", "/api/v1/dedupe"),
    ("GET", "/api/v1/dedupe/{id}"),
    ("GET", "/api/v1/segments"),
    ("POST", "/api/v1/segments"),
    ("POST", "/api/v1/segments/preview"),
    ("GET", "/api/v1/segments/{id}"),
    ("PATCH", "/api/v1/segments/{id}"),
    ("POST", "/api/v1/segments/{id}/preview"),
    ("GET", "/api/v1/templates"),
    ("POST", "/api/v1/templates"),
    ("GET", "/api/v1/templates/{id}"),
    ("PATCH", "/api/v1/templates/{id}"),
    ("POST", "/api/v1/templates/{id}/preview"),
    ("GET", "/api/v1/campaigns"),
    ("POST", "/api/v1/campaigns"),
    ("GET", "/api/v1/campaigns/{id}"),
    ("POST", "/api/v1/campaigns/{id}/approve"),
    ("POST", "/api/v1/campaigns/{id}/start"),
    ("POST", "/api/v1/campaigns/{id}/cancel"),
    ("POST", "/api/v1/campaigns/{id}/test-send"),
    ("POST", "/api/v1/bounces"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
    ("GET", "/api/v1/journeys/transitions"),
    ("GET", "/api/v1/journeys/funnel"),
    ("GET", "/api/v1/journeys/cohorts"),
    ("GET", "/api/v1/journeys/paths"),
    ("GET", "/api/v1/journeys/reach"),
    ("GET", "/api/v1/activity-kinds"),
    ("POST", "/api/v1/activity-kinds"),
    ("GET", "/api/v1/activities"),
    ("POST", "/api/v1/activities"),
    ("GET", "/api/v1/activities/{id}"),
    ("PATCH", "/api/v1/activities/{id}"),
    ("POST", "/api/v1/engagements"),
    ("POST", "/api/v1/engagements/batch"),
    ("GET", "/api/v1/departments"),
    ("POST", "/api/v1/departments"),
    ("PATCH", "/api/v1/departments/{code}"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{id}"),
    ("PATCH", "/api/v1/users/{id}"),
    ("POST", "/api/v1/users/{id}/invitation"),
    ("POST", "/api/v1/users/{id}/totp/reset"),
    ("DELETE", "/api/v1/users/{id}/sessions"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit/verification"),
    ("POST", "/api/v1/audit/seals"),
    ("POST", "/api/v1/auth/logout"),
];

/// The seed of this run.
fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_240_229)
}

#[test]
fn every_route_is_fuzzed() {
    for ep in endpoints() {
        assert!(
            ROUTES.contains(&(ep.method.as_str(), ep.path)),
            "{} {} is not in the fuzz test's route list",
            ep.method,
            ep.path
        );
    }
    assert_eq!(
        ROUTES.len(),
        endpoints().len(),
        "the fuzz list names a route the service lacks"
    );
}

#[actix_web::test]
async fn garbage_path_parameters_and_ids_of_other_objects_get_problems() {
    let mut world = World::new().await;
    let mut rng = StdRng::seed_from_u64(seed());
    let doc = lighthouse::http::openapi::build();
    let hints = world.hints.clone();
    let schemas = Schemas::new(&doc, &hints);
    let garbage = inputs::path_segments(&mut rng);
    let routes: Vec<(&str, &str)> = ROUTES.iter().copied().filter(|(_, p)| p.contains('{')).collect();
    for &(method, path) in &routes {
        // A body the route accepts, so that only the address is wrong.
        let body = world
            .valid_body(&doc, &schemas, method, path)
            .map(|b| json_body(b.to_string().into_bytes()));
        for value in &garbage {
            let uri = fill(path, |_| value.clone());
            let r = world.send(method, path, uri.clone(), body.clone()).await;
            if let Some(r) = r.filter(|r| !r.status.is_client_error()) {
                let fault = format!("answered {} for a made-up id", r.status);
                world.failures.push(format!("{method} {}: {fault}", clip(&uri)));
            }
        }
        let mut real: Vec<String> = world.ids.iter().map(|(_, id)| id.clone()).collect();
        if path.starts_with("/api/v1/people/{id}") {
            // Its own person, so that erasing or merging them leaves the others' intact.
            real[0] = world.person().await;
        }
        for value in real {
            world
                .send(method, path, fill(path, |_| value.clone()), body.clone())
                .await;
        }
    }
    world.finish(routes.iter()).await;
}

#[actix_web::test]
async fn garbage_query_strings_get_problems() {
    let mut world = World::new().await;
    let mut rng = StdRng::seed_from_u64(seed());
    let doc = lighthouse::http::openapi::build();
    let hints = world.hints.clone();
    let schemas = Schemas::new(&doc, &hints);
    for &(method, path) in ROUTES {
        let uri = world.target(method, path).await;
        let body = world
            .valid_body(&doc, &schemas, method, path)
            .map(|b| json_body(b.to_string().into_bytes()));
        let params = query_parameters(&doc, method, path);
        for q in queries(&schemas, &params, &mut rng) {
            world.send(method, path, format!("{uri}?{q}"), body.clone()).await;
        }
    }
    world.finish(ROUTES.iter()).await;
}

/// Query strings for a route that reads `params`: garbage whatever it reads, each parameter
/// given every value of its pool, repeated, all at one extreme, and drawn at random together.
fn queries(schemas: &Schemas, params: &[(String, Value)], rng: &mut StdRng) -> Vec<String> {
    let mut out: Vec<String> = ["", "&&&", "=", "%", "a=%zz", "zzz=1", "limit", "limit=1&limit=2"]
        .map(String::from)
        .to_vec();
    out.push(format!("q={}", "x".repeat(8_000)));
    let mut pools = Vec::new();
    for (name, schema) in params {
        let pool = inputs::query_values(schemas, schema, name, rng);
        out.extend(pool.iter().map(|v| format!("{name}={v}")));
        out.push(format!("{name}={}&{name}={}", pool[0], pool[1]));
        pools.push((name, pool));
    }
    for extreme in [
        "9223372036854775807",
        "-9223372036854775808",
        "0",
        "-1",
        "9999-12-31T23:59:59Z",
    ] {
        let all: Vec<String> = params.iter().map(|(name, _)| format!("{name}={extreme}")).collect();
        out.push(all.join("&"));
    }
    for _ in 0..(pools.len() * 3) {
        let mut picked = Vec::new();
        for (name, pool) in &pools {
            if rng.gen_bool(0.7) {
                picked.push(format!("{name}={}", pool[rng.gen_range(0..pool.len())]));
            }
        }
        out.push(picked.join("&"));
    }
    out
}

#[actix_web::test]
async fn hostile_bodies_get_problems() {
    let mut world = World::new().await;
    let mut rng = StdRng::seed_from_u64(seed());
    let doc = lighthouse::http::openapi::build();
    let hints = world.hints.clone();
    let schemas = Schemas::new(&doc, &hints);
    let writes: Vec<(&str, &str)> = ROUTES.iter().copied().filter(|(m, _)| *m != "GET").collect();
    for &(method, path) in &writes {
        let query = plausible_query(&doc, &schemas, method, path);
        let uri = format!("{}{query}", world.target(method, path).await);
        let mut bodies = inputs::generic_bodies(&mut rng);
        let schema = doc["paths"][path][method.to_lowercase()].pointer("/requestBody/content/application~1json/schema");
        if let (Some(schema), Some(base)) = (schema, world.valid_body(&doc, &schemas, method, path)) {
            bodies.extend(
                schema_bodies(&schemas, schema, &base, &mut rng)
                    .into_iter()
                    .map(json_body),
            );
            if method == "PATCH" {
                for tag in IF_MATCH {
                    let body = Some(json_body(base.to_string().into_bytes()));
                    world
                        .send_with(method, path, uri.clone(), body, Some(("if-match", tag)))
                        .await;
                }
            }
        }
        for body in bodies {
            world.send(method, path, uri.clone(), Some(body)).await;
        }
    }
    world.finish(writes.iter()).await;
}

/// Bodies built from a route's request schema around `base`, a body it accepts: `base` itself,
/// with an unknown field, without each field, each field given every wrong type and a seeded
/// sample of its own type's extremes; then bodies of random shape and values.
fn schema_bodies(schemas: &Schemas, schema: &Value, base: &Value, rng: &mut StdRng) -> Vec<Vec<u8>> {
    let mut places = Vec::new();
    schemas.places(schema, base, Vec::new(), &mut places);
    let mut out = vec![base.to_string(), schema::splice(base, &[Step::Key("zzz".into())], "1")];
    for (place, field) in places {
        out.push(schema::without(base, &place));
        for raw in schemas.hostile(field, rng, 6) {
            out.push(schema::splice(base, &place, &raw));
        }
    }
    for _ in 0..12 {
        out.push(schemas.random(schema, "", rng, 0));
    }
    out.into_iter().map(String::into_bytes).collect()
}

/// `If-Match` headers that are not versions this service gave.
const IF_MATCH: &[&[u8]] = &[
    b"\"v99999999999999999999\"",
    b"\"v9223372036854775807\"",
    b"\"v-9223372036854775808\"",
    b"W/\"v-1\"",
    b"*",
    b"",
    b"\"v1\", \"v2\"",
    b"W/",
    b"\"\"",
    b"\xff\xfe",
];

/// `path` with each `{param}` replaced by `value(param)`.
fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    path.split('/')
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => value(param),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The query parameters a route's OpenAPI entry declares, with their schemas.
fn query_parameters(doc: &Value, method: &str, path: &str) -> Vec<(String, Value)> {
    doc["paths"][path][method.to_lowercase()]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .map(|p| (p["name"].as_str().unwrap_or_default().to_string(), p["schema"].clone()))
        .collect()
}

/// A query string of plausible values, for routes whose body matters only past their query.
fn plausible_query(doc: &Value, schemas: &Schemas, method: &str, path: &str) -> String {
    let pairs: Vec<String> = query_parameters(doc, method, path)
        .iter()
        .filter(|(name, _)| matches!(name.as_str(), "department" | "file_name"))
        .map(|(name, s)| format!("{name}={}", inputs::plausible_query(schemas, s, name)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}
