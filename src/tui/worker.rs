//! The console's database worker: a tokio task that owns the connection pool,
//! takes [`Command`]s over a channel and answers with [`WorkerEvent`]s.
//!
//! Runs belong to the engine's [`Migrator`], the same owner the command
//! line calls: on a session of their own, under the migration lock, planned
//! again from the version table as read under the lock and refused when
//! that plan is not the one the user approved, refused when a file of the
//! plan changed on disk, recorded in the audit history. The worker only
//! schedules: at most one run at a time, refreshes on pooled sessions so
//! the state can be re-read while a plan runs, and cancels through the
//! run's [`Cancellation`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::config::{Config, ConnectionSettings};
use crate::core::graph::RevisionMap;
use crate::core::lint::TableSize;
use crate::db::catalog::ReadOptions;
use crate::db::drift::{DriftReport, drift_report};
use crate::db::history::{HistoryEntry, HistoryFilter, HistoryTable};
use crate::db::{ConnectError, ExecEvent, MigrationPool, VersionTable};
use crate::engine::rehearse::{
    Outcome as Rehearsed, Progress, Rehearsal, RehearseRequest, rehearsal_server, rehearse,
};
use crate::engine::{CancelReach, Cancellation, Error, Migrator, RunError, RunReport};
use crate::engine::{Database, Project, protected_environment};
pub use crate::tui::form_autogen::{AutogenOrder, AutogenOutcome};
use crate::tui::form_autogen::{FormAutogenSetup, autogenerate_for_form};

/// What the console asks of the worker.
pub enum Command {
    /// Re-read the version table, the server's identity and the drift of
    /// the files of `map`.
    Refresh(Arc<RevisionMap>),
    Run(RunRequest),
    /// Read the audit history, newest first; only rows of revisions
    /// starting with `revision` when given.
    History {
        revision: Option<String>,
    },
    /// Read the live sizes of these tables (as a plan's SQL names them)
    /// for the lint in the plan dialog.
    TableSizes {
        names: Vec<String>,
    },
    /// Cancel the running plan (no-op when none runs).
    Cancel,
    /// Rehearse a plan's target on a throwaway database (a newer one
    /// replaces a rehearsal still going).
    Rehearse(RehearseOrder),
    /// Stop rehearsal `id` (no-op when it is over).
    CancelRehearsal(u64),
    /// Autogenerate the new-revision form's SQL (a newer order replaces
    /// one still going).
    Autogenerate(AutogenOrder),
    /// Stop autogenerate `id` (no-op when it is over).
    CancelAutogenerate(u64),
    Shutdown,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Refresh(map) => write!(f, "Refresh({} revisions)", map.len()),
            Command::Run(request) => write!(f, "Run({request:?})"),
            Command::History { revision } => write!(f, "History({revision:?})"),
            Command::TableSizes { names } => write!(f, "TableSizes({names:?})"),
            Command::Cancel => f.write_str("Cancel"),
            Command::Rehearse(order) => write!(f, "Rehearse({}, {})", order.id, order.target),
            Command::CancelRehearsal(id) => write!(f, "CancelRehearsal({id})"),
            Command::Autogenerate(order) => write!(f, "Autogenerate({}, {})", order.id, order.head),
            Command::CancelAutogenerate(id) => write!(f, "CancelAutogenerate({id})"),
            Command::Shutdown => f.write_str("Shutdown"),
        }
    }
}

/// A run for the migrator, with the map its plan was made from.
pub struct RunRequest {
    /// Chosen by the console, echoed in every event of the run.
    pub id: u64,
    pub map: Arc<RevisionMap>,
    /// The intent, the approved plan and the user's consent.
    pub run: crate::engine::RunRequest,
}

impl std::fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRequest")
            .field("id", &self.id)
            .field("intent", &self.run.intent)
            .finish()
    }
}

