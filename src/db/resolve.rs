//! `retort resolve`: the user's explicit decision about a step that stopped
//! halfway (`--applied` / `--rolled-back`) or about drift
//! (`--accept-drift`), recorded in the history and, for `--applied`,
//! carried out on the version table, in one transaction.
//!
//! The caller holds the migration lock (see `db::lock`).

use tokio_postgres::Client;

use crate::core::graph::RevisionMap;
use crate::core::plan::VersionOp;
use crate::db::connect::describe_error;
use crate::db::drift::{DriftIssue, DriftKind, drift_report};
use crate::db::history::{
    HistoryDirection, HistoryEntry, HistoryError, HistoryOptions, HistoryStatus, Resolution,
    file_checksums,
};
use crate::db::version_table::{VersionTable, VersionTableError, VersionWriter};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The revision has nothing this choice could resolve.
    #[error("{0}")]
    Nothing(String),
    /// `--applied`, but the version table moved since the partial step.
    #[error(
        "cannot resolve {revision} as applied: the version table changed since its step stopped \
         (then [{}], now [{}]); nothing was changed. Check the schema by hand, record the \
         decision with `retort resolve {revision} --rolled-back`, then set the version table \
         with `retort stamp`",
        expected.join(", "), found.join(", ")
    )]
    RowsMoved {
        revision: String,
        expected: Vec<String>,
        found: Vec<String>,
    },
    #[error("{0}")]
    History(HistoryError),
    #[error("{0}")]
    VersionTable(VersionTableError),
    #[error("resolve: {context}: {cause}")]
    Database { context: String, cause: String },
}

impl From<HistoryError> for ResolveError {
    fn from(e: HistoryError) -> Self {
        ResolveError::History(e)
    }
}

impl From<VersionTableError> for ResolveError {
    fn from(e: VersionTableError) -> Self {
        ResolveError::VersionTable(e)
    }
}

fn database(context: &str, error: &tokio_postgres::Error) -> ResolveError {
    ResolveError::Database {
        context: context.to_string(),
        cause: describe_error(error),
    }
}

/// What the user asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveChoice {
    /// The partial step is complete (its remaining statements were run by hand).
    Applied,
    /// The partial step's effects were undone by hand.
    RolledBack,
    /// The file as it is now is what the database has (or a missing file is
    /// acknowledged as gone).
    AcceptDrift,
}

impl ResolveChoice {
    fn resolution(self) -> Resolution {
        match self {
            ResolveChoice::Applied => Resolution::Applied,
            ResolveChoice::RolledBack => Resolution::RolledBack,
            ResolveChoice::AcceptDrift => Resolution::AcceptDrift,
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            ResolveChoice::Applied => "--applied",
            ResolveChoice::RolledBack => "--rolled-back",
            ResolveChoice::AcceptDrift => "--accept-drift",
        }
    }
}

/// Records `choice` for `revision` (an id or an unambiguous prefix among
/// the revisions with open issues). Returns the history row written.
pub async fn resolve(
    client: &mut Client,
    version: &VersionTable,
    history: &HistoryOptions,
    map: &RevisionMap,
    revision: &str,
    choice: ResolveChoice,
    note: Option<&str>,
) -> Result<HistoryEntry, ResolveError> {
    let rows = version.read_heads(client).await?;
    let report = drift_report(client, &history.table, map, &rows).await?;
    let issue = find_issue(&report.issues, revision)?;
    check_choice(issue, choice)?;
    let id = issue.revision.clone();
    let mut entry = HistoryEntry::new(
        &history.run_id,
        &history.actor,
        &id,
        HistoryDirection::Resolve,
        HistoryStatus::Success,
    );
    entry.resolution = Some(choice.resolution());
    entry.heads_before = rows.clone();
    entry.heads_after = rows.clone();
    entry.planned_heads_after = rows.clone();
    entry.error = note.map(str::to_string);
    let mut target_rows = None;
    // Checksums mean "applied, with this content": only when the revision
    // is applied after the decision.
    let applied_afterwards = match (&issue.kind, choice) {
        (DriftKind::Partial { direction, .. }, ResolveChoice::Applied) => {
            let partial = partial_entry(client, history, issue).await?;
            if partial.heads_before != rows {
                return Err(ResolveError::RowsMoved {
                    revision: id,
                    expected: partial.heads_before,
                    found: rows,
                });
            }
            entry.heads_after = partial.planned_heads_after.clone();
            entry.planned_heads_after = partial.planned_heads_after.clone();
            entry.statements_done = partial.statements_done;
            entry.statements_total = partial.statements_total;
            target_rows = Some(partial.planned_heads_after);
            *direction == HistoryDirection::Upgrade
        }
        (DriftKind::Partial { direction, .. }, _) => *direction == HistoryDirection::Downgrade,
        (DriftKind::ChangedFile { .. }, _) => true,
        _ => false,
    };
    if let Some(revision) = map.get(&id).filter(|_| applied_afterwards) {
        let (up, down) = file_checksums(revision);
        entry.upgrade_checksum = Some(up);
        entry.downgrade_checksum = down;
    }
    let transaction = client
        .transaction()
        .await
        .map_err(|e| database("BEGIN", &e))?;
    if let Some(target) = &target_rows {
        set_rows(transaction.client(), version, &rows, target).await?;
    }
    let written = history.table.insert(transaction.client(), &entry).await?;
    transaction
        .commit()
        .await
        .map_err(|e| database("COMMIT", &e))?;
    Ok(written)
}

