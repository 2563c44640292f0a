//! The terminal console: a revision graph, SQL preview and live log over a
//! background database worker.
//!
//! - [`event_loop`] selects over input, worker events and timers and redraws;
//! - [`app`] holds the state and turns [`action::Action`]s and events into changes;
//! - [`ui`] lays out each frame (where things go, in a [`view::ViewState`])
//!   and draws every pane and dialog from the state, which it only reads;
//! - [`worker`] owns the connection pool and runs the plans the core makes.

pub mod action;
pub mod app;
pub mod demo;
pub mod dialogs;
pub mod event_loop;
pub mod form_autogen;
pub mod format;
pub mod highlight;
pub mod keymap;
pub mod lanes;
pub mod log;
pub mod model;
pub mod plan_lint;
pub mod terminal;
pub mod textview;
pub mod ui;
pub mod view;
pub mod watch;
pub mod worker;

pub use demo::run_demo;

use std::io::IsTerminal;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::unbounded_channel;

use crate::config::{ConnectionSettings, redact_url};
use crate::db::build_pool_with;
use crate::engine::rehearse::configured_rehearsal_server;
use crate::engine::{Error, GlobalOptions, Project, session_settings};
use crate::tui::app::{App, AppInit, SessionInfo};
use crate::tui::dialogs::{Dialog, RehearsalState};
use crate::tui::event_loop::{Channels, Input};
use crate::tui::textview::Highlights;
use crate::tui::view::ViewState;
use crate::tui::worker::{Command, REHEARSAL_SHUTDOWN_WAIT, WorkerSetup, spawn_worker};

/// How often the console re-reads the database state while idle.
pub const IDLE_REFRESH: Duration = Duration::from_secs(10);
/// How long a connection attempt may take before the server counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the console's pool: one for a run, one for refreshes, one spare.
const POOL_SIZE: usize = 3;

/// Opens the console on the configured database and migrations, and
/// returns when the user quits.
/// `Ok(Some(n))`: signal `n` ended it (the running plan was cancelled and
/// the terminal restored first).
pub fn run_console(options: &GlobalOptions) -> Result<Option<i32>, Error> {
    require_terminal()?;
    let project = Project::load(options)?;
    runtime()?.block_on(async {
        let connection = connection(&project, options);
        // Shown in the log, where it is seen: stderr is behind the
        // alternate screen.
        let intro = match &connection.worker.settings {
            Some(settings) => crate::engine::connection_warnings(options, settings),
            None => Vec::new(),
        };
        console(options, project, connection, intro).await
    })
}

fn require_terminal() -> Result<(), Error> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Error::Usage(
        "the console needs a terminal; for scripts use the commands (see `retort --help`)"
            .to_string(),
    ))
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Runs the console until the user quits or a signal arrives; `intro`
/// lines open the log. Returns the signal's number when one ended it.
async fn console(
    options: &GlobalOptions,
    project: Project,
    connection: Connection,
    intro: Vec<String>,
) -> Result<Option<i32>, Error> {
    let (worker_events, worker_receiver) = unbounded_channel();
    let worker = spawn_worker(connection.worker, worker_events);
    let (highlight_answers, highlight_receiver) = unbounded_channel();
    let mut view = ViewState::new(Highlights::start(highlight_answers));
    let (file_events, file_receiver) = unbounded_channel();
    // Held until the console closes: dropping it stops the watching.
    let watching = watch::watch(&project.migrations_dir, file_events);
    let mut app = App::new(AppInit {
        options: options.clone(),
        project,
        session: connection.session,
        commands: worker.commands.clone(),
        refresh_every: Some(IDLE_REFRESH),
    });
    for line in intro {
        app.log.push(log::LogKind::Info, &line);
    }
    let refresh_key = app.keymap.label(action::Action::Refresh);
    if let Some((kind, line)) = watch_note(&app.migrations_dir, &watching, &refresh_key) {
        app.log.push(kind, &line);
    }
    let mut channels = Channels {
        worker: worker_receiver,
        highlights: highlight_receiver,
        files: file_receiver,
    };
    let terminal_error = |e: std::io::Error| Error::Usage(format!("terminal: {e}"));
    let mut signals = terminal::Signals::install().map_err(terminal_error)?;
    let guard = terminal::TerminalGuard::enter().map_err(terminal_error)?;
    let result = match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
        Ok(mut terminal) => {
            let mut input = Input::terminal();
            tokio::select! {
                ended = event_loop::run(
                    &mut terminal,
                    &mut app,
                    &mut view,
                    &mut input,
                    &mut channels,
                    Some(&guard),
                ) => ended.map(|()| None),
                signal = signals.next() => Ok(Some(signal)),
            }
        }
        Err(e) => Err(e),
    };
    // The terminal is given back before anything is printed.
    drop(guard);
    if let Ok(Some((_, name))) = &result
        && app.run.is_some()
    {
        eprintln!(
            "retort: {name} received: cancelling the running plan; its step is rolled back or \
             recorded, then the migration lock is released"
        );
    }
    // Shutting down cancels a running plan and waits for it to finish, and
    // for a rehearsal to drop its scratch database.
    let _ = worker.commands.send(Command::Shutdown);
    let mut task = worker.task;
    if rehearsal_running(&app) {
        match tokio::time::timeout(SLOW_SHUTDOWN, &mut task).await {
            Ok(_) => return ended(result),
            Err(_) => eprintln!(
                "retort: stopping the rehearsal: waiting up to {} s for it to drop its \
                 scratch database",
                REHEARSAL_SHUTDOWN_WAIT.as_secs()
            ),
        }
    }
    let _ = task.await;
    ended(result)
}