/// A rehearsal for the engine: the plan dialog's files and target.
pub struct RehearseOrder {
    /// Chosen by the console, echoed in its events.
    pub id: u64,
    pub map: Arc<RevisionMap>,
    /// `heads` or a revision.
    pub target: String,
}

/// How a rehearsal ended.
#[derive(Debug)]
pub enum RehearsalOutcome {
    Done(Box<Rehearsal>),
    Cancelled,
    /// It could not run (no server, a refusal): why.
    Failed(String),
}

/// What the database looks like, as of one refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    /// Rows of the version table, sorted; empty when it does not exist.
    pub rows: Vec<String>,
    pub table_exists: bool,
    /// `server_version`, e.g. `15.4`.
    pub server_version: String,
    pub database: String,
    pub user: String,
    /// `lock_timeout` of the console's sessions as the server reports it
    /// (`0`: no limit): the server's, database's and role's settings, the
    /// connection's options and the environment's, as a run gets them.
    pub lock_timeout: String,
    /// Where the files and the recorded history disagree; `Err` says why
    /// the history could not be read.
    pub drift: Result<DriftReport, String>,
}

#[derive(Debug)]
pub enum WorkerEvent {
    /// A refresh started (a connection may be opened).
    Refreshing,
    State(DbState),
    /// The server could not be reached or queried; the text says why.
    Unreachable(String),
    /// An event of the executor (or of the lock) for run `run`.
    Exec {
        run: u64,
        event: ExecEvent,
    },
    /// The run is over.
    RunFinished {
        run: u64,
        outcome: Result<RunReport, RunError>,
    },
    /// Another run was still going; nothing was started.
    RunRefused {
        run: u64,
        reason: String,
    },
    /// The audit history asked for with [`Command::History`].
    History {
        revision: Option<String>,
        rows: Result<Vec<HistoryEntry>, String>,
    },
    /// The sizes asked for with [`Command::TableSizes`], by name; a table
    /// that does not exist has none.
    TableSizes {
        names: Vec<String>,
        sizes: Result<BTreeMap<String, TableSize>, String>,
    },
    /// The outcome of a cancel request: `Ok(true)` sent to the server,
    /// `Ok(false)` nothing was running.
    CancelSent(Result<bool, String>),
    /// Where rehearsal `id` is, in a line.
    RehearsalProgress {
        id: u64,
        line: String,
    },
    Rehearsed {
        id: u64,
        outcome: RehearsalOutcome,
    },
    /// Where autogenerate `id` is, in a line.
    AutogenProgress {
        id: u64,
        line: String,
    },
    Autogenerated {
        id: u64,
        outcome: AutogenOutcome,
    },
}

/// What the worker connects with.
pub struct WorkerSetup {
    /// Pooled sessions for refreshes; `None` when no connection could be
    /// configured.
    pub pool: Option<MigrationPool>,
    /// The connection, for the session of each run.
    pub settings: Option<ConnectionSettings>,
    /// Why there is no pool, reported by every refresh and run.
    pub no_pool_reason: String,
    pub table: VersionTable,
    pub history: HistoryTable,
    /// Where the revision files live, for the migrator's messages.
    pub migrations_dir: PathBuf,
    /// The project's configuration, for rehearsals.
    pub config: Config,
    /// The environment's `rehearsal_url` server when it has one; `Err`
    /// says why it could not be resolved.
    pub rehearsal_server: Result<Option<ConnectionSettings>, String>,
}

/// The worker's side of the channels.
pub struct WorkerHandle {
    pub commands: UnboundedSender<Command>,
    pub task: JoinHandle<()>,
}

/// Starts the worker on the current tokio runtime.
pub fn spawn_worker(setup: WorkerSetup, events: UnboundedSender<WorkerEvent>) -> WorkerHandle {
    let (commands, receiver) = unbounded_channel();
    let worker = Worker {
        setup: Arc::new(setup),
        events,
        run: None,
        rehearsal: None,
        scratch_threads: Vec::new(),
        autogen: None,
        refresh: RefreshState::Idle,
    };
    let task = tokio::spawn(worker.serve(receiver));
    WorkerHandle { commands, task }
}

