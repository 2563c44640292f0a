//! Which database to connect to, and with which session settings.
//!
//! Sources, first match wins: `--database-url`, `DATABASE_URL`, the chosen
//! environment of the config, the libpq `PG*` variables. The environment is
//! chosen by `-e NAME`, else `default_env`, else the only one defined; its
//! session settings (search_path, timeouts, protected) apply whichever
//! source supplies the connection string. Connection fields the string
//! leaves out (or leaves empty) are filled like libpq does: from `PGHOST`,
//! `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, then libpq's defaults; a
//! password still missing comes from libpq's password file. The connect
//! timeout comes from the string, the environment, `PGCONNECT_TIMEOUT`,
//! else [`DEFAULT_CONNECT_TIMEOUT`]. TLS settings come from
//! the connection string (`sslmode`, `sslrootcert`), else the environment's
//! keys of the same names, else `PGSSLMODE` / `PGSSLROOTCERT`, else `prefer`
//! without a root certificate, as libpq.

use super::conn_string::DEFAULT_PORT;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::config::Host;

use super::conn_string::{ConnString, parse_conn_string, timeout_of};
use super::conninfo::ParseProblem;
use super::pgpass::{Lookup, find_password, password_file};
use super::{Config, ConfigError, Environment, known_names};
use crate::db::os_user::os_user_name;
use crate::db::tls::{RootCert, SslMode, TlsSettings};

/// Where libpq looks for the server's socket by default on Debian-like systems.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// How long connecting may take when nothing else says: a server that
/// accepts the socket and never answers must not hang whoever is on call.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The resolved connection.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Where the connection string came from, for messages: `--database-url`,
    /// `DATABASE_URL`, `environment 'prod' (url)`,
    /// `environment 'prod' (url_env APP_DB)` or `libpq PG* variables`.
    pub url_source: String,
    pub pg_config: tokio_postgres::Config,
    /// The chosen environment, whose session settings apply.
    pub env: Option<Environment>,
    /// `user@host:port/db`, never the password.
    pub display: String,
    /// sslmode and root certificate; `pg_config`'s own ssl mode is set to
    /// the matching negotiation.
    pub tls: TlsSettings,
    /// What the user should know and nothing stopped (a password file
    /// ignored for its permissions); the front end shows them.
    pub warnings: Vec<String>,
}

