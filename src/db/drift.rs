//! Drift: where the revision files and the database's record of what was
//! applied disagree, found by comparing the checksums the history recorded
//! with the files as they are now.
//!
//! [`assess`] is pure (files, version-table rows and history rows in, a
//! [`DriftReport`] out) so any front end can show it; [`drift_report`]
//! reads what it needs from the database. The report finds:
//!
//! - applied revisions whose file changed since it was applied
//!   ([`DriftKind::ChangedFile`]);
//! - revisions the history records as applied whose file is missing
//!   ([`DriftKind::MissingFile`]);
//! - version-table rows naming revisions no file defines
//!   ([`DriftKind::UnknownRow`]);
//! - `transactional: false` steps that stopped halfway and were not
//!   resolved yet ([`DriftKind::Partial`]), including steps whose process,
//!   machine or connection died mid-way, left `started` in the history
//!   with one statement in doubt.
//!
//! A `started` row whose session is still alive and holds a migration lock
//! is a step in progress, listed in [`DriftReport::in_progress`] and not
//! an issue. A changing command asks under the migration lock, so for it
//! every `started` row is a stopped step.
//!
//! Applied revisions with no recorded checksum (applied before retort kept
//! history, e.g. by Alembic) are "unverified", which is not drift.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use crate::core::graph::RevisionMap;
use crate::db::history::{
    HistoryDirection, HistoryEntry, HistoryError, HistoryStatus, HistoryTable, file_checksums,
};

/// How many unverified revisions the text report names.
const UNVERIFIED_SHOWN: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// The history table consulted.
    pub history_table: String,
    /// `false` before retort first changed this database.
    pub history_exists: bool,
    pub issues: Vec<DriftIssue>,
    /// Applied revisions whose files match the recorded checksums.
    pub verified: Vec<String>,
    /// Applied revisions with no recorded checksum (applied before retort
    /// kept history, by Alembic, or outside retort): not drift.
    pub unverified: Vec<String>,
    /// `transactional: false` steps another live session is running now.
    pub in_progress: Vec<StepInProgress>,
}

/// A step whose `started` row belongs to a session that is still alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepInProgress {
    pub revision: String,
    pub direction: HistoryDirection,
    pub statements_done: Option<i32>,
    pub statements_total: Option<i32>,
    pub history_id: Option<i64>,
    pub started_at: DateTime<Utc>,
}

/// One finding, with a sentence saying what is wrong and one saying what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftIssue {
    pub revision: String,
    #[serde(flatten)]
    pub kind: DriftKind,
    pub summary: String,
    pub advice: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DriftKind {
    /// The file's SQL differs from what was recorded when it was applied.
    ChangedFile {
        path: PathBuf,
        /// `upgrade` and/or `downgrade`.
        sections: Vec<String>,
        /// The history row the file was compared with.
        history_id: Option<i64>,
        recorded_at: DateTime<Utc>,
    },
    /// The history records the revision as applied; no file defines it.
    MissingFile {
        history_id: Option<i64>,
        recorded_at: DateTime<Utc>,
    },
    /// A version-table row no file defines.
    UnknownRow,
    /// A `transactional: false` step stopped halfway; not resolved yet.
    Partial {
        direction: HistoryDirection,
        statements_done: Option<i32>,
        statements_total: Option<i32>,
        /// Statement `statements_done + 1` may or may not have run: the
        /// process or its connection died while it ran.
        in_doubt: bool,
        error: Option<String>,
        history_id: Option<i64>,
        recorded_at: DateTime<Utc>,
    },
}

impl DriftIssue {
    pub fn is_partial(&self) -> bool {
        matches!(self.kind, DriftKind::Partial { .. })
    }

    /// Whether `--allow-drift` lets a run go ahead despite this issue.
    /// Partial steps need `retort resolve`; unknown rows stop planning
    /// anyway (`stamp --purge` replaces them).
    pub fn overridable(&self) -> bool {
        !self.is_partial()
    }

    /// Whether a changing run must stop for this issue.
    pub fn blocks_runs(&self) -> bool {
        !matches!(self.kind, DriftKind::UnknownRow)
    }
}

impl DriftReport {
    /// No issue at all (unverified revisions are fine).
    pub fn is_clean(&self) -> bool {
        self.issues.is_empty()
    }

