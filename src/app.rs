//! What both front ends need before they can do anything: the configuration,
//! the revision files loaded into a graph, and a connection to the database.
//! The command line and the console are thin layers over this.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{self, Config, ConnectionSettings, redact_url};
use crate::core::graph::RevisionMap;
use crate::core::offline::VersionTableName;
use crate::core::plan::Plan;
use crate::db::blockers::{LockWatch, TableGuard};
use crate::db::connect::{MigrationConnection, SessionSettings, Transport, connect_with};
use crate::db::drift::{DriftReport, drift_report};
use crate::db::events::{EventSink, ExecError, ExecEvent};
use crate::db::executor::{ExecOptions, ExecSummary, execute_plan};
use crate::db::history::{Actor, HistoryEntry, HistoryFilter, HistoryOptions, HistoryTable};
use crate::db::lock::{self, MigrationLock, WaitPolicy};
use crate::db::resolve::{self, ResolveChoice};
use crate::db::timeouts::LockRetry;
use crate::db::version_table::{Site, VersionTable};
use crate::engine::error::{Recovery, Unrecorded};
use crate::scripts;

/// Options every command accepts.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub config: Option<PathBuf>,
    pub env: Option<String>,
    pub database_url: Option<String>,
    pub migrations: Option<PathBuf>,
}

pub use crate::engine::Error as AppError;

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
            scripts::load_revisions(&migrations_dir).map_err(|e| AppError::Files(e.to_string()))?;
        let map = RevisionMap::build(revisions).map_err(|e| AppError::Files(e.to_string()))?;
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
    ) -> Result<ConnectionSettings, AppError> {
        connection_settings(&self.config, options)
    }
}

