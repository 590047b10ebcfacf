//! The checks that stop start-up: every value in range, named by its key.

use std::net::SocketAddr;

use super::{ConfigError, Settings};

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if let Err(e) = crate::db::DbUrl::parse(&self.database.url) {
            return bad("database.url", &e);
        }
        let env = |k: &str| std::env::var(k).ok();
        if !self.database.allow_plaintext && !postgres_link_is_safe(&self.database.url, &env) {
            return bad(
                "database.url",
                "a PostgreSQL server on another machine needs sslmode=verify-full (or verify-ca) in the URL or PGSSLMODE, so that the connection is encrypted and the server's certificate checked; set database.allow_plaintext = true to accept an unchecked connection knowingly",
            );
        }
        if self.database.pool_size == 0 {
            return bad("database.pool_size", "must be at least 1");
        }
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return bad("server.bind", "must be an address and port such as 127.0.0.1:8080");
        }
        if self.server.json_limit_bytes < 1024 {
            return bad("server.json_limit_bytes", "must be at least 1024");
        }
        if !self.server.public_url.starts_with("http://") && !self.server.public_url.starts_with("https://") {
            return bad("server.public_url", "must start with http:// or https://");
        }
        if self.auth.session_idle_minutes < 1 || self.auth.session_absolute_hours < 1 {
            return bad("auth.session_idle_minutes", "session lifetimes must be positive");
        }
        if self.auth.lockout_threshold < 1 || self.auth.lockout_minutes < 1 {
            return bad(
                "auth.lockout_threshold",
                "lockout threshold and duration must be positive",
            );
        }
        if self.auth.api_token_max_days < 1 {
            return bad("auth.api_token_max_days", "must be at least 1");
        }
        if self.audit.batch_size == 0 || self.audit.flush_interval_ms == 0 {
            return bad("audit.batch_size", "batch size and flush interval must be positive");
        }
        let role = &self.database.app_role;
        let plain = |b: u8| b.is_ascii_lowercase() || b == b'_';
        if !role.is_empty()
            && (role.len() > 63
                || !role.bytes().next().is_some_and(plain)
                || !role.bytes().all(|b| plain(b) || b.is_ascii_digit()))
        {
            return bad(
                "database.app_role",
                "a PostgreSQL role name of lower-case letters, digits and _ (not starting with a digit)",
            );
        }
        if self.audit.seal_grace_seconds > 86_400 {
            return bad("audit.seal_grace_seconds", "at most 86400 (a day)");
        }
        if self.retention.inactive_person_years < 0 || self.retention.batch_size < 1 {
            return bad(
                "retention.inactive_person_years",
                "years must be 0 or more and the batch size positive",
            );
        }
        if !(0..=36_500).contains(&self.retention.ended_session_days) {
            return bad("retention.ended_session_days", "must be from 0 (off) to 36500");
        }
        if !(0..=8_760).contains(&self.retention.run_every_hours) {
            return bad("retention.run_every_hours", "must be from 0 (off) to 8760");
        }
        if !(0..=100).contains(&self.retention.rights_request_years) {
            return bad("retention.rights_request_years", "must be from 0 (off) to 100");
        }
        if !(0..=36_500).contains(&self.retention.uncommitted_import_days) {
            return bad("retention.uncommitted_import_days", "must be from 0 (off) to 36500");
        }
        let limits = [
            ("privacy.exports_per_hour", self.privacy.exports_per_hour),
            ("imports.uploads_per_hour", self.imports.uploads_per_hour),
            ("campaigns.test_sends_per_hour", self.campaigns.test_sends_per_hour),
        ];
        if let Some((key, _)) = limits.iter().find(|(_, n)| *n < 0) {
            return bad(key, "must be 0 (no limit) or more");
        }
        if !(0..=36_500).contains(&self.retention.import_report_days) {
            return bad("retention.import_report_days", "must be from 0 (off) to 36500");
        }
        if !self.privacy.hash_key.is_empty() && self.privacy.hash_key.len() < 32 {
            return bad("privacy.hash_key", "use at least 32 characters of secret");
        }
        let m = &self.matching;
        if !(0.0..=1.0).contains(&m.review_threshold)
            || !(0.0..=1.0).contains(&m.link_threshold)
            || m.review_threshold > m.link_threshold
        {
            return bad(
                "matching.link_threshold",
                "thresholds are probabilities with review_threshold ≤ link_threshold",
            );
        }
        if !matches!(
            m.survivorship.as_str(),
            "most_recent" | "most_complete" | "most_trusted"
        ) {
            return bad(
                "matching.survivorship",
                "use most_recent, most_complete or most_trusted",
            );
        }
        if m.max_candidates < 1 {
            return bad("matching.max_candidates", "must be at least 1");
        }
        if self.auth.session_cache_secs > 60 {
            return bad(
                "auth.session_cache_secs",
                "must be at most 60 (a revoked session must stop working soon)",
            );
        }
        let named = self
            .auth
            .mfa_required_roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if let Some(unknown) = named.clone().find(|r| crate::service::Role::parse(r).is_none()) {
            return bad(
                "auth.mfa_required_roles",
                &format!("{unknown:?} is not a role (comma-separated role identifiers, or empty)"),
            );
        }
        let key = &self.auth.totp_key;
        if !key.is_empty() && key.chars().count() < 32 {
            return bad("auth.totp_key", "at least 32 characters (or empty)");
        }
        if !(1..=720).contains(&self.auth.invitation_hours) {
            return bad("auth.invitation_hours", "must be from 1 to 720");
        }
        let issuer = self.auth.totp_issuer.trim();
        if issuer.is_empty() || issuer.len() > 60 || issuer.contains(':') {
            return bad("auth.totp_issuer", "must be 1-60 characters without a colon");
        }
        if self.imports.max_upload_bytes < 1024 {
            return bad("imports.max_upload_bytes", "must be at least 1024");
        }
        if self.imports.sweep_interval_secs < 1 {
            return bad("imports.sweep_interval_secs", "must be at least 1");
        }
        if self.journeys.min_count < 2 {
            return bad(
                "journeys.min_count",
                "must be at least 2 (1 would publish counts of single people)",
            );
        }
        if !(1..=3660).contains(&self.journeys.default_period_days) {
            return bad("journeys.default_period_days", "must be between 1 and 3660");
        }
        let c = &self.campaigns;
        if !matches!(c.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            return bad("campaigns.smtp_tls", "must be \"starttls\", \"tls\" or \"none\"");
        }
        // Mail to people (and the relay's password) never crosses a network in clear: no TLS is
        // for a relay on this machine only.
        if c.smtp_tls == "none" && !c.smtp_host.is_empty() && !is_loopback_host(&c.smtp_host) {
            return bad(
                "campaigns.smtp_tls",
                "\"none\" is only allowed for a relay on this machine (localhost, 127.0.0.1 or ::1); use \"starttls\" or \"tls\"",
            );
        }
        if !c.smtp_host.is_empty() && !c.from_address.contains('@') {
            return bad(
                "campaigns.from_address",
                "must be an email address when smtp_host is set",
            );
        }
        if !(c.public_base_url.starts_with("https://") || c.public_base_url.starts_with("http://")) {
            return bad(
                "campaigns.public_base_url",
                "must start with https:// (or http:// for local use)",
            );
        }
        if c.max_attempts < 1 || c.batch_size < 1 || c.claim_secs < 10 || c.smtp_pool_size < 1 {
            return bad(
                "campaigns",
                "max_attempts, batch_size and smtp_pool_size must be at least 1, claim_secs at least 10",
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format", "must be \"text\" or \"json\"");
        }
        Ok(())
    }
}

