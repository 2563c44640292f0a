//! Executes a plan computed by the core: each step's SQL with its version-table
//! change, per-step transactions (or one for an atomic plan), autocommit for
//! `transactional: false` revisions, cancellation, and notices streamed as
//! events in the order they happen.
//!
//! Everything that can be refused is refused before the first statement runs.
//!
//! Lock handling (who blocks a statement, per-revision timeouts, retries
//! after a lock timeout) lives in the `locks` submodule.

mod locks;
pub(crate) mod tags;

use std::future::Future;
use std::ops::Range;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_postgres::Client;
use tokio_postgres::error::{ErrorPosition, SqlState};

use crate::core::graph::RevisionMap;
use crate::core::plan::{Direction, Plan, Step, StepKind, VersionOp};
use crate::core::revision::{Revision, SqlSection};
use crate::core::split::{Statement, position_to_line_col, split_statements, units};
use crate::db::blockers::{LockWatch, name_blockers};
use crate::db::cancel::CancelHandle;
use crate::db::connect::{MigrationConnection, Notice, NoticeSlot, describe_error, ends_session};
use crate::db::events::{Aftermath, Cancelled, EventSink, ExecError, ExecEvent, StatementError};
use crate::db::history::{HistoryEntry, HistoryOptions, StepOutcome, StepRecorder};
use crate::db::timeouts::{LockRetry, Scope};
use crate::db::version_table::{VERSION_NUM_WIDTH, VersionTable, VersionWriter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOptions {
    /// One transaction for the whole plan instead of one per step.
    pub atomic: bool,
    pub version_table: VersionTable,
    /// Refuse to run when the version table no longer holds `plan.heads_before`
    /// (the plan was made against a state that has changed since).
    pub check_heads: bool,
    /// Retries of a step that failed on a lock timeout (not for atomic plans,
    /// whose one transaction holds every step).
    pub lock_retry: LockRetry,
    /// Look from a second session for whoever blocks a running statement
    /// (`ExecEvent::Blocked`); off, the run uses one session only.
    pub watch_blockers: bool,
    /// Record every step in the audit history (see `db::history`); `None`
    /// records nothing.
    pub history: Option<HistoryOptions>,
}

impl ExecOptions {
    pub fn new(version_table: VersionTable) -> ExecOptions {
        ExecOptions {
            atomic: false,
            version_table,
            check_heads: true,
            lock_retry: LockRetry::default(),
            watch_blockers: true,
            history: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSummary {
    pub steps_done: usize,
    pub duration: Duration,
    pub step_durations: Vec<Duration>,
}

/// Runs `plan` on `conn`, reporting progress to `sink`. Use
/// `conn.cancel_handle()` (taken before the call) to cancel from another task.
pub async fn execute_plan(
    conn: &mut MigrationConnection,
    map: &RevisionMap,
    plan: &Plan,
    opts: &ExecOptions,
    sink: &dyn EventSink,
) -> Result<ExecSummary, ExecError> {
    let started = Instant::now();
    let cancel = conn.cancel_handle();
    let _running = cancel.begin_run();
    let (notice_sender, notices) = unbounded_channel();
    let _subscription = NoticeSubscription::install(conn.notice_slot(), notice_sender);
    let opener = opts.watch_blockers.then(|| conn.session_opener().clone());
    let mut run = Run {
        events: Events { sink, notices },
        cancel,
        table: &opts.version_table,
        writer: VersionWriter::new(&opts.version_table),
        atomic: opts.atomic,
        setup: Setup::default(),
        total: plan.steps.len(),
        steps_committed: 0,
        step_durations: Vec::new(),
        watch: LockWatch::new(conn.backend_pid(), opener),
        lock_retry: opts.lock_retry,
        audit: Audit {
            recorder: opts.history.as_ref().map(|h| StepRecorder::new(h, plan)),
            uncommitted: Vec::new(),
            statements_done: 0,
            current_step: None,
            started_row: None,
            in_doubt: false,
        },
    };
    let outcome = run.execute(conn.client_mut(), map, plan, opts).await;
    run.finish(outcome, started)
}

/// Routes the connection's notices to this run, restoring the previous
/// subscriber afterwards (also when the run's future is dropped).
struct NoticeSubscription {
    slot: NoticeSlot,
    previous: Option<UnboundedSender<Notice>>,
}

impl NoticeSubscription {
    fn install(slot: &NoticeSlot, sender: UnboundedSender<Notice>) -> NoticeSubscription {
        let previous = slot.replace(Some(sender));
        NoticeSubscription {
            slot: slot.clone(),
            previous,
        }
    }
}

impl Drop for NoticeSubscription {
    fn drop(&mut self) {
        self.slot.replace(self.previous.take());
    }
}

/// A step with its revision resolved and its SQL split, ready to run.
struct PreparedStep<'a> {
    step: &'a Step,
    revision: Option<&'a Revision>,
    section: Option<&'a SqlSection>,
    statements: Vec<Statement>,
    /// What runs (and is counted) as one: each statement, except that a
    /// `BEGIN ... COMMIT` block of a `transactional: false` revision is one.
    units: Vec<Range<usize>>,
    transactional: bool,
}

impl PreparedStep<'_> {
    /// The step's size as its history row counts it.
    fn total(&self) -> usize {
        self.units.len()
    }

    fn file_line(&self, statement: &Statement) -> usize {
        self.section
            .map_or(statement.line, |s| s.first_line + statement.line - 1)
    }
}

/// Work done once, in the first transaction that commits.
#[derive(Debug, Default, Clone, Copy)]
struct Setup {
    create_table: bool,
    purge: bool,
}

impl Setup {
    fn pending(self) -> bool {
        self.create_table || self.purge
    }
}

/// What one transaction covers.
enum Work<'s, 'a> {
    Step(usize, &'s PreparedStep<'a>),
    Versions(usize, &'s PreparedStep<'a>),
    Plan(&'s [PreparedStep<'a>]),
    SetupOnly,
}

/// Refusals that need no database: unknown revisions, irreversible
/// downgrades, non-transactional revisions in an atomic plan, unsplittable SQL.
fn prepare_steps<'a>(
    map: &'a RevisionMap,
    plan: &'a Plan,
    atomic: bool,
) -> Result<Vec<PreparedStep<'a>>, ExecError> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(index, step)| prepare_step(map, index, step, atomic))
        .collect()
}

