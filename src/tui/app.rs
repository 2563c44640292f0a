//! The console's state and everything that changes it: key and mouse input,
//! worker events, highlighter answers and the clock. Drawing is in `ui`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use ratatui_textarea::{Input, TextArea};
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{GlobalOptions, Project};
use crate::config::Config;
use crate::core::graph::RevisionMap;
use crate::core::offline::{VersionTableName, render_offline};
use crate::core::plan::{Plan, plan_downgrade, plan_stamp, plan_upgrade};
use crate::core::revision::{Revision, SqlSection};
use crate::db::{ExecError, ExecEvent};
use crate::scripts;
use crate::tui::action::Action;
use crate::tui::dialogs::{
    Confirm, Dialog, FormField, NewRevisionForm, PlanDialog, PlanKind, WriteDialog, WriteWhat,
    edit_line, input, single_line,
};
use crate::tui::format;
use crate::tui::keymap::KeyMap;
use crate::tui::log::{LogBuffer, LogKind};
use crate::tui::model::{Entry, GraphLayout, RevStatus, Statuses, entries};
use crate::tui::textview::{HighlightAnswer, Highlights, TextView};
use crate::tui::worker::{Command, DbState, RunRequest, WorkerEvent};

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
    pub highlights: Highlights,
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
pub enum SqlTab {
    Upgrade,
    Downgrade,
}

/// The connection as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    /// Never connected in this session.
    Unreachable(String),
    /// Was connected; the last known state may be stale.
    Lost(String),
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

/// A plan being executed.
pub struct RunProgress {
    pub id: u64,
    pub kind: PlanKind,
    pub request: String,
    pub steps: Vec<crate::core::plan::Step>,
    /// The map the plan was made from (names statement files in the log).
    pub map: Arc<RevisionMap>,
    /// Index of the step running now, with its title.
    pub current: Option<(usize, String)>,
    pub done: usize,
    pub started: Instant,
    pub step_started: Instant,
    pub cancel_requested: bool,
    /// A `StepFailed` was logged, so `PlanFailed` need not repeat the error.
    pub failure_logged: bool,
}

/// Work the loop must do outside the state: things that take the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Edit(PathBuf),
}

/// Screen areas of the last draw, for the mouse.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaneAreas {
    pub graph: Rect,
    pub sql: Rect,
    pub log: Rect,
    /// First row of graph entries inside the graph pane.
    pub graph_rows: Rect,
}

/// The SQL pane's content: which revision and tab it shows.
pub struct SqlPane {
    pub revision: Option<usize>,
    pub tab: SqlTab,
    pub view: Option<TextView>,
}

pub struct App {
    pub options: GlobalOptions,
    pub config: Config,
    pub migrations_dir: PathBuf,
    pub map: Arc<RevisionMap>,
    pub layout: GraphLayout,
    pub session: SessionInfo,
    pub keymap: KeyMap,
    commands: UnboundedSender<Command>,
    pub highlights: Highlights,

    pub connection: Connection,
    pub db: Option<DbState>,
    /// Local time of the last successful refresh.
    pub db_as_of: Option<String>,
    pub refreshing: bool,
    pub statuses: Statuses,
    refresh_every: Option<Duration>,
    last_refresh: Instant,

    pub entries: Vec<Entry>,
    pub selected: usize,
    pub graph_offset: usize,
    pub graph_height: usize,
    pub filter: Option<String>,
    /// The filter being typed (the search bar is open).
    pub search: Option<TextArea<'static>>,

    pub focus: Pane,
    pub zoom: bool,
    pub sql: SqlPane,
    pub log: LogBuffer,
    pub dialogs: Vec<Dialog>,
    pub run: Option<RunProgress>,
    next_run: u64,
    pub flash: Option<Flash>,
    pub areas: PaneAreas,
    /// Set by the draw when the terminal is below the minimum size.
    pub too_small: bool,
    /// Shell command that edits a file (`$VISUAL`, `$EDITOR`, else `vi`).
    pub editor: String,
    effect: Option<Effect>,
    quit: bool,
}

/// Actions each context understands, in priority order for clashing defaults.
const GRAPH_ACTIONS: &[Action] = &[
    Action::Quit,
    Action::Help,
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::FocusNext,
    Action::FocusPrev,
    Action::Zoom,
    Action::ToggleSql,
    Action::UpgradeOne,
    Action::UpgradeTo,
    Action::DowngradeOne,
    Action::DowngradeTo,
    Action::Stamp,
    Action::Refresh,
    Action::Search,
    Action::NewRevision,
    Action::Edit,
    Action::WriteSql,
    Action::Cancel,
];
const LOG_ACTIONS: &[Action] = &[
    Action::Quit,
    Action::Help,
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::FocusNext,
    Action::FocusPrev,
    Action::Zoom,
    Action::SaveLog,
    Action::ToggleSql,
    Action::UpgradeOne,
    Action::UpgradeTo,
    Action::DowngradeOne,
    Action::DowngradeTo,
    Action::Stamp,
    Action::Refresh,
    Action::Search,
    Action::NewRevision,
    Action::Edit,
    Action::Cancel,
];
const PLAN_ACTIONS: &[Action] = &[
    Action::Confirm,
    Action::ConfirmDestructive,
    Action::Cancel,
    Action::Quit,
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::WriteSql,
    Action::Help,
];
const SCROLL_ACTIONS: &[Action] = &[
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
];

