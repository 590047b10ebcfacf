//! Imports benchmark: a large departmental CSV, a share of whose rows are people the database
//! already holds, imported end to end (dry run, then commit) through `lighthouse import`.
//!
//! `cargo build --release && cargo bench --bench imports -- [--people N] [--rows R]
//! [--overlap F] [--database-url URL] [--seed S] [--keep] [--reuse]`
//!
//! It builds nothing: it runs `target/release/lighthouse` (or `LIGHTHOUSE_BIN`). Steps:
//!
//! 1. A database of `--people` people from `lighthouse generate --seed S` (a temporary SQLite file
//!    by default; `--database-url` names one, dropped and re-created). `--reuse` starts from a
//!    kept database instead and imports into a copy of it, so the kept one never changes.
//! 2. Their blocking keys are written where missing (`generate` writes none; every person the
//!    service itself creates has them), or the import could not find anyone.
//! 3. The CSV: `lighthouse::synth::copies::write_list` writes one noisy departmental copy of each
//!    person it is given: `--overlap` of the rows (spread evenly) are people the database holds,
//!    the others people the generator makes after them (indices `N`, `N + 1`, …). The
//!    department's external ids are its own: nothing is shared with the database.
//! 4. Three 100-row files (same share), then the large file, each through
//!    `lighthouse import --department IMPORTS --commit FILE`, one process each: wall time, the
//!    phases (from the batch's timestamps), the outcome counts and the process's peak resident
//!    memory (`VmHWM`, polled every 20 ms).
//! 5. A check of the overlap on a sample of the large file's rows: was each held person linked
//!    (or proposed) to the right person, and each new one created?
//!
//! Results go to standard output and `bench-out/imports-<backend>.json`. See `benches/README.md`.

#[allow(dead_code)] // each benchmark uses its own part of it
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use lighthouse::db::pool::{self, DbUrl, SqliteOptions};
use lighthouse::db::schema::{import_batches, import_rows, match_candidates, person_emails};
use lighthouse::db::{write_tx, DbPool};
use lighthouse::error::AppResult;
use lighthouse::matching::Prepared;
use lighthouse::service::identity::index::{insert_keys, records_in_range, stored_keys, walk_people};
use lighthouse::synth::copies::{write_list, ListSpec, Rates};
use lighthouse::synth::sample_person;
use serde_json::{json, Value};

use common::{run_ok, Database};

const TARGET_SQLITE_RPS: f64 = 20_000.0;
const TARGET_POSTGRES_RPS: f64 = 10_000.0;
/// Peak resident memory of the import process, in MB of 10^6 bytes.
const TARGET_PEAK_MB: f64 = 1_000.0;
const TARGET_SMALL_S: f64 = 1.0;
const SMALL_ROWS: u64 = 100;
const SMALL_FILES: u64 = 3;
/// The department the lists belong to (created by the benchmark).
const DEPARTMENT: &str = "IMPORTS";
/// Rows of the large file whose outcome is checked against what they are.
const CHECK_SAMPLE: u64 = 20_000;
/// People read (and, when they have none, given blocking keys) per transaction.
const INDEX_CHUNK: i64 = 5_000;

struct Options {
    people: u64,
    rows: u64,
    overlap: f64,
    database_url: Option<String>,
    seed: u64,
    keep: bool,
    reuse: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        people: 1_000_000,
        rows: 1_000_000,
        overlap: 0.2,
        database_url: None,
        seed: 1,
        keep: false,
        reuse: false,
    };
    let mut args = common::Args::from_env();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--people" => o.people = args.number()?,
            "--rows" => o.rows = args.number()?,
            "--overlap" => o.overlap = args.decimal()?,
            "--database-url" => o.database_url = Some(args.value()?),
            "--seed" => o.seed = args.number()?,
            "--keep" => o.keep = true,
            "--reuse" => o.reuse = true,
            other => return Err(format!("unknown argument {other} (see the top of benches/imports.rs)")),
        }
    }
    if o.people < 1_000 {
        return Err("--people must be at least 1000".into());
    }
    if o.rows < SMALL_ROWS {
        return Err(format!("--rows must be at least {SMALL_ROWS}"));
    }
    if !(0.0..=1.0).contains(&o.overlap) {
        return Err("--overlap is a share between 0 and 1".into());
    }
    if o.reuse && o.database_url.is_none() {
        return Err("--reuse needs --database-url (a database kept by an earlier run)".into());
    }
    let held = Layout::held_rows(o.rows, o.overlap) + SMALL_FILES * Layout::held_rows(SMALL_ROWS, o.overlap);
    if held > o.people {
        return Err(format!(
            "the files name {held} people the database holds, more than --people {}",
            o.people
        ));
    }
    Ok(o)
}

