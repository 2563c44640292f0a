//! Short texts the console shows: durations, version-table changes, and
//! executor events as log lines.

use std::time::Duration;

use crate::core::graph::RevisionMap;
use crate::core::plan::{Direction, Step, StepKind, VersionOp};
use crate::db::events::{Blocker, Queued, command_tag, queue_heading};
use crate::db::{ExecError, ExecEvent};
use crate::engine::{Error, Refusal};
use crate::tui::log::LogKind;

/// `850 ms`, `12.4 s`, `3m 05s`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let secs = d.as_secs();
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

/// `0:07`, `12:03`: elapsed time in a progress line.
pub fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// `+ a1b2`, `a1b2 → c3d4`, `− a1b2`.
pub fn version_op(op: &VersionOp) -> String {
    match op {
        VersionOp::Insert { version } => format!("+ {version}"),
        VersionOp::Update { from, to } => format!("{from} → {to}"),
        VersionOp::Delete { version } => format!("− {version}"),
    }
}

pub fn version_ops(ops: &[VersionOp]) -> String {
    ops.iter().map(version_op).collect::<Vec<_>>().join(", ")
}

/// `upgrade`, `downgrade`, `stamp`.
pub fn step_verb(step: &Step) -> &'static str {
    match (&step.kind, step.direction) {
        (StepKind::Stamp, _) => "stamp",
        (StepKind::Migrate, Direction::Upgrade) => "upgrade",
        (StepKind::Migrate, Direction::Downgrade) => "downgrade",
    }
}

/// `upgrade 4f1c8a2e9b07 create accounts`.
pub fn step_title(map: &RevisionMap, step: &Step) -> String {
    let message = map
        .get(&step.revision)
        .map(|r| r.message.as_str())
        .unwrap_or("");
    let revision = if step.revision.is_empty() {
        "base"
    } else {
        step.revision.as_str()
    };
    format!("{} {revision} {message}", step_verb(step))
        .trim_end()
        .to_string()
}

