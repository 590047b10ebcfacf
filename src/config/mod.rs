//! Typed settings, layered: the compiled-in `config/default.toml`, an optional file, an optional
//! environment file, then `LIGHTHOUSE__SECTION__KEY` variables and `DATABASE_URL`.
//!
//! Policy: every setting has a documented default in `config/default.toml`; an unknown key, a
//! value of the wrong type or an out-of-range value stops start-up with a message that names the
//! key and where it came from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

mod layers;
mod validate;

use self::layers::{merge, parse_env_file, set_from_env, set_value};

const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "LIGHTHOUSE__";

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the data lives.
    pub database: DatabaseSettings,
    /// The HTTP server.
    pub server: ServerSettings,
    /// Sign-in and sessions.
    pub auth: AuthSettings,
    /// The audit writer.
    pub audit: AuditSettings,
    /// Logging.
    pub log: LogSettings,
    /// Keyed hashing of contact points.
    pub privacy: PrivacySettings,
    /// Retention rules.
    pub retention: RetentionSettings,
    /// Identity resolution.
    pub matching: MatchingSettings,
    /// Bulk imports.
    pub imports: ImportSettings,
    /// Journey analytics.
    pub journeys: JourneySettings,
    /// Campaigns and the mail they send.
    pub campaigns: CampaignSettings,
}

/// `[campaigns]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSettings {
    /// A campaign to more people than this needs a second person's approval.
    pub approval_threshold: i64,
    /// SMTP host; empty = sending disabled (messages stay queued).
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_tls: String,
    /// SMTP user name (empty = no authentication).
    pub smtp_username: String,
    /// SMTP password.
    pub smtp_password: String,
    /// SMTP connections kept open per instance.
    pub smtp_pool_size: u32,
    /// SMTP timeout in seconds.
    pub smtp_timeout_secs: u64,
    /// The From and envelope address.
    pub from_address: String,
    /// Base URL of this service as people reach it (unsubscribe links).
    pub public_base_url: String,
    /// Optional mailto address for List-Unsubscribe.
    pub unsubscribe_mailto: String,
    /// Messages per second per instance (0 = no limit).
    pub rate_per_second: u32,
    /// Attempts before a message fails.
    pub max_attempts: i32,
    /// First retry delay in seconds (doubles each attempt).
    pub retry_base_secs: i64,
    /// Sending threads inside `serve` (0 = none).
    pub workers: usize,
    /// Messages claimed per round.
    pub batch_size: i64,
    /// How long a claim lasts before another worker may take the message over, in seconds.
    pub claim_secs: i64,
    /// Test messages one user may send in an hour (0 = no limit).
    pub test_sends_per_hour: i64,
}

/// `[journeys]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneySettings {
    /// Counts of people below this are published as "<k" (small-count suppression).
    pub min_count: u64,
    /// Default period of an analytic when the request gives none, in days back from now.
    pub default_period_days: i64,
}

/// `[imports]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// Sweeper interval in seconds.
    pub sweep_interval_secs: u64,
    /// Uploads one user may make in an hour (0 = no limit).
    pub uploads_per_hour: i64,
}

/// `[matching]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingSettings {
    /// Automatic link threshold (probability).
    pub link_threshold: f64,
    /// Review threshold (probability).
    pub review_threshold: f64,
    /// Survivorship rule.
    pub survivorship: String,
    /// Candidates per record.
    pub max_candidates: i64,
}

/// `[privacy]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// Secret for contact-point hashes; empty = generated and kept in the database.
    pub hash_key: String,
    /// Subject access exports one user may make in an hour (0 = no limit).
    pub exports_per_hour: i64,
}

/// `[retention]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Erase people inactive for this many years (0 = off).
    pub inactive_person_years: i64,
    /// People per transaction.
    pub batch_size: i64,
    /// Delete the file of an import not committed for this many days (0 = off).
    pub uncommitted_import_days: i64,
    /// Clear the row reports (messages, external ids) of imports finished this many days ago (0 = off).
    pub import_report_days: i64,
    /// Anonymise data-protection requests closed this many years ago (0 = off).
    pub rights_request_years: i64,
    /// Delete sessions and API tokens this many days after they expired or were ended (0 = off).
    pub ended_session_days: i64,
    /// `serve` runs the rules on its own this often, one instance at a time (0 = only
    /// `lighthouse retention`).
    pub run_every_hours: i64,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH`, a file path, or `postgres://…`.
    pub url: String,
    /// Pool size per instance.
    pub pool_size: u32,
    /// Seconds to wait for a pooled connection.
    pub connect_timeout_secs: u64,
    /// SQLite lock wait, in milliseconds.
    pub busy_timeout_ms: u64,
    /// PostgreSQL: vacuum the engagement ledger after this many events logged (0 = never).
    #[serde(default = "default_vacuum_every_events")]
    pub vacuum_every_events: u64,
    /// Accept a PostgreSQL server on another machine without a TLS connection that checks its
    /// certificate.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// PostgreSQL: the role the service runs as when it does not own the tables. Every migration
    /// run grants it what the service needs, and no more on the audit tables than reading and
    /// adding rows. Empty: the service runs as the owner.
    #[serde(default)]
    pub app_role: String,
    /// Apply pending migrations when a command opens the database. False: stop instead if any
    /// is pending (`lighthouse migrate` applies them), so the service can run as `app_role`.
    #[serde(default = "default_true")]
    pub migrate_on_start: bool,
}

