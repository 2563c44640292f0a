//! What both front ends need before they can do anything: the configuration,
//! the revision files loaded into a graph, and a connection to the database.
//! The command line and the console are thin layers over this.

use std::path::{Path, PathBuf};

use crate::config::{self, Config, ConnectionSettings, redact_url};
use crate::core::graph::RevisionMap;
use crate::core::offline::VersionTableName;
use crate::core::plan::{Plan, PlanError};
use crate::db::connect::{MigrationConnection, SessionSettings, connect};
use crate::db::events::{EventSink, ExecError};
use crate::db::executor::{ExecOptions, ExecSummary, execute_plan};
use crate::db::version_table::VersionTable;
use crate::scripts;

/// Options every command accepts.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub config: Option<PathBuf>,
    pub env: Option<String>,
    pub database_url: Option<String>,
    pub migrations: Option<PathBuf>,
}

/// A failure, classified by the exit code it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// Bad input: arguments, config, revision files, targets (exit 2).
    #[error("{0}")]
    Input(String),
    /// The database could not be reached or a statement failed (exit 3).
    #[error("{0}")]
    Database(String),
}

impl AppError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Input(_) => 2,
            AppError::Database(_) => 3,
        }
    }

    /// The message with every connection secret removed.
    pub fn redacted(&self) -> String {
        redact_url(&self.to_string())
    }
}

impl From<PlanError> for AppError {
    fn from(err: PlanError) -> Self {
        AppError::Input(err.to_string())
    }
}

impl From<ExecError> for AppError {
    /// Refusals found before anything ran are input errors; the rest came
    /// from the server.
    fn from(err: ExecError) -> Self {
        match err {
            ExecError::UnknownRevision { .. }
            | ExecError::Irreversible { .. }
            | ExecError::NonTransactionalInAtomic { .. }
            | ExecError::Split { .. } => AppError::Input(err.to_string()),
            _ => AppError::Database(err.to_string()),
        }
    }
}

/// The configuration and the revision graph.
pub struct Project {
    pub config: Config,
    pub migrations_dir: PathBuf,
    pub map: RevisionMap,
}

impl Project {
    /// Reads the config (if any) and loads and validates every revision file.
    pub fn load(options: &GlobalOptions) -> Result<Project, AppError> {
        let config = load_config(options)?;
        let migrations_dir = migrations_dir(options, &config);
        let revisions =
            scripts::load_revisions(&migrations_dir).map_err(|e| AppError::Input(e.to_string()))?;
        let map = RevisionMap::build(revisions).map_err(|e| AppError::Input(e.to_string()))?;
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
        VersionTable::new(
            self.config.version_table_schema.as_deref(),
            &self.config.version_table,
        )
    }

    pub fn connection_settings(
        &self,
        options: &GlobalOptions,
    ) -> Result<ConnectionSettings, AppError> {
        connection_settings(&self.config, options)
    }
}

pub fn load_config(options: &GlobalOptions) -> Result<Config, AppError> {
    let cwd = std::env::current_dir()
        .map_err(|e| AppError::Input(format!("cannot read the working directory: {e}")))?;
    config::load_config(options.config.as_deref(), &cwd).map_err(|e| AppError::Input(e.to_string()))
}

/// `--migrations` wins over the config file's `migrations`.
pub fn migrations_dir(options: &GlobalOptions, config: &Config) -> PathBuf {
    options
        .migrations
        .clone()
        .unwrap_or_else(|| config.migrations_dir.clone())
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
) -> Result<ConnectionSettings, AppError> {
    let getenv = |name: &str| std::env::var(name).ok();
    config::resolve_connection(
        options.database_url.as_deref(),
        options.env.as_deref(),
        config,
        &getenv,
    )
    .map_err(|e| AppError::Input(e.to_string()))
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

/// A live connection to the target database.
pub struct Database {
    pub conn: MigrationConnection,
    pub table: VersionTable,
    /// `user@host:port/db`, never the password.
    pub display: String,
}

impl Database {
    pub async fn connect(
        settings: &ConnectionSettings,
        table: VersionTable,
    ) -> Result<Database, AppError> {
        let conn = connect(&settings.pg_config, &session_settings(settings))
            .await
            .map_err(|e| {
                // `e` already names the server; add where its settings came from.
                AppError::Database(redact_url(&format!(
                    "{e} (connection settings from {})",
                    settings.url_source
                )))
            })?;
        Ok(Database {
            conn,
            table,
            display: settings.display.clone(),
        })
    }

    /// The rows of the version table (sorted); empty when it does not exist.
    pub async fn heads(&self) -> Result<Vec<String>, AppError> {
        self.table
            .read_heads(self.conn.client())
            .await
            .map_err(|e| AppError::Database(e.to_string()))
    }

    pub async fn execute(
        &mut self,
        map: &RevisionMap,
        plan: &Plan,
        atomic: bool,
        sink: &dyn EventSink,
    ) -> Result<ExecSummary, AppError> {
        let mut options = ExecOptions::new(self.table.clone());
        options.atomic = atomic;
        Ok(execute_plan(&mut self.conn, map, plan, &options, sink).await?)
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
