//! What the executor reports while it runs (events) and when it fails (errors).
//! The executor never prints: front ends render these.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::core::plan::{Step, VersionOp};
use chrono::{DateTime, Utc};
use serde::Serialize;

// The payloads below are plain data: this module imports no db module that
// imports it back (`lock` and `blockers` re-export `LockHolder` and `Blocker`).
use crate::db::history::{HistoryEntry, HistoryError};
use crate::db::version_table::VersionTableError;

/// A session holding the lock, as `pg_stat_activity` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    pub pid: i32,
    /// Database user of the session.
    pub user: Option<String>,
    pub application_name: Option<String>,
    /// `None` for a Unix-socket connection.
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    /// When the holding session connected; retort takes the lock right
    /// after connecting, so for a retort holder this is when it took it.
    pub session_started: Option<DateTime<Utc>>,
    /// `active`, `idle`, `idle in transaction`, ...
    pub state: Option<String>,
    /// Since when the session is in that state.
    pub state_since: Option<DateTime<Utc>>,
    /// The start of its current (or last) query, shortened.
    pub query: Option<String>,
}

impl LockHolder {
    /// One line for people: who, from where, since when.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let mut parts = vec![format!("pid {}", self.pid)];
        if let Some(user) = &self.user {
            parts.push(format!("user {user}"));
        }
        match self.application_name.as_deref() {
            Some(app) if !app.is_empty() => parts.push(format!("application '{app}'")),
            _ => {}
        }
        match (&self.client_addr, self.client_port) {
            (Some(addr), Some(port)) if port > 0 => parts.push(format!("client {addr}:{port}")),
            (Some(addr), _) => parts.push(format!("client {addr}")),
            (None, _) => parts.push("local socket".to_string()),
        }
        if let Some(since) = self.session_started {
            parts.push(format!(
                "connected since {} ({} ago)",
                since.format("%Y-%m-%d %H:%M:%S UTC"),
                format_age(now - since)
            ));
        }
        if let Some(state) = &self.state {
            let age = self
                .state_since
                .map(|t| format!(" for {}", format_age(now - t)))
                .unwrap_or_default();
            parts.push(format!("{state}{age}"));
        }
        parts.join(", ")
    }
}

fn format_age(delta: chrono::TimeDelta) -> String {
    let seconds = delta.num_seconds().max(0);
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// A session holding a lock the migration waits for, from `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub pid: i32,
    pub user: Option<String>,
    pub application: Option<String>,
    /// Client address, or `None` for a Unix-socket session.
    pub client: Option<String>,
    /// `active`, `idle in transaction`, ...
    pub state: Option<String>,
    /// Its current or last query (single line, shortened); PostgreSQL shows
    /// `<insufficient privilege>` to users who may not see it.
    pub query: Option<String>,
    /// How long its transaction has been open.
    pub transaction_age: Option<Duration>,
    /// How long it has been idle inside its open transaction.
    pub idle_in_transaction: Option<Duration>,
    /// What it waits for itself (`Lock: relation`, `Client: ClientRead`).
    pub wait_event: Option<String>,
}

impl Blocker {
    /// "pid 4242 (user alice, application psql, idle in transaction for 12.0 s)".
    pub fn who(&self) -> String {
        let mut details = session_details(&self.user, &self.application);
        if let Some(client) = &self.client {
            details.push(format!("from {client}"));
        }
        match (&self.idle_in_transaction, &self.state) {
            (Some(idle), _) => details.push(format!("idle in transaction for {}", seconds(*idle))),
            (None, Some(state)) => details.push(state.clone()),
            (None, None) => {}
        }
        if let Some(age) = self.transaction_age {
            details.push(format!("transaction open for {}", seconds(age)));
        }
        pid_with(self.pid, &details)
    }
}

/// "user alice", "application psql": who a session is, as far as known.
fn session_details(user: &Option<String>, application: &Option<String>) -> Vec<String> {
    let mut details = Vec::new();
    if let Some(user) = user {
        details.push(format!("user {user}"));
    }
    if let Some(app) = application.as_deref().filter(|a| !a.is_empty()) {
        details.push(format!("application {app}"));
    }
    details
}

/// "pid 42" or "pid 42 (details, ...)".
fn pid_with(pid: i32, details: &[String]) -> String {
    match details.is_empty() {
        true => format!("pid {pid}"),
        false => format!("pid {pid} ({})", details.join(", ")),
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.who())?;
        if let Some(query) = self.query.as_deref().filter(|q| !q.is_empty()) {
            let label = match self.state.as_deref() {
                Some("active") => "running",
                _ => "last query",
            };
            write!(f, ", {label}: {query}")?;
        }
        Ok(())
    }
}