/// Resolves the connection; `getenv` reads environment variables (tests pass
/// a map instead of touching the process environment).
pub fn resolve_connection(
    cli_url: Option<&str>,
    env_name: Option<&str>,
    config: &Config,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectionSettings, ConfigError> {
    let defaults = LibpqDefaults::detect(getenv);
    resolve_with_defaults(cli_url, env_name, config, getenv, &defaults)
}

/// libpq's fallbacks that depend on the machine, detected once.
struct LibpqDefaults {
    /// Unix socket directory, when it exists; otherwise `localhost`.
    socket_dir: Option<PathBuf>,
    os_user: Option<String>,
}

impl LibpqDefaults {
    fn detect(getenv: &dyn Fn(&str) -> Option<String>) -> LibpqDefaults {
        let socket_dir = Path::new(DEFAULT_SOCKET_DIR);
        LibpqDefaults {
            socket_dir: socket_dir.is_dir().then(|| socket_dir.to_path_buf()),
            os_user: os_user_name(getenv),
        }
    }
}

fn resolve_with_defaults(
    cli_url: Option<&str>,
    env_name: Option<&str>,
    config: &Config,
    getenv: &dyn Fn(&str) -> Option<String>,
    defaults: &LibpqDefaults,
) -> Result<ConnectionSettings, ConfigError> {
    let getenv = |name: &str| getenv(name).filter(|value| !value.is_empty());
    let env = choose_environment(env_name, config)?;
    let (url_source, url) = if let Some(url) = cli_url {
        ("--database-url".to_string(), Some(url.to_string()))
    } else if let Some(url) = getenv("DATABASE_URL") {
        ("DATABASE_URL".to_string(), Some(url))
    } else if let Some(env) = env {
        environment_url(env, &getenv)?
    } else if config.environments.len() > 1 {
        return Err(connection_error(format!(
            "several environments are configured ({}); choose one with -e NAME or set default_env",
            known_names(&config.environments)
        )));
    } else {
        ("libpq PG* variables".to_string(), None)
    };

    // The string is never quoted back: it may hold a password in a form
    // no pattern can find once the string is malformed.
    let parsed = match &url {
        Some(url) => parse_connection_string(url).map_err(|problem| {
            connection_error(format!(
                "{url_source}: invalid connection string: {problem}"
            ))
        })?,
        None => ConnString::default(),
    };
    let mut pg_config = parsed.pg_config.clone();
    apply_libpq_fallbacks(&mut pg_config, &getenv, defaults)?;
    let mut warnings = Vec::new();
    if pg_config.get_password().is_none()
        && let Some(password) = password_from_file(&pg_config, &parsed, &getenv, &mut warnings)
    {
        pg_config.password(password);
    }
    if let Some(limit) = connect_timeout(&parsed, env, &getenv)? {
        pg_config.connect_timeout(limit);
    }
    let tls = resolve_tls(&parsed, env, &getenv)?;
    pg_config.ssl_mode(tls.mode.negotiation());
    if pg_config.get_application_name().is_none() {
        // Lets a DBA spot retort's sessions in pg_stat_activity.
        pg_config.application_name("retort");
    }
    Ok(ConnectionSettings {
        url_source,
        display: describe_pg_config(&pg_config),
        pg_config,
        env: env.cloned(),
        tls,
        warnings,
    })
}

/// The password of the first matching line of libpq's password file, for
/// the first host (the one tried first).
fn password_from_file(
    pg_config: &tokio_postgres::Config,
    parsed: &ConnString,
    getenv: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let path = password_file(parsed.passfile.as_deref(), getenv)?;
    let host = match pg_config.get_hosts().first() {
        Some(host) => host_text(host),
        None => pg_config.get_hostaddrs().first()?.to_string(),
    };
    let user = pg_config.get_user()?;
    let lookup = Lookup {
        host: &host,
        port: pg_config
            .get_ports()
            .first()
            .copied()
            .unwrap_or(DEFAULT_PORT),
        database: pg_config.get_dbname().unwrap_or(user),
        user,
    };
    find_password(&path, &lookup, warnings)
}

/// `connect_timeout` of the connection string, else the environment's key,
/// else `PGCONNECT_TIMEOUT`, else [`DEFAULT_CONNECT_TIMEOUT`]; `None`: wait
/// as long as it takes (a timeout of zero).
fn connect_timeout(
    parsed: &ConnString,
    env: Option<&Environment>,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Duration>, ConfigError> {
    if let Some(limit) = parsed.connect_timeout {
        return Ok(limit);
    }
    if let Some(limit) = env.and_then(|e| e.connect_timeout) {
        return Ok((!limit.is_zero()).then_some(limit));
    }
    match getenv("PGCONNECT_TIMEOUT") {
        Some(text) => match text.trim().parse::<i64>() {
            Ok(seconds) => Ok(timeout_of(seconds)),
            Err(_) => Err(connection_error(
                "PGCONNECT_TIMEOUT: expected a whole number of seconds",
            )),
        },
        None => Ok(Some(DEFAULT_CONNECT_TIMEOUT)),
    }
}

/// Connection string first, then the environment's keys, then the
/// `PGSSL*` variables. A relative `sslrootcert` of a connection string or
/// variable is relative to the working directory, as for libpq.
fn resolve_tls(
    parsed: &ConnString,
    env: Option<&Environment>,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Result<TlsSettings, ConfigError> {
    let mode = match parsed.sslmode.or_else(|| env.and_then(|e| e.sslmode)) {
        Some(mode) => mode,
        None => match getenv("PGSSLMODE") {
            Some(text) => parse_ssl_mode(&text, "PGSSLMODE")?,
            None => SslMode::default(),
        },
    };
    let root_cert = match &parsed.sslrootcert {
        Some(text) => Some(RootCert::parse(text, Path::new(""))),
        None => env
            .and_then(|e| e.sslrootcert.clone())
            .or_else(|| getenv("PGSSLROOTCERT").map(|text| RootCert::parse(&text, Path::new("")))),
    };
    Ok(TlsSettings { mode, root_cert })
}

/// Parses a URL or key=value connection string; the problem names a byte
/// offset or a parameter and never quotes the string.
pub fn parse_connection_string(text: &str) -> Result<ConnString, ParseProblem> {
    parse_conn_string(text)
}

/// `-e NAME`, else `default_env`, else the only environment.
fn choose_environment<'c>(
    env_name: Option<&str>,
    config: &'c Config,
) -> Result<Option<&'c Environment>, ConfigError> {
    let Some(name) = env_name.or(config.default_env.as_deref()) else {
        let only = (config.environments.len() == 1)
            .then(|| config.environments.values().next())
            .flatten();
        return Ok(only);
    };
    match config.environments.get(name) {
        Some(env) => Ok(Some(env)),
        None => {
            let place = match &config.source {
                Some(file) => format!(" in {}", file.display()),
                None => " (no config file found)".to_string(),
            };
            Err(connection_error(format!(
                "unknown environment '{name}'{place}: {}",
                known_names(&config.environments)
            )))
        }
    }
}

fn environment_url(
    env: &Environment,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Option<String>), ConfigError> {
    if let Some(url) = &env.url {
        return Ok((
            format!("environment '{}' (url)", env.name),
            Some(url.clone()),
        ));
    }
    let Some(var) = &env.url_env else {
        return Err(connection_error(format!(
            "environment '{}' has neither url nor url_env",
            env.name
        )));
    };
    match getenv(var) {
        Some(url) => Ok((
            format!("environment '{}' (url_env {var})", env.name),
            Some(url),
        )),
        None => Err(connection_error(format!(
            "environment '{}': url_env names the variable {var}, which is not set",
            env.name
        ))),
    }
}

/// Fills what the connection string left out, in libpq's order:
/// the `PG*` variable, then the built-in default.
fn apply_libpq_fallbacks(
    pg_config: &mut tokio_postgres::Config,
    getenv: &dyn Fn(&str) -> Option<String>,
    defaults: &LibpqDefaults,
) -> Result<(), ConfigError> {
    if pg_config.get_hosts().is_empty() && pg_config.get_hostaddrs().is_empty() {
        match getenv("PGHOST") {
            Some(hosts) => hosts.split(',').for_each(|host| {
                pg_config.host(host.trim());
            }),
            None => match &defaults.socket_dir {
                Some(dir) => add_socket_dir(pg_config, dir),
                None => {
                    pg_config.host("localhost");
                }
            },
        }
    }
    if pg_config.get_ports().is_empty() {
        let ports = getenv("PGPORT").unwrap_or_else(|| DEFAULT_PORT.to_string());
        for port in ports.split(',') {
            let number = port
                .trim()
                .parse::<u16>()
                .map_err(|_| connection_error(format!("PGPORT: invalid port '{}'", port.trim())))?;
            pg_config.port(number);
        }
    }
    if pg_config.get_user().is_none() {
        let user = getenv("PGUSER").or_else(|| defaults.os_user.clone()).ok_or_else(|| {
            connection_error(
                "cannot tell which database user to connect as: put it in the URL or set PGUSER",
            )
        })?;
        pg_config.user(user);
    }
    if pg_config.get_password().is_none()
        && let Some(password) = getenv("PGPASSWORD")
    {
        pg_config.password(password);
    }
    if pg_config.get_dbname().is_none()
        && let Some(dbname) = getenv("PGDATABASE")
    {
        pg_config.dbname(dbname);
    }
    Ok(())
}

#[cfg(unix)]
fn add_socket_dir(pg_config: &mut tokio_postgres::Config, dir: &Path) {
    pg_config.host_path(dir);
}

#[cfg(not(unix))]
fn add_socket_dir(pg_config: &mut tokio_postgres::Config, _dir: &Path) {
    pg_config.host("localhost");
}

fn parse_ssl_mode(mode: &str, source: &str) -> Result<SslMode, ConfigError> {
    SslMode::parse(mode).map_err(|problem| connection_error(format!("{source}: {problem}")))
}

/// `user@host:port/db` (hosts comma-separated), without the password; the
/// database defaults to the user name, as on the server.
pub fn describe_pg_config(pg_config: &tokio_postgres::Config) -> String {
    let user = pg_config.get_user().unwrap_or("?");
    let ports = pg_config.get_ports();
    let port_for = |index: usize| {
        ports
            .get(index)
            .or_else(|| ports.first())
            .copied()
            .unwrap_or(DEFAULT_PORT)
    };
    let hosts: Vec<String> = if pg_config.get_hosts().is_empty() {
        let addrs = pg_config.get_hostaddrs().iter();
        addrs
            .enumerate()
            .map(|(i, addr)| format!("{}:{}", bracket_ipv6(&addr.to_string()), port_for(i)))
            .collect()
    } else {
        let hosts = pg_config.get_hosts().iter();
        hosts
            .enumerate()
            .map(|(i, host)| format!("{}:{}", host_text(host), port_for(i)))
            .collect()
    };
    let dbname = pg_config.get_dbname().unwrap_or(user);
    format!("{user}@{}/{dbname}", hosts.join(","))
}

fn host_text(host: &Host) -> String {
    match host {
        Host::Tcp(name) => bracket_ipv6(name),
        #[cfg(unix)]
        Host::Unix(path) => path.display().to_string(),
    }
}

fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn connection_error(message: impl Into<String>) -> ConfigError {
    ConfigError::Connection {
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_config() -> Config {
        Config::defaults(Path::new("."))
    }

    fn resolve(getenv: &dyn Fn(&str) -> Option<String>, defaults: &LibpqDefaults) -> String {
        match resolve_with_defaults(None, None, &no_config(), getenv, defaults) {
            Ok(settings) => settings.display,
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn libpq_defaults_use_the_socket_dir_and_os_user() {
        let defaults = LibpqDefaults {
            socket_dir: Some(PathBuf::from("/var/run/postgresql")),
            os_user: Some("alice".to_string()),
        };
        assert_eq!(
            resolve(&|_| None, &defaults),
            "alice@/var/run/postgresql:5432/alice"
        );
    }

    #[test]
    fn without_a_socket_dir_localhost_is_used() {
        let defaults = LibpqDefaults {
            socket_dir: None,
            os_user: Some("bob".to_string()),
        };
        assert_eq!(resolve(&|_| None, &defaults), "bob@localhost:5432/bob");
    }

    #[test]
    fn pguser_beats_the_os_user_and_a_missing_user_is_an_error() {
        let defaults = LibpqDefaults {
            socket_dir: None,
            os_user: Some("bob".to_string()),
        };
        let getenv = |name: &str| (name == "PGUSER").then(|| "carol".to_string());
        assert_eq!(resolve(&getenv, &defaults), "carol@localhost:5432/carol");
        let nobody = LibpqDefaults {
            socket_dir: None,
            os_user: None,
        };
        assert!(resolve(&|_| None, &nobody).starts_with("error: cannot tell which database user"));
    }

    #[test]
    fn os_user_comes_from_user_then_logname() {
        let getenv = |name: &str| (name == "LOGNAME").then(|| "dave".to_string());
        assert_eq!(os_user_name(&getenv).as_deref(), Some("dave"));
        let getenv = |name: &str| match name {
            "USER" => Some("erin".to_string()),
            "LOGNAME" => Some("dave".to_string()),
            _ => None,
        };
        assert_eq!(os_user_name(&getenv).as_deref(), Some("erin"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn os_user_falls_back_to_the_passwd_entry() {
        // Whoever runs the tests has a passwd entry on a normal Linux system.
        let name = os_user_name(&|_| None);
        assert!(name.as_deref().is_some_and(|n| !n.is_empty()), "{name:?}");
    }

    fn tls_of(url: Option<&str>, env: Option<Environment>, vars: &[(&str, &str)]) -> TlsSettings {
        let mut config = no_config();
        if let Some(env) = env {
            config.environments.insert(env.name.clone(), env);
        }
        let defaults = LibpqDefaults {
            socket_dir: None,
            os_user: Some("u".to_string()),
        };
        let getenv = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        resolve_with_defaults(url, None, &config, &getenv, &defaults)
            .unwrap_or_else(|e| panic!("{e}"))
            .tls
    }

    fn environment(sslmode: Option<SslMode>, root: Option<&str>) -> Environment {
        Environment {
            name: "dev".to_string(),
            url: Some("postgres://h/d".to_string()),
            url_env: None,
            search_path: None,
            lock_timeout: None,
            statement_timeout: None,
            protected: false,
            sslmode,
            sslrootcert: root.map(|r| RootCert::File(PathBuf::from(r))),
            lock_retries: 0,
            lock_retry_backoff: super::super::DEFAULT_LOCK_RETRY_BACKOFF,
            connect_timeout: None,
            rehearsal_url: None,
        }
    }

    #[test]
    fn verify_modes_come_from_the_url_the_environment_or_pgsslmode() {
        let url = "postgres://h/d?sslmode=verify-full&sslrootcert=ca.pem";
        let tls = tls_of(Some(url), None, &[("PGSSLMODE", "disable")]);
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(RootCert::File(PathBuf::from("ca.pem"))));
        let env = environment(Some(SslMode::VerifyCa), Some("/etc/env-ca.pem"));
        let tls = tls_of(None, Some(env), &[("PGSSLMODE", "disable")]);
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(
            tls.root_cert,
            Some(RootCert::File(PathBuf::from("/etc/env-ca.pem")))
        );
        let vars = [("PGSSLMODE", "verify-ca"), ("PGSSLROOTCERT", "system")];
        let tls = tls_of(Some("postgres://h/d"), None, &vars);
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(tls.root_cert, Some(RootCert::System));
        assert_eq!(tls_of(None, None, &[]), TlsSettings::default());
    }

    #[test]
    fn the_url_beats_the_environment_keys() {
        let env = environment(Some(SslMode::VerifyFull), Some("/env.pem"));
        let tls = tls_of(Some("host=h sslmode=require"), Some(env), &[]);
        assert_eq!(tls.mode, SslMode::Require);
        assert_eq!(
            tls.root_cert,
            Some(RootCert::File(PathBuf::from("/env.pem")))
        );
    }

    #[test]
    fn bad_sslmodes_name_their_source() {
        let err = parse_ssl_mode("verify", "PGSSLMODE")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("PGSSLMODE: invalid sslmode 'verify'"),
            "{err}"
        );
        let err = parse_connection_string("postgres://h/d?sslmode=strict")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid value for `sslmode` (byte 15)"),
            "{err}"
        );
        assert!(!err.contains("strict"), "{err}");
    }
}
