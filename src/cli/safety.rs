//! The `log` and `resolve` commands: the audit history, and recording what
//! became of a step that stopped halfway or a file that drifted.

use super::args::{Format, GlobalArgs, LogArgs, ResolveArgs, wait_policy};
use super::report::{SafetyPrinter, format_duration, wait_printer};
use super::{Outcome, print_json, runtime};
use crate::db::events::{EventSink, ExecEvent};
use crate::db::history::{HistoryEntry, HistoryFilter, HistoryStatus};
use crate::db::resolve::ResolveChoice;
use crate::engine::{self, Database, Error, Project};
use crate::engine::{Cancellation, Migrator, OwnedConsent, ResolveRequest, RunError};

/// Just the safety printer, for commands without steps.
struct SafetySink(SafetyPrinter);

impl EventSink for SafetySink {
    fn emit(&self, event: ExecEvent) {
        self.0.print(&event);
    }
}

/// `retort log`: the history, newest first. Read-only: needs the config
/// (for the table's name), not the revision files.
pub fn log(global: &GlobalArgs, args: LogArgs) -> Result<Outcome, Error> {
    let options = global.options();
    let config = engine::load_config(&options)?;
    let settings = super::connection_settings(&config, &options)?;
    let history = engine::history_table(&config);
    let filter = HistoryFilter {
        revision: args.revision.clone(),
        limit: args.limit.map(i64::from),
    };
    let rows = runtime()?.block_on(async {
        let db = Database::connect(&settings, engine::version_table(&config))
            .await?
            .with_history_table(history.clone());
        let exists = db
            .history
            .exists(db.conn.client())
            .await
            .map_err(|e| Error::database("reading the history", e))?;
        match exists {
            true => db.history_rows(&filter).await.map(Some),
            false => Ok(None),
        }
    })?;
    if global.format == Format::Json {
        print_json(&rows.unwrap_or_default())?;
        return Ok(Outcome::Done);
    }
    match rows {
        None => println!(
            "No history yet: {} does not exist (retort creates it the first time it changes the database).",
            history.display_name()
        ),
        Some(rows) if rows.is_empty() => println!("No history rows match."),
        Some(rows) => {
            let entries: Vec<String> = rows.iter().map(log_text).collect();
            print!("{}", entries.join("\n"));
        }
    }
    Ok(Outcome::Done)
}

fn short(checksum: &Option<String>) -> &str {
    checksum
        .as_deref()
        .map(|c| c.get(..12).unwrap_or(c))
        .unwrap_or("-")
}

fn heads_text(heads: &[String]) -> String {
    match heads {
        [] => "<base>".to_string(),
        _ => heads.join(","),
    }
}

/// One history row as a few lines of text.
fn log_text(row: &HistoryEntry) -> String {
    let id = row.id.map(|i| format!("#{i}")).unwrap_or_default();
    let action = match row.resolution {
        Some(resolution) => format!("{} {resolution}", row.direction),
        None => row.direction.to_string(),
    };
    let revision = match row.revision.as_str() {
        "" => "<base>",
        other => other,
    };
    let counts = match (row.statements_done, row.statements_total) {
        (Some(done), Some(total)) if row.status != HistoryStatus::Success => {
            format!(" ({done}/{total} statements)")
        }
        _ => String::new(),
    };
    let mut text = format!(
        "{id:<5} {} {action:<20} {revision:<14} {:<8} {:>9}{counts}\n",
        row.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        row.status_text(),
        format_duration(row.duration),
    );
    let planned = match row.planned_heads_after != row.heads_after {
        true => format!(" (planned {})", heads_text(&row.planned_heads_after)),
        false => String::new(),
    };
    text += &format!(
        "      heads {} -> {}{planned}\n",
        heads_text(&row.heads_before),
        heads_text(&row.heads_after)
    );
    let who = [
        row.db_user.as_deref().map(|u| format!("db user {u}")),
        match (&row.os_user, &row.host) {
            (Some(u), Some(h)) => Some(format!("{u}@{h}")),
            (Some(u), None) => Some(u.clone()),
            (None, Some(h)) => Some(format!("host {h}")),
            (None, None) => None,
        },
        Some(format!("retort {}", row.retort_version)),
        Some(format!("run {}", row.run_id)),
    ];
    text += &format!(
        "      by {}\n",
        who.into_iter().flatten().collect::<Vec<_>>().join(", ")
    );
    if row.sql_checksum.is_some() || row.upgrade_checksum.is_some() {
        text += &format!(
            "      sha256 ran {} upgrade {} downgrade {}\n",
            short(&row.sql_checksum),
            short(&row.upgrade_checksum),
            short(&row.downgrade_checksum)
        );
    }
    if let Some(error) = &row.error {
        let label = match row.direction {
            crate::db::history::HistoryDirection::Resolve => "note",
            _ => "error",
        };
        for (n, line) in error.lines().enumerate() {
            let lead = if n == 0 { label } else { "" };
            text += &format!("      {lead:<6}{line}\n");
        }
    }
    text
}