fn prepare_step<'a>(
    map: &'a RevisionMap,
    index: usize,
    step: &'a Step,
    atomic: bool,
) -> Result<PreparedStep<'a>, ExecError> {
    if step.kind == StepKind::Stamp {
        // The destination's file, whose checksums the history records.
        return Ok(PreparedStep {
            step,
            revision: map.get(&step.revision),
            section: None,
            statements: Vec::new(),
            units: Vec::new(),
            transactional: true,
        });
    }
    let revision = map
        .get(&step.revision)
        .ok_or_else(|| ExecError::UnknownRevision {
            step_index: index,
            revision: step.revision.clone(),
        })?;
    let section = section_for(revision, step.direction)?;
    if atomic && !revision.transactional {
        return Err(ExecError::NonTransactionalInAtomic {
            revision: revision.id.clone(),
            path: revision.path.clone(),
        });
    }
    let statements = split_section(revision, section, step.direction)?;
    let units = match revision.transactional {
        // Loading refused transaction control here: one statement, one unit.
        true => (0..statements.len()).map(|i| i..i + 1).collect(),
        false => units(&statements),
    };
    Ok(PreparedStep {
        step,
        revision: Some(revision),
        section: Some(section),
        statements,
        units,
        transactional: revision.transactional,
    })
}

pub(crate) fn section_for(
    revision: &Revision,
    direction: Direction,
) -> Result<&SqlSection, ExecError> {
    match direction {
        Direction::Upgrade => Ok(&revision.upgrade),
        Direction::Downgrade => {
            revision
                .downgrade
                .as_ref()
                .ok_or_else(|| ExecError::Irreversible {
                    revision: revision.id.clone(),
                    path: revision.path.clone(),
                })
        }
    }
}

pub(crate) fn split_section(
    revision: &Revision,
    section: &SqlSection,
    direction: Direction,
) -> Result<Vec<Statement>, ExecError> {
    split_statements(&section.sql).map_err(|e| ExecError::Split {
        revision: revision.id.clone(),
        path: revision.path.clone(),
        section: match direction {
            Direction::Upgrade => "upgrade".to_string(),
            Direction::Downgrade => "downgrade".to_string(),
        },
        line: section.first_line + e.line.saturating_sub(1),
        column: e.column,
        message: e.message,
    })
}

/// File line and column of the server's error position (1-based characters
/// into the statement), or of the statement's start when there is none.
fn error_location(
    section: &SqlSection,
    statement: &Statement,
    position: Option<&ErrorPosition>,
) -> (usize, usize) {
    let start = (section.first_line + statement.line - 1, statement.column);
    let Some(ErrorPosition::Original(position)) = position else {
        return start;
    };
    let end = statement.offset + statement.sql.len();
    if section.sql.get(statement.offset..end) != Some(statement.sql.as_str()) {
        return start;
    }
    let chars_before = (*position as usize).saturating_sub(1);
    let Some((byte, _)) = statement.sql.char_indices().nth(chars_before) else {
        return start;
    };
    let (line, column) = position_to_line_col(&section.sql, statement.offset + byte);
    (section.first_line + line - 1, column)
}

fn all_versions(plan: &Plan) -> impl Iterator<Item = &String> {
    plan.steps
        .iter()
        .flat_map(|step| &step.version_ops)
        .flat_map(|op| match op {
            VersionOp::Insert { version } | VersionOp::Delete { version } => vec![version],
            VersionOp::Update { from, to } => vec![from, to],
        })
}

fn database_failure(context: &str, error: &tokio_postgres::Error) -> ExecError {
    ExecError::Database {
        context: context.to_string(),
        cause: describe_error(error),
    }
}

/// The failure ended the session: whatever was in flight may have run.
fn lost_connection(error: &ExecError) -> bool {
    match error {
        ExecError::Statement(failure) => failure.connection_lost,
        ExecError::Cancelled(cancelled) => cancelled
            .interrupted
            .as_ref()
            .is_some_and(|failure| failure.connection_lost),
        _ => false,
    }
}

