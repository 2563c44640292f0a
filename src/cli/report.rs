//! The command line's words for the engine's outcomes: refusals in terms
//! of the flags that override them, failed runs with what became of each
//! step and where the database stands; the lock, wait and history lines
//! every command prints on stderr.

use std::time::Duration;

use chrono::Utc;

use crate::core::lint::TraceVerdict;
use crate::core::lint::verdict::traceable;
use crate::core::lock_trace::{LockMode, Observation, StepTrace, statement_line};
use crate::core::policy::{Action, Reason, Requirement};
use crate::core::schema::{Candidate, Rename, render_changes};
use crate::db::drift::DriftReport;
use crate::db::events::{EventSink, ExecEvent, Queued, queue_heading};
use crate::db::history::{HistoryEntry, HistoryStatus};
use crate::db::lock_trace::TraceError;
use crate::engine::rehearse::{
    Phase, Progress as RehearseProgress, Rehearsal, StepReport, Verdict,
};
use crate::engine::{ChangedFile, Error, ExecFailure, FileChange, Refusal};

/// The text after `FAILED: `, secrets removed.
pub(crate) fn error_text(error: &Error) -> String {
    let text = match error {
        Error::Refused(refusal) => refusal_text(refusal),
        Error::Exec(failure) => exec_failure_text(failure),
        other => other.to_string(),
    };
    crate::config::redact_url(&text)
}

pub(crate) fn refusal_text(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Drift { overridable, .. } => match overridable {
            true => format!("{refusal}\n  To run anyway on top of this drift, pass --allow-drift."),
            false => refusal.to_string(),
        },
        Refusal::UnknownRows { rows, dir } => format!(
            "Can't locate revision identified by '{}': the version table names {} that no file \
             in {} defines (a different checkout or branch of the migrations, or deleted files?)",
            rows.join("', '"),
            if rows.len() == 1 {
                "a revision"
            } else {
                "revisions"
            },
            crate::engine::display_path(dir)
        ),
        Refusal::PlanChanged { approved, now } => format!(
            "the database moved since the plan was made: it was planned from [{}], the version \
             table now holds [{}]; nothing was run",
            approved.heads_before.join(", "),
            now.heads_before.join(", ")
        ),
        Refusal::FilesChanged { files } => files_changed_text(files),
        Refusal::NotConfirmed {
            action,
            needed,
            typed,
        } => not_confirmed_text(*action, needed, typed.as_deref()),
    }
}

/// "a downgrade", "an upgrade".
fn with_article(action: Action) -> String {
    let word = action.describe();
    match word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => format!("an {word}"),
        false => format!("a {word}"),
    }
}

fn files_changed_text(files: &[ChangedFile]) -> String {
    let mut text = String::from(
        "refusing to run: revision files of the plan changed on disk after retort read them; \
         nothing was run",
    );
    for file in files {
        let how = match &file.change {
            FileChange::Edited => "changed".to_string(),
            FileChange::Unreadable(why) => format!("cannot be read: {why}"),
            FileChange::Invalid(why) => format!("no longer parses: {why}"),
        };
        text += &format!(
            "\n  {} ({}): {how}",
            crate::engine::display_path(&file.path),
            file.revision
        );
    }
    text + "\n  Run the command again to plan from the files as they are now."
}

/// What the policy asked for, as `--confirm` / `--allow-drift`.
pub(crate) fn not_confirmed_text(
    action: Action,
    requirement: &Requirement,
    typed: Option<&str>,
) -> String {
    let drift = requirement.overrides_drift();
    let destructive = requirement.reasons().contains(&Reason::Destructive);
    match requirement {
        Requirement::TypeName { environment, .. } => {
            let what = match (destructive, drift) {
                (true, true) => format!("{} on top of drift", with_article(action)),
                (true, false) => with_article(action),
                _ => format!("running {} on top of drift", with_article(action)),
            };
            let flags = match drift {
                true => format!("--confirm {environment} --allow-drift"),
                false => format!("--confirm {environment}"),
            };
            match typed {
                Some(typed) if typed != environment => format!(
                    "--confirm '{typed}' does not match the protected environment \
                     '{environment}'; nothing was run. To go ahead with this {}, type its name \
                     exactly: {flags}",
                    action.describe()
                ),
                _ => format!(
                    "environment '{environment}' is protected: {what} needs confirmation; \
                     nothing was run. To go ahead, run the same command again with {flags}"
                ),
            }
        }
        Requirement::Deliberate { .. } if drift => {
            "refusing to run on top of drift; nothing was run. To run anyway, pass --allow-drift"
                .to_string()
        }
        Requirement::Refused => {
            "refusing to run: a step stopped halfway and has not been resolved; nothing was run"
                .to_string()
        }
        _ => "not confirmed; nothing was run".to_string(),
    }
}

