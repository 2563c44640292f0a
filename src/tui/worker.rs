//! The console's database worker: a tokio task that owns the connection pool,
//! takes [`Command`]s over a channel and answers with [`WorkerEvent`]s.
//!
//! Plans are made by the core and run by `db::execute_plan`; the worker only
//! schedules them: at most one run at a time, refreshes on their own pooled
//! connection so the state can be re-read while a plan runs, and cancels
//! through the run's `CancelHandle` (a PostgreSQL cancel request).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::core::graph::RevisionMap;
use crate::core::plan::Plan;
use crate::db::events::Cancelled;
use crate::db::{
    CancelHandle, ConnectError, ExecError, ExecEvent, ExecOptions, ExecSummary, MigrationPool,
    VersionTable, execute_plan,
};

/// What the console asks of the worker.
#[derive(Debug)]
pub enum Command {
    /// Re-read the version table and the server's identity.
    Refresh,
    Run(RunRequest),
    /// Cancel the running plan (no-op when none runs).
    Cancel,
    Shutdown,
}

/// A plan to execute, with the map it was made from.
pub struct RunRequest {
    /// Chosen by the console, echoed in every event of the run.
    pub id: u64,
    pub map: Arc<RevisionMap>,
    pub plan: Plan,
}

impl std::fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRequest")
            .field("id", &self.id)
            .field("steps", &self.plan.steps.len())
            .finish()
    }
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
}

#[derive(Debug)]
pub enum WorkerEvent {
    /// A refresh started (a connection may be opened).
    Refreshing,
    State(DbState),
    /// The server could not be reached or queried; the text says why.
    Unreachable(String),
    /// An event of the executor for run `run`.
    Exec {
        run: u64,
        event: ExecEvent,
    },
    /// The run is over (the executor has already sent `PlanFinished` or
    /// `PlanFailed` unless the run could not start at all).
    RunFinished {
        run: u64,
        outcome: Result<ExecSummary, ExecError>,
    },
    /// Another run was still going; nothing was started.
    RunRefused {
        run: u64,
        reason: String,
    },
    /// The outcome of a cancel request: `Ok(true)` sent to the server,
    /// `Ok(false)` nothing was running.
    CancelSent(Result<bool, String>),
}

/// The worker's side of the channels.
pub struct WorkerHandle {
    pub commands: UnboundedSender<Command>,
    pub task: JoinHandle<()>,
}

/// Starts the worker on the current tokio runtime. `pool` is `None` when no
/// connection could be configured; `no_pool_reason` then says why, and every
/// refresh reports it.
pub fn spawn_worker(
    pool: Option<MigrationPool>,
    no_pool_reason: String,
    table: VersionTable,
    events: UnboundedSender<WorkerEvent>,
) -> WorkerHandle {
    let (commands, receiver) = unbounded_channel();
    let worker = Worker {
        pool,
        no_pool_reason,
        table,
        events,
        run: None,
        refresh: RefreshState::Idle,
    };
    let task = tokio::spawn(worker.serve(receiver));
    WorkerHandle { commands, task }
}

struct ActiveRun {
    id: u64,
    /// Set once the run has a connection.
    cancel: Arc<std::sync::Mutex<Option<CancelHandle>>>,
    /// A cancel that came before the run had its connection.
    cancel_early: Arc<AtomicBool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Idle,
    Running,
    /// Running, and another was asked for meanwhile.
    RunningAndQueued,
}

/// Messages from the worker's own tasks back to its loop.
enum Internal {
    RunEnded(u64),
    RefreshEnded,
}

struct Worker {
    pool: Option<MigrationPool>,
    no_pool_reason: String,
    table: VersionTable,
    events: UnboundedSender<WorkerEvent>,
    run: Option<ActiveRun>,
    refresh: RefreshState,
}

