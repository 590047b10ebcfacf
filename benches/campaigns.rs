//! Campaign benchmark: a campaign to `--people` consented people, sent through real SMTP to a
//! local sink, by `lighthouse worker` processes.
//!
//! `cargo build --release && cargo bench --bench campaigns -- [--people 100000]
//! [--database-url URL] [--workers 2] [--threads 16] [--seed 1] [--keep]`
//!
//! Phases:
//! 1. **queue**: `POST /api/v1/campaigns/{id}/start` — the segment evaluated and one outbox row
//!    per recipient written in one transaction (target ≤ 5 s for 100,000);
//! 2. **deliver**: `--workers` worker processes (`--threads` each) send everything to the sink;
//!    messages per second from the first to the last (target ≥ 500/s);
//! 3. **recover**: a second campaign; at 30 % delivered the sink stops and two workers are
//!    killed (SIGKILL); a few seconds later the sink comes back on the same port and two fresh
//!    workers start. When the outbox is settled, every recipient must have exactly one message
//!    (by `X-Lighthouse-Message`): lost and duplicated are counted (target 0 and 0).
//!
//! The sink is the test suite's (`tests/common/smtp.rs`, std threads, ~50,000 small messages/s),
//! so it is not the bottleneck. Results go to standard output and
//! `bench-out/campaigns-<backend>.json`.

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use lighthouse::db::pool::{self, DbUrl, SqliteOptions};
use serde_json::{json, Value};
use smtp::SmtpSink;

const PASSWORD: &str = "benchmark passphrase, long enough";
const PURPOSE: &str = "bench_news";

struct Options {
    people: u64,
    database_url: Option<String>,
    workers: usize,
    threads: usize,
    seed: u64,
    keep: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        people: 100_000,
        database_url: None,
        workers: 2,
        threads: 16,
        seed: 1,
        keep: false,
    };
    let mut args = common::Args::from_env();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--people" => o.people = args.number()?,
            "--workers" => o.workers = args.number()? as usize,
            "--threads" => o.threads = args.number()? as usize,
            "--seed" => o.seed = args.number()?,
            "--database-url" => o.database_url = Some(args.value()?),
            "--keep" => o.keep = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    o.workers = o.workers.max(1);
    o.threads = o.threads.max(1);
    Ok(o)
}

/// Worker processes, killed when dropped.
struct Workers(Vec<Child>);