/// A host name or address that can only be this machine.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a database URL reaches PostgreSQL safely: anything but PostgreSQL, a server on this
/// machine (loopback or a Unix socket), or a TLS connection that checks the server's certificate
/// (`sslmode` `verify-full` or `verify-ca`, in the URL or libpq's `PGSSLMODE`). `env` reads
/// libpq's environment (`PGHOST`, `PGSSLMODE`).
pub(super) fn postgres_link_is_safe(url: &str, env: &dyn Fn(&str) -> Option<String>) -> bool {
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return true;
    };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let sslmode = param("sslmode").or_else(|| env("PGSSLMODE")).unwrap_or_default();
    if matches!(sslmode.as_str(), "verify-full" | "verify-ca") {
        return true;
    }
    let authority = before_query.split('/').next().unwrap_or_default();
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let hosts = if hosts.is_empty() {
        param("host").or_else(|| env("PGHOST")).unwrap_or_default()
    } else {
        hosts.to_string()
    };
    hosts.split(',').all(|h| {
        let h = h.trim();
        // A Unix socket's directory, or nothing (libpq's default socket).
        if h.is_empty() || h.starts_with('/') || h.starts_with("%2F") || h.starts_with("%2f") {
            return true;
        }
        let host = match h.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => h.rsplit_once(':').map_or(h, |(host, _port)| host),
        };
        is_loopback_host(host)
    })
}
