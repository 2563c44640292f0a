//! Drives the console in-process: the real `App`, worker and highlighter,
//! drawn on a ratatui `TestBackend`, fed with key events, against a real
//! PostgreSQL database.

#![allow(dead_code)]

pub mod offline;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use retort::engine::{GlobalOptions, Project};
use retort::tui::app::{App, AppInit};
use retort::tui::textview::{HighlightAnswer, Highlights};
use retort::tui::view::ViewState;
use retort::tui::watch::{DirWatch, WatchEvent};
use retort::tui::worker::{WorkerEvent, WorkerHandle, spawn_worker};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::common;

/// The demo project shipped in `migrations/`.
pub fn demo_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")
}

/// DATABASE_URL with its database name replaced by `name`.
pub fn url_for(name: &str) -> String {
    let url = common::database_url();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base.to_string(), format!("?{query}")),
        None => (url.clone(), String::new()),
    };
    let prefix = match base.rsplit_once('/') {
        // `postgres://host` has no database part: the last '/' is the scheme's.
        Some((prefix, _)) if !prefix.ends_with('/') => prefix.to_string(),
        _ => base.clone(),
    };
    format!("{prefix}/{name}{query}")
}

/// A database with a fixed name, for snapshots (its name shows on screen).
/// Dropped when this guard drops.
pub struct NamedDb {
    pub name: String,
}

impl NamedDb {
    pub async fn create(name: &str) -> NamedDb {
        let admin = admin_client().await;
        // Left over by an interrupted run, perhaps; each statement on its own
        // (DROP DATABASE cannot run inside the implicit transaction of a batch).
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
        NamedDb {
            name: name.to_string(),
        }
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config =
            common::database_url().parse().expect("DATABASE_URL");
        config.dbname(&self.name);
        common::plain_client(&config).await
    }
}

async fn admin_client() -> tokio_postgres::Client {
    let config: tokio_postgres::Config = common::database_url().parse().expect("DATABASE_URL");
    common::plain_client(&config).await
}

