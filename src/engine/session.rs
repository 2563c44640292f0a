//! A session on the target database: the version and history tables
//! resolved once at connect, the migration lock, reads of retort's own
//! tables (watched for lock waits), and the plan's execution with the
//! recording of what a lost connection could not record.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{self, ConnectionSettings, redact_url};
use crate::core::graph::RevisionMap;
use crate::core::plan::Plan;
use crate::db::blockers::{LockWatch, TableGuard};
use crate::db::connect::{MigrationConnection, connect_with};
use crate::db::drift::{DriftReport, drift_report};
use crate::db::events::{EventSink, ExecError, ExecEvent};
use crate::db::executor::{ExecOptions, ExecSummary, execute_plan};
use crate::db::history::{Actor, HistoryEntry, HistoryFilter, HistoryOptions, HistoryTable};
use crate::db::lock::{self, LockError, MigrationLock, WaitPolicy};
use crate::db::resolve::{self, ResolveChoice};
use crate::db::timeouts::LockRetry;
use crate::db::version_table::{Site, VersionTable};
use crate::engine::error::{Error, Recovery, Unrecorded};
use crate::engine::project::{Project, lock_retry, session_settings, transport};

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
    ) -> Result<Database, Error> {
        let conn = open_connection(settings).await?;
        // Resolved once, before any revision SQL can change the search_path.
        let site = table
            .locate(conn.client())
            .await
            .map_err(|e| Error::database("resolving the version table's schema", e))?;
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
    pub async fn open(project: &Project, settings: &ConnectionSettings) -> Result<Database, Error> {
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
    pub async fn heads(&self) -> Result<Vec<String>, Error> {
        let client = self.conn.client();
        self.table_guard()
            .run(&*self.waits, &self.table.display_name(), "reading", || {
                self.table.read_heads(client)
            })
            .await
            .map_err(|e| Error::database("reading the version table", e))
    }

    /// Takes the migration lock (see `db::lock`), waiting per `policy` and
    /// reporting the holders to `sink` while it waits; `give_up` ends the
    /// wait. Held until [`Database::unlock`] or the connection closes.
    pub async fn lock(
        &mut self,
        policy: WaitPolicy,
        sink: &dyn EventSink,
        give_up: impl Future<Output = ()>,
    ) -> Result<(), Error> {
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
    pub async fn unlock(&mut self, sink: &dyn EventSink) -> Result<(), Error> {
        if self.conn.client().is_closed() {
            self.lock = None;
        }
        match self.lock.take() {
            Some(held) => held
                .release(self.conn.client(), sink)
                .await
                .map(|_| ())
                .map_err(Error::from),
            None => Ok(()),
        }
    }

    /// How the files of `map` compare with what the history recorded for
    /// the revisions applied under `rows`. Read-only.
    pub async fn drift_report(
        &self,
        map: &RevisionMap,
        rows: &[String],
    ) -> Result<DriftReport, Error> {
        let client = self.conn.client();
        self.read_history("reading the history for drift", || {
            drift_report(client, &self.history, map, rows)
        })
        .await
    }

    /// History rows, newest first. Read-only.
    pub async fn history_rows(&self, filter: &HistoryFilter) -> Result<Vec<HistoryEntry>, Error> {
        let client = self.conn.client();
        self.read_history("reading the history", || self.history.query(client, filter))
            .await
    }

    /// A read of the history table, watched for lock waits and retried
    /// after a lock timeout like every read of retort's own tables.
    async fn read_history<T, E, F>(&self, what: &str, read: impl Fn() -> F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, E>>,
        E: crate::db::blockers::TableError + std::error::Error + Send + Sync + 'static,
    {
        self.table_guard()
            .run(&*self.waits, &self.history.display_name(), "reading", read)
            .await
            .map_err(|e| Error::database(what, e))
    }

    /// Runs `plan`, recording every step in the history. A failure the
    /// run could not record on its connection (lost) is recorded on a new
    /// one, which then replaces it; what that found and wrote comes back
    /// with the error.
    /// `give_up` ends the wait for the old session before a lost COMMIT
    /// is judged (it is then reported as not known).
    pub async fn execute(
        &mut self,
        map: &RevisionMap,
        plan: &Plan,
        atomic: bool,
        sink: &dyn EventSink,
        give_up: impl Future<Output = ()>,
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
            .record_on_new_connection(unrecorded, commit_in_doubt, sink, give_up)
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
        give_up: impl Future<Output = ()>,
    ) -> Recovery {
        let mut recovery = Recovery {
            history_table: self.history.display_name(),
            ..Recovery::default()
        };
        let judged = self
            .recover(&entries, commit_in_doubt, sink, give_up, &mut recovery)
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
        give_up: impl Future<Output = ()>,
        recovery: &mut Recovery,
    ) -> Result<(), String> {
        let conn = reconnect(&self.settings).await.map_err(|e| e.to_string())?;
        // The old session is gone or going; the server releases its lock
        // when its backend exits.
        self.conn = conn;
        self.lock = None;
        self.lock(WaitPolicy::default(), sink, give_up)
            .await
            .map_err(|e| match e {
                Error::Lock(LockError::GaveUp { .. }) => "stopped waiting for the old session to \
                    end (it still holds the migration lock), so whether its last step took \
                    effect is not known yet; `retort current -v` and `retort log` tell once it \
                    has ended"
                    .to_string(),
                other => other.to_string(),
            })?;
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
    ) -> Result<HistoryEntry, Error> {
        let options = HistoryOptions::new(self.history.clone(), Actor::detect());
        let client = self.conn.client_mut();
        if options
            .table
            .ensure(client)
            .await
            .map_err(|e| Error::database("creating the history table", e))?
        {
            sink.emit(ExecEvent::HistoryTableCreated {
                table: options.table.display_name(),
            });
        }
        let written = resolve::resolve(client, &self.table, &options, map, revision, choice, note)
            .await
            .map_err(|e| match e {
                resolve::ResolveError::Nothing(_) | resolve::ResolveError::RowsMoved { .. } => {
                    Error::Usage(e.to_string())
                }
                other => Error::database("resolving", other),
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
async fn reconnect(settings: &ConnectionSettings) -> Result<MigrationConnection, Error> {
    let deadline = Instant::now() + RECONNECT_WAIT;
    let mut pause = Duration::from_millis(100);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(left, open_connection(settings)).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(error)) => error,
            Err(_) => Error::Connect("the server did not answer".to_string()),
        };
        if Instant::now() + pause >= deadline {
            let waited = RECONNECT_WAIT.as_secs();
            return Err(Error::Connect(format!(
                "{error} (tried again for {waited} s)"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Connects with the environment's session settings; names the session
/// `retort` in `pg_stat_activity` unless the connection string names it.
pub(crate) async fn open_connection(
    settings: &ConnectionSettings,
) -> Result<MigrationConnection, Error> {
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
        Error::Connect(redact_url(&format!(
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
