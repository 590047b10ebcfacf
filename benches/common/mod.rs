//! What the HTTP benchmarks share: a scratch database, the `lighthouse` binary and its server
//! (always stopped), a tiny keep-alive HTTP/1.1 client over `std::net`, and closed-loop load
//! phases with latency percentiles, and the command-line reader. Included by every benchmark but
//! `matching.rs` with `mod common;`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::Value;

/// `target/release/lighthouse` (or `LIGHTHOUSE_BIN`), or a message saying how to build it.
pub fn release_binary() -> Result<PathBuf, String> {
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
    Ok(bin)
}

/// A scratch database and how to remove it.
pub struct Database {
    pub url: String,
    pub backend: &'static str,
    pub pg_admin: Option<(String, String)>,
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

/// The database to run against: fresh (dropped and re-created) unless `reuse`; without a URL, a
/// SQLite file `default_file` in `work`.
pub fn fresh_database(url: Option<&str>, reuse: bool, work: &Path, default_file: &str) -> Result<Database, String> {
    match url {
        Some(url) if url.starts_with("postgres") && reuse => Ok(Database {
            url: url.to_string(),
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
                url: url.to_string(),
                backend: "postgres",
                pg_admin: Some((admin, name)),
            })
        }
        Some(url) if url.starts_with("sqlite://") => {
            let path = PathBuf::from(&url["sqlite://".len()..]);
            if !reuse {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            } else if !path.is_file() {
                return Err(format!("--reuse: {} does not exist", path.display()));
            }
            Ok(Database {
                url: url.to_string(),
                backend: "sqlite",
                pg_admin: None,
            })
        }
        Some(other) => Err(format!(
            "--database-url must be postgres://… or sqlite://PATH, not {other}"
        )),
        None => Ok(Database {
            url: format!("sqlite://{}", work.join(default_file).display()),
            backend: "sqlite",
            pg_admin: None,
        }),
    }
}

/// The PostgreSQL server's memory and checkpoint settings, which move the figures a lot (", server
/// shared_buffers 6GB, max_wal_size 8GB"); empty for SQLite.
pub fn server_settings(db: &Database) -> String {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    if db.backend != "postgres" {
        return String::new();
    }
    let Ok(mut c) = diesel::PgConnection::establish(&db.url) else {
        return String::new();
    };
    let mut get = |name: &str| {
        diesel::RunQueryDsl::get_result::<Setting>(
            diesel::sql_query("SELECT current_setting($1) AS v").bind::<diesel::sql_types::Text, _>(name),
            &mut c,
        )
        .map_or_else(|_| "?".to_string(), |s| s.v)
    };
    let buffers = get("shared_buffers");
    format!(
        ", server shared_buffers {buffers}, max_wal_size {}",
        get("max_wal_size")
    )
}

/// Remove a scratch database: the SQLite file (with `-wal` and `-shm`), or the PostgreSQL
/// database this run created.
pub fn remove_database(db: &Database) {
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
}

/// A `lighthouse` command on the database, run in the scratch directory so no `.env` from the
/// working tree changes the settings.
pub fn lighthouse(bin: &Path, work: &Path, db: &Database) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(work)
        .env("DATABASE_URL", &db.url)
        .env("LIGHTHOUSE__LOG__LEVEL", "warn")
        // The benchmarks sign in as administrators with a password alone.
        .env("LIGHTHOUSE__AUTH__MFA_REQUIRED_ROLES", "")
        .env("LIGHTHOUSE__RETENTION__RUN_EVERY_HOURS", "0");
    c
}

pub fn run_ok(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// The server process; killed when dropped, so every exit path stops it.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `lighthouse serve` on a free loopback port, its log in `work/server.log`, and wait
/// until it is ready.
pub fn start_server(bin: &Path, work: &Path, db: &Database) -> Result<(Server, SocketAddr), String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log = std::fs::File::create(work.join("server.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut serve = lighthouse(bin, work, db);
    serve
        .env("LIGHTHOUSE__SERVER__BIND", addr.to_string())
        .arg("serve")
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2));
    let mut server = Server(serve.spawn().map_err(|e| format!("lighthouse serve: {e}"))?);
    wait_ready(addr, &mut server)?;
    Ok((server, addr))
}

