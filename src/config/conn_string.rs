//! A connection string's parameters turned into tokio-postgres settings,
//! plus the libpq parameters tokio-postgres has no place for (`sslmode`
//! allow / verify-ca / verify-full, `sslrootcert`, `passfile`, and
//! `connect_timeout`, whose default retort applies itself).
//!
//! Empty values count as not given, as in libpq (`user=` falls back to the
//! OS user). Later parameters override earlier ones. Messages name the
//! parameter and never its value.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::config::{
    ChannelBinding, LoadBalanceHosts, SslNegotiation, TargetSessionAttrs,
};

use super::conninfo::{Param, ParseProblem, after_password_hint, key_name, parse_conninfo};
use crate::db::tls::SslMode;

/// libpq's port when none is given.
pub(super) const DEFAULT_PORT: u16 = 5432;

/// Everything a connection string says (`Debug` hides the password, as
/// tokio-postgres' own does).
#[derive(Debug, Clone, Default)]
pub struct ConnString {
    pub pg_config: tokio_postgres::Config,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<String>,
    pub passfile: Option<PathBuf>,
    /// `Some(None)`: `connect_timeout` of zero or less, wait forever.
    pub connect_timeout: Option<Option<Duration>>,
}

/// Reads `text`; the error never quotes it.
pub fn parse_conn_string(text: &str) -> Result<ConnString, ParseProblem> {
    let params = parse_conninfo(text)?;
    let mut parsed = ConnString::default();
    // libpq keeps the last value of a repeated key.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, param) in params.iter().enumerate() {
        last.insert(param.key.as_str(), index);
    }
    for (index, param) in params.iter().enumerate() {
        if last.get(param.key.as_str()) != Some(&index) || param.value.is_empty() {
            continue;
        }
        apply(&mut parsed, param).map_err(|why| describe(param, &params[..index], why))?;
    }
    Ok(parsed)
}

