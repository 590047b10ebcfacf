//! The `lighthouse` command: serve, migrate, and administration from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lighthouse::config::Settings;
use lighthouse::service::auth::HashLimiter;
use lighthouse::service::departments::{self, NewDepartmentRequest};
use lighthouse::service::users::{self, NewUserRequest};
use lighthouse::service::{RequestMeta, Role};

mod cli_audit;
mod cli_jobs;
use cli_jobs::{dedupe, describe, import, retention};

/// mimalloc rather than the system allocator: the service allocates many small, short-lived
/// objects on many threads (request handling, rows, JSON), where glibc's arenas spent a sixth of
/// the CPU time in the people benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Data Lighthouse: one record per person, with consent and audit, for a city corporation.
#[derive(Parser)]
#[command(name = "lighthouse", version, about)]
struct Cli {
    /// A TOML file layered over the built-in defaults (also LIGHTHOUSE_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (applies pending migrations first).
    Serve,
    /// Send campaign messages (the outbox) until stopped, without serving HTTP. Several workers
    /// (and instances) can run at once; each message is claimed by one.
    Worker {
        /// Sending threads. Each spends most of its time waiting on the SMTP server (with lettre,
        /// about 40 ms a message on a loopback connection: the end of each message waits for the
        /// server's delayed acknowledgement), so many threads are cheap and needed.
        #[arg(long, default_value_t = 16)]
        threads: usize,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage departments.
    #[command(subcommand)]
    Department(DepartmentCommand),
    /// Apply the retention rules (`[retention]` in the configuration): erase people past them.
    Retention {
        /// Report what would be erased without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// The audit log's hash chain: seal what is new, or verify the chain.
    #[command(subcommand)]
    Audit(cli_audit::AuditCommand),
    /// Generate realistic synthetic data (demos and benchmarks).
    Generate(lighthouse::synth::GenerateArgs),
    /// Write departmental CSV lists of the same synthetic people, with noise, look-alikes and
    /// a truth file (for measuring identity resolution; see benches/README.md).
    SynthCopies(lighthouse::synth::copies::CopiesArgs),
    /// Score the service's clustering of imported synth-copies lists against their truth:
    /// pairwise precision, recall and F1.
    SynthScore(lighthouse::synth::score::ScoreArgs),
    /// Import a departmental list (CSV or .xlsx): check it, dry-run it and, with --commit,
    /// apply it. Progress on standard error; the counts per outcome on standard output.
    Import {
        /// Department code.
        #[arg(long)]
        department: String,
        /// Worksheet of a workbook (default the first).
        #[arg(long)]
        sheet: Option<String>,
        /// The system the list comes from (with external ids it makes re-imports idempotent).
        #[arg(long)]
        source_system: Option<String>,
        /// A saved mapping template of the department (default: the suggested mapping).
        #[arg(long)]
        template: Option<String>,
        /// Apply the dry run's predictions (without it, nothing changes).
        #[arg(long)]
        commit: bool,
        /// The file.
        file: std::path::PathBuf,
    },
    /// Find duplicates among the people held: link (merge, reversibly) pairs above
    /// `matching.link_threshold`, propose pairs above `matching.review_threshold` for review.
    Dedupe {
        /// Re-estimate the matching model from the data first (EM) and store it.
        #[arg(long)]
        train: bool,
        /// Report what would be linked and proposed without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Skip blocks with more people than this (their pairs come through other keys).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(2..=10_000))]
        block_cap: u64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account. The password comes from LIGHTHOUSE_PASSWORD, else a prompt.
    Create {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role (repeatable): administrator, data_protection_officer, engagement_officer,
        /// department_editor, campaigns_manager, analyst.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Department code (repeatable; required for department editors).
        #[arg(long = "department")]
        departments: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DepartmentCommand {
    /// Create a department.
    Create {
        /// Code, e.g. BARB.
        #[arg(long)]
        code: String,
        /// Name, e.g. "Barbican Centre".
        #[arg(long)]
        name: String,
    },
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log.format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lighthouse: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    match run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lighthouse: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, mut settings: Settings) -> Result<(), String> {
    // Checking an export needs no database (it may be run where the copy is kept).
    if let Command::Audit(cli_audit::AuditCommand::CheckExport { file, expect }) = &command {
        return cli_audit::check_export(file, expect.as_deref());
    }
    // `migrate` migrates whatever database.migrate_on_start says (it is how an owner applies them
    // for a service that runs without).
    if matches!(command, Command::Migrate) {
        settings.database.migrate_on_start = true;
    }
    let pool = lighthouse::open_database(&settings)?;
    match command {
        Command::Serve => serve(settings, pool),
        Command::Worker { threads } => {
            let mut settings = settings;
            // Every sending thread holds an SMTP connection while it waits for the server.
            let wanted = u32::try_from(threads).unwrap_or(u32::MAX);
            settings.campaigns.smtp_pool_size = settings.campaigns.smtp_pool_size.max(wanted);
            let (state, _writer) = lighthouse::build_state(settings, pool)?;
            if !state.sender.mailer.enabled() {
                return Err("campaigns.smtp_host is empty: there is nothing to send through".into());
            }
            state.sender.clone().spawn(threads.max(1));
            tracing::info!(threads, "sending");
            loop {
                std::thread::park();
            }
        }
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            name,
            roles,
            departments,
        }) => {
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).ok_or_else(|| format!("unknown role `{r}`")))
                .collect::<Result<Vec<_>, _>>()?;
            let password = match std::env::var("LIGHTHOUSE_PASSWORD") {
                Ok(p) => p,
                Err(_) => prompt_password()?,
            };
            let req = NewUserRequest {
                email,
                name,
                password: Some(password),
                roles,
                departments,
            };
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let meta = RequestMeta::system(lighthouse::db::now());
            let limiter = HashLimiter::new(1);
            let view = users::create(&mut conn, &limiter, None, &meta, &req, settings.auth.invitation_hours)
                .map_err(describe)?;
            println!("created user {} ({})", view.email, view.id);
            Ok(())
        }
        Command::Audit(cmd) => cli_audit::run(&settings, &pool, cmd),
        Command::Generate(args) => lighthouse::synth::run(&pool, &args),
        Command::SynthCopies(args) => lighthouse::synth::copies::run(&args),
        Command::SynthScore(args) => lighthouse::synth::score::run(&pool, &args),
        Command::Retention { dry_run } => retention(&settings, &pool, dry_run),
        Command::Import {
            department,
            sheet,
            source_system,
            template,
            commit,
            file,
        } => import(
            &settings,
            &pool,
            lighthouse::service::imports::UploadQuery {
                department,
                file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
                sheet,
                source_system,
                template,
            },
            &file,
            commit,
        ),
        Command::Dedupe {
            train,
            dry_run,
            block_cap,
        } => dedupe(&settings, &pool, train, dry_run, block_cap),
        Command::Department(DepartmentCommand::Create { code, name }) => {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let view = departments::create(
                &mut conn,
                None,
                lighthouse::db::now(),
                &NewDepartmentRequest { code, name },
            )
            .map_err(describe)?;
            println!("created department {} ({})", view.code, view.name);
            Ok(())
        }
    }
}

fn prompt_password() -> Result<String, String> {
    use std::io::{BufRead, Write};
    eprint!("Password (12–128 characters; input is shown, prefer LIGHTHOUSE_PASSWORD): ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Threads per HTTP worker for database work, when the service sets it. Every request's
/// database work runs on its worker's blocking pool. SQLite work is all CPU, so a thread more than
/// the machine can keep busy only adds context switches (most of them asleep on the connection
/// pool and woken again), and queued work waits in the worker's queue for the next thread that
/// finishes instead: two threads per core, at least two per worker, so that one long statement or
/// a write waiting for SQLite's lock does not hold up a worker's every request. PostgreSQL work
/// waits on the network, and measured faster with actix's own default (None).
fn blocking_threads(settings: &Settings) -> Option<usize> {
    if settings.server.blocking_threads > 0 {
        return Some(settings.server.blocking_threads);
    }
    if let Ok(lighthouse::db::DbUrl::Postgres(_)) = lighthouse::db::DbUrl::parse(&settings.database.url) {
        return None;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let workers = match settings.server.workers {
        0 => cores,
        n => n,
    };
    Some((2 * cores / workers).max(2))
}

fn serve(mut settings: Settings, pool: lighthouse::db::DbPool) -> Result<(), String> {
    let senders = u32::try_from(settings.campaigns.workers).unwrap_or(u32::MAX);
    settings.campaigns.smtp_pool_size = settings.campaigns.smtp_pool_size.max(senders);
    let bind = settings.server.bind.clone();
    let workers = settings.server.workers;
    let blocking = blocking_threads(&settings);
    let (state, writer) = lighthouse::build_state(settings, pool)?;
    lighthouse::service::imports::runner::Worker {
        pool: state.pool.clone(),
        matching: state.settings.matching.clone(),
        points: state.points.clone(),
    }
    .start_sweeper(std::time::Duration::from_secs(
        state.settings.imports.sweep_interval_secs,
    ));
    lighthouse::service::privacy::retention::start_schedule(
        state.pool.clone(),
        state.points.clone(),
        state.settings.retention.clone(),
        state.clock.clone(),
    );
    lighthouse::service::audit_chain::start_schedule(
        state.pool.clone(),
        std::time::Duration::from_secs(state.settings.audit.seal_every_seconds),
        state.settings.audit.seal_grace(),
        state.clock.clone(),
    );
    if state.sender.mailer.enabled() && state.settings.campaigns.workers > 0 {
        state.sender.clone().spawn(state.settings.campaigns.workers);
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let server_state = state.clone();
        let mut server = actix_web::HttpServer::new(move || lighthouse::app(server_state.clone()));
        if workers > 0 {
            server = server.workers(workers);
        }
        if let Some(n) = blocking {
            server = server.worker_max_blocking_threads(n);
        }
        tracing::info!(%bind, blocking = ?blocking, "listening");
        let outcome = server
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?
            .run()
            .await;
        drop(state);
        outcome.map_err(|e| e.to_string())
    });
    writer.join();
    result
}