/// Which person each row of a file is: `held` of its `rows` rows, spread evenly, are people the
/// database holds (the `held_from`-th, … of a permutation of `0..people`), the others new people
/// (indices `new_from`, `new_from + 1`, … with `new_from ≥ people`).
#[derive(Debug, Clone, Copy)]
struct Layout {
    rows: u64,
    held: u64,
    held_from: u64,
    new_from: u64,
}

impl Layout {
    fn held_rows(rows: u64, overlap: f64) -> u64 {
        ((rows as f64 * overlap).round() as u64).min(rows)
    }

    /// The large file, then the small ones, on disjoint people.
    fn all(o: &Options) -> (Layout, Vec<Layout>) {
        let large = Layout {
            rows: o.rows,
            held: Layout::held_rows(o.rows, o.overlap),
            held_from: 0,
            new_from: o.people,
        };
        let mut next = (large.held, large.new_from + (large.rows - large.held));
        let small = (0..SMALL_FILES)
            .map(|_| {
                let held = Layout::held_rows(SMALL_ROWS, o.overlap);
                let l = Layout {
                    rows: SMALL_ROWS,
                    held,
                    held_from: next.0,
                    new_from: next.1,
                };
                next = (next.0 + held, next.1 + SMALL_ROWS - held);
                l
            })
            .collect();
        (large, small)
    }

    /// Whether row `r` (0-based) is a held person, and how many held rows come before it.
    fn is_held(&self, r: u64) -> (bool, u64) {
        let before = r * self.held / self.rows;
        ((r + 1) * self.held / self.rows > before, before)
    }

    /// The person of row `r` and whether the database holds them.
    fn person(&self, r: u64, people: &Permutation) -> (u64, bool) {
        let (held, before) = self.is_held(r);
        if held {
            (people.at(self.held_from + before), true)
        } else {
            (self.new_from + (r - before), false)
        }
    }
}

/// A scattered order of `0..n`: `i ↦ (i · step + offset) mod n` with `step` coprime to `n`.
struct Permutation {
    n: u64,
    step: u64,
    offset: u64,
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Permutation {
        let gcd = |mut a: u64, mut b: u64| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let mut step = ((n as f64 * 0.618_034) as u64) | 1;
        while gcd(step, n) != 1 {
            step += 2;
        }
        Permutation {
            n,
            step,
            offset: common::scramble(seed) % n,
        }
    }

    fn at(&self, i: u64) -> u64 {
        ((u128::from(i) * u128::from(self.step) + u128::from(self.offset)) % u128::from(self.n)) as u64
    }
}

fn open_pool(db: &Database) -> Result<DbPool, String> {
    let url = DbUrl::parse(&db.url)?;
    let sqlite = SqliteOptions {
        busy_timeout: Duration::from_secs(30),
    };
    pool::open(&url, 1, sqlite, Duration::from_secs(30)).map_err(|e| e.to_string())
}