    pub fn partials(&self) -> impl Iterator<Item = &DriftIssue> {
        self.issues.iter().filter(|i| i.is_partial())
    }

    /// Why a changing command must not run, or `None`. Partial steps
    /// always stop it; drift stops it unless `allow_drift`.
    pub fn refusal(&self, allow_drift: bool) -> Option<String> {
        let blocking: Vec<&DriftIssue> = self
            .issues
            .iter()
            .filter(|i| i.blocks_runs() && (!allow_drift || !i.overridable()))
            .collect();
        if blocking.is_empty() {
            return None;
        }
        let mut text = String::from("refusing to run: ");
        text += match blocking.iter().all(|i| i.is_partial()) {
            true => "a step stopped halfway and has not been resolved; nothing was run",
            false => "the revision files and the database disagree; nothing was run",
        };
        for issue in &blocking {
            text += &format!(
                "\n  {}: {}\n    {}",
                issue.revision, issue.summary, issue.advice
            );
        }
        if blocking.iter().any(|i| i.overridable()) {
            text += "\n  To run anyway on top of this drift, pass --allow-drift.";
        }
        Some(text)
    }

    /// The report for people, one finding per paragraph; empty when there
    /// is nothing to say.
    pub fn render_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for issue in &self.issues {
            let tag = match issue.kind {
                DriftKind::ChangedFile { .. } => "DRIFT   changed file",
                DriftKind::MissingFile { .. } => "DRIFT   missing file",
                DriftKind::UnknownRow => "DRIFT   unknown revision in the version table",
                DriftKind::Partial { .. } => "PARTIAL unresolved step",
            };
            lines.push(format!("{tag}: {}", issue.revision));
            lines.push(format!("        {}", issue.summary));
            lines.push(format!("        what to do: {}", issue.advice));
        }
        for step in &self.in_progress {
            lines.push(format!("RUNNING step in progress: {}", step.revision));
            lines.push(format!("        {}", step.describe()));
        }
        if !self.unverified.is_empty() {
            let shown = self.unverified.len().min(UNVERIFIED_SHOWN);
            let more = match self.unverified.len() - shown {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            lines.push(format!(
                "unverified: {} applied revision(s) have no recorded checksum (applied before retort \
                 kept history in {}, e.g. by Alembic): {}{more}",
                self.unverified.len(),
                self.history_table,
                self.unverified[..shown].join(", ")
            ));
        }
        lines
    }
}

/// Compares the files of `map` with the history's newest row per revision
/// (`latest`, as [`HistoryTable::latest_per_revision`] returns it) for the
/// revisions applied under the version-table rows `rows`.
pub fn assess(
    map: &RevisionMap,
    rows: &[String],
    latest: &[HistoryEntry],
    history_table: &str,
    history_exists: bool,
) -> DriftReport {
    let latest: HashMap<&str, &HistoryEntry> =
        latest.iter().map(|e| (e.revision.as_str(), e)).collect();
    let mut report = DriftReport {
        history_table: history_table.to_string(),
        history_exists,
        issues: Vec::new(),
        verified: Vec::new(),
        unverified: Vec::new(),
        in_progress: Vec::new(),
    };
    let mut partials: Vec<&HistoryEntry> = latest
        .values()
        .copied()
        .filter(|e| e.status == HistoryStatus::Partial)
        .collect();
    partials.sort_by_key(|e| e.id);
    report
        .issues
        .extend(partials.into_iter().map(partial_issue));

    let unknown: BTreeSet<&str> = rows
        .iter()
        .map(String::as_str)
        .filter(|r| map.get(r).is_none())
        .collect();
    report.issues.extend(
        unknown
            .iter()
            .map(|r| unknown_row_issue(r, latest.get(r).copied())),
    );

    let starts: Vec<usize> = rows.iter().filter_map(|r| map.index_of(r)).collect();
    let applied = map.ancestors(&starts, true);
    for (index, _) in applied.iter().enumerate().filter(|(_, on)| **on) {
        check_applied(map, index, latest.get(map.id(index)).copied(), &mut report);
    }

    let mut missing: Vec<&HistoryEntry> = latest
        .values()
        .copied()
        .filter(|e| e.vouches_applied() && map.get(&e.revision).is_none())
        .filter(|e| !unknown.contains(e.revision.as_str()))
        .collect();
    missing.sort_by_key(|e| e.id);
    report
        .issues
        .extend(missing.into_iter().map(missing_file_issue));
    report
}

