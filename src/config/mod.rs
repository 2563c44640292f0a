//! The configuration file (`retort.toml`), where the database connection
//! comes from, and redaction of secrets in connection strings.
//!
//! - [`load_config`] finds and reads the file, [`parse_config`] validates its
//!   text (pure); every error names the file, line and key.
//! - [`resolve_connection`] picks the connection source in the documented
//!   order and applies the chosen environment's session settings.
//! - Connection strings are never quoted back: errors name a byte offset
//!   or a parameter; [`redact_url`] is the net for text from elsewhere
//!   (server messages, panics) that may quote a connection string.

mod conn_string;
mod connection;
mod conninfo;
mod duration;
mod file;
mod keys;
mod pgpass;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::lint::LintOptions;
use crate::db::tls::{RootCert, SslMode};

pub use crate::db::os_user::os_user_name;
pub use crate::db::redact::redact_url;
pub use conn_string::ConnString;
pub use connection::{
    ConnectionSettings, DEFAULT_CONNECT_TIMEOUT, describe_pg_config, parse_connection_string,
    resolve_connection,
};
pub use conninfo::ParseProblem;
pub use duration::{check_duration, parse_duration};
pub use file::{load_config, parse_config, user_config_path};
pub use keys::{
    ACTIONS, Action, ActionSpec, BindingProblem, CONSOLE_ACTIONS, HelpGroup, KeyContext,
    check_bindings, comparable_key, parse_key,
};

/// Default name of the version table (Alembic's).
pub const DEFAULT_VERSION_TABLE: &str = "alembic_version";
/// Default name of the audit history table.
pub const DEFAULT_HISTORY_TABLE: &str = "retort_history";
/// Default migrations directory, relative to the config file (or the
/// working directory when there is no config file).
pub const DEFAULT_MIGRATIONS_DIR: &str = "migrations";
/// Name of the config file looked for in the working directory and in the
/// per-user config directory.
pub const CONFIG_FILE_NAME: &str = "retort.toml";
/// Wait before the first retry of a step that hit a lock timeout; it
/// doubles for each further retry.
pub const DEFAULT_LOCK_RETRY_BACKOFF: Duration = Duration::from_millis(500);
/// Most retries `lock_retries` accepts.
pub const MAX_LOCK_RETRIES: u32 = 100;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this was read from; `None` when no config file was found.
    pub source: Option<PathBuf>,
    /// Directory of the revision files, already resolved against the config
    /// file's directory.
    pub migrations_dir: PathBuf,
    pub version_table: String,
    /// `None`: the table is found through the session's `search_path`.
    pub version_table_schema: Option<String>,
    pub history_table: String,
    /// Environment used when `-e` is not given; always names an entry of
    /// `environments`.
    pub default_env: Option<String>,
    pub environments: BTreeMap<String, Environment>,
    /// Console key bindings: action name -> canonical key strings (see
    /// [`parse_key`]). Only actions the file mentions are present.
    pub keys: BTreeMap<String, Vec<String>>,
    /// `[lint]`: which rules run and what fails `lint` / `check`.
    pub lint: LintOptions,
    /// `[schema]`: where the desired schema comes from, for autogenerate
    /// and `check`.
    pub schema: Option<DesiredSchema>,
}

/// The schema the application wants, built on a scratch database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesiredSchema {
    /// SQL files under this directory (resolved against the config
    /// file's), applied in path order.
    Dir(PathBuf),
    /// A shell command that builds it in the database `DATABASE_URL` names.
    Command(String),
}

impl Config {
    /// The configuration used when no file exists; relative defaults resolve
    /// against `base_dir`.
    pub fn defaults(base_dir: &Path) -> Config {
        Config {
            source: None,
            migrations_dir: base_dir.join(DEFAULT_MIGRATIONS_DIR),
            version_table: DEFAULT_VERSION_TABLE.to_string(),
            version_table_schema: None,
            history_table: DEFAULT_HISTORY_TABLE.to_string(),
            default_env: None,
            environments: BTreeMap::new(),
            keys: BTreeMap::new(),
            lint: LintOptions::default(),
            schema: None,
        }
    }
}

/// One `[environments.NAME]` table.
#[derive(Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    /// The connection string itself (may hold a password: never print it;
    /// show [`ConnectionSettings::display`] instead).
    pub url: Option<String>,
    /// Name of an environment variable holding the connection string.
    /// Exactly one of `url` / `url_env` is set.
    pub url_env: Option<String>,
    pub search_path: Option<String>,
    /// PostgreSQL duration as `SET lock_timeout` accepts it (`"5s"`, `"500"`).
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
    /// Destructive operations need the environment's name typed to confirm.
    pub protected: bool,
    /// libpq's sslmode, used when the connection string does not give one.
    pub sslmode: Option<SslMode>,
    /// Root certificate(s) to check the server's certificate against, used
    /// when the connection string does not give `sslrootcert`. A relative
    /// path is already resolved against the config file's directory.
    pub sslrootcert: Option<RootCert>,
    /// How many times a step that failed on a lock timeout is run again.
    pub lock_retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub lock_retry_backoff: Duration,
    /// How long connecting may take, used when the connection string does
    /// not give `connect_timeout`; zero waits as long as it takes.
    pub connect_timeout: Option<Duration>,
    /// The server `rehearse` makes its throwaway database on (may hold a
    /// password: never print it). `None`: the environment's own server.
    pub rehearsal_url: Option<String>,
}

// Written by hand so that a stray `{:?}` never prints a password.
impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|_| "(hidden)"))
            .field("url_env", &self.url_env)
            .field("search_path", &self.search_path)
            .field("lock_timeout", &self.lock_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("protected", &self.protected)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("lock_retries", &self.lock_retries)
            .field("lock_retry_backoff", &self.lock_retry_backoff)
            .field("connect_timeout", &self.connect_timeout)
            .field(
                "rehearsal_url",
                &self.rehearsal_url.as_ref().map(|_| "(hidden)"),
            )
            .finish()
    }
}

/// Everything that can go wrong reading the config or resolving the
/// connection. Messages never contain a password.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be found or read.
    Read { file: PathBuf, message: String },
    /// A problem at a place in the file. `key` is the dotted key path
    /// (`environments.prod.url`) when one could be identified.
    At {
        file: PathBuf,
        line: usize,
        key: Option<String>,
        message: String,
    },
    /// The connection settings could not be worked out.
    Connection { message: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { file, message } => write!(f, "{}: {message}", file.display()),
            ConfigError::At {
                file,
                line,
                key: Some(key),
                message,
            } => write!(f, "{}:{line}: {key}: {message}", file.display()),
            ConfigError::At {
                file,
                line,
                key: None,
                message,
            } => write!(f, "{}:{line}: {message}", file.display()),
            ConfigError::Connection { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// "known: dev, prod", for messages about an environment name.
fn known_names(environments: &BTreeMap<String, Environment>) -> String {
    if environments.is_empty() {
        "no environments are defined".to_string()
    } else {
        let names: Vec<&str> = environments.keys().map(String::as_str).collect();
        format!("known: {}", names.join(", "))
    }
}