/// The database to import into: a fresh one, or (`--reuse`) a copy of a kept one.
fn prepare_database(o: &Options, work: &Path) -> Result<Database, String> {
    let url = o.database_url.as_deref();
    if !o.reuse {
        return common::fresh_database(url, false, work, "imports.db");
    }
    let source = common::fresh_database(url, true, work, "imports.db")?;
    if let Some(path) = source.url.strip_prefix("sqlite://") {
        let copy = work.join("imports.db");
        for suffix in ["", "-wal"] {
            let from = PathBuf::from(format!("{path}{suffix}"));
            if from.is_file() {
                let to = PathBuf::from(format!("{}{suffix}", copy.display()));
                std::fs::copy(&from, &to).map_err(|e| format!("copy {}: {e}", from.display()))?;
            }
        }
        return Ok(Database {
            url: format!("sqlite://{}", copy.display()),
            backend: "sqlite",
            pg_admin: None,
        });
    }
    // PostgreSQL: `<name>_imports`, made fresh (which checks the name and gives the server's
    // `postgres` database), then re-created from the kept database as its template.
    let (base, query) = match source.url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (source.url.as_str(), String::new()),
    };
    let (server, name) = base.rsplit_once('/').ok_or("the PostgreSQL URL names no database")?;
    let copy_url = format!("{server}/{name}_imports{query}");
    let copy = common::fresh_database(Some(&copy_url), false, work, "imports.db")?;
    let Some((admin, copy_name)) = &copy.pg_admin else {
        return Err("no administration connection for the copy".into());
    };
    let mut c = diesel::PgConnection::establish(admin).map_err(|e| format!("connect {admin}: {e}"))?;
    use diesel::connection::SimpleConnection;
    for sql in [
        format!("DROP DATABASE IF EXISTS {copy_name} WITH (FORCE)"),
        format!("CREATE DATABASE {copy_name} TEMPLATE {name}"),
    ] {
        c.batch_execute(&sql)
            .map_err(|e| format!("copy database {name}: {e}"))?;
    }
    Ok(copy)
}

/// Check the database holds the generated people `0..people` and none after them, so the rows
/// meant as held people and as new people are what they are meant to be.
fn check_people(pool: &DbPool, people: u64, seed: u64) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let mut holds = |index: u64| -> Result<bool, String> {
        let key = sample_person(seed, index).email.to_ascii_lowercase();
        let n: i64 = person_emails::table
            .filter(person_emails::address_key.eq(&key))
            .count()
            .get_result(&mut *conn)
            .map_err(|e| e.to_string())?;
        Ok(n > 0)
    };
    if !holds(0)? || !holds(people - 1)? {
        return Err(format!(
            "the database does not hold generated people 0 … {} of seed {seed}: not made by \
             `lighthouse generate --people {people} --seed {seed}`",
            people - 1
        ));
    }
    if holds(people)? {
        return Err(format!(
            "the database already holds generated person {people} (seed {seed}): it holds more \
             than --people {people}, or an earlier import's people"
        ));
    }
    Ok(())
}

/// Give every matchable person without blocking keys their keys, as the service does for the
/// people it creates. Returns how many were indexed.
fn index_people(pool: &DbPool) -> Result<u64, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let mut indexed = 0u64;
    walk_people(&mut conn, INDEX_CHUNK, |conn, chunk| -> AppResult<()> {
        if chunk.ids.iter().all(|id| chunk.keyed.contains(id)) {
            return Ok(());
        }
        let (lo, hi) = chunk.bounds();
        let mut rows = Vec::new();
        for (id, r) in records_in_range(conn, lo, hi)?
            .iter()
            .filter(|(id, _)| !chunk.keyed.contains(id))
        {
            let keys = stored_keys(&Prepared::from_record(r));
            indexed += u64::from(!keys.is_empty());
            rows.extend(keys.into_iter().map(|k| (k, *id)));
        }
        write_tx(conn, |c| insert_keys(c, &rows))
    })
    .map_err(|e| e.to_string())?;
    // On PostgreSQL, what autovacuum would do after such a load: without statistics the planner
    // takes `person_id = ANY($1)` on the keys for a large share of the table and JIT-compiles
    // it (0.7 s for a 100-row file's look-up). `generate` does the same for the tables it loads.
    if indexed > 0 {
        if let lighthouse::db::DbConn::Pg(c) = &mut *conn {
            use diesel::connection::SimpleConnection;
            c.batch_execute("ANALYZE blocking_keys").map_err(|e| e.to_string())?;
        }
    }
    Ok(indexed)
}

/// Write the file of `layout` to `path`.
fn write_file(path: &Path, o: &Options, layout: &Layout, first_row: u64) -> Result<u64, String> {
    let people = Permutation::new(o.people, o.seed);
    let spec = ListSpec {
        seed: o.seed,
        department: 0,
        first_row,
        rates: Rates::NORMAL,
    };
    write_list(path, &spec, (0..layout.rows).map(|r| layout.person(r, &people).0))
}