/// An applied revision against its newest history row.
fn check_applied(
    map: &RevisionMap,
    index: usize,
    entry: Option<&HistoryEntry>,
    report: &mut DriftReport,
) {
    let revision = map.revision(index);
    let id = revision.id.clone();
    let Some(entry) = entry else {
        report.unverified.push(id);
        return;
    };
    if entry.status == HistoryStatus::Partial {
        return; // reported as partial
    }
    let Some(recorded_up) = entry
        .upgrade_checksum
        .as_deref()
        .filter(|_| entry.vouches_applied())
    else {
        // Removed by retort, then applied again by someone else.
        report.unverified.push(id);
        return;
    };
    let (up, down) = file_checksums(revision);
    let mut sections = Vec::new();
    if up != recorded_up {
        sections.push("upgrade".to_string());
    }
    if down.as_deref() != entry.downgrade_checksum.as_deref() {
        sections.push("downgrade".to_string());
    }
    if sections.is_empty() {
        report.verified.push(id);
        return;
    }
    let path = revision.path.clone();
    let summary = format!(
        "the {} SQL of {} changed after it was applied ({}{})",
        sections.join(" and "),
        path.display(),
        describe_record(entry),
        match (entry.downgrade_checksum.is_some(), down.is_some()) {
            (true, false) => "; its downgrade section was removed",
            (false, true) => "; a downgrade section was added",
            _ => "",
        }
    );
    let advice = format!(
        "restore the file from version control (e.g. `git diff -- {}`), or if the change is \
         intended and the database already matches it, record it with \
         `retort resolve --accept-drift {id}`",
        path.display()
    );
    report.issues.push(DriftIssue {
        revision: id,
        kind: DriftKind::ChangedFile {
            path,
            sections,
            history_id: entry.id,
            recorded_at: entry.started_at,
        },
        summary,
        advice,
    });
}

/// "recorded by upgrade #12 on 2026-05-01 10:30 UTC by alice@laptop"
fn describe_record(entry: &HistoryEntry) -> String {
    let id = entry.id.map(|id| format!(" #{id}")).unwrap_or_default();
    let who = match (&entry.os_user, &entry.host) {
        (Some(user), Some(host)) => format!(" by {user}@{host}"),
        (Some(user), None) => format!(" by {user}"),
        _ => entry
            .db_user
            .as_ref()
            .map(|u| format!(" by {u}"))
            .unwrap_or_default(),
    };
    format!(
        "recorded by {}{id} on {}{who}",
        entry.direction,
        entry.started_at.format("%Y-%m-%d %H:%M UTC")
    )
}

impl StepInProgress {
    fn from_entry(entry: &HistoryEntry) -> StepInProgress {
        StepInProgress {
            revision: entry.revision.clone(),
            direction: entry.direction,
            statements_done: entry.statements_done,
            statements_total: entry.statements_total,
            history_id: entry.id,
            started_at: entry.started_at,
        }
    }

