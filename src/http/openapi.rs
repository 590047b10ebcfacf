//! The OpenAPI 3.1 document, generated from the route table and the request/response types.

use actix_web::{web, HttpResponse};
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::{endpoints, Access};
use crate::error::{AppError, AppResult, Problem};
use crate::state::AppState;

/// Build the document.
pub fn build() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let problem = generator.subschema_for::<Problem>().to_value();
    let mut paths = Map::new();
    for ep in endpoints() {
        let mut op = Map::new();
        op.insert("summary".into(), json!(ep.summary));
        op.insert("tags".into(), json!([ep.tag]));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}_{}",
                ep.method.as_str().to_lowercase(),
                ep.path.trim_start_matches('/').replace(['/', '{', '}', '.'], "_")
            )),
        );
        let mut params: Vec<Value> = ep
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(q) = ep.query {
            let schema = q(&mut generator);
            params.extend(query_parameters(&generator, &schema.to_value()));
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if let Some(r) = ep.request {
            let schema = r(&mut generator).to_value();
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        let mut ok = json!({"description": "Success"});
        if let Some(r) = ep.response {
            ok["content"] = json!({"application/json": {"schema": r(&mut generator).to_value()}});
        } else if let Some(m) = ep.media {
            ok["content"] = json!({m: {"schema": {"type": "string"}}});
        }
        let mut responses = Map::new();
        responses.insert(ep.status.to_string(), ok);
        let problem_resp = json!({"description": "A problem (RFC 9457)", "content": {"application/problem+json": {"schema": problem}}});
        responses.insert("4XX".into(), problem_resp.clone());
        responses.insert("5XX".into(), problem_resp);
        op.insert("responses".into(), Value::Object(responses));
        if ep.access != Access::Public {
            op.insert("security".into(), json!([{"bearer": []}, {"cookie": []}]));
        }
        if let Access::Needs(p) = ep.access {
            op.insert("x-permission".into(), json!(p));
        }
        let entry = paths.entry(ep.path.to_string()).or_insert_with(|| json!({}));
        entry[ep.method.as_str().to_lowercase()] = Value::Object(op);
    }
    let schemas = generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Data Lighthouse",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The customer relationship backend of a UK city corporation. Errors are application/problem+json (RFC 9457)."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": super::middleware::SESSION_COOKIE}
            }
        }
    })
}

/// Turn an object schema (possibly a `$ref` into the definitions) into query parameters.
fn query_parameters(generator: &schemars::SchemaGenerator, schema: &Value) -> Vec<Value> {
    let resolved = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| generator.definitions().get(name))
        .unwrap_or(schema);
    let required: Vec<&str> = resolved
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    resolved
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| {
                    let description = s.get("description").cloned().unwrap_or(Value::Null);
                    json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": s, "description": description})
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Serve the document (when `server.openapi` is on).
pub async fn document(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if !state.settings.server.openapi {
        return Err(AppError::NotFound);
    }
    super::json(200, &build())
}