/// What one `lighthouse import --commit` run measured.
#[derive(Debug, Default)]
struct Run {
    rows: u64,
    batch: String,
    wall_s: f64,
    /// Process start to the command's clock reading (settings, database, migrations).
    start_s: f64,
    /// From there to the upload's end (the file hashed, read, counted and stored).
    upload_s: f64,
    dry_run_s: f64,
    /// The dry run's end to the commit's start (the command notices the end of a phase by
    /// polling every 500 ms).
    between_s: f64,
    commit_s: f64,
    /// The commit's end to the process's exit.
    exit_s: f64,
    /// The largest private memory seen (`RssAnon`, every 20 ms), in KiB.
    peak_anon_kib: u64,
    /// The same by the end of the dry run.
    peak_anon_kib_dry_run: u64,
    /// The largest file-backed resident memory seen (`RssFile`: the binary and, on SQLite, the
    /// database pages read through its memory map), in KiB.
    peak_file_kib: u64,
    /// The kernel's high-water mark of all resident memory (`VmHWM`), in KiB.
    hwm_kib: u64,
    counts: BTreeMap<String, i64>,
}

enum Event {
    Created(NaiveDateTime),
    Report(NaiveDateTime, String),
}

/// Resident memory of a process now, in KiB: (`VmHWM`, the kernel's high-water mark of all
/// resident pages; `RssAnon`, its private memory now; `RssFile`, file pages mapped now).
fn memory_kib(pid: u32) -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find_map(|l| l.strip_prefix(name))?;
        line.trim().trim_end_matches("kB").trim().parse().ok()
    };
    Some((field("VmHWM:")?, field("RssAnon:")?, field("RssFile:")?))
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1.024 / 1000.0
}

fn utc_now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn secs(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    (to - from).num_microseconds().unwrap_or(0) as f64 / 1e6
}