fn exec_failure_text(failure: &ExecFailure) -> String {
    let mut text = failure.error.to_string();
    let recovery = &failure.recovery;
    for entry in &recovery.committed {
        text += &format!(
            "\n  a new connection found the success row of the {} of {} in {}: the COMMIT took \
             effect; the run stopped after it",
            entry.direction, entry.revision, recovery.history_table
        );
    }
    for entry in &recovery.not_committed {
        text += &format!(
            "\n  once the old session had ended (the {} of {} was its last step), a new \
             connection found no success row of the step in {}: the COMMIT did not take effect",
            entry.direction, entry.revision, recovery.history_table
        );
    }
    if let Some(unrecorded) = &recovery.unrecorded {
        text += &format!("\n  {}", unrecorded.cause);
        for entry in unrecorded
            .entries
            .iter()
            .filter(|e| e.status == HistoryStatus::Partial)
        {
            text += &format!("\n  {}", unrecorded_partial_advice(entry));
        }
    }
    text
}

/// The line said before the error: where the version table stands now.
pub(crate) fn standing_line(failure: &ExecFailure) -> Option<String> {
    let heads = failure.heads_now.as_ref()?;
    let partial = failure
        .recovery
        .recorded
        .iter()
        .chain(failure.recovery.unrecorded.iter().flat_map(|u| &u.entries))
        .any(|e| e.status == HistoryStatus::Partial)
        || matches!(
            &failure.error,
            crate::db::ExecError::Statement(s)
                if matches!(s.aftermath, crate::db::events::Aftermath::PartiallyApplied { .. })
        );
    let what = match () {
        _ if !failure.recovery.committed.is_empty() => {
            "The step committed, and the run stopped after it; the database is at"
        }
        _ if partial => "The version table was not changed by the stopped step; it holds",
        _ if crate::engine::error::refused_before_running(&failure.error) => {
            "Nothing was run; the database is at"
        }
        _ if failure.atomic => {
            "The failed step was rolled back with the whole plan; the database is at"
        }
        _ => "The failed step was rolled back; the database is at",
    };
    Some(format!("{what}: {}", show_heads(heads)))
}

/// `diff` builds the revision files' schema on a scratch database; its
/// name is said so a left-over one can be found.
pub(crate) fn scratch_created(name: &str, server: &str) {
    eprintln!(
        "INFO  applying the revision files to scratch database {name} on {server} (dropped afterwards)"
    );
}

/// `[schema]` is needed and missing.
pub(crate) fn no_desired_schema() -> String {
    "no desired schema: add `[schema]` with `dir = \"schema\"` (SQL files) or `command = \"...\"` \
     to retort.toml"
        .to_string()
}

pub(crate) fn desired_scratch_created(name: &str, server: &str) {
    eprintln!(
        "INFO  building the desired schema on scratch database {name} on {server} (dropped afterwards)"
    );
}

/// What generated SQL cannot do or may lose, before the SQL itself.
pub(crate) fn script_notes(script: &crate::core::schema::Script) {
    for line in script.destructive() {
        eprintln!("WARN  destructive: {line}");
    }
    for line in &script.unexpressed {
        eprintln!("WARN  not expressed in SQL: {line}");
    }
    if !script.transactional {
        eprintln!("INFO  the SQL cannot run in a transaction (CREATE INDEX CONCURRENTLY)");
    }
}

/// One change autogenerate found, in Alembic's wording.
pub(crate) fn detected(line: &str) {
    eprintln!("INFO  {line}");
}

pub(crate) fn no_changes_detected() {
    eprintln!("INFO  No changes in schema detected.");
}

pub(crate) fn autogenerate_destructive(direction: &str, line: &str) {
    eprintln!("WARN  {direction} is destructive: {line}");
}

pub(crate) fn autogenerate_unexpressed(direction: &str, line: &str) {
    eprintln!("WARN  {direction} cannot express: {line}");
}

/// What the proof on the scratch database showed.
pub(crate) fn proof(proof: &crate::engine::autogen::Proof) {
    eprintln!(
        "INFO  proof: {} sample rows inserted before the upgrade",
        proof.rows
    );
    for table in &proof.unfilled {
        eprintln!("WARN  proof: could not fill {table}");
    }
    let steps = [
        (
            "upgrade",
            &proof.upgrade_failed,
            &proof.upgrade_left,
            "the desired schema",
        ),
        (
            "downgrade",
            &proof.downgrade_failed,
            &proof.downgrade_left,
            "the schema it started from",
        ),
    ];
    for (direction, failed, left, goal) in steps {
        if let Some(error) = failed {
            eprintln!("WARN  proof: the {direction} failed: {error}");
            return;
        }
        if direction == "upgrade" {
            proof_rows(proof.tables_kept, &proof.upgrade_lost);
        }
        if left.is_empty() {
            eprintln!("INFO  proof: the {direction} gives exactly {goal}");
        } else {
            eprintln!("WARN  proof: after the {direction}, {goal} differs:");
            for line in crate::core::schema::change_lines(left) {
                eprintln!("WARN      {line}");
            }
        }
    }
}

