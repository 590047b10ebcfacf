//! Matching benchmark: incremental matching of one new record against everyone held, and the
//! whole-database dedupe pass.
//!
//! `cargo build --release && cargo bench --bench matching -- --database-url sqlite://PATH
//! [--records 2000] [--dedupe]`
//!
//! It measures an existing database (for instance the one `cargo bench --bench people -- --keep
//! --database-url sqlite://PATH` leaves, 1,000,000 people made by `lighthouse generate`):
//!
//! 1. the people without blocking keys are indexed by `lighthouse dedupe --dry-run`'s reader
//!    (run once, timed: it is the dedupe pass without writes; `--dedupe` runs the real pass,
//!    which also writes the keys);
//! 2. `--records` new departmental records are made from generated people (index scattered over
//!    the data set) with the noise a department's copy has: a nickname or a capitalised name, the
//!    phone written the UK way, the postcode without its space; each is matched with the service's
//!    own matcher (`service::identity::matcher::Matcher::matches`: key look-ups, loading the
//!    candidates, scoring) and timed. It reports p50/p99 and how many found their person.
//!
//! Results go to standard output and `bench-out/matching-<backend>.json`.

use std::time::{Duration, Instant};

use lighthouse::config::Settings;
use lighthouse::db::pool::{self, DbUrl, SqliteOptions};
use lighthouse::matching::{MatchRecord, Prepared};
use lighthouse::service::identity::{dedupe, matcher::Matcher};
use lighthouse::service::privacy::keys::PointHasher;
use lighthouse::synth::sample_person;

const TARGET_P99_MS: f64 = 5.0;
const TARGET_DEDUPE_S: f64 = 60.0;

fn main() {
    if let Err(e) = run() {
        eprintln!("matching benchmark: {e}");
        std::process::exit(1);
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run() -> Result<(), String> {
    let mut url = None;
    let mut records = 2_000u64;
    let mut real_dedupe = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--database-url" => url = args.next(),
            "--records" => {
                records = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--records needs a number")?
            }
            "--dedupe" => real_dedupe = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let url = url.ok_or("--database-url is required (a database made by `lighthouse generate`)")?;
    let parsed = DbUrl::parse(&url)?;
    let backend = if matches!(parsed, DbUrl::Sqlite(_)) {
        "sqlite"
    } else {
        "postgres"
    };
    let pool = pool::open(
        &parsed,
        2,
        SqliteOptions {
            busy_timeout: Duration::from_secs(30),
        },
        Duration::from_secs(30),
    )
    .map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let settings = Settings::load(None).map_err(|e| e.to_string())?;
    let points = PointHasher::load(&mut conn, &settings.privacy.hash_key).map_err(|e| e.to_string())?;

    eprintln!("dedupe pass ({}) …", if real_dedupe { "writing" } else { "dry run" });
    let opts = dedupe::Options {
        dry_run: !real_dedupe,
        ..dedupe::Options::default()
    };
    let started = Instant::now();
    let report =
        dedupe::run(&mut conn, &points, &settings.matching, &opts, |_, _, _| {}).map_err(|e| format!("dedupe: {e}"))?;
    let dedupe_s = started.elapsed().as_secs_f64();
    let people = report.people;
    println!(
        "dedupe ({backend}, {people} people{}): {dedupe_s:.1} s, {} candidate pairs, {} links, {} proposals  (target ≤ {TARGET_DEDUPE_S} s: {})",
        if real_dedupe { "" } else { ", dry run" },
        report.pairs,
        report.links,
        report.proposals,
        if dedupe_s <= TARGET_DEDUPE_S { "met" } else { "MISSED" }
    );
    let phases: Vec<String> = report.seconds.iter().map(|(p, s)| format!("{p} {s:.1} s")).collect();
    println!("  phases: {}", phases.join(", "));

    if report.indexed > 0 && !real_dedupe {
        eprintln!("indexing {} people without keys (a writing pass) …", report.indexed);
        dedupe::run(
            &mut conn,
            &points,
            &settings.matching,
            &dedupe::Options::default(),
            |_, _, _| {},
        )
        .map_err(|e| format!("dedupe: {e}"))?;
    }

    let matcher = Matcher::load(&mut conn, &settings.matching).map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    let mut found = 0u64;
    for k in 0..records {
        let index = (k.wrapping_mul(0x9E37_79B9) % people.max(1)) as u64;
        let p = sample_person(1, index);
        let given = if k % 2 == 0 {
            p.preferred_name.clone().unwrap_or_else(|| p.given_name.to_uppercase())
        } else {
            p.given_name.to_uppercase()
        };
        let phone = p.phone.replacen("+44", "0", 1);
        let record = MatchRecord {
            given: Some(given),
            family: Some(p.family_name.clone()),
            dob: Some(p.date_of_birth),
            emails: if k % 3 == 0 { vec![] } else { vec![p.email.clone()] },
            phones: vec![phone],
            postcode: Some(p.address.postcode.replace(' ', "")),
            address_line: Some(p.address.line1.clone()),
            organisation: None,
        };
        let started = Instant::now();
        let prepared = Prepared::from_record(&record);
        let m = matcher
            .matches(&mut conn, &prepared, &[])
            .map_err(|e| format!("match: {e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !m.is_empty() {
            found += 1;
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99) = (pct(&times, 0.50), pct(&times, 0.99));
    println!(
        "incremental match ({backend}, {people} people, {records} records): p50 {p50:.2} ms, p99 {p99:.2} ms, {found} found their person  (target p99 ≤ {TARGET_P99_MS} ms: {})",
        if p99 <= TARGET_P99_MS { "met" } else { "MISSED" }
    );
    std::fs::create_dir_all("bench-out").map_err(|e| e.to_string())?;
    let json = serde_json::json!({
        "backend": backend, "people": people,
        "dedupe_s": dedupe_s, "dedupe_dry_run": !real_dedupe, "pairs": report.pairs, "links": report.links,
        "proposals": report.proposals, "phases": report.seconds,
        "records": records, "match_p50_ms": p50, "match_p99_ms": p99, "found": found,
    });
    std::fs::write(format!("bench-out/matching-{backend}.json"), format!("{json:#}\n")).map_err(|e| e.to_string())?;
    Ok(())
}
