//! The console's state and everything that changes it: key and mouse input,
//! worker events, highlighter answers and the clock. Drawing is in `ui`.

mod dialog_keys;
mod events;
mod files;
mod form_autogen;
mod graph;
mod log_search;
mod plans;
mod run;
mod server;
mod sql_pane;

pub use graph::GraphView;
pub use plans::PlanRequest;
pub use run::RunProgress;
pub use server::{Connection, DbStatus, Reconnect};
pub use sql_pane::{SqlPane, SqlTab, section};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Position;
use tokio::sync::mpsc::UnboundedSender;

use crate::config::Config;
use crate::core::offline::VersionTableName;
use crate::engine::{GlobalOptions, Project};
use crate::tui::action::{Action, KeyContext};
use crate::tui::dialogs::{Dialog, WriteWhat, edit_line, input, single_line};
use crate::tui::keymap::KeyMap;
use crate::tui::log::{LogBuffer, LogKind};
use crate::tui::view::ViewState;
use crate::tui::worker::Command;

/// Smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// How long a message stays in the message bar.
const FLASH_FOR: Duration = Duration::from_secs(8);

/// What the session is connected to, for the header. Never holds a password.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub env: Option<String>,
    pub protected: bool,
    /// `user@host:port/db`, or why there is no connection.
    pub target: String,
}

/// Everything the console needs to start.
pub struct AppInit {
    pub options: GlobalOptions,
    pub project: Project,
    pub session: SessionInfo,
    pub commands: UnboundedSender<Command>,
    /// Re-read the database state this often while idle; `None`: only on request.
    pub refresh_every: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Graph,
    Sql,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashLevel {
    Info,
    Warning,
    Error,
}

pub struct Flash {
    pub text: String,
    pub level: FlashLevel,
    pub at: Instant,
}

/// Work the loop must do outside the state: things that take the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Edit(PathBuf),
}

/// The console's state: the project as loaded, the database as last read,
/// the parts on screen (graph, SQL pane, log, the stack of dialogs) and the
/// run in progress. Where things were drawn is not in it (see
/// [`crate::tui::view::ViewState`]).
pub struct App {
    pub options: GlobalOptions,
    pub config: Config,
    pub migrations_dir: PathBuf,
    pub session: SessionInfo,
    pub keymap: KeyMap,
    commands: UnboundedSender<Command>,

    pub server: DbStatus,
    pub graph: GraphView,
    pub sql: SqlPane,
    pub log: LogBuffer,
    /// The top one has the keys.
    pub dialogs: Vec<Dialog>,
    pub focus: Pane,
    pub zoom: bool,
    pub flash: Option<Flash>,

    pub run: Option<RunProgress>,
    next_run: u64,
    /// Shell command that edits a file (`$VISUAL`, `$EDITOR`, else `vi`).
    pub editor: String,
    effect: Option<Effect>,
    quit: bool,
}