struct ActiveRun {
    id: u64,
    cancel: Cancellation,
    /// Awaited when the worker shuts down, so the run rolls back or records
    /// its step and releases the migration lock before the process ends.
    task: JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Idle,
    Running,
    /// Running, and another was asked for meanwhile (with this map).
    RunningAndQueued,
}

/// Messages from the worker's own tasks back to its loop.
enum Internal {
    RunEnded(u64),
    RehearsalOver(u64),
    AutogenOver(u64),
    RefreshEnded,
}

struct Worker {
    setup: Arc<WorkerSetup>,
    events: UnboundedSender<WorkerEvent>,
    run: Option<ActiveRun>,
    /// The rehearsal going, by id.
    rehearsal: Option<(u64, Cancellation)>,
    /// The threads of rehearsals and autogenerate jobs not known to be
    /// over (a replaced one still drops its scratch databases), waited for
    /// at shutdown.
    scratch_threads: Vec<std::thread::JoinHandle<()>>,
    /// The form's autogenerate going, by id.
    autogen: Option<(u64, Cancellation)>,
    refresh: RefreshState,
}

impl Worker {
    async fn serve(mut self, mut commands: UnboundedReceiver<Command>) {
        let (internal_tx, mut internal) = unbounded_channel();
        let mut latest_map: Option<Arc<RevisionMap>> = None;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(Command::Refresh(map)) => {
                        latest_map = Some(Arc::clone(&map));
                        self.start_refresh(map, &internal_tx);
                    }
                    Some(Command::Run(request)) => {
                        latest_map = Some(Arc::clone(&request.map));
                        self.start_run(request, &internal_tx);
                    }
                    Some(Command::Cancel) => self.cancel(),
                    Some(Command::Rehearse(order)) => self.start_rehearsal(order, &internal_tx),
                    Some(Command::CancelRehearsal(id)) => self.cancel_rehearsal(id),
                    Some(Command::Autogenerate(order)) => self.start_autogen(order, &internal_tx),
                    Some(Command::CancelAutogenerate(id)) => self.cancel_autogen(id),
                    Some(Command::History { revision }) => self.read_history(revision),
                    Some(Command::TableSizes { names }) => self.read_table_sizes(names),
                },
                Some(message) = internal.recv() => match message {
                    Internal::RunEnded(id) => {
                        if self.run.as_ref().is_some_and(|r| r.id == id) {
                            self.run = None;
                        }
                        // The version table moved: show where it is now.
                        if let Some(map) = &latest_map {
                            self.start_refresh(Arc::clone(map), &internal_tx);
                        }
                    }
                    Internal::RehearsalOver(id) => {
                        if self.rehearsal.as_ref().is_some_and(|(going, _)| *going == id) {
                            self.rehearsal = None;
                        }
                    }
                    Internal::AutogenOver(id) => {
                        if self.autogen.as_ref().is_some_and(|(going, _)| *going == id) {
                            self.autogen = None;
                        }
                    }
                    Internal::RefreshEnded => {
                        let again = self.refresh == RefreshState::RunningAndQueued;
                        self.refresh = RefreshState::Idle;
                        if let (true, Some(map)) = (again, &latest_map) {
                            self.start_refresh(Arc::clone(map), &internal_tx);
                        }
                    }
                },
            }
        }
        // Leaving: stop a run still going so the server rolls its
        // transaction back instead of letting it linger, and let it finish
        // recording and unlocking (bounded: recording a lost step may wait
        // for the server to come back).
        if let Some((_, cancel)) = self.rehearsal.take() {
            // Its scratch database is dropped as it stops.
            let _ = cancel.request().await;
        }
        if let Some((_, cancel)) = self.autogen.take() {
            // Its scratch databases are dropped as it stops.
            let _ = cancel.request().await;
        }
        if let Some(run) = self.run.take() {
            let _ = run.cancel.request().await;
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, run.task).await;
        }
        // Cancelled above, the rehearsals stop while the run does.
        wait_for_threads(std::mem::take(&mut self.scratch_threads)).await;
    }

    fn emit(&self, event: WorkerEvent) {
        // The console going away ends the worker through its command channel.
        let _ = self.events.send(event);
    }

    fn start_refresh(&mut self, map: Arc<RevisionMap>, internal: &UnboundedSender<Internal>) {
        if self.refresh != RefreshState::Idle {
            self.refresh = RefreshState::RunningAndQueued;
            return;
        }
        let Some(pool) = self.setup.pool.clone() else {
            self.emit(WorkerEvent::Unreachable(self.setup.no_pool_reason.clone()));
            return;
        };
        self.refresh = RefreshState::Running;
        self.emit(WorkerEvent::Refreshing);
        let setup = Arc::clone(&self.setup);
        let events = self.events.clone();
        let internal = internal.clone();
        tokio::spawn(async move {
            let event = match read_state(&pool, &setup, &map).await {
                Ok(state) => WorkerEvent::State(state),
                Err(reason) => WorkerEvent::Unreachable(reason),
            };
            let _ = events.send(event);
            let _ = internal.send(Internal::RefreshEnded);
        });
    }

    fn start_run(&mut self, request: RunRequest, internal: &UnboundedSender<Internal>) {
        if let Some(active) = &self.run {
            self.emit(WorkerEvent::RunRefused {
                run: request.id,
                reason: format!(
                    "plan {} is still running; wait for it or cancel it",
                    active.id
                ),
            });
            return;
        }
        let Some(settings) = self.setup.settings.clone() else {
            self.emit(WorkerEvent::RunRefused {
                run: request.id,
                reason: self.setup.no_pool_reason.clone(),
            });
            return;
        };
        let cancel = Cancellation::new();
        let setup = Arc::clone(&self.setup);
        let events = self.events.clone();
        let internal = internal.clone();
        let id = request.id;
        let run_cancel = cancel.clone();
        let task = tokio::spawn(async move {
            let outcome = run_plan(&settings, &setup, request, &run_cancel, &events).await;
            let _ = events.send(WorkerEvent::RunFinished { run: id, outcome });
            let _ = internal.send(Internal::RunEnded(id));
        });
        self.run = Some(ActiveRun { id, cancel, task });
    }

    fn start_rehearsal(&mut self, order: RehearseOrder, internal: &UnboundedSender<Internal>) {
        self.cancel_rehearsal_going();
        let cancel = Cancellation::new();
        self.rehearsal = Some((order.id, cancel.clone()));
        let setup = Arc::clone(&self.setup);
        let events = self.events.clone();
        let internal = internal.clone();
        let id = order.id;
        let rehearsal = move || async move {
            let outcome = rehearse_plan(&setup, order, &cancel, &events).await;
            let _ = events.send(WorkerEvent::Rehearsed { id, outcome });
            let _ = internal.send(Internal::RehearsalOver(id));
        };
        if let Err(e) = self.spawn_schema_job("retort rehearsal", rehearsal) {
            self.rehearsal = None;
            self.emit(WorkerEvent::Rehearsed {
                id,
                outcome: RehearsalOutcome::Failed(format!("cannot start its thread: {e}")),
            });
        }
    }

    /// Starts a job that reads and compares schemas on a thread of its
    /// own, driving it on this runtime: that recurses deeper than a runtime
    /// worker's stack allows (the command line runs it on the main
    /// thread). The job is made on that thread, so it need not be `Send`.
    /// Its thread is kept, so shutdown can wait for its scratch databases
    /// to be dropped.
    fn spawn_schema_job<F>(
        &mut self,
        name: &str,
        make_job: impl FnOnce() -> F + Send + 'static,
    ) -> std::io::Result<()>
    where
        F: std::future::Future<Output = ()>,
    {
        let runtime = tokio::runtime::Handle::current();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .stack_size(SCHEMA_JOB_STACK)
            .spawn(move || runtime.block_on(make_job()))?;
        self.scratch_threads.retain(|t| !t.is_finished());
        self.scratch_threads.push(thread);
        Ok(())
    }

    fn start_autogen(&mut self, order: AutogenOrder, internal: &UnboundedSender<Internal>) {
        self.cancel_autogen_going();
        let cancel = Cancellation::new();
        self.autogen = Some((order.id, cancel.clone()));
        let setup = Arc::clone(&self.setup);
        let events = self.events.clone();
        let internal = internal.clone();
        let id = order.id;
        let job = move || async move {
            let form_setup = FormAutogenSetup {
                server: setup.settings.as_ref().ok_or(setup.no_pool_reason.as_str()),
                config: &setup.config,
                project: project_of(&setup, &order.map),
            };
            let say = |line: String| {
                let _ = events.send(WorkerEvent::AutogenProgress { id, line });
            };
            let outcome = autogenerate_for_form(form_setup, order, &cancel, &say).await;
            let _ = events.send(WorkerEvent::Autogenerated { id, outcome });
            let _ = internal.send(Internal::AutogenOver(id));
        };
        if let Err(e) = self.spawn_schema_job("retort autogenerate", job) {
            self.autogen = None;
            self.emit(WorkerEvent::Autogenerated {
                id,
                outcome: AutogenOutcome::Failed(format!("cannot start its thread: {e}")),
            });
        }
    }

    fn cancel_autogen(&mut self, id: u64) {
        if self.autogen.as_ref().is_some_and(|(going, _)| *going == id) {
            self.cancel_autogen_going();
        }
    }

    fn cancel_autogen_going(&mut self) {
        if let Some((_, cancel)) = self.autogen.take() {
            tokio::spawn(async move {
                let _ = cancel.request().await;
            });
        }
    }

    fn cancel_rehearsal(&mut self, id: u64) {
        if self
            .rehearsal
            .as_ref()
            .is_some_and(|(going, _)| *going == id)
        {
            self.cancel_rehearsal_going();
        }
    }

    fn cancel_rehearsal_going(&mut self) {
        if let Some((_, cancel)) = self.rehearsal.take() {
            tokio::spawn(async move {
                let _ = cancel.request().await;
            });
        }
    }

    fn read_history(&self, revision: Option<String>) {
        let events = self.events.clone();
        let setup = Arc::clone(&self.setup);
        tokio::spawn(async move {
            let rows = match &setup.pool {
                Some(pool) => read_history(pool, &setup.history, revision.clone()).await,
                None => Err(setup.no_pool_reason.clone()),
            };
            let _ = events.send(WorkerEvent::History { revision, rows });
        });
    }

    /// On a pooled session, beside refreshes: catalog reads only.
    fn read_table_sizes(&self, names: Vec<String>) {
        let events = self.events.clone();
        let setup = Arc::clone(&self.setup);
        tokio::spawn(async move {
            let sizes = match &setup.pool {
                Some(pool) => read_table_sizes(pool, &names).await,
                None => Err(setup.no_pool_reason.clone()),
            };
            let _ = events.send(WorkerEvent::TableSizes { names, sizes });
        });
    }

    fn cancel(&mut self) {
        let Some(run) = &self.run else {
            self.emit(WorkerEvent::CancelSent(Ok(false)));
            return;
        };
        let cancel = run.cancel.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let sent = cancel
                .request()
                .await
                .map(|reach| reach != CancelReach::Finished)
                .map_err(|e| e.to_string());
            let _ = events.send(WorkerEvent::CancelSent(sent));
        });
    }
}

