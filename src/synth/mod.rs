//! Synthetic data for demos and benchmarks: realistic UK people, fast.
//!
//! Policy:
//! - Deterministic: the values of person `i` are a pure function of the seed and `i`
//!   ([`sample_person`]), so a benchmark knows which emails and names exist without reading the
//!   database. Only public ids (random, as in the service) and timestamps differ between runs.
//! - Stored as the service would store them: folded search columns from
//!   [`person_fields`](crate::service::people::input::person_fields), provenance on every value
//!   with the source kind `synthetic`, links to one or two departments.
//! - Fast: [`BATCH`] people per transaction, written in chunks of 5,000 with multi-row inserts
//!   (prepared once, reused), the new ids read back by public id (no RETURNING on multi-row
//!   inserts across both backends).
//! - Email addresses and mobiles hold the person's index, so they never collide in a data set;
//!   a second run into the same database with the same seed repeats them (use another seed).

pub mod copies;
mod insert;
mod names;
mod person;
mod places;
pub mod rng;
pub mod score;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::db::departments::NewDepartment;
use crate::db::{self, write_tx, DbConn, DbPool};
use crate::service::departments::check_code;
use crate::service::privacy::keys::PointHasher;

pub use insert::{RowCounts, SOURCE_KIND};
pub use person::{as_of, sample_person, SamplePerson};
pub use places::SampleAddress;

/// People written per transaction by default. On SQLite every commit writes each page it
/// changed to the write-ahead log, and the randomly ordered indexes (public ids, email keys,
/// contact-point hashes) change a page per row: 5,000 people per commit cost about a third
/// more CPU than 50,000 and several times the disk writes.
pub const BATCH: u64 = 50_000;

/// People generated and inserted together inside a transaction (bounds memory).
const CHUNK: u64 = 5_000;

/// Departments created when none are named: the corporation's usual ones.
pub const DEFAULT_DEPARTMENTS: &[(&str, &str)] = &[
    ("BARB", "Barbican Centre"),
    ("GSMD", "Guildhall School of Music & Drama"),
    ("OPEN", "Open Spaces"),
    ("REMB", "Remembrancer's Office"),
    ("POLICE", "City of London Police"),
];

/// Arguments of `lighthouse generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// How many people to generate.
    #[arg(long, default_value_t = 1000)]
    pub people: u64,
    /// Department codes to link people to, comma-separated (created when missing; default
    /// BARB,GSMD,OPEN,REMB,POLICE).
    #[arg(long, value_delimiter = ',')]
    pub departments: Vec<String>,
    /// Seed: the same seed gives the same people.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// People written per transaction.
    #[arg(long, default_value_t = BATCH, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: u64,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How many people.
    pub count: u64,
    /// The seed.
    pub seed: u64,
    /// Department codes (created when missing; the defaults when empty).
    pub departments: Vec<String>,
    /// People per transaction.
    pub batch: u64,
}

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct GenerateReport {
    /// Rows per table.
    pub rows: RowCounts,
    /// Department codes linked to, in order.
    pub departments: Vec<String>,
    /// Departments that had to be created.
    pub departments_created: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Run `lighthouse generate`: write the people, with progress on standard error.
pub fn run(pool: &DbPool, args: &GenerateArgs) -> Result<(), String> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot get a database connection: {e}"))?;
    let started = Instant::now();
    let mut last_print = Instant::now();
    let total = args.people;
    // The binary does not hand its settings down, so read the configured hashing key the same
    // way it does (defaults, LIGHTHOUSE_CONFIG, environment file, environment).
    let configured = crate::config::Settings::load(None)
        .map(|s| s.privacy.hash_key)
        .unwrap_or_default();
    let points = PointHasher::load(&mut conn, &configured).map_err(|e| format!("cannot load the hashing key: {e}"))?;
    eprintln!("generating {total} people (seed {})", args.seed);
    let plan = Plan {
        count: total,
        seed: args.seed,
        departments: args.departments.clone(),
        batch: args.batch,
    };
    let report = generate_people_with(&mut conn, &points, &plan, |done| {
        if last_print.elapsed() >= Duration::from_secs(1) || done == total {
            last_print = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "  {done:>10} / {total} people  ({:.0} people/s, {:.1} s)",
                done as f64 / secs,
                secs
            );
        }
    })?;
    let r = &report.rows;
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    if !report.departments_created.is_empty() {
        println!("created departments {}", report.departments_created.join(", "));
    }
    println!(
        "generated {} people in {secs:.1} s ({:.0} people/s): {} emails, {} phones, {} addresses, \
         {} tags, {} department links ({}), {} provenance rows",
        r.people,
        r.people as f64 / secs,
        r.emails,
        r.phones,
        r.addresses,
        r.tags,
        r.department_links,
        report.departments.join(", "),
        r.provenance
    );
    Ok(())
}