/// A session queued behind the migration: it waits for a lock the
/// migration holds or has asked for first (its `pg_blocking_pids` include
/// the migration's backend). A waiting `ALTER TABLE` queues every reader
/// of its table this way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub pid: i32,
    pub user: Option<String>,
    pub application: Option<String>,
    /// What it waits to run (single line, shortened).
    pub query: Option<String>,
    /// How long it has waited for its lock (since its query started on
    /// servers older than 14, which do not say when the wait began).
    pub waited: Option<Duration>,
}

impl Queued {
    /// "pid 4300 (user bob) waiting 4.1 s".
    pub fn who(&self) -> String {
        let details = session_details(&self.user, &self.application);
        let mut text = pid_with(self.pid, &details);
        if let Some(waited) = self.waited {
            text.push_str(&format!(" waiting {}", seconds(waited)));
        }
        text
    }
}

impl fmt::Display for Queued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.who())?;
        if let Some(query) = self.query.as_deref().filter(|q| !q.is_empty()) {
            write!(f, ": {query}")?;
        }
        Ok(())
    }
}

/// A statement's command tag as psql shows it (`UPDATE 5000`); a
/// statement starting with `WITH` names no verb of its own here.
pub fn command_tag(command: &str, rows: u64) -> String {
    match command {
        "WITH" => format!("{rows} row(s)"),
        verb => format!("{verb} {rows}"),
    }
}

