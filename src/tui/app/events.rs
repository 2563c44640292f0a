//! Worker events, highlighter answers and the clock.

use std::time::{Duration, Instant};

use super::server::Connection;
use super::{App, FLASH_FOR, FlashLevel, first_line};
use crate::db::ExecEvent;
use crate::tui::action::Action;
use crate::tui::dialogs::{Dialog, PlanRehearsal, RehearsalState};
use crate::tui::format;
use crate::tui::log::LogKind;
use crate::tui::model::Statuses;
use crate::tui::textview::HighlightAnswer;
use crate::tui::view::ViewState;
use crate::tui::worker::{DbState, RehearsalOutcome, WorkerEvent};

impl App {
    pub fn on_worker_event(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Refreshing => self.server.refreshing = true,
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
            WorkerEvent::History { revision, rows } => {
                for dialog in &mut self.dialogs {
                    if let Dialog::History {
                        revision: shown,
                        rows: slot,
                        ..
                    } = dialog
                        && *shown == revision
                        && slot.is_none()
                    {
                        *slot = Some(rows.clone());
                    }
                }
            }
            WorkerEvent::TableSizes { names, sizes } => {
                for dialog in &mut self.dialogs {
                    if let Dialog::Plan(dialog) = dialog {
                        dialog.lint.accept_sizes(&names, &sizes);
                    }
                }
            }
            WorkerEvent::RehearsalProgress { id, line } => {
                if let Some(rehearsal) = self.plan_rehearsal(id) {
                    rehearsal.state = RehearsalState::Running(line);
                }
            }
            WorkerEvent::Rehearsed { id, outcome } => self.on_rehearsed(id, outcome),
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

    pub(super) fn on_state(&mut self, state: DbState) {
        self.server.refreshing = false;
        if let Some(reconnect) = self.server.reconnect.take() {
            self.log.push(
                LogKind::Info,
                &format!("reached the server at attempt {}", reconnect.failures + 1),
            );
        }
        match &self.server.connection {
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
        self.report_drift_changes(&state);
        let changed = self.server.db.as_ref().map(|d| &d.rows) != Some(&state.rows);
        self.server.connection = Connection::Connected;
        self.server.db_as_of = Some(chrono::Local::now().format("%H:%M:%S").to_string());
        if changed || !self.server.statuses.is_known() {
            self.server.statuses = Statuses::compute(&self.graph.map, &state.rows);
            self.server.db = Some(state);
            self.rebuild_entries(None);
        } else {
            self.server.db = Some(state);
        }
    }

    /// Logs the drift report when it differs from the last one seen.
    fn report_drift_changes(&mut self, state: &DbState) {
        let before = self.server.db.as_ref().map(|d| &d.drift);
        match &state.drift {
            Ok(report) => {
                let same = matches!(before, Some(Ok(old)) if old.issues == report.issues);
                if same || report.is_clean() {
                    return;
                }
                let lines = report.render_lines();
                let issues: Vec<&str> = lines
                    .iter()
                    .map(String::as_str)
                    .filter(|l| !l.starts_with("unverified"))
                    .collect();
                self.log.push(LogKind::Warning, &issues.join("\n"));
                self.set_flash(
                    FlashLevel::Warning,
                    format!(
                        "The revision files and the database disagree: {} issue(s), see the log",
                        report.issues.len()
                    ),
                );
            }
            Err(why) => {
                if !matches!(before, Some(Err(old)) if old == why) {
                    self.log.push(
                        LogKind::Warning,
                        &format!("cannot check for drift (the history table): {why}"),
                    );
                }
            }
        }
    }

    pub(super) fn on_unreachable(&mut self, reason: String) {
        self.server.refreshing = false;
        let reason = crate::config::redact_url(&reason);
        let retry = self.keymap.label(Action::Refresh);
        let reconnect = self.server.schedule_reconnect();
        let next = format!(
            "next try in {} s (attempt {}); press {retry} to retry now",
            reconnect
                .next_at
                .saturating_duration_since(Instant::now())
                .as_millis()
                .div_ceil(1000),
            reconnect.failures + 1
        );
        match &self.server.connection {
            Connection::Connecting => {
                self.log.push(
                    LogKind::Error,
                    &format!("cannot reach the database: {reason}\nthe graph shows the revision files only; {next}"),
                );
                self.server.connection = Connection::Unreachable(reason);
            }
            Connection::Connected => {
                self.log.push(
                    LogKind::Error,
                    &format!("connection lost: {reason}\n{next}"),
                );
                self.server.connection = Connection::Lost(reason);
            }
            Connection::Unreachable(_) | Connection::Lost(_) => {
                // Every failed attempt is logged: a retry loop that looks
                // frozen is what makes people restart things.
                self.log.push(
                    LogKind::Error,
                    &format!(
                        "attempt {} failed: still not connected: {reason}; {next}",
                        reconnect.failures
                    ),
                );
                self.server.connection = match self.server.connection {
                    Connection::Lost(_) => Connection::Lost(reason),
                    _ => Connection::Unreachable(reason),
                };
            }
        }
    }

    /// The rehearsal `id` of an open plan dialog; `None` when the dialog
    /// closed or its plan was made again since.
    fn plan_rehearsal(&mut self, id: u64) -> Option<&mut PlanRehearsal> {
        self.dialogs.iter_mut().find_map(|dialog| match dialog {
            Dialog::Plan(plan) => plan.rehearsal.as_mut().filter(|r| r.id == id),
            _ => None,
        })
    }

    fn on_rehearsed(&mut self, id: u64, outcome: RehearsalOutcome) {
        let (kind, text) = match &outcome {
            RehearsalOutcome::Done(rehearsal) => (
                LogKind::Info,
                format!(
                    "rehearsal finished: {} step(s) rehearsed",
                    rehearsal.steps.len()
                ),
            ),
            RehearsalOutcome::Cancelled => (LogKind::Info, "rehearsal cancelled".to_string()),
            RehearsalOutcome::Failed(why) => (LogKind::Error, format!("rehearsal failed: {why}")),
        };
        self.log.push(kind, &text);
        let Some(dialog) = self.dialogs.iter_mut().find_map(|dialog| match dialog {
            Dialog::Plan(plan) if plan.rehearsal.as_ref().is_some_and(|r| r.id == id) => Some(plan),
            _ => None,
        }) else {
            return;
        };
        // The hazards show what this rehearsal's trace says of them, and
        // nothing once it is gone.
        let done = match &outcome {
            RehearsalOutcome::Done(rehearsal) => Some(rehearsal.as_ref()),
            _ => None,
        };
        dialog.lint.judge(&dialog.plan, done);
        dialog.rehearsal = match outcome {
            RehearsalOutcome::Done(rehearsal) => Some(PlanRehearsal {
                id,
                state: RehearsalState::Done(rehearsal),
            }),
            RehearsalOutcome::Failed(why) => Some(PlanRehearsal {
                id,
                state: RehearsalState::Failed(why),
            }),
            RehearsalOutcome::Cancelled => None,
        };
    }

    pub(super) fn on_exec(&mut self, run_id: u64, event: ExecEvent) {
        let Some(run) = self.run.as_mut().filter(|r| r.id == run_id) else {
            return;
        };
        if !run.on_exec(&event) {
            return;
        }
        if let ExecEvent::PlanFailed { error, .. } = &event
            && !run.failure_logged
        {
            // Else the step's error is already in the log: just the summary.
            self.log.push(LogKind::Error, &format!("✗ {error}"));
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

    pub(super) fn on_run_finished(
        &mut self,
        run_id: u64,
        outcome: Result<crate::engine::RunReport, crate::engine::RunError>,
    ) {
        let Some(run) = self.run.take_if(|r| r.id == run_id) else {
            return;
        };
        let error = match outcome {
            Ok(report) => {
                if let Some(cause) = &report.unlock_failed {
                    self.log
                        .push(LogKind::Warning, &format::unlock_failed(cause));
                }
                self.set_flash(
                    FlashLevel::Info,
                    format!(
                        "Done: {}, {} step(s) in {}",
                        run.request,
                        report.summary.steps_done,
                        format::duration(report.summary.duration)
                    ),
                );
                return;
            }
            Err(crate::engine::RunError {
                error: crate::engine::Error::CancelledBeforeStart,
                ..
            }) => {
                self.log.push(
                    LogKind::Warning,
                    "cancelled before the plan started; nothing ran",
                );
                self.set_flash(
                    FlashLevel::Warning,
                    format!("Cancelled {}: nothing ran", run.request),
                );
                return;
            }
            Err(crate::engine::RunError {
                error: crate::engine::Error::Exec(failure),
                unlock_failed,
            }) => {
                if let Some(cause) = &unlock_failed {
                    self.log
                        .push(LogKind::Warning, &format::unlock_failed(cause));
                }
                failure.error
            }
            Err(crate::engine::RunError { error, .. }) => {
                let why = format::run_error(&error);
                self.log.push(LogKind::Error, &format!("✗ not run: {why}"));
                self.set_flash(
                    FlashLevel::Error,
                    format!(
                        "Not run: {}: {} (see the log)",
                        run.request,
                        first_line(&why)
                    ),
                );
                self.log.follow();
                return;
            }
        };
        if !run.failure_logged {
            self.log.push(LogKind::Error, &format!("✗ {error}"));
        }
        let text = if error.is_cancelled() {
            format!(
                "Cancelled: the running step was rolled back; {} of {} step(s) stay applied",
                run.done,
                run.steps.len()
            )
        } else if format::is_connection_loss(&error) && run.plan_started {
            let text = format!(
                "Connection lost during the run ({} of {} step(s) committed): {}. \
                 The server rolls back an open transaction; press {} to reconnect and check the state",
                run.done,
                run.steps.len(),
                first_line(&error.to_string()),
                self.keymap.label(Action::Refresh)
            );
            self.log.push(LogKind::Error, &text);
            text
        } else if run.plan_started {
            format!(
                "Failed: {} stopped at step {} of {}: {} (see the log)",
                run.request,
                run.done + 1,
                run.steps.len(),
                first_line(&error.to_string())
            )
        } else {
            format!(
                "Not run: {}: {}",
                run.request,
                first_line(&error.to_string())
            )
        };
        let level = if error.is_cancelled() {
            FlashLevel::Warning
        } else {
            FlashLevel::Error
        };
        self.set_flash(level, text);
        self.log.follow();
    }

    /// An answer of the highlighter, for the cache the draw reads.
    pub fn on_highlighted(&mut self, answer: HighlightAnswer, view: &mut ViewState) {
        match answer {
            HighlightAnswer::Window(window) => view.highlights.accept(window),
            HighlightAnswer::Unavailable(why) => {
                view.highlights.disable();
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
        if self.run.is_none() && self.server.refresh_due() {
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