/// How long shutting down waits for a cancelled run to record its outcome
/// and release the migration lock: a lost connection is retried for
/// `engine::RECONNECT_WAIT`, plus time to write.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(45);

/// How long shutting down waits for cancelled rehearsals to drop their
/// scratch databases (a DROP DATABASE waits for the scratch sessions to end).
pub const REHEARSAL_SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

/// Waits, up to [`REHEARSAL_SHUTDOWN_WAIT`], for the rehearsal threads to
/// end. A std thread has no join to await, so it polls: shutdown is the
/// only wait, and a short one.
async fn wait_for_threads(threads: Vec<std::thread::JoinHandle<()>>) {
    let deadline = tokio::time::Instant::now() + REHEARSAL_SHUTDOWN_WAIT;
    while threads.iter().any(|t| !t.is_finished()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A schema job's thread stack: twice a main thread's.
const SCHEMA_JOB_STACK: usize = 16 * 1024 * 1024;

/// How long a refresh may take before the server counts as unreachable.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(15);

async fn read_state(
    pool: &MigrationPool,
    setup: &WorkerSetup,
    map: &RevisionMap,
) -> Result<DbState, String> {
    let read = async {
        let conn = pool.get().await.map_err(|e| match e {
            // The header names the server already; the cause is what matters.
            ConnectError::Pool { cause, .. } | ConnectError::Connect { cause, .. } => cause,
            other => other.to_string(),
        })?;
        let client = conn.client();
        let row = client
            .query_one(
                "SELECT current_setting('server_version'), current_database()::text, \
                 current_user::text, current_setting('lock_timeout')",
                &[],
            )
            .await
            .map_err(|e| {
                format!(
                    "cannot read the server's identity: {}",
                    crate::db::connect::describe_error(&e)
                )
            })?;
        let server_version: String = row.try_get(0).map_err(|e| e.to_string())?;
        // Packagers append their build ("15.4 (Debian 15.4-1)"); the number is enough.
        let server_version = server_version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let database: String = row.try_get(1).map_err(|e| e.to_string())?;
        let user: String = row.try_get(2).map_err(|e| e.to_string())?;
        let lock_timeout: String = row.try_get(3).map_err(|e| e.to_string())?;
        let table_exists = setup
            .table
            .exists(client)
            .await
            .map_err(|e| e.to_string())?;
        let rows = setup
            .table
            .read_heads(client)
            .await
            .map_err(|e| e.to_string())?;
        let drift = drift_report(client, &setup.history, map, &rows)
            .await
            .map_err(|e| e.to_string());
        Ok(DbState {
            rows,
            table_exists,
            server_version,
            database,
            user,
            lock_timeout,
            drift,
        })
    };
    match tokio::time::timeout(REFRESH_TIMEOUT, read).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer from {} within {} s",
            pool.target(),
            REFRESH_TIMEOUT.as_secs()
        )),
    }
}