impl App {
    pub fn new(init: AppInit) -> App {
        let Project {
            config,
            migrations_dir,
            map,
        } = init.project;
        let layout = GraphLayout::build(&map);
        let keymap = KeyMap::new(&config.keys);
        let mut app = App {
            options: init.options,
            config,
            migrations_dir,
            map: Arc::new(map),
            layout,
            session: init.session,
            keymap,
            commands: init.commands,
            highlights: init.highlights,
            connection: Connection::Connecting,
            db: None,
            db_as_of: None,
            refreshing: false,
            statuses: Statuses::unknown(),
            refresh_every: init.refresh_every,
            last_refresh: Instant::now(),
            entries: Vec::new(),
            selected: 0,
            graph_offset: 0,
            graph_height: 10,
            filter: None,
            search: None,
            focus: Pane::Graph,
            zoom: false,
            sql: SqlPane {
                revision: None,
                tab: SqlTab::Upgrade,
                view: None,
            },
            log: LogBuffer::default(),
            dialogs: Vec::new(),
            run: None,
            next_run: 1,
            flash: None,
            areas: PaneAreas::default(),
            too_small: false,
            editor: crate::tui::event_loop::editor_command(),
            effect: None,
            quit: false,
        };
        app.rebuild_entries(None);
        app.log.push(
            LogKind::Info,
            &format!(
                "{} revision(s) from {}; connecting to {}",
                app.map.len(),
                crate::app::display_path(&app.migrations_dir),
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
        crate::app::version_table_name(&self.config)
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
        self.last_refresh = Instant::now();
        self.send(Command::Refresh);
    }

    pub fn set_flash(&mut self, level: FlashLevel, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            level,
            at: Instant::now(),
        });
    }

    // ----- selection -------------------------------------------------------

    /// The revision (map index) of the selected entry, if it is one.
    pub fn selected_revision(&self) -> Option<usize> {
        match self.entries.get(self.selected)? {
            Entry::Row(row) => self.layout.order.get(*row).copied(),
            Entry::Missing(_) => None,
        }
    }

    fn selected_key(&self) -> Option<String> {
        match self.entries.get(self.selected)? {
            Entry::Row(row) => Some(self.map.id(self.layout.order[*row]).to_string()),
            Entry::Missing(m) => self
                .statuses
                .missing
                .get(*m)
                .map(|s| format!("missing:{s}")),
        }
    }

    /// Recomputes the listed entries, keeping the selection on `keep` (a
    /// revision id) or on what was selected.
    fn rebuild_entries(&mut self, keep: Option<String>) {
        let keep = keep.or_else(|| self.selected_key());
        self.entries = entries(
            &self.map,
            &self.layout,
            &self.statuses,
            self.filter.as_deref(),
        );
        let found = keep.and_then(|key| {
            self.entries.iter().position(|e| match e {
                Entry::Row(row) => self.map.id(self.layout.order[*row]) == key,
                Entry::Missing(m) => format!("missing:{}", self.statuses.missing[*m]) == key,
            })
        });
        self.selected = found.unwrap_or(0).min(self.entries.len().saturating_sub(1));
        self.sync_sql_pane();
    }

    fn select(&mut self, index: usize) {
        self.selected = index.min(self.entries.len().saturating_sub(1));
        self.sync_sql_pane();
    }

    fn move_selection(&mut self, delta: isize) {
        self.select(self.selected.saturating_add_signed(delta));
    }

    /// Points the SQL pane at the selected revision and tab.
    pub fn sync_sql_pane(&mut self) {
        let revision = self.selected_revision();
        let unchanged = self.sql.revision == revision && self.sql.view.is_some();
        if unchanged {
            return;
        }
        self.sql.revision = revision;
        self.sql.view = revision.and_then(|index| {
            let rev = self.map.revision(index);
            section(rev, self.sql.tab).map(|s| TextView::new(s.sql.as_str(), s.first_line))
        });
    }

    fn toggle_sql_tab(&mut self) {
        self.sql.tab = match self.sql.tab {
            SqlTab::Upgrade => SqlTab::Downgrade,
            SqlTab::Downgrade => SqlTab::Upgrade,
        };
        self.sql.view = None;
        self.sql.revision = None;
        self.sync_sql_pane();
    }

    // ----- input -----------------------------------------------------------

    pub fn on_terminal_event(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Mouse(mouse) => self.on_mouse(mouse),
            _ => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if self.too_small {
            if self.keymap.lookup(&key, &[Action::Quit]).is_some() {
                self.try_quit();
            }
            return;
        }
        if !self.dialogs.is_empty() {
            self.dialog_key(key);
            return;
        }
        if self.search.is_some() {
            self.search_key(key);
            return;
        }
        let context = match self.focus {
            Pane::Log => LOG_ACTIONS,
            Pane::Graph | Pane::Sql => GRAPH_ACTIONS,
        };
        if let Some(action) = self.keymap.lookup(&key, context) {
            self.main_action(action);
        }
    }