fn is_query_canceled(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::QUERY_CANCELED)
}

/// The run's outlet: the caller's sink, and this connection's notices
/// merged into it in the order they happen.
struct Events<'a> {
    sink: &'a dyn EventSink,
    notices: UnboundedReceiver<Notice>,
}

impl Events<'_> {
    fn emit(&self, event: ExecEvent) {
        self.sink.emit(event);
    }

    /// Awaits `query` while streaming the notices it raises, then drains the
    /// ones that arrived with its result (the driver forwards a notice
    /// before the response that follows it).
    async fn with_notices<T>(&mut self, step: Option<usize>, query: impl Future<Output = T>) -> T {
        let mut query = std::pin::pin!(query);
        loop {
            tokio::select! {
                biased;
                Some(notice) = self.notices.recv() => self.emit_notice(step, notice),
                output = &mut query => {
                    self.drain(step);
                    return output;
                }
            }
        }
    }

    fn drain(&mut self, step: Option<usize>) {
        while let Ok(notice) = self.notices.try_recv() {
            self.emit_notice(step, notice);
        }
    }

    fn emit_notice(&self, step_index: Option<usize>, notice: Notice) {
        self.sink.emit(ExecEvent::Notice {
            step_index,
            severity: notice.severity,
            code: notice.code,
            message: notice.message,
            detail: notice.detail,
            hint: notice.hint,
        });
    }
}

struct Run<'a> {
    events: Events<'a>,
    cancel: CancelHandle,
    table: &'a VersionTable,
    writer: VersionWriter<'a>,
    atomic: bool,
    setup: Setup,
    total: usize,
    steps_committed: usize,
    step_durations: Vec<Duration>,
    watch: LockWatch,
    lock_retry: LockRetry,
    audit: Audit<'a>,
}