impl Drop for NamedDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let admin = admin_client().await;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                if let Err(e) = admin.batch_execute(&sql).await {
                    eprintln!("could not drop database {name}: {e}");
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Writes revision files into a fresh temporary directory.
pub struct Migrations {
    pub dir: tempfile::TempDir,
}

impl Migrations {
    /// A directory whose path has the same length every run (snapshots show
    /// error paths, and cut long lines where they end).
    pub fn new() -> Migrations {
        let dir = tempfile::Builder::new()
            .prefix("rt-")
            .rand_bytes(8)
            .tempdir_in(std::env::temp_dir())
            .expect("temp dir");
        Migrations { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A revision file `<id>_test.sql`.
    pub fn add(
        &self,
        id: &str,
        down: &str,
        message: &str,
        upgrade: &str,
        downgrade: &str,
    ) -> &Self {
        self.add_with(id, down, message, "true", upgrade, downgrade)
    }

    pub fn add_with(
        &self,
        id: &str,
        down: &str,
        message: &str,
        transactional: &str,
        upgrade: &str,
        downgrade: &str,
    ) -> &Self {
        let text = format!(
            "-- revision: {id}\n-- down_revision: {down}\n-- message: {message}\n-- transactional: {transactional}\n\n\
             -- migrate:upgrade\n{upgrade}\n\n-- migrate:downgrade\n{downgrade}\n"
        );
        std::fs::write(self.dir.path().join(format!("{id}_test.sql")), text)
            .expect("write revision");
        self
    }
}

pub struct Setup {
    pub migrations: PathBuf,
    /// `None`: no `--database-url` (the config or nothing decides).
    pub database_url: Option<String>,
    pub config: String,
    pub env: Option<String>,
    pub width: u16,
    pub height: u16,
    /// How often the console re-reads the state by itself (`None`: never).
    pub refresh_every: Option<Duration>,
}

impl Setup {
    pub fn new(migrations: PathBuf, database_url: Option<String>) -> Setup {
        Setup {
            migrations,
            database_url,
            config: String::new(),
            env: None,
            width: 120,
            height: 40,
            refresh_every: None,
        }
    }
}

pub struct Harness {
    pub app: App,
    /// What the last frame laid out (pane areas for the mouse) and the highlight cache.
    pub view: ViewState,
    pub terminal: Terminal<TestBackend>,
    pub worker: WorkerHandle,
    worker_events: UnboundedReceiver<WorkerEvent>,
    highlights: UnboundedReceiver<HighlightAnswer>,
    /// Changes to the migrations directory, as the console's loop gets them.
    files: UnboundedReceiver<WatchEvent>,
    _watching: Result<DirWatch, String>,
    pub config_dir: tempfile::TempDir,
}

impl Harness {
    pub async fn open(setup: Setup) -> Harness {
        let config_dir = tempfile::tempdir().expect("temp dir");
        let config_path = config_dir.path().join("retort.toml");
        std::fs::write(&config_path, &setup.config).expect("write config");
        let options = GlobalOptions {
            config: Some(config_path),
            env: setup.env,
            database_url: setup.database_url,
            migrations: Some(setup.migrations),
        };
        let project = Project::load(&options).unwrap_or_else(|e| panic!("project: {e}"));
        let connection = retort::tui::connection(&project, &options);
        let mut h = Harness::with_parts(
            options,
            project,
            connection,
            setup.refresh_every,
            (setup.width, setup.height),
        );
        h.config_dir = config_dir;
        h
    }

    /// A console on parts made elsewhere (e.g. the demo's).
    pub fn with_parts(
        options: GlobalOptions,
        project: Project,
        connection: retort::tui::Connection,
        refresh_every: Option<Duration>,
        (width, height): (u16, u16),
    ) -> Harness {
        let (events, worker_events) = unbounded_channel();
        let worker = spawn_worker(connection.worker, events);
        let (answers, highlights_rx) = unbounded_channel();
        let view = ViewState::new(Highlights::start(answers));
        let (file_events, files) = unbounded_channel();
        let watching = retort::tui::watch::watch(&project.migrations_dir, file_events);
        let mut app = App::new(AppInit {
            options,
            project,
            session: connection.session,
            commands: worker.commands.clone(),
            refresh_every,
        });
        app.log.freeze_time("hh:mm:ss");
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        Harness {
            app,
            view,
            terminal,
            worker,
            worker_events,
            highlights: highlights_rx,
            files,
            _watching: watching,
            config_dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Opens the console and waits until the first refresh has answered.
    pub async fn connected(setup: Setup) -> Harness {
        let mut h = Harness::open(setup).await;
        h.until("the first refresh", |app| app.server.db.is_some())
            .await;
        h
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

    /// Presses a key: a character (`U`, `j`, `/`) or a name (`enter`, `esc`,
    /// `tab`, `backtab`, `up`, `down`, `pgdown`, `end`, `ctrl-s`).
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

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let modifiers = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            self.draw();
            self.app.on_terminal_event(
                Event::Key(KeyEvent::new(KeyCode::Char(c), modifiers)),
                &self.view,
            );
        }
    }

    pub fn mouse(&mut self, kind: MouseEventKind, column: u16, row: u16) {
        self.draw();
        self.app.on_terminal_event(
            Event::Mouse(MouseEvent {
                kind,
                column,
                row,
                modifiers: KeyModifiers::NONE,
            }),
            &self.view,
        );
    }

    pub fn click(&mut self, column: u16, row: u16) {
        self.mouse(MouseEventKind::Down(MouseButton::Left), column, row);
    }

    /// Moves the graph selection to revision `id`.
    pub fn select(&mut self, id: &str) {
        let index = self
            .app
            .graph
            .map
            .index_of(id)
            .unwrap_or_else(|| panic!("no revision {id}"));
        for _ in 0..self.app.graph.entries.len() {
            if self.app.graph.selected_revision() == Some(index) {
                return;
            }
            self.key("j");
        }
        self.key("g");
        for _ in 0..self.app.graph.entries.len() {
            if self.app.graph.selected_revision() == Some(index) {
                return;
            }
            self.key("j");
        }
        panic!("cannot select {id}");
    }

    /// Applies worker events and highlighter answers for up to `time`.
    pub async fn pump(&mut self, time: Duration) {
        let deadline = tokio::time::Instant::now() + time;
        loop {
            tokio::select! {
                Some(event) = self.worker_events.recv() => {
                    self.app.on_worker_event(event);
                    while let Ok(event) = self.worker_events.try_recv() {
                        self.app.on_worker_event(event);
                    }
                }
                Some(answer) = self.highlights.recv() => self.app.on_highlighted(answer, &mut self.view),
                Some(event) = self.files.recv() => self.app.on_files_event(event),
                _ = tokio::time::sleep_until(deadline) => {
                    self.app.on_tick();
                    return;
                }
            }
            self.app.on_tick();
        }
    }

    /// Pumps events until `done` holds; fails with the screen after 30 s.
    pub async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let started = Instant::now();
        loop {
            self.draw();
            if done(&self.app) {
                return;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let screen = self.screen();
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            self.pump(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no plan runs and the state has been re-read.
    pub async fn until_idle(&mut self) {
        self.until("the run to end", |app| app.run.is_none()).await;
        self.pump(Duration::from_millis(50)).await;
        self.until("the refresh after the run", |app| !app.server.refreshing)
            .await;
    }

    /// The log as plain text.
    pub fn log_text(&self) -> String {
        self.app
            .log
            .lines()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn flash(&self) -> String {
        self.app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }

    /// The version-table rows as the console last read them.
    pub fn rows(&self) -> Vec<String> {
        self.app
            .server
            .db
            .as_ref()
            .map(|d| d.rows.clone())
            .unwrap_or_default()
    }
}

pub fn key_event(spec: &str) -> KeyEvent {
    let (modifiers, name) = match spec.strip_prefix("ctrl-") {
        Some(rest) => (KeyModifiers::CONTROL, rest),
        None => (KeyModifiers::NONE, spec),
    };
    let code = match name {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => return KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" => KeyCode::PageUp,
        "pgdown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "backspace" => KeyCode::Backspace,
        "space" => KeyCode::Char(' '),
        other => {
            let mut chars = other.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => {
                    let shift = if c.is_uppercase() {
                        KeyModifiers::SHIFT
                    } else {
                        KeyModifiers::NONE
                    };
                    return KeyEvent::new(KeyCode::Char(c), modifiers | shift);
                }
                _ => panic!("unknown key {spec}"),
            }
        }
    };
    KeyEvent::new(code, modifiers)
}

pub fn screen_text(backend: &TestBackend) -> String {
    let buffer = backend.buffer();
    let width = usize::from(buffer.area.width);
    let mut out = String::new();
    for row in buffer.content.chunks(width) {
        let mut line = String::new();
        let mut skip = 0usize;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(cell.symbol());
            skip = unicode_width(cell.symbol()).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(symbol: &str) -> usize {
    // Every symbol the console draws is one column wide.
    usize::from(!symbol.is_empty())
}

/// Filters that make snapshots independent of the machine and the clock.
pub fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"PostgreSQL \d+(\.\d+)?", "PostgreSQL NN"),
        (r"\b\d\d:\d\d:\d\d\b", "hh:mm:ss"),
        (r"\b\d+(?:\.\d+)? m?s\b", "[duration]"),
        (r"127\.0\.0\.1:\d+", "[server]"),
        (r"/\S*/rt-\w{8}", "[migrations]"),
        // What the filters above changed in width shifts the right border.
        (r"(?m) +│$", " │"),
    ]
}

/// A linear history of 300 revisions whose ids share their first 12
/// characters (`v20191100000…`), with a few steps that need attention.
pub fn long_history() -> Migrations {
    let m = Migrations::new();
    let id = |n: usize| format!("v20191100000{n:03}_step");
    for n in 1..=300 {
        let down = if n == 1 { String::new() } else { id(n - 1) };
        let transactional = if n % 100 == 50 { "false" } else { "true" };
        let downgrade = if n == 299 {
            String::new()
        } else {
            format!("\n\n-- migrate:downgrade\nDROP TABLE t{n};")
        };
        let text = format!(
            "-- revision: {}\n-- down_revision: {down}\n-- message: step {n}\n\
             -- transactional: {transactional}\n\n-- migrate:upgrade\nCREATE TABLE t{n} (id int);{downgrade}\n",
            id(n)
        );
        std::fs::write(m.dir.path().join(format!("{}.sql", id(n))), text).expect("write");
    }
    m
}

/// A plain client on the database, for checks.
pub async fn client(db: &common::TestDb) -> tokio_postgres::Client {
    db.client().await
}

pub async fn version_rows(client: &tokio_postgres::Client) -> Vec<String> {
    let exists: bool = client
        .query_one("SELECT to_regclass('alembic_version') IS NOT NULL", &[])
        .await
        .expect("lookup")
        .get(0);
    if !exists {
        return Vec::new();
    }
    let mut rows: Vec<String> = client
        .query("SELECT version_num FROM alembic_version", &[])
        .await
        .expect("version rows")
        .iter()
        .map(|r| r.get(0))
        .collect();
    rows.sort();
    rows
}

pub async fn table_exists(client: &tokio_postgres::Client, name: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .expect("lookup")
        .get(0)
}

/// One revision, a1, creating a table.
pub fn one_revision() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    );
    m
}

/// a1 <- b2 <- c3 on one line, each creating a table.
pub fn linear() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "create t2",
        "CREATE TABLE t2 (id int);",
        "DROP TABLE t2;",
    )
    .add(
        "c3",
        "b2",
        "create t3",
        "CREATE TABLE t3 (id int);",
        "DROP TABLE t3;",
    );
    m
}

/// The console on `migrations`, connected to `db`.
pub async fn console(db: &crate::common::TestDb, migrations: &Migrations) -> Harness {
    Harness::connected(Setup::new(migrations.path(), Some(url_for(&db.name)))).await
}
