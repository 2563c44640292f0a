//! The console without a database: the real `App` on revision files in a
//! temp dir, with no worker. The test holds the receiving end of the
//! worker's command channel and answers in the worker's place by feeding
//! `WorkerEvent`s, so a screen shows exactly the state a test chose (gitui
//! tests its screens the same way, on state rather than on a live service).

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use retort::core::graph::RevisionMap;
use retort::core::plan::Step;
use retort::db::ExecEvent;
use retort::db::drift::DriftReport;
use retort::engine::{GlobalOptions, Project};
use retort::tui::app::{App, AppInit, SessionInfo};
use retort::tui::textview::{HighlightAnswer, Highlights};
use retort::tui::view::ViewState;
use retort::tui::worker::{Command, DbState, WorkerEvent};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::{key_event, screen_text};

/// The database name every offline screen shows.
pub const DATABASE: &str = "retort_offline";

/// A plan the console asked the worker to run, as the test saw it.
pub struct RunAsked {
    pub id: u64,
    pub steps: Vec<Step>,
    pub map: Arc<RevisionMap>,
}

pub struct Offline {
    pub app: App,
    pub view: ViewState,
    pub terminal: Terminal<TestBackend>,
    /// What the console sent to its worker, in order.
    pub commands: UnboundedReceiver<Command>,
    /// Highlighting changes colours only, never the text a snapshot holds,
    /// so answers are left unread.
    _highlights: UnboundedReceiver<HighlightAnswer>,
    _config_dir: tempfile::TempDir,
}

impl Offline {
    /// A console on the revision files in `migrations`, drawn at
    /// `width` x `height`, connecting (no state fed yet).
    pub fn open(migrations: PathBuf, (width, height): (u16, u16)) -> Offline {
        let config_dir = tempfile::tempdir().expect("temp dir");
        let config_path = config_dir.path().join("retort.toml");
        std::fs::write(&config_path, "").expect("write config");
        let options = GlobalOptions {
            config: Some(config_path),
            env: None,
            database_url: None,
            migrations: Some(migrations),
        };
        let project = Project::load(&options).unwrap_or_else(|e| panic!("project: {e}"));
        let (commands_tx, commands) = unbounded_channel();
        let (answers, highlights) = unbounded_channel();
        let mut app = App::new(AppInit {
            options,
            project,
            session: SessionInfo {
                env: None,
                protected: false,
                target: format!("postgres@[server]/{DATABASE}"),
            },
            commands: commands_tx,
            refresh_every: None,
        });
        app.log.freeze_time("hh:mm:ss");
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        Offline {
            app,
            view: ViewState::new(Highlights::start(answers)),
            terminal,
            commands,
            _highlights: highlights,
            _config_dir: config_dir,
        }
    }

    /// Answers a refresh as the worker would: the version table holds `rows`.
    pub fn state(&mut self, rows: &[&str]) {
        self.feed(WorkerEvent::Refreshing);
        self.feed(WorkerEvent::State(db_state(rows)));
    }

    pub fn feed(&mut self, event: WorkerEvent) {
        self.app.on_worker_event(event);
    }

    /// Feeds an executor event of run `run`.
    pub fn exec(&mut self, run: u64, event: ExecEvent) {
        self.feed(WorkerEvent::Exec { run, event });
    }

    /// The run the console asked for since the last look; fails when it
    /// asked for none. Refreshes and other commands on the way are dropped.
    pub fn run_asked(&mut self) -> RunAsked {
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Run(request) = command {
                return RunAsked {
                    id: request.id,
                    steps: request
                        .run
                        .approved
                        .as_ref()
                        .map(|plan| plan.steps.clone())
                        .unwrap_or_default(),
                    map: request.map,
                };
            }
        }
        panic!("the console asked for no run");
    }

    /// Every command sent since the last look, as `Debug` text.
    pub fn commands_sent(&mut self) -> Vec<String> {
        let mut sent = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            sent.push(format!("{command:?}"));
        }
        sent
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.terminal.backend_mut().resize(width, height);
        self.terminal
            .resize(ratatui::layout::Rect::new(0, 0, width, height))
            .expect("resize");
    }

    pub fn draw(&mut self) {
        retort::tui::event_loop::draw(&mut self.terminal, &mut self.app, &mut self.view)
            .expect("draw");
    }

    /// The screen as text, one line per row, trailing spaces removed.
    pub fn screen(&mut self) -> String {
        self.draw();
        screen_text(self.terminal.backend())
    }

    /// Presses a key, named as in [`key_event`]. Draws first: the app
    /// reads the pane sizes of the last draw.
    pub fn key(&mut self, spec: &str) {
        self.draw();
        self.app
            .on_terminal_event(Event::Key(key_event(spec)), &self.view);
    }

    pub fn keys(&mut self, specs: &[&str]) {
        for spec in specs {
            self.key(spec);
        }
    }

    /// Types `text` into whatever has the keys, a key per character.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(&c.to_string());
        }
    }

    /// Moves the graph selection to revision `id`.
    pub fn select(&mut self, id: &str) {
        let index = self
            .app
            .graph
            .map
            .index_of(id)
            .unwrap_or_else(|| panic!("no revision {id}"));
        self.key("g");
        for _ in 0..=self.app.graph.entries.len() {
            if self.app.graph.selected_revision() == Some(index) {
                return;
            }
            self.key("j");
        }
        panic!("cannot select {id}");
    }
}

/// A refresh's answer: PostgreSQL 15 with `rows` in the version table and
/// no drift.
pub fn db_state(rows: &[&str]) -> DbState {
    let mut rows: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    rows.sort();
    DbState {
        table_exists: !rows.is_empty(),
        drift: Ok(DriftReport {
            history_table: "retort_history".to_string(),
            history_exists: !rows.is_empty(),
            issues: Vec::new(),
            verified: rows.clone(),
            unverified: Vec::new(),
            in_progress: Vec::new(),
        }),
        rows,
        server_version: "15.4".to_string(),
        database: DATABASE.to_string(),
        // PostgreSQL's default: no limit.
        lock_timeout: "0".to_string(),
        user: "postgres".to_string(),
    }
}