fn proof_rows(tables_kept: usize, lost: &[String]) {
    if lost.is_empty() {
        eprintln!(
            "INFO  proof: the sample rows of the {tables_kept} table(s) kept survive the \
             upgrade with their values"
        );
        return;
    }
    eprintln!("WARN  proof: the upgrade loses sample data:");
    for line in lost {
        eprintln!("WARN      {line}");
    }
}

/// `check`: the desired schema differs from what the revision files make.
/// On stderr when stdout carries JSON.
pub(crate) fn new_upgrade_operations(lines: &[String]) {
    let mut text = String::from(
        "New upgrade operations detected (the desired schema differs from what the revision files make):\n",
    );
    for line in lines {
        text.push_str(&format!("  {line}\n"));
    }
    print!("{text}");
}

/// A drop and an add that look like a rename.
/// A plausible rename nobody decided, and what will happen to it.
pub(crate) fn plausible_rename(candidate: &Candidate, allowed: bool) {
    let then = match allowed {
        true => "written as drop plus add (--allow-drop): the values are lost",
        false => "a rename written as drop plus add loses the values",
    };
    eprintln!(
        "WARN  possible rename {}: {then}",
        candidate_words(candidate)
    );
}

fn candidate_words(candidate: &Candidate) -> String {
    let guess = match candidate.ambiguous {
        true => ", one of several pairings",
        false => "",
    };
    format!(
        "{} (--rename {}{guess})",
        candidate.rename.describe(),
        candidate.rename.spec()
    )
}

/// A rename written: Alembic has no words for it, so ours.
pub(crate) fn renamed(rename: &Rename) {
    eprintln!("INFO  Renaming {}", rename.describe());
}

pub(crate) fn renames_refused() {
    eprintln!(
        "FAILED: nothing written: say for each possible rename whether it is one \
         (--rename OLD=NEW, or --accept-renames for all that pair one way) or a drop \
         plus add (--allow-drop)"
    );
}

/// The usage error of `diff --sql` while a plausible rename has no say.
pub(crate) fn undecided_renames(undecided: &[Candidate]) -> String {
    let mut text = String::from(
        "the schemas differ by what looks like a rename, and a rename written as \
         drop plus add loses the values:",
    );
    for candidate in undecided {
        text.push_str(&format!("\n  {}", candidate_words(candidate)));
    }
    text.push_str(
        "\nsay which: --rename OLD=NEW for each rename, --accept-renames for all that \
         pair one way, or --allow-drop to drop and add",
    );
    text
}

pub(crate) fn forced() {
    eprintln!("WARN  --force: writing the revision anyway");
}

pub(crate) fn autogenerate_not_written() {
    eprintln!(
        "FAILED: nothing written: the generated revision is not proven or cannot express every \
         difference (see above); edit the schema, or pass --force to write it for editing"
    );
}

/// Objects `diff` read but has no model for: said, so that "No
/// differences." never hides them.
pub(crate) fn not_compared(source: &str, objects: &[String]) {
    if !objects.is_empty() {
        eprintln!(
            "WARN  not compared (kinds retort does not model yet), in {source}: {}",
            objects.join(", ")
        );
    }
}

pub(crate) fn show_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "(none: base)".to_string()
    } else {
        heads.join(", ")
    }
}

/// What to do about a step that stopped halfway when not even a new
/// connection could record how it ended. Its `started` row (with an id),
/// committed before the first statement, still stops the next run; without
/// one nothing would.
fn unrecorded_partial_advice(entry: &HistoryEntry) -> String {
    let revision = &entry.revision;
    if let Some(id) = entry.id {
        return format!(
            "the {} of {revision} (transactional: false) stopped halfway; its row #{id} in the \
             history still says `started`, so changing commands refuse to run until `retort \
             resolve {revision} --applied|--rolled-back`",
            entry.direction
        );
    }
    let target = match entry.planned_heads_after.as_slice() {
        [] => "base".to_string(),
        heads => heads.join(" "),
    };
    format!(
        "the {} of {revision} (transactional: false) stopped halfway and this is NOT recorded: \
         the next run would start {revision} again from its first statement. Before running \
         retort again, either run its remaining statements by hand and then `retort stamp \
         {target}`, or undo the statements that ran",
        entry.direction
    )
}