impl Worker {
    async fn serve(mut self, mut commands: UnboundedReceiver<Command>) {
        let (internal_tx, mut internal) = unbounded_channel();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(command) => self.handle(command, &internal_tx),
                },
                Some(message) = internal.recv() => match message {
                    Internal::RunEnded(id) => {
                        if self.run.as_ref().is_some_and(|r| r.id == id) {
                            self.run = None;
                        }
                        // The version table moved: show where it is now.
                        self.start_refresh(&internal_tx);
                    }
                    Internal::RefreshEnded => {
                        let again = self.refresh == RefreshState::RunningAndQueued;
                        self.refresh = RefreshState::Idle;
                        if again {
                            self.start_refresh(&internal_tx);
                        }
                    }
                },
            }
        }
        // Leaving: stop a run still going so its transaction is rolled back
        // by the server instead of lingering.
        if let Some(run) = self.run.take() {
            let handle = run.cancel.lock().ok().and_then(|slot| slot.clone());
            if let Some(handle) = handle {
                let _ = handle.cancel().await;
            }
        }
    }

    fn handle(&mut self, command: Command, internal: &UnboundedSender<Internal>) {
        match command {
            Command::Refresh => self.start_refresh(internal),
            Command::Run(request) => self.start_run(request, internal),
            Command::Cancel => self.cancel(),
            Command::Shutdown => {}
        }
    }

    fn emit(&self, event: WorkerEvent) {
        // The console going away ends the worker through its command channel.
        let _ = self.events.send(event);
    }

    fn start_refresh(&mut self, internal: &UnboundedSender<Internal>) {
        match self.refresh {
            RefreshState::Idle => {}
            RefreshState::Running | RefreshState::RunningAndQueued => {
                self.refresh = RefreshState::RunningAndQueued;
                return;
            }
        }
        let Some(pool) = self.pool.clone() else {
            self.emit(WorkerEvent::Unreachable(self.no_pool_reason.clone()));
            return;
        };
        self.refresh = RefreshState::Running;
        self.emit(WorkerEvent::Refreshing);
        let table = self.table.clone();
        let events = self.events.clone();
        let internal = internal.clone();
        tokio::spawn(async move {
            let event = match read_state(&pool, &table).await {
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
        let Some(pool) = self.pool.clone() else {
            self.emit(WorkerEvent::RunRefused {
                run: request.id,
                reason: self.no_pool_reason.clone(),
            });
            return;
        };
        let active = ActiveRun {
            id: request.id,
            cancel: Arc::new(std::sync::Mutex::new(None)),
            cancel_early: Arc::new(AtomicBool::new(false)),
        };
        let cancel_slot = Arc::clone(&active.cancel);
        let cancel_early = Arc::clone(&active.cancel_early);
        self.run = Some(active);
        let table = self.table.clone();
        let events = self.events.clone();
        let internal = internal.clone();
        tokio::spawn(async move {
            let id = request.id;
            let outcome = run_plan(&pool, table, request, cancel_slot, cancel_early, &events).await;
            let _ = events.send(WorkerEvent::RunFinished { run: id, outcome });
            let _ = internal.send(Internal::RunEnded(id));
        });
    }

    fn cancel(&mut self) {
        let Some(run) = &self.run else {
            self.emit(WorkerEvent::CancelSent(Ok(false)));
            return;
        };
        run.cancel_early.store(true, Ordering::SeqCst);
        let handle = run.cancel.lock().ok().and_then(|slot| slot.clone());
        let Some(handle) = handle else {
            // Not connected yet: the run checks the flag before it starts.
            self.emit(WorkerEvent::CancelSent(Ok(true)));
            return;
        };
        let events = self.events.clone();
        tokio::spawn(async move {
            let sent = handle.cancel().await.map_err(|e| e.to_string());
            let _ = events.send(WorkerEvent::CancelSent(sent));
        });
    }
}

/// How long a refresh may take before the server counts as unreachable.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(15);

async fn read_state(pool: &MigrationPool, table: &VersionTable) -> Result<DbState, String> {
    let read = async {
        let conn = pool.get().await.map_err(|e| match e {
            // The header names the server already; the cause is what matters.
            ConnectError::Pool { cause, .. } | ConnectError::Connect { cause, .. } => cause,
            other => other.to_string(),
        })?;
        let client = conn.client();
        let row = client
            .query_one(
                "SELECT current_setting('server_version'), current_database()::text, current_user::text",
                &[],
            )
            .await
            .map_err(|e| format!("cannot read the server's identity: {}", crate::db::connect::describe_error(&e)))?;
        let server_version: String = row.try_get(0).map_err(|e| e.to_string())?;
        // Packagers append their build ("15.4 (Debian 15.4-1)"); the number is enough.
        let server_version = server_version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let database: String = row.try_get(1).map_err(|e| e.to_string())?;
        let user: String = row.try_get(2).map_err(|e| e.to_string())?;
        let table_exists = table.exists(client).await.map_err(|e| e.to_string())?;
        let rows = table.read_heads(client).await.map_err(|e| e.to_string())?;
        Ok(DbState {
            rows,
            table_exists,
            server_version,
            database,
            user,
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

async fn run_plan(
    pool: &MigrationPool,
    table: VersionTable,
    request: RunRequest,
    cancel_slot: Arc<std::sync::Mutex<Option<CancelHandle>>>,
    cancel_early: Arc<AtomicBool>,
    events: &UnboundedSender<WorkerEvent>,
) -> Result<ExecSummary, ExecError> {
    let id = request.id;
    let mut conn = pool.get().await.map_err(|e| ExecError::Database {
        context: "cannot start the plan".to_string(),
        cause: e.to_string(),
    })?;
    if let Ok(mut slot) = cancel_slot.lock() {
        *slot = Some(conn.cancel_handle());
    }
    if cancel_early.load(Ordering::SeqCst) {
        let step = request
            .plan
            .steps
            .first()
            .map(|s| s.short_log())
            .unwrap_or_default();
        return Err(ExecError::Cancelled(Box::new(Cancelled {
            step_index: 0,
            step,
            interrupted: None,
            aftermath: None,
        })));
    }
    let sink = {
        let events = events.clone();
        move |event: ExecEvent| {
            let _ = events.send(WorkerEvent::Exec { run: id, event });
        }
    };
    let options = ExecOptions::new(table);
    execute_plan(&mut conn, &request.map, &request.plan, &options, &sink).await
}