/// The heading of a list of sessions queued behind the migration.
pub fn queue_heading(queued: &[Queued]) -> String {
    match queued.len() {
        1 => "1 session waits behind the migration:".to_string(),
        n => format!("{n} sessions wait behind the migration:"),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecEvent {
    PlanStarted {
        total_steps: usize,
        atomic: bool,
    },
    VersionTableCreated {
        table: String,
    },
    VersionTablePurged {
        table: String,
        rows: u64,
    },
    StepStarted {
        index: usize,
        total: usize,
        step: Step,
        transactional: bool,
    },
    /// A statement is about to run; `line` is its first line in the revision file.
    Statement {
        step_index: usize,
        line: usize,
        sql: String,
    },
    /// A statement that reports a row count finished: `command` is the
    /// verb of its command tag (`UPDATE`, `INSERT`, ...; `WITH` when it
    /// starts with a common table expression) and `rows` its count.
    StatementDone {
        step_index: usize,
        line: usize,
        command: String,
        rows: u64,
    },
    /// A server NOTICE/WARNING/INFO; `step_index` is `None` outside any step.
    Notice {
        step_index: Option<usize>,
        severity: String,
        code: String,
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
    VersionChanged {
        step_index: usize,
        op: VersionOp,
    },
    /// The running statement waits for locks other sessions hold. Sent
    /// when the wait starts, whenever the set of blockers (their pids),
    /// the lock waited for or the sessions queued behind it change, and otherwise every
    /// [`WAIT_HEARTBEAT`] while it waits, never on every look: a renderer
    /// can print each one as it comes. `waited` counts from the first look
    /// that found it blocked.
    Blocked {
        step_index: usize,
        /// The lock asked for, e.g. `AccessExclusiveLock on public.accounts`.
        waiting_for: Option<String>,
        waited: Duration,
        blockers: Vec<Blocker>,
        /// Sessions waiting behind the migration meanwhile, longest first.
        queued: Vec<Queued>,
        news: WaitNews,
    },
    /// The statement no longer waits (it got its locks, or it ended).
    Unblocked {
        step_index: usize,
        waited: Duration,
    },
    /// A statement retort runs on its own tables (reading or writing the
    /// version table or the history) waits for locks other sessions hold,
    /// e.g. a `LOCK TABLE alembic_version` or a row lock on it. Sent with
    /// the same cadence as [`ExecEvent::Blocked`].
    TableBlocked {
        /// The table, schema-qualified.
        table: String,
        /// What retort was doing with it: `reading` or `changing`.
        action: String,
        waiting_for: Option<String>,
        waited: Duration,
        blockers: Vec<Blocker>,
        /// Sessions waiting behind retort's session meanwhile.
        queued: Vec<Queued>,
        news: WaitNews,
    },
    /// The statement on `table` no longer waits.
    TableUnblocked {
        table: String,
        waited: Duration,
    },
    /// A statement on `table` failed on a lock timeout and runs again after
    /// `delay` (`lock_retries`); `cause` names the blockers.
    TableRetrying {
        table: String,
        action: String,
        /// The attempt about to start (2 for the first retry).
        attempt: u32,
        attempts: u32,
        delay: Duration,
        cause: String,
    },
    /// A step failed on a lock timeout and runs again after `delay`; its
    /// transaction was rolled back, so the database is as before the step.
    StepRetrying {
        index: usize,
        /// The attempt about to start (2 for the first retry).
        attempt: u32,
        /// Attempts allowed in all (`lock_retries` + 1).
        attempts: u32,
        delay: Duration,
        error: ExecError,
    },
    /// The step's SQL and version change are done (committed, unless atomic).
    StepFinished {
        index: usize,
        duration: Duration,
    },
    StepFailed {
        index: usize,
        error: ExecError,
    },
    PlanFinished {
        duration: Duration,
        steps_done: usize,
    },
    /// Always the last event of a failed run, including refusals before anything ran.
    PlanFailed {
        duration: Duration,
        steps_committed: usize,
        error: ExecError,
    },
    /// Another session holds the migration lock. Sent on the first failed
    /// attempt, whenever the set of holders (their pids) changes, and
    /// otherwise every [`WAIT_HEARTBEAT`] while waiting, with the holders
    /// as they are now.
    LockWaiting {
        lock: String,
        holders: Vec<LockHolder>,
        waited: Duration,
        news: WaitNews,
    },
    LockAcquired {
        lock: String,
        waited: Duration,
    },
    LockReleased {
        lock: String,
    },
    HistoryTableCreated {
        table: String,
    },
    /// A history row was written; for a successful step it committed with
    /// the step. `step_index` is `None` for rows outside a plan's steps.
    HistoryRecorded {
        step_index: Option<usize>,
        entry: Box<HistoryEntry>,
    },
    /// A failure could not be recorded on the run's connection (typically
    /// because the connection was lost); the caller should write `entry`
    /// on a new connection.
    HistoryUnrecorded {
        step_index: Option<usize>,
        entry: Box<HistoryEntry>,
        cause: String,
    },
    /// The connection was lost before the server answered a COMMIT, and a
    /// new connection found the step's success row, written in its
    /// transaction: the COMMIT took effect. `entry` is the failure that was
    /// therefore not recorded.
    CommitConfirmed {
        step_index: Option<usize>,
        entry: Box<HistoryEntry>,
    },
}

/// How often a wait event is repeated while nothing changes, so shown
/// waiting times stay current.
pub const WAIT_HEARTBEAT: Duration = Duration::from_secs(5);

/// Why a wait event was sent: renderers log news and refresh their
/// display of a wait on heartbeats, without keeping state of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitNews {
    /// The wait started, or what it waits on changed.
    Changed,
    /// Nothing changed; the wait goes on (its times have moved).
    Heartbeat,
}

/// Decides when a wait event is due: when what is waited on (`K`, e.g.
/// the blockers' pids) changes, or a heartbeat after the last one.
#[derive(Debug)]
pub(crate) struct WaitAnnouncer<K> {
    last: Option<(K, std::time::Instant)>,
}

impl<K: PartialEq> WaitAnnouncer<K> {
    pub(crate) fn new() -> WaitAnnouncer<K> {
        WaitAnnouncer { last: None }
    }

    /// Whether to send an event for `key` now, and why; remembers it when so.
    pub(crate) fn due(&mut self, key: K) -> Option<WaitNews> {
        let news = match &self.last {
            Some((seen, _)) if *seen != key => Some(WaitNews::Changed),
            Some((_, at)) if at.elapsed() >= WAIT_HEARTBEAT => Some(WaitNews::Heartbeat),
            Some(_) => None,
            None => Some(WaitNews::Changed),
        };
        if news.is_some() {
            self.last = Some((key, std::time::Instant::now()));
        }
        news
    }

    /// The wait ended: the next one is announced at once.
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }
}

/// Receives executor events; implemented for unbounded channels and closures.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: ExecEvent);
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<ExecEvent> {
    fn emit(&self, event: ExecEvent) {
        // A receiver that went away simply stops listening.
        let _ = self.send(event);
    }
}

impl<F: Fn(ExecEvent) + Send + Sync> EventSink for F {
    fn emit(&self, event: ExecEvent) {
        self(event)
    }
}

/// What a failure left behind, beyond the failing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aftermath {
    /// The step's transaction was rolled back; earlier steps stay applied.
    StepRolledBack,
    /// `--atomic`: the whole plan was rolled back.
    PlanRolledBack,
    /// A `transactional: false` revision: statements that ran before the
    /// failure stay applied, and its version change was not written.
    PartiallyApplied { statements_done: usize },
}