/// Sign in and return the bearer token.
pub fn login(addr: SocketAddr, email: &str, password: &str) -> Result<String, String> {
    let login = json_call(
        addr,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(serde_json::json!({"email": email, "password": password})),
    )?;
    Ok(login["token"]
        .as_str()
        .ok_or("login answered without a token")?
        .to_string())
}

/// One keep-alive HTTP/1.1 connection.
pub struct Http {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
    out: Vec<u8>,
    timeout: Duration,
}

impl Http {
    /// A connection (opened on first use) that waits at most 30 s for an answer.
    pub fn new(addr: SocketAddr) -> Http {
        Http::with_timeout(addr, Duration::from_secs(30))
    }

    /// A connection that waits at most `timeout` for an answer.
    pub fn with_timeout(addr: SocketAddr, timeout: Duration) -> Http {
        Http {
            addr,
            reader: None,
            out: Vec::with_capacity(1024),
            timeout,
        }
    }

    fn stream(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(self.timeout))?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, s));
        }
        self.reader
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))
    }

    /// Send one request and read the whole answer: (status, body).
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> std::io::Result<(u16, Vec<u8>)> {
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

pub fn json_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Result<Value, String> {
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

pub fn wait_ready(addr: SocketAddr, server: &mut Server) -> Result<(), String> {
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
pub type Req = (&'static str, String, Option<String>);

/// What one timed phase measured.
pub struct Phase {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub misses: u64,
    pub seconds: f64,
    pub micros: Vec<u32>,
}

impl Phase {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }

    pub fn pct(&self, p: f64) -> f64 {
        percentile_ms(&self.micros, p)
    }
}

/// The `p` quantile (0–1) of sorted microseconds, in milliseconds (NaN when empty).
pub fn percentile_ms(sorted_micros: &[u32], p: f64) -> f64 {
    if sorted_micros.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_micros.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted_micros[i.min(sorted_micros.len() - 1)]) / 1000.0
}

/// Run `clients` threads, each on its own keep-alive connection, for `warmup` seconds (not
/// counted) then `secs` seconds. `make` builds the next request from a counter; a 200 whose
/// body contains `miss_marker` counts as a miss (answered, but nothing found).
#[allow(clippy::too_many_arguments)]
pub fn load(
    name: &str,
    addr: SocketAddr,
    token: &str,
    clients: usize,
    warmup: u64,
    secs: u64,
    miss_marker: Option<&str>,
    make: &(dyn Fn(u64) -> Req + Sync),
) -> Phase {
    let start = Instant::now() + Duration::from_secs(warmup);
    let end = start + Duration::from_secs(secs);
    let results: Vec<(Vec<u32>, u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
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
        name: name.to_string(),
        requests: micros.len() as u64,
        errors: results.iter().map(|r| r.1).sum(),
        misses: results.iter().map(|r| r.2).sum(),
        seconds,
        micros,
    }
}

/// A cheap deterministic scramble of a request counter, for picking ids and people.
pub fn scramble(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A benchmark's command line: `--name value` or `--name=value`; `--bench`, which `cargo bench`
/// adds, is skipped.
pub struct Args {
    rest: std::vec::IntoIter<String>,
    name: String,
    inline: Option<String>,
}

impl Args {
    /// The process's arguments.
    pub fn from_env() -> Args {
        Args {
            rest: std::env::args().skip(1).collect::<Vec<_>>().into_iter(),
            name: String::new(),
            inline: None,
        }
    }

    /// The next option's name (`--people`), or `None` at the end.
    pub fn next_name(&mut self) -> Option<String> {
        loop {
            let arg = self.rest.next()?;
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (arg, None),
            };
            if name != "--bench" {
                self.name = name.clone();
                self.inline = inline;
                return Some(name);
            }
        }
    }

    /// The current option's value.
    pub fn value(&mut self) -> Result<String, String> {
        self.inline
            .take()
            .or_else(|| self.rest.next())
            .ok_or(format!("{} needs a value", self.name))
    }

    /// The current option's value as a whole number (`1_000_000` and `1,000,000` are accepted).
    pub fn number(&mut self) -> Result<u64, String> {
        let v = self.value()?;
        v.replace(['_', ','], "")
            .parse()
            .map_err(|_| format!("{}: not a number: {v}", self.name))
    }

    /// The current option's value as a decimal number.
    pub fn decimal(&mut self) -> Result<f64, String> {
        let v = self.value()?;
        v.parse().map_err(|_| format!("{}: not a number: {v}", self.name))
    }
}
