//! What the fuzz test points at: one object of every kind, ids for path parameters, and bodies
//! each route accepts, for the hostile values to be the only thing wrong with a request.

use actix_web::test::TestRequest;
use lighthouse::service::Role;
use serde_json::{json, Map, Value};

use crate::common::Resp;
use crate::fill;
use crate::schema::Schemas;
use crate::world::World;

impl World {
    /// One object of every kind, and the hints that name them.
    pub async fn fixtures(&mut self) {
        let t = &self.admin.token.clone();
        let (job, person, twin, proposed) = self.fixture_people(t).await;
        let victim = self.app.user(&[Role::Analyst], &["BARB"]).await;
        let app = &self.app;
        let purpose = json!({"code": "newsletter", "description": "News", "category": "marketing",
            "default_lawful_basis": "consent", "wording": "May we email you?"});
        created(&app.post("/api/v1/purposes", t, purpose).await);
        let activity =
            json!({"kind": "banquet", "title": "Banquet", "department": "BARB", "starts_at": "2026-01-10T19:00:00Z"});
        let activity = created(&app.post("/api/v1/activities", t, activity).await);
        let request = json!({"kind": "access", "person": person, "requester": "Ada Lovelace", "channel": "email"});
        let request = created(&app.post("/api/v1/rights-requests", &self.dpo.token, request).await);
        let segment = json!({"name": "Fuzz", "definition": {"tag": "fuzz"}});
        let segment = created(&app.post("/api/v1/segments", t, segment).await);
        let template = json!({"name": "T", "subject": "Hello {{ given_name }}",
            "html_body": "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>", "text_body": "Bye: {{ unsubscribe_url }}"});
        let template = created(&app.post("/api/v1/templates", t, template).await);
        let campaign = json!({"name": "C", "segment": segment, "template": template, "purpose": "newsletter",
            "department": "BARB", "sender_name": "Ada"});
        let campaign = created(&app.post("/api/v1/campaigns", t, campaign).await);
        let token = json!({"label": "fuzz", "expires_in_days": 30});
        let token = created(&app.post("/api/v1/auth/tokens", t, token).await);
        let upload = TestRequest::post()
            .uri("/api/v1/imports?department=BARB&file_name=list.csv")
            .insert_header(("authorization", format!("Bearer {t}")))
            .insert_header(("content-type", "text/csv"))
            .set_payload("Forename,Surname,Email\nAda,Lovelace,ada@example.org\n");
        let import = created(&app.send(upload).await);
        self.ids = vec![
            ("people", person.clone()),
            ("users", victim.id),
            ("activities", activity.clone()),
            ("rights-requests", request),
            ("segments", segment.clone()),
            ("templates", template.clone()),
            ("campaigns", campaign),
            ("tokens", token),
            ("imports", import),
            ("dedupe", job),
            ("purposes", "newsletter".into()),
            ("departments", "BARB".into()),
        ];
        self.ids.extend(proposed.map(|id| ("matches", id)));
        self.hints = hints(&person, &twin, &activity, &segment, &template);
    }

