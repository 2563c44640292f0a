//! What both front ends need before they can do anything: the options
//! every command takes, the configuration, the revision files loaded into
//! a graph, and the connection settings with what the person should know
//! about them (returned, for the front end to show where it is seen).

use std::path::{Path, PathBuf};

use crate::config::{self, Config, ConnectionSettings, redact_url};
use crate::core::graph::RevisionMap;
use crate::core::offline::VersionTableName;
use crate::db::connect::{SessionSettings, Transport};
use crate::db::history::HistoryTable;
use crate::db::timeouts::LockRetry;
use crate::db::version_table::VersionTable;
use crate::engine::error::Error;
use crate::scripts;

/// Options every command accepts.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub config: Option<PathBuf>,
    pub env: Option<String>,
    pub database_url: Option<String>,
    pub migrations: Option<PathBuf>,
}

/// The configuration and the revision graph.
pub struct Project {
    pub config: Config,
    pub migrations_dir: PathBuf,
    pub map: RevisionMap,
}

impl Project {
    /// Reads the config (if any) and loads and validates every revision file.
    pub fn load(options: &GlobalOptions) -> Result<Project, Error> {
        let config = load_config(options)?;
        let migrations_dir = migrations_dir(options, &config);
        let revisions =
            scripts::load_revisions(&migrations_dir).map_err(|e| Error::Files(e.to_string()))?;
        let map = RevisionMap::build(revisions).map_err(|e| Error::Files(e.to_string()))?;
        Ok(Project {
            config,
            migrations_dir,
            map,
        })
    }

    pub fn version_table_name(&self) -> VersionTableName {
        version_table_name(&self.config)
    }

    pub fn version_table(&self) -> VersionTable {
        version_table(&self.config)
    }

    /// The audit history table, beside the version table.
    pub fn history_table(&self) -> HistoryTable {
        history_table(&self.config)
    }

    pub fn connection_settings(
        &self,
        options: &GlobalOptions,
    ) -> Result<ConnectionSettings, Error> {
        connection_settings(&self.config, options)
    }
}

pub fn load_config(options: &GlobalOptions) -> Result<Config, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Config(format!("cannot read the working directory: {e}")))?;
    config::load_config(options.config.as_deref(), &cwd).map_err(|e| Error::Config(e.to_string()))
}

/// `--migrations` wins over the config file's `migrations`.
pub fn migrations_dir(options: &GlobalOptions, config: &Config) -> PathBuf {
    options
        .migrations
        .clone()
        .unwrap_or_else(|| config.migrations_dir.clone())
}

pub fn version_table(config: &Config) -> VersionTable {
    VersionTable::new(
        config.version_table_schema.as_deref(),
        &config.version_table,
    )
}

pub fn history_table(config: &Config) -> HistoryTable {
    HistoryTable::beside(&version_table(config), &config.history_table)
}

pub fn version_table_name(config: &Config) -> VersionTableName {
    VersionTableName {
        schema: config.version_table_schema.clone(),
        name: config.version_table.clone(),
    }
}

pub fn connection_settings(
    config: &Config,
    options: &GlobalOptions,
) -> Result<ConnectionSettings, Error> {
    let getenv = |name: &str| std::env::var(name).ok();
    let settings = config::resolve_connection(
        options.database_url.as_deref(),
        options.env.as_deref(),
        config,
        &getenv,
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    Ok(settings)
}

/// What the person should know about where the settings led, for the
/// front end to show where it will be seen: `-e prod` while DATABASE_URL
/// is set connects where DATABASE_URL points (the documented order), which
/// is easy to miss under pressure; a password file ignored for its
/// permissions.
pub fn connection_warnings(options: &GlobalOptions, settings: &ConnectionSettings) -> Vec<String> {
    let overridden = options.env.as_deref().and_then(|env| {
        (options.database_url.is_none() && settings.url_source == "DATABASE_URL").then(|| {
            format!(
                "WARNING: -e {env} applies {env}'s settings, but the connection comes from DATABASE_URL: {}",
                settings.display
            )
        })
    });
    overridden
        .into_iter()
        .chain(settings.warnings.iter().map(|w| format!("WARNING: {w}")))
        .collect()
}

/// The name of the chosen environment when it is protected: what the
/// confirmation policy (`core::policy`) asks to be typed.
pub fn protected_environment(settings: &ConnectionSettings) -> Option<&str> {
    settings
        .env
        .as_ref()
        .filter(|e| e.protected)
        .map(|e| e.name.as_str())
}

/// The session settings of the chosen environment.
pub fn session_settings(settings: &ConnectionSettings) -> SessionSettings {
    let env = settings.env.as_ref();
    SessionSettings {
        search_path: env.and_then(|e| e.search_path.clone()),
        lock_timeout: env.and_then(|e| e.lock_timeout.clone()),
        statement_timeout: env.and_then(|e| e.statement_timeout.clone()),
    }
}

/// How to reach the server: TLS as `sslmode` / `sslrootcert` say. A root
/// certificate that cannot be read is an input error, found before connecting.
pub fn transport(settings: &ConnectionSettings) -> Result<Transport, Error> {
    Transport::for_settings(&settings.tls).map_err(|e| {
        Error::Config(redact_url(&format!(
            "cannot connect to {} ({}): {e}",
            settings.display, settings.url_source
        )))
    })
}

/// The chosen environment's retries of a step that hit a lock timeout.
pub fn lock_retry(settings: &ConnectionSettings) -> LockRetry {
    match &settings.env {
        Some(env) => LockRetry {
            retries: env.lock_retries,
            backoff: env.lock_retry_backoff,
        },
        None => LockRetry::default(),
    }
}

/// A path as the user should read it: relative to the working directory
/// when it lies below it.
pub fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
