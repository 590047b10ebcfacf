//! Consent benchmark: how long the contact decision takes for every person at once, i.e. the
//! contactable set for one purpose on the email channel (what a campaign computes at send time).
//!
//! `cargo bench --bench consent -- [--people N] [--database-url URL] [--runs 5] [--reuse]`
//!
//! `--reuse` measures an existing database (for instance one kept by the people benchmark):
//! no people are generated, and the consent ledger is written once if it is not there yet.
//!
//! It writes `--people` synthetic people (`lighthouse::synth`), then a consent ledger for one
//! marketing purpose in which, by person id: 5 in 10 granted, 1 in 10 granted but expired, 1 in 10
//! withdrawn after a grant, 1 in 10 refused, 2 in 10 never asked; 1 in 100 primary emails is on
//! the suppression list and 1 in 500 people is restricted. It then times
//! `service::consent::contactable_by_email` `--runs` times and checks the size of the set
//! against an independent SQL count. Results go to standard output and
//! `bench-out/consent-<backend>.json`.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use lighthouse::db::pool::{self, DbUrl, SqliteOptions};
use lighthouse::db::{self as ldb, DbConn};
use lighthouse::service::consent;

#[allow(dead_code)] // each benchmark uses its own part of it
mod common;

const TARGET_SECS: f64 = 2.0;
const PURPOSE: &str = "bench_newsletter";

struct Options {
    people: u64,
    database_url: Option<String>,
    runs: usize,
    reuse: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        people: 1_000_000,
        database_url: None,
        runs: 5,
        reuse: false,
    };
    let mut args = common::Args::from_env();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--people" => o.people = args.number()?,
            "--runs" => o.runs = args.number()? as usize,
            "--database-url" => o.database_url = Some(args.value()?),
            "--reuse" => o.reuse = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.reuse && o.database_url.is_none() {
        return Err("--reuse needs --database-url (a database made by an earlier run)".into());
    }
    o.runs = o.runs.max(1);
    Ok(o)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConn, sql: &str) -> Result<i64, String> {
    let rows: Vec<Count> = diesel::sql_query(sql).load(conn).map_err(|e| format!("{sql}: {e}"))?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// A fresh database (dropped and re-created for PostgreSQL) unless reusing one.
fn database(o: &Options, scratch: &std::path::Path) -> Result<String, String> {
    let url = match &o.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", scratch.join("consent.db").display()),
    };
    if o.reuse {
        return Ok(url);
    }
    if let Some(rest) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{rest}{suffix}"));
        }
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (server, name) = url.rsplit_once('/').ok_or("the PostgreSQL URL names no database")?;
        if name.is_empty() || name == "postgres" || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("refusing to drop database `{name}`: use a scratch name"));
        }
        let mut admin =
            diesel::PgConnection::establish(&format!("{server}/postgres")).map_err(|e| format!("{server}: {e}"))?;
        // Two statements: a multi-statement string runs as one transaction, and DROP DATABASE
        // refuses to run inside one.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).map_err(|e| e.to_string())?;
        }
    }
    Ok(url)
}

/// The ledger, suppressions and restrictions described at the top of this file.
fn seed_consent(conn: &mut DbConn, postgres: bool) -> Result<(), String> {
    let t = "'2026-01-01 00:00:00'";
    // A literal in a CASE is text to PostgreSQL: say it is a timestamp (SQLite stores text).
    let past = if postgres {
        "TIMESTAMP '2026-06-01 00:00:00'"
    } else {
        "'2026-06-01 00:00:00'"
    };
    let sql = format!(
        "INSERT INTO purposes (code, description, category, default_lawful_basis, created_at, updated_at) \
           VALUES ('{PURPOSE}', 'Benchmark newsletter', 'marketing', 'consent', {t}, {t});
         INSERT INTO consent_events (public_id, person_id, purpose_id, channel, contact_point, status, lawful_basis, \
             source, capture_method, captured_at, recorded_at, expires_at) \
           SELECT 'bench-' || p.id, p.id, (SELECT id FROM purposes WHERE code = '{PURPOSE}'), 'email', '', \
             CASE WHEN p.id % 10 IN (6, 7) THEN 'withdrawn' WHEN p.id % 10 = 8 THEN 'refused' ELSE 'granted' END, \
             'consent', 'web_form', 'form', {t}, {t}, \
             CASE WHEN p.id % 10 = 5 THEN {past} ELSE NULL END \
           FROM people p WHERE p.id % 10 <> 9 AND p.id % 10 <> 7;
         INSERT INTO consent_events (public_id, person_id, purpose_id, channel, contact_point, status, lawful_basis, \
             source, capture_method, captured_at, recorded_at) \
           SELECT 'bench-old-' || p.id, p.id, (SELECT id FROM purposes WHERE code = '{PURPOSE}'), 'email', '', \
             'granted', 'consent', 'web_form', 'form', '2025-01-01 00:00:00', {t} \
           FROM people p WHERE p.id % 10 = 6;
         INSERT INTO consent_state (person_id, purpose_id, channel, contact_point, status, lawful_basis, \
             capture_method, captured_at, expires_at, event_id) \
           SELECT e.person_id, e.purpose_id, e.channel, e.contact_point, e.status, e.lawful_basis, \
             e.capture_method, e.captured_at, e.expires_at, e.id \
           FROM consent_events e WHERE e.captured_at = {t} \
             AND e.purpose_id = (SELECT id FROM purposes WHERE code = '{PURPOSE}');
         INSERT INTO suppressions (point_hash, kind, reason, created_at) \
           SELECT point_hash, 'email', 'unsubscribe', {t} FROM person_emails \
           WHERE is_primary = TRUE AND person_id % 100 = 3 AND point_hash <> '';
         UPDATE people SET status = 'restricted' WHERE id % 500 = 1;"
    );
    conn.batch_execute(&sql)
        .map_err(|e| format!("seeding the consent ledger: {e}"))
}