    fn main_action(&mut self, action: Action) {
        match action {
            Action::Quit => self.try_quit(),
            Action::Help => self.dialogs.push(Dialog::Help { scroll: 0 }),
            Action::Up => self.scroll_focused(-1),
            Action::Down => self.scroll_focused(1),
            Action::PageUp => self.page_focused(false),
            Action::PageDown => self.page_focused(true),
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
            Action::Search => self.open_search(),
            Action::NewRevision => self.open_new_revision(),
            Action::Edit => self.edit_selected(),
            Action::WriteSql => self.write_selected_plan_sql(),
            Action::SaveLog => self.open_write(WriteWhat::Log),
            Action::Cancel => self.escape_main(),
            Action::Confirm | Action::ConfirmDestructive => {}
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

    /// Esc on the main screen: cancel a run (after asking), else clear the
    /// filter, else leave the zoom.
    fn escape_main(&mut self) {
        if self.run.is_some() {
            self.dialogs.push(Dialog::ConfirmCancel);
        } else if self.filter.is_some() {
            self.filter = None;
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

    fn page_focused(&mut self, down: bool) {
        match self.focus {
            Pane::Graph => {
                let rows = self.graph_height.saturating_sub(1).max(1) as isize;
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

    fn on_mouse(&mut self, mouse: MouseEvent) {
        if self.too_small {
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
            (Pane::Graph, self.areas.graph),
            (Pane::Sql, self.areas.sql),
            (Pane::Log, self.areas.log),
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
                let rows = self.areas.graph_rows;
                if pane == Pane::Graph && rows.contains(at) {
                    self.select(self.graph_offset + usize::from(at.y - rows.y));
                }
            }
            _ => {}
        }
    }

    // ----- search ----------------------------------------------------------

    fn open_search(&mut self) {
        let mut area = input("id, label or message");
        if let Some(filter) = &self.filter {
            area.insert_str(filter);
        }
        self.search = Some(area);
        self.focus = Pane::Graph;
    }

    fn search_key(&mut self, key: KeyEvent) {
        let Some(area) = &mut self.search else { return };
        match key.code {
            KeyCode::Enter => {
                self.search = None;
            }
            KeyCode::Esc => {
                self.search = None;
                self.filter = None;
                self.rebuild_entries(None);
            }
            KeyCode::Up | KeyCode::Down => {
                self.move_selection(if key.code == KeyCode::Up { -1 } else { 1 });
            }
            _ => {
                if edit_line(area, key) {
                    let text = single_line(area);
                    self.filter = (!text.is_empty()).then_some(text);
                    self.rebuild_entries(None);
                }
            }
        }
    }

    // ----- plans -----------------------------------------------------------

    /// The version-table rows, when the state is known and current enough to plan on.
    fn rows_for_planning(&mut self) -> Option<Vec<String>> {
        if self.run.is_some() {
            self.set_flash(
                FlashLevel::Warning,
                "A plan is already running; wait for it to finish",
            );
            return None;
        }
        match (&self.connection, &self.db) {
            (Connection::Connected, Some(db)) => Some(db.rows.clone()),
            (Connection::Connecting, _) | (Connection::Connected, None) => {
                self.set_flash(
                    FlashLevel::Warning,
                    "Still reading the database state; try again in a moment",
                );
                None
            }
            (Connection::Unreachable(why) | Connection::Lost(why), _) => {
                let text = format!(
                    "Not connected ({why}); press {} to retry",
                    self.keymap.label(Action::Refresh)
                );
                self.set_flash(FlashLevel::Error, text);
                None
            }
        }
    }

    fn prepare_plan(&mut self, request: PlanRequest) {
        let Some(index) = self.selected_revision() else {
            self.set_flash(FlashLevel::Warning, "Select a revision first");
            return;
        };
        let Some(rows) = self.rows_for_planning() else {
            return;
        };
        let id = self.map.id(index).to_string();
        if request == PlanRequest::UpgradeOne && self.nothing_pending_above(index) {
            self.set_flash(
                FlashLevel::Info,
                format!("Nothing to do: {id} and everything above it are applied"),
            );
            return;
        }
        let (kind, description, result) = make_plan(&self.map, &rows, &id, request);
        match result {
            Ok(plan) if plan.is_empty() => {
                self.set_flash(
                    FlashLevel::Info,
                    format!("Nothing to do: {}", nothing_to_do(request, &id)),
                );
            }
            Ok(plan) => self.open_plan_dialog(kind, description, plan),
            Err(message) => self.set_flash(
                FlashLevel::Error,
                format!("Cannot {description}: {message}"),
            ),
        }
    }

    /// Whether `index` and every revision above it are applied.
    fn nothing_pending_above(&self, index: usize) -> bool {
        let above = self.map.descendants(&[index], true);
        (0..self.map.len())
            .filter(|&i| above[i])
            .all(|i| matches!(self.statuses.of(i), RevStatus::Applied | RevStatus::Current))
    }

    fn open_plan_dialog(&mut self, kind: PlanKind, request: String, plan: Plan) {
        let sql = render_offline(&self.map, &plan, &self.version_table_name());
        let confirm = match (kind.is_destructive(), &self.session) {
            (
                true,
                SessionInfo {
                    protected: true,
                    env: Some(name),
                    ..
                },
            ) => {
                let mut area = input(&format!("type {name} to confirm"));
                area.set_cursor_line_style(ratatui::style::Style::default());
                Confirm::TypeName {
                    name: name.clone(),
                    input: Box::new(area),
                }
            }
            (true, _) => Confirm::DestructiveKey,
            (false, _) => Confirm::Enter,
        };
        self.dialogs.push(Dialog::Plan(Box::new(PlanDialog {
            kind,
            request,
            plan,
            sql: TextView::new(sql, 1),
            confirm,
            hint: None,
        })));
    }

    fn start_run(&mut self, dialog: PlanDialog) {
        if self.run.is_some() {
            self.set_flash(
                FlashLevel::Warning,
                "A plan is already running; wait for it to finish",
            );
            return;
        }
        let id = self.next_run;
        self.next_run += 1;
        let now = Instant::now();
        let map = Arc::clone(&self.map);
        let from = if dialog.plan.heads_before.is_empty() {
            "base".to_string()
        } else {
            dialog.plan.heads_before.join(", ")
        };
        self.log.push(
            LogKind::Step,
            &format!(
                "{}: {} step(s) from {from}",
                capitalized(&dialog.request),
                dialog.plan.steps.len()
            ),
        );
        self.log.follow();
        self.run = Some(RunProgress {
            id,
            kind: dialog.kind,
            request: dialog.request,
            steps: dialog.plan.steps.clone(),
            map: Arc::clone(&map),
            current: None,
            done: 0,
            started: now,
            step_started: now,
            cancel_requested: false,
            failure_logged: false,
        });
        self.send(Command::Run(RunRequest {
            id,
            map,
            plan: dialog.plan,
        }));
    }

    fn write_selected_plan_sql(&mut self) {
        let Some(index) = self.selected_revision() else {
            self.set_flash(FlashLevel::Warning, "Select a revision first");
            return;
        };
        let Some(rows) = self.rows_for_planning() else {
            return;
        };
        let id = self.map.id(index).to_string();
        let request = match self.statuses.of(index) {
            RevStatus::Pending => PlanRequest::UpgradeTo,
            _ => PlanRequest::DowngradeTo,
        };
        let (_, description, result) = make_plan(&self.map, &rows, &id, request);
        match result {
            Ok(plan) if plan.is_empty() => {
                self.set_flash(
                    FlashLevel::Info,
                    format!("Nothing to write: {}", nothing_to_do(request, &id)),
                );
            }
            Ok(plan) => {
                let text = render_offline(&self.map, &plan, &self.version_table_name());
                self.open_write(WriteWhat::PlanSql {
                    request: description,
                    text: text.into(),
                });
            }
            Err(message) => self.set_flash(
                FlashLevel::Error,
                format!("Cannot {description}: {message}"),
            ),
        }
    }

    // ----- dialogs ---------------------------------------------------------

    fn dialog_key(&mut self, key: KeyEvent) {
        let Some(dialog) = self.dialogs.pop() else {
            return;
        };
        // Handlers may open dialogs on top of theirs; a kept dialog goes back below them.
        let depth = self.dialogs.len();
        let keep = match dialog {
            Dialog::Help { scroll } => self.help_key(key, scroll),
            Dialog::Plan(plan) => self.plan_key(key, plan),
            Dialog::Write(write) => self.write_key(key, write),
            Dialog::NewRevision(form) => self.form_key(key, form),
            Dialog::ConfirmCancel => self.confirm_cancel_key(key),
            Dialog::Message { title, text } => match key.code {
                KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => {
                    Some(Dialog::Message { title, text })
                }
                _ => None,
            },
        };
        if let Some(dialog) = keep {
            self.dialogs.insert(depth.min(self.dialogs.len()), dialog);
        }
    }

    fn help_key(&mut self, key: KeyEvent, scroll: usize) -> Option<Dialog> {
        match self.keymap.lookup(&key, SCROLL_ACTIONS) {
            Some(Action::Up) => Some(Dialog::Help {
                scroll: scroll.saturating_sub(1),
            }),
            Some(Action::Down) => Some(Dialog::Help { scroll: scroll + 1 }),
            Some(Action::PageUp) => Some(Dialog::Help {
                scroll: scroll.saturating_sub(10),
            }),
            Some(Action::PageDown) => Some(Dialog::Help {
                scroll: scroll + 10,
            }),
            Some(Action::Top) => Some(Dialog::Help { scroll: 0 }),
            Some(Action::Bottom) => Some(Dialog::Help {
                scroll: usize::MAX / 2,
            }),
            _ => None,
        }
    }

    fn plan_key(&mut self, key: KeyEvent, mut dialog: Box<PlanDialog>) -> Option<Dialog> {
        if let Confirm::TypeName { name, input } = &mut dialog.confirm {
            match key.code {
                KeyCode::Esc => return None,
                KeyCode::Enter => {
                    if single_line(input) == *name {
                        self.start_run(*dialog);
                        return None;
                    }
                    dialog.hint = Some(format!(
                        "Type the environment name '{name}' exactly to run this plan"
                    ));
                    return Some(Dialog::Plan(dialog));
                }
                KeyCode::Char(_)
                | KeyCode::Backspace
                | KeyCode::Delete
                | KeyCode::Left
                | KeyCode::Right
                    if !key.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    edit_line(input, key);
                    return Some(Dialog::Plan(dialog));
                }
                _ => {}
            }
        }
        let action = self.keymap.lookup(&key, PLAN_ACTIONS);
        match action {
            Some(Action::Confirm) => match dialog.confirm {
                Confirm::Enter => {
                    self.start_run(*dialog);
                    return None;
                }
                Confirm::DestructiveKey => {
                    dialog.hint = Some(format!(
                        "Enter does not run a {}: press {} to run it, {} to close",
                        dialog.kind.word(),
                        self.keymap.label(Action::ConfirmDestructive),
                        self.keymap.label(Action::Cancel)
                    ));
                }
                Confirm::TypeName { .. } => {}
            },
            Some(Action::ConfirmDestructive) => match dialog.confirm {
                Confirm::Enter | Confirm::DestructiveKey => {
                    self.start_run(*dialog);
                    return None;
                }
                Confirm::TypeName { .. } => {}
            },
            Some(Action::Cancel | Action::Quit) => return None,
            Some(Action::Up) => dialog.sql.scroll_by(-1),
            Some(Action::Down) => dialog.sql.scroll_by(1),
            Some(Action::PageUp) => dialog.sql.page(false),
            Some(Action::PageDown) => dialog.sql.page(true),
            Some(Action::Top) => dialog.sql.top(),
            Some(Action::Bottom) => dialog.sql.bottom(),
            Some(Action::WriteSql) => {
                let what = WriteWhat::PlanSql {
                    request: dialog.request.clone(),
                    text: Arc::clone(dialog.sql.text()),
                };
                self.open_write(what);
            }
            Some(Action::Help) => {
                self.dialogs.push(Dialog::Help { scroll: 0 });
            }
            _ => {}
        }
        Some(Dialog::Plan(dialog))
    }

    fn confirm_cancel_key(&mut self, key: KeyEvent) -> Option<Dialog> {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                self.cancel_run();
                None
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => None,
            _ => Some(Dialog::ConfirmCancel),
        }
    }

    fn cancel_run(&mut self) {
        let Some(run) = &mut self.run else {
            return;
        };
        if run.cancel_requested {
            self.set_flash(
                FlashLevel::Info,
                "Cancel already requested; waiting for the server",
            );
            return;
        }
        run.cancel_requested = true;
        self.log
            .push(LogKind::Warning, "cancel requested by the user");
        self.send(Command::Cancel);
    }

    fn open_write(&mut self, what: WriteWhat) {
        let default = match &what {
            WriteWhat::PlanSql { request, .. } => format!("{}.sql", slug(request)),
            WriteWhat::Log => format!(
                "retort-console-{}.log",
                chrono::Local::now().format("%Y%m%d-%H%M%S")
            ),
        };
        let mut area = input("file name");
        area.insert_str(&default);
        self.dialogs.push(Dialog::Write(Box::new(WriteDialog {
            what,
            input: Box::new(area),
            overwrite_armed: false,
            error: None,
        })));
    }

    fn write_key(&mut self, key: KeyEvent, mut dialog: Box<WriteDialog>) -> Option<Dialog> {
        match key.code {
            KeyCode::Esc => None,
            KeyCode::Enter => {
                let path = PathBuf::from(single_line(&dialog.input));
                if path.as_os_str().is_empty() {
                    dialog.error = Some("Give a file name".to_string());
                    return Some(Dialog::Write(dialog));
                }
                if path.exists() && !dialog.overwrite_armed {
                    dialog.overwrite_armed = true;
                    dialog.error = Some(format!(
                        "{} exists: press Enter again to replace it",
                        path.display()
                    ));
                    return Some(Dialog::Write(dialog));
                }
                match self.write_file(&dialog.what, &path) {
                    Ok(message) => {
                        self.log.push(LogKind::Success, &message);
                        self.set_flash(FlashLevel::Info, message);
                        None
                    }
                    Err(message) => {
                        dialog.error = Some(message);
                        dialog.overwrite_armed = false;
                        Some(Dialog::Write(dialog))
                    }
                }
            }
            _ => {
                if edit_line(&mut dialog.input, key) {
                    dialog.overwrite_armed = false;
                    dialog.error = None;
                }
                Some(Dialog::Write(dialog))
            }
        }
    }

    fn write_file(&self, what: &WriteWhat, path: &Path) -> Result<String, String> {
        match what {
            WriteWhat::PlanSql { request, text } => std::fs::write(path, text.as_bytes())
                .map(|_| format!("Wrote the SQL of '{request}' to {}", path.display()))
                .map_err(|e| format!("{}: {e}", path.display())),
            WriteWhat::Log => self
                .log
                .write_to(path)
                .map(|n| format!("Wrote {n} log line(s) to {}", path.display()))
                .map_err(|e| format!("{}: {e}", path.display())),
        }
    }

    // ----- new revision ----------------------------------------------------

    fn open_new_revision(&mut self) {
        let heads = self.map.heads();
        let after = match self.selected_revision() {
            Some(index) if self.map.is_head(index) => self.map.id(index).to_string(),
            _ if heads.len() == 1 => self.map.id(heads[0]).to_string(),
            Some(index) => self.map.id(index).to_string(),
            None => String::new(),
        };
        self.dialogs
            .push(Dialog::NewRevision(Box::new(NewRevisionForm::new(&after))));
    }

    fn form_key(&mut self, key: KeyEvent, mut form: Box<NewRevisionForm>) -> Option<Dialog> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return None,
            KeyCode::Char('s') if ctrl => match self.save_new_revision(&form) {
                Ok(()) => return None,
                Err(message) => form.error = Some(message),
            },
            KeyCode::Tab => form.focus = form.focus.next(true),
            KeyCode::BackTab => form.focus = form.focus.next(false),
            KeyCode::Enter if !form.focus.is_multiline() => form.focus = form.focus.next(true),
            KeyCode::Char(' ') if form.focus == FormField::Transactional => {
                form.transactional = !form.transactional;
            }
            _ => {
                let field = form.focus;
                if let Some(area) = form.field_mut(field) {
                    if field.is_multiline() {
                        area.input(Input::from(key));
                    } else {
                        edit_line(area, key);
                    }
                }
            }
        }
        Some(Dialog::NewRevision(form))
    }

    fn save_new_revision(&mut self, form: &NewRevisionForm) -> Result<(), String> {
        let list = |text: String| -> Vec<String> {
            text.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut down_revisions = Vec::new();
        for ident in list(single_line(&form.after)) {
            let index = self
                .map
                .get_revision(&ident)
                .map_err(|e| format!("After: {e}"))?
                .ok_or_else(|| format!("After: '{ident}' is not a revision"))?;
            down_revisions.push(self.map.id(index).to_string());
        }
        let depends_on = list(single_line(&form.depends_on));
        for dep in &depends_on {
            self.map
                .get_revision(dep)
                .map_err(|e| format!("Depends on: {e}"))?;
        }
        let branch_labels = list(single_line(&form.branch_label));
        for label in &branch_labels {
            if self.map.label_owner(label).is_some() {
                return Err(format!("Branch label: '{label}' is already used"));
            }
        }
        let id = self.unused_revision_id();
        let revision = Revision {
            id: id.clone(),
            down_revisions,
            branch_labels,
            depends_on,
            message: single_line(&form.message),
            create_date: Some(chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()),
            transactional: form.transactional,
            upgrade: SqlSection {
                sql: form.upgrade.lines().join("\n"),
                first_line: 1,
            },
            downgrade: Some(SqlSection {
                sql: form.downgrade.lines().join("\n"),
                first_line: 1,
            }),
            path: PathBuf::new(),
            header_lines: Default::default(),
        };
        let path = scripts::write_new_revision(&self.migrations_dir, &revision)
            .map_err(|e| e.to_string())?;
        self.log.push(
            LogKind::Success,
            &format!(
                "wrote the new revision {id} to {}",
                crate::app::display_path(&path)
            ),
        );
        if let Err(message) = self.reload_project(Some(id.clone())) {
            self.dialogs.push(Dialog::Message {
                title: "The new revision does not load".to_string(),
                text: message,
            });
        } else {
            self.set_flash(FlashLevel::Info, format!("Created revision {id}"));
        }
        Ok(())
    }

    fn unused_revision_id(&self) -> String {
        loop {
            let id = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
            if self.map.get(&id).is_none() && self.map.keys_with_prefix(&id).is_empty() {
                return id;
            }
        }
    }

    // ----- files -----------------------------------------------------------

    fn edit_selected(&mut self) {
        let Some(index) = self.selected_revision() else {
            self.set_flash(FlashLevel::Warning, "Select a revision first");
            return;
        };
        self.effect = Some(Effect::Edit(self.map.revision(index).path.clone()));
    }

    /// After `$EDITOR` returned: reload the files (also when the editor
    /// failed: it may have written before failing).
    pub fn after_edit(&mut self, path: &Path, outcome: Result<String, String>) {
        match &outcome {
            Ok(editor) => self.log.push(
                LogKind::Info,
                &format!("{editor} closed {}", crate::app::display_path(path)),
            ),
            Err(message) => self.log.push(LogKind::Error, message),
        }
        let keep = self.selected_revision().map(|i| self.map.id(i).to_string());
        match self.reload_project(keep) {
            Ok(()) => match outcome {
                Ok(_) => self.set_flash(FlashLevel::Info, "Reloaded the revision files"),
                Err(message) => self.set_flash(FlashLevel::Error, message),
            },
            Err(message) => self.dialogs.push(Dialog::Message {
                title: "The revision files do not load".to_string(),
                text: format!(
                    "{message}\n\nThe console keeps showing the files as they were before."
                ),
            }),
        }
    }

    /// Refresh: the files and the database state.
    fn refresh_all(&mut self) {
        let keep = self.selected_key();
        if let Err(message) = self.reload_project(keep) {
            self.dialogs.push(Dialog::Message {
                title: "The revision files do not load".to_string(),
                text: format!(
                    "{message}\n\nThe console keeps showing the files as they were before."
                ),
            });
        }
        self.request_refresh();
    }

    /// Reads the config and revision files again; on failure keeps the old
    /// ones and returns the error (also logged).
    fn reload_project(&mut self, keep: Option<String>) -> Result<(), String> {
        match Project::load(&self.options) {
            Ok(project) => {
                self.config = project.config;
                self.keymap = KeyMap::new(&self.config.keys);
                self.migrations_dir = project.migrations_dir;
                self.map = Arc::new(project.map);
                self.layout = GraphLayout::build(&self.map);
                self.statuses = match &self.db {
                    Some(db) => Statuses::compute(&self.map, &db.rows),
                    None => Statuses::unknown(),
                };
                self.sql.view = None;
                self.sql.revision = None;
                self.rebuild_entries(keep);
                Ok(())
            }
            Err(e) => {
                let message = e.redacted();
                self.log.push(
                    LogKind::Error,
                    &format!("cannot reload the revision files: {message}"),
                );
                Err(message)
            }
        }
    }

    // ----- worker events ---------------------------------------------------

    pub fn on_worker_event(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Refreshing => self.refreshing = true,
            WorkerEvent::State(state) => self.on_state(state),
            WorkerEvent::Unreachable(reason) => self.on_unreachable(reason),
            WorkerEvent::Exec { run, event } => self.on_exec(run, event),
            WorkerEvent::RunFinished { run, outcome } => self.on_run_finished(run, outcome),
            WorkerEvent::RunRefused { run, reason } => {
                self.log.push(
                    LogKind::Error,
                    &format!("the plan was not started: {reason}"),
                );
                if self.run.as_ref().is_some_and(|r| r.id == run) {
                    self.run = None;
                }
                self.set_flash(FlashLevel::Error, format!("Not started: {reason}"));
            }
            WorkerEvent::CancelSent(result) => match result {
                Ok(true) => self.log.push(
                    LogKind::Warning,
                    "cancel request sent to the server; the running step rolls back",
                ),
                Ok(false) => self
                    .log
                    .push(LogKind::Info, "nothing was running to cancel"),
                Err(e) => {
                    self.log
                        .push(LogKind::Error, &format!("the cancel request failed: {e}"));
                    if let Some(run) = &mut self.run {
                        run.cancel_requested = false;
                    }
                }
            },
        }
    }

    fn on_state(&mut self, state: DbState) {
        self.refreshing = false;
        match &self.connection {
            Connection::Lost(_) | Connection::Unreachable(_) => {
                self.log.push(
                    LogKind::Success,
                    &format!("connected to {}", self.session.target),
                );
            }
            Connection::Connecting => {
                self.log.push(
                    LogKind::Info,
                    &format!(
                        "connected: PostgreSQL {}, database {} as {}; version table: {}",
                        state.server_version,
                        state.database,
                        state.user,
                        if state.rows.is_empty() {
                            "empty".to_string()
                        } else {
                            state.rows.join(", ")
                        }
                    ),
                );
            }
            Connection::Connected => {}
        }
        let changed = self.db.as_ref().map(|d| &d.rows) != Some(&state.rows);
        self.connection = Connection::Connected;
        self.db_as_of = Some(chrono::Local::now().format("%H:%M:%S").to_string());
        if changed || !self.statuses.is_known() {
            self.statuses = Statuses::compute(&self.map, &state.rows);
            self.db = Some(state);
            self.rebuild_entries(None);
        } else {
            self.db = Some(state);
        }
    }

    fn on_unreachable(&mut self, reason: String) {
        self.refreshing = false;
        let reason = crate::config::redact_url(&reason);
        let retry = self.keymap.label(Action::Refresh);
        match &self.connection {
            Connection::Connecting => {
                self.log.push(
                    LogKind::Error,
                    &format!("cannot reach the database: {reason}\nthe graph shows the revision files only; press {retry} to retry"),
                );
                self.connection = Connection::Unreachable(reason);
            }
            Connection::Connected => {
                self.log
                    .push(LogKind::Error, &format!("connection lost: {reason}"));
                self.connection = Connection::Lost(reason);
            }
            Connection::Unreachable(old) | Connection::Lost(old) if *old != reason => {
                self.log
                    .push(LogKind::Error, &format!("still not connected: {reason}"));
                self.connection = match self.connection {
                    Connection::Lost(_) => Connection::Lost(reason),
                    _ => Connection::Unreachable(reason),
                };
            }
            Connection::Unreachable(_) | Connection::Lost(_) => {}
        }
    }

    fn on_exec(&mut self, run_id: u64, event: ExecEvent) {
        let Some(run) = self.run.as_mut().filter(|r| r.id == run_id) else {
            return;
        };
        match &event {
            ExecEvent::StepStarted { index, step, .. } => {
                run.current = Some((*index, format::step_title(&run.map, step)));
                run.step_started = Instant::now();
            }
            ExecEvent::StepFinished { index, .. } => {
                run.done = index + 1;
                run.current = None;
            }
            ExecEvent::StepFailed { .. } => run.failure_logged = true,
            ExecEvent::PlanFailed { .. } if run.failure_logged => {
                // The step's error is already in the log: just the summary.
            }
            ExecEvent::PlanFailed { error, .. } => {
                self.log.push(LogKind::Error, &format!("✗ {error}"));
            }
            _ => {}
        }
        let Some(run) = self.run.as_ref() else { return };
        for (kind, text) in format::exec_event(&run.map, &run.steps, &event) {
            self.log.push(kind, &text);
        }
        if matches!(event, ExecEvent::StepFinished { .. }) {
            // Show the graph's progress as steps commit.
            self.request_refresh();
        }
    }

    fn on_run_finished(&mut self, run_id: u64, outcome: Result<crate::db::ExecSummary, ExecError>) {
        let Some(run) = self.run.take_if(|r| r.id == run_id) else {
            return;
        };
        match outcome {
            Ok(summary) => {
                self.set_flash(
                    FlashLevel::Info,
                    format!(
                        "Done: {}, {} step(s) in {}",
                        run.request,
                        summary.steps_done,
                        format::duration(summary.duration)
                    ),
                );
            }
            Err(error) if error.is_cancelled() => {
                self.set_flash(
                    FlashLevel::Warning,
                    format!(
                        "Cancelled: the running step was rolled back; {} of {} step(s) stay applied",
                        run.done,
                        run.steps.len()
                    ),
                );
            }
            Err(error) if format::is_connection_loss(&error) => {
                let text = format!(
                    "Connection lost during the run ({} of {} step(s) committed): {}. \
                     The server rolls back an open transaction; press {} to reconnect and check the state",
                    run.done,
                    run.steps.len(),
                    first_line(&error.to_string()),
                    self.keymap.label(Action::Refresh)
                );
                if !run.failure_logged {
                    self.log.push(LogKind::Error, &format!("✗ {error}"));
                }
                self.log.push(LogKind::Error, &text);
                self.set_flash(FlashLevel::Error, text);
            }
            Err(error) => {
                if !run.failure_logged {
                    self.log.push(LogKind::Error, &format!("✗ {error}"));
                }
                self.set_flash(
                    FlashLevel::Error,
                    format!(
                        "Failed: {} stopped at step {} of {}: {} (see the log)",
                        run.request,
                        run.done + 1,
                        run.steps.len(),
                        first_line(&error.to_string())
                    ),
                );
                self.log.follow();
            }
        }
    }

    pub fn on_highlighted(&mut self, answer: HighlightAnswer) {
        match answer {
            HighlightAnswer::Window(window) => self.highlights.accept(window),
            HighlightAnswer::Unavailable(why) => {
                self.highlights.disable();
                self.log
                    .push(LogKind::Warning, &format!("SQL highlighting is off: {why}"));
            }
        }
    }

    /// Called on the loop's timer: expire messages, refresh while idle.
    pub fn on_tick(&mut self) {
        if self
            .flash
            .as_ref()
            .is_some_and(|f| f.at.elapsed() > FLASH_FOR)
        {
            self.flash = None;
        }
        if let Some(every) = self.refresh_every
            && self.run.is_none()
            && !self.refreshing
            && self.last_refresh.elapsed() >= every
        {
            self.request_refresh();
        }
    }

    /// How often the loop must call [`on_tick`](Self::on_tick) and redraw.
    pub fn tick_interval(&self) -> Duration {
        if self.run.is_some() {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        }
    }
}

/// What the user asked a plan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRequest {
    UpgradeOne,
    UpgradeTo,
    DowngradeOne,
    DowngradeTo,
    Stamp,
}

/// Asks the core for the plan; the console adds no planning of its own,
/// only the target expression for the selected revision.
fn make_plan(
    map: &RevisionMap,
    rows: &[String],
    id: &str,
    request: PlanRequest,
) -> (PlanKind, String, Result<Plan, String>) {
    let text = |r: Result<Plan, crate::core::plan::PlanError>| r.map_err(|e| e.to_string());
    match request {
        PlanRequest::UpgradeOne => (
            PlanKind::Upgrade,
            format!("upgrade one step towards {id}"),
            text(plan_upgrade(map, rows, &format!("{id}@+1"))),
        ),
        PlanRequest::UpgradeTo => (
            PlanKind::Upgrade,
            format!("upgrade to {id}"),
            text(plan_upgrade(map, rows, id)),
        ),
        PlanRequest::DowngradeOne => {
            // One current head: Alembic's `-1`; several: the one on the
            // selected revision's line of descent.
            let target = if rows.len() == 1 {
                "-1".to_string()
            } else {
                format!("{id}@-1")
            };
            (
                PlanKind::Downgrade,
                format!("downgrade one step ({target})"),
                text(plan_downgrade(map, rows, &target)),
            )
        }
        PlanRequest::DowngradeTo => (
            PlanKind::Downgrade,
            format!("downgrade to {id}"),
            text(plan_downgrade(map, rows, id)),
        ),
        PlanRequest::Stamp => {
            // Rows naming revisions without a file cannot be stamped from:
            // replace every row instead (Alembic's --purge).
            let purge = rows.iter().any(|row| map.get(row).is_none());
            let description = if purge {
                format!("stamp {id}, replacing every row")
            } else {
                format!("stamp {id}")
            };
            (
                PlanKind::Stamp,
                description,
                text(plan_stamp(map, rows, &[id.to_string()], purge)),
            )
        }
    }
}

fn nothing_to_do(request: PlanRequest, id: &str) -> String {
    match request {
        PlanRequest::UpgradeOne | PlanRequest::UpgradeTo => format!("{id} is already applied"),
        PlanRequest::DowngradeOne | PlanRequest::DowngradeTo => {
            format!("nothing above {id} is applied")
        }
        PlanRequest::Stamp => format!("the version table already says {id}"),
    }
}

pub fn section(rev: &Revision, tab: SqlTab) -> Option<&SqlSection> {
    match tab {
        SqlTab::Upgrade => Some(&rev.upgrade),
        SqlTab::Downgrade => rev.downgrade.as_ref(),
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

/// A file-name-safe form of a request: `upgrade to a1b2` -> `upgrade-to-a1b2`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