/// What is wrong with one parameter.
enum Why {
    Unknown,
    Invalid(&'static str),
}

fn describe(param: &Param, before: &[Param], why: Why) -> ParseProblem {
    match why {
        Why::Unknown => {
            let hint = after_password_hint(before);
            let name =
                key_name(&param.key, before).map_or_else(String::new, |name| format!(" {name}"));
            ParseProblem::new(format!(
                "unknown parameter{name} at byte {}{hint}",
                param.at
            ))
        }
        Why::Invalid(expected) => ParseProblem::new(format!(
            "invalid value for `{}` (byte {}): expected {expected}",
            param.key, param.at
        )),
    }
}

fn apply(parsed: &mut ConnString, param: &Param) -> Result<(), Why> {
    let value = param.value.as_str();
    let cfg = &mut parsed.pg_config;
    match param.key.as_str() {
        "user" => {
            cfg.user(value);
        }
        "password" => {
            cfg.password(value);
        }
        "dbname" => {
            cfg.dbname(value);
        }
        "options" => {
            cfg.options(value);
        }
        "application_name" => {
            cfg.application_name(value);
        }
        "host" => hosts(cfg, value)?,
        "hostaddr" => {
            for addr in value.split(',') {
                let addr: IpAddr = addr.trim().parse().map_err(|_| invalid("IP addresses"))?;
                cfg.hostaddr(addr);
            }
        }
        "port" => {
            for port in value.split(',') {
                cfg.port(port_number(port)?);
            }
        }
        "connect_timeout" => {
            let seconds: i64 = value.trim().parse().map_err(|_| invalid("whole seconds"))?;
            parsed.connect_timeout = Some(timeout_of(seconds));
        }
        "sslmode" => {
            let mode = SslMode::parse(value).map_err(|_| invalid(SslMode::NAMES))?;
            parsed.sslmode = Some(mode);
        }
        "sslrootcert" => parsed.sslrootcert = Some(value.to_string()),
        "passfile" => parsed.passfile = Some(PathBuf::from(value)),
        _ => tuning(cfg, param)?,
    }
    Ok(())
}

/// The parameters that only tune the connection.
fn tuning(cfg: &mut tokio_postgres::Config, param: &Param) -> Result<(), Why> {
    let value = param.value.as_str();
    let seconds = || -> Result<Duration, Why> {
        let n: i64 = value.trim().parse().map_err(|_| invalid("whole seconds"))?;
        Ok(Duration::from_secs(n.max(0).unsigned_abs()))
    };
    match param.key.as_str() {
        "tcp_user_timeout" => {
            cfg.tcp_user_timeout(seconds()?);
        }
        "keepalives" => {
            cfg.keepalives(value != "0");
        }
        "keepalives_idle" => {
            cfg.keepalives_idle(seconds()?);
        }
        "keepalives_interval" => {
            cfg.keepalives_interval(seconds()?);
        }
        "keepalives_retries" => {
            let n = value.trim().parse().map_err(|_| invalid("a count"))?;
            cfg.keepalives_retries(n);
        }
        "target_session_attrs" => {
            cfg.target_session_attrs(match value {
                "any" => TargetSessionAttrs::Any,
                "read-write" => TargetSessionAttrs::ReadWrite,
                "read-only" => TargetSessionAttrs::ReadOnly,
                _ => return Err(invalid("any, read-write or read-only")),
            });
        }
        "channel_binding" => {
            cfg.channel_binding(match value {
                "disable" => ChannelBinding::Disable,
                "prefer" => ChannelBinding::Prefer,
                "require" => ChannelBinding::Require,
                _ => return Err(invalid("disable, prefer or require")),
            });
        }
        "load_balance_hosts" => {
            cfg.load_balance_hosts(match value {
                "disable" => LoadBalanceHosts::Disable,
                "random" => LoadBalanceHosts::Random,
                _ => return Err(invalid("disable or random")),
            });
        }
        "sslnegotiation" => {
            cfg.ssl_negotiation(match value {
                "postgres" => SslNegotiation::Postgres,
                "direct" => SslNegotiation::Direct,
                _ => return Err(invalid("postgres or direct")),
            });
        }
        _ => return Err(Why::Unknown),
    }
    Ok(())
}

fn invalid(expected: &'static str) -> Why {
    Why::Invalid(expected)
}

/// A comma-separated host list; a name starting with `/` is a socket directory.
fn hosts(cfg: &mut tokio_postgres::Config, value: &str) -> Result<(), Why> {
    for host in value.split(',') {
        if host.contains('@') {
            return Err(invalid(
                "host names (an `@` in a password must be written %40)",
            ));
        }
        if host.starts_with('/') {
            socket_dir(cfg, host);
        } else {
            cfg.host(host);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn socket_dir(cfg: &mut tokio_postgres::Config, dir: &str) {
    cfg.host_path(dir);
}

#[cfg(not(unix))]
fn socket_dir(cfg: &mut tokio_postgres::Config, dir: &str) {
    cfg.host(dir);
}

/// An empty entry of a port list is the default port, as in libpq.
fn port_number(text: &str) -> Result<u16, Why> {
    if text.trim().is_empty() {
        return Ok(DEFAULT_PORT);
    }
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(invalid("port numbers 1-65535")),
    }
}

/// libpq's reading of `connect_timeout`: zero or less waits forever, and
/// one second is raised to two.
pub fn timeout_of(seconds: i64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds.max(2).unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match parse_conn_string(text) {
            Ok(_) => panic!("{text} was accepted"),
            Err(problem) => problem.to_string(),
        }
    }

    #[test]
    fn settings_reach_the_tokio_postgres_config() {
        let parsed = parse_conn_string(
            "postgres://u:pw@h1,h2:6/d?sslmode=verify-ca&sslrootcert=ca.pem&connect_timeout=1&passfile=/p",
        )
        .unwrap();
        let cfg = &parsed.pg_config;
        assert_eq!(cfg.get_user(), Some("u"));
        assert_eq!(cfg.get_password(), Some(&b"pw"[..]));
        assert_eq!(cfg.get_ports(), [5432, 6]);
        assert_eq!(cfg.get_dbname(), Some("d"));
        assert_eq!(parsed.sslmode, Some(SslMode::VerifyCa));
        assert_eq!(parsed.sslrootcert.as_deref(), Some("ca.pem"));
        assert_eq!(parsed.connect_timeout, Some(Some(Duration::from_secs(2))));
        assert_eq!(parsed.passfile, Some(PathBuf::from("/p")));
        let forever = parse_conn_string("host=h connect_timeout=0").unwrap();
        assert_eq!(forever.connect_timeout, Some(None));
    }

    #[test]
    fn empty_values_are_not_given_and_the_last_value_wins() {
        let parsed = parse_conn_string("user='' host=a port=1 host=b dbname=''").unwrap();
        assert_eq!(parsed.pg_config.get_user(), None);
        assert_eq!(parsed.pg_config.get_dbname(), None);
        assert_eq!(parsed.pg_config.get_hosts().len(), 1);
        let parsed = parse_conn_string("postgres://@h/d").unwrap();
        assert_eq!(parsed.pg_config.get_user(), None);
    }

    #[test]
    fn errors_name_the_parameter_not_the_value() {
        assert_eq!(
            error_of("host=h port=secret"),
            "invalid value for `port` (byte 7): expected port numbers 1-65535"
        );
        assert_eq!(
            error_of("host=h sslmode=strict"),
            format!(
                "invalid value for `sslmode` (byte 7): expected {}",
                SslMode::NAMES
            )
        );
        assert_eq!(
            error_of("host=h dbnam=x"),
            "unknown parameter `dbnam` at byte 7"
        );
        let err = error_of("password=correct horse=battery");
        assert!(
            err.starts_with("unknown parameter at byte 17 (right after the password"),
            "{err}"
        );
        assert!(!err.contains("horse") && !err.contains("battery"), "{err}");
        let err = error_of("postgres://u:p%20w@h/d?sslmode=nope");
        assert!(!err.contains("nope") && err.contains("`sslmode`"), "{err}");
    }
}
