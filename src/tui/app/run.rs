//! A plan being executed: which step runs, what it waits for, how it
//! started and failed, as the executor's events say.

use std::sync::Arc;
use std::time::Instant;

use crate::core::graph::RevisionMap;
use crate::core::plan::Step;
use crate::db::ExecEvent;
use crate::db::events::WaitNews;
use crate::tui::dialogs::PlanKind;
use crate::tui::format;

pub struct RunProgress {
    pub id: u64,
    pub kind: PlanKind,
    pub request: String,
    pub steps: Vec<Step>,
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
    /// The executor has started (it had a connection and accepted the plan).
    pub plan_started: bool,
    /// What the run waits for now (the migration lock, or locks a
    /// statement needs), and who queues behind it.
    pub waiting: Option<format::Waiting>,
}

impl RunProgress {
    /// Run `id` of `steps` (made from `map`), starting now.
    pub fn new(
        id: u64,
        kind: PlanKind,
        request: String,
        steps: Vec<Step>,
        map: Arc<RevisionMap>,
    ) -> RunProgress {
        let now = Instant::now();
        RunProgress {
            id,
            kind,
            request,
            steps,
            map,
            current: None,
            done: 0,
            started: now,
            step_started: now,
            cancel_requested: false,
            failure_logged: false,
            plan_started: false,
            waiting: None,
        }
    }

    /// Takes in an executor event. Returns whether the log should get it:
    /// the header follows every wait event (heartbeats move the times),
    /// the log only what changed.
    pub fn on_exec(&mut self, event: &ExecEvent) -> bool {
        match event {
            ExecEvent::StepStarted { index, step, .. } => {
                self.current = Some((*index, format::step_title(&self.map, step)));
                self.step_started = Instant::now();
            }
            ExecEvent::StepFinished { index, .. } => {
                self.done = index + 1;
                self.current = None;
            }
            ExecEvent::PlanStarted { .. } => self.plan_started = true,
            ExecEvent::StepFailed { .. } => self.failure_logged = true,
            ExecEvent::LockWaiting { holders, news, .. } => {
                let now = chrono::Utc::now();
                let holder = holders.first();
                self.waiting = Some(format::Waiting::on_migration_lock(
                    holder.map(|h| h.describe(now)),
                    holder.map(|h| h.pid),
                ));
                return *news != WaitNews::Heartbeat;
            }
            ExecEvent::Blocked {
                waiting_for,
                blockers,
                queued,
                news,
                ..
            }
            | ExecEvent::TableBlocked {
                waiting_for,
                blockers,
                queued,
                news,
                ..
            } => {
                self.waiting = Some(format::Waiting::on_blockers(
                    waiting_for.as_deref(),
                    blockers,
                    queued,
                ));
                return *news != WaitNews::Heartbeat;
            }
            ExecEvent::LockAcquired { .. }
            | ExecEvent::Unblocked { .. }
            | ExecEvent::TableUnblocked { .. } => self.waiting = None,
            _ => {}
        }
        true
    }
}