/// Write `count` synthetic people made from `seed`, linked to `departments` (codes; created
/// when missing; the defaults when empty). `progress` gets the number of people written so far
/// after each chunk of 5,000 (a transaction commits every [`BATCH`] people). Contact points are hashed with the key kept in the database; when
/// `privacy.hash_key` is configured use [`generate_people_with`].
pub fn generate_people(
    conn: &mut DbConn,
    count: u64,
    seed: u64,
    departments: &[String],
    progress: impl FnMut(u64),
) -> Result<GenerateReport, String> {
    let points = PointHasher::load(conn, "").map_err(|e| format!("cannot load the hashing key: {e}"))?;
    let plan = Plan {
        count,
        seed,
        departments: departments.to_vec(),
        batch: BATCH,
    };
    generate_people_with(conn, &points, &plan, progress)
}

/// [`generate_people`] with a given contact-point hasher and batch size.
pub fn generate_people_with(
    conn: &mut DbConn,
    points: &PointHasher,
    plan: &Plan,
    mut progress: impl FnMut(u64),
) -> Result<GenerateReport, String> {
    let started = Instant::now();
    let Departments {
        ids: department_ids,
        codes,
        created,
    } = ensure_departments(conn, &plan.departments)?;
    let seed = plan.seed;
    let source_ref = format!("lighthouse generate --seed {seed}");
    let mut rows = RowCounts::default();
    let mut done = 0;
    let bulk = BulkMode::enter(conn);
    while done < plan.count {
        let tx_end = done.saturating_add(plan.batch.max(1)).min(plan.count);
        let now = insert::Stamp::new(db::now());
        let written = write_tx(conn, |c| {
            let mut counts = RowCounts::default();
            let mut at = done;
            while at < tx_end {
                let end = at.saturating_add(CHUNK).min(tx_end);
                counts.add(&insert::insert_batch(
                    c,
                    points,
                    seed,
                    at..end,
                    &department_ids,
                    &source_ref,
                    &now,
                )?);
                at = end;
                progress(at);
            }
            Ok::<_, diesel::result::Error>(counts)
        })
        .map_err(|e| format!("writing people {done}..{tx_end} failed: {e}"));
        match written {
            Ok(counts) => rows.add(&counts),
            Err(e) => {
                // The write error matters more than a failure to restore the settings.
                let _ = bulk.leave(conn);
                return Err(e);
            }
        }
        done = tx_end;
    }
    bulk.leave(conn)?;
    refresh_statistics(conn)?;
    Ok(GenerateReport {
        rows,
        departments: codes,
        departments_created: created,
        elapsed: started.elapsed(),
    })
}

/// SQLite settings of the generating connection for the duration of a bulk load, restored
/// afterwards (the connection may go back to a pool):
/// - a larger page cache, so the randomly ordered indexes (public ids, email keys, hashes) stay
///   in memory instead of being re-read for every batch;
/// - foreign keys off: with them on, a multi-row INSERT may abort at its end and SQLite keeps a
///   statement journal of every page it touches. Every row written here references rows read
///   back from the database in the same transaction.
struct BulkMode(Option<(i64, bool)>);

#[derive(diesel::QueryableByName)]
struct CacheSize {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    cache_size: i64,
}

#[derive(diesel::QueryableByName)]
struct ForeignKeys {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    foreign_keys: i64,
}

/// Cache during a bulk load, in KiB (1 GiB; SQLite allocates it as it is used).
const BULK_CACHE_KIB: i64 = 1 << 20;

