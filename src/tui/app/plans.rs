//! Plans: asking the core for the plan of the selected revision, previewing
//! it, and handing it to the worker.

use std::sync::Arc;

use super::server::Connection;
use super::{App, FlashLevel, RunProgress, SessionInfo, capitalized};
use crate::core::graph::RevisionMap;
use crate::core::lint::LintContext;
use crate::core::offline::render_offline;
use crate::core::plan::{Intent, Plan};
use crate::core::policy::Requirement;
use crate::db::lock::WaitPolicy;
use crate::engine::migrator::requirement_for;
use crate::engine::{OwnedConsent, Refusal};
use crate::tui::action::Action;
use crate::tui::dialogs::{
    Confirm, Dialog, FilesChanged, PlanDialog, PlanKind, PlanRehearsal, RehearsalState, WriteWhat,
    input,
};
use crate::tui::log::LogKind;
use crate::tui::model::RevStatus;
use crate::tui::plan_lint::DialogLint;
use crate::tui::textview::TextView;
use crate::tui::worker::{Command, RehearseOrder, RunRequest};
use crate::tui::{format, watch};

impl App {
    /// The version-table rows, when the state is known and current enough to plan on.
    pub(super) fn rows_for_planning(&mut self) -> Option<Vec<String>> {
        if self.run.is_some() {
            self.set_flash(
                FlashLevel::Warning,
                "A plan is already running; wait for it to finish",
            );
            return None;
        }
        match (&self.server.connection, &self.server.db) {
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

    pub(super) fn prepare_plan(&mut self, request: PlanRequest) {
        let Some(id) = self.selected_target() else {
            self.set_flash(FlashLevel::Warning, "Select a revision first");
            return;
        };
        if id == BASE && matches!(request, PlanRequest::UpgradeOne | PlanRequest::UpgradeTo) {
            self.set_flash(
                FlashLevel::Info,
                "Nothing to upgrade to: base is below every revision",
            );
            return;
        }
        let Some(rows) = self.rows_for_planning() else {
            return;
        };
        let above_applied = self
            .graph
            .map
            .index_of(&id)
            .is_some_and(|index| self.nothing_pending_above(index));
        if request == PlanRequest::UpgradeOne && above_applied {
            self.set_flash(
                FlashLevel::Info,
                format!("Nothing to do: {id} and everything above it are applied"),
            );
            return;
        }
        let downgrade = matches!(
            request,
            PlanRequest::DowngradeOne | PlanRequest::DowngradeTo
        );
        if downgrade && rows.is_empty() {
            self.set_flash(
                FlashLevel::Info,
                "Nothing to downgrade: the database is at base (empty version table)",
            );
            return;
        }
        let (kind, description, intent) = intent_for(&self.graph.map, &rows, &id, request);
        match intent.plan(&self.graph.map, &rows) {
            Ok(plan) if plan.is_empty() => {
                self.set_flash(
                    FlashLevel::Info,
                    format!("Nothing to do: {}", nothing_to_do(request, &id)),
                );
            }
            Ok(plan) => self.open_plan_dialog(kind, description, intent, plan),
            Err(message) => self.refuse_plan(request, &id, &rows, &description, &message),
        }
    }

    /// The selected revision's id, or `base` on the base row.
    pub(super) fn selected_target(&self) -> Option<String> {
        if self.graph.base_selected() {
            return Some(BASE.to_string());
        }
        self.graph
            .selected_revision()
            .map(|index| self.graph.map.id(index).to_string())
    }

    /// A plan the core refused: the log keeps its words, the message bar
    /// says what to select and press in the console instead of the command
    /// line's remedy.
    fn refuse_plan(
        &mut self,
        request: PlanRequest,
        id: &str,
        rows: &[String],
        description: &str,
        message: &dyn std::fmt::Display,
    ) {
        let refused = format!("Cannot {description}: {message}");
        let advice = match request {
            PlanRequest::DowngradeOne if rows.len() > 1 => Some(format!(
                "Select the head to step down from, then press {}: several are current ({})",
                self.keymap.label(Action::DowngradeOne),
                rows.join(", ")
            )),
            PlanRequest::DowngradeTo => Some(format!(
                "Select an applied revision (● or ◉), or base, then press {}: {id} is not \
                 below the current heads ({})",
                self.keymap.label(Action::DowngradeTo),
                rows.join(", ")
            )),
            _ => None,
        };
        match advice {
            Some(advice) => {
                self.log
                    .push(LogKind::Warning, &format!("{refused}\n{advice}"));
                self.set_flash(FlashLevel::Warning, advice);
            }
            None => self.set_flash(FlashLevel::Error, refused),
        }
    }

    /// Whether `index` and every revision above it are applied.
    pub(super) fn nothing_pending_above(&self, index: usize) -> bool {
        let above = self.graph.map.descendants(&[index], true);
        (0..self.graph.map.len()).filter(|&i| above[i]).all(|i| {
            matches!(
                self.server.statuses.of(i),
                RevStatus::Applied | RevStatus::Current
            )
        })
    }

    pub(super) fn open_plan_dialog(
        &mut self,
        kind: PlanKind,
        request: String,
        intent: Intent,
        plan: Plan,
    ) {
        let dialog = self.plan_dialog(kind, request, intent, plan);
        self.ask_table_sizes(&dialog);
        self.dialogs.push(Dialog::Plan(Box::new(dialog)));
    }

    /// The dialog previewing `plan`, made from the files loaded now.
    fn plan_dialog(
        &self,
        kind: PlanKind,
        request: String,
        intent: Intent,
        plan: Plan,
    ) -> PlanDialog {
        let sql = render_offline(&self.graph.map, &plan, &self.version_table_name());
        let report = match self.server.db.as_ref().map(|db| &db.drift) {
            Some(Ok(report)) => Some(report),
            _ => None,
        };
        let protected = match &self.session {
            SessionInfo {
                protected: true,
                env: Some(name),
                ..
            } => Some(name.as_str()),
            _ => None,
        };
        // The one policy: running on top of drift is as deliberate a choice
        // as a downgrade; a partial step refuses everything.
        let needed = requirement_for(&intent, report, protected);
        let drift = report
            .and_then(|r| Refusal::drift(r, false))
            .map(|refusal| format::drift_refusal(&refusal));
        let confirm = match needed {
            Requirement::Refused => Confirm::Refused,
            Requirement::TypeName { environment, .. } => {
                let mut area = input(&format!("type {environment} to confirm"));
                area.set_cursor_line_style(ratatui::style::Style::default());
                Confirm::TypeName {
                    name: environment,
                    input: Box::new(area),
                }
            }
            Requirement::Deliberate { .. } => Confirm::DestructiveKey,
            Requirement::Plain => Confirm::Enter,
        };
        // Splits every revision of the plan: once here, not at every frame.
        let unbounded_ddl = self.unbounded_ddl(&plan);
        let sql = TextView::new(sql, 1);
        let lint = self.lint_dialog_plan(&plan, &sql);
        PlanDialog {
            kind,
            request,
            intent,
            plan,
            sql,
            confirm,
            hint: None,
            drift,
            unbounded_ddl,
            map: Arc::clone(&self.graph.map),
            files_changed: None,
            jumped: None,
            lint,
            rehearsal: None,
        }
    }

    /// Asks the worker to rehearse the dialog's plan with the dialog's
    /// files; a rehearsal still going for it is stopped first.
    pub(super) fn rehearse_dialog_plan(&mut self, dialog: &mut PlanDialog) {
        let Intent::Upgrade { target } = &dialog.intent else {
            dialog.hint = Some(
                "A rehearsal runs upgrade plans (each step up, down and up again)".to_string(),
            );
            return;
        };
        if let Some(reason) = dialog
            .files_changed
            .as_ref()
            .and_then(|c| c.blocked.as_ref())
        {
            dialog.hint = Some(format!("Not rehearsed: {reason}"));
            return;
        }
        let order = RehearseOrder {
            id: self.next_run,
            map: Arc::clone(&dialog.map),
            target: target.clone(),
        };
        self.next_run += 1;
        self.stop_rehearsal(dialog);
        // The result this one replaces takes its verdicts with it.
        dialog.lint.judge(&dialog.plan, None);
        dialog.rehearsal = Some(PlanRehearsal {
            id: order.id,
            state: RehearsalState::Running("reading the live database".to_string()),
        });
        self.send(Command::Rehearse(order));
    }

    /// Stops the dialog's rehearsal if it is still going; `true` when one was.
    pub(super) fn stop_rehearsal(&mut self, dialog: &mut PlanDialog) -> bool {
        let going = dialog
            .rehearsal
            .take_if(|r| matches!(r.state, RehearsalState::Running(_)));
        if let Some(going) = &going {
            self.send(Command::CancelRehearsal(going.id));
        }
        going.is_some()
    }

    pub(super) fn start_run(&mut self, mut dialog: PlanDialog) {
        if let Some(reason) = dialog
            .files_changed
            .as_ref()
            .and_then(|c| c.blocked.clone())
        {
            // Confirmation keys reach the dialog only through here: it
            // stays open and says why nothing runs.
            dialog.hint = Some(format!("Not run: {reason}"));
            self.dialogs.push(Dialog::Plan(Box::new(dialog)));
            return;
        }
        if self.run.is_some() {
            self.set_flash(
                FlashLevel::Warning,
                "A plan is already running; wait for it to finish",
            );
            return;
        }
        self.stop_rehearsal(&mut dialog);
        let id = self.next_run;
        self.next_run += 1;
        // The files the dialog showed, not whatever was loaded since: the
        // migrator re-reads them and refuses if the disk moved on.
        let map = Arc::clone(&dialog.map);
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
        self.run = Some(RunProgress::new(
            id,
            dialog.kind,
            dialog.request,
            dialog.plan.steps.clone(),
            Arc::clone(&map),
        ));
        let consent = OwnedConsent {
            typed_name: match &dialog.confirm {
                Confirm::TypeName { name, .. } => Some(name.clone()),
                _ => None,
            },
            // The dialog showed the drift and the user confirmed deliberately.
            allow_drift: dialog.drift.is_some(),
            deliberate: !matches!(dialog.confirm, Confirm::Enter),
        };
        self.send(Command::Run(RunRequest {
            id,
            map,
            run: crate::engine::RunRequest {
                intent: dialog.intent,
                approved: Some(dialog.plan),
                atomic: false,
                consent,
                wait: WaitPolicy::default(),
            },
        }));
    }

    /// After the revision files were reloaded: an open plan dialog whose
    /// files changed shows the plan made from what is on disk now and says
    /// which files changed; one whose files did not change stays as it is.
    pub(super) fn replan_dialogs(&mut self) {
        let mut stale = Vec::new();
        for i in 0..self.dialogs.len() {
            let Dialog::Plan(dialog) = &self.dialogs[i] else {
                continue;
            };
            let replan = self.replanned(dialog);
            if let Replan::Replace(new) = &replan {
                self.ask_table_sizes(new);
            }
            let Dialog::Plan(dialog) = &mut self.dialogs[i] else {
                continue;
            };
            match replan {
                Replan::Keep => {}
                Replan::Lift => {
                    // A "Not run" hint from while it was blocked no longer holds.
                    dialog.hint = None;
                    dialog.files_changed = dialog
                        .files_changed
                        .take()
                        .filter(|c| !c.files.is_empty())
                        .map(|c| FilesChanged {
                            files: c.files,
                            blocked: None,
                        });
                }
                Replan::Block { files, reason } => {
                    // The files it rehearsed are not the ones on disk now.
                    if let Some(going) = dialog.rehearsal.take() {
                        stale.push(going.id);
                    }
                    dialog.files_changed = Some(FilesChanged {
                        files,
                        blocked: Some(reason),
                    });
                }
                Replan::Replace(new) => {
                    if let Some(going) = dialog.rehearsal.take() {
                        stale.push(going.id);
                    }
                    **dialog = *new;
                }
            }
        }
        for id in stale {
            self.send(Command::CancelRehearsal(id));
        }
    }

    /// What becomes of `old` now that the files are loaded again. The
    /// database state stays the one it was planned on (the migrator
    /// catches a database that moved).
    fn replanned(&self, old: &PlanDialog) -> Replan {
        let now = old.intent.plan(&self.graph.map, &old.plan.heads_before);
        let ids = old.plan.steps.iter().map(|s| s.revision.as_str());
        let new_ids = now
            .iter()
            .flat_map(|p| p.steps.iter().map(|s| s.revision.as_str()));
        let files = watch::changes(&old.map, &self.graph.map, ids.chain(new_ids));
        if files.is_empty() {
            // The disk holds what the dialog shows (again).
            return match old.files_changed.as_ref().and_then(|c| c.blocked.as_ref()) {
                Some(_) => Replan::Lift,
                None => Replan::Keep,
            };
        }
        let reason = match now {
            Ok(plan) if !plan.is_empty() => {
                let mut new =
                    self.plan_dialog(old.kind, old.request.clone(), old.intent.clone(), plan);
                let changed_step = new
                    .plan
                    .steps
                    .iter()
                    .position(|s| files.iter().any(|f| f.revision == s.revision));
                if let Some(line) = changed_step.and_then(|i| new.step_lines().get(i).copied()) {
                    // Where the new SQL is: the reader starts at what changed.
                    new.sql.scroll = line;
                }
                new.files_changed = Some(FilesChanged {
                    files,
                    blocked: None,
                });
                return Replan::Replace(Box::new(new));
            }
            Ok(_) => format!("nothing to do now: {} needs no step", old.request),
            Err(e) => format!("cannot {} any more: {e}", old.request),
        };
        Replan::Block { files, reason }
    }

    /// The revision files no longer load: no open plan can run until they do.
    pub(super) fn block_plan_dialogs(&mut self, reason: &str) {
        for dialog in &mut self.dialogs {
            if let Dialog::Plan(dialog) = dialog {
                let files = dialog
                    .files_changed
                    .take()
                    .map(|c| c.files)
                    .unwrap_or_default();
                dialog.files_changed = Some(FilesChanged {
                    files,
                    blocked: Some(format!("the revision files on disk do not load: {reason}")),
                });
            }
        }
    }

    pub(super) fn write_selected_plan_sql(&mut self) {
        let Some(id) = self.selected_target() else {
            self.set_flash(FlashLevel::Warning, "Select a revision first");
            return;
        };
        let Some(rows) = self.rows_for_planning() else {
            return;
        };
        let pending = self
            .graph
            .map
            .index_of(&id)
            .is_some_and(|index| self.server.statuses.of(index) == RevStatus::Pending);
        let request = if pending {
            PlanRequest::UpgradeTo
        } else {
            PlanRequest::DowngradeTo
        };
        let (_, description, intent) = intent_for(&self.graph.map, &rows, &id, request);
        match intent.plan(&self.graph.map, &rows) {
            Ok(plan) if plan.is_empty() => {
                self.set_flash(
                    FlashLevel::Info,
                    format!("Nothing to write: {}", nothing_to_do(request, &id)),
                );
            }
            Ok(plan) => {
                let text = render_offline(&self.graph.map, &plan, &self.version_table_name());
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
}

/// What a reload does to an open plan dialog.
enum Replan {
    /// None of its files changed.
    Keep,
    /// Its files load again as it shows them: it may run again.
    Lift,
    /// Its files changed and no runnable plan comes from them.
    Block {
        files: Vec<watch::FileChange>,
        reason: String,
    },
    /// Its files changed: the plan from what is on disk now.
    Replace(Box<PlanDialog>),
}

/// Alembic's name for the state before any revision, the target of the
/// graph's base row.
const BASE: &str = "base";

/// What the user asked a plan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRequest {
    UpgradeOne,
    UpgradeTo,
    DowngradeOne,
    DowngradeTo,
    Stamp,
}

/// The intent for the selected revision; the console adds no planning of
/// its own, only the target expression.
fn intent_for(
    map: &RevisionMap,
    rows: &[String],
    id: &str,
    request: PlanRequest,
) -> (PlanKind, String, Intent) {
    match request {
        PlanRequest::UpgradeOne => (
            PlanKind::Upgrade,
            format!("upgrade one step towards {id}"),
            Intent::Upgrade {
                target: format!("{id}@+1"),
            },
        ),
        PlanRequest::UpgradeTo => (
            PlanKind::Upgrade,
            format!("upgrade to {id}"),
            Intent::Upgrade { target: id.into() },
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
                Intent::Downgrade { target },
            )
        }
        PlanRequest::DowngradeTo => (
            PlanKind::Downgrade,
            format!("downgrade to {id}"),
            Intent::Downgrade { target: id.into() },
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
                Intent::Stamp {
                    targets: vec![id.to_string()],
                    purge,
                },
            )
        }
    }
}

fn nothing_to_do(request: PlanRequest, id: &str) -> String {
    match request {
        PlanRequest::UpgradeOne | PlanRequest::UpgradeTo => format!("{id} is already applied"),
        PlanRequest::DowngradeOne | PlanRequest::DowngradeTo if id == BASE => {
            "the database is at base".to_string()
        }
        PlanRequest::DowngradeOne | PlanRequest::DowngradeTo => {
            format!("nothing above {id} is applied")
        }
        PlanRequest::Stamp => format!("the version table already says {id}"),
    }
}

impl App {
    /// The revisions of `plan` whose DDL could wait for a lock without
    /// limit: neither the session nor the revision sets `lock_timeout`, so
    /// a long transaction elsewhere would stall the migration and queue
    /// every session using its tables behind it. The session's value is
    /// the server's answer at the last refresh (it counts settings of the
    /// server, database, role and connection too); before one, the
    /// environment's in `retort.toml`.
    fn unbounded_ddl(&self, plan: &Plan) -> Vec<String> {
        let session_timeout = match &self.server.db {
            Some(db) => Some(db.lock_timeout.as_str()),
            None => self
                .session
                .env
                .as_ref()
                .and_then(|name| self.config.environments.get(name))
                .and_then(|env| env.lock_timeout.as_deref()),
        };
        crate::core::lock_risk::unbounded_ddl(&self.graph.map, plan, session_timeout)
    }
}

impl App {
    /// The lint of `plan` as the dialog will show it in `sql`, without
    /// table sizes (the worker reads those). The timeouts that satisfy the
    /// timeout rules are the server's (last refresh) or the environment's,
    /// as for the lock_timeout warning.
    fn lint_dialog_plan(&self, plan: &Plan, sql: &TextView) -> DialogLint {
        let env = self
            .session
            .env
            .as_ref()
            .and_then(|name| self.config.environments.get(name));
        let server_lock_timeout = self
            .server
            .db
            .as_ref()
            .map(|db| db.lock_timeout.clone())
            .filter(|value| value != "0");
        let context = LintContext {
            env_lock_timeout: server_lock_timeout
                .or_else(|| env.and_then(|e| e.lock_timeout.clone())),
            env_statement_timeout: env.and_then(|e| e.statement_timeout.clone()),
            sizes: Default::default(),
        };
        // Not `PlanDialog::step_lines`: the dialog does not exist yet.
        let step_lines = crate::tui::dialogs::step_lines(plan, sql);
        DialogLint::new(
            &self.graph.map,
            plan,
            &context,
            &self.config.lint,
            sql,
            &step_lines,
        )
    }

    /// Asks the worker for the sizes of the tables the dialog's hazards
    /// name; the dialog shows them when the answer comes.
    fn ask_table_sizes(&mut self, dialog: &PlanDialog) {
        if let Some(names) = dialog.lint.tables_to_size() {
            let names = names.to_vec();
            self.send(Command::TableSizes { names });
        }
    }
}