    /// "the upgrade of b2 (transactional: false) is running: 1 of 3 ..."
    pub fn describe(&self) -> String {
        let counts = match (self.statements_done, self.statements_total) {
            (Some(done), Some(total)) => format!("{done} of {total} statement(s) done"),
            _ => "started".to_string(),
        };
        format!(
            "the {} of {} (transactional: false) is running in a session that holds the \
             migration lock: {counts}, since {}",
            self.direction,
            self.revision,
            self.started_at.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

/// How far a stopped step got, in words.
fn stopped_counts(entry: &HistoryEntry) -> String {
    let (Some(done), Some(total)) = (entry.statements_done, entry.statements_total) else {
        return "halfway".to_string();
    };
    match (entry.in_doubt, done < total) {
        (true, true) => format!(
            "after statement {done} of {total} (statement {} may or may not have run)",
            done + 1
        ),
        (true, false) => format!("after statement {done} of {total}, before its version change"),
        (false, _) => format!("after {done} of {total} statement(s)"),
    }
}

fn partial_issue(entry: &HistoryEntry) -> DriftIssue {
    let id = &entry.revision;
    let direction = entry.direction;
    let counts = stopped_counts(entry);
    let error = match (&entry.error, entry.in_doubt) {
        (Some(e), _) => format!(": {}", e.lines().next().unwrap_or_default()),
        (None, true) => ": its process, machine or connection died".to_string(),
        (None, false) => String::new(),
    };
    let check_first = match (
        entry.in_doubt,
        entry.statements_done,
        entry.statements_total,
    ) {
        (true, Some(done), Some(total)) if done < total => {
            format!("find out whether statement {} ran, then ", done + 1)
        }
        _ => String::new(),
    };
    DriftIssue {
        revision: id.clone(),
        summary: format!(
            "the {direction} of {id} (transactional: false) stopped {counts} ({}){error}; the \
             statements that ran stay applied and the version table was not changed",
            describe_record(entry)
        ),
        advice: format!(
            "{check_first}finish or undo the rest of the {direction} by hand, then record what \
             you did: `retort resolve {id} --applied` (the {direction} is complete: sets the \
             version table) or `retort resolve {id} --rolled-back` (its effects are undone: the \
             version table stays)"
        ),
        kind: DriftKind::Partial {
            direction,
            statements_done: entry.statements_done,
            statements_total: entry.statements_total,
            in_doubt: entry.in_doubt,
            error: entry.error.clone(),
            history_id: entry.id,
            recorded_at: entry.started_at,
        },
    }
}

fn unknown_row_issue(revision: &str, entry: Option<&HistoryEntry>) -> DriftIssue {
    let known_to_history = entry
        .map(|e| format!("; {}", describe_record(e)))
        .unwrap_or_default();
    DriftIssue {
        revision: revision.to_string(),
        kind: DriftKind::UnknownRow,
        summary: format!(
            "the version table names {revision}, which no revision file defines{known_to_history} \
             (migrated from another checkout or branch, or its file was deleted)"
        ),
        advice: format!(
            "check out the revision files that define {revision} (e.g. `git log --all -S \
             'revision: {revision}'`), or if they are gone for good, set the version table to \
             the revision the schema really matches with `retort stamp --purge REV`"
        ),
    }
}

fn missing_file_issue(entry: &HistoryEntry) -> DriftIssue {
    let id = &entry.revision;
    DriftIssue {
        revision: id.clone(),
        summary: format!(
            "the history records {id} as applied ({}), but no revision file defines it",
            describe_record(entry)
        ),
        advice: format!(
            "restore its file from version control (e.g. `git log --all -S 'revision: {id}'`), \
             or if it was removed on purpose and is no longer applied, acknowledge it with \
             `retort resolve --accept-drift {id}`"
        ),
        kind: DriftKind::MissingFile {
            history_id: entry.id,
            recorded_at: entry.started_at,
        },
    }
}

/// Reads the history and assesses the files of `map` against the
/// version-table rows `rows`. Read-only; works before the history table
/// exists (everything applied is then unverified). Steps another live
/// session is running are set apart in [`DriftReport::in_progress`].
pub async fn drift_report(
    client: &Client,
    history: &HistoryTable,
    map: &RevisionMap,
    rows: &[String],
) -> Result<DriftReport, HistoryError> {
    let exists = history.exists(client).await?;
    let latest = match exists {
        true => history.latest_per_revision(client).await?,
        false => Vec::new(),
    };
    let started: Vec<i64> = latest
        .iter()
        .filter(|e| e.in_doubt)
        .filter_map(|e| e.id)
        .collect();
    let live = history
        .live_started(client, &started, crate::db::lock::LOCK_CLASS_ID)
        .await?;
    let mut report = assess(map, rows, &latest, &history.display_name(), exists);
    set_apart_in_progress(&mut report, &latest, &live);
    Ok(report)
}

/// Moves the steps of the live `started` rows `live` from the issues to
/// [`DriftReport::in_progress`].
fn set_apart_in_progress(report: &mut DriftReport, latest: &[HistoryEntry], live: &[i64]) {
    let running = |id: &Option<i64>| id.is_some_and(|id| live.contains(&id));
    report.issues.retain(|issue| match &issue.kind {
        DriftKind::Partial { history_id, .. } => !running(history_id),
        _ => true,
    });
    report.in_progress = latest
        .iter()
        .filter(|e| running(&e.id))
        .map(StepInProgress::from_entry)
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::revision::{Revision, SqlSection};
    use crate::db::history::{Actor, Resolution, checksum};

    fn rev(id: &str, downs: &[&str], up: &str) -> Revision {
        let mut r = Revision::synthetic(id, downs);
        r.upgrade = SqlSection {
            sql: up.to_string(),
            first_line: 1,
        };
        r.downgrade = Some(SqlSection {
            sql: format!("-- undo {id}"),
            first_line: 3,
        });
        r
    }

    fn map() -> RevisionMap {
        RevisionMap::build(vec![
            rev("a", &[], "CREATE TABLE a ();"),
            rev("b", &["a"], "CREATE TABLE b ();"),
            rev("c", &["b"], "CREATE TABLE c ();"),
        ])
        .unwrap()
    }

    fn applied(id: i64, r: &Revision) -> HistoryEntry {
        let mut e = HistoryEntry::new(
            "run",
            &Actor::detect(),
            &r.id,
            HistoryDirection::Upgrade,
            HistoryStatus::Success,
        );
        e.id = Some(id);
        let (up, down) = file_checksums(r);
        e.upgrade_checksum = Some(up);
        e.downgrade_checksum = down;
        e
    }

    #[test]
    fn matching_files_are_verified_and_unrecorded_ones_unverified() {
        let map = map();
        let history = vec![applied(2, map.get("b").unwrap())];
        let report = assess(&map, &["b".into()], &history, "retort_history", true);
        assert!(report.is_clean(), "{:?}", report.issues);
        assert_eq!(report.verified, ["b"]);
        assert_eq!(report.unverified, ["a"]);
        assert_eq!(report.refusal(false), None);
    }

    #[test]
    fn an_edited_applied_file_is_drift_with_advice() {
        let map = map();
        let mut recorded = applied(1, map.get("a").unwrap());
        recorded.upgrade_checksum = Some(checksum("CREATE TABLE a (old int);"));
        let report = assess(&map, &["c".into()], &[recorded], "retort_history", true);
        assert_eq!(report.issues.len(), 1);
        let issue = &report.issues[0];
        assert_eq!(issue.revision, "a");
        assert!(
            matches!(&issue.kind, DriftKind::ChangedFile { sections, .. } if sections == &["upgrade"])
        );
        assert!(issue.advice.contains("retort resolve --accept-drift a"));
        let refusal = report.refusal(false).expect("drift refuses");
        assert!(refusal.contains("--allow-drift"), "{refusal}");
        assert_eq!(report.refusal(true), None);
    }

    #[test]
    fn long_unverified_lists_are_shortened_in_text() {
        let ids: Vec<Revision> = (0..25)
            .map(|n| {
                let id = format!("r{n:02}");
                let down = (n > 0).then(|| format!("r{:02}", n - 1));
                let downs: Vec<&str> = down.iter().map(String::as_str).collect();
                rev(&id, &downs, "SELECT 1;")
            })
            .collect();
        let map = RevisionMap::build(ids).unwrap();
        let report = assess(&map, &["r24".into()], &[], "h", false);
        assert_eq!(report.unverified.len(), 25);
        let lines = report.render_lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("unverified: 25 applied revision(s)"),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(" and 15 more"), "{}", lines[0]);
    }

    #[test]
    fn an_edited_file_that_is_not_applied_is_not_drift() {
        let map = map();
        let mut recorded = applied(1, map.get("c").unwrap());
        recorded.upgrade_checksum = Some(checksum("something else"));
        let report = assess(&map, &["b".into()], &[recorded], "h", true);
        assert!(report.is_clean());
    }

    #[test]
    fn downgrade_section_changes_count_too() {
        let map = map();
        let mut recorded = applied(1, map.get("a").unwrap());
        recorded.downgrade_checksum = None;
        let report = assess(&map, &["a".into()], &[recorded], "h", true);
        let DriftKind::ChangedFile { sections, .. } = &report.issues[0].kind else {
            panic!("{:?}", report.issues);
        };
        assert_eq!(sections, &["downgrade"]);
        assert!(
            report.issues[0]
                .summary
                .contains("a downgrade section was added")
        );
    }

    #[test]
    fn missing_files_and_unknown_rows() {
        let map = map();
        let gone = rev("zz", &["c"], "CREATE TABLE zz ();");
        let history = vec![applied(7, &gone), applied(8, &rev("yy", &[], ""))];
        let report = assess(&map, &["yy".into(), "b".into()], &history, "h", true);
        let kinds: Vec<(&str, bool)> = report
            .issues
            .iter()
            .map(|i| (i.revision.as_str(), matches!(i.kind, DriftKind::UnknownRow)))
            .collect();
        assert_eq!(kinds, [("yy", true), ("zz", false)]);
        assert!(matches!(
            report.issues[1].kind,
            DriftKind::MissingFile { .. }
        ));
        // Unknown rows alone do not stop a run: planning refuses them.
        let only_unknown = assess(&map, &["yy".into()], &[], "h", false);
        assert!(!only_unknown.is_clean());
        assert_eq!(only_unknown.refusal(false), None);
    }

    #[test]
    fn partial_steps_block_even_with_allow_drift_until_resolved() {
        let map = map();
        let mut partial = applied(3, map.get("c").unwrap());
        partial.status = HistoryStatus::Partial;
        partial.statements_done = Some(1);
        partial.statements_total = Some(3);
        partial.error = Some("ERROR 57P01: terminating connection".into());
        let report = assess(&map, &["b".into()], &[partial.clone()], "h", true);
        assert_eq!(report.partials().count(), 1);
        let refusal = report.refusal(true).expect("partial refuses");
        assert!(refusal.contains("retort resolve c --applied"), "{refusal}");
        assert!(refusal.contains("after 1 of 3 statement(s)"), "{refusal}");
        assert!(!refusal.contains("--allow-drift"), "{refusal}");

        let mut resolved = partial;
        resolved.id = Some(4);
        resolved.direction = HistoryDirection::Resolve;
        resolved.status = HistoryStatus::Success;
        resolved.resolution = Some(Resolution::RolledBack);
        resolved.upgrade_checksum = None;
        let after = assess(&map, &["b".into()], &[resolved], "h", true);
        assert!(after.is_clean(), "{:?}", after.issues);
    }

    #[test]
    fn a_started_row_is_a_stopped_step_with_one_statement_in_doubt_unless_it_is_live() {
        let map = map();
        let mut started = applied(6, map.get("c").unwrap());
        started.status = HistoryStatus::Partial;
        started.in_doubt = true;
        started.statements_done = Some(1);
        started.statements_total = Some(3);
        let report = assess(&map, &["b".into()], &[started.clone()], "h", true);
        let refusal = report.refusal(true).expect("a stopped step refuses");
        assert!(
            refusal
                .contains("stopped after statement 1 of 3 (statement 2 may or may not have run)"),
            "{refusal}"
        );
        assert!(
            refusal.contains("its process, machine or connection died"),
            "{refusal}"
        );
        assert!(
            refusal.contains("find out whether statement 2 ran"),
            "{refusal}"
        );
        assert!(matches!(
            report.issues[0].kind,
            DriftKind::Partial { in_doubt: true, .. }
        ));

        let mut live = report.clone();
        set_apart_in_progress(&mut live, &[started], &[6]);
        assert!(live.is_clean(), "{:?}", live.issues);
        assert_eq!(live.refusal(false), None);
        assert_eq!(live.in_progress.len(), 1);
        let lines = live.render_lines().join("\n");
        assert!(lines.contains("RUNNING step in progress: c"), "{lines}");
        assert!(lines.contains("1 of 3 statement(s) done"), "{lines}");
    }

    #[test]
    fn a_revision_retort_removed_but_found_applied_is_unverified() {
        let map = map();
        let mut down = applied(5, map.get("b").unwrap());
        down.direction = HistoryDirection::Downgrade;
        down.upgrade_checksum = Some(checksum("whatever"));
        let report = assess(&map, &["b".into()], &[down], "h", true);
        assert!(report.is_clean());
        assert_eq!(report.unverified, ["a", "b"]);
    }
}
