//! Upkeep the service does by itself: on PostgreSQL, the engagement ledger is vacuumed after
//! every `database.vacuum_every_events` events logged (so the analytics' index-only scans stay
//! fast); on SQLite nothing happens and logging is unaffected.

mod common;

use common::TestApp;
use lighthouse::db::Backend;
use lighthouse::service::Role;
use serde_json::{json, Value};

#[actix_web::test]
async fn the_ledger_is_vacuumed_after_enough_events_are_logged() {
    let app = TestApp::with_settings(&[("LIGHTHOUSE__DATABASE__VACUUM_EVERY_EVENTS", "10")]).await;
    app.department("BARB");
    let officer = app.user(&[Role::EngagementOfficer], &[]).await;
    let p = app
        .person(
            &officer.token,
            json!({"given_name": "Vera", "family_name": "Vacuum", "departments": ["BARB"]}),
        )
        .await;
    let events: Vec<Value> = (0..12)
        .map(|i| json!({"person": p["id"], "kind": "event", "department": "BARB", "action": "attended", "occurred_at": "2026-05-01T10:00:00Z", "external_ref": format!("vac-{i}")}))
        .collect();
    let r = app
        .post("/api/v1/engagements/batch", &officer.token, json!({"events": events}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 12);
    let backend = app.state.pool.get().unwrap().backend();
    if backend == Backend::Postgres {
        let vacuumed = || {
            app.count(
                "SELECT COUNT(*) AS n FROM pg_stat_user_tables \
                 WHERE relname = 'engagement_events' AND schemaname = current_schema() \
                 AND vacuum_count > 0 AND analyze_count > 0",
            )
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while vacuumed() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(vacuumed(), 1, "engagement_events was not vacuumed");
    }
    // Either way the events are there, once.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM engagement_events"), 12);
}