impl Run<'_> {
    async fn execute(
        &mut self,
        client: &mut Client,
        map: &RevisionMap,
        plan: &Plan,
        opts: &ExecOptions,
    ) -> Result<(), ExecError> {
        let steps = prepare_steps(map, plan, opts.atomic)?;
        self.setup = self.inspect_database(client, plan, opts).await?;
        if !plan.is_empty() {
            self.ensure_history_table(client).await?;
        }
        self.events.emit(ExecEvent::PlanStarted {
            total_steps: self.total,
            atomic: self.atomic,
        });
        if steps.is_empty() {
            return self.setup_only(client).await;
        }
        if self.atomic {
            self.run_atomic(client, &steps).await
        } else {
            self.run_each(client, &steps).await
        }
    }

    fn finish(
        mut self,
        outcome: Result<(), ExecError>,
        started: Instant,
    ) -> Result<ExecSummary, ExecError> {
        self.events.drain(None);
        let duration = started.elapsed();
        match outcome {
            Ok(()) => {
                self.events.emit(ExecEvent::PlanFinished {
                    duration,
                    steps_done: self.steps_committed,
                });
                Ok(ExecSummary {
                    steps_done: self.steps_committed,
                    duration,
                    step_durations: self.step_durations,
                })
            }
            Err(error) => {
                self.events.emit(ExecEvent::PlanFailed {
                    duration,
                    steps_committed: self.steps_committed,
                    error: error.clone(),
                });
                Err(error)
            }
        }
    }

    /// Database checks before anything runs: stale heads, ids too long for
    /// the version column; and what the first transaction must set up.
    async fn inspect_database(
        &self,
        client: &Client,
        plan: &Plan,
        opts: &ExecOptions,
    ) -> Result<Setup, ExecError> {
        let exists = self
            .table
            .exists(client)
            .await
            .map_err(ExecError::VersionTable)?;
        if opts.check_heads {
            self.check_heads(client, plan, exists).await?;
        }
        if all_versions(plan).any(|v| v.chars().count() > VERSION_NUM_WIDTH) {
            let width = self
                .table
                .version_width(client)
                .await
                .map_err(ExecError::VersionTable)?;
            for version in all_versions(plan) {
                self.table
                    .check_width(version, width)
                    .map_err(ExecError::VersionTable)?;
            }
        }
        Ok(Setup {
            create_table: !exists && !plan.steps.is_empty(),
            purge: exists && plan.purge,
        })
    }

    async fn check_heads(
        &self,
        client: &Client,
        plan: &Plan,
        exists: bool,
    ) -> Result<(), ExecError> {
        let found = match exists {
            true => self
                .table
                .read_heads(client)
                .await
                .map_err(ExecError::VersionTable)?,
            false => Vec::new(),
        };
        let mut expected = plan.heads_before.clone();
        expected.sort();
        if found != expected {
            return Err(ExecError::StaleHeads { expected, found });
        }
        Ok(())
    }

    async fn setup_only(&mut self, client: &mut Client) -> Result<(), ExecError> {
        if !self.setup.pending() {
            return Ok(());
        }
        self.transaction(client, Work::SetupOnly).await
    }

    async fn run_each(
        &mut self,
        client: &mut Client,
        steps: &[PreparedStep<'_>],
    ) -> Result<(), ExecError> {
        for (index, prepared) in steps.iter().enumerate() {
            self.refuse_if_cancelled_before(index, prepared)?;
            let started = self.start_step(index, prepared);
            let outcome = self.run_step_with_retries(client, index, prepared).await;
            if let Err(error) = outcome {
                let error = self.fail_step(index, error);
                self.record_failure(client, index, prepared, &error).await;
                return Err(error);
            }
            self.finish_step(index, started);
            self.steps_committed += 1;
        }
        Ok(())
    }

    async fn run_atomic(
        &mut self,
        client: &mut Client,
        steps: &[PreparedStep<'_>],
    ) -> Result<(), ExecError> {
        if let Err(error) = self.transaction(client, Work::Plan(steps)).await {
            if let Some(prepared) = self.audit.current_step.and_then(|i| steps.get(i)) {
                let index = self.audit.current_step.unwrap_or_default();
                self.record_failure(client, index, prepared, &error).await;
            }
            return Err(error);
        }
        self.steps_committed = steps.len();
        Ok(())
    }

    /// `transactional: false`: statements one by one in autocommit, then the
    /// version change in a short transaction of its own.
    async fn run_autocommit_step(
        &mut self,
        client: &mut Client,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        let overrides = self
            .apply_timeouts(client, prepared, Scope::Session)
            .await?;
        let mut outcome = self.record_started(client, index, prepared).await;
        for unit in &prepared.units {
            if outcome.is_err() {
                break;
            }
            outcome = self.run_unit(client, index, prepared, unit.clone()).await;
            if outcome.is_ok() {
                self.audit.statements_done += 1;
                outcome = self.record_progress(client).await;
            }
        }
        // Put the session back also after a failure; the failure comes first.
        let restored = self
            .restore_timeouts(client, prepared, overrides, Scope::Session)
            .await;
        outcome.and(restored)?;
        self.transaction(client, Work::Versions(index, prepared))
            .await
    }

    fn start_step(&mut self, index: usize, prepared: &PreparedStep<'_>) -> Instant {
        self.audit.begin_step(index);
        self.events.emit(ExecEvent::StepStarted {
            index,
            total: self.total,
            step: prepared.step.clone(),
            transactional: prepared.transactional,
        });
        Instant::now()
    }

    fn finish_step(&mut self, index: usize, started: Instant) {
        self.events.drain(Some(index));
        let duration = started.elapsed();
        self.step_durations.push(duration);
        self.events
            .emit(ExecEvent::StepFinished { index, duration });
    }

    fn fail_step(&mut self, index: usize, error: ExecError) -> ExecError {
        self.events.drain(Some(index));
        self.events.emit(ExecEvent::StepFailed {
            index,
            error: error.clone(),
        });
        error
    }

    /// BEGIN; the work; COMMIT, or ROLLBACK on failure or cancel.
    async fn transaction(
        &mut self,
        client: &mut Client,
        work: Work<'_, '_>,
    ) -> Result<(), ExecError> {
        let transaction = client
            .transaction()
            .await
            .map_err(|e| self.classify_database_failure("BEGIN", &e, &work))?;
        let checkpoint = self.audit.checkpoint();
        let outcome = self.run_work(transaction.client(), &work).await;
        let outcome = outcome.and_then(|()| self.cancelled_before_commit(&work));
        if let Err(error) = outcome {
            if let Err(rollback) = transaction.rollback().await {
                self.recover_from_cancel(client, &rollback).await;
            }
            self.events.drain(work.step_index());
            self.audit.restore(checkpoint);
            return Err(error);
        }
        let committed = transaction.commit().await;
        self.events.drain(work.step_index());
        if let Err(error) = committed {
            self.recover_from_cancel(client, &error).await;
            self.audit.restore(checkpoint);
            return Err(self.commit_failure(&error, &work));
        }
        self.setup = Setup::default();
        for (step_index, entry) in self.audit.uncommitted.drain(..) {
            self.events.emit(ExecEvent::HistoryRecorded {
                step_index,
                entry: Box::new(entry),
            });
        }
        Ok(())
    }

    /// A cancel request that reached the server just after the statement it
    /// aimed at can abort our ROLLBACK or COMMIT instead; end the transaction.
    async fn recover_from_cancel(&mut self, client: &Client, error: &tokio_postgres::Error) {
        if is_query_canceled(error) {
            let _ = client.batch_execute("ROLLBACK").await;
            self.events.drain(None);
        }
    }

    async fn run_work(&mut self, client: &Client, work: &Work<'_, '_>) -> Result<(), ExecError> {
        self.run_setup(client).await?;
        match work {
            Work::Step(index, prepared) => self.step_body(client, *index, prepared).await,
            Work::Versions(index, prepared) => {
                self.write_versions(client, *index, prepared.step).await?;
                self.record_success(client, *index, prepared).await
            }
            Work::Plan(steps) => self.plan_body(client, steps).await,
            Work::SetupOnly => self.record_purge(client).await,
        }
    }

    async fn run_setup(&mut self, client: &Client) -> Result<(), ExecError> {
        if self.setup.create_table {
            let created = self
                .events
                .with_notices(None, self.table.create(client))
                .await;
            created.map_err(ExecError::VersionTable)?;
            self.events.emit(ExecEvent::VersionTableCreated {
                table: self.table.display_name(),
            });
        }
        if self.setup.purge {
            let purged = self
                .events
                .with_notices(None, self.table.purge(client))
                .await;
            let rows = purged.map_err(ExecError::VersionTable)?;
            self.events.emit(ExecEvent::VersionTablePurged {
                table: self.table.display_name(),
                rows,
            });
        }
        Ok(())
    }

    async fn plan_body(
        &mut self,
        client: &Client,
        steps: &[PreparedStep<'_>],
    ) -> Result<(), ExecError> {
        for (index, prepared) in steps.iter().enumerate() {
            if self.cancel.is_cancelled() {
                return Err(self.cancelled(index, prepared, None, Some(Aftermath::PlanRolledBack)));
            }
            let started = self.start_step(index, prepared);
            if let Err(error) = self.step_body(client, index, prepared).await {
                return Err(self.fail_step(index, error));
            }
            self.finish_step(index, started);
        }
        Ok(())
    }

    async fn step_body(
        &mut self,
        client: &Client,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        let aftermath = self.transactional_aftermath();
        let overrides = self
            .apply_timeouts(client, prepared, Scope::Transaction)
            .await?;
        for statement in &prepared.statements {
            self.run_statement(client, index, prepared, statement, aftermath)
                .await?;
            self.audit.statements_done += 1;
        }
        // An atomic plan's next step shares this transaction.
        self.restore_timeouts(client, prepared, overrides, Scope::Transaction)
            .await?;
        self.write_versions(client, index, prepared.step).await?;
        self.record_success(client, index, prepared).await
    }

    fn transactional_aftermath(&self) -> Aftermath {
        match self.atomic {
            true => Aftermath::PlanRolledBack,
            false => Aftermath::StepRolledBack,
        }
    }

    async fn run_statement(
        &mut self,
        client: &Client,
        index: usize,
        prepared: &PreparedStep<'_>,
        statement: &Statement,
        aftermath: Aftermath,
    ) -> Result<(), ExecError> {
        if self.cancel.is_cancelled() {
            return Err(self.cancelled(index, prepared, None, Some(aftermath)));
        }
        self.events.emit(ExecEvent::Statement {
            step_index: index,
            line: prepared.file_line(statement),
            sql: statement.sql.clone(),
        });
        let result = self.execute_watched(client, index, &statement.sql).await;
        let rows = result
            .map_err(|e| self.statement_failure(index, prepared, statement, &e, aftermath))?;
        if let Some(command) = tags::counting_verb(&statement.sql) {
            self.events.emit(ExecEvent::StatementDone {
                step_index: index,
                line: prepared.file_line(statement),
                command,
                rows,
            });
        }
        Ok(())
    }

    /// One unit of a `transactional: false` step, in autocommit: a
    /// statement, or a `BEGIN ... COMMIT` block statement by statement. A
    /// block that fails is rolled back, so it left nothing; a connection
    /// lost while the unit ran leaves it in doubt (a lost COMMIT of a block
    /// as much as a lone statement whose answer never came).
    async fn run_unit(
        &mut self,
        client: &Client,
        index: usize,
        prepared: &PreparedStep<'_>,
        unit: Range<usize>,
    ) -> Result<(), ExecError> {
        let aftermath = Aftermath::PartiallyApplied {
            statements_done: self.audit.statements_done,
        };
        let block = unit.len() > 1;
        for statement in &prepared.statements[unit] {
            let ran = self
                .run_statement(client, index, prepared, statement, aftermath)
                .await;
            let Err(error) = ran else {
                continue;
            };
            if client.is_closed() || lost_connection(&error) {
                self.audit.in_doubt = true;
            } else if block {
                // Leave the aborted block; its statements are undone.
                let _ = client.batch_execute("ROLLBACK").await;
                self.events.drain(Some(index));
            }
            return Err(error);
        }
        Ok(())
    }

    async fn write_versions(
        &mut self,
        client: &Client,
        index: usize,
        step: &Step,
    ) -> Result<(), ExecError> {
        let table = self.table.display_name();
        for op in &step.version_ops {
            // A row lock on the version table (another session's SELECT ...
            // FOR UPDATE) makes this wait: watched like the step's own SQL.
            let sink = self.events.sink;
            let write = self.writer.apply(client, op);
            let watched = self.watch.watch_table(sink, &table, "changing", write);
            let applied = self.events.with_notices(Some(index), watched).await;
            applied
                .map_err(|e| name_blockers(e, self.watch.last_seen()))
                .map_err(ExecError::VersionTable)?;
            self.events.emit(ExecEvent::VersionChanged {
                step_index: index,
                op: op.clone(),
            });
        }
        Ok(())
    }

    fn refuse_if_cancelled_before(
        &self,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        match self.cancel.is_cancelled() {
            true => Err(self.cancelled(index, prepared, None, None)),
            false => Ok(()),
        }
    }

    /// After the work succeeded: a cancel that arrived meanwhile still rolls
    /// the step back, except for the version change of a non-transactional
    /// revision, whose SQL has already run and must be recorded.
    fn cancelled_before_commit(&self, work: &Work<'_, '_>) -> Result<(), ExecError> {
        if !self.cancel.is_cancelled() {
            return Ok(());
        }
        match work {
            Work::Step(index, prepared) => {
                Err(self.cancelled(*index, prepared, None, Some(Aftermath::StepRolledBack)))
            }
            Work::Plan(steps) => match steps.last() {
                Some(last) => Err(self.cancelled(
                    steps.len() - 1,
                    last,
                    None,
                    Some(Aftermath::PlanRolledBack),
                )),
                None => Ok(()),
            },
            Work::Versions(..) | Work::SetupOnly => Ok(()),
        }
    }

    fn cancelled(
        &self,
        index: usize,
        prepared: &PreparedStep<'_>,
        interrupted: Option<StatementError>,
        aftermath: Option<Aftermath>,
    ) -> ExecError {
        ExecError::Cancelled(Box::new(Cancelled {
            step_index: index,
            step: prepared.step.short_log(),
            interrupted: interrupted.map(Box::new),
            aftermath,
        }))
    }

    fn statement_failure(
        &self,
        index: usize,
        prepared: &PreparedStep<'_>,
        statement: &Statement,
        error: &tokio_postgres::Error,
        aftermath: Aftermath,
    ) -> ExecError {
        let mut located = locate_failure(prepared, statement, error, aftermath);
        located.blocked_by = self.watch.last_seen().to_vec();
        if self.cancel.is_cancelled() && is_query_canceled(error) {
            return self.cancelled(index, prepared, Some(located), Some(aftermath));
        }
        ExecError::Statement(Box::new(located))
    }

    /// A COMMIT whose answer never came may still have taken effect: only
    /// a look from a new connection can tell (see `engine::Database::execute`).
    fn commit_failure(&self, error: &tokio_postgres::Error, work: &Work<'_, '_>) -> ExecError {
        let what = match work {
            Work::Step(index, prepared) | Work::Versions(index, prepared) => {
                format!("step {} ({})", index + 1, prepared.step.short_log())
            }
            Work::Plan(_) => "the atomic plan".to_string(),
            Work::SetupOnly => "the version table's setup".to_string(),
        };
        match self.classify_database_failure("COMMIT", error, work) {
            ExecError::Database { context, cause } if ends_session(error) => ExecError::Database {
                context,
                cause: format!(
                    "{cause}\n  the connection was lost before the server answered the \
                         COMMIT of {what}, so it may or may not have taken effect"
                ),
            },
            other => other,
        }
    }

    /// BEGIN or COMMIT failed: a user's cancel reads as such.
    fn classify_database_failure(
        &self,
        context: &str,
        error: &tokio_postgres::Error,
        work: &Work<'_, '_>,
    ) -> ExecError {
        let cancelled = self.cancel.is_cancelled() && is_query_canceled(error);
        match (cancelled, work) {
            (true, Work::Step(index, prepared)) => {
                self.cancelled(*index, prepared, None, Some(Aftermath::StepRolledBack))
            }
            (true, Work::Plan(steps)) if !steps.is_empty() => self.cancelled(
                steps.len() - 1,
                &steps[steps.len() - 1],
                None,
                Some(Aftermath::PlanRolledBack),
            ),
            _ => database_failure(context, error),
        }
    }
}

/// The run's audit-history state (see `db::history`): the recorder, the
/// rows written in the open transaction (announced once it commits), and
/// progress within the current step.
struct Audit<'o> {
    recorder: Option<StepRecorder<'o>>,
    uncommitted: Vec<(Option<usize>, HistoryEntry)>,
    /// Statements of the current step that completed (units, for a
    /// `transactional: false` step).
    statements_done: usize,
    current_step: Option<usize>,
    /// The current `transactional: false` step's `started` row, written and
    /// committed before its first statement (see `HistoryEntry::in_doubt`).
    started_row: Option<i64>,
    /// The connection was lost while a unit of the current step ran.
    in_doubt: bool,
}

/// Where the recorder stood when a transaction began.
type AuditCheckpoint = Option<(Vec<String>, bool)>;

impl Audit<'_> {
    fn begin_step(&mut self, index: usize) {
        self.statements_done = 0;
        self.current_step = Some(index);
        self.started_row = None;
        self.in_doubt = false;
        if let Some(recorder) = &mut self.recorder {
            recorder.begin_step();
        }
    }

    fn checkpoint(&self) -> AuditCheckpoint {
        self.recorder.as_ref().map(StepRecorder::checkpoint)
    }

    /// The transaction was rolled back: so were its rows.
    fn restore(&mut self, checkpoint: AuditCheckpoint) {
        self.uncommitted.clear();
        if let (Some(recorder), Some(checkpoint)) = (&mut self.recorder, checkpoint) {
            recorder.restore(checkpoint);
        }
    }

    /// How a failed step ended: a `transactional: false` step that had run
    /// statements is partial, or in doubt when the connection was lost
    /// while a unit ran; anything else left nothing behind.
    fn failure_outcome(&self, prepared: &PreparedStep<'_>, error: &ExecError) -> StepOutcome {
        let statements_done = self.statements_done;
        let error = error.to_string();
        if !prepared.transactional && self.in_doubt {
            return StepOutcome::InDoubt {
                statements_done,
                error: Some(error),
            };
        }
        match !prepared.transactional && statements_done > 0 {
            true => StepOutcome::Partial {
                statements_done,
                error,
            },
            false => StepOutcome::Failed {
                statements_done,
                error,
            },
        }
    }
}