impl Aftermath {
    fn note(&self) -> Option<String> {
        match self {
            Aftermath::StepRolledBack => None,
            Aftermath::PlanRolledBack => Some("the whole plan was rolled back (atomic)".into()),
            Aftermath::PartiallyApplied { statements_done } => Some(format!(
                "transactional: false: {statements_done} statement(s) of this revision ran and stay applied; \
                 the version table was not changed"
            )),
        }
    }
}

/// A failing statement of a revision file, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    pub revision: String,
    pub path: PathBuf,
    /// 1-based file line and column of the failing position (or of the
    /// statement's start when the server gave no position).
    pub line: usize,
    pub column: usize,
    pub severity: String,
    /// SQLSTATE; `None` when the failure was not reported by the server
    /// (e.g. the connection was lost).
    pub code: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub context: Option<String>,
    pub statement: String,
    pub aftermath: Aftermath,
    /// The session ended with the failure: the server shut down or
    /// restarted, the backend was terminated, or the socket broke.
    pub connection_lost: bool,
    /// Sessions seen holding the locks this statement waited for (the
    /// last look before it failed); empty when it was never seen blocked.
    pub blocked_by: Vec<Blocker>,
    /// How many times the step ran (more than 1 after lock retries).
    pub attempts: u32,
}

/// SQLSTATE of `lock_timeout` and of NOWAIT lock requests.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";

impl StatementError {
    /// Failed because it could not get a lock in time (`lock_timeout`, NOWAIT).
    pub fn is_lock_timeout(&self) -> bool {
        self.code.as_deref() == Some(LOCK_NOT_AVAILABLE)
    }
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self
            .code
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        match (&self.code, self.connection_lost) {
            // Not a report from the server, so no severity of its own: the
            // socket went away under the statement.
            (None, true) => f.write_str(&self.message)?,
            _ => write!(f, "{}{code}: {}", self.severity, self.message)?,
        }
        for (label, value) in [
            ("DETAIL", &self.detail),
            ("HINT", &self.hint),
            ("CONTEXT", &self.context),
        ] {
            if let Some(value) = value {
                write!(f, "\n  {label}: {value}")?;
            }
        }
        for blocker in &self.blocked_by {
            write!(f, "\n  blocked by {blocker}")?;
        }
        if self.is_lock_timeout() && self.blocked_by.is_empty() {
            write!(
                f,
                "\n  no blocking session was seen (the lock was released, or held too briefly to look)"
            )?;
        }
        if self.attempts > 1 {
            write!(
                f,
                "\n  gave up after {} attempts (lock_retries = {})",
                self.attempts,
                self.attempts - 1
            )?;
        }
        if self.connection_lost {
            write!(
                f,
                "\n  the connection to the server was lost while this statement ran \
                 (the server shut down or restarted, or ended the session)"
            )?;
        }
        match (self.aftermath, self.connection_lost) {
            (Aftermath::StepRolledBack, true) => write!(
                f,
                "\n  the step's transaction never committed, so the server rolled it back; \
                 earlier steps stay applied"
            )?,
            // Autocommit: the statement may have committed before its
            // answer was lost, so it is not counted as run nor as not run.
            (Aftermath::PartiallyApplied { statements_done }, true) => write!(
                f,
                "\n  transactional: false: {statements_done} statement(s) of this revision ran \
                 and stay applied; statement {} (this one) may or may not have run, as its \
                 answer never came; the version table was not changed",
                statements_done + 1
            )?,
            (aftermath, _) => {
                if let Some(note) = aftermath.note() {
                    write!(f, "\n  {note}")?;
                }
            }
        }
        Ok(())
    }
}