fn find_issue<'r>(
    issues: &'r [DriftIssue],
    revision: &str,
) -> Result<&'r DriftIssue, ResolveError> {
    if let Some(exact) = issues.iter().find(|i| i.revision == revision) {
        return Ok(exact);
    }
    let matching: Vec<&DriftIssue> = issues
        .iter()
        .filter(|i| !revision.is_empty() && i.revision.starts_with(revision))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(ResolveError::Nothing(format!(
            "{revision} has no unresolved partial step and no drift: nothing to resolve \
             (`retort check` lists what needs resolving)"
        ))),
        several => Err(ResolveError::Nothing(format!(
            "'{revision}' matches several revisions that need resolving ({}); give more of the id",
            several
                .iter()
                .map(|i| i.revision.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn check_choice(issue: &DriftIssue, choice: ResolveChoice) -> Result<(), ResolveError> {
    let id = &issue.revision;
    let refuse = |why: String| Err(ResolveError::Nothing(why));
    match (&issue.kind, choice) {
        (DriftKind::Partial { .. }, ResolveChoice::AcceptDrift) => refuse(format!(
            "{id} has a step that stopped halfway: say how it ended with \
             `retort resolve {id} --applied` or `--rolled-back`"
        )),
        (DriftKind::Partial { .. }, _) => Ok(()),
        (DriftKind::UnknownRow, _) => refuse(format!(
            "{id} is in the version table but no file defines it; there is no history to \
             resolve. {}",
            issue.advice
        )),
        (_, ResolveChoice::AcceptDrift) => Ok(()),
        (_, other) => refuse(format!(
            "{id} has no step that stopped halfway, so {} does not apply; {}",
            other.flag(),
            issue.advice
        )),
    }
}

/// The partial row the issue came from.
async fn partial_entry(
    client: &Client,
    history: &HistoryOptions,
    issue: &DriftIssue,
) -> Result<HistoryEntry, ResolveError> {
    let latest = history.table.latest_per_revision(client).await?;
    latest
        .into_iter()
        // `started` rows (in doubt) read as partial too.
        .find(|e| e.revision == issue.revision && e.status == HistoryStatus::Partial)
        .ok_or_else(|| {
            ResolveError::Nothing(format!(
                "the partial step of {} is no longer the newest record; run `retort check` again",
                issue.revision
            ))
        })
}

/// Makes the version table hold exactly `target` (creating it if the
/// stopped step was the very first one).
async fn set_rows(
    client: &Client,
    version: &VersionTable,
    rows: &[String],
    target: &[String],
) -> Result<(), ResolveError> {
    if !version.exists(client).await? {
        version.create(client).await?;
    }
    let width = version.version_width(client).await?;
    for id in target {
        version.check_width(id, width)?;
    }
    let mut writer = VersionWriter::new(version);
    for old in rows.iter().filter(|r| !target.contains(r)) {
        let op = VersionOp::Delete {
            version: old.clone(),
        };
        writer.apply(client, &op).await?;
    }
    for new in target.iter().filter(|t| !rows.contains(t)) {
        let op = VersionOp::Insert {
            version: new.clone(),
        };
        writer.apply(client, &op).await?;
    }
    Ok(())
}
