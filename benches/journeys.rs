//! Journeys benchmark: a large engagement ledger, served, and measured over real HTTP — bulk
//! logging, the five journey analytics over a whole year, and a person's timeline.
//!
//! `cargo build --release && cargo bench --bench journeys -- [--people N] [--events N]
//! [--database-url URL] [--years 3] [--seed 1] [--log-events 500000] [--clients 16]
//! [--seconds 15] [--runs 3] [--warmup 2] [--keep] [--reuse]`
//!
//! It builds nothing: it generates the data in-process through the library (people with
//! `lighthouse::synth`, as `lighthouse generate` does; then departments, activities and
//! engagement events with multi-row INSERTs into the real schema, every index in place), then
//! runs `target/release/lighthouse serve` (or `LIGHTHOUSE_BIN`) on a free loopback port and
//! always stops it. Results go to standard output and `bench-out/journeys-<backend>.json`.
//! See `benches/README.md`.

#[allow(dead_code)] // each benchmark uses its own part of it
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use lighthouse::db::engagement::{Activity, Engagement};
use lighthouse::db::pool::{self, DbUrl, SqliteOptions};
use lighthouse::db::schema::{activities, engagement_events, people};
use lighthouse::db::{self as ldb, DbConn};
use lighthouse::service::new_public_id;
use lighthouse::synth::rng::SplitMix64;
use serde_json::{json, Value};

use common::{Database, Http, Req};

const PASSWORD: &str = "benchmark passphrase 1234";
const OFFICER_EMAIL: &str = "bench-officer@example.com";

/// Targets of the issue (for 1,000,000 people and 10,000,000 events).
const LOG_TARGET_EPS: f64 = 50_000.0;
const JOURNEY_TARGET_S: f64 = 2.0;
const TIMELINE_TARGET_P99_MS: f64 = 20.0;
const FULL_PEOPLE: u64 = 1_000_000;
const FULL_EVENTS: u64 = 10_000_000;

/// Bulk logging: events per request and concurrent clients.
const LOG_BATCH: usize = 5_000;
const LOG_THREADS: usize = 2;
/// The `source` of the events the bulk-logging phase sends.
const LOG_SOURCE: &str = "bench";

/// Departments people are linked to and activities belong to.
const DEPARTMENTS: [&str; 8] = ["BARB", "GSMD", "OPEN", "REMB", "POLICE", "LMA", "MARKETS", "CULTURE"];
/// Activities to generate.
const ACTIVITIES: usize = 2_000;
/// Activity kinds (as seeded by the migration), the share of activities of each, the share of
/// a typical person's engagements, and the source system that reports them.
const KINDS: [&str; 5] = ["banquet", "volunteering", "consultation", "event", "communication"];
const ACTIVITY_SHARE: [f64; 5] = [0.08, 0.17, 0.15, 0.30, 0.30];
const ENGAGEMENT_SHARE: [f64; 5] = [0.06, 0.12, 0.10, 0.27, 0.45];
const SOURCES: [&str; 5] = ["staff", "volunteer_portal", "consultation_hub", "ticketing", "mailer"];
/// Generated events per transaction (sorted by time inside it, as they would arrive).
const BLOCK_EVENTS: usize = 250_000;

const DAY: i64 = 86_400;

struct Options {
    people: u64,
    events: u64,
    database_url: Option<String>,
    years: u64,
    seed: u64,
    keep: bool,
    reuse: bool,
    log_events: u64,
    clients: usize,
    seconds: u64,
    runs: usize,
    warmup: u64,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        people: FULL_PEOPLE,
        events: FULL_EVENTS,
        database_url: None,
        years: 3,
        seed: 1,
        keep: false,
        reuse: false,
        log_events: 500_000,
        clients: 16,
        seconds: 15,
        runs: 3,
        warmup: 2,
    };
    let mut args = common::Args::from_env();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--people" => o.people = args.number()?,
            "--events" => o.events = args.number()?,
            "--database-url" => o.database_url = Some(args.value()?),
            "--years" => o.years = args.number()?.clamp(1, 10),
            "--seed" => o.seed = args.number()?,
            "--keep" => o.keep = true,
            "--reuse" => o.reuse = true,
            "--log-events" => o.log_events = args.number()?,
            "--clients" => o.clients = args.number()?.clamp(1, 1024) as usize,
            "--seconds" => o.seconds = args.number()?.max(1),
            "--runs" => o.runs = args.number()?.clamp(1, 100) as usize,
            "--warmup" => o.warmup = args.number()?,
            other => return Err(format!("unknown argument {other} (see the top of benches/journeys.rs)")),
        }
    }
    if o.people < 1_000 {
        return Err("--people must be at least 1000".into());
    }
    if o.reuse && o.database_url.is_none() {
        return Err("--reuse needs --database-url (a database kept by an earlier run)".into());
    }
    o.keep |= o.reuse;
    Ok(o)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConn, sql: &str) -> Result<i64, String> {
    let rows: Vec<Count> = diesel::sql_query(sql).load(conn).map_err(|e| format!("{sql}: {e}"))?;
    Ok(rows.first().map_or(0, |r| r.n))
}