impl App {
    pub fn new(init: AppInit) -> App {
        let Project {
            config,
            migrations_dir,
            map,
        } = init.project;
        let keymap = KeyMap::new(&config.keys);
        let mut app = App {
            options: init.options,
            config,
            migrations_dir,
            session: init.session,
            keymap,
            commands: init.commands,
            server: DbStatus::new(init.refresh_every),
            graph: GraphView::new(map),
            focus: Pane::Graph,
            zoom: false,
            sql: SqlPane::default(),
            log: LogBuffer::default(),
            dialogs: Vec::new(),
            run: None,
            next_run: 1,
            flash: None,
            editor: editor_command(),
            effect: None,
            quit: false,
        };
        app.rebuild_entries(None);
        app.log.push(
            LogKind::Info,
            &format!(
                "{} revision(s) from {}; connecting to {}",
                app.graph.map.len(),
                crate::engine::display_path(&app.migrations_dir),
                app.session.target
            ),
        );
        app.request_refresh();
        app
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn take_effect(&mut self) -> Option<Effect> {
        self.effect.take()
    }

    pub fn version_table_name(&self) -> VersionTableName {
        crate::engine::version_table_name(&self.config)
    }

    fn send(&mut self, command: Command) {
        if self.commands.send(command).is_err() {
            self.set_flash(
                FlashLevel::Error,
                "the database worker has stopped; restart the console",
            );
        }
    }

    pub fn request_refresh(&mut self) {
        self.server.last_refresh = Instant::now();
        self.send(Command::Refresh(Arc::clone(&self.graph.map)));
    }

    pub fn set_flash(&mut self, level: FlashLevel, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            level,
            at: Instant::now(),
        });
    }

    // ----- selection -------------------------------------------------------

    /// Recomputes the listed entries, keeping the selection on `keep` (a
    /// revision id) or on what was selected, and shows its SQL.
    fn rebuild_entries(&mut self, keep: Option<String>) {
        self.graph.rebuild(&self.server.statuses, keep);
        self.sync_sql_pane();
    }

    fn select(&mut self, index: usize) {
        self.graph.select(index);
        self.sync_sql_pane();
    }

    fn move_selection(&mut self, delta: isize) {
        self.select(self.graph.selected.saturating_add_signed(delta));
    }

    /// Points the SQL pane at the selected revision and tab.
    pub fn sync_sql_pane(&mut self) {
        self.sql
            .show(&self.graph.map, self.graph.selected_revision());
    }

    fn toggle_sql_tab(&mut self) {
        self.sql.toggle_tab();
        self.sync_sql_pane();
    }

    // ----- input -----------------------------------------------------------

    /// A key or mouse event; `view` says where the last frame put things.
    pub fn on_terminal_event(&mut self, event: Event, view: &ViewState) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key, view),
            Event::Mouse(mouse) => self.on_mouse(mouse, view),
            _ => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent, view: &ViewState) {
        if view.too_small {
            if self.keymap.lookup(&key, &[Action::Quit]).is_some() {
                self.try_quit();
            }
            return;
        }
        if !self.dialogs.is_empty() {
            self.dialog_key(key);
            return;
        }
        if self.graph.search.is_some() {
            self.search_key(key);
            return;
        }
        if self.log.search.as_ref().is_some_and(|s| s.typing) {
            self.log_search_key(key);
            return;
        }
        let context = match self.focus {
            Pane::Log => KeyContext::Log,
            Pane::Graph | Pane::Sql => KeyContext::Main,
        };
        if let Some(action) = self.keymap.lookup_in(&key, context) {
            self.main_action(action, view);
        }
    }

    fn main_action(&mut self, action: Action, view: &ViewState) {
        match action {
            Action::Quit => self.try_quit(),
            Action::Help => self.dialogs.push(Dialog::Help { scroll: 0 }),
            Action::Up => self.scroll_focused(-1),
            Action::Down => self.scroll_focused(1),
            Action::PageUp => self.page_focused(false, view),
            Action::PageDown => self.page_focused(true, view),
            Action::Top => self.edge_focused(true),
            Action::Bottom => self.edge_focused(false),
            Action::FocusNext => self.cycle_focus(true),
            Action::FocusPrev => self.cycle_focus(false),
            Action::Zoom => self.zoom = !self.zoom,
            Action::ToggleSql => self.toggle_sql_tab(),
            Action::UpgradeOne => self.prepare_plan(PlanRequest::UpgradeOne),
            Action::UpgradeTo => self.prepare_plan(PlanRequest::UpgradeTo),
            Action::DowngradeOne => self.prepare_plan(PlanRequest::DowngradeOne),
            Action::DowngradeTo => self.prepare_plan(PlanRequest::DowngradeTo),
            Action::Stamp => self.prepare_plan(PlanRequest::Stamp),
            Action::Refresh => self.refresh_all(),
            Action::Search if self.focus == Pane::Log => self.open_log_search(),
            Action::Search => self.open_search(),
            Action::SearchNext => self.log_search_step(true),
            Action::SearchPrev => self.log_search_step(false),
            Action::NewRevision => self.open_new_revision(),
            Action::Edit => self.edit_selected(),
            Action::History => self.open_history(None),
            Action::WriteSql => self.write_selected_plan_sql(),
            Action::SaveLog => self.open_write(WriteWhat::Log),
            Action::Cancel => self.escape_main(),
            Action::ToggleWrap => self.sql.overflow = self.sql.overflow.toggled(),
            Action::ScrollLeft | Action::ScrollRight => {
                if let (Pane::Sql, Some(view)) = (self.focus, &mut self.sql.view) {
                    view.scroll_sideways(action == Action::ScrollRight);
                }
            }
            Action::Confirm
            | Action::ConfirmDestructive
            | Action::NextStep
            | Action::PreviousStep
            | Action::Rehearse
            | Action::Autogenerate => {}
        }
    }

    fn try_quit(&mut self) {
        if self.run.is_some() {
            self.set_flash(
                FlashLevel::Warning,
                format!(
                    "A plan is running: cancel it first ({}) and wait for the rollback",
                    self.keymap.label(Action::Cancel)
                ),
            );
            return;
        }
        self.quit = true;
        self.send(Command::Shutdown);
    }

    /// Esc on the main screen: ask whether to cancel a run (the question
    /// defaults to keeping it), else clear the filter, else leave the zoom.
    fn escape_main(&mut self) {
        if let Some(run) = &self.run {
            if run.cancel_requested {
                self.set_flash(
                    FlashLevel::Info,
                    "Cancel already requested; waiting for the server",
                );
            } else {
                self.dialogs.push(Dialog::ConfirmCancel);
            }
        } else if self.graph.filter.is_some() {
            self.graph.filter = None;
            self.rebuild_entries(None);
        } else if self.zoom {
            self.zoom = false;
        }
    }

    fn cycle_focus(&mut self, forward: bool) {
        let order = [Pane::Graph, Pane::Sql, Pane::Log];
        let at = order.iter().position(|p| *p == self.focus).unwrap_or(0);
        self.focus = order[if forward { (at + 1) % 3 } else { (at + 2) % 3 }];
    }

    fn scroll_focused(&mut self, delta: isize) {
        match self.focus {
            Pane::Graph => self.move_selection(delta),
            Pane::Sql => {
                if let Some(view) = &mut self.sql.view {
                    view.scroll_by(delta);
                }
            }
            Pane::Log => {
                if delta < 0 {
                    self.log.scroll_up(delta.unsigned_abs());
                } else {
                    self.log.scroll_down(delta.unsigned_abs());
                }
            }
        }
    }

    fn page_focused(&mut self, down: bool, view: &ViewState) {
        match self.focus {
            Pane::Graph => {
                let rows = view.graph.page_rows() as isize;
                self.move_selection(if down { rows } else { -rows });
            }
            Pane::Sql => {
                if let Some(view) = &mut self.sql.view {
                    view.page(down);
                }
            }
            Pane::Log => {
                if down {
                    self.log.page_down();
                } else {
                    self.log.page_up();
                }
            }
        }
    }

    fn edge_focused(&mut self, top: bool) {
        match self.focus {
            Pane::Graph => self.select(if top { 0 } else { usize::MAX }),
            Pane::Sql => {
                if let Some(view) = &mut self.sql.view {
                    if top { view.top() } else { view.bottom() }
                }
            }
            Pane::Log => {
                if top {
                    self.log.top();
                } else {
                    self.log.follow();
                }
            }
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent, view: &ViewState) {
        if view.too_small {
            return;
        }
        let at = Position::new(mouse.column, mouse.row);
        if let Some(Dialog::Plan(dialog)) = self.dialogs.last_mut() {
            match mouse.kind {
                MouseEventKind::ScrollUp => dialog.sql.scroll_by(-3),
                MouseEventKind::ScrollDown => dialog.sql.scroll_by(3),
                _ => {}
            }
            return;
        }
        if !self.dialogs.is_empty() {
            return;
        }
        let pane = [
            (Pane::Graph, view.areas.graph),
            (Pane::Sql, view.areas.sql),
            (Pane::Log, view.areas.log),
        ]
        .into_iter()
        .find(|(_, area)| area.contains(at))
        .map(|(pane, _)| pane);
        let Some(pane) = pane else { return };
        match mouse.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let delta = if mouse.kind == MouseEventKind::ScrollUp {
                    -3
                } else {
                    3
                };
                let focus = self.focus;
                self.focus = pane;
                self.scroll_focused(delta);
                self.focus = focus;
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                let rows = view.areas.graph_rows;
                if pane == Pane::Graph && rows.contains(at) {
                    self.select(view.graph.offset + usize::from(at.y - rows.y));
                }
            }
            _ => {}
        }
    }

    // ----- search ----------------------------------------------------------

    fn open_search(&mut self) {
        let mut area = input("id, label or message");
        if let Some(filter) = &self.graph.filter {
            area.insert_str(filter);
        }
        self.graph.search = Some(area);
        self.focus = Pane::Graph;
    }

    fn search_key(&mut self, key: KeyEvent) {
        let Some(area) = &mut self.graph.search else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                self.graph.search = None;
            }
            KeyCode::Esc => {
                self.graph.search = None;
                self.graph.filter = None;
                self.rebuild_entries(None);
            }
            KeyCode::Up | KeyCode::Down => {
                self.move_selection(if key.code == KeyCode::Up { -1 } else { 1 });
            }
            _ => {
                if edit_line(area, key) {
                    let text = single_line(area);
                    self.graph.filter = (!text.is_empty()).then_some(text);
                    self.rebuild_entries(None);
                }
            }
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
/// The editor the user chose: `$VISUAL`, then `$EDITOR`, then `vi`.
fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}