/// Run `lighthouse import --department IMPORTS --commit FILE`, its standard error in `log`.
fn import(bin: &Path, work: &Path, db: &Database, pool: &DbPool, file: &Path, log: &Path) -> Result<Run, String> {
    let mut cmd = common::lighthouse(bin, work, db);
    cmd.args(["import", "--department", DEPARTMENT, "--commit"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (tx, rx) = mpsc::channel();
    let began = Instant::now();
    let spawned_at = utc_now();
    let mut child = cmd.spawn().map_err(|e| format!("lighthouse import: {e}"))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no standard output")?;
    let stderr = child.stderr.take().ok_or("no standard error")?;
    let log_path = log.to_path_buf();
    let mut log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let out_tx = tx.clone();
    let out = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(Event::Report(utc_now(), line));
        }
    });
    // Standard error carries a progress bar redrawn with `\r`: split on both line ends.
    let err = std::thread::spawn(move || {
        let (mut buf, mut line) = ([0u8; 8192], Vec::new());
        let mut reader = stderr;
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let _ = log.write_all(&buf[..n]);
            for &b in &buf[..n] {
                if b != b'\n' && b != b'\r' {
                    line.push(b);
                    continue;
                }
                let text = String::from_utf8_lossy(&line);
                if text.starts_with("import ") && text.contains(" rows, columns:") {
                    let _ = tx.send(Event::Created(utc_now()));
                }
                line.clear();
            }
        }
    });
    let mut run = Run::default();
    let mut created_line = None;
    let mut reports = Vec::new();
    let status = loop {
        if let Some((hwm, anon, file)) = memory_kib(pid) {
            run.hwm_kib = run.hwm_kib.max(hwm);
            run.peak_anon_kib = run.peak_anon_kib.max(anon);
            run.peak_file_kib = run.peak_file_kib.max(file);
        }
        while let Ok(event) = rx.try_recv() {
            match event {
                Event::Created(at) => created_line = Some(at),
                Event::Report(at, line) => {
                    if reports.is_empty() {
                        run.peak_anon_kib_dry_run = run.peak_anon_kib;
                    }
                    reports.push((at, line));
                }
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    run.wall_s = began.elapsed().as_secs_f64();
    let exited_at = utc_now();
    let _ = (out.join(), err.join());
    for event in rx.try_iter() {
        match event {
            Event::Created(at) => created_line = Some(at),
            Event::Report(at, line) => reports.push((at, line)),
        }
    }
    if !status.success() {
        return Err(format!(
            "lighthouse import {} failed ({status}); see {}",
            file.display(),
            log_path.display()
        ));
    }
    // `import <id>: committed (…)`: the batch's public id.
    run.batch = reports
        .iter()
        .find_map(|(_, l)| {
            l.strip_prefix("import ")
                .and_then(|r| r.split_once(':'))
                .map(|(id, _)| id.to_string())
        })
        .ok_or("lighthouse import printed no report")?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    type Times = (
        String,
        String,
        i64,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let (state, counts, rows, created, analysed, committed): Times = import_batches::table
        .filter(import_batches::public_id.eq(&run.batch))
        .select((
            import_batches::status,
            import_batches::counts,
            import_batches::rows_total,
            import_batches::created_at,
            import_batches::analysed_at,
            import_batches::committed_at,
        ))
        .first(&mut *conn)
        .map_err(|e| format!("batch {}: {e}", run.batch))?;
    let (Some(analysed), Some(committed)) = (analysed, committed) else {
        return Err(format!("batch {} is {state}, not committed", run.batch));
    };
    // `created_at` is the command's clock reading before it hashes the file; the command starts
    // the dry run right after printing the upload and the commit right after printing the dry
    // run's report (the batch's `phase_started_at` is no help: the command stamps every phase
    // with that same first reading).
    let created_line = created_line.unwrap_or(created);
    let commit_start = reports.first().map_or(analysed, |r| r.0);
    run.rows = u64::try_from(rows).unwrap_or(0);
    run.counts = serde_json::from_str(&counts).unwrap_or_default();
    run.start_s = secs(spawned_at, created);
    run.upload_s = secs(created, created_line);
    run.dry_run_s = secs(created_line, analysed);
    run.between_s = secs(analysed, commit_start);
    run.commit_s = secs(commit_start, committed);
    run.exit_s = secs(committed, exited_at);
    if run.peak_anon_kib_dry_run == 0 {
        run.peak_anon_kib_dry_run = run.peak_anon_kib;
    }
    Ok(run)
}

/// How the sampled rows of the large file came out, by what they are.
#[derive(Debug, Default)]
struct Check {
    held: u64,
    held_linked: u64,
    held_proposed: u64,
    held_other_person: u64,
    held_created: u64,
    held_else: u64,
    new: u64,
    new_created: u64,
    new_proposed: u64,
    new_linked_to_held: u64,
    new_else: u64,
}

/// Compare the outcome of a sample of the large file's rows with what they are: a held person
/// should be linked (or proposed) to that very person, found by their generated email; a new
/// person should be created.
fn check_rows(pool: &DbPool, o: &Options, layout: &Layout, batch: &str) -> Result<Check, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let conn = &mut *conn;
    let fail = |e: diesel::result::Error| e.to_string();
    let batch_id: i64 = import_batches::table
        .filter(import_batches::public_id.eq(batch))
        .select(import_batches::id)
        .first(conn)
        .map_err(fail)?;
    let perm = Permutation::new(o.people, o.seed);
    let stride = (layout.rows / CHECK_SAMPLE).max(1);
    // Row `r` of the file is row number `r + 2` (the header is row 1). One row in each run of
    // `stride`, at a position that moves along (k mod stride): a fixed step would fall in step
    // with the held rows, which come at an even spacing, and see only held or only new people.
    let sample: Vec<(i64, u64, bool)> = (0..layout.rows / stride)
        .map(|k| k * stride + k % stride)
        .map(|r| {
            let (index, held) = layout.person(r, &perm);
            (r as i64 + 2, index, held)
        })
        .collect();
    let mut c = Check::default();
    for part in sample.chunks(500) {
        let numbers: Vec<i64> = part.iter().map(|s| s.0).collect();
        let found: Vec<(i64, String, Option<i64>)> = import_rows::table
            .filter(import_rows::batch_id.eq(batch_id))
            .filter(import_rows::row_number.eq_any(&numbers))
            .select((import_rows::row_number, import_rows::outcome, import_rows::person_id))
            .load(conn)
            .map_err(fail)?;
        let by_row: HashMap<i64, (String, Option<i64>)> = found.into_iter().map(|(n, out, p)| (n, (out, p))).collect();
        // A row for review became a new person, proposed as a pair with the one it resembles.
        let reviewed: Vec<i64> = by_row
            .values()
            .filter(|v| v.0 == "review")
            .filter_map(|v| v.1)
            .collect();
        let pairs: Vec<(i64, i64)> = match_candidates::table
            .filter(
                match_candidates::person_a
                    .eq_any(&reviewed)
                    .or(match_candidates::person_b.eq_any(&reviewed)),
            )
            .select((match_candidates::person_a, match_candidates::person_b))
            .load(conn)
            .map_err(fail)?;
        let mut proposed: HashMap<i64, Vec<i64>> = HashMap::new();
        for (a, b) in pairs {
            proposed.entry(a).or_default().push(b);
            proposed.entry(b).or_default().push(a);
        }
        let mut persons: Vec<i64> = by_row.values().filter_map(|v| v.1).collect();
        persons.extend(proposed.values().flatten());
        let keys: HashSet<(i64, String)> = person_emails::table
            .filter(person_emails::person_id.eq_any(&persons))
            .select((person_emails::person_id, person_emails::address_key))
            .load(conn)
            .map_err(fail)?
            .into_iter()
            .collect();
        for (number, index, held) in part {
            let (outcome, person) = by_row.get(number).cloned().unwrap_or_default();
            let email = sample_person(o.seed, *index).email.to_ascii_lowercase();
            let is_them = |p: &i64| keys.contains(&(*p, email.clone()));
            let against = person.and_then(|p| proposed.get(&p)).map_or(&[][..], Vec::as_slice);
            if *held {
                c.held += 1;
                match outcome.as_str() {
                    "link" | "unchanged" if person.as_ref().is_some_and(is_them) => c.held_linked += 1,
                    "review" if against.iter().any(is_them) => c.held_proposed += 1,
                    "link" | "unchanged" | "review" => c.held_other_person += 1,
                    "create" => c.held_created += 1,
                    _ => c.held_else += 1,
                }
            } else {
                c.new += 1;
                match outcome.as_str() {
                    "create" => c.new_created += 1,
                    "review" => c.new_proposed += 1,
                    "link" | "unchanged" => c.new_linked_to_held += 1,
                    _ => c.new_else += 1,
                }
            }
        }
    }
    Ok(c)
}

fn run(o: &Options) -> Result<(), String> {
    let bin = common::release_binary()?;
    let work = std::env::temp_dir().join(format!("lighthouse-bench-imports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let db = prepare_database(o, &work)?;
    let shown = if o.database_url.is_some() {
        "as given"
    } else {
        db.url.as_str()
    };
    println!(
        "database: {} ({shown}{}{})",
        db.backend,
        if o.reuse { ", a copy of the kept one" } else { "" },
        common::server_settings(&db)
    );
    let result = measure(o, &bin, &work, &db);
    if o.keep {
        println!("kept the database {} (files and logs in {})", db.url, work.display());
    } else {
        common::remove_database(&db);
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

/// Timings of the preparation (not measured against a target), in seconds.
#[derive(Debug, Default)]
struct Setup {
    generate_s: Option<f64>,
    index_s: f64,
    indexed: u64,
    files_s: f64,
    file_bytes: u64,
}

fn measure(o: &Options, bin: &Path, work: &Path, db: &Database) -> Result<(), String> {
    let mut setup = Setup::default();
    if !o.reuse {
        let began = Instant::now();
        let mut gen = common::lighthouse(bin, work, db);
        let (people, seed) = (o.people.to_string(), o.seed.to_string());
        gen.args(["generate", "--people", &people, "--seed", &seed]);
        run_ok(gen, "lighthouse generate")?;
        setup.generate_s = Some(began.elapsed().as_secs_f64());
    }
    let mut dept = common::lighthouse(bin, work, db);
    dept.args([
        "department",
        "create",
        "--code",
        DEPARTMENT,
        "--name",
        "Imports benchmark",
    ])
    .stdout(Stdio::null());
    run_ok(dept, "lighthouse department create")?;

    let pool = open_pool(db)?;
    check_people(&pool, o.people, o.seed)?;
    eprintln!("indexing people without blocking keys …");
    let began = Instant::now();
    setup.indexed = index_people(&pool)?;
    setup.index_s = began.elapsed().as_secs_f64();

    let began = Instant::now();
    let (large, small) = Layout::all(o);
    let large_file = work.join("department.csv");
    write_file(&large_file, o, &large, 0)?;
    let mut small_files = Vec::new();
    for (k, layout) in small.iter().enumerate() {
        let path = work.join(format!("small-{}.csv", k + 1));
        write_file(&path, o, layout, large.rows + k as u64 * SMALL_ROWS)?;
        small_files.push(path);
    }
    setup.files_s = began.elapsed().as_secs_f64();
    setup.file_bytes = std::fs::metadata(&large_file).map(|m| m.len()).unwrap_or(0);
    println!(
        "files: {} rows ({} of people held, {} new), {:.1} MB, and {SMALL_FILES} of {SMALL_ROWS} rows, written in {:.1} s",
        large.rows,
        large.held,
        large.rows - large.held,
        setup.file_bytes as f64 / 1e6,
        setup.files_s
    );

    let mut small_runs = Vec::new();
    for (k, path) in small_files.iter().enumerate() {
        eprintln!("importing {} …", path.display());
        small_runs.push(import(
            bin,
            work,
            db,
            &pool,
            path,
            &work.join(format!("small-{}.log", k + 1)),
        )?);
    }
    eprintln!("importing {} ({} rows) …", large_file.display(), large.rows);
    let big = import(bin, work, db, &pool, &large_file, &work.join("import.log"))?;
    let check = check_rows(&pool, o, &large, &big.batch)?;
    drop(pool);
    report(o, db, &setup, &large, &big, &small_runs, &check)
}

fn rate(rows: u64, s: f64) -> f64 {
    rows as f64 / s.max(1e-9)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// The outcome counts in the words.
fn outcomes(counts: &BTreeMap<String, i64>, prefix: &str) -> Vec<(&'static str, i64)> {
    [
        ("created", "create"),
        ("linked", "link"),
        ("proposed for review", "review"),
        ("duplicate in file", "duplicate"),
        ("unchanged", "unchanged"),
        ("rejected", "reject"),
    ]
    .into_iter()
    .map(|(label, key)| (label, counts.get(&format!("{prefix}{key}")).copied().unwrap_or(0)))
    .collect()
}

fn run_json(r: &Run) -> Value {
    json!({
        "rows": r.rows, "batch": r.batch, "wall_s": r.wall_s, "start_s": r.start_s, "upload_s": r.upload_s,
        "dry_run_s": r.dry_run_s, "between_s": r.between_s, "commit_s": r.commit_s, "exit_s": r.exit_s,
        "rows_per_s": rate(r.rows, r.wall_s), "dry_run_rows_per_s": rate(r.rows, r.dry_run_s),
        "commit_rows_per_s": rate(r.rows, r.commit_s),
        "peak_private_mb": mb(r.peak_anon_kib), "peak_private_mb_by_dry_run_end": mb(r.peak_anon_kib_dry_run),
        "peak_file_mapped_mb": mb(r.peak_file_kib), "vm_hwm_mb": mb(r.hwm_kib),
        "counts": r.counts,
    })
}

fn report(
    o: &Options,
    db: &Database,
    setup: &Setup,
    large: &Layout,
    big: &Run,
    small: &[Run],
    check: &Check,
) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Data Lighthouse imports benchmark: {}, {} people in the database, {} rows ({:.0} % held people), {cores} cores",
        db.backend,
        o.people,
        o.rows,
        o.overlap * 100.0
    );
    match setup.generate_s {
        Some(s) => println!("generate: {s:.1} s ({:.0} people/s)", rate(o.people, s)),
        None => println!("generate: skipped (a copy of the kept database)"),
    }
    println!(
        "index: {:.1} s ({} people given blocking keys)",
        setup.index_s, setup.indexed
    );
    if o.people != 1_000_000 || o.rows != 1_000_000 {
        println!("(the targets are for 1,000,000 rows into a database of 1,000,000 people)");
    }
    let target_rps = if db.backend == "postgres" {
        TARGET_POSTGRES_RPS
    } else {
        TARGET_SQLITE_RPS
    };
    let end_to_end = rate(big.rows, big.wall_s);
    let peak_mb = mb(big.peak_anon_kib);
    let rps_met = end_to_end >= target_rps;
    let peak_met = peak_mb <= TARGET_PEAK_MB;
    println!("{:<44}{:>10}{:>11}", "phase of the large import", "seconds", "rows/s");
    let phases = [
        ("start (process, settings, database)", big.start_s, None),
        ("upload (file hashed, read, stored)", big.upload_s, None),
        (
            "dry run (normalise, match, predict)",
            big.dry_run_s,
            Some(big.dry_run_s),
        ),
        ("the command noticing the end (500 ms poll)", big.between_s, None),
        ("commit", big.commit_s, Some(big.commit_s)),
        ("exit", big.exit_s, None),
    ];
    for (name, s, rated) in phases {
        let r = rated.map_or(String::new(), |s| format!("{:.0}", rate(big.rows, s)));
        println!("  {name:<42}{s:>10.2}{r:>11}");
    }
    println!(
        "  {:<42}{:>10.2}{:>11.0}  target ≥ {target_rps:.0} rows/s: {}",
        "end to end",
        big.wall_s,
        end_to_end,
        verdict(rps_met)
    );
    println!(
        "peak private memory of the import (RssAnon): {peak_mb:.0} MB ({:.0} MB by the end of the dry run)  \
         target ≤ {TARGET_PEAK_MB:.0} MB: {}",
        mb(big.peak_anon_kib_dry_run),
        verdict(peak_met)
    );
    println!(
        "  all resident memory (VmHWM) {:.0} MB, of which file pages up to {:.0} MB (RssFile: the binary and \
         database pages mapped)",
        mb(big.hwm_kib),
        mb(big.peak_file_kib)
    );
    let show = |list: Vec<(&str, i64)>| {
        list.iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("dry run: {}", show(outcomes(&big.counts, "")));
    println!("commit:  {}", show(outcomes(&big.counts, "committed_")));
    println!(
        "held people: {} rows in the file; of {} sampled: {} linked to their person, {} proposed against \
         them, {} linked or proposed to someone else, {} created anew, {} otherwise",
        large.held,
        check.held,
        check.held_linked,
        check.held_proposed,
        check.held_other_person,
        check.held_created,
        check.held_else
    );
    println!(
        "new people: {} rows in the file; of {} sampled: {} created, {} created and proposed for review, {} \
         linked to someone held, {} otherwise",
        large.rows - large.held,
        check.new,
        check.new_created,
        check.new_proposed,
        check.new_linked_to_held,
        check.new_else
    );
    let worst = small.iter().map(|r| r.wall_s).fold(0.0, f64::max);
    let small_met = worst < TARGET_SMALL_S;
    let each: Vec<String> = small
        .iter()
        .map(|r| {
            format!(
                "{:.2} s (dry run {:.2}, commit {:.2})",
                r.wall_s, r.dry_run_s, r.commit_s
            )
        })
        .collect();
    println!(
        "{SMALL_ROWS}-row files end to end: {}  target < {TARGET_SMALL_S} s: {}",
        each.join(", "),
        verdict(small_met)
    );

    let doc = json!({
        "backend": db.backend, "people": o.people, "rows": o.rows, "overlap": o.overlap, "seed": o.seed,
        "reused": o.reuse, "cores": cores,
        "generate_s": setup.generate_s, "index_s": setup.index_s, "indexed": setup.indexed,
        "files_s": setup.files_s, "file_bytes": setup.file_bytes,
        "held_rows": large.held, "new_rows": large.rows - large.held,
        "large": run_json(big),
        "check": {
            "held_sampled": check.held, "held_linked": check.held_linked, "held_proposed": check.held_proposed,
            "held_other_person": check.held_other_person, "held_created": check.held_created,
            "held_else": check.held_else, "new_sampled": check.new, "new_created": check.new_created,
            "new_proposed": check.new_proposed, "new_linked_to_held": check.new_linked_to_held, "new_else": check.new_else,
        },
        "small": small.iter().map(run_json).collect::<Vec<_>>(),
        "targets": {
            "rows_per_s": target_rps, "rows_per_s_met": rps_met,
            "peak_private_mb": TARGET_PEAK_MB, "peak_private_met": peak_met,
            "small_file_s": TARGET_SMALL_S, "small_file_met": small_met,
        },
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench-out");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("imports-{}.json", db.backend));
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("results written to {}", path.display());
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|o| run(&o));
    if let Err(e) = result {
        eprintln!("imports benchmark: {e}");
        std::process::exit(1);
    }
}