/// Prints the drift report's findings, each on stderr as a warning (for
/// dry runs and read commands whose stdout is parsed).
pub(crate) fn warn_drift(report: &DriftReport) {
    for issue in &report.issues {
        eprintln!("WARN  {}: {}", issue.revision, issue.summary);
        eprintln!("      what to do: {}", issue.advice);
    }
}

/// Prints the lock and history events of a run on stderr. Wait events come
/// when a wait starts, when its holders change and as a heartbeat, so each
/// is printed as it comes.
#[derive(Default)]
pub(crate) struct SafetyPrinter;

/// A sink for the waits of reads of retort's own tables.
pub(crate) fn wait_printer() -> std::sync::Arc<dyn EventSink> {
    std::sync::Arc::new(|event: ExecEvent| {
        SafetyPrinter.print(&event);
    })
}

impl SafetyPrinter {
    /// Returns `false` for events it does not print.
    pub(crate) fn print(&self, event: &ExecEvent) -> bool {
        match event {
            ExecEvent::LockWaiting {
                lock,
                holders,
                waited,
                ..
            } => self.print_waiting(lock, holders, *waited),
            ExecEvent::LockAcquired { lock, waited } if *waited >= Duration::from_millis(100) => {
                eprintln!(
                    "INFO  Took the migration lock of {lock} after waiting {}",
                    format_duration(*waited)
                )
            }
            ExecEvent::HistoryTableCreated { table } => {
                eprintln!("INFO  Created history table {table}")
            }
            ExecEvent::HistoryRecorded { entry, .. } => print_recorded(entry),
            ExecEvent::HistoryUnrecorded { entry, cause, .. } => eprintln!(
                "WARN  Could not record the {} {} of {} in the history on the run's connection \
                 ({cause}); recording it on a new connection (waiting up to {} s for the server)",
                entry.status,
                entry.direction,
                entry.revision,
                crate::engine::RECONNECT_WAIT.as_secs()
            ),
            ExecEvent::TableBlocked { .. }
            | ExecEvent::TableUnblocked { .. }
            | ExecEvent::TableRetrying { .. } => print_table_wait(event),
            ExecEvent::CommitConfirmed { entry, .. } => eprintln!(
                "INFO  The {} of {} committed before the connection was lost: a new connection \
                 found its success row in the history",
                entry.direction, entry.revision
            ),
            _ => return false,
        }
        true
    }

    fn print_waiting(&self, lock: &str, holders: &[crate::db::LockHolder], waited: Duration) {
        let now = Utc::now();
        let held_by = match holders {
            [] => "a session that just released it".to_string(),
            _ => holders
                .iter()
                .map(|h| h.describe(now))
                .collect::<Vec<_>>()
                .join("; "),
        };
        eprintln!(
            "INFO  Waiting for the migration lock of {lock} ({} so far), held by {held_by}",
            format_duration(waited)
        );
    }
}

/// The sessions stalled behind a waiting migration, one `WAIT` line each.
pub(crate) fn print_queue(queued: &[Queued]) {
    if queued.is_empty() {
        return;
    }
    eprintln!("WAIT  {}", queue_heading(queued));
    for session in queued {
        eprintln!("WAIT    {session}");
    }
}

/// While a read waits for a lock on retort's own tables (another session's
/// `LOCK TABLE alembic_version`), who holds it; the events come only when
/// the blockers change and as a heartbeat, so each is printed.
fn print_table_wait(event: &ExecEvent) {
    match event {
        ExecEvent::TableBlocked {
            table,
            action,
            waiting_for,
            waited,
            blockers,
            queued,
            ..
        } => {
            let lock = waiting_for
                .as_ref()
                .map(|w| format!(" for {w}"))
                .unwrap_or_default();
            eprintln!(
                "WAIT  {action} {table} is waiting{lock} ({:.1} s so far), held by:",
                waited.as_secs_f64()
            );
            for blocker in blockers {
                eprintln!("WAIT    {blocker}");
            }
            print_queue(queued);
        }
        ExecEvent::TableUnblocked { waited, .. } => {
            eprintln!(
                "INFO    stopped waiting after {:.1} s",
                waited.as_secs_f64()
            )
        }
        ExecEvent::TableRetrying {
            table,
            action,
            attempt,
            attempts,
            delay,
            cause,
        } => {
            eprintln!("WARN  {action} {table} failed on a lock: {cause}");
            eprintln!(
                "WARN  retrying in {:.1} s (attempt {attempt} of {attempts})",
                delay.as_secs_f64()
            );
        }
        _ => {}
    }
}