/// Rows of the audit history shown at most (newest first).
const HISTORY_ROWS: i64 = 1_000;

async fn read_history(
    pool: &MigrationPool,
    history: &HistoryTable,
    revision: Option<String>,
) -> Result<Vec<HistoryEntry>, String> {
    let conn = pool.get().await.map_err(|e| e.to_string())?;
    let filter = HistoryFilter {
        revision,
        limit: Some(HISTORY_ROWS),
    };
    history
        .query(conn.client(), &filter)
        .await
        .map_err(|e| e.to_string())
}

async fn read_table_sizes(
    pool: &MigrationPool,
    names: &[String],
) -> Result<BTreeMap<String, TableSize>, String> {
    let conn = pool.get().await.map_err(|e| e.to_string())?;
    crate::db::table_sizes::read_table_sizes(conn.client(), names)
        .await
        .map_err(|e| crate::db::connect::describe_error(&e))
}

/// Forwards the run's events to the console.
struct RunSink<'a> {
    run: u64,
    events: &'a UnboundedSender<WorkerEvent>,
}

impl crate::db::EventSink for RunSink<'_> {
    fn emit(&self, event: ExecEvent) {
        let _ = self.events.send(WorkerEvent::Exec {
            run: self.run,
            event,
        });
    }
}

/// Opens the run's own session and hands the run to the migrator.
async fn run_plan(
    settings: &ConnectionSettings,
    setup: &WorkerSetup,
    request: RunRequest,
    cancel: &Cancellation,
    events: &UnboundedSender<WorkerEvent>,
) -> Result<RunReport, RunError> {
    let sink = RunSink {
        run: request.id,
        events,
    };
    let opened = tokio::select! {
        db = Database::connect(settings, setup.table.clone()) => Some(db?),
        () = cancel.requested() => None,
    };
    let Some(db) = opened else {
        return Err(Error::CancelledBeforeStart.into());
    };
    let waits = {
        let (events, run) = (events.clone(), request.id);
        move |event: ExecEvent| {
            let _ = events.send(WorkerEvent::Exec { run, event });
        }
    };
    let mut db = db
        .with_history_table(setup.history.clone())
        .report_waits_to(Arc::new(waits));
    let migrator = Migrator {
        map: &request.map,
        migrations_dir: &setup.migrations_dir,
        protected: protected_environment(settings),
    };
    migrator.run(&mut db, &request.run, &sink, cancel).await
}

