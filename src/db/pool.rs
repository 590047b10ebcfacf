//! Connection URLs, the r2d2 connection manager and migrations.
//!
//! The manager establishes connections itself (instead of diesel's generic `establish`) so that
//! a failure names the real problem: the unsupported scheme, the unreachable host, the SQLite
//! file that cannot be created.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConn;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Whether the warning that `lc_messages` could not be set was logged (once a process).
static LC_MESSAGES_WARNED: AtomicBool = AtomicBool::new(false);

/// A pool of connections to one database.
pub type DbPool = r2d2::Pool<ConnectionManager>;

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `postgres://` or `postgresql://` URL, kept verbatim for libpq.
    Postgres(String),
    /// A SQLite database file.
    Sqlite(PathBuf),
}

impl DbUrl {
    /// Parse a database URL: `postgres://…`, `postgresql://…`, `sqlite://PATH`, `sqlite:PATH` or a
    /// plain file path. Any other scheme is refused, so a typo never creates an empty SQLite file.
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("the database URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if rest.is_empty() {
                return Err("the SQLite URL names no file (expected sqlite://PATH)".into());
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(rest)));
        }
        if let Some(scheme) = scheme_of(url) {
            return Err(format!(
                "unsupported database URL scheme `{scheme}:` (expected postgres://, postgresql://, sqlite:// or a file path)"
            ));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(url)))
    }

    /// A description safe to log: the password of a PostgreSQL URL is hidden.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(u) => redact_password(u),
        }
    }
}