fn print_recorded(entry: &HistoryEntry) {
    let id = entry.id.map(|i| format!(" #{i}")).unwrap_or_default();
    match entry.status {
        HistoryStatus::Success => {}
        HistoryStatus::Failed => eprintln!(
            "INFO  Recorded in the history{id}: {} of {} failed and was rolled back",
            entry.direction, entry.revision
        ),
        HistoryStatus::Partial => {
            let counts = match (entry.statements_done, entry.statements_total) {
                (Some(done), Some(total)) => format!("{done} of {total} statement(s)"),
                _ => "some statements".to_string(),
            };
            // A statement cut off with its connection may have run.
            let in_doubt = match (entry.in_doubt, entry.statements_done) {
                (true, Some(done)) => format!(
                    "; statement {} may or may not have run (its connection was lost)",
                    done + 1
                ),
                (true, None) => "; the statement that was running may or may not have run".into(),
                (false, _) => String::new(),
            };
            eprintln!(
                "WARN  The {} of {} (transactional: false) stopped halfway: {counts} ran and stay \
                 applied{in_doubt}; the version table was not changed.",
                entry.direction, entry.revision
            );
            eprintln!(
                "WARN  Recorded as partial in the history{id}. Changing commands refuse to run \
                 until you finish or undo the rest by hand and record it with `retort resolve {} \
                 --applied` or `retort resolve {} --rolled-back`.",
                entry.revision, entry.revision
            );
        }
    }
}

/// `current -v` and `check`: every finding, or one line saying the
/// applied files match what was recorded.
pub(crate) fn print_drift_report(report: &DriftReport) {
    for line in report.render_lines() {
        println!("{line}");
    }
    if report.is_clean() && !report.verified.is_empty() {
        println!(
            "verified: {} applied revision(s) match the checksums recorded in {}",
            report.verified.len(),
            report.history_table
        );
    }
}

// ---- rehearse ----

/// The start of a private cluster to rehearse on, on stderr.
pub(crate) fn cluster_progress(line: &str) {
    eprintln!("INFO  {line}");
}

pub(crate) fn rehearsing_on_cluster(dir: &str, port: u16) {
    eprintln!(
        "INFO  rehearsing on a private PostgreSQL cluster in {dir} (port {port}, Unix socket only), \
         removed afterwards"
    );
}

/// Progress of a rehearsal, on stderr.
pub(crate) fn rehearsal_progress(progress: RehearseProgress) {
    match progress {
        RehearseProgress::ScratchCreated { name, server } => eprintln!(
            "INFO  rehearsing on scratch database {name} on {server} (dropped afterwards)"
        ),
        RehearseProgress::Step {
            index,
            total,
            label,
        } => eprintln!("INFO  step {}/{total}: {label}", index + 1),
    }
}

/// The rehearsal, on stdout: drift first, then each step, then a summary.
pub(crate) fn rehearsal_text(rehearsal: &Rehearsal) {
    print!("{}", rehearsal_lines(rehearsal));
}

fn rehearsal_lines(rehearsal: &Rehearsal) -> String {
    let mut out = drift_lines(rehearsal);
    let total = rehearsal.steps.len() + rehearsal.not_rehearsed.len();
    if total == 0 {
        out += "Nothing to rehearse: no step between the live heads and the target.\n";
    }
    for (index, step) in rehearsal.steps.iter().enumerate() {
        out += &step_lines(index, total, step);
    }
    for label in &rehearsal.not_rehearsed {
        out += &format!(
            "NOT REHEARSED  {label}: an earlier step left the scratch database where no real run would\n"
        );
    }
    out += &summary_line(rehearsal);
    out
}

fn drift_lines(rehearsal: &Rehearsal) -> String {
    let heads = match rehearsal.live_heads.is_empty() {
        true => "base".to_string(),
        false => rehearsal.live_heads.join(", "),
    };
    if rehearsal.drift.is_empty() {
        return format!(
            "No schema drift: {} matches the revision files at its heads ({heads}).\n",
            rehearsal.live
        );
    }
    let mut out = format!(
        "SCHEMA DRIFT: {} differs from what the revision files make at its heads ({heads}); \
         someone changed it by hand. The steps below were rehearsed on the files' schema, not \
         on the live one:\n",
        rehearsal.live
    );
    out += &indent(&render_changes(&rehearsal.drift), "  ");
    out
}

