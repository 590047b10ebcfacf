//! People benchmark: generate a large data set, serve it, and measure reads and searches over
//! real HTTP with many keep-alive clients.
//!
//! `cargo build --release && cargo bench --bench people -- [--people N] [--database-url URL]
//! [--clients 32] [--seconds 20] [--search-seconds S] [--warmup 3] [--seed 1] [--keep] [--reuse]`
//!
//! It builds nothing: it runs `target/release/lighthouse` (or `LIGHTHOUSE_BIN`) against a fresh
//! database (a temporary SQLite file by default; `--database-url sqlite://PATH` or
//! `postgres://…/NAME` names one, which is dropped and re-created), serves it on a free loopback
//! port, and always stops the server. `--keep` keeps the database; `--reuse` measures a kept one
//! again without generating (same `--people` and `--seed`). Results go to standard output and
//! `bench-out/people-<backend>.json`. See `benches/README.md`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use lighthouse::synth::sample_person;
use serde_json::{json, Value};

const PASSWORD: &str = "benchmark passphrase 1234";
const ADMIN_EMAIL: &str = "bench-admin@example.com";
const READ_TARGET_RPS: f64 = 5_000.0;
const READ_TARGET_P99_MS: f64 = 20.0;
const SEARCH_TARGET_P99_MS: f64 = 25.0;

