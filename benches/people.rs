//! People benchmark: generate a large data set, serve it, and measure reads and searches over
//! real HTTP with many keep-alive clients.
//!
//! `cargo build --release && cargo bench --bench people -- [--people N] [--database-url URL]
//! [--clients 32] [--light-clients 8] [--seconds 20] [--search-seconds S] [--warmup 3] [--seed 1] [--keep] [--reuse]`
//!
//! It builds nothing: it runs `target/release/lighthouse` (or `LIGHTHOUSE_BIN`) against a fresh
//! database (a temporary SQLite file by default; `--database-url sqlite://PATH` or
//! `postgres://…/NAME` names one, which is dropped and re-created), serves it on a free loopback
//! port, and always stops the server. `--keep` keeps the database; `--reuse` measures a kept one
//! again without generating (same `--people` and `--seed`). Results go to standard output and
//! `bench-out/people-<backend>.json`. See `benches/README.md`.

#[allow(dead_code)] // each benchmark uses its own part of it
mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use common::{json_call, load, run_ok, scramble, Database, Phase, Req};
use lighthouse::synth::sample_person;
use serde_json::json;

const PASSWORD: &str = "benchmark passphrase 1234";
const ADMIN_EMAIL: &str = "bench-admin@example.com";
const READ_TARGET_RPS: f64 = 5_000.0;
const READ_TARGET_P99_MS: f64 = 20.0;
const SEARCH_TARGET_P99_MS: f64 = 25.0;

