//! Settings: layering, typing and the checks that stop start-up.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Sources {
    Sources {
        file: None,
        env: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

#[test]
fn defaults_load() {
    let s = Settings::from_sources(&Sources::default()).unwrap();
    assert_eq!(s.server.bind, "127.0.0.1:8080");
    assert!(s.database.url.starts_with("sqlite://"));
}

#[test]
fn environment_overrides_with_types() {
    let s = Settings::from_sources(&env(&[
        ("LIGHTHOUSE__SERVER__BIND", "0.0.0.0:9000"),
        ("LIGHTHOUSE__DATABASE__POOL_SIZE", "3"),
        ("DATABASE_URL", "postgres://localhost/x"),
    ]))
    .unwrap();
    assert_eq!(s.server.bind, "0.0.0.0:9000");
    assert_eq!(s.database.pool_size, 3);
    assert_eq!(s.database.url, "postgres://localhost/x");
}

#[test]
fn errors_name_the_key() {
    let e = Settings::from_sources(&env(&[("LIGHTHOUSE__SERVER__BINDD", "x")])).unwrap_err();
    assert!(e.to_string().contains("server.bindd"), "{e}");
    let e = Settings::from_sources(&env(&[("LIGHTHOUSE__DATABASE__POOL_SIZE", "many")])).unwrap_err();
    assert!(e.to_string().contains("database.pool_size"), "{e}");
    let e = Settings::from_sources(&env(&[("LIGHTHOUSE__SERVER__BIND", "nowhere")])).unwrap_err();
    assert!(e.to_string().contains("server.bind"), "{e}");
    let e = Settings::from_sources(&env(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
    assert!(e.to_string().contains("database.url"), "{e}");
}

#[test]
fn env_file_syntax() {
    let m = parse_env_file("# c\nA=1\nexport B=\"two\"\n\nC='3'\n", "f").unwrap();
    assert_eq!(m["A"], "1");
    assert_eq!(m["B"], "two");
    assert_eq!(m["C"], "3");
    assert!(parse_env_file("nonsense", "f").is_err());
}

#[test]
fn smtp_without_tls_only_for_a_relay_on_this_machine() {
    let with = |host: &str| {
        Settings::from_sources(&env(&[
            ("LIGHTHOUSE__CAMPAIGNS__SMTP_TLS", "none"),
            ("LIGHTHOUSE__CAMPAIGNS__SMTP_HOST", host),
            ("LIGHTHOUSE__CAMPAIGNS__FROM_ADDRESS", "news@example.org"),
        ]))
    };
    for host in ["localhost", "127.0.0.1", "127.0.0.53", "::1", "[::1]"] {
        assert!(with(host).is_ok(), "{host}");
    }
    for host in ["smtp.example.org", "10.0.0.5", "192.168.1.2", "localhost.example.org"] {
        let e = with(host).unwrap_err();
        assert!(e.to_string().contains("campaigns.smtp_tls"), "{host}: {e}");
    }
}

#[test]
fn postgres_on_another_machine_needs_a_checked_tls_connection() {
    use super::validate::postgres_link_is_safe;
    let none = |_: &str| None;
    for url in [
        "sqlite://data/x.db",
        "postgres://u@127.0.0.1:5432/db",
        "postgres://u@localhost/db",
        "postgresql://u:p@[::1]:5432/db",
        "postgres:///db",
        "postgres:///db?host=/var/run/postgresql",
        "postgres://u@db.internal:5432/db?sslmode=verify-full",
        "postgres://u@db.internal/db?connect_timeout=5&sslmode=verify-ca",
    ] {
        assert!(postgres_link_is_safe(url, &none), "{url}");
    }
    for url in [
        "postgres://u@db.internal:5432/db",
        "postgres://u@db.internal:5432/db?sslmode=require",
        "postgres://u@10.0.0.5/db?sslmode=prefer",
        "postgres://u@127.0.0.1,db.internal/db",
        "postgres:///db?host=db.internal",
    ] {
        assert!(!postgres_link_is_safe(url, &none), "{url}");
    }
    // libpq's environment counts.
    let verified = |k: &str| (k == "PGSSLMODE").then(|| "verify-full".to_string());
    assert!(postgres_link_is_safe("postgres://u@db.internal/db", &verified));
    let remote = |k: &str| (k == "PGHOST").then(|| "db.internal".to_string());
    assert!(!postgres_link_is_safe("postgres:///db", &remote));
    // Start-up stops, unless told to accept it.
    let e = Settings::from_sources(&env(&[("DATABASE_URL", "postgres://u@db.internal:5432/db")])).unwrap_err();
    assert!(e.to_string().contains("sslmode=verify-full"), "{e}");
    assert!(Settings::from_sources(&env(&[
        ("DATABASE_URL", "postgres://u@db.internal:5432/db"),
        ("LIGHTHOUSE__DATABASE__ALLOW_PLAINTEXT", "true"),
    ]))
    .is_ok());
}