fn step_lines(index: usize, total: usize, step: &StepReport) -> String {
    let file = step.path.display();
    let mut out = format!(
        "{:<14} step {}/{total} {} ({file}){}\n",
        verdict_word(step.verdict()),
        index + 1,
        step.label,
        durations(step)
    );
    if step.irreversible {
        out += "  no downgrade section: the step cannot be undone (said, not a failure)\n";
    }
    if let Some(failure) = &step.failure {
        out += &format!(
            "  the {} failed: {}\n",
            phase_word(failure.phase),
            indent(&failure.error.to_string(), "  ").trim()
        );
        if failed_on_data(&failure.error) {
            out += "  the scratch database holds only the rows the revision files insert, not the \
                    live data: this statement may behave differently on the live database\n";
        }
    }
    if !step.downgrade_leaves.is_empty() {
        out += "  the downgrade does not restore the schema before the step:\n";
        out += &indent(&render_changes(&step.downgrade_leaves), "    ");
    }
    if !step.reupgrade_differs.is_empty() {
        out += "  upgrading again does not make the same schema as the first upgrade:\n";
        out += &indent(&render_changes(&step.reupgrade_differs), "    ");
    }
    for (phase, run) in [("upgrade", &step.upgrade), ("downgrade", &step.downgrade)] {
        if let Some(run) = run {
            out += &trace_lines(phase, &run.trace);
        }
    }
    out += &lint_verdict_lines(step);
    out
}

/// The upgrade's lock and rewrite hazards, each beside what the trace saw
/// (style and data-loss findings are `lint`'s to print: the trace cannot
/// judge them).
fn lint_verdict_lines(step: &StepReport) -> String {
    let Some(lint) = &step.lint else {
        return String::new();
    };
    let judged = lint.hazards.iter().filter(|h| traceable(&h.rule));
    judged
        .map(|hazard| {
            let table = hazard
                .table
                .as_ref()
                .map_or(String::new(), |t| format!(" on {}", t.written));
            format!(
                "  lint line {}: {}{table}: {}\n",
                hazard.line,
                hazard.rule,
                trace_verdict_words(hazard.trace.as_ref())
            )
        })
        .collect()
}

fn trace_verdict_words(verdict: Option<&TraceVerdict>) -> String {
    match verdict {
        Some(TraceVerdict::Confirmed { observed }) => {
            format!("confirmed by the trace ({observed})")
        }
        Some(TraceVerdict::Refuted { observed }) => format!("refuted: the trace saw {observed}"),
        None => "not judged: the trace did not see this statement's locks".to_string(),
    }
}

/// A violated constraint (SQLSTATE class 23: NOT NULL, unique, check,
/// foreign key) depends on the rows, which the scratch database does not
/// share with the live one.
fn failed_on_data(error: &TraceError) -> bool {
    match error {
        TraceError::Statement { error, .. } => error
            .code
            .as_deref()
            .is_some_and(|code| code.starts_with("23")),
        _ => false,
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Reversible => "REVERSIBLE",
        Verdict::Irreversible => "IRREVERSIBLE",
        Verdict::DowngradeLeavesDifferences => "NOT REVERSIBLE",
        Verdict::ReupgradeDiffers => "REUPGRADE DIFFERS",
        Verdict::Failed => "FAILED",
    }
}

fn phase_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Upgrade => "upgrade",
        Phase::Downgrade => "downgrade",
        Phase::Reupgrade => "second upgrade",
    }
}

fn durations(step: &StepReport) -> String {
    let runs = [
        ("up", &step.upgrade),
        ("down", &step.downgrade),
        ("up again", &step.reupgrade),
    ];
    let parts: Vec<String> = runs
        .iter()
        .filter_map(|(name, run)| {
            run.as_ref()
                .map(|r| format!("{name} {}", format_duration(r.duration)))
        })
        .collect();
    match parts.is_empty() {
        true => String::new(),
        false => format!(" [{}]", parts.join(", ")),
    }
}

/// The statements that locked or rewrote a relation that existed before
/// the step, and those whose locks could not be seen. ACCESS EXCLUSIVE
/// (which blocks reads too) is marked with `!!`.
fn trace_lines(phase: &str, trace: &StepTrace) -> String {
    let mut out = String::new();
    for statement in &trace.statements {
        let on_existing = statement
            .locks
            .iter()
            .any(|l| l.newly_acquired && !l.new_relation)
            || statement.rewrites.iter().any(|r| !r.new_relation);
        if let Observation::NotObserved { reason } = &statement.observation {
            out += &format!(
                "  {phase} line {}: locks not traced: {reason}\n",
                statement.line
            );
            continue;
        }
        if !on_existing {
            continue;
        }
        let exclusive = statement
            .locks
            .iter()
            .any(|l| l.newly_acquired && !l.new_relation && l.mode == LockMode::AccessExclusive);
        let mark = if exclusive { "!!" } else { "  " };
        out += &format!("{mark}{phase} {}\n", statement_line(statement));
    }
    if !trace.transactional && !trace.statements.is_empty() {
        out += &format!(
            "  {phase}: transactional: false, its locks were sampled while each statement ran; a lock \
             held only briefly can be missed\n"
        );
    }
    out
}