fn default_true() -> bool {
    true
}

fn default_vacuum_every_events() -> u64 {
    crate::db::maintenance::VACUUM_EVERY
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address.
    pub bind: String,
    /// Worker threads (0 = cores).
    pub workers: usize,
    /// Threads per worker that run requests' database work (0 = chosen for the backend; see
    /// `blocking_threads` in `src/main.rs`).
    #[serde(default)]
    pub blocking_threads: usize,
    /// Largest JSON body.
    pub json_limit_bytes: usize,
    /// Public base URL.
    pub public_url: String,
    /// Serve the OpenAPI document.
    pub openapi: bool,
    /// Serve `/metrics`.
    pub metrics: bool,
    /// Serve the web client's files from this folder instead of the copies built into the
    /// binary (for working on the client without rebuilding); empty = built in.
    #[serde(default)]
    pub web_dir: String,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Idle timeout in minutes.
    pub session_idle_minutes: i64,
    /// Absolute session lifetime in hours.
    pub session_absolute_hours: i64,
    /// Failed sign-ins before lockout.
    pub lockout_threshold: i32,
    /// Lockout duration in minutes.
    pub lockout_minutes: i64,
    /// Longest API token lifetime in days.
    pub api_token_max_days: i64,
    /// Concurrent password hashes (0 = cores).
    pub max_concurrent_hashes: usize,
    /// Seconds an authenticated session is remembered per instance (0 = always ask the database).
    pub session_cache_secs: u64,
    /// Roles (comma-separated identifiers) that cannot sign in without a second factor (TOTP).
    pub mfa_required_roles: String,
    /// The issuer an authenticator app shows beside the account.
    pub totp_issuer: String,
    /// Hours an invitation link works for.
    pub invitation_hours: i64,
    /// Key TOTP secrets are encrypted with (at least 32 characters; empty: stored unencrypted).
    #[serde(default)]
    pub totp_key: String,
}

impl AuthSettings {
    /// The key TOTP secrets are stored under.
    pub fn totp_key(&self) -> crate::service::auth::totp_store::TotpKey {
        crate::service::auth::totp_store::TotpKey::from_setting(&self.totp_key)
    }

    /// The roles that require a second factor.
    pub fn mfa_roles(&self) -> Vec<crate::service::Role> {
        crate::service::authz::parse_roles(&self.mfa_required_roles)
    }
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Flush interval of the read-audit writer, in milliseconds.
    pub flush_interval_ms: u64,
    /// Largest batch written at once.
    pub batch_size: usize,
    /// How often `serve` seals the audit log into its hash chain, in seconds (0: only when asked).
    pub seal_every_seconds: u64,
    /// On PostgreSQL, events younger than this (seconds) wait for the next seal (0: none). The
    /// chain is sound without it: a seal covers only ids no open transaction can still commit
    /// below (see `db::audit_seals::settled_up_to`).
    pub seal_grace_seconds: u64,
}

impl AuditSettings {
    /// `seal_grace_seconds` as a duration (at most a day: see the validation).
    pub fn seal_grace(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.seal_grace_seconds.min(86_400)).unwrap_or(86_400))
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// Tracing filter.
    pub level: String,
}

/// A configuration problem, naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Where the layers come from; `Settings::load` reads the real process environment.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// An optional TOML file layered over the defaults.
    pub file: Option<std::path::PathBuf>,
    /// Environment variables (already merged with the environment file).
    pub env: BTreeMap<String, String>,
}

impl Settings {
    /// Load settings from the defaults, `config_file`, the environment file and the environment.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let env_file = std::env::var("LIGHTHOUSE_ENV_FILE").ok();
        let env_path = env_file.as_deref().unwrap_or(".env");
        match std::fs::read_to_string(env_path) {
            Ok(text) => env.extend(parse_env_file(&text, env_path)?),
            Err(e) if env_file.is_some() => {
                return Err(ConfigError(format!("cannot read the environment file {env_path}: {e}")))
            }
            Err(_) => {}
        }
        env.extend(std::env::vars());
        let file = config_file
            .map(Path::to_path_buf)
            .or_else(|| env.get("LIGHTHOUSE_CONFIG").map(Into::into));
        Settings::from_sources(&Sources { file, env })
    }

    /// Build settings from explicit sources (used by `load` and by tests).
    pub fn from_sources(sources: &Sources) -> Result<Settings, ConfigError> {
        let mut table: Table = DEFAULTS
            .parse()
            .map_err(|e| ConfigError(format!("the built-in defaults do not parse: {e}")))?;
        if let Some(path) = &sources.file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
            let layer: Table = text
                .parse()
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
            merge(&mut table, layer, &path.display().to_string())?;
        }
        for (name, value) in &sources.env {
            if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                set_from_env(&mut table, name, key, value)?;
            }
        }
        if let Some(url) = sources.env.get("DATABASE_URL").filter(|u| !u.is_empty()) {
            set_value(&mut table, &["database", "url"], Value::String(url.clone()));
        }
        let settings: Settings = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(e.message().to_string()))?;
        settings.validate()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests;