/// Whether an error means the connection itself went away (as opposed to
/// a statement the server rejected).
pub fn is_connection_loss(error: &ExecError) -> bool {
    match error {
        ExecError::Database { .. } => true,
        // No SQLSTATE: the client lost the socket. Class 08: connection
        // exceptions; 57P01-57P03: the server was shut down or the backend
        // terminated (pg_terminate_backend, a restart).
        ExecError::Statement(e) => e
            .code
            .as_deref()
            .is_none_or(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// The log lines of one executor event. Statements show their line in the
/// file; errors carry the full `path:line:column`.
pub fn exec_event(map: &RevisionMap, steps: &[Step], event: &ExecEvent) -> Vec<(LogKind, String)> {
    match event {
        ExecEvent::PlanStarted { total_steps, .. } => vec![(
            LogKind::Info,
            format!("connected; running {total_steps} step(s)"),
        )],
        ExecEvent::VersionTableCreated { table } => {
            vec![(LogKind::Info, format!("created the version table {table}"))]
        }
        ExecEvent::VersionTablePurged { table, rows } => vec![(
            LogKind::Info,
            format!("emptied the version table {table} ({rows} row(s))"),
        )],
        ExecEvent::StepStarted {
            index,
            total,
            step,
            transactional,
        } => {
            let mode = if step.kind == StepKind::Stamp {
                "version table only"
            } else if *transactional {
                "transaction"
            } else {
                "no transaction"
            };
            vec![(
                LogKind::Step,
                format!(
                    "▶ [{}/{total}] {} ({mode})",
                    index + 1,
                    step_title(map, step)
                ),
            )]
        }
        ExecEvent::Statement { line, sql, .. } => {
            let first = sql
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            let more = if sql.trim().lines().count() > 1 {
                " …"
            } else {
                ""
            };
            vec![(
                LogKind::Statement,
                format!("  line {line:<4} {first}{more}"),
            )]
        }
        ExecEvent::StatementDone {
            line,
            command,
            rows,
            ..
        } => vec![(
            LogKind::Info,
            format!("  line {line:<4} → {}", command_tag(command, *rows)),
        )],
        ExecEvent::Notice {
            severity,
            message,
            detail,
            hint,
            ..
        } => {
            let kind = if severity == "WARNING" {
                LogKind::Warning
            } else {
                LogKind::Notice
            };
            let mut text = format!("  {severity}: {message}");
            if let Some(detail) = detail {
                text.push_str(&format!("\n    DETAIL: {detail}"));
            }
            if let Some(hint) = hint {
                text.push_str(&format!("\n    HINT: {hint}"));
            }
            vec![(kind, text)]
        }
        ExecEvent::VersionChanged { op, .. } => {
            vec![(
                LogKind::Info,
                format!("  version table: {}", version_op(op)),
            )]
        }
        ExecEvent::StepFinished { index, duration: d } => vec![(
            LogKind::Success,
            format!("✓ [{}/{}] done in {}", index + 1, steps.len(), duration(*d)),
        )],
        ExecEvent::StepFailed { index, error } => {
            let verb = if error.is_cancelled() {
                "cancelled"
            } else {
                "failed"
            };
            vec![(
                LogKind::Error,
                format!("✗ [{}/{}] {verb}: {error}", index + 1, steps.len()),
            )]
        }
        ExecEvent::PlanFinished {
            duration: d,
            steps_done,
        } => vec![(
            LogKind::Success,
            format!("■ done: {steps_done} step(s) in {}", duration(*d)),
        )],
        ExecEvent::PlanFailed {
            duration: d,
            steps_committed,
            error,
        } => {
            let summary = if error.is_cancelled() {
                "cancelled"
            } else {
                "failed"
            };
            vec![(
                LogKind::Error,
                format!(
                    "■ {summary} after {} ({steps_committed} of {} step(s) committed)",
                    duration(*d),
                    steps.len()
                ),
            )]
        }
        ExecEvent::Blocked {
            step_index,
            waiting_for,
            blockers,
            queued,
            ..
        } => {
            let what = format!("  ◔ step {} waits", step_index + 1);
            wait_lines(&what, waiting_for.as_deref(), blockers, queued)
        }
        ExecEvent::Unblocked { waited, .. } => vec![(
            LogKind::Info,
            format!("  stopped waiting after {}", duration(*waited)),
        )],
        ExecEvent::TableBlocked {
            table,
            action,
            waiting_for,
            blockers,
            queued,
            ..
        } => {
            let what = format!("◔ {action} {table} waits");
            wait_lines(&what, waiting_for.as_deref(), blockers, queued)
        }
        ExecEvent::TableRetrying {
            table,
            action,
            attempt,
            attempts,
            delay,
            cause,
        } => vec![(
            LogKind::Warning,
            format!(
                "↻ {action} {table} failed on a lock: {cause}\n  retrying in {} (attempt {attempt} of {attempts})",
                duration(*delay)
            ),
        )],
        ExecEvent::TableUnblocked { table, waited } => vec![(
            LogKind::Info,
            format!("  {table}: stopped waiting after {}", duration(*waited)),
        )],
        ExecEvent::StepRetrying {
            index,
            attempt,
            attempts,
            delay,
            error,
        } => {
            let text = error.to_string();
            let cause = text.lines().next().unwrap_or_default();
            vec![(
                LogKind::Warning,
                format!(
                    "↻ [{}/{}] failed on a lock and was rolled back: {cause}\n  retrying in {} (attempt {attempt} of {attempts})",
                    index + 1,
                    steps.len(),
                    duration(*delay)
                ),
            )]
        }
        ExecEvent::LockWaiting { lock, holders, .. } => {
            let now = chrono::Utc::now();
            let mut text = format!("◔ waiting for the migration lock ({lock}), held by:");
            for holder in holders {
                text.push_str(&format!("\n    {}", holder.describe(now)));
            }
            vec![(LogKind::Warning, text)]
        }
        ExecEvent::LockAcquired { waited, .. } => {
            let after = if waited.is_zero() {
                String::new()
            } else {
                format!(" after waiting {}", duration(*waited))
            };
            vec![(LogKind::Info, format!("took the migration lock{after}"))]
        }
        ExecEvent::LockReleased { .. } => {
            vec![(LogKind::Info, "released the migration lock".to_string())]
        }
        ExecEvent::HistoryTableCreated { table } => {
            vec![(LogKind::Info, format!("created the history table {table}"))]
        }
        // Every step is recorded; saying so each time would drown the log.
        ExecEvent::HistoryRecorded { .. } => Vec::new(),
        ExecEvent::HistoryUnrecorded { cause, .. } => vec![(
            LogKind::Warning,
            format!(
                "the failure could not be recorded in the history on this connection ({cause}); recording it on a new one"
            ),
        )],
        ExecEvent::CommitConfirmed { entry, .. } => vec![(
            LogKind::Warning,
            format!(
                "the connection was lost before the server answered the COMMIT of {}, but a new connection found that it took effect",
                entry.revision
            ),
        )],
    }
}

/// What a run waits for, as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// `AccessExclusiveLock on public.t, held by pid 42 (user bob, ...)`.
    pub full: String,
    /// `AccessExclusiveLock on t1, held by pid 42 idle 12.0 s`.
    pub medium: String,
    /// `pid 42 idle 12.0 s`: the first holder and its live time.
    pub short: String,
    /// `pid 42`: the first holder alone, for the narrowest header.
    pub brief: String,
    /// Sessions waiting behind the migration.
    pub queued: Vec<Queued>,
}

impl Waiting {
    /// A statement waiting on `blockers` for `waiting_for`.
    pub fn on_blockers(
        waiting_for: Option<&str>,
        blockers: &[Blocker],
        queued: &[Queued],
    ) -> Waiting {
        let what = waiting_for.unwrap_or("a lock");
        let medium = match blockers.first() {
            Some(blocker) => format!("{what}, held by {}", blocker_short(blocker)),
            None => what.to_string(),
        };
        let (full, short, brief) = match blockers.first() {
            Some(blocker) => (
                format!("{what}, held by {}", blocker.who()),
                blocker_short(blocker),
                format!("pid {}", blocker.pid),
            ),
            None => (what.to_string(), what.to_string(), "a lock".to_string()),
        };
        Waiting {
            full,
            medium,
            short,
            brief,
            queued: queued.to_vec(),
        }
    }

    /// Waiting for the migration lock (another retort run holds it).
    pub fn on_migration_lock(holder: Option<String>, pid: Option<i32>) -> Waiting {
        Waiting {
            full: match holder {
                Some(holder) => format!("the migration lock, held by {holder}"),
                None => "the migration lock".to_string(),
            },
            medium: match pid {
                Some(pid) => format!("the migration lock, held by pid {pid}"),
                None => "the migration lock".to_string(),
            },
            short: match pid {
                Some(pid) => format!("migration lock, pid {pid}"),
                None => "the migration lock".to_string(),
            },
            brief: "migration lock".to_string(),
            queued: Vec::new(),
        }
    }
}

/// `pid 42 idle 12.0 s`, `pid 42 active 3.1 s`: who, and how long it has
/// held its transaction open, the figure that grows while the run waits.
fn blocker_short(blocker: &Blocker) -> String {
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    match (blocker.idle_in_transaction, blocker.transaction_age) {
        (Some(idle), _) => format!("pid {} idle {}", blocker.pid, secs(idle)),
        (None, Some(age)) => format!("pid {} open {}", blocker.pid, secs(age)),
        (None, None) => format!("pid {}", blocker.pid),
    }
}

/// `pid 4300 4.1 s`: a queued session, compactly.
pub fn queued_short(session: &Queued) -> String {
    match session.waited {
        Some(waited) => format!("pid {} {:.1} s", session.pid, waited.as_secs_f64()),
        None => format!("pid {}", session.pid),
    }
}

/// A wait's log lines: who holds the lock (a warning) and, when sessions
/// queue behind the migration, who waits on it (a second warning, since
/// the migration is what stalls them).
fn wait_lines(
    what: &str,
    waiting_for: Option<&str>,
    blockers: &[Blocker],
    queued: &[Queued],
) -> Vec<(LogKind, String)> {
    let lock = waiting_for.map(|w| format!(" for {w}")).unwrap_or_default();
    let mut text = format!("{what}{lock}, held by:");
    for blocker in blockers {
        text.push_str(&format!("\n    {blocker}"));
    }
    let mut lines = vec![(LogKind::Warning, text)];
    if !queued.is_empty() {
        let mut text = format!("  ⧗ {}", queue_heading(queued));
        for session in queued {
            text.push_str(&format!("\n    {session}"));
        }
        lines.push((LogKind::Warning, text));
    }
    lines
}

/// A drift refusal in the console's terms: the override is a confirmation
/// in the dialog, not a flag.
pub fn drift_refusal(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Drift {
            overridable: true, ..
        } => format!("{refusal}\n  To run anyway on top of this drift, confirm below."),
        other => other.to_string(),
    }
}

/// Why a run did not start, in the console's terms.
pub fn run_error(error: &Error) -> String {
    let text = match error {
        Error::Refused(refusal) => match refusal.as_ref() {
            Refusal::Drift { .. } => drift_refusal(refusal),
            Refusal::PlanChanged { approved, now } => format!(
                "the database moved since the plan was shown: it was planned from [{}], the \
                 version table now holds [{}]; nothing was run. Open the plan again to see the \
                 plan from here",
                approved.heads_before.join(", "),
                now.heads_before.join(", ")
            ),
            Refusal::FilesChanged { files } => {
                let mut text = String::from(
                    "revision files of the plan changed on disk after the plan was shown; \
                     nothing was run:",
                );
                for file in files {
                    text += &format!("\n  {} ({})", file.path.display(), file.revision);
                }
                text + "\n  Reload and open the plan again to review what is there now."
            }
            Refusal::NotConfirmed { .. } => {
                "the plan needs a confirmation it did not get; nothing was run".to_string()
            }
            Refusal::UnknownRows { rows, .. } => format!(
                "the version table names revisions no file defines ({}); nothing was run",
                rows.join(", ")
            ),
        },
        other => other.to_string(),
    };
    crate::config::redact_url(&text)
}

pub fn unlock_failed(cause: &str) -> String {
    format!(
        "could not release the migration lock ({cause}); the server released it when the \
         run's session closed"
    )
}

#[cfg(test)]
mod tests {
    use super::{Duration, VersionOp, clock, duration, version_ops};

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(duration(Duration::from_millis(12_400)), "12.4 s");
        assert_eq!(duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(clock(Duration::from_secs(7)), "0:07");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }

    #[test]
    fn version_ops_are_compact() {
        let ops = [
            VersionOp::Insert {
                version: "a".into(),
            },
            VersionOp::Update {
                from: "a".into(),
                to: "b".into(),
            },
            VersionOp::Delete {
                version: "b".into(),
            },
        ];
        assert_eq!(version_ops(&ops), "+ a, a → b, − b");
    }
}