/// `retort resolve REV --applied | --rolled-back | --accept-drift`, under
/// the migration lock.
pub fn resolve(global: &GlobalArgs, args: ResolveArgs) -> Result<Outcome, Error> {
    let choice = match (args.applied, args.rolled_back) {
        (true, _) => ResolveChoice::Applied,
        (_, true) => ResolveChoice::RolledBack,
        _ => ResolveChoice::AcceptDrift,
    };
    let project = Project::load(&global.options())?;
    let settings = super::connection_settings(&project.config, &global.options())?;
    let request = ResolveRequest {
        revision: args.revision.clone(),
        choice,
        note: args.message.clone(),
        consent: OwnedConsent {
            typed_name: args.confirm.clone(),
            allow_drift: false,
            deliberate: true,
        },
        wait: wait_policy(args.no_wait),
    };
    let migrator = Migrator {
        map: &project.map,
        migrations_dir: &project.migrations_dir,
        protected: engine::protected_environment(&settings),
    };
    let sink = SafetySink(SafetyPrinter);
    let report = runtime()?.block_on(async {
        let cancel = Cancellation::new();
        let mut db = Database::open(&project, &settings)
            .await?
            .report_waits_to(wait_printer());
        let outcome = migrator.resolve(&mut db, &request, &sink, &cancel).await;
        outcome.map_err(
            |RunError {
                 error,
                 unlock_failed,
             }| {
                if let Some(cause) = unlock_failed {
                    eprintln!("WARN  could not release the migration lock ({cause})");
                }
                error
            },
        )
    })?;
    let written = report.entry;
    if global.format == Format::Json {
        print_json(&written)?;
        return Ok(Outcome::Done);
    }
    let id = written.id.map(|i| format!(" #{i}")).unwrap_or_default();
    let what = match choice {
        ResolveChoice::Applied => format!(
            "the stopped step of {} is complete; version table now: {}",
            written.revision,
            heads_text(&written.heads_after)
        ),
        ResolveChoice::RolledBack => format!(
            "the stopped step of {} was undone; version table unchanged: {}",
            written.revision,
            heads_text(&written.heads_after)
        ),
        ResolveChoice::AcceptDrift => match written.upgrade_checksum {
            Some(_) => format!(
                "the current file of {} is accepted as applied",
                written.revision
            ),
            None => format!("the missing file of {} is acknowledged", written.revision),
        },
    };
    println!("Resolved{id}: {what}.");
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::{Actor, HistoryDirection};

    #[test]
    fn log_text_shows_partial_counts_heads_and_error() {
        let mut row = HistoryEntry::new(
            "abc",
            &Actor {
                os_user: Some("alice".into()),
                host: Some("laptop".into()),
                retort_version: "0.1.0".into(),
            },
            "7c1e9a2b4d60",
            HistoryDirection::Upgrade,
            HistoryStatus::Partial,
        );
        row.id = Some(5);
        row.heads_before = vec!["4f1c".into()];
        row.heads_after = vec!["4f1c".into()];
        row.planned_heads_after = vec!["7c1e9a2b4d60".into()];
        row.statements_done = Some(1);
        row.statements_total = Some(3);
        row.error = Some("ERROR 57P01: terminating\n  more".into());
        row.db_user = Some("postgres".into());
        let text = log_text(&row);
        assert!(text.starts_with("#5    "), "{text}");
        assert!(text.contains(" partial "), "{text}");
        assert!(text.contains("(1/3 statements)"), "{text}");
        assert!(
            text.contains("heads 4f1c -> 4f1c (planned 7c1e9a2b4d60)"),
            "{text}"
        );
        assert!(
            text.contains("by db user postgres, alice@laptop, retort 0.1.0, run abc"),
            "{text}"
        );
        assert!(
            text.contains("      error ERROR 57P01: terminating\n"),
            "{text}"
        );
        assert!(text.contains("            more\n"), "{text}");
    }
}