/// A run cancelled by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub step_index: usize,
    pub step: String,
    /// The statement that was interrupted, if one was running.
    pub interrupted: Option<Box<StatementError>>,
    /// `None` when the cancel landed between steps (nothing to undo).
    pub aftermath: Option<Aftermath>,
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.interrupted {
            write!(f, "{}:{}:{}: ", at.path.display(), at.line, at.column)?;
        }
        let number = self.step_index + 1;
        match self.aftermath {
            None => write!(
                f,
                "ERROR 57014: cancelled by the user before step {number} ({}) started",
                self.step
            ),
            Some(aftermath) => {
                write!(
                    f,
                    "ERROR 57014: cancelled by the user during step {number} ({})",
                    self.step
                )?;
                match aftermath.note() {
                    Some(note) => write!(f, "\n  {note}"),
                    None => write!(f, "\n  the step was rolled back"),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("step {}: revision '{revision}' is not in the revision map; nothing was run", step_index + 1)]
    UnknownRevision { step_index: usize, revision: String },
    #[error(
        "{}: revision {revision} has no downgrade section, so it cannot be downgraded; nothing was run",
        path.display()
    )]
    Irreversible { revision: String, path: PathBuf },
    #[error(
        "{}: revision {revision} is transactional: false and cannot run inside an atomic plan; nothing was run",
        path.display()
    )]
    NonTransactionalInAtomic { revision: String, path: PathBuf },
    #[error("{}:{line}:{column}: cannot split the {section} SQL of revision {revision}: {message}; nothing was run", path.display())]
    Split {
        revision: String,
        path: PathBuf,
        section: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "the version table changed since the plan was made: expected [{}], found [{}]; nothing was run",
        expected.join(", "), found.join(", ")
    )]
    StaleHeads {
        expected: Vec<String>,
        found: Vec<String>,
    },
    #[error("{0}")]
    VersionTable(VersionTableError),
    #[error("{0}")]
    Statement(Box<StatementError>),
    #[error("{0}")]
    Cancelled(Box<Cancelled>),
    #[error("{0}")]
    History(HistoryError),
    /// BEGIN/COMMIT/ROLLBACK or the connection itself failed.
    #[error("{context}: {cause}")]
    Database { context: String, cause: String },
}

impl ExecError {
    /// The SQLSTATE the server reported, when there is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            ExecError::Statement(e) => e.code.as_deref(),
            ExecError::Cancelled(_) => Some("57014"),
            _ => None,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, ExecError::Cancelled(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_announced_when_it_starts_and_when_the_blockers_change() {
        let mut announcer = WaitAnnouncer::new();
        let changed = Some(WaitNews::Changed);
        assert_eq!(announcer.due(vec![7]), changed);
        assert_eq!(announcer.due(vec![7]), None, "the same blockers again");
        assert_eq!(announcer.due(vec![7]), None);
        assert_eq!(announcer.due(vec![7, 9]), changed, "one more blocker");
        assert_eq!(announcer.due(vec![9]), changed, "one fewer");
        assert_eq!(announcer.due(vec![9]), None);
        announcer.reset();
        assert_eq!(announcer.due(vec![9]), changed, "a new wait");
        // The heartbeat: a wait announced longer ago than WAIT_HEARTBEAT.
        let long_ago = std::time::Instant::now().checked_sub(WAIT_HEARTBEAT);
        if let Some(at) = long_ago {
            announcer.last = Some((vec![9], at));
            assert_eq!(announcer.due(vec![9]), Some(WaitNews::Heartbeat));
            assert_eq!(announcer.due(vec![9]), None);
        }
    }

    fn lost(code: Option<&str>, message: &str, aftermath: Aftermath) -> StatementError {
        StatementError {
            revision: "b2".into(),
            path: PathBuf::from("b2.sql"),
            line: 7,
            column: 1,
            severity: if code.is_some() { "FATAL" } else { "ERROR" }.into(),
            code: code.map(str::to_string),
            message: message.into(),
            detail: None,
            hint: None,
            context: None,
            statement: "SELECT pg_sleep(30)".into(),
            aftermath,
            connection_lost: true,
            blocked_by: Vec::new(),
            attempts: 1,
        }
    }

    #[test]
    fn a_lost_connection_says_so_and_what_became_of_the_step() {
        let text = lost(
            Some("57P01"),
            "terminating connection due to administrator command",
            Aftermath::StepRolledBack,
        )
        .to_string();
        assert_eq!(
            text,
            "b2.sql:7:1: FATAL 57P01: terminating connection due to administrator command\n  \
             the connection to the server was lost while this statement ran (the server shut \
             down or restarted, or ended the session)\n  \
             the step's transaction never committed, so the server rolled it back; earlier \
             steps stay applied"
        );
    }

    #[test]
    fn a_broken_socket_gets_no_made_up_severity() {
        let text = lost(None, "connection closed", Aftermath::PlanRolledBack).to_string();
        assert!(
            text.starts_with("b2.sql:7:1: connection closed\n"),
            "{text}"
        );
        assert!(
            text.ends_with("\n  the whole plan was rolled back (atomic)"),
            "{text}"
        );
    }

    #[test]
    fn a_lost_connection_in_a_non_transactional_step_keeps_the_partial_note() {
        let text = lost(
            None,
            "connection closed",
            Aftermath::PartiallyApplied { statements_done: 1 },
        )
        .to_string();
        assert!(
            text.ends_with(
                "1 statement(s) of this revision ran and stay applied; statement 2 (this one) \
                 may or may not have run, as its answer never came; the version table was not \
                 changed"
            ),
            "{text}"
        );
    }
}
