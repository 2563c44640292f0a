//! The engine's errors: what went wrong, as data, up to the front ends.
//!
//! Each variant names a class of failure the user acts on differently, and
//! [`Error::exit_code`] is the command line's mapping of it. Causes from the
//! database stay attached as `source`, so a front end can show the server's
//! own message, code and position, or match on them, instead of parsing text.

use std::path::PathBuf;

use crate::core::plan::{Plan, PlanError};
use crate::core::policy::{Action, Requirement};
use crate::db::drift::{DriftIssue, DriftReport};
use crate::db::events::ExecError;
use crate::db::history::HistoryEntry;
use crate::db::lock::LockError;

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A failure of anything retort was asked to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments that cannot be accepted (exit 2).
    #[error("{0}")]
    Usage(String),
    /// retort.toml, environments and connection settings (exit 2).
    #[error("{0}")]
    Config(String),
    /// Revision files that cannot be read, parsed or built into a graph (exit 2).
    #[error("{0}")]
    Files(String),
    /// No plan reaches the target (exit 2).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The engine would not run: nothing was changed.
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// The server could not be reached or would not open a session (exit 3).
    #[error("{0}")]
    Connect(String),
    /// The migration lock is held by another run, or could not be taken (exit 3).
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A read or a bookkeeping statement failed (exit 3).
    #[error("{what}: {source}")]
    Database {
        what: String,
        #[source]
        source: Cause,
    },
    /// A plan started and failed; what became of each step is data.
    #[error("{}", .0.error)]
    Exec(Box<ExecFailure>),
    /// The user (or a signal) stopped the run before its first step.
    #[error("cancelled before the plan started; nothing was run")]
    CancelledBeforeStart,
}

impl Error {
    /// The exit code the command line ends with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config(_) | Error::Files(_) | Error::Plan(_) => 2,
            Error::Refused(refusal) => refusal.exit_code(),
            Error::Exec(failure) if refused_before_running(&failure.error) => 2,
            Error::Connect(_)
            | Error::Database { .. }
            | Error::Lock(_)
            | Error::Exec(_)
            | Error::CancelledBeforeStart => 3,
        }
    }

    /// A database cause, with what retort was doing when it happened.
    pub fn database(what: impl Into<String>, source: impl Into<Cause>) -> Error {
        Error::Database {
            what: what.into(),
            source: source.into(),
        }
    }

    pub fn refused(refusal: Refusal) -> Error {
        Error::Refused(Box::new(refusal))
    }

    /// The message with every connection secret removed.
    pub fn redacted(&self) -> String {
        crate::config::redact_url(&self.to_string())
    }
}

/// Why a run was refused before it changed anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Files and recorded history disagree, or a step stopped halfway and
    /// was not resolved. `blocking` are the findings that stopped the run.
    Drift {
        blocking: Vec<DriftIssue>,
        /// Whether the user could override every finding (none is a
        /// partial step).
        overridable: bool,
    },
    /// The version table names revisions no file defines.
    UnknownRows { rows: Vec<String>, dir: PathBuf },
    /// The plan made under the lock is not the plan the user approved:
    /// another migrator moved the database meanwhile.
    PlanChanged { approved: Box<Plan>, now: Box<Plan> },
    /// Revision files of the plan changed on disk after they were loaded.
    FilesChanged { files: Vec<ChangedFile> },
    /// The confirmation policy asks for more than was given.
    NotConfirmed {
        action: Action,
        needed: Requirement,
        /// The name the person typed, if any.
        typed: Option<String>,
    },
}

impl Refusal {
    pub fn exit_code(&self) -> i32 {
        match self {
            Refusal::UnknownRows { .. }
            | Refusal::NotConfirmed { .. }
            | Refusal::FilesChanged { .. } => 2,
            Refusal::Drift { .. } | Refusal::PlanChanged { .. } => 3,
        }
    }

    pub fn drift(report: &DriftReport, allow_drift: bool) -> Option<Refusal> {
        let blocking: Vec<DriftIssue> = report
            .issues
            .iter()
            .filter(|i| i.blocks_runs() && (!allow_drift || !i.overridable()))
            .cloned()
            .collect();
        if blocking.is_empty() {
            return None;
        }
        let overridable = blocking.iter().all(|i| i.overridable());
        Some(Refusal::Drift {
            blocking,
            overridable,
        })
    }
}

/// A plain account for logs and tests; the front ends word refusals
/// their own way (what to press, which flag to pass).
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Drift { blocking, .. } => {
                f.write_str(match blocking.iter().all(|i| i.is_partial()) {
                    true => {
                        "refusing to run: a step stopped halfway and has not been resolved; \
                             nothing was run"
                    }
                    false => {
                        "refusing to run: the revision files and the database disagree; \
                              nothing was run"
                    }
                })?;
                for issue in blocking {
                    write!(
                        f,
                        "\n  {}: {}\n    {}",
                        issue.revision, issue.summary, issue.advice
                    )?;
                }
                Ok(())
            }
            Refusal::UnknownRows { rows, .. } => write!(
                f,
                "refused: the version table names revisions no file defines: {}",
                rows.join(", ")
            ),
            Refusal::PlanChanged { .. } => {
                f.write_str("refused: the database moved since the plan was approved")
            }
            Refusal::FilesChanged { files } => {
                f.write_str("refused: revision files changed on disk since they were loaded")?;
                for file in files {
                    write!(f, "\n  {}", file.path.display())?;
                }
                Ok(())
            }
            Refusal::NotConfirmed { .. } => f.write_str("refused: not confirmed"),
        }
    }
}

/// A revision file of the plan that is no longer what was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub revision: String,
    pub path: PathBuf,
    pub change: FileChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Its text differs from the text the plan was made from.
    Edited,
    /// It can no longer be read.
    Unreadable(String),
    /// It no longer parses.
    Invalid(String),
}

/// A run that failed while it executed.
#[derive(Debug)]
pub struct ExecFailure {
    /// The executor's error: which step, which statement, what the server said.
    pub error: ExecError,
    /// What a new connection found out and recorded after the run's own
    /// connection was lost.
    pub recovery: Recovery,
    /// The version table as read after the failure; `None` when it could
    /// not be read (the server is gone).
    pub heads_now: Option<Vec<String>>,
    pub atomic: bool,
}

/// What became of the steps the run could not record on its own connection.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recovery {
    /// The history table's name, as messages show it.
    pub history_table: String,
    /// Steps whose COMMIT answer was lost but whose success row a new
    /// connection found: they took effect.
    pub committed: Vec<HistoryEntry>,
    /// Steps whose COMMIT answer was lost and whose success row a new
    /// connection did not find, once the old session was gone.
    pub not_committed: Vec<HistoryEntry>,
    /// Failure rows written on a new connection.
    pub recorded: Vec<HistoryEntry>,
    /// Rows that could not be written at all, and why.
    pub unrecorded: Option<Unrecorded>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unrecorded {
    pub cause: String,
    pub entries: Vec<HistoryEntry>,
}

/// Executor errors raised before any statement ran: the plan cannot be
/// run as asked (input), not a failure of the server.
pub fn refused_before_running(error: &ExecError) -> bool {
    matches!(
        error,
        ExecError::UnknownRevision { .. }
            | ExecError::Irreversible { .. }
            | ExecError::NonTransactionalInAtomic { .. }
            | ExecError::Split { .. }
    )
}