/// How long a shutdown waits for a rehearsal before saying why it waits.
const SLOW_SHUTDOWN: Duration = Duration::from_secs(1);

fn rehearsal_running(app: &App) -> bool {
    app.dialogs.iter().any(|dialog| match dialog {
        Dialog::Plan(plan) => plan
            .rehearsal
            .as_ref()
            .is_some_and(|r| matches!(r.state, RehearsalState::Running(_))),
        _ => false,
    })
}

fn ended(result: std::io::Result<Option<(i32, &'static str)>>) -> Result<Option<i32>, Error> {
    let terminal_error = |e: std::io::Error| Error::Usage(format!("terminal: {e}"));
    result
        .map(|signal| signal.map(|(number, _)| number))
        .map_err(terminal_error)
}

/// What the log should say about how the migrations directory is watched:
/// nothing when file events work.
pub fn watch_note(
    dir: &std::path::Path,
    watching: &Result<watch::DirWatch, String>,
    refresh_key: &str,
) -> Option<(log::LogKind, String)> {
    let dir = crate::engine::display_path(dir);
    match watching {
        Ok(watch::DirWatch {
            how: watch::How::Events,
            ..
        }) => None,
        Ok(watch::DirWatch {
            how: watch::How::Polling { why },
            ..
        }) => Some((
            log::LogKind::Info,
            format!(
                "file events are unavailable ({why}); {dir} is checked for changes every {} s",
                watch::POLL_EVERY.as_secs()
            ),
        )),
        Err(why) => Some((
            log::LogKind::Warning,
            format!(
                "changes to {dir} are not noticed ({why}); press {refresh_key} to reload by hand"
            ),
        )),
    }
}

/// What the header shows, and what the worker connects with.
pub struct Connection {
    pub session: SessionInfo,
    pub worker: WorkerSetup,
}

/// Resolves the connection and builds the pool. Connecting happens later,
/// in the worker, so an unreachable server never keeps the console from
/// opening.
pub fn connection(project: &Project, options: &GlobalOptions) -> Connection {
    match project.connection_settings(options) {
        Ok(settings) => {
            let configured = configured_rehearsal_server(&project.config, options, &settings);
            let mut connection = connection_for(project, settings);
            connection.worker.rehearsal_server = configured.map_err(|e| e.redacted());
            connection
        }
        Err(e) => {
            let session = SessionInfo {
                env: options.env.clone(),
                protected: false,
                target: "no database configured".to_string(),
            };
            no_connection(project, session, e.redacted())
        }
    }
}

fn no_connection(project: &Project, session: SessionInfo, reason: String) -> Connection {
    Connection {
        session,
        worker: WorkerSetup {
            pool: None,
            settings: None,
            no_pool_reason: reason,
            table: project.version_table(),
            history: project.history_table(),
            migrations_dir: project.migrations_dir.clone(),
            config: project.config.clone(),
            rehearsal_server: Ok(None),
        },
    }
}

/// The pool and run settings for an already resolved connection.
pub fn connection_for(project: &Project, mut settings: ConnectionSettings) -> Connection {
    let env = settings.env.as_ref();
    let session = SessionInfo {
        env: env.map(|e| e.name.clone()),
        protected: env.is_some_and(|e| e.protected),
        target: settings.display.clone(),
    };
    let transport = match crate::engine::transport(&settings) {
        Ok(transport) => transport,
        Err(e) => return no_connection(project, session, e.redacted()),
    };
    // Runs connect with these settings too: an unreachable host must not
    // keep a run (or a refresh) waiting for the system's TCP timeout.
    if settings.pg_config.get_connect_timeout().is_none() {
        settings.pg_config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut pg_config = settings.pg_config.clone();
    if pg_config.get_application_name().is_none() {
        pg_config.application_name("retort console");
    }
    let pool = build_pool_with(
        &pg_config,
        &session_settings(&settings),
        POOL_SIZE,
        transport,
    );
    match pool {
        Ok(pool) => Connection {
            session,
            worker: WorkerSetup {
                pool: Some(pool),
                settings: Some(settings),
                no_pool_reason: String::new(),
                table: project.version_table(),
                history: project.history_table(),
                migrations_dir: project.migrations_dir.clone(),
                config: project.config.clone(),
                rehearsal_server: Ok(None),
            },
        },
        Err(e) => no_connection(project, session, redact_url(&e.to_string())),
    }
}