fn summary_line(rehearsal: &Rehearsal) -> String {
    let count = |verdict: Verdict| {
        rehearsal
            .steps
            .iter()
            .filter(|s| s.verdict() == verdict)
            .count()
    };
    let not_reversible =
        count(Verdict::DowngradeLeavesDifferences) + count(Verdict::ReupgradeDiffers);
    format!(
        "Rehearsed {} step(s) in {}: {} reversible, {} irreversible, {} not reversible, {} failed{}{}.\n",
        rehearsal.steps.len(),
        format_duration(rehearsal.total),
        count(Verdict::Reversible),
        count(Verdict::Irreversible),
        not_reversible,
        count(Verdict::Failed),
        match rehearsal.not_rehearsed.len() {
            0 => String::new(),
            n => format!(", {n} not rehearsed"),
        },
        match rehearsal.drift.is_empty() {
            true => String::new(),
            false => format!(", and schema drift ({} object(s))", rehearsal.drift.len()),
        }
    )
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}\n"))
        .collect()
}

/// The rehearsal as JSON for CI.
pub(crate) fn rehearsal_json(rehearsal: &Rehearsal) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = rehearsal.steps.iter().map(step_json).collect();
    serde_json::json!({
        "live": rehearsal.live,
        "server": rehearsal.server,
        "live_heads": rehearsal.live_heads,
        "drift": rehearsal.drift,
        "steps": steps,
        "not_rehearsed": rehearsal.not_rehearsed,
        "total_ms": rehearsal.total.as_secs_f64() * 1000.0,
        "exit_code": rehearsal.exit_code(),
    })
}

fn step_json(step: &StepReport) -> serde_json::Value {
    let run = |run: &Option<crate::engine::rehearse::Run>| {
        run.as_ref().map(|r| {
            serde_json::json!({
                "duration_ms": r.duration.as_secs_f64() * 1000.0,
                "trace": r.trace,
            })
        })
    };
    serde_json::json!({
        "revision": step.revision,
        "file": step.path.display().to_string(),
        "step": step.label,
        "verdict": step.verdict(),
        "irreversible": step.irreversible,
        "downgrade_leaves": step.downgrade_leaves,
        "reupgrade_differs": step.reupgrade_differs,
        "failure": step.failure.as_ref().map(|f| serde_json::json!({
            "phase": f.phase,
            "message": f.error.to_string(),
        })),
        "upgrade": run(&step.upgrade),
        "downgrade": run(&step.downgrade),
        "reupgrade": run(&step.reupgrade),
        "lint": step.lint,
    })
}

pub(crate) fn format_duration(d: Duration) -> String {
    if d.as_secs() >= 1 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

/// What `retort lint` linted, and against what.
pub(crate) enum LintScope {
    Pending {
        count: usize,
        database: String,
    },
    All {
        count: usize,
        database: Option<String>,
        /// Why the default (pending) could not be used.
        unreachable: Option<String>,
    },
    Named {
        count: usize,
        database: Option<String>,
    },
}

impl LintScope {
    pub(crate) fn word(&self) -> &'static str {
        match self {
            LintScope::Pending { .. } => "pending",
            LintScope::All { .. } => "all",
            LintScope::Named { .. } => "revisions",
        }
    }

    pub(crate) fn database(&self) -> Option<&str> {
        match self {
            LintScope::Pending { database, .. } => Some(database),
            LintScope::All { database, .. } | LintScope::Named { database, .. } => {
                database.as_deref()
            }
        }
    }
}

/// The lint of a revision `revision --autogenerate` just wrote: its
/// hazards as `lint` prints them, then the summary; never a refusal.
pub(crate) fn autogenerate_lint(lines: &[String]) {
    eprintln!("Lint of the new revision (hazards never stop it being written; review them):");
    for line in lines {
        eprintln!("{line}");
    }
}

/// Says on stderr which revisions `lint` linted, and whether live table
/// sizes weigh the hazards.
pub(crate) fn lint_scope_note(scope: &LintScope) {
    let sizes = |database: &Option<String>| match database {
        Some(db) => format!("with the table sizes of {db}"),
        None => "without table sizes (no database)".to_string(),
    };
    let text = match scope {
        LintScope::Pending { count, database } => {
            format!(
                "Linting the {count} pending revision(s) on {database}, as the plan that runs them"
            )
        }
        LintScope::All {
            count,
            database,
            unreachable: Some(cause),
        } => format!(
            "No database reachable ({cause}): linting all {count} revision(s), each on its own, {}",
            sizes(database)
        ),
        LintScope::All {
            count, database, ..
        } => format!(
            "Linting all {count} revision(s), each on its own, {}",
            sizes(database)
        ),
        LintScope::Named { count, database } => format!(
            "Linting {count} revision(s), each on its own, {}",
            sizes(database)
        ),
    };
    eprintln!("{text}");
}