/// The size of the set, computed independently of the decision code.
fn expected(conn: &mut DbConn) -> Result<i64, String> {
    count(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM people p \
             JOIN person_emails e ON e.person_id = p.id AND e.is_primary = TRUE \
             JOIN consent_state s ON s.person_id = p.id AND s.channel = 'email' AND s.contact_point = '' \
               AND s.purpose_id = (SELECT id FROM purposes WHERE code = '{PURPOSE}') \
             WHERE p.status = 'active' AND s.status = 'granted' AND s.expires_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.point_hash = e.point_hash)"
        ),
    )
}

fn run(o: &Options) -> Result<(), String> {
    let scratch = std::env::temp_dir().join(format!("lighthouse-consent-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let url = database(o, &scratch)?;
    let parsed = DbUrl::parse(&url)?;
    let backend = if matches!(parsed, DbUrl::Sqlite(_)) {
        "sqlite"
    } else {
        "postgres"
    };
    let pool = pool::open(
        &parsed,
        4,
        SqliteOptions {
            busy_timeout: Duration::from_secs(30),
        },
        Duration::from_secs(30),
    )
    .map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    pool::migrate(&mut conn, "").map_err(|e| e.to_string())?;

    if !o.reuse {
        let started = Instant::now();
        eprintln!("generating {} people …", o.people);
        lighthouse::synth::generate_people(&mut conn, o.people, 1, &[], |_| {})?;
        eprintln!("  {:.1} s", started.elapsed().as_secs_f64());
    }
    let seeded = count(
        &mut conn,
        &format!("SELECT COUNT(*) AS n FROM purposes WHERE code = '{PURPOSE}'"),
    )? > 0;
    if !seeded {
        eprintln!("writing the consent ledger …");
        let started = Instant::now();
        seed_consent(&mut conn, backend == "postgres")?;
        if backend == "postgres" {
            conn.batch_execute("VACUUM ANALYZE").map_err(|e| e.to_string())?;
        } else {
            conn.batch_execute("ANALYZE").map_err(|e| e.to_string())?;
        }
        eprintln!("  {:.1} s", started.elapsed().as_secs_f64());
    }
    let people = count(&mut conn, "SELECT COUNT(*) AS n FROM people")?;
    let purpose = consent::purposes::find(&mut conn, PURPOSE, "purpose").map_err(|e| format!("{e:?}"))?;
    let want = expected(&mut conn)?;
    let now = ldb::now();

    let mut times = Vec::new();
    let mut got = 0;
    for i in 0..o.runs {
        let started = Instant::now();
        let set = consent::contactable_by_email(&pool, &purpose, now).map_err(|e| format!("{e:?}"))?;
        let secs = started.elapsed().as_secs_f64();
        got = set.len();
        eprintln!("  run {}: {} contactable in {secs:.3} s", i + 1, got);
        times.push(secs);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    let best = times[0];
    let worst = times[times.len() - 1];
    let correct = got as i64 == want;
    println!("consent benchmark ({backend}, {people} people, purpose `{PURPOSE}`, email)");
    println!(
        "  contactable set: {got} people (independent SQL count: {want}) {}",
        if correct { "ok" } else { "MISMATCH" }
    );
    println!(
        "  time: best {best:.3} s, median {median:.3} s, worst {worst:.3} s over {} runs  (target < {TARGET_SECS} s: {})",
        o.runs,
        if median < TARGET_SECS { "met" } else { "MISSED" }
    );
    std::fs::create_dir_all("bench-out").map_err(|e| e.to_string())?;
    let json = serde_json::json!({
        "backend": backend, "people": people, "contactable": got, "expected": want,
        "best_s": best, "median_s": median, "worst_s": worst, "runs": o.runs, "target_s": TARGET_SECS,
    });
    std::fs::write(format!("bench-out/consent-{backend}.json"), format!("{json:#}\n")).map_err(|e| e.to_string())?;
    drop(conn);
    if o.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    if correct {
        Ok(())
    } else {
        Err("the contactable set does not match the independent count".into())
    }
}

fn main() {
    let outcome = parse_args().and_then(|o| run(&o));
    if let Err(e) = outcome {
        eprintln!("consent benchmark: {e}");
        std::process::exit(1);
    }
}