pub fn load_config(options: &GlobalOptions) -> Result<Config, AppError> {
    let cwd = std::env::current_dir()
        .map_err(|e| AppError::Config(format!("cannot read the working directory: {e}")))?;
    config::load_config(options.config.as_deref(), &cwd)
        .map_err(|e| AppError::Config(e.to_string()))
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
) -> Result<ConnectionSettings, AppError> {
    let getenv = |name: &str| std::env::var(name).ok();
    let settings = config::resolve_connection(
        options.database_url.as_deref(),
        options.env.as_deref(),
        config,
        &getenv,
    )
    .map_err(|e| AppError::Config(e.to_string()))?;
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
pub fn transport(settings: &ConnectionSettings) -> Result<Transport, AppError> {
    Transport::for_settings(&settings.tls).map_err(|e| {
        AppError::Config(redact_url(&format!(
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

/// A live connection to the target database.
///
/// Commands that change the database follow one flow: [`Database::lock`],
/// read the heads, check [`Database::drift_report`], plan, then
/// [`Database::execute`] (or [`Database::resolve`]), then
/// [`Database::unlock`]. Read-only commands never lock.
pub struct Database {
    pub conn: MigrationConnection,
    pub table: VersionTable,
    pub history: HistoryTable,
    /// `user@host:port/db`, never the password.
    pub display: String,
    pub lock_retry: LockRetry,
    settings: ConnectionSettings,
    lock: Option<MigrationLock>,
    /// Where the tables live and the server's encoding, read at connect.
    site: Site,
    /// Who hears that a read of retort's own tables waits for a lock.
    waits: Arc<dyn EventSink>,
}

impl Database {
    /// Connects; the history table gets its default name (see
    /// [`Database::with_history_table`]).
    pub async fn connect(
        settings: &ConnectionSettings,
        table: VersionTable,
    ) -> Result<Database, AppError> {
        let conn = open_connection(settings).await?;
        // Resolved once, before any revision SQL can change the search_path.
        let site = table
            .locate(conn.client())
            .await
            .map_err(|e| AppError::database("resolving the version table's schema", e))?;
        let table = table.at(&site);
        let history = HistoryTable::beside(&table, config::DEFAULT_HISTORY_TABLE).at(&table, &site);
        Ok(Database {
            conn,
            table,
            history,
            display: settings.display.clone(),
            lock_retry: lock_retry(settings),
            settings: settings.clone(),
            lock: None,
            site,
            waits: Arc::new(|_: ExecEvent| {}),
        })
    }

    /// Connects with the project's version and history tables.
    pub async fn open(
        project: &Project,
        settings: &ConnectionSettings,
    ) -> Result<Database, AppError> {
        Ok(Database::connect(settings, project.version_table())
            .await?
            .with_history_table(project.history_table()))
    }

    pub fn with_history_table(mut self, history: HistoryTable) -> Database {
        self.history = history.at(&self.table, &self.site);
        self
    }

    /// Sends [`ExecEvent::TableBlocked`] (and its siblings) of the reads
    /// below to `sink`; without one they are only named in a lock timeout.
    pub fn report_waits_to(mut self, sink: Arc<dyn EventSink>) -> Database {
        self.waits = sink;
        self
    }

    /// Reads of retort's own tables: watched for blockers and retried after
    /// a lock timeout like a step (see `db::blockers::TableGuard`).
    fn table_guard(&self) -> TableGuard {
        let watch = LockWatch::new(
            self.conn.backend_pid(),
            Some(self.conn.session_opener().clone()),
        );
        TableGuard::new(watch, self.lock_retry)
    }

    /// The rows of the version table (sorted); empty when it does not exist.
    pub async fn heads(&self) -> Result<Vec<String>, AppError> {
        let client = self.conn.client();
        self.table_guard()
            .run(&*self.waits, &self.table.display_name(), "reading", || {
                self.table.read_heads(client)
            })
            .await
            .map_err(|e| AppError::database("reading the version table", e))
    }

    /// Takes the migration lock (see `db::lock`), waiting per `policy` and
    /// reporting the holders to `sink` while it waits; `give_up` ends the
    /// wait. Held until [`Database::unlock`] or the connection closes.
    pub async fn lock(
        &mut self,
        policy: WaitPolicy,
        sink: &dyn EventSink,
        give_up: impl Future<Output = ()>,
    ) -> Result<(), AppError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let taken = lock::acquire(self.conn.client(), &self.table, policy, sink, give_up).await?;
        self.lock = Some(taken);
        Ok(())
    }

    /// Whether this connection took the migration lock (it may still have
    /// been lost with the connection).
    pub fn holds_lock(&self) -> bool {
        self.lock.is_some()
    }

    /// Releases the migration lock, if held. A closed connection took the
    /// lock with it: the server releases it when the session ends.
    pub async fn unlock(&mut self, sink: &dyn EventSink) -> Result<(), AppError> {
        if self.conn.client().is_closed() {
            self.lock = None;
        }
        match self.lock.take() {
            Some(held) => held
                .release(self.conn.client(), sink)
                .await
                .map(|_| ())
                .map_err(AppError::from),
            None => Ok(()),
        }
    }

    /// How the files of `map` compare with what the history recorded for
    /// the revisions applied under `rows`. Read-only.
    pub async fn drift_report(
        &self,
        map: &RevisionMap,
        rows: &[String],
    ) -> Result<DriftReport, AppError> {
        let client = self.conn.client();
        self.table_guard()
            .run(
                &*self.waits,
                &self.history.display_name(),
                "reading",
                || drift_report(client, &self.history, map, rows),
            )
            .await
            .map_err(|e| AppError::database("reading the history for drift", e))
    }

    /// History rows, newest first. Read-only.
    pub async fn history_rows(
        &self,
        filter: &HistoryFilter,
    ) -> Result<Vec<HistoryEntry>, AppError> {
        let client = self.conn.client();
        self.table_guard()
            .run(
                &*self.waits,
                &self.history.display_name(),
                "reading",
                || self.history.query(client, filter),
            )
            .await
            .map_err(|e| AppError::database("reading the history", e))
    }

    /// Runs `plan`, recording every step in the history. A failure the
    /// run could not record on its connection (lost) is recorded on a new
    /// one, which then replaces it; what that found and wrote comes back
    /// with the error.
    pub async fn execute(
        &mut self,
        map: &RevisionMap,
        plan: &Plan,
        atomic: bool,
        sink: &dyn EventSink,
    ) -> Result<ExecSummary, (ExecError, Recovery)> {
        let mut options = ExecOptions::new(self.table.clone());
        options.atomic = atomic;
        options.lock_retry = self.lock_retry;
        options.history = Some(HistoryOptions::new(self.history.clone(), Actor::detect()));
        let capture = UnrecordedCapture {
            inner: sink,
            entries: Mutex::new(Vec::new()),
        };
        let outcome = execute_plan(&mut self.conn, map, plan, &options, &capture).await;
        let unrecorded = capture.take();
        let error = match outcome {
            Ok(summary) => return Ok(summary),
            Err(error) => error,
        };
        if unrecorded.is_empty() {
            return Err((error, Recovery::default()));
        }
        let commit_in_doubt =
            matches!(&error, ExecError::Database { context, .. } if context == "COMMIT");
        let recovery = self
            .record_on_new_connection(unrecorded, commit_in_doubt, sink)
            .await;
        Err((error, recovery))
    }

    /// Records on a new connection what the lost one could not. A step
    /// whose COMMIT answer was lost is judged only once the old session has
    /// ended: the new connection takes the migration lock, which the old
    /// session held until its backend exited, so a slow COMMIT (deferred
    /// triggers, synchronous replication) has finished one way or the
    /// other by then, and its success row tells which.
    async fn record_on_new_connection(
        &mut self,
        entries: Vec<(Option<usize>, HistoryEntry)>,
        commit_in_doubt: bool,
        sink: &dyn EventSink,
    ) -> Recovery {
        let mut recovery = Recovery {
            history_table: self.history.display_name(),
            ..Recovery::default()
        };
        let judged = self
            .recover(&entries, commit_in_doubt, sink, &mut recovery)
            .await;
        if let Err(cause) = judged {
            let done =
                recovery.recorded.len() + recovery.committed.len() + recovery.not_committed.len();
            recovery.unrecorded = Some(Unrecorded {
                cause: format!(
                    "the failure could not be recorded in {}: {cause}",
                    self.history.display_name()
                ),
                entries: entries.into_iter().skip(done).map(|(_, e)| e).collect(),
            });
        }
        recovery
    }

    async fn recover(
        &mut self,
        entries: &[(Option<usize>, HistoryEntry)],
        commit_in_doubt: bool,
        sink: &dyn EventSink,
        recovery: &mut Recovery,
    ) -> Result<(), String> {
        let conn = reconnect(&self.settings).await.map_err(|e| e.to_string())?;
        // The old session is gone or going; the server releases its lock
        // when its backend exits.
        self.conn = conn;
        self.lock = None;
        self.lock(WaitPolicy::default(), sink, std::future::pending())
            .await
            .map_err(|e| e.to_string())?;
        let client = self.conn.client();
        self.history
            .ensure(client)
            .await
            .map_err(|e| e.to_string())?;
        for (step_index, entry) in entries {
            let committed = self
                .history
                .committed(client, entry)
                .await
                .map_err(|e| e.to_string())?;
            if committed {
                sink.emit(ExecEvent::CommitConfirmed {
                    step_index: *step_index,
                    entry: Box::new(entry.clone()),
                });
                recovery.committed.push(entry.clone());
                continue;
            }
            let written = self
                .history
                .record(client, entry)
                .await
                .map_err(|e| e.to_string())?;
            sink.emit(ExecEvent::HistoryRecorded {
                step_index: *step_index,
                entry: Box::new(written.clone()),
            });
            match commit_in_doubt {
                true => recovery.not_committed.push(written),
                false => recovery.recorded.push(written),
            }
        }
        Ok(())
    }

    /// `retort resolve`: records `choice` for `revision` (and for
    /// `--applied` sets the version table), in one transaction.
    pub async fn resolve(
        &mut self,
        map: &RevisionMap,
        revision: &str,
        choice: ResolveChoice,
        note: Option<&str>,
        sink: &dyn EventSink,
    ) -> Result<HistoryEntry, AppError> {
        let options = HistoryOptions::new(self.history.clone(), Actor::detect());
        let client = self.conn.client_mut();
        if options
            .table
            .ensure(client)
            .await
            .map_err(|e| AppError::database("creating the history table", e))?
        {
            sink.emit(ExecEvent::HistoryTableCreated {
                table: options.table.display_name(),
            });
        }
        let written = resolve::resolve(client, &self.table, &options, map, revision, choice, note)
            .await
            .map_err(|e| match e {
                resolve::ResolveError::Nothing(_) | resolve::ResolveError::RowsMoved { .. } => {
                    AppError::Usage(e.to_string())
                }
                other => AppError::database("resolving", other),
            })?;
        sink.emit(ExecEvent::HistoryRecorded {
            step_index: None,
            entry: Box::new(written.clone()),
        });
        Ok(written)
    }
}

/// How long a run that lost its connection keeps trying to reach the
/// server again to record the failed step: long enough for a restart or a
/// quick failover. A `transactional: false` step that stopped halfway and
/// went unrecorded would run again from its first statement next time.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(30);

/// Opens a new connection, trying again while the server cannot be reached
/// (shutting down, starting up, not listening) for up to [`RECONNECT_WAIT`].
async fn reconnect(settings: &ConnectionSettings) -> Result<MigrationConnection, AppError> {
    let deadline = Instant::now() + RECONNECT_WAIT;
    let mut pause = Duration::from_millis(100);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(left, open_connection(settings)).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(error)) => error,
            Err(_) => AppError::Connect("the server did not answer".to_string()),
        };
        if Instant::now() + pause >= deadline {
            let waited = RECONNECT_WAIT.as_secs();
            return Err(AppError::Connect(format!(
                "{error} (tried again for {waited} s)"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Connects with the environment's session settings; names the session
/// `retort` in `pg_stat_activity` unless the connection string names it.
async fn open_connection(settings: &ConnectionSettings) -> Result<MigrationConnection, AppError> {
    let mut pg_config = settings.pg_config.clone();
    if pg_config.get_application_name().is_none() {
        pg_config.application_name("retort");
    }
    connect_with(
        &pg_config,
        &session_settings(settings),
        transport(settings)?,
    )
    .await
    .map_err(|e| {
        // `e` already names the server; add where its settings came from.
        AppError::Connect(redact_url(&format!(
            "{e} (connection settings from {})",
            settings.url_source
        )))
    })
}

/// Forwards every event, keeping the history rows the run could not write.
struct UnrecordedCapture<'a> {
    inner: &'a dyn EventSink,
    entries: Mutex<Vec<(Option<usize>, HistoryEntry)>>,
}

impl UnrecordedCapture<'_> {
    fn take(&self) -> Vec<(Option<usize>, HistoryEntry)> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl EventSink for UnrecordedCapture<'_> {
    fn emit(&self, event: ExecEvent) {
        if let ExecEvent::HistoryUnrecorded {
            step_index, entry, ..
        } = &event
        {
            self.entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((*step_index, (**entry).clone()));
        }
        self.inner.emit(event);
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
