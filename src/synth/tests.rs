//! The generator against a real (temporary SQLite) database: what it writes is what the
//! service would have written, and `sample_person` predicts it.

use std::time::Duration;

use super::*;
use crate::db::people as dbp;
use crate::db::pool::{self, SqliteOptions};
use crate::service::people::input::person_fields;

fn temp_pool() -> (DbPool, std::path::PathBuf) {
    let dir = std::env::temp_dir().join("lighthouse-synth-tests");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{}-{}.db", std::process::id(), crate::service::random_token(6)));
    let url = db::DbUrl::Sqlite(path.clone());
    let options = SqliteOptions {
        busy_timeout: Duration::from_secs(5),
    };
    let pool = pool::open(&url, 2, options, Duration::from_secs(5)).expect("open");
    pool::migrate(&mut pool.get().expect("connection"), "").expect("migrate");
    (pool, path)
}

#[test]
fn generated_people_are_stored_as_the_service_stores_them() {
    let (pool, path) = temp_pool();
    let mut conn = pool.get().expect("connection");
    let mut seen = Vec::new();
    let plan = Plan {
        count: 1_203,
        seed: 9,
        departments: vec!["BARB".into(), "OPEN".into()],
        batch: 500,
    };
    let points = PointHasher::load(&mut conn, "").expect("hasher");
    let report = generate_people_with(&mut conn, &points, &plan, |done| seen.push(done)).expect("generate");
    assert_eq!(report.rows.people, 1_203);
    assert_eq!(report.departments_created, vec!["BARB".to_string(), "OPEN".to_string()]);
    assert_eq!(seen.last(), Some(&1_203), "progress reaches the end: {seen:?}");
    assert!(report.rows.provenance >= 3 * 1_203, "{:?}", report.rows);

    for index in [0, 1, 499, 500, 1_202] {
        let sample = sample_person(9, index);
        let ids = dbp::ids_by_email(&mut conn, &sample.email.to_ascii_lowercase(), 5).expect("by email");
        assert_eq!(ids.len(), 1, "{} is stored once", sample.email);
        let person = dbp::find_many(&mut conn, &ids).expect("person").remove(0);
        let expected = person_fields(
            sample.title.clone(),
            Some(sample.given_name.clone()),
            Some(sample.family_name.clone()),
            sample.preferred_name.clone(),
            Some(sample.date_of_birth),
            sample.organisation.clone(),
        );
        assert_eq!(person.family_name.as_deref(), Some(sample.family_name.as_str()));
        assert_eq!(person.full_fold, expected.full_fold);
        assert_eq!(person.given_fold, expected.given_fold);
        assert_eq!(person.preferred_fold, expected.preferred_fold);
        assert_eq!(person.status, "active");
        assert_eq!(dbp::ids_by_phone(&mut conn, &sample.phone, 5).expect("by phone"), ids);

        let emails = dbp::emails_of(&mut conn, &ids).expect("emails");
        assert!(emails[0].is_primary && emails[0].address == sample.email);
        assert_eq!(emails[0].point_hash, points.email(&emails[0].address_key));
        assert!(emails.iter().all(|e| e.source_kind == SOURCE_KIND));
        let provenance = dbp::provenance_of(&mut conn, &ids).expect("provenance");
        assert!(provenance
            .iter()
            .any(|p| p.field == "family_name" && p.source_kind == SOURCE_KIND));
        let departments = dbp::departments_of(&mut conn, &ids).expect("departments");
        assert!((1..=2).contains(&departments.len()));
    }

    // The connection got its own settings back (foreign keys on).
    let DbConn::Sqlite(c) = &mut *conn else {
        unreachable!("a SQLite pool")
    };
    use diesel::RunQueryDsl;
    let fk: Vec<ForeignKeys> = diesel::sql_query("PRAGMA foreign_keys").load(c).expect("pragma");
    assert_eq!(fk.first().map(|f| f.foreign_keys), Some(1));
    drop(conn);
    drop(pool);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn bad_department_codes_are_refused_before_writing() {
    let (pool, path) = temp_pool();
    let mut conn = pool.get().expect("connection");
    let err = generate_people(&mut conn, 10, 1, &["barbican".into()], |_| {}).unwrap_err();
    assert!(err.contains("barbican"), "{err}");
    drop(conn);
    drop(pool);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
