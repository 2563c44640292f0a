//! The per-environment keys for lock retries and TLS, and how the TLS
//! settings are resolved from the config, the URL and the PG* variables.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use retort::config::{Config, ConfigError, parse_config, resolve_connection};
use retort::db::{RootCert, SslMode};

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_config(Path::new("/srv/app/retort.toml"), text)
}

fn error_of(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(err) => err.to_string(),
    }
}

fn env_text(extra: &str) -> String {
    format!("[environments.dev]\nurl = \"postgres://u@h/d\"\n{extra}\n")
}

#[test]
fn retry_and_tls_keys_are_read() {
    let config = parse(&env_text(
        "lock_retries = 3\nlock_retry_backoff = \"250ms\"\nsslmode = \"verify-full\"\nsslrootcert = \"certs/root.pem\"",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let dev = &config.environments["dev"];
    assert_eq!(dev.lock_retries, 3);
    assert_eq!(dev.lock_retry_backoff, Duration::from_millis(250));
    assert_eq!(dev.sslmode, Some(SslMode::VerifyFull));
    // Relative to the config file's directory.
    assert_eq!(
        dev.sslrootcert,
        Some(RootCert::File(PathBuf::from("/srv/app/certs/root.pem")))
    );
}

#[test]
fn defaults_retry_nothing_and_leave_tls_to_the_connection() {
    let config = parse(&env_text("")).unwrap_or_else(|e| panic!("{e}"));
    let dev = &config.environments["dev"];
    assert_eq!(dev.lock_retries, 0);
    assert_eq!(dev.lock_retry_backoff, Duration::from_millis(500));
    assert_eq!((dev.sslmode, dev.sslrootcert.clone()), (None, None));
}

#[test]
fn bad_values_name_file_line_and_key() {
    let err = error_of(&env_text("lock_retries = -1"));
    assert_eq!(
        err,
        "/srv/app/retort.toml:3: environments.dev.lock_retries: expected a number of retries from 0 to 100, found -1"
    );
    let err = error_of(&env_text("lock_retries = 1000"));
    assert!(err.ends_with("from 0 to 100, found 1000"), "{err}");
    let err = error_of(&env_text("lock_retries = \"3\""));
    assert!(
        err.contains(
            "environments.dev.lock_retries: expected a number of retries such as 3, found string"
        ),
        "{err}"
    );
    let err = error_of(&env_text("\nlock_retry_backoff = \"soon\""));
    assert!(
        err.starts_with(
            "/srv/app/retort.toml:4: environments.dev.lock_retry_backoff: expected a duration"
        ),
        "{err}"
    );
    let err = error_of(&env_text("sslmode = \"verify\""));
    assert!(
        err.starts_with(
            "/srv/app/retort.toml:3: environments.dev.sslmode: invalid sslmode 'verify'"
        ),
        "{err}"
    );
    let err = error_of(&env_text("sslrootcert = \" \""));
    assert!(
        err.contains("environments.dev.sslrootcert: expected the path"),
        "{err}"
    );
    let err = error_of(&env_text("lock_retry = 2"));
    assert!(err.contains("did you mean 'lock_retries'?"), "{err}");
}

#[test]
fn verify_modes_in_urls_are_accepted_by_the_config() {
    let config = parse(
        "[environments.prod]\nurl = \"postgres://u@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let getenv = |_: &str| None;
    let settings = resolve_connection(None, None, &config, &getenv).unwrap();
    assert_eq!(settings.tls.mode, SslMode::VerifyFull);
    assert_eq!(
        settings.tls.root_cert,
        Some(RootCert::File(PathBuf::from("/etc/ca.pem")))
    );
    // tokio-postgres negotiates TLS as required; the checks are retort's.
    assert_eq!(
        settings.pg_config.get_ssl_mode(),
        tokio_postgres::config::SslMode::Require
    );
    let err = error_of("[environments.prod]\nurl = \"postgres://u:pw@h/d?sslmode=maybe\"\n");
    assert!(
        err.ends_with("environments.prod.url: invalid connection string: invalid value for `sslmode` (byte 20): expected disable, allow, prefer, require, verify-ca, verify-full"),
        "{err}"
    );
    assert!(!err.contains("pw@"), "{err}");
}

#[test]
fn environment_tls_applies_to_a_database_url_without_its_own() {
    let config = parse(&env_text(
        "sslmode = \"verify-ca\"\nsslrootcert = \"system\"",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let vars: HashMap<&str, &str> = [("DATABASE_URL", "postgres://u@other/d")].into();
    let getenv = |name: &str| vars.get(name).map(|v| v.to_string());
    let settings = resolve_connection(None, Some("dev"), &config, &getenv).unwrap();
    assert_eq!(settings.url_source, "DATABASE_URL");
    assert_eq!(settings.tls.mode, SslMode::VerifyCa);
    assert_eq!(settings.tls.root_cert, Some(RootCert::System));
    let vars: HashMap<&str, &str> =
        [("DATABASE_URL", "postgres://u@other/d?sslmode=disable")].into();
    let getenv = |name: &str| vars.get(name).map(|v| v.to_string());
    let settings = resolve_connection(None, Some("dev"), &config, &getenv).unwrap();
    assert_eq!(settings.tls.mode, SslMode::Disable);
    assert_eq!(
        settings.pg_config.get_ssl_mode(),
        tokio_postgres::config::SslMode::Disable
    );
}
