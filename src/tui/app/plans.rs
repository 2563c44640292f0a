//! Plans: asking the core for the plan of the selected revision, previewing
//! it, and handing it to the worker.

use super::*;

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
    pub(super) fn nothing_pending_above(&self, index: usize) -> bool {
        let above = self.map.descendants(&[index], true);
        (0..self.map.len())
            .filter(|&i| above[i])
            .all(|i| matches!(self.statuses.of(i), RevStatus::Applied | RevStatus::Current))
    }

    pub(super) fn open_plan_dialog(&mut self, kind: PlanKind, request: String, plan: Plan) {
        let sql = render_offline(&self.map, &plan, &self.version_table_name());
        let (drift, refused) = match self.db.as_ref().map(|db| &db.drift) {
            Some(Ok(report)) => (report.refusal(false), report.refusal(true)),
            _ => (None, None),
        };
        // Running on top of drift is as deliberate a choice as a downgrade.
        let deliberate = kind.is_destructive() || drift.is_some();
        let confirm = match (deliberate, &self.session) {
            _ if refused.is_some() => Confirm::Refused,
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
            drift: refused.or(drift).map(|text| {
                text.replace(
                    "To run anyway on top of this drift, pass --allow-drift.",
                    "To run anyway on top of this drift, confirm below.",
                )
            }),
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
            holders_logged: Vec::new(),
        });
        self.send(Command::Run(RunRequest {
            id,
            map,
            plan: dialog.plan,
            // The dialog showed the drift and the user confirmed deliberately.
            allow_drift: dialog.drift.is_some(),
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
