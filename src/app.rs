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
use crate::core::plan::{Plan, PlanError};
use crate::db::blockers::{LockWatch, TableGuard};
use crate::db::connect::{MigrationConnection, SessionSettings, Transport, connect_with};
use crate::db::drift::{DriftReport, drift_report};
use crate::db::events::{EventSink, ExecError, ExecEvent};
use crate::db::executor::{ExecOptions, ExecSummary, execute_plan};
use crate::db::history::{
    Actor, HistoryEntry, HistoryFilter, HistoryOptions, HistoryStatus, HistoryTable,
};
use crate::db::lock::{self, MigrationLock, WaitPolicy};
use crate::db::resolve::{self, ResolveChoice};
use crate::db::timeouts::LockRetry;
use crate::db::version_table::{Site, VersionTable};
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

    /// The same error with a further line of explanation.
    pub fn with_note(self, note: &str) -> AppError {
        match self {
            AppError::Input(m) => AppError::Input(format!("{m}\n  {note}")),
            AppError::Database(m) => AppError::Database(format!("{m}\n  {note}")),
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
    .map_err(|e| AppError::Input(e.to_string()))?;
    if let Some(warning) = env_overridden_warning(options, &settings) {
        eprintln!("{warning}");
    }
    Ok(settings)
}

/// `-e prod` while DATABASE_URL is set connects where DATABASE_URL points
/// (the documented order), which is easy to miss under pressure: say so.
fn env_overridden_warning(
    options: &GlobalOptions,
    settings: &ConnectionSettings,
) -> Option<String> {
    let env = options.env.as_deref()?;
    (options.database_url.is_none() && settings.url_source == "DATABASE_URL").then(|| {
        format!(
            "WARNING: -e {env} applies {env}'s settings, but the connection comes from DATABASE_URL: {}",
            settings.display
        )
    })
}

/// The name of the chosen environment when it is protected: a downgrade,
/// a stamp (with or without `--purge`) or `resolve --applied` there needs
/// that name typed to confirm (`--confirm NAME`, or the console's dialog).
pub fn protected_environment(settings: &ConnectionSettings) -> Option<&str> {
    settings
        .env
        .as_ref()
        .filter(|e| e.protected)
        .map(|e| e.name.as_str())
}

/// Checks the typed confirmation of `action` ("downgrade", "stamp", ...)
/// on a protected environment; the error says exactly what to type.
/// Checked before connecting.
pub fn confirm_protected(
    settings: &ConnectionSettings,
    action: &str,
    given: Option<&str>,
) -> Result<(), AppError> {
    let Some(name) = protected_environment(settings) else {
        return Ok(());
    };
    match given {
        Some(typed) if typed == name => Ok(()),
        Some(typed) => Err(AppError::Input(format!(
            "--confirm '{typed}' does not match the protected environment '{name}'; nothing was \
             run. To go ahead with this {action}, type its name exactly: --confirm {name}"
        ))),
        None => Err(AppError::Input(format!(
            "environment '{name}' is protected: a {action} needs confirmation; nothing was run. \
             To go ahead, run the same command again with --confirm {name}"
        ))),
    }
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
        AppError::Input(redact_url(&format!(
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
            .map_err(|e| AppError::Database(e.to_string()))?;
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
            .map_err(|e| AppError::Database(e.to_string()))
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
        let taken = lock::acquire(self.conn.client(), &self.table, policy, sink, give_up)
            .await
            .map_err(|e| AppError::Database(e.to_string()))?;
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
                .map_err(|e| AppError::Database(e.to_string())),
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
            .map_err(|e| AppError::Database(e.to_string()))
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
            .map_err(|e| AppError::Database(e.to_string()))
    }

    /// Runs `plan`, recording every step in the history. A failure the
    /// run could not record on its connection (lost) is recorded on a new
    /// one, which then replaces it (the lock went with the old one).
    pub async fn execute(
        &mut self,
        map: &RevisionMap,
        plan: &Plan,
        atomic: bool,
        sink: &dyn EventSink,
    ) -> Result<ExecSummary, AppError> {
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
        let commit_in_doubt =
            matches!(&error, ExecError::Database { context, .. } if context == "COMMIT");
        let error = AppError::from(error);
        if unrecorded.is_empty() {
            return Err(error);
        }
        let partial: Vec<HistoryEntry> = unrecorded
            .iter()
            .filter(|(_, entry)| entry.status == HistoryStatus::Partial)
            .map(|(_, entry)| entry.clone())
            .collect();
        match self.record_on_new_connection(unrecorded, sink).await {
            Ok(confirmed) if confirmed.is_empty() && commit_in_doubt => {
                Err(error.with_note(&format!(
                    "a new connection found no success row of the step in {}: the COMMIT did \
                     not take effect",
                    self.history.display_name()
                )))
            }
            Ok(confirmed) => Err(confirmed.iter().fold(error, |error, entry| {
                error.with_note(&format!(
                    "a new connection found the success row of the {} of {} in {}: the COMMIT \
                     took effect; the run stopped after it",
                    entry.direction,
                    entry.revision,
                    self.history.display_name()
                ))
            })),
            Err(why) => Err(partial.iter().fold(error.with_note(&why), |error, entry| {
                error.with_note(&unrecorded_partial_advice(entry))
            })),
        }
    }

    /// Returns the entries not written because their step committed after
    /// all (the connection was lost before the server answered the COMMIT).
    async fn record_on_new_connection(
        &mut self,
        entries: Vec<(Option<usize>, HistoryEntry)>,
        sink: &dyn EventSink,
    ) -> Result<Vec<HistoryEntry>, String> {
        let cannot = |cause: String| {
            format!(
                "the failure could not be recorded in {}: {cause}",
                self.history.display_name()
            )
        };
        let conn = reconnect(&self.settings)
            .await
            .map_err(|e| cannot(e.to_string()))?;
        // The old session is gone, and the server released its lock with it.
        self.conn = conn;
        self.lock = None;
        let client = self.conn.client();
        self.history
            .ensure(client)
            .await
            .map_err(|e| cannot(e.to_string()))?;
        let mut confirmed = Vec::new();
        for (step_index, entry) in entries {
            if self
                .history
                .committed(client, &entry)
                .await
                .map_err(|e| cannot(e.to_string()))?
            {
                sink.emit(ExecEvent::CommitConfirmed {
                    step_index,
                    entry: Box::new(entry.clone()),
                });
                confirmed.push(entry);
                continue;
            }
            let written = self
                .history
                .insert(client, &entry)
                .await
                .map_err(|e| cannot(e.to_string()))?;
            sink.emit(ExecEvent::HistoryRecorded {
                step_index,
                entry: Box::new(written),
            });
        }
        Ok(confirmed)
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
            .map_err(|e| AppError::Database(e.to_string()))?
        {
            sink.emit(ExecEvent::HistoryTableCreated {
                table: options.table.display_name(),
            });
        }
        let written = resolve::resolve(client, &self.table, &options, map, revision, choice, note)
            .await
            .map_err(|e| match e {
                resolve::ResolveError::Nothing(_) | resolve::ResolveError::RowsMoved { .. } => {
                    AppError::Input(e.to_string())
                }
                other => AppError::Database(other.to_string()),
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
            Err(_) => AppError::Database("the server did not answer".to_string()),
        };
        if Instant::now() + pause >= deadline {
            let waited = RECONNECT_WAIT.as_secs();
            return Err(error.with_note(&format!("(tried again for {waited} s)")));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// What to do about a step that stopped halfway when not even a new
/// connection could record it: nothing will stop the next run.
fn unrecorded_partial_advice(entry: &HistoryEntry) -> String {
    let revision = &entry.revision;
    let target = match entry.planned_heads_after.as_slice() {
        [] => "base".to_string(),
        heads => heads.join(" "),
    };
    format!(
        "the {} of {revision} (transactional: false) stopped halfway and this is NOT recorded: \
         the next run would start {revision} again from its first statement. Before running \
         retort again, either run its remaining statements by hand and then `retort stamp \
         {target}`, or undo the statements that ran",
        entry.direction
    )
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
        AppError::Database(redact_url(&format!(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::HistoryDirection;

    fn partial(direction: HistoryDirection, planned: &[&str]) -> HistoryEntry {
        let actor = Actor {
            os_user: None,
            host: None,
            retort_version: "0".into(),
        };
        let mut entry = HistoryEntry::new("run", &actor, "b2", direction, HistoryStatus::Partial);
        entry.planned_heads_after = planned.iter().map(|h| h.to_string()).collect();
        entry
    }

    #[test]
    fn an_unrecorded_partial_step_says_the_next_run_would_repeat_it() {
        let advice = unrecorded_partial_advice(&partial(HistoryDirection::Upgrade, &["b2", "x9"]));
        assert!(advice.contains("the upgrade of b2"), "{advice}");
        assert!(advice.contains("NOT recorded"), "{advice}");
        assert!(
            advice.contains("again from its first statement"),
            "{advice}"
        );
        assert!(advice.contains("`retort stamp b2 x9`"), "{advice}");
    }

    #[test]
    fn an_unrecorded_partial_downgrade_to_base_stamps_base() {
        let advice = unrecorded_partial_advice(&partial(HistoryDirection::Downgrade, &[]));
        assert!(advice.contains("the downgrade of b2"), "{advice}");
        assert!(advice.contains("`retort stamp base`"), "{advice}");
    }
}