struct Options {
    people: u64,
    database_url: Option<String>,
    clients: usize,
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
        seconds: 20,
        search_seconds: 0,
        warmup: 3,
        seed: 1,
        keep: false,
        reuse: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        let num = |v: String| {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match name.as_str() {
            "--bench" => {} // added by `cargo bench`
            "--people" => o.people = num(value()?)?,
            "--database-url" => o.database_url = Some(value()?),
            "--clients" => o.clients = num(value()?)?.clamp(1, 1024) as usize,
            "--seconds" => o.seconds = num(value()?)?.max(1),
            "--search-seconds" => o.search_seconds = num(value()?)?.max(1),
            "--warmup" => o.warmup = num(value()?)?,
            "--seed" => o.seed = num(value()?)?,
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

/// A scratch database and how to remove it.
struct Database {
    url: String,
    backend: &'static str,
    pg_admin: Option<(String, String)>,
}

fn split_pg_url(url: &str) -> Result<(String, String, String), String> {
    let authority_start = url.find("://").map(|i| i + 3).ok_or("bad PostgreSQL URL")?;
    let path_start = url[authority_start..]
        .find('/')
        .map(|i| i + authority_start)
        .ok_or("the PostgreSQL URL names no database")?;
    let (name, query) = match url[path_start + 1..].split_once('?') {
        Some((n, q)) => (n.to_string(), format!("?{q}")),
        None => (url[path_start + 1..].to_string(), String::new()),
    };
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain || name == "postgres" {
        return Err(format!("use a scratch database name like bench_people, not `{name}`"));
    }
    Ok((format!("{}/postgres{query}", &url[..path_start]), name, query))
}

/// The database to run against: fresh (dropped and re-created) unless `--reuse`.
fn fresh_database(o: &Options, work: &Path) -> Result<Database, String> {
    match &o.database_url {
        Some(url) if url.starts_with("postgres") && o.reuse => Ok(Database {
            url: url.clone(),
            backend: "postgres",
            pg_admin: None,
        }),
        Some(url) if url.starts_with("postgres") => {
            let (admin, name, _) = split_pg_url(url)?;
            let mut c = diesel::PgConnection::establish(&admin).map_err(|e| format!("connect {admin}: {e}"))?;
            // Two statements: PostgreSQL runs a multi-statement string as one transaction, and
            // DROP DATABASE refuses to run inside one.
            for sql in [
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name}"),
            ] {
                c.batch_execute(&sql)
                    .map_err(|e| format!("re-create database {name}: {e}"))?;
            }
            Ok(Database {
                url: url.clone(),
                backend: "postgres",
                pg_admin: Some((admin, name)),
            })
        }
        Some(url) if url.starts_with("sqlite://") => {
            let path = PathBuf::from(&url["sqlite://".len()..]);
            if !o.reuse {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            } else if !path.is_file() {
                return Err(format!("--reuse: {} does not exist", path.display()));
            }
            Ok(Database {
                url: url.clone(),
                backend: "sqlite",
                pg_admin: None,
            })
        }
        Some(other) => Err(format!(
            "--database-url must be postgres://… or sqlite://PATH, not {other}"
        )),
        None => Ok(Database {
            url: format!("sqlite://{}", work.join("people.db").display()),
            backend: "sqlite",
            pg_admin: None,
        }),
    }
}

fn lighthouse(bin: &Path, work: &Path, db: &Database) -> Command {
    let mut c = Command::new(bin);
    // Run in the scratch directory so no `.env` from the working tree changes the settings.
    c.current_dir(work)
        .env("DATABASE_URL", &db.url)
        .env("LIGHTHOUSE__LOG__LEVEL", "warn");
    c
}

fn run_ok(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// The server process; killed when dropped, so every exit path stops it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Http {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
    out: Vec<u8>,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        Http {
            addr,
            reader: None,
            out: Vec::with_capacity(1024),
        }
    }

    fn stream(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, s));
        }
        self.reader
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))
    }

    /// Send one request and read the whole answer: (status, body).
    fn call(&mut self, method: &str, path: &str, token: &str, body: Option<&str>) -> std::io::Result<(u16, Vec<u8>)> {
        let result = self.call_once(method, path, token, body);
        if result.is_err() {
            self.reader = None;
        }
        result
    }

    fn call_once(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        self.out.clear();
        write!(self.out, "{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr)?;
        if !token.is_empty() {
            write!(self.out, "Authorization: Bearer {token}\r\n")?;
        }
        if let Some(b) = body {
            write!(
                self.out,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            )?;
        }
        self.out.extend_from_slice(b"\r\n");
        if let Some(b) = body {
            self.out.extend_from_slice(b.as_bytes());
        }
        let out = std::mem::take(&mut self.out);
        let written = self.stream()?.get_mut().write_all(&out);
        self.out = out;
        written?;
        let r = self.stream()?;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
                match k.as_str() {
                    "content-length" => length = v.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = v.contains("chunked"),
                    "connection" => close = v == "close",
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    while r.read_line(&mut line)? > 2 {
                        line.clear();
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                r.read_exact(&mut body[start..])?;
                r.read_line(&mut line)?;
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        } else {
            r.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            self.reader = None;
        }
        Ok((status, body))
    }
}

fn json_call(addr: SocketAddr, method: &str, path: &str, token: &str, body: Option<Value>) -> Result<Value, String> {
    let text = body.map(|b| b.to_string());
    let (status, bytes) = Http::new(addr)
        .call(method, path, token, text.as_deref())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    if !(200..300).contains(&status) {
        return Err(format!(
            "{method} {path}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{method} {path}: not JSON: {e}"))
}

fn wait_ready(addr: SocketAddr, server: &mut Server) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.0.try_wait() {
            return Err(format!("the server exited ({status}); see its log"));
        }
        if let Ok((200, _)) = Http::new(addr).call("GET", "/readyz", "", None) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err("the server did not become ready within 120 s".into())
}

/// A request to send: method, path and optional JSON body.
type Req = (&'static str, String, Option<String>);

/// What one timed phase measured.
struct Phase {
    name: &'static str,
    requests: u64,
    errors: u64,
    misses: u64,
    seconds: f64,
    micros: Vec<u32>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }

    fn pct(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.micros[i.min(self.micros.len() - 1)]) / 1000.0
    }
}