    /// The people the fixtures need, and a dedupe job that ran before them: (job, a person,
    /// another one, a proposed match). One person is merged into another, for an unmerge.
    async fn fixture_people(&mut self, t: &str) -> (String, String, String, Option<String>) {
        // The dedupe job first, done before there is anyone to merge: one running later would
        // merge the fixtures behind the run's back.
        let job = created(&self.app.post("/api/v1/dedupe", t, json!({})).await);
        for _ in 0..200 {
            let r = self.app.get(&format!("/api/v1/dedupe/{job}"), t).await;
            if r.body["status"] == "done" || r.body["status"] == "failed" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let person = self.person().await;
        let twin = self.person().await;
        let (target, source) = (self.person().await, self.person().await);
        let merge = json!({"merge": [source]});
        let r = self.app.post(&format!("/api/v1/people/{target}/merge"), t, merge).await;
        assert_eq!(r.status, 200, "fixture merge: {}", r.text);
        self.merged = (target, r.body["merge"].as_str().unwrap_or_default().to_string());
        // The same name and email twice: a proposed match.
        let same = json!({"given_name": "Priya", "family_name": "Raman", "emails": [{"address": "priya@example.net"}]});
        for _ in 0..2 {
            self.app.person(t, same.clone()).await;
        }
        let matches = self.app.get("/api/v1/matches", t).await;
        let proposed = matches.body["items"][0]["id"].as_str().map(str::to_string);
        (job, person, twin, proposed)
    }

    /// A new person, unlike every other one (so that no dedupe merges them).
    pub async fn person(&mut self) -> String {
        self.people += 1;
        let n = self.people;
        let body = json!({"given_name": format!("Fuzz{n}"), "family_name": format!("Person{n}"),
            "emails": [{"address": format!("fuzz{n}@example.org")}], "phones": [{"number": format!("07700 9{n:05}")}],
            "addresses": [{"line1": format!("{n} London Wall"), "postcode": "EC2V 7HH"}],
            "departments": ["BARB"], "tags": ["fuzz"]});
        let p = self.app.person(&self.admin.token, body).await;
        p["id"].as_str().unwrap_or_default().to_string()
    }

    /// The address a route's bodies are sent to: a new person for a route about one (erasing
    /// or merging them must not take them from the routes after), the person with a merge for
    /// an unmerge, and the fixtures' ids for the rest.
    pub async fn target(&mut self, method: &str, path: &str) -> String {
        if (method, path) == ("POST", "/api/v1/people/{id}/unmerge") {
            return path.replace("{id}", &self.merged.0);
        }
        if path.starts_with("/api/v1/people/{id}") {
            return path.replace("{id}", &self.person().await);
        }
        self.concrete(path)
    }

    /// A body the route accepts: built from its request schema and the hints, with the route's
    /// overrides; `{}` for a route that reads none; nothing for a GET.
    pub fn valid_body(&self, doc: &Value, schemas: &Schemas, method: &str, path: &str) -> Option<Value> {
        if method == "GET" {
            return None;
        }
        let Some(schema) =
            doc["paths"][path][method.to_lowercase()].pointer("/requestBody/content/application~1json/schema")
        else {
            return Some(json!({}));
        };
        let mut base = schemas.plausible(schema, "", 0);
        if let (Some(base), Value::Object(over)) = (base.as_object_mut(), self.overrides(method, path)) {
            base.extend(over);
        }
        Some(base)
    }

    /// Values a route's body needs beyond the hints to be accepted as it is, so that each
    /// hostile value is the only thing wrong with its request.
    fn overrides(&self, method: &str, path: &str) -> Value {
        match (method, path) {
            ("POST", "/api/v1/rights-requests") => json!({"kind": "access"}),
            ("POST", "/api/v1/purposes") => json!({"code": "fuzz_purpose", "statutory_reference": null}),
            ("PATCH", "/api/v1/purposes/{code}") => json!({"statutory_reference": null}),
            ("POST", "/api/v1/activity-kinds") => json!({"code": "fuzz_kind"}),
            ("POST", "/api/v1/departments") => json!({"code": "FUZZ"}),
            ("POST", "/api/v1/people/{id}/unmerge") => json!({"merge": self.merged.1}),
            ("POST", "/api/v1/segments/{id}/preview") => json!({"definition": null}),
            ("POST", "/api/v1/campaigns/{id}/test-send") => json!({"to": null}),
            ("POST", "/api/v1/imports/{id}/dry-run") => json!({
                "mapping": [{"column": 0, "header": "Forename", "target": "given_name"},
                    {"column": 1, "header": "Surname", "target": "family_name"},
                    {"column": 2, "header": "Email", "target": "email"}],
                "consents": null, "save_template": null}),
            _ => json!({}),
        }
    }

    /// `path` with a real id of the right kind in each parameter (a made-up one where the
    /// fixtures have none, as for unsubscribe tokens).
    pub fn concrete(&self, path: &str) -> String {
        let kind_before = |param: &str| {
            let segs: Vec<&str> = path.split('/').collect();
            let at = segs.iter().position(|s| *s == format!("{{{param}}}")).unwrap_or(0);
            segs[at.saturating_sub(1)].to_string()
        };
        fill(path, |param| {
            let kind = kind_before(param);
            self.ids
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, id)| id.clone())
                .unwrap_or_else(|| "0123456789abcdef0123456789abcdef".into())
        })
    }
}

/// Plausible values by field name: the fixtures' ids, and values the validators accept.
fn hints(person: &str, twin: &str, activity: &str, segment: &str, template: &str) -> Map<String, Value> {
    let hints = json!({
        "person": person, "merge": [twin], "department": "BARB", "departments": ["BARB"], "purpose": "newsletter",
        "channel": "email", "segment": segment, "template": template, "activity": activity, "kind": "banquet",
        "action": "attended", "capture_method": "web_checkbox", "definition": {"tag": "fuzz"},
        "address": "ada@example.org", "email": "ada@example.org", "contact_point": null, "shift": null, "on": null,
        "number": "07700 900123", "phone": "07700 900123", "postcode": "EC2V 7HH", "country": "GB",
        "reason": "objection", "file_name": "list.csv", "html_body": "<a href=\"{{ unsubscribe_url }}\">x</a>",
        "text_body": "{{ unsubscribe_url }}", "occurred_at": "2026-01-10T19:00:00Z",
        "ends_at": "2026-01-10T21:00:00Z", "expires_at": "2027-01-10T19:00:00Z", "roles": ["analyst"],
        "status": "active", "awaiting": "identity", "outcome": "completed", "survivorship": "most_recent",
        "survivor": null, "hours": null, "date_order": "day_first", "password": "a long fuzz test passphrase",
    });
    hints.as_object().cloned().unwrap_or_default()
}

/// The public id in a 201 (or 202) answer.
fn created(r: &Resp) -> String {
    assert!(r.status == 201 || r.status == 202, "fixture: {} {}", r.status, r.text);
    r.body["id"].as_str().unwrap_or_default().to_string()
}