impl BulkMode {
    fn enter(conn: &mut DbConn) -> BulkMode {
        use diesel::connection::SimpleConnection;
        use diesel::RunQueryDsl;
        let DbConn::Sqlite(c) = conn else {
            return BulkMode(None);
        };
        let cache = diesel::sql_query("PRAGMA cache_size").get_result::<CacheSize>(c);
        let fks = diesel::sql_query("PRAGMA foreign_keys").get_result::<ForeignKeys>(c);
        let (Ok(cache), Ok(fks)) = (cache, fks) else {
            return BulkMode(None);
        };
        match c.batch_execute(&format!(
            "PRAGMA cache_size = -{BULK_CACHE_KIB}; PRAGMA foreign_keys = OFF"
        )) {
            Ok(()) => BulkMode(Some((cache.cache_size, fks.foreign_keys != 0))),
            Err(_) => BulkMode(None),
        }
    }

    fn leave(self, conn: &mut DbConn) -> Result<(), String> {
        use diesel::connection::SimpleConnection;
        let (Some((cache, fks)), DbConn::Sqlite(c)) = (self.0, conn) else {
            return Ok(());
        };
        let on = if fks { "ON" } else { "OFF" };
        c.batch_execute(&format!("PRAGMA cache_size = {cache}; PRAGMA foreign_keys = {on}"))
            .map_err(|e| format!("cannot restore the connection settings after the load: {e}"))
    }
}

/// On PostgreSQL, refresh the planner statistics of the loaded tables: until autovacuum gets
/// to them the planner guesses, and with array parameters (`person_id = ANY($1)`) it guesses
/// thousands of rows, re-plans every execution and searches run several times slower.
/// (SQLite is left alone: its build collects STAT4 samples, and with those SQLite re-prepares a
/// cached statement whenever a bound value its plan looked at changes.)
fn refresh_statistics(conn: &mut DbConn) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    if let DbConn::Pg(c) = conn {
        c.batch_execute(
            "ANALYZE people, person_emails, person_phones, person_addresses, person_tags, \
             person_departments, field_provenance",
        )
        .map_err(|e| format!("cannot refresh the planner statistics: {e}"))?;
    }
    Ok(())
}

/// The departments people are linked to.
struct Departments {
    /// Ids, in the order given.
    ids: Vec<i64>,
    /// Codes, in the same order.
    codes: Vec<String>,
    /// Codes of the ones that had to be created.
    created: Vec<String>,
}

/// Find the departments to link to, creating the missing ones.
fn ensure_departments(conn: &mut DbConn, wanted: &[String]) -> Result<Departments, String> {
    let mut codes: Vec<String> = if wanted.is_empty() {
        DEFAULT_DEPARTMENTS.iter().map(|d| d.0.to_string()).collect()
    } else {
        wanted
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let mut seen = std::collections::HashSet::new();
    codes.retain(|c| seen.insert(c.clone()));
    if codes.is_empty() {
        return Err("--departments names no department".into());
    }
    for code in &codes {
        check_code(code, "departments")
            .map_err(|_| format!("`{code}` is not a department code (2–16 capital letters, digits, `_` or `-`)"))?;
    }
    let fail = |e: diesel::result::Error| format!("cannot create the departments: {e}");
    write_tx(conn, |c| {
        let existing = db::departments::find_by_codes(c, &codes)?;
        let now = db::now();
        let mut ids = Vec::with_capacity(codes.len());
        let mut created = Vec::new();
        for code in &codes {
            match existing.iter().find(|d| &d.code == code) {
                Some(d) => ids.push(d.id),
                None => {
                    let name = DEFAULT_DEPARTMENTS
                        .iter()
                        .find(|d| d.0 == code)
                        .map_or(code.as_str(), |d| d.1);
                    let new = NewDepartment {
                        code,
                        name,
                        created_at: now,
                        updated_at: now,
                    };
                    ids.push(db::departments::insert(c, &new)?.id);
                    created.push(code.clone());
                }
            }
        }
        Ok(Departments {
            ids,
            codes: codes.clone(),
            created,
        })
    })
    .map_err(fail)
}
