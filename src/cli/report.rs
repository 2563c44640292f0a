//! The command line's words for the engine's outcomes: refusals in terms
//! of the flags that override them, failed runs with what became of each
//! step and where the database stands.

use crate::core::policy::{Action, Reason, Requirement};
use crate::db::history::{HistoryEntry, HistoryStatus};
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
            crate::app::display_path(dir)
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
            crate::app::display_path(&file.path),
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
                (true, true) => format!("a {} on top of drift", action.describe()),
                (true, false) => format!("a {}", action.describe()),
                _ => format!("running a {} on top of drift", action.describe()),
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