impl Workers {
    fn start(
        bin: &Path,
        work: &Path,
        db: &common::Database,
        n: usize,
        threads: usize,
        port: u16,
    ) -> Result<Workers, String> {
        let mut children = Vec::new();
        for i in 0..n {
            let log = std::fs::File::create(work.join(format!("worker-{port}-{i}.log"))).map_err(|e| e.to_string())?;
            let mut cmd = common::lighthouse(bin, work, db);
            cmd.env("LIGHTHOUSE__CAMPAIGNS__SMTP_PORT", port.to_string())
                .args(["worker", "--threads", &threads.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::from(log));
            children.push(cmd.spawn().map_err(|e| format!("lighthouse worker: {e}"))?);
        }
        Ok(Workers(children))
    }

    fn kill(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.0.clear();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.kill();
    }
}

fn seed(url: &str, people: u64, seed: u64) -> Result<(), String> {
    let parsed = DbUrl::parse(url)?;
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
    pool::migrate(&mut conn, "").map_err(|e| e.to_string())?;
    let started = Instant::now();
    eprintln!("generating {people} people …");
    lighthouse::synth::generate_people(&mut conn, people, seed, &["COMMS".to_string()], |_| {})?;
    eprintln!("  {:.1} s; granting consent to all …", started.elapsed().as_secs_f64());
    let t = "'2026-01-01 00:00:00'";
    conn.batch_execute(&format!(
        "INSERT INTO purposes (code, description, category, default_lawful_basis, created_at, updated_at) \
           VALUES ('{PURPOSE}', 'Benchmark news', 'marketing', 'consent', {t}, {t});
         INSERT INTO consent_events (public_id, person_id, purpose_id, channel, contact_point, status, lawful_basis, \
             source, capture_method, captured_at, recorded_at) \
           SELECT 'bench-' || p.id, p.id, (SELECT id FROM purposes WHERE code = '{PURPOSE}'), 'email', '', \
             'granted', 'consent', 'web_form', 'form', {t}, {t} FROM people p;
         INSERT INTO consent_state (person_id, purpose_id, channel, contact_point, status, lawful_basis, \
             capture_method, captured_at, expires_at, event_id) \
           SELECT e.person_id, e.purpose_id, e.channel, e.contact_point, e.status, e.lawful_basis, \
             e.capture_method, e.captured_at, e.expires_at, e.id FROM consent_events e;"
    ))
    .map_err(|e| format!("seeding consent: {e}"))?;
    if url.starts_with("postgres") {
        conn.batch_execute("VACUUM ANALYZE").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn user(bin: &Path, work: &Path, db: &common::Database, email: &str, role: &str) -> Result<(), String> {
    let mut cmd = common::lighthouse(bin, work, db);
    cmd.env("LIGHTHOUSE_PASSWORD", PASSWORD)
        .args(["user", "create", "--email", email, "--name", email, "--role", role]);
    common::run_ok(cmd, "lighthouse user create")
}

/// Draft, approve (by the second manager) and return a campaign's id.
fn campaign(addr: SocketAddr, manager: &str, second: &str, segment: &str, template: &str) -> Result<String, String> {
    let c = common::json_call(
        addr,
        "POST",
        "/api/v1/campaigns",
        manager,
        Some(
            json!({"name": "Benchmark", "segment": segment, "template": template, "purpose": PURPOSE,
            "department": "COMMS", "sender_name": "The Lord Mayor"}),
        ),
    )?;
    let id = c["id"].as_str().ok_or("no campaign id")?.to_string();
    common::json_call(
        addr,
        "POST",
        &format!("/api/v1/campaigns/{id}/approve"),
        second,
        Some(json!({})),
    )?;
    Ok(id)
}

fn stats(addr: SocketAddr, token: &str, id: &str) -> Result<Value, String> {
    common::json_call(addr, "GET", &format!("/api/v1/campaigns/{id}"), token, None)
}

/// Wait until the campaign's outbox has nothing queued or in flight.
fn settled(addr: SocketAddr, token: &str, id: &str, timeout: Duration) -> Result<Value, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let s = stats(addr, token, id)?;
        if s["stats"]["queued"] == 0 && s["stats"]["sending"] == 0 {
            return Ok(s);
        }
        if Instant::now() > deadline {
            return Err(format!("the campaign did not settle in {} s: {s}", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn refs(messages: &[smtp::Received]) -> HashMap<String, u32> {
    let mut seen = HashMap::new();
    for m in messages {
        if let Some(r) = m.header("X-Lighthouse-Message") {
            *seen.entry(r).or_insert(0) += 1;
        }
    }
    seen
}

fn run(o: &Options) -> Result<(), String> {
    let bin = common::release_binary()?;
    let work = std::env::temp_dir().join(format!("lighthouse-campaigns-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let db = common::fresh_database(o.database_url.as_deref(), false, &work, "campaigns.db")?;
    let result = measure(o, &bin, &work, &db);
    if !o.keep {
        common::remove_database(&db);
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("kept: {} and {}", db.url, work.display());
    }
    result
}

fn measure(o: &Options, bin: &Path, work: &Path, db: &common::Database) -> Result<(), String> {
    seed(&db.url, o.people, o.seed)?;
    user(bin, work, db, "manager1@bench.test", "campaigns_manager")?;
    user(bin, work, db, "manager2@bench.test", "campaigns_manager")?;
    let sink = SmtpSink::start();
    // Settings the server and the workers inherit.
    for (k, v) in [
        ("LIGHTHOUSE__CAMPAIGNS__SMTP_HOST", "127.0.0.1"),
        ("LIGHTHOUSE__CAMPAIGNS__SMTP_TLS", "none"),
        ("LIGHTHOUSE__CAMPAIGNS__FROM_ADDRESS", "news@bench.test"),
        ("LIGHTHOUSE__CAMPAIGNS__PUBLIC_BASE_URL", "https://crm.bench.test"),
        ("LIGHTHOUSE__CAMPAIGNS__WORKERS", "0"),
        ("LIGHTHOUSE__CAMPAIGNS__RATE_PER_SECOND", "0"),
        ("LIGHTHOUSE__CAMPAIGNS__CLAIM_SECS", "10"),
        ("LIGHTHOUSE__CAMPAIGNS__RETRY_BASE_SECS", "1"),
        ("LIGHTHOUSE__CAMPAIGNS__MAX_ATTEMPTS", "12"),
    ] {
        std::env::set_var(k, v);
    }
    std::env::set_var("LIGHTHOUSE__CAMPAIGNS__SMTP_PORT", sink.port().to_string());
    let (_server, addr) = common::start_server(bin, work, db)?;
    let manager = common::login(addr, "manager1@bench.test", PASSWORD)?;
    let second = common::login(addr, "manager2@bench.test", PASSWORD)?;
    let segment = common::json_call(
        addr,
        "POST",
        "/api/v1/segments",
        &manager,
        Some(json!({"name": "Consented", "definition": {"consent": {"purpose": PURPOSE, "channel": "email"}}})),
    )?;
    let template = common::json_call(
        addr,
        "POST",
        "/api/v1/templates",
        &manager,
        Some(
            json!({"name": "News", "subject": "News for {{ given_name | default: \"you\" }}",
            "html_body": "<p>Dear {{ given_name }},</p><p>What is on in the City this winter.</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>",
            "text_body": "Dear {{ given_name }},\n\nWhat is on in the City this winter.\n\nUnsubscribe: {{ unsubscribe_url }}\n"}),
        ),
    )?;
    let (segment, template) = (
        segment["id"].as_str().unwrap_or_default().to_string(),
        template["id"].as_str().unwrap_or_default().to_string(),
    );

    // 1. Queue.
    let first = campaign(addr, &manager, &second, &segment, &template)?;
    let t = Instant::now();
    let started = common::json_call(
        addr,
        "POST",
        &format!("/api/v1/campaigns/{first}/start"),
        &manager,
        Some(json!({})),
    )?;
    let queue_secs = t.elapsed().as_secs_f64();
    let audience = started["audience_size"].as_u64().unwrap_or(0) as usize;
    eprintln!("queued {audience} in {queue_secs:.2} s");

    // 2. Deliver.
    let t = Instant::now();
    let mut workers = Workers::start(bin, work, db, o.workers, o.threads, sink.port())?;
    let delivered = sink.wait_for(audience, Duration::from_secs(3600));
    let deliver_secs = t.elapsed().as_secs_f64();
    // The last messages are settled just after the sink has them: let the workers finish.
    let s1 = settled(addr, &manager, &first, Duration::from_secs(120))?;
    workers.kill();
    let rate = audience as f64 / deliver_secs;
    eprintln!("delivered {} in {deliver_secs:.1} s: {rate:.0}/s", sink.count());
    let first_refs = refs(&sink.messages());
    let first_dups = first_refs.values().filter(|n| **n > 1).count();
    if !delivered || first_refs.len() != audience || first_dups > 0 {
        return Err(format!(
            "phase 2: {} distinct of {audience}, {first_dups} duplicated; stats {s1}",
            first_refs.len()
        ));
    }

    // 3. Recover: sink down and workers killed mid-run.
    let second_id = campaign(addr, &manager, &second, &segment, &template)?;
    let sink_a = SmtpSink::start();
    let port = sink_a.port();
    common::json_call(
        addr,
        "POST",
        &format!("/api/v1/campaigns/{second_id}/start"),
        &manager,
        Some(json!({})),
    )?;
    let t = Instant::now();
    let mut doomed = Workers::start(bin, work, db, 2, o.threads, port)?;
    sink_a.wait_for(audience * 3 / 10, Duration::from_secs(3600));
    sink_a.stop();
    std::thread::sleep(Duration::from_millis(500));
    doomed.kill();
    let at_kill = sink_a.count();
    std::thread::sleep(Duration::from_secs(3));
    let sink_b = SmtpSink::start_on(port).map_err(|e| format!("restart the sink on {port}: {e}"))?;
    let _fresh = Workers::start(bin, work, db, 2, o.threads, port)?;
    let s2 = settled(addr, &manager, &second_id, Duration::from_secs(3600))?;
    let recover_secs = t.elapsed().as_secs_f64();
    let mut all = sink_a.messages();
    all.extend(sink_b.messages());
    let seen = refs(&all);
    let duplicated: u32 = seen.values().map(|n| n - 1).sum();
    let lost = audience.saturating_sub(seen.len());
    eprintln!(
        "recovery: {at_kill} before the kill, {} after; {lost} lost, {duplicated} duplicated, in {recover_secs:.1} s",
        sink_b.count()
    );

    let out = json!({
        "backend": db.backend,
        "people": o.people,
        "audience": audience,
        "workers": o.workers,
        "threads": o.threads,
        "queue_seconds": queue_secs,
        "deliver_seconds": deliver_secs,
        "messages_per_second": rate,
        "recovery": {"before_kill": at_kill, "lost": lost, "duplicated": duplicated, "seconds": recover_secs,
            "sent": s2["stats"]["sent"], "failed": s2["stats"]["failed"]},
    });
    println!();
    println!("| measure | target | {} |", db.backend);
    println!("|---|---|---|");
    println!("| queue {audience} recipients | ≤ 5 s | {queue_secs:.2} s |");
    println!(
        "| delivery ({} workers × {} threads) | ≥ 500 messages/s | {rate:.0} messages/s |",
        o.workers, o.threads
    );
    println!("| sink stopped, 2 workers killed: lost / duplicated | 0 / 0 | {lost} / {duplicated} |");
    std::fs::create_dir_all("bench-out").map_err(|e| e.to_string())?;
    std::fs::write(
        format!("bench-out/campaigns-{}.json", db.backend),
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|o| run(&o));
    if let Err(e) = result {
        eprintln!("campaigns benchmark: {e}");
        std::process::exit(1);
    }
}
