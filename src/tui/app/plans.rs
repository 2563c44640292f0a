//! Plans: asking the core for the plan of the selected revision, previewing
//! it, and handing it to the worker.

use super::*;
use crate::core::plan::Intent;
use crate::core::policy::Requirement;
use crate::db::lock::WaitPolicy;
use crate::engine::migrator::requirement_for;
use crate::engine::{OwnedConsent, Refusal};

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

    pub(super) fn prepare_plan(&mut self, request: PlanRequest) {
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
        let (kind, description, intent) = intent_for(&self.map, &rows, &id, request);
        match intent.plan(&self.map, &rows) {
            Ok(plan) if plan.is_empty() => {
                self.set_flash(
                    FlashLevel::Info,
                    format!("Nothing to do: {}", nothing_to_do(request, &id)),
                );
            }
            Ok(plan) => self.open_plan_dialog(kind, description, intent, plan),
            Err(message) => self.set_flash(
                FlashLevel::Error,
                format!("Cannot {description}: {message}"),
            ),
        }
    }

    /// Whether `index` and every revision above it are applied.
    pub(super) fn nothing_pending_above(&self, index: usize) -> bool {
        let above = self.map.descendants(&[index], true);
        (0..self.map.len())
            .filter(|&i| above[i])
            .all(|i| matches!(self.statuses.of(i), RevStatus::Applied | RevStatus::Current))
    }

    pub(super) fn open_plan_dialog(
        &mut self,
        kind: PlanKind,
        request: String,
        intent: Intent,
        plan: Plan,
    ) {
        let sql = render_offline(&self.map, &plan, &self.version_table_name());
        let report = match self.db.as_ref().map(|db| &db.drift) {
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
        self.dialogs.push(Dialog::Plan(Box::new(PlanDialog {
            kind,
            request,
            intent,
            plan,
            sql: TextView::new(sql, 1),
            confirm,
            hint: None,
            drift,
        })));
    }

    pub(super) fn start_run(&mut self, dialog: PlanDialog) {
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
            plan_started: false,
            waiting: None,
        });
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

    pub(super) fn write_selected_plan_sql(&mut self) {
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
        let (_, description, intent) = intent_for(&self.map, &rows, &id, request);
        match intent.plan(&self.map, &rows) {
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
        PlanRequest::DowngradeOne | PlanRequest::DowngradeTo => {
            format!("nothing above {id} is applied")
        }
        PlanRequest::Stamp => format!("the version table already says {id}"),
    }
}

impl App {
    /// The plan dialog's warning when DDL of `plan` could wait for a lock
    /// without limit: neither the environment nor the revision sets
    /// `lock_timeout`, so a long transaction elsewhere would stall the
    /// migration and queue every session using its tables behind it.
    pub fn lock_timeout_warning(&self, plan: &Plan) -> Option<String> {
        let env_timeout = self
            .session
            .env
            .as_ref()
            .and_then(|name| self.config.environments.get(name))
            .and_then(|env| env.lock_timeout.as_deref());
        let ids = crate::core::lock_risk::unbounded_ddl(&self.map, plan, env_timeout);
        if ids.is_empty() {
            return None;
        }
        let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
        let more = match ids.len() {
            n if n > shown.len() => format!(" and {} more", n - shown.len()),
            _ => String::new(),
        };
        Some(format!(
            "No lock_timeout: the DDL of {}{more} may wait for a lock without limit, and every \
             session using its tables queues behind it meanwhile. Set lock_timeout for the \
             environment in retort.toml, or in the revision's header.",
            shown.join(", ")
        ))
    }
}