struct Options {
    people: u64,
    database_url: Option<String>,
    clients: usize,
    light_clients: usize,
    seconds: u64,
    search_seconds: u64,
    warmup: u64,
    seed: u64,
    keep: bool,
    reuse: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        people: 1_000_000,
        database_url: None,
        clients: 32,
        light_clients: 8,
        seconds: 20,
        search_seconds: 0,
        warmup: 3,
        seed: 1,
        keep: false,
        reuse: false,
    };
    let mut args = common::Args::from_env();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--people" => o.people = args.number()?,
            "--database-url" => o.database_url = Some(args.value()?),
            "--clients" => o.clients = args.number()?.clamp(1, 1024) as usize,
            "--light-clients" => o.light_clients = args.number()?.min(1024) as usize,
            "--seconds" => o.seconds = args.number()?.max(1),
            "--search-seconds" => o.search_seconds = args.number()?.max(1),
            "--warmup" => o.warmup = args.number()?,
            "--seed" => o.seed = args.number()?,
            "--keep" => o.keep = true,
            "--reuse" => o.reuse = true,
            other => return Err(format!("unknown argument {other} (see the top of benches/people.rs)")),
        }
    }
    if o.search_seconds == 0 {
        o.search_seconds = (o.seconds / 2).max(1);
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

fn sample_ids(addr: SocketAddr, token: &str, people: u64) -> Result<Vec<String>, String> {
    let pages = 10u64;
    let mut ids = Vec::new();
    for p in 0..pages {
        let offset = scramble(p) % people.saturating_sub(200).max(1);
        let page = json_call(
            addr,
            "GET",
            &format!("/api/v1/people?limit=200&offset={offset}"),
            token,
            None,
        )?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        ids.extend(items.iter().filter_map(|i| i["id"].as_str().map(str::to_string)));
    }
    if ids.is_empty() {
        return Err("the people list returned no ids".into());
    }
    Ok(ids)
}

fn run(o: &Options) -> Result<(), String> {
    let bin = common::release_binary()?;
    let work = std::env::temp_dir().join(format!("lighthouse-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let db = common::fresh_database(o.database_url.as_deref(), o.reuse, &work, "people.db")?;
    let shown = if o.database_url.is_some() {
        "as given"
    } else {
        db.url.as_str()
    };
    println!(
        "database: {} ({shown}{})",
        db.backend,
        if o.reuse { ", reused" } else { "" }
    );

    let command = |db: &Database| common::lighthouse(&bin, &work, db);

    let began = Instant::now();
    if !o.reuse {
        let mut gen = command(&db);
        let (people, seed) = (o.people.to_string(), o.seed.to_string());
        gen.args(["generate", "--people", &people, "--seed", &seed]);
        run_ok(gen, "lighthouse generate")?;
    }
    let generate_secs = began.elapsed().as_secs_f64();
    let mut dept = command(&db);
    dept.args(["department", "create", "--code", "BENCH", "--name", "Benchmark"]);
    let mut user = command(&db);
    user.env("LIGHTHOUSE_PASSWORD", PASSWORD).args([
        "user",
        "create",
        "--email",
        ADMIN_EMAIL,
        "--name",
        "Benchmark Admin",
        "--role",
        "administrator",
    ]);
    for (cmd, what) in [(dept, "lighthouse department create"), (user, "lighthouse user create")] {
        match run_ok(cmd, what) {
            // A reused database already has them.
            Err(e) if !o.reuse => return Err(e),
            _ => {}
        }
    }

    let (server, addr) = common::start_server(&bin, &work, &db)?;
    let token = common::login(addr, ADMIN_EMAIL, PASSWORD)?;
    let ids = sample_ids(addr, &token, o.people)?;
    println!(
        "sampled {} person ids; {} clients, warm-up {} s",
        ids.len(),
        o.clients,
        o.warmup
    );

    let people = o.people;
    let seed = o.seed;
    let read = |n: u64| -> Req {
        (
            "GET",
            format!("/api/v1/people/{}", ids[(scramble(n) % ids.len() as u64) as usize]),
            None,
        )
    };
    let by_email = |n: u64| -> Req {
        let p = sample_person(seed, scramble(n) % people);
        (
            "POST",
            "/api/v1/people/search".into(),
            Some(json!({"q": p.email}).to_string()),
        )
    };
    let by_name = |n: u64| -> Req {
        let p = sample_person(seed, scramble(n) % people);
        let prefix: String = p.family_name.chars().take(3 + (n % 3) as usize).collect();
        (
            "POST",
            "/api/v1/people/search".into(),
            Some(json!({"q": prefix}).to_string()),
        )
    };
    let mut phases = vec![load(
        "read by id",
        addr,
        &token,
        o.clients,
        o.warmup,
        o.seconds,
        None,
        &read,
    )];
    // The searches at full load, then (unless `--light-clients 0`) at a lighter, interactive one.
    let mut loads = vec![(o.clients, String::new())];
    if o.light_clients > 0 {
        loads.push((o.light_clients, format!(" ({} clients)", o.light_clients)));
    }
    for (clients, suffix) in loads {
        type Make<'a> = &'a (dyn Fn(u64) -> Req + Sync);
        let searches: [(&str, Make); 2] = [("search by email", &by_email), ("search by name prefix", &by_name)];
        for (name, make) in searches {
            let name = format!("{name}{suffix}");
            phases.push(load(
                &name,
                addr,
                &token,
                clients,
                o.warmup,
                o.search_seconds,
                Some("\"items\":[]"),
                make,
            ));
        }
    }
    drop(server);
    report(o, &db, generate_secs, &phases)?;
    if !o.keep {
        let _ = std::fs::remove_dir_all(&work);
        common::remove_database(&db);
    } else {
        println!("kept the database {} (server log in {})", db.url, work.display());
    }
    Ok(())
}

fn report(o: &Options, db: &Database, generate_secs: f64, phases: &[Phase]) -> Result<(), String> {
    println!();
    println!(
        "Data Lighthouse people benchmark: {}, {} people, {} clients, {} cores",
        db.backend,
        o.people,
        o.clients,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if o.reuse {
        println!("generate: skipped (reused database)");
    } else {
        let rate = o.people as f64 / generate_secs.max(1e-9);
        println!("generate: {generate_secs:.1} s ({rate:.0} people/s)");
    }
    println!(
        "{:<36}{:>9}{:>10}{:>9}{:>9}{:>9}{:>8}{:>8}  target",
        "phase", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "misses"
    );
    let mut out = Vec::new();
    for (i, p) in phases.iter().enumerate() {
        let (target, pass) = if i == 0 {
            let pass = p.rate() >= READ_TARGET_RPS && p.pct(0.99) < READ_TARGET_P99_MS && p.errors == 0;
            (
                format!("≥ {READ_TARGET_RPS:.0} req/s, p99 < {READ_TARGET_P99_MS} ms"),
                pass,
            )
        } else {
            let pass = p.pct(0.99) < SEARCH_TARGET_P99_MS && p.errors == 0;
            (format!("p99 < {SEARCH_TARGET_P99_MS} ms"), pass)
        };
        println!(
            "{:<36}{:>9}{:>10.0}{:>9.2}{:>9.2}{:>9.2}{:>8}{:>8}  {target}: {}",
            p.name,
            p.requests,
            p.rate(),
            p.pct(0.5),
            p.pct(0.99),
            p.pct(1.0),
            p.errors,
            p.misses,
            if pass { "met" } else { "MISSED" }
        );
        out.push(json!({
            "phase": p.name, "requests": p.requests, "seconds": p.seconds, "throughput_rps": p.rate(),
            "p50_ms": p.pct(0.5), "p90_ms": p.pct(0.9), "p99_ms": p.pct(0.99), "max_ms": p.pct(1.0),
            "errors": p.errors, "misses": p.misses, "target": target, "target_met": pass,
        }));
    }
    let doc = json!({
        "backend": db.backend, "people": o.people, "clients": o.clients, "seed": o.seed,
        "seconds": o.seconds, "search_seconds": o.search_seconds, "warmup_seconds": o.warmup,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "generate_seconds": (!o.reuse).then_some(generate_secs), "phases": out,
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench-out");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("people-{}.json", db.backend));
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("results written to {}", path.display());
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|o| run(&o));
    if let Err(e) = result {
        eprintln!("people benchmark: {e}");
        std::process::exit(1);
    }
}