/// The scheme of `s` when it looks like `scheme:` (letters, digits, `+`, `-`, `.`), else `None`.
fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    // A one-letter "scheme" is a Windows drive letter, not a URL scheme.
    let looks_like_scheme = first.is_ascii_alphabetic()
        && scheme.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    looks_like_scheme.then_some(scheme)
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// Process-wide SQLite settings, made once before the first connection opens.
///
/// SQLite keeps memory statistics by default, and each of its allocations then takes one mutex
/// shared by every connection in the process; nothing here reads those statistics, and under a
/// load of concurrent reads the lock costs a tenth of the CPU time. The library is also put in
/// its multi-thread mode: a connection is used by one thread at a time (the pool lends each to
/// one borrower), so the mutex SQLite's default serialised mode takes around every call on a
/// connection protects nothing here.
fn configure_sqlite_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` is called before this process opens any SQLite connection
        // (every connection is opened here, after this) with an option that takes one int. Had
        // the library been initialised already, it answers SQLITE_MISUSE and changes nothing.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int)
        };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics could not be turned off");
        }
        // SAFETY: as above; this option takes no argument.
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite's multi-thread mode could not be set");
        }
    });
}

/// SQLite settings applied to every new connection.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// How long a writer waits for the lock before giving up.
    pub busy_timeout: Duration,
}

/// Creates connections for the pool and reports failures in plain words.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DbUrl,
    sqlite: SqliteOptions,
    /// Lives as long as the pool that owns this manager: the SQLite checkpoint thread stops when
    /// it is gone.
    alive: Arc<()>,
}

/// A connection failure, with the message an operator needs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

impl ConnectionManager {
    /// A manager for `url`.
    pub fn new(url: DbUrl, sqlite: SqliteOptions) -> Self {
        ConnectionManager {
            url,
            sqlite,
            alive: Arc::new(()),
        }
    }

    fn connect_sqlite(&self, path: &Path) -> Result<DbConn, ConnectError> {
        configure_sqlite_library();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ConnectError(format!(
                    "cannot create the directory {} for the SQLite database: {e}",
                    dir.display()
                ))
            })?;
        }
        let path_str = path
            .to_str()
            .ok_or_else(|| ConnectError("the SQLite path is not valid UTF-8".into()))?;
        let mut conn = SqliteConnection::establish(path_str)
            .map_err(|e| ConnectError(format!("cannot open the SQLite database {}: {e}", path.display())))?;
        let pragmas = format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA busy_timeout = {}; PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY; \
             PRAGMA cache_size = -65536; PRAGMA mmap_size = 2147418112; \
             PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};",
            self.sqlite.busy_timeout.as_millis()
        );
        conn.batch_execute(&pragmas).map_err(|e| {
            ConnectError(format!(
                "cannot configure the SQLite database {} (is it a SQLite file?): {e}",
                path.display()
            ))
        })?;
        Ok(DbConn::Sqlite(conn))
    }

    fn connect_pg(&self, url: &str) -> Result<DbConn, ConnectError> {
        init_tls();
        let mut conn = PgConnection::establish(url).map_err(|e| {
            ConnectError(format!(
                "cannot connect to PostgreSQL at {}: {}",
                self.url.redacted(),
                e.to_string().trim()
            ))
        })?;
        // Server messages in English whatever the server's language: a cancelled deadlock is
        // told apart by its message ("deadlock detected"; diesel does not pass SQLSTATE 40P01 on),
        // and answered 503 instead of 500. Only a superuser, or a role granted `SET` on the
        // parameter (PostgreSQL 15+), may change it; anyone else keeps the server's language.
        if conn.batch_execute("SET lc_messages TO 'C'").is_err() && !LC_MESSAGES_WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "PostgreSQL would not set lc_messages for this role: on a server not set to English, a cancelled deadlock answers 500 instead of 503 (see the README)"
            );
        }
        Ok(DbConn::Pg(conn))
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConn, ConnectError> {
        match &self.url {
            DbUrl::Sqlite(path) => self.connect_sqlite(path),
            DbUrl::Postgres(url) => self.connect_pg(url),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectError(format!("connection check failed: {e}")))
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::connection::TransactionManager;
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Initialise OpenSSL, which libpq uses, without its clean-up at exit. By default OpenSSL frees its
/// locks in an `atexit` handler; a pool thread still opening or closing a PostgreSQL connection
/// as the process ends then takes a freed lock and the process dies with SIGSEGV (seen in the
/// test suite and the CLI: `pthread_rwlock_rdlock` on a null lock in an `r2d2-worker` thread,
/// after every test had passed). Must run before the first PostgreSQL connection; runs once.
pub fn init_tls() {
    openssl_sys::init();
}

/// The WAL size (in 4 KB pages) past which a committing connection checkpoints the WAL itself
/// (SQLite's own default, 1,000 pages, would make every large write transaction copy its pages
/// into the database before it returns). The checkpoint thread copies the pages meanwhile, but
/// the WAL can only start over between write transactions, which back-to-back import chunks
/// never leave time for; so during an import the WAL grows to this size, and the writer's
/// checkpoint (with its `fsync`) comes once per gigabyte rather than every other chunk (the
/// 100,000-row import benchmark's commit: 77 s at 128 MB, 73 s at 512 MB, 66 s at 1 GB).
const WRITER_CHECKPOINT_PAGES: u32 = 262_144;

/// The WAL file size past which the checkpoint thread, once everything is copied and nothing is
/// being written, truncates the file: a long import grows it towards
/// [`WRITER_CHECKPOINT_PAGES`] and SQLite otherwise keeps the file at its largest. (Not SQLite's
/// `journal_size_limit`, which cuts the file every time the WAL starts over, so that an import's
/// next chunks allocate its blocks again: that cost the import benchmark's commit 10–25 %.)
const WAL_KEEP_BYTES: u64 = 64 * 1024 * 1024;

/// How long the WAL must have been quiet (nothing committed, everything copied) before the
/// checkpoint thread truncates it: an import's pauses between transactions are far shorter, and
/// a file cut in such a pause is only allocated again by the next transaction.
const WAL_QUIET_BEFORE_TRUNCATE: Duration = Duration::from_secs(2);

/// The WAL length (in frames) past which the checkpoint thread makes the WAL start over
/// (`wal_checkpoint(RESTART)`). Under writes that never pause — two clients logging batches back
/// to back — a passive checkpoint never finds every frame copied at the moment a writer begins, so
/// SQLite never starts the WAL over and the file grows without bound (4 GB in a 500,000-event
/// bulk-logging run), every frame then extending the file: the kernel zeroed page-cache pages for
/// each (a quarter of the server's CPU in a profile). A restart holds new writers back only while
/// it copies what the passive passes left (one transaction or so) and the readers move on.
const RESTART_FRAMES: i32 = 65_536;

/// How long the restart may keep trying for the write lock and for the readers to move on.
const RESTART_WITHIN: Duration = Duration::from_secs(2);

/// The longest the checkpoint thread sleeps when there was nothing to copy.
const CHECKPOINT_IDLE_MAX: Duration = Duration::from_millis(250);

/// How many WAL restarts are waiting for the write lock (in this process). Writers give way while
/// one is ([`restart_waiting`]): a restart needs one gap between write transactions, and writers
/// that follow each other at once leave almost none. Per process, not per database: the service
/// opens one database (several test databases in one process only wait the same short while).
static RESTARTS_WAITING: AtomicUsize = AtomicUsize::new(0);

/// Whether a WAL restart is waiting for the write lock: a writer about to begin lets it go first.
pub fn restart_waiting() -> bool {
    RESTARTS_WAITING.load(Ordering::Relaxed) > 0
}

/// Copy what is left of the WAL and make the next writer start it over (see [`RESTART_FRAMES`]).
fn restart_wal(conn: &mut SqliteConnection) {
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            RESTARTS_WAITING.fetch_sub(1, Ordering::Relaxed);
        }
    }
    RESTARTS_WAITING.fetch_add(1, Ordering::Relaxed);
    let _waiting = Waiting;
    if let Err(e) = checkpoint_until(conn, "RESTART", RESTART_WITHIN) {
        tracing::debug!(error = %e, "restarting the WAL failed");
    }
}

/// What `PRAGMA wal_checkpoint` answers.
#[derive(diesel::QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// Copy the WAL's committed pages into a SQLite database from a thread of its own, so that a
/// writer's commit is not followed by that copy on the writer's own thread (with SQLite's default
/// every write transaction larger than 4 MB paid for it before returning). A passive checkpoint
/// never blocks readers or the writer. The thread stops once the pool that `alive` belongs to is
/// gone.
fn spawn_checkpointer(path: PathBuf, alive: Weak<()>) {
    let run = move || {
        let Some(path_str) = path.to_str() else { return };
        let Ok(mut conn) = SqliteConnection::establish(path_str) else {
            return;
        };
        // No busy timeout: a passive checkpoint never waits anyway, and the truncation below is
        // only worth doing when it can be done at once; it must never hold up a writer.
        if conn.batch_execute("PRAGMA busy_timeout = 0;").is_err() {
            return;
        }
        let mut idle = Duration::from_millis(5);
        let mut last = (0, 0);
        let mut quiet_since = std::time::Instant::now();
        while alive.strong_count() > 0 {
            let done = diesel::RunQueryDsl::get_result::<CheckpointResult>(
                diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)"),
                &mut conn,
            );
            let now = match done {
                Ok(r) if r.busy == 0 => (r.log, r.checkpointed),
                Ok(_) => last,
                Err(e) => {
                    tracing::debug!(error = %e, "background checkpoint failed");
                    last
                }
            };
            if now != last {
                quiet_since = std::time::Instant::now();
            }
            if now.0 >= RESTART_FRAMES {
                restart_wal(&mut conn);
            }
            if now != last && now.1 > 0 {
                // Pages were copied: more may be waiting.
                idle = Duration::from_millis(5);
            } else {
                idle = (idle * 2).min(CHECKPOINT_IDLE_MAX);
                if now == last
                    && now.0 == now.1
                    && quiet_since.elapsed() >= WAL_QUIET_BEFORE_TRUNCATE
                    && wal_len(&path) > WAL_KEEP_BYTES
                {
                    // Quiet, and every page is in the database: give the space back. Without a
                    // busy timeout this gives up at once if a writer or a reader is in the way.
                    if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);") {
                        tracing::debug!(error = %e, "truncating the WAL failed");
                    }
                }
            }
            last = now;
            std::thread::sleep(idle);
        }
    };
    if let Err(e) = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(run) {
        tracing::warn!(error = %e, "cannot start the SQLite checkpoint thread; writers checkpoint themselves");
    }
}

/// Copy every page of a SQLite WAL into the database and cut the WAL file to nothing, so that no
/// old page image stays in it (erasure needs this). `PRAGMA wal_checkpoint(TRUNCATE)` does not
/// fail when another connection is checkpointing at that moment (the pool's checkpoint thread,
/// say): it answers `busy` and leaves the WAL as it was. So it is tried again until it has been
/// done, or `within` has passed; returns whether it was done.
pub fn truncate_wal(conn: &mut SqliteConnection, within: Duration) -> diesel::QueryResult<bool> {
    checkpoint_until(conn, "TRUNCATE", within)
}

/// Run `PRAGMA wal_checkpoint(mode)` (`RESTART` or `TRUNCATE`: both need the write lock and the
/// readers gone) until it is done or `within` has passed; returns whether it was done. It tries
/// again every millisecond rather than through SQLite's busy handler, which sleeps up to 100 ms
/// between tries and so misses the short gaps between back-to-back writers (who take turns the
/// same way, see `db::write_tx`); each try also copies what it can.
fn checkpoint_until(conn: &mut SqliteConnection, mode: &str, within: Duration) -> diesel::QueryResult<bool> {
    let deadline = std::time::Instant::now() + within;
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    loop {
        let r: CheckpointResult = diesel::RunQueryDsl::get_result(diesel::sql_query(&sql), conn)?;
        if r.busy == 0 {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The size of a SQLite database's WAL file (0 when there is none).
fn wal_len(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}

/// Open a pool: one connection is made first so that its error, if any, is reported as it is.
pub fn open(url: &DbUrl, size: u32, sqlite: SqliteOptions, timeout: Duration) -> Result<DbPool, ConnectError> {
    let manager = ConnectionManager::new(url.clone(), sqlite);
    let first = r2d2::ManageConnection::connect(&manager)?;
    drop(first);
    match url {
        DbUrl::Sqlite(path) if path.as_os_str() != ":memory:" => {
            spawn_checkpointer(path.clone(), Arc::downgrade(&manager.alive));
        }
        _ => {}
    }
    // A SQLite connection is a file handle that cannot go stale, so it is not pinged on every
    // check-out; a PostgreSQL connection can (server restart, idle timeout) and is.
    let ping = matches!(url, DbUrl::Postgres(_));
    r2d2::Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(1))
        .test_on_check_out(ping)
        .connection_timeout(timeout)
        .build(manager)
        .map_err(|e| ConnectError(format!("cannot build the connection pool: {e}")))
}

/// Migrations not yet applied to the database (all of them for an empty one), without changing
/// anything: for a service that runs as a role that may not change the schema.
///
/// (Not diesel's `MigrationHarness::pending_migrations`: it first creates the table of applied
/// migrations if missing, which a role without rights on the schema may not do.)
pub fn pending_migrations(conn: &mut DbConn) -> Result<Vec<String>, ConnectError> {
    use diesel::migration::MigrationSource;
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    fn versions<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Result<Vec<String>, ConnectError>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        Ok(MigrationSource::<DB>::migrations(source)
            .map_err(|e| ConnectError(format!("cannot read the migrations: {e}")))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    }
    let wanted = match conn {
        DbConn::Sqlite(_) => versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?,
        DbConn::Pg(_) => versions::<diesel::pg::Pg>(&PG_MIGRATIONS)?,
    };
    // No table of applied migrations: nothing is applied.
    let applied: Vec<Version> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations"),
        conn,
    )
    .unwrap_or_default();
    let applied: std::collections::HashSet<String> = applied.into_iter().map(|v| v.version).collect();
    Ok(wanted.into_iter().filter(|v| !applied.contains(v)).collect())
}

/// On PostgreSQL, give `role` what the service needs in the current schema: reading and writing
/// every table and sequence, but on the audit log (`audit_events`, `audit_event_targets`,
/// `audit_seals`) only reading and adding rows, and nothing but reading the migrations' table. Run
/// after every migration, so tables added later are covered. The role must exist.
fn grant_app_role(conn: &mut PgConnection, role: &str) -> Result<(), ConnectError> {
    #[derive(diesel::QueryableByName)]
    struct Schema {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let fail =
        |e: diesel::result::Error| ConnectError(format!("cannot grant database.app_role `{role}` its rights: {e}"));
    let schema: Schema =
        diesel::RunQueryDsl::get_result(diesel::sql_query("SELECT current_schema() AS name"), conn).map_err(fail)?;
    // Identifiers quoted: the role is checked to be a plain name (config validation), the schema
    // is the server's own.
    let s = format!("\"{}\"", schema.name.replace('"', "\"\""));
    let r = format!("\"{role}\"");
    conn.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA {s} TO {r}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}; \
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}; \
         REVOKE UPDATE, DELETE, TRUNCATE ON {s}.audit_events, {s}.audit_event_targets, {s}.audit_seals FROM {r}; \
         REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.__diesel_schema_migrations FROM {r};"
    ))
    .map_err(fail)
}

/// Apply pending migrations; returns the versions applied. On PostgreSQL an advisory lock keeps
/// several starting instances from migrating at once.
///
/// On PostgreSQL with an `app_role`, the role is then granted its rights ([`grant_app_role`]).
pub fn migrate(conn: &mut DbConn, app_role: &str) -> Result<Vec<String>, ConnectError> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| ConnectError(format!("migration failed: {e}"));
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(fail)?,
        DbConn::Pg(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7302115)")
                .map_err(|e| ConnectError(format!("cannot take the migration lock: {e}")))?;
            let result = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                .map_err(fail)
                .and_then(|applied| match app_role {
                    "" => Ok(applied),
                    role => grant_app_role(c, role).map(|()| applied),
                });
            let _ = c.batch_execute("SELECT pg_advisory_unlock(7302115)");
            return result;
        }
    };
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert!(matches!(DbUrl::parse("postgres://u@h/db"), Ok(DbUrl::Postgres(_))));
        assert!(matches!(DbUrl::parse("postgresql://h/db"), Ok(DbUrl::Postgres(_))));
        assert_eq!(
            DbUrl::parse("sqlite://data/x.db"),
            Ok(DbUrl::Sqlite(PathBuf::from("data/x.db")))
        );
        assert_eq!(DbUrl::parse("data/x.db"), Ok(DbUrl::Sqlite(PathBuf::from("data/x.db"))));
        let err = DbUrl::parse("postgress://h/db").unwrap_err();
        assert!(err.contains("postgress"), "{err}");
        assert!(DbUrl::parse("mysql://h/db").is_err());
        assert!(DbUrl::parse("").is_err());
        assert!(DbUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn password_is_redacted() {
        let url = DbUrl::parse("postgres://me:secret@host:5432/db").unwrap();
        assert_eq!(url.redacted(), "postgres://me:***@host:5432/db");
    }
}