/// How long recording a failure may take before it is handed to the caller.
const FAILURE_RECORD_TIMEOUT: Duration = Duration::from_secs(10);

// Audit history: the executor's side of `db::history`.
impl Run<'_> {
    async fn ensure_history_table(&mut self, client: &Client) -> Result<(), ExecError> {
        let Some(recorder) = &self.audit.recorder else {
            return Ok(());
        };
        let table = recorder.table();
        let created = self.events.with_notices(None, table.ensure(client)).await;
        if created.map_err(ExecError::History)? {
            self.events.emit(ExecEvent::HistoryTableCreated {
                table: table.display_name(),
            });
        }
        Ok(())
    }

    /// Writes the step's row inside its transaction.
    async fn record_success(
        &mut self,
        client: &Client,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        let Some(recorder) = &mut self.audit.recorder else {
            return Ok(());
        };
        let mut entry = recorder.entry(
            index,
            prepared.step,
            prepared.revision,
            prepared.section.map(|s| s.sql.as_str()),
            prepared.total(),
            StepOutcome::Success,
        );
        let written = match self.audit.started_row {
            // The `started` row becomes the success row, in this transaction.
            Some(id) => {
                entry.id = Some(id);
                let table = recorder.table();
                self.events
                    .with_notices(Some(index), table.record(client, &entry))
                    .await
            }
            None => {
                self.events
                    .with_notices(Some(index), recorder.write(client, &entry))
                    .await
            }
        };
        let written = written.map_err(ExecError::History)?;
        recorder.advance(prepared.step);
        self.audit.uncommitted.push((Some(index), written));
        Ok(())
    }

    /// `stamp --purge` with no step: the purge is the row.
    async fn record_purge(&mut self, client: &Client) -> Result<(), ExecError> {
        let Some(recorder) = &mut self.audit.recorder else {
            return Ok(());
        };
        if !self.setup.purge {
            return Ok(());
        }
        let entry = recorder.purge_entry();
        let written = recorder
            .write(client, &entry)
            .await
            .map_err(ExecError::History)?;
        self.audit.uncommitted.push((None, written));
        Ok(())
    }

    /// Writes the `transactional: false` step's `started` row and commits
    /// it (autocommit) before its first statement runs; a retry after a
    /// lock timeout goes on with the same row.
    async fn record_started(
        &mut self,
        client: &Client,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        let Some(recorder) = &mut self.audit.recorder else {
            return Ok(());
        };
        if self.audit.started_row.is_some() {
            return Ok(());
        }
        let entry = recorder.entry(
            index,
            prepared.step,
            prepared.revision,
            prepared.section.map(|s| s.sql.as_str()),
            prepared.total(),
            StepOutcome::InDoubt {
                statements_done: 0,
                error: None,
            },
        );
        let written = self
            .events
            .with_notices(Some(index), recorder.write(client, &entry))
            .await
            .map_err(ExecError::History)?;
        self.audit.started_row = written.id;
        Ok(())
    }

    /// Moves the `started` row on after a unit completed. When that cannot
    /// be written the step stops: going on would leave a row that says less
    /// than what ran.
    async fn record_progress(&mut self, client: &Client) -> Result<(), ExecError> {
        let (Some(recorder), Some(id)) = (&self.audit.recorder, self.audit.started_row) else {
            return Ok(());
        };
        let done = self.audit.statements_done;
        let progress = recorder
            .table()
            .set_progress(client, id, done, recorder.elapsed());
        let index = self.audit.current_step;
        self.events
            .with_notices(index, progress)
            .await
            .map_err(ExecError::History)
    }

    /// Writes the failed or partial step's row after the rollback; when
    /// that is impossible the row goes to the caller in an event.
    async fn record_failure(
        &mut self,
        client: &Client,
        index: usize,
        prepared: &PreparedStep<'_>,
        error: &ExecError,
    ) {
        let outcome = self.audit.failure_outcome(prepared, error);
        let Some(recorder) = &self.audit.recorder else {
            return;
        };
        let mut entry = recorder.entry(
            index,
            prepared.step,
            prepared.revision,
            prepared.section.map(|s| s.sql.as_str()),
            prepared.total(),
            outcome,
        );
        // Over the step's `started` row, when it has one (here, or on the
        // new connection the caller opens).
        entry.id = self.audit.started_row;
        let written = match client.is_closed() {
            true => Err("the connection to the server was lost".to_string()),
            false => {
                let insert = recorder.table().record(client, &entry);
                match tokio::time::timeout(FAILURE_RECORD_TIMEOUT, insert).await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err("the server did not answer in time".to_string()),
                }
            }
        };
        self.events.drain(Some(index));
        let step_index = Some(index);
        self.events.emit(match written {
            Ok(entry) => ExecEvent::HistoryRecorded {
                step_index,
                entry: Box::new(entry),
            },
            Err(cause) => ExecEvent::HistoryUnrecorded {
                step_index,
                entry: Box::new(entry),
                cause,
            },
        });
    }
}