/// Run `clients` threads, each on its own keep-alive connection, for `warmup` (not counted)
/// then `secs` seconds. `make` builds the next request from a counter; a 200 whose body
/// contains `miss_marker` counts as a miss (answered, but nothing found).
fn load(
    name: &'static str,
    addr: SocketAddr,
    token: &str,
    o: &Options,
    secs: u64,
    miss_marker: Option<&str>,
    make: &(dyn Fn(u64) -> Req + Sync),
) -> Phase {
    let start = Instant::now() + Duration::from_secs(o.warmup);
    let end = start + Duration::from_secs(secs);
    let results: Vec<(Vec<u32>, u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.clients)
            .map(|t| {
                s.spawn(move || {
                    let mut http = Http::new(addr);
                    let (mut micros, mut errors, mut misses) = (Vec::new(), 0u64, 0u64);
                    let mut n = (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    while Instant::now() < end {
                        n = n.wrapping_add(1);
                        let (method, path, body) = make(n);
                        let began = Instant::now();
                        let result = http.call(method, &path, token, body.as_deref());
                        let took = began.elapsed();
                        if began < start {
                            continue;
                        }
                        match result {
                            Ok((200, b)) => {
                                let miss = miss_marker.is_some_and(|m| b.windows(m.len()).any(|w| w == m.as_bytes()));
                                misses += u64::from(miss);
                                micros.push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                            }
                            Ok(_) => errors += 1,
                            Err(_) => {
                                errors += 1;
                                std::thread::sleep(Duration::from_millis(10));
                            }
                        }
                    }
                    (micros, errors, misses)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let seconds = end.saturating_duration_since(start).as_secs_f64();
    let mut micros: Vec<u32> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    micros.sort_unstable();
    Phase {
        name,
        requests: micros.len() as u64,
        errors: results.iter().map(|r| r.1).sum(),
        misses: results.iter().map(|r| r.2).sum(),
        seconds,
        micros,
    }
}

/// A cheap deterministic scramble of a request counter, for picking ids and people.
fn scramble(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("LIGHTHOUSE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/lighthouse"));
    if !bin.is_file() {
        return Err(format!(
            "{} is missing: run `cargo build --release` first (the benchmark builds nothing)",
            bin.display()
        ));
    }
    let work = std::env::temp_dir().join(format!("lighthouse-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let db = fresh_database(o, &work)?;
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

    // The one-shot commands may exit while the pool's background thread is still opening a
    // PostgreSQL connection; with TLS negotiated on loopback, OpenSSL's exit handler then races
    // that thread and the process can crash after its work is done. Loopback needs no TLS.
    let helper = |db: &Database| {
        let mut c = lighthouse(&bin, &work, db);
        if db.backend == "postgres" && std::env::var_os("PGSSLMODE").is_none() && !db.url.contains("sslmode") {
            c.env("PGSSLMODE", "disable");
        }
        c
    };

    let began = Instant::now();
    if !o.reuse {
        let mut gen = helper(&db);
        let (people, seed) = (o.people.to_string(), o.seed.to_string());
        gen.args(["generate", "--people", &people, "--seed", &seed]);
        run_ok(gen, "lighthouse generate")?;
    }
    let generate_secs = began.elapsed().as_secs_f64();
    let mut dept = helper(&db);
    dept.args(["department", "create", "--code", "BENCH", "--name", "Benchmark"]);
    let mut user = helper(&db);
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

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log = std::fs::File::create(work.join("server.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut serve = lighthouse(&bin, &work, &db);
    serve
        .env("LIGHTHOUSE__SERVER__BIND", addr.to_string())
        .arg("serve")
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2));
    let mut server = Server(serve.spawn().map_err(|e| format!("lighthouse serve: {e}"))?);
    wait_ready(addr, &mut server)?;
    let login = json_call(
        addr,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(json!({"email": ADMIN_EMAIL, "password": PASSWORD})),
    )?;
    let token = login["token"]
        .as_str()
        .ok_or("login answered without a token")?
        .to_string();
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
    let phases = [
        load("read by id", addr, &token, o, o.seconds, None, &read),
        load(
            "search by email",
            addr,
            &token,
            o,
            o.search_seconds,
            Some("\"items\":[]"),
            &by_email,
        ),
        load(
            "search by name prefix",
            addr,
            &token,
            o,
            o.search_seconds,
            Some("\"items\":[]"),
            &by_name,
        ),
    ];
    drop(server);
    report(o, &db, generate_secs, &phases)?;
    if !o.keep {
        let _ = std::fs::remove_dir_all(&work);
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        if let Some((admin, name)) = &db.pg_admin {
            if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
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
        "{:<24}{:>9}{:>10}{:>9}{:>9}{:>9}{:>8}{:>8}  target",
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
            "{:<24}{:>9}{:>10.0}{:>9.2}{:>9.2}{:>9.2}{:>8}{:>8}  {target}: {}",
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