fn err(what: &str) -> impl Fn(diesel::result::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn at(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0).unwrap_or_default().naive_utc()
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// What generation wrote and how long it took.
#[derive(Default)]
struct Generated {
    people_s: f64,
    activities: usize,
    events_s: f64,
    /// People with 0, 1–3, 4–20 and more than 20 events; the most events of one person.
    spread: [u64; 4],
    most: u64,
}

/// An activity as the generator uses it.
struct Act {
    id: i64,
    kind: usize,
    department_id: i64,
    department: usize,
    starts: i64,
}

/// SQLite settings of the generating connection, restored afterwards: a 1 GiB page cache for
/// the randomly ordered indexes, and foreign keys off (as `lighthouse generate` does) so that a
/// multi-row `INSERT OR IGNORE` cannot abort and needs no statement journal. Every row written
/// references rows read back from the database, and every statement's row count is checked.
struct BulkMode(Option<(i64, i64)>);

#[derive(QueryableByName)]
struct Pragma {
    #[diesel(sql_type = BigInt)]
    v: i64,
}

impl BulkMode {
    fn enter(conn: &mut DbConn) -> Result<BulkMode, String> {
        let DbConn::Sqlite(c) = conn else {
            return Ok(BulkMode(None));
        };
        let get = |c: &mut diesel::SqliteConnection, p: &str| -> Result<i64, String> {
            let rows: Vec<Pragma> = diesel::sql_query(format!("SELECT {p} AS v FROM pragma_{p}"))
                .load(c)
                .map_err(err(p))?;
            Ok(rows.first().map_or(0, |r| r.v))
        };
        let saved = (get(c, "cache_size")?, get(c, "foreign_keys")?);
        c.batch_execute("PRAGMA cache_size = -1048576; PRAGMA foreign_keys = OFF")
            .map_err(err("bulk settings"))?;
        Ok(BulkMode(Some(saved)))
    }

    fn leave(self, conn: &mut DbConn) -> Result<(), String> {
        let (Some((cache, fks)), DbConn::Sqlite(c)) = (self.0, conn) else {
            return Ok(());
        };
        c.batch_execute(&format!("PRAGMA cache_size = {cache}; PRAGMA foreign_keys = {fks}"))
            .map_err(err("restoring the connection settings"))
    }
}

/// Insert rows with multi-row statements: `INSERT OR IGNORE` of 400 rows on SQLite (15 columns,
/// 6,000 bound parameters), `INSERT` of 4,000 rows on PostgreSQL (60,000 of its 65,535). Full
/// chunks are fixed-size arrays, so diesel prepares each statement once and reuses it.
fn insert_events(conn: &mut DbConn, rows: &[Engagement]) -> QueryResult<usize> {
    const SQLITE_ROWS: usize = 400;
    const PG_ROWS: usize = 4_000;
    let mut n = 0;
    match conn {
        DbConn::Sqlite(c) => {
            for chunk in rows.chunks(SQLITE_ROWS) {
                n += match <&[Engagement; SQLITE_ROWS]>::try_from(chunk) {
                    Ok(full) => diesel::insert_or_ignore_into(engagement_events::table)
                        .values(full)
                        .execute(c)?,
                    Err(_) => diesel::insert_or_ignore_into(engagement_events::table)
                        .values(chunk)
                        .execute(c)?,
                };
            }
        }
        DbConn::Pg(c) => {
            for chunk in rows.chunks(PG_ROWS) {
                n += match <&[Engagement; PG_ROWS]>::try_from(chunk) {
                    Ok(full) => diesel::insert_into(engagement_events::table).values(full).execute(c)?,
                    Err(_) => diesel::insert_into(engagement_events::table).values(chunk).execute(c)?,
                };
            }
        }
    }
    if n != rows.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("{n} of {} events were written", rows.len()).into(),
        ));
    }
    Ok(n)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - rng.unit();
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Pick an index by weight.
fn weighted(rng: &mut SplitMix64, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.unit() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// How many events each person gets: log-normal weights (σ = 1.5, capped at 40 times the
/// mean), scaled so the counts add up to exactly `total` — about a fifth of people get none,
/// half get 0–3, a tenth get dozens.
fn events_per_person(people: usize, total: u64, seed: u64) -> Vec<u32> {
    if people == 0 {
        return Vec::new();
    }
    let mut w: Vec<f64> = (0..people)
        .map(|i| (1.5 * normal(&mut SplitMix64::for_item(seed ^ 0x5EED_C0DE, i as u64))).exp())
        .collect();
    let mean = w.iter().sum::<f64>() / people as f64;
    for x in &mut w {
        *x = x.min(40.0 * mean);
    }
    let sum: f64 = w.iter().sum();
    let scale = total as f64 / sum;
    let mut counts: Vec<u32> = w.iter().map(|x| (x * scale).floor() as u32).collect();
    let assigned: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    // The remainder (fewer than `people` events) goes to people drawn by weight.
    let mut cumulative = Vec::with_capacity(people);
    let mut acc = 0.0;
    for x in &w {
        acc += x;
        cumulative.push(acc);
    }
    let mut rng = SplitMix64::new(seed ^ 0xF00D);
    for _ in assigned..total {
        let x = rng.unit() * acc;
        let i = cumulative.partition_point(|c| *c <= x).min(people - 1);
        counts[i] += 1;
    }
    counts
}

/// The events of one engagement with activity `a`: (action, time, hours, response?).
fn chain(rng: &mut SplitMix64, a: &Act, out: &mut Vec<(&'static str, i64, Option<f64>, bool)>) {
    let t = a.starts;
    let days = |rng: &mut SplitMix64, lo: u64, hi: u64| (rng.between(lo * DAY as u64, hi * DAY as u64)) as i64;
    let minutes = |rng: &mut SplitMix64, hi: u64| (rng.below(hi * 60)) as i64;
    let outcome = |rng: &mut SplitMix64, attend: f64| {
        let x = rng.unit();
        if x < attend {
            "attended"
        } else if x < attend + (1.0 - attend) * 0.7 {
            "no_show"
        } else {
            "cancelled"
        }
    };
    match KINDS[a.kind] {
        "banquet" => {
            out.push(("invited", t - days(rng, 30, 60), None, false));
            if rng.chance(0.7) {
                out.push(("registered", t - days(rng, 5, 25), None, false));
                out.push((outcome(rng, 0.85), t + minutes(rng, 60), None, false));
            }
        }
        "event" => {
            out.push(("registered", t - days(rng, 1, 20), None, false));
            out.push((outcome(rng, 0.8), t + minutes(rng, 45), None, false));
        }
        "volunteering" => {
            if rng.chance(0.6) {
                out.push(("registered", t - days(rng, 3, 30), None, false));
            }
            if rng.chance(0.9) {
                let hours = rng.between(2, 16) as f64 / 2.0;
                out.push(("volunteered", t + minutes(rng, 30), Some(hours), false));
            } else {
                out.push(("no_show", t, None, false));
            }
        }
        "consultation" => {
            if rng.chance(0.5) {
                out.push(("invited", t - days(rng, 0, 14), None, false));
            }
            out.push(("responded", t + days(rng, 0, 21), None, true));
        }
        _ => {
            out.push(("sent", t, None, false));
            if rng.chance(0.45) {
                let opened = t + minutes(rng, 3 * 24 * 60);
                out.push(("opened", opened, None, false));
                if rng.chance(0.2) {
                    out.push(("clicked", opened + minutes(rng, 10), None, false));
                }
            }
        }
    }
}

/// Make the departments, activities and events (people come from `lighthouse::synth`).
fn generate(conn: &mut DbConn, o: &Options, now: NaiveDateTime) -> Result<Generated, String> {
    let mut g = Generated::default();
    let now_s = now.and_utc().timestamp();
    let start_s = now_s - o.years as i64 * 365 * DAY;

    // People, linked to the departments (created here).
    let began = Instant::now();
    let codes: Vec<String> = DEPARTMENTS.iter().map(|d| d.to_string()).collect();
    let mut last = Instant::now();
    let total = o.people;
    lighthouse::synth::generate_people(conn, o.people, o.seed, &codes, |done| {
        if last.elapsed() >= Duration::from_secs(5) || done == total {
            last = Instant::now();
            eprintln!("  people {:>10} / {}", thousands(done), thousands(total));
        }
    })?;
    g.people_s = began.elapsed().as_secs_f64();
    eprintln!(
        "  people: {:.1} s ({:.0} people/s)",
        g.people_s,
        o.people as f64 / g.people_s.max(1e-9)
    );

    let began = Instant::now();
    let departments: Vec<(i64, String)> = ldb::departments::list(conn)
        .map_err(err("departments"))?
        .into_iter()
        .filter(|d| DEPARTMENTS.contains(&d.code.as_str()))
        .map(|d| (d.id, d.code))
        .collect();
    if departments.len() != DEPARTMENTS.len() {
        return Err("the departments were not all created".into());
    }

    // Activities, spread over the span, owned by departments (banquets mostly by the
    // Remembrancer's Office).
    let mut rng = SplitMix64::new(o.seed ^ 0xAC71_0175);
    let places = [
        "Guildhall",
        "Mansion House",
        "Barbican Hall",
        "Epping Forest",
        "Online",
        "Smithfield",
    ];
    let remb = departments.iter().position(|d| d.1 == "REMB").unwrap_or(0);
    let mut rows = Vec::with_capacity(ACTIVITIES);
    for n in 0..ACTIVITIES {
        let kind = weighted(&mut rng, &ACTIVITY_SHARE);
        let department = if KINDS[kind] == "banquet" && rng.chance(0.7) {
            remb
        } else {
            rng.below(departments.len() as u64) as usize
        };
        // Whole hours in the evening or morning, on a day of the span.
        let day = start_s / DAY + rng.below(((now_s - start_s) / DAY) as u64) as i64;
        let starts = day * DAY + [10, 14, 18, 19][rng.below(4) as usize] * 3600;
        let communication = KINDS[kind] == "communication";
        rows.push(Activity {
            id: 0,
            public_id: new_public_id(),
            kind: KINDS[kind].to_string(),
            title: format!("{} {}", KINDS[kind], n + 1),
            department_id: departments[department].0,
            starts_at: Some(at(starts)),
            ends_at: (!communication).then(|| at(starts + 3 * 3600)),
            place: (!communication).then(|| places[rng.below(places.len() as u64) as usize].to_string()),
            capacity: (!communication).then(|| rng.between(20, 800) as i32),
            reference: (KINDS[kind] == "consultation").then(|| format!("CONS-{:04}", n + 1)),
            created_at: at(starts - 60 * DAY),
            updated_at: at(starts - 60 * DAY),
        });
    }
    ldb::write_tx(conn, |c| {
        for chunk in rows.chunks(100) {
            lighthouse::with_backend!(&mut *c, |c| diesel::insert_into(activities::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(err("inserting activities"))?;
    g.activities = ACTIVITIES;
    let acts: Vec<Act> = activities::table
        .select((
            activities::id,
            activities::kind,
            activities::department_id,
            activities::starts_at,
        ))
        .order(activities::starts_at)
        .load::<(i64, String, i64, Option<NaiveDateTime>)>(conn)
        .map_err(err("reading activities"))?
        .into_iter()
        .filter_map(|(id, kind, department_id, starts)| {
            Some(Act {
                id,
                kind: KINDS.iter().position(|k| *k == kind)?,
                department_id,
                department: departments.iter().position(|d| d.0 == department_id)?,
                starts: starts?.and_utc().timestamp(),
            })
        })
        .collect();
    // Activities by kind, and by kind and department, in order of start.
    let by_kind: Vec<Vec<usize>> = (0..KINDS.len())
        .map(|k| (0..acts.len()).filter(|&i| acts[i].kind == k).collect())
        .collect();
    let by_kind_dept: Vec<Vec<Vec<usize>>> = (0..KINDS.len())
        .map(|k| {
            (0..departments.len())
                .map(|d| {
                    by_kind[k]
                        .iter()
                        .copied()
                        .filter(|&i| acts[i].department == d)
                        .collect()
                })
                .collect()
        })
        .collect();
    if by_kind.iter().any(Vec::is_empty) {
        return Err("some kind has no activity".into());
    }

    // Events, person by person, each transaction's events sorted by time.
    let person_ids: Vec<i64> = people::table
        .select(people::id)
        .order(people::id)
        .load(conn)
        .map_err(err("reading people"))?;
    let counts = events_per_person(person_ids.len(), o.events, o.seed);
    for &c in &counts {
        let bucket = match c {
            0 => 0,
            1..=3 => 1,
            4..=20 => 2,
            _ => 3,
        };
        g.spread[bucket] += 1;
        g.most = g.most.max(u64::from(c));
    }
    let bulk = BulkMode::enter(conn)?;
    let written = write_events(
        conn,
        o,
        &person_ids,
        &counts,
        &acts,
        &by_kind,
        &by_kind_dept,
        start_s,
        now_s,
    );
    let left = bulk.leave(conn);
    written?;
    left?;
    if let DbConn::Pg(c) = conn {
        // What autovacuum does to an insert-only table in time: planner statistics, and the
        // visibility map that lets the journeys read their covering index without visiting the
        // table. SQLite is left as the service leaves it (no ANALYZE).
        c.batch_execute("VACUUM ANALYZE activities, engagement_events")
            .map_err(err("VACUUM ANALYZE"))?;
    }
    g.events_s = began.elapsed().as_secs_f64();
    eprintln!(
        "  activities and events (with VACUUM ANALYZE on PostgreSQL): {:.1} s ({:.0} events/s)",
        g.events_s,
        o.events as f64 / g.events_s.max(1e-9)
    );
    Ok(g)
}

#[allow(clippy::too_many_arguments)]
fn write_events(
    conn: &mut DbConn,
    o: &Options,
    person_ids: &[i64],
    counts: &[u32],
    acts: &[Act],
    by_kind: &[Vec<usize>],
    by_kind_dept: &[Vec<Vec<usize>>],
    start_s: i64,
    now_s: i64,
) -> Result<(), String> {
    let began = Instant::now();
    let mut last = Instant::now();
    let mut block: Vec<Engagement> = Vec::with_capacity(BLOCK_EVENTS + 1_000);
    let mut steps = Vec::new();
    let mut serial = 0u64;
    let mut written = 0u64;
    let mut flush = |conn: &mut DbConn, block: &mut Vec<Engagement>| -> Result<(), String> {
        block.sort_unstable_by_key(|e| e.occurred_at);
        ldb::write_tx(conn, |c| insert_events(c, block)).map_err(err("inserting events"))?;
        written += block.len() as u64;
        block.clear();
        if last.elapsed() >= Duration::from_secs(5) || written == o.events {
            last = Instant::now();
            let secs = began.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "  events {:>12} / {}  ({:.0} events/s)",
                thousands(written),
                thousands(o.events),
                written as f64 / secs
            );
        }
        Ok(())
    };
    for (i, (&person_id, &n)) in person_ids.iter().zip(counts).enumerate() {
        if n == 0 {
            continue;
        }
        let mut rng = SplitMix64::for_item(o.seed ^ 0x6A6F_7572, i as u64);
        let home = [
            rng.below(DEPARTMENTS.len() as u64) as usize,
            rng.below(DEPARTMENTS.len() as u64) as usize,
        ];
        let favourite = rng.below(KINDS.len() as u64) as usize;
        let mut share = ENGAGEMENT_SHARE;
        share[favourite] *= 4.0;
        // Four in ten people were engaged before the span began; the others joined during it.
        let joined = if rng.chance(0.4) {
            start_s
        } else {
            start_s + rng.below(((now_s - start_s) - 30 * DAY).max(DAY) as u64) as i64
        };
        let mut left = n;
        while left > 0 {
            let kind = weighted(&mut rng, &share);
            let dept = home[usize::from(rng.chance(0.3))];
            let mut list = &by_kind[kind];
            if rng.chance(0.6) && !by_kind_dept[kind][dept].is_empty() {
                list = &by_kind_dept[kind][dept];
            }
            let from = list.partition_point(|&a| acts[a].starts < joined);
            let from = if from >= list.len() { 0 } else { from };
            let a = &acts[list[from + rng.below((list.len() - from) as u64) as usize]];
            steps.clear();
            chain(&mut rng, a, &mut steps);
            for &(action, t, hours, response) in steps.iter().take(left as usize) {
                let t = t.clamp(start_s, now_s - 60);
                serial += 1;
                let source = SOURCES[a.kind];
                block.push(Engagement {
                    id: 0,
                    public_id: new_public_id(),
                    person_id,
                    activity_id: Some(a.id),
                    shift_id: None,
                    kind: KINDS[a.kind].to_string(),
                    action: action.to_string(),
                    occurred_at: at(t),
                    department_id: a.department_id,
                    source: source.to_string(),
                    external_ref: (source != "staff").then(|| format!("g{}-{serial:010}", o.seed)),
                    hours,
                    response_ref: response.then(|| format!("R{serial}")),
                    detail: None,
                    recorded_at: at((t + 3_600 + (serial % 48) as i64 * 3_600).min(now_s)),
                    recorded_by: None,
                });
                left -= 1;
            }
        }
        if block.len() >= BLOCK_EVENTS {
            flush(conn, &mut block)?;
        }
    }
    if !block.is_empty() {
        flush(conn, &mut block)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

/// The bulk-logging phase's figures.
struct Logged {
    events: u64,
    requests: usize,
    seconds: f64,
    micros: Vec<u32>,
    landed: i64,
    errors: Vec<String>,
}

impl Logged {
    fn rate(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

/// One journey endpoint's figures.
struct Journey {
    name: &'static str,
    times: Vec<f64>,
    bytes: usize,
    svg_bytes: usize,
    csv_bytes: usize,
    errors: Vec<String>,
}

impl Journey {
    fn median(&self) -> f64 {
        let mut t = self.times.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn max(&self) -> f64 {
        self.times.iter().copied().fold(f64::NAN, f64::max)
    }

    fn met(&self) -> bool {
        self.errors.is_empty() && !self.times.is_empty() && self.max() <= JOURNEY_TARGET_S
    }
}

/// POST `--log-events` new events in batches of 5,000 from two clients; count what landed.
fn bulk_logging(
    conn: &mut DbConn,
    addr: SocketAddr,
    token: &str,
    o: &Options,
    now: DateTime<Utc>,
) -> Result<Logged, String> {
    let person_ids: Vec<String> = people::table
        .filter(people::status.eq("active"))
        .select(people::public_id)
        .load(conn)
        .map_err(err("reading people"))?;
    let acts: Vec<(String, String)> = activities::table
        .select((activities::public_id, activities::kind))
        .load(conn)
        .map_err(err("reading activities"))?;
    if person_ids.is_empty() || acts.is_empty() {
        return Err("no people or no activities to log events for".into());
    }
    // A tag of this run, so that a reused database gets new events (and they can be counted).
    let tag = format!("L{:x}", now.timestamp_millis());
    let mut rng = SplitMix64::new(o.seed ^ 0x1065);
    let mut bodies = Vec::new();
    let mut sent = 0u64;
    while sent < o.log_events {
        let n = (o.log_events - sent).min(LOG_BATCH as u64);
        let mut events = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let person = &person_ids[rng.below(person_ids.len() as u64) as usize];
            let (activity, kind) = &acts[rng.below(acts.len() as u64) as usize];
            let action = match kind.as_str() {
                "banquet" | "event" => ["registered", "attended"][rng.below(2) as usize],
                "volunteering" => "volunteered",
                "consultation" => "responded",
                _ => ["sent", "opened"][rng.below(2) as usize],
            };
            let when = now - chrono::Duration::seconds(rng.below(30 * DAY as u64) as i64);
            let mut e = json!({
                "person": person,
                "activity": activity,
                "action": action,
                "occurred_at": when.to_rfc3339_opts(SecondsFormat::Secs, true),
                "source": LOG_SOURCE,
                "external_ref": format!("{tag}-{sent:09}"),
            });
            if action == "volunteered" {
                e["hours"] = json!(2.5);
            }
            events.push(e);
            sent += 1;
        }
        bodies.push((n, json!({ "events": events }).to_string()));
    }
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let began = Instant::now();
    let per_thread: Vec<(Vec<u32>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..LOG_THREADS)
            .map(|_| {
                s.spawn(|| {
                    let mut http = Http::with_timeout(addr, Duration::from_secs(600));
                    let (mut micros, mut created) = (Vec::new(), 0u64);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((n, body)) = bodies.get(i) else { break };
                        let t = Instant::now();
                        let result = http.call("POST", "/api/v1/engagements/batch", token, Some(body));
                        micros.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        let fault = match result {
                            Ok((200, b)) => {
                                let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                                let got = v["created"].as_u64().unwrap_or(0);
                                created += got;
                                (got != *n).then(|| format!("batch {i}: {}", String::from_utf8_lossy(&b)))
                            }
                            Ok((status, b)) => {
                                let text = String::from_utf8_lossy(&b);
                                Some(format!(
                                    "batch {i}: HTTP {status}: {}",
                                    text.chars().take(300).collect::<String>()
                                ))
                            }
                            Err(e) => Some(format!("batch {i}: {e}")),
                        };
                        if let Some(f) = fault {
                            if let Ok(mut errors) = errors.lock() {
                                errors.push(f);
                            }
                        }
                    }
                    (micros, created)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let seconds = began.elapsed().as_secs_f64();
    let mut micros: Vec<u32> = per_thread.iter().flat_map(|t| t.0.iter().copied()).collect();
    micros.sort_unstable();
    let created: u64 = per_thread.iter().map(|t| t.1).sum();
    // Exactly once: (source, external_ref) is unique, so this count is the number of
    // distinct references of this run that landed. (A range, not LIKE, so that both backends
    // count through the idempotency index; '.' follows '-'.)
    let landed = count(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM engagement_events WHERE source = '{LOG_SOURCE}' \
             AND external_ref >= '{tag}-' AND external_ref < '{tag}.'"
        ),
    )?;
    let mut errors = errors.into_inner().unwrap_or_default();
    if landed != o.log_events as i64 {
        errors.push(format!("{landed} events landed of {} sent", o.log_events));
    }
    Ok(Logged {
        events: created,
        requests: bodies.len(),
        seconds,
        micros,
        landed,
        errors,
    })
}

/// Each journey endpoint over the last 365 days, `--runs` times, then once as SVG and CSV.
fn journeys(addr: SocketAddr, token: &str, o: &Options, now: DateTime<Utc>) -> Vec<Journey> {
    let from = (now - chrono::Duration::days(365)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let to = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut http = Http::with_timeout(addr, Duration::from_secs(600));
    let mut out = Vec::new();
    for (name, extra) in [
        ("transitions", ""),
        ("funnel", "&kind=banquet"),
        ("cohorts", ""),
        ("paths", ""),
        ("reach", ""),
    ] {
        let path = format!("/api/v1/journeys/{name}?from={from}&to={to}{extra}");
        let mut j = Journey {
            name,
            times: Vec::new(),
            bytes: 0,
            svg_bytes: 0,
            csv_bytes: 0,
            errors: Vec::new(),
        };
        for _ in 0..o.runs {
            let t = Instant::now();
            match http.call("GET", &path, token, None) {
                Ok((200, b)) => {
                    j.times.push(t.elapsed().as_secs_f64());
                    j.bytes = b.len();
                }
                Ok((status, b)) => j.errors.push(format!(
                    "{name}: HTTP {status}: {}",
                    String::from_utf8_lossy(&b).chars().take(300).collect::<String>()
                )),
                Err(e) => j.errors.push(format!("{name}: {e}")),
            }
        }
        for format in ["svg", "csv"] {
            match http.call("GET", &format!("{path}&format={format}"), token, None) {
                Ok((200, b)) => {
                    let looks_right = match format {
                        "svg" => b.windows(4).take(200).any(|w| w == b"<svg"),
                        _ => !b.is_empty() && !b.starts_with(b"{"),
                    };
                    if !looks_right {
                        j.errors
                            .push(format!("{name}: the {format} answer does not look like {format}"));
                    }
                    if format == "svg" {
                        j.svg_bytes = b.len();
                    } else {
                        j.csv_bytes = b.len();
                    }
                }
                Ok((status, _)) => j.errors.push(format!("{name}: format={format}: HTTP {status}")),
                Err(e) => j.errors.push(format!("{name}: format={format}: {e}")),
            }
        }
        eprintln!(
            "  {name}: median {:.3} s, max {:.3} s, {} bytes{}",
            j.median(),
            j.max(),
            j.bytes,
            if j.errors.is_empty() { "" } else { " (errors)" }
        );
        out.push(j);
    }
    out
}

/// Up to 2,000 public ids of people with at least one event, drawn uniformly among them.
fn people_with_events(conn: &mut DbConn, seed: u64) -> Result<Vec<String>, String> {
    let (lo, hi): (Option<i64>, Option<i64>) = people::table
        .select((diesel::dsl::min(people::id), diesel::dsl::max(people::id)))
        .first(conn)
        .map_err(err("people ids"))?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Err("no people".into());
    };
    let mut rng = SplitMix64::new(seed ^ 0x7173);
    let mut found: Vec<i64> = Vec::new();
    for _ in 0..50 {
        let candidates: Vec<i64> = (0..1_000)
            .map(|_| lo + rng.below((hi - lo + 1) as u64) as i64)
            .collect();
        let mut with: Vec<i64> = engagement_events::table
            .filter(engagement_events::person_id.eq_any(&candidates))
            .select(engagement_events::person_id)
            .distinct()
            .load(conn)
            .map_err(err("sampling people with events"))?;
        found.append(&mut with);
        found.sort_unstable();
        found.dedup();
        if found.len() >= 2_000 {
            break;
        }
    }
    found.truncate(2_000);
    let mut ids = Vec::new();
    for chunk in found.chunks(500) {
        let mut part: Vec<String> = people::table
            .filter(people::id.eq_any(chunk))
            .filter(people::status.eq("active"))
            .select(people::public_id)
            .load(conn)
            .map_err(err("reading public ids"))?;
        ids.append(&mut part);
    }
    if ids.is_empty() {
        return Err("no person has events".into());
    }
    Ok(ids)
}

fn run(o: &Options) -> Result<bool, String> {
    let bin = common::release_binary()?;
    let work = std::env::temp_dir().join(format!("lighthouse-journeys-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let db = common::fresh_database(o.database_url.as_deref(), o.reuse, &work, "journeys.db")?;
    println!(
        "database: {} ({}{}{})",
        db.backend,
        if o.database_url.is_some() {
            "as given"
        } else {
            db.url.as_str()
        },
        if o.reuse { ", reused" } else { "" },
        common::server_settings(&db)
    );
    let result = measure(o, &bin, &work, &db);
    if o.keep {
        println!("kept the database {} (server log in {})", db.url, work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
        common::remove_database(&db);
    }
    result
}

/// Everything between making the database and removing it; the server is stopped on return.
fn measure(o: &Options, bin: &Path, work: &Path, db: &Database) -> Result<bool, String> {
    let parsed = DbUrl::parse(&db.url)?;
    let pool = pool::open(
        &parsed,
        2,
        SqliteOptions {
            busy_timeout: Duration::from_secs(60),
        },
        Duration::from_secs(30),
    )
    .map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    pool::migrate(&mut conn, "").map_err(|e| e.to_string())?;

    let generated = if o.reuse {
        let people = count(&mut conn, "SELECT COUNT(*) AS n FROM people")?;
        let events = count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM engagement_events WHERE recorded_by IS NULL",
        )?;
        if people < o.people as i64 || events < o.events as i64 {
            return Err(format!(
                "--reuse: the database has {people} people and {events} generated events, \
                 fewer than --people {} --events {}: run without --reuse",
                o.people, o.events
            ));
        }
        None
    } else {
        eprintln!(
            "generating {} people, {} activities and {} events over {} years …",
            thousands(o.people),
            thousands(ACTIVITIES as u64),
            thousands(o.events),
            o.years
        );
        Some(generate(&mut conn, o, ldb::now())?)
    };

    let mut user = common::lighthouse(bin, work, db);
    user.env("LIGHTHOUSE_PASSWORD", PASSWORD).args([
        "user",
        "create",
        "--email",
        OFFICER_EMAIL,
        "--name",
        "Benchmark Officer",
        "--role",
        "engagement_officer",
    ]);
    match common::run_ok(user, "lighthouse user create") {
        Err(e) if !o.reuse => return Err(e),
        _ => {} // a reused database has the user already
    }

    let (server, addr) = common::start_server(bin, work, db)?;
    let token = common::login(addr, OFFICER_EMAIL, PASSWORD)?;

    eprintln!(
        "bulk logging: {} events in batches of {} from {} clients …",
        thousands(o.log_events),
        thousands(LOG_BATCH as u64),
        LOG_THREADS
    );
    let logged = bulk_logging(&mut conn, addr, &token, o, Utc::now())?;
    eprintln!("  {:.0} events/s", logged.rate());

    eprintln!("journeys: {} runs each over the last 365 days …", o.runs);
    let journeys = journeys(addr, &token, o, Utc::now());

    let ids = people_with_events(&mut conn, o.seed)?;
    eprintln!(
        "timeline: {} clients for {} s after {} s of warm-up, {} people with events …",
        o.clients,
        o.seconds,
        o.warmup,
        ids.len()
    );
    let make = |n: u64| -> Req {
        let id = &ids[(common::scramble(n) % ids.len() as u64) as usize];
        ("GET", format!("/api/v1/people/{id}/timeline"), None)
    };
    let timeline = common::load(
        "timeline first page",
        addr,
        &token,
        o.clients,
        o.warmup,
        o.seconds,
        Some("\"items\":[]"),
        &make,
    );
    drop(server);
    let events_now = count(&mut conn, "SELECT COUNT(*) AS n FROM engagement_events")?;
    drop(conn);
    drop(pool);
    report(o, db, generated.as_ref(), events_now, &logged, &journeys, &timeline)
}

fn report(
    o: &Options,
    db: &Database,
    generated: Option<&Generated>,
    events_now: i64,
    logged: &Logged,
    journeys: &[Journey],
    timeline: &common::Phase,
) -> Result<bool, String> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!();
    println!(
        "Data Lighthouse journeys benchmark: {}, {} people, {} generated events over {} years, {} cores",
        db.backend,
        thousands(o.people),
        thousands(o.events),
        o.years,
        cores
    );
    let full = o.people >= FULL_PEOPLE && o.events >= FULL_EVENTS;
    if !full {
        println!(
            "(the targets are for {} people and {} events; this run is smaller)",
            thousands(FULL_PEOPLE),
            thousands(FULL_EVENTS)
        );
    }
    match generated {
        None => println!("generate: skipped (reused database)"),
        Some(g) => {
            let total = g.spread.iter().sum::<u64>().max(1) as f64;
            let pct = |i: usize| 100.0 * g.spread[i] as f64 / total;
            println!(
                "generate: people {:.1} s ({:.0}/s); {} activities and {} events {:.1} s ({:.0} events/s)",
                g.people_s,
                o.people as f64 / g.people_s.max(1e-9),
                thousands(g.activities as u64),
                thousands(o.events),
                g.events_s,
                o.events as f64 / g.events_s.max(1e-9)
            );
            println!(
                "  events per person: none {:.0} %, 1–3 {:.0} %, 4–20 {:.0} %, more {:.0} %; most {}",
                pct(0),
                pct(1),
                pct(2),
                pct(3),
                g.most
            );
        }
    }
    println!(
        "engagement events in the database at the end: {}",
        thousands(events_now as u64)
    );
    println!();
    let log_met = logged.errors.is_empty() && logged.rate() >= LOG_TARGET_EPS;
    println!(
        "{:<22}{:>12}{:>12}{:>12}{:>12}  target",
        "phase", "figure", "p50 / med", "p99 / max", "size"
    );
    println!(
        "{:<22}{:>10.0}/s{:>10.0}ms{:>10.0}ms{:>12}  ≥ {} events/s{}: {}",
        "bulk logging",
        logged.rate(),
        common::percentile_ms(&logged.micros, 0.5),
        common::percentile_ms(&logged.micros, 0.99),
        format!("{}×{}", logged.requests, LOG_BATCH),
        thousands(LOG_TARGET_EPS as u64),
        if db.backend == "sqlite" {
            ""
        } else {
            " (set for SQLite)"
        },
        verdict(log_met)
    );
    for j in journeys {
        println!(
            "{:<22}{:>12}{:>11.3}s{:>11.3}s{:>12}  ≤ {JOURNEY_TARGET_S} s (every run): {}",
            format!("journeys {}", j.name),
            format!("{} runs", j.times.len()),
            j.median(),
            j.max(),
            format!("{} B", thousands(j.bytes as u64)),
            verdict(j.met())
        );
    }
    let timeline_met = timeline.errors == 0 && timeline.pct(0.99) <= TIMELINE_TARGET_P99_MS;
    println!(
        "{:<22}{:>10.0}/s{:>10.2}ms{:>10.2}ms{:>12}  p99 ≤ {TIMELINE_TARGET_P99_MS} ms: {}",
        "timeline first page",
        timeline.rate(),
        timeline.pct(0.5),
        timeline.pct(0.99),
        format!("{} err", timeline.errors),
        verdict(timeline_met)
    );
    println!(
        "bulk logging: {} events sent in {:.1} s, {} created, {} landed (counted) — {}",
        thousands(o.log_events),
        logged.seconds,
        thousands(logged.events),
        thousands(logged.landed.max(0) as u64),
        if logged.landed == o.log_events as i64 {
            "every event exactly once"
        } else {
            "MISMATCH"
        }
    );
    println!(
        "timeline: {} requests, {} empty pages, max {:.2} ms",
        thousands(timeline.requests),
        timeline.misses,
        timeline.pct(1.0)
    );
    let mut faults: Vec<&String> = logged.errors.iter().collect();
    faults.extend(journeys.iter().flat_map(|j| j.errors.iter()));
    for f in faults.iter().take(20) {
        println!("error: {f}");
    }

    let doc = json!({
        "backend": db.backend, "people": o.people, "events": o.events, "years": o.years, "seed": o.seed,
        "cores": cores, "full_size": full, "reused": o.reuse, "events_at_end": events_now,
        "generate": generated.map(|g| json!({
            "people_seconds": g.people_s, "people_per_second": o.people as f64 / g.people_s.max(1e-9),
            "activities": g.activities, "events_seconds": g.events_s,
            "events_per_second": o.events as f64 / g.events_s.max(1e-9),
            "people_with_events": {"none": g.spread[0], "1-3": g.spread[1], "4-20": g.spread[2], "more": g.spread[3]},
            "most_events_of_one_person": g.most,
        })),
        "bulk_logging": {
            "events_sent": o.log_events, "events_created": logged.events, "events_landed": logged.landed,
            "batch": LOG_BATCH, "clients": LOG_THREADS, "requests": logged.requests, "seconds": logged.seconds,
            "events_per_second": logged.rate(),
            "request_p50_ms": common::percentile_ms(&logged.micros, 0.5),
            "request_p99_ms": common::percentile_ms(&logged.micros, 0.99),
            "request_max_ms": common::percentile_ms(&logged.micros, 1.0),
            "errors": logged.errors, "target_events_per_second": LOG_TARGET_EPS, "target_met": log_met,
        },
        "journeys": journeys.iter().map(|j| json!({
            "endpoint": j.name, "runs_s": j.times, "median_s": j.median(), "max_s": j.max(),
            "bytes": j.bytes, "svg_bytes": j.svg_bytes, "csv_bytes": j.csv_bytes, "errors": j.errors,
            "target_s": JOURNEY_TARGET_S, "target_met": j.met(),
        })).collect::<Vec<_>>(),
        "timeline": {
            "clients": o.clients, "seconds": timeline.seconds, "warmup_seconds": o.warmup,
            "requests": timeline.requests, "throughput_rps": timeline.rate(),
            "p50_ms": timeline.pct(0.5), "p90_ms": timeline.pct(0.9), "p99_ms": timeline.pct(0.99),
            "max_ms": timeline.pct(1.0), "errors": timeline.errors, "empty_pages": timeline.misses,
            "target_p99_ms": TIMELINE_TARGET_P99_MS, "target_met": timeline_met,
        },
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-out");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("journeys-{}.json", db.backend));
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    println!("results written to {}", path.display());
    // Wrong answers fail the run; missed targets do not.
    Ok(faults.is_empty() && timeline.errors == 0)
}

fn main() {
    match parse_args().and_then(|o| run(&o)) {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("journeys benchmark: some requests failed (see above)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("journeys benchmark: {e}");
            std::process::exit(1);
        }
    }
}