/// What the import could not carry over as the source tool does it.
pub(crate) fn import_note(note: &str) {
    eprintln!("NOTE: {note}");
}

pub(crate) fn imported(count: usize, into: &str, heads: usize) {
    eprintln!(
        "Imported {count} revision(s) into {into} ({heads} head(s)); `retort heads` loads them."
    );
}

/// Alembic databases need no stamp: the ids and the table are the same.
pub(crate) fn alembic_adopted() {
    eprintln!(
        "Databases Alembic manages need no stamp: their alembic_version holds these revision ids; \
         `retort current` reads it."
    );
}

/// How to adopt a database when none was named.
pub(crate) fn adopt_hint(table: &str) {
    eprintln!(
        "To adopt a database that {table} records, run the same import with --database-url URL \
         (or -e ENV): it prints the stamp that database needs, and --stamp runs it."
    );
}

pub(crate) fn nothing_to_adopt(adoption: &crate::engine::import::Adoption) {
    match adoption.has_record {
        false => eprintln!(
            "{}: no {} table, nothing to adopt; `retort upgrade head` builds it from the revisions.",
            adoption.display, adoption.table
        ),
        true => eprintln!(
            "{}: {} records no applied migration; `retort upgrade head` builds it from the revisions.",
            adoption.display, adoption.table
        ),
    }
}

pub(crate) fn adoption_differs(adoption: &crate::engine::import::Adoption, revision: &str) {
    eprintln!(
        "FAILED: {}: {} says {revision}, but its schema differs from the imported revisions \
         applied up to {revision} (on a scratch database); not stamped. Differences \
         (imported → live):",
        adoption.display, adoption.table
    );
}

pub(crate) fn adoption_matches(
    adoption: &crate::engine::import::Adoption,
    revision: &str,
    stamping: bool,
) {
    let next = match stamping {
        true => "stamping it",
        false => "adopt it with",
    };
    eprintln!(
        "{}: {} says {revision}; the schema matches the imported revisions up to {revision}; {next}:",
        adoption.display, adoption.table
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::{Actor, HistoryDirection};

    fn partial(direction: HistoryDirection, planned: &[&str]) -> HistoryEntry {
        let actor = Actor {
            os_user: None,
            host: None,
            retort_version: "0".into(),
        };
        let mut entry = HistoryEntry::new("run", &actor, "b2", direction, HistoryStatus::Partial);
        entry.planned_heads_after = planned.iter().map(|h| h.to_string()).collect();
        entry
    }

    #[test]
    fn an_unrecorded_partial_step_says_the_next_run_would_repeat_it() {
        let advice = unrecorded_partial_advice(&partial(HistoryDirection::Upgrade, &["b2", "x9"]));
        assert!(advice.contains("the upgrade of b2"), "{advice}");
        assert!(advice.contains("NOT recorded"), "{advice}");
        assert!(
            advice.contains("again from its first statement"),
            "{advice}"
        );
        assert!(advice.contains("`retort stamp b2 x9`"), "{advice}");
    }

    #[test]
    fn a_step_with_a_started_row_is_not_said_to_be_unrecorded() {
        let mut entry = partial(HistoryDirection::Upgrade, &["b2"]);
        entry.id = Some(7);
        let advice = unrecorded_partial_advice(&entry);
        assert!(advice.contains("row #7"), "{advice}");
        assert!(advice.contains("retort resolve b2"), "{advice}");
        assert!(!advice.contains("NOT recorded"), "{advice}");
    }

    #[test]
    fn an_unrecorded_partial_downgrade_to_base_stamps_base() {
        let advice = unrecorded_partial_advice(&partial(HistoryDirection::Downgrade, &[]));
        assert!(advice.contains("the downgrade of b2"), "{advice}");
        assert!(advice.contains("`retort stamp base`"), "{advice}");
    }

    #[test]
    fn a_protected_environment_asks_for_the_flags_it_needs() {
        let needed = Requirement::TypeName {
            environment: "prod".into(),
            reasons: vec![Reason::Destructive, Reason::Drift],
        };
        let text = not_confirmed_text(Action::Downgrade, &needed, None);
        assert!(text.contains("a downgrade on top of drift"), "{text}");
        assert!(text.contains("--confirm prod --allow-drift"), "{text}");
        let text = not_confirmed_text(Action::Downgrade, &needed, Some("prd"));
        assert!(text.contains("--confirm 'prd' does not match"), "{text}");
    }
}