/// Rehearses the order's target with the dialog's own files; the live
/// database is only read (the engine's guarantee).
async fn rehearse_plan(
    setup: &WorkerSetup,
    order: RehearseOrder,
    cancel: &Cancellation,
    events: &UnboundedSender<WorkerEvent>,
) -> RehearsalOutcome {
    let Some(live) = setup.settings.clone() else {
        return RehearsalOutcome::Failed(setup.no_pool_reason.clone());
    };
    let configured = match &setup.rehearsal_server {
        Ok(configured) => configured.clone(),
        Err(why) => return RehearsalOutcome::Failed(why.clone()),
    };
    let project = match project_of(setup, &order.map) {
        Ok(project) => project,
        Err(why) => return RehearsalOutcome::Failed(why),
    };
    let id = order.id;
    let say = {
        let events = events.clone();
        move |line: String| {
            let _ = events.send(WorkerEvent::RehearsalProgress { id, line });
        }
    };
    let cluster_progress = {
        let say = say.clone();
        move |line: &str| say(line.to_string())
    };
    let chosen = tokio::select! {
        server = rehearsal_server(&live, configured, &cluster_progress) => server,
        () = cancel.requested() => return RehearsalOutcome::Cancelled,
    };
    let server = match chosen {
        Ok(server) => server,
        Err(e) => return RehearsalOutcome::Failed(e.redacted()),
    };
    let request = RehearseRequest {
        project: &project,
        live: &live,
        server: server.settings(),
        target: order.target.clone(),
        all: false,
        options: ReadOptions::default(),
    };
    let progress = |progress: Progress| say(progress_line(&progress));
    match rehearse(&request, &progress, cancel).await {
        Ok(Rehearsed::Done(rehearsal)) => RehearsalOutcome::Done(rehearsal),
        Ok(Rehearsed::Cancelled) => RehearsalOutcome::Cancelled,
        Err(e) => RehearsalOutcome::Failed(e.redacted()),
    }
}

/// The project as the dialog planned it: its files, not a newer reading.
pub(crate) fn project_of(setup: &WorkerSetup, map: &RevisionMap) -> Result<Project, String> {
    let map = RevisionMap::build(map.revisions().to_vec()).map_err(|e| e.to_string())?;
    Ok(Project {
        config: setup.config.clone(),
        migrations_dir: setup.migrations_dir.clone(),
        map,
    })
}

fn progress_line(progress: &Progress) -> String {
    match progress {
        Progress::ScratchCreated { name, server } => {
            format!("scratch database {name} made on {server} (dropped afterwards)")
        }
        Progress::Step {
            index,
            total,
            label,
        } => format!("step {}/{total}: {label}", index + 1),
    }
}