impl Work<'_, '_> {
    fn step_index(&self) -> Option<usize> {
        match self {
            Work::Step(index, _) | Work::Versions(index, _) => Some(*index),
            Work::Plan(_) | Work::SetupOnly => None,
        }
    }
}

fn locate_failure(
    prepared: &PreparedStep<'_>,
    statement: &Statement,
    error: &tokio_postgres::Error,
    aftermath: Aftermath,
) -> StatementError {
    let (revision, path) = match prepared.revision {
        Some(r) => (r.id.as_str(), r.path.as_path()),
        None => (prepared.step.revision.as_str(), std::path::Path::new("")),
    };
    let source = StatementSource {
        revision,
        path,
        section: prepared.section,
    };
    locate_statement_error(&source, statement, error, aftermath)
}

/// Where a statement comes from: a revision's file and the section of it
/// that was split (when known).
pub(crate) struct StatementSource<'a> {
    pub revision: &'a str,
    pub path: &'a std::path::Path,
    pub section: Option<&'a SqlSection>,
}

/// A failing statement, located in its file and described as a run
/// reports it.
pub(crate) fn locate_statement_error(
    source: &StatementSource<'_>,
    statement: &Statement,
    error: &tokio_postgres::Error,
    aftermath: Aftermath,
) -> StatementError {
    let db = error.as_db_error();
    let (line, column) = match source.section {
        Some(section) => error_location(section, statement, db.and_then(|d| d.position())),
        None => (statement.line, statement.column),
    };
    StatementError {
        revision: source.revision.to_string(),
        path: source.path.to_path_buf(),
        line,
        column,
        severity: db.map_or("ERROR", |d| d.severity()).to_string(),
        code: db.map(|d| d.code().code().to_string()),
        message: db.map_or_else(|| describe_error(error), |d| d.message().to_string()),
        detail: db.and_then(|d| d.detail()).map(str::to_string),
        hint: db.and_then(|d| d.hint()).map(str::to_string),
        context: db.and_then(|d| d.where_()).map(str::to_string),
        statement: statement.sql.clone(),
        aftermath,
        connection_lost: ends_session(error),
        blocked_by: Vec::new(),
        attempts: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(sql: &str, first_line: usize) -> SqlSection {
        SqlSection {
            sql: sql.to_string(),
            first_line,
        }
    }

    #[test]
    fn maps_server_position_to_file_line_and_column() {
        let sql = "CREATE TABLE a (id int);\n\nINSERT INTO a\n  SELECT * FROM nope;\n";
        let sec = section(sql, 10);
        let statements = split_statements(sql).unwrap();
        let insert = &statements[1];
        // "nope" is at character 31 of the INSERT statement.
        let position = insert.sql.find("nope").unwrap() + 1;
        let at = error_location(
            &sec,
            insert,
            Some(&ErrorPosition::Original(position as u32)),
        );
        assert_eq!(at, (13, 17));
    }

    #[test]
    fn position_counts_characters_not_bytes() {
        let sql = "SELECT 'ééé', nope";
        let sec = section(sql, 1);
        let statements = split_statements(sql).unwrap();
        let position = sql.chars().position(|c| c == 'n').unwrap() + 1;
        let at = error_location(
            &sec,
            &statements[0],
            Some(&ErrorPosition::Original(position as u32)),
        );
        assert_eq!(at, (1, 15));
    }

    #[test]
    fn falls_back_to_statement_start() {
        let sql = "\n\n  DO $$ BEGIN PERFORM 1; END $$;";
        let sec = section(sql, 5);
        let statements = split_statements(sql).unwrap();
        assert_eq!(error_location(&sec, &statements[0], None), (7, 3));
        let far = ErrorPosition::Original(10_000);
        assert_eq!(error_location(&sec, &statements[0], Some(&far)), (7, 3));
    }

    #[test]
    fn refuses_irreversible_downgrade_naming_file() {
        let mut rev = Revision::synthetic("a1", &[]);
        rev.downgrade = None;
        let map = RevisionMap::build(vec![rev]).unwrap();
        let plan = Plan {
            steps: vec![Step {
                kind: StepKind::Migrate,
                direction: Direction::Downgrade,
                revision: "a1".into(),
                from_revisions: vec!["a1".into()],
                to_revisions: vec![],
                version_ops: vec![VersionOp::Delete {
                    version: "a1".into(),
                }],
            }],
            heads_before: vec!["a1".into()],
            heads_after: vec![],
            purge: false,
        };
        let err = prepare_steps(&map, &plan, false).err().unwrap();
        assert_eq!(
            err.to_string(),
            "a1.sql: revision a1 has no downgrade section, so it cannot be downgraded; nothing was run"
        );
    }
}
