//! Read-only commands: `current`, `heads`, `branches`, `history`, `show`.
//! None of them changes the database; only `current`, `history` with
//! `current` or `-i`, and `show current` connect to it.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::Serialize;

use super::args::{Format, GlobalArgs};
use super::{Outcome, print_json, runtime};
use crate::core::describe::{
    LineStyle, RangeEnd, RevisionInfo, current_revisions, history_range, log_entry, revision_info,
    revision_line,
};
use crate::core::graph::RevisionMap;
use crate::db::drift::DriftReport;
use crate::engine::{Database, Error, Project};

/// Output buffer of the line-per-revision commands.
const OUTPUT_BUFFER_BYTES: usize = 64 * 1024;

/// The version table's rows and the connection's description.
pub(crate) struct LiveState {
    pub rows: Vec<String>,
    pub display: String,
}

/// The live state and how the files compare with the recorded history.
pub(crate) fn live_state_with_drift(
    project: &Project,
    global: &GlobalArgs,
) -> Result<(LiveState, DriftReport), Error> {
    let settings = super::connection_settings(&project.config, &global.options())?;
    runtime()?.block_on(async {
        let db = Database::open(project, &settings)
            .await?
            .report_waits_to(super::report::wait_printer());
        let rows = db.heads().await?;
        let report = db.drift_report(&project.map, &rows).await?;
        let state = LiveState {
            rows,
            display: db.display.clone(),
        };
        Ok((state, report))
    })
}

pub(crate) fn live_state(project: &Project, global: &GlobalArgs) -> Result<LiveState, Error> {
    let settings = super::connection_settings(&project.config, &global.options())?;
    runtime()?.block_on(async {
        let db = Database::connect(&settings, project.version_table())
            .await?
            .report_waits_to(super::report::wait_printer());
        Ok(LiveState {
            rows: db.heads().await?,
            display: db.display.clone(),
        })
    })
}

/// Rows that no revision file defines make every answer about the database
/// unreliable: say so, and what usually causes it.
pub(crate) fn check_known_rows(
    map: &RevisionMap,
    rows: &[String],
    project: &Project,
) -> Result<(), Error> {
    crate::engine::migrator::known_rows(map, rows, &project.migrations_dir)
}

fn lines_or_json(
    global: &GlobalArgs,
    map: &RevisionMap,
    revs: &[usize],
    current: &BTreeSet<String>,
    line: impl Fn(usize, bool) -> String,
) -> Result<(), Error> {
    match global.format {
        Format::Json => {
            let infos: Vec<RevisionInfo> = revs
                .iter()
                .map(|&r| revision_info(map, r, current.contains(map.id(r))))
                .collect();
            print_json(&infos)
        }
        Format::Text => print_lines(
            revs.iter()
                .map(|&rev| line(rev, current.contains(map.id(rev)))),
        ),
    }
}

/// The command ends the process, which releases all of the project's memory
/// at once; freeing the revision graph piece by piece first (tens of
/// thousands of allocations for a large history) would only delay the exit.
/// The project holds no open files or connections.
fn leave_to_exit(project: Project) {
    std::mem::forget(project);
}

/// Prints each text on a line of its own through one buffer: `println!`
/// would make a system call per line, which for a long history costs more
/// than building the lines. A reader that stopped reading (`| head`) ends the
/// output quietly.
fn print_lines(mut lines: impl Iterator<Item = String>) -> Result<(), Error> {
    let mut out = io::BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, io::stdout().lock());
    let written = lines
        .try_for_each(|line| {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")
        })
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Usage(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

pub fn current(global: &GlobalArgs, verbose: bool, check_heads: bool) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let (state, report) = live_state_with_drift(&project, global)?;
    let map = &project.map;
    let text = global.format == Format::Text;
    let report_drift = || match verbose && text {
        true => super::report::print_drift_report(&report),
        // Alembic's lines stay parseable on stdout; the warning goes aside.
        false => super::report::warn_drift(&DriftReport {
            issues: report.partials().cloned().collect(),
            ..report.clone()
        }),
    };
    if let Err(unknown) = check_known_rows(map, &state.rows, &project) {
        report_drift();
        return Err(unknown);
    }
    let shown = current_revisions(map, &state.rows).map_err(|e| Error::Usage(e.to_string()))?;
    if verbose && global.format == Format::Text {
        println!("Current revision(s) for {}:", state.display);
    }
    if shown.is_empty() && global.format == Format::Text {
        // stdout stays empty, as Alembic's; a person still gets an answer.
        eprintln!(
            "INFO  No revision is applied: {} is at base.",
            state.display
        );
    }
    let rows: BTreeSet<String> = state.rows.iter().cloned().collect();
    lines_or_json(global, map, &shown, &BTreeSet::new(), |rev, _| {
        if verbose {
            log_entry(map, rev, false)
        } else {
            revision_line(map, rev, LineStyle::CURRENT, false)
        }
    })?;
    report_drift();
    let heads: BTreeSet<String> = map.heads().iter().map(|&h| map.id(h).to_string()).collect();
    if check_heads && rows != heads {
        eprintln!("FAILED: Database is not on all head revisions");
        return Ok(Outcome::Pending);
    }
    Ok(Outcome::Done)
}

pub fn heads(
    global: &GlobalArgs,
    verbose: bool,
    resolve_dependencies: bool,
) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let map = &project.map;
    let heads = if resolve_dependencies {
        map.real_heads()
    } else {
        map.heads()
    };
    lines_or_json(global, map, heads, &BTreeSet::new(), |rev, _| {
        if verbose {
            log_entry(map, rev, false)
        } else {
            revision_line(map, rev, LineStyle::HEADS, false)
        }
    })?;
    leave_to_exit(project);
    Ok(Outcome::Done)
}

#[derive(Serialize)]
struct BranchPoint {
    revision: RevisionInfo,
    branches_into: Vec<RevisionInfo>,
}

pub fn branches(global: &GlobalArgs, verbose: bool) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let map = &project.map;
    let all = history_range(
        map,
        &RangeEnd::Ident("base".into()),
        &RangeEnd::Ident("heads".into()),
    )?;
    let points: Vec<usize> = all
        .into_iter()
        .filter(|&r| map.is_branch_point(r))
        .collect();
    if global.format == Format::Json {
        let out: Vec<BranchPoint> = points
            .iter()
            .map(|&p| BranchPoint {
                revision: revision_info(map, p, false),
                branches_into: map
                    .children(p)
                    .iter()
                    .map(|&c| revision_info(map, c, false))
                    .collect(),
            })
            .collect();
        print_json(&out)?;
        return Ok(Outcome::Done);
    }
    let style = LineStyle {
        branches: true,
        ..LineStyle::CURRENT
    };
    for point in points {
        let head = if verbose {
            log_entry(map, point, false)
        } else {
            revision_line(map, point, style, false)
        };
        let pad = " ".repeat(map.id(point).len());
        let child_style = LineStyle {
            doc: verbose,
            ..style
        };
        println!("{head}");
        for &child in map.children(point) {
            println!("{pad} -> {}", revision_line(map, child, child_style, false));
        }
        println!();
    }
    Ok(Outcome::Done)
}

pub fn history(
    global: &GlobalArgs,
    range: Option<&str>,
    verbose: bool,
    indicate_current: bool,
) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let map = &project.map;
    let (base, head) = match range {
        Some(r) => r.trim().split_once(':').ok_or_else(|| {
            Error::Usage("History range requires [start]:[end], [start]:, or :[end]".to_string())
        })?,
        None => ("", ""),
    };
    let needs_db = indicate_current || base == "current" || head == "current";
    let rows = if needs_db {
        let state = live_state(&project, global)?;
        check_known_rows(map, &state.rows, &project)?;
        state.rows
    } else {
        Vec::new()
    };
    let end = |text: &str, default: &str| match text {
        "" => RangeEnd::Ident(default.to_string()),
        "current" => RangeEnd::Revisions(rows.clone()),
        other => RangeEnd::Ident(other.to_string()),
    };
    let revs = history_range(map, &end(base, "base"), &end(head, "heads"))?;
    let current: BTreeSet<String> = if indicate_current {
        rows.iter().cloned().collect()
    } else {
        BTreeSet::new()
    };
    lines_or_json(global, map, &revs, &current, |rev, is_current| {
        if verbose {
            log_entry(map, rev, is_current)
        } else {
            revision_line(map, rev, LineStyle::HISTORY, is_current)
        }
    })?;
    leave_to_exit(project);
    Ok(Outcome::Done)
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    info: RevisionInfo,
    upgrade_sql: String,
    downgrade_sql: Option<String>,
}

pub fn show(global: &GlobalArgs, ident: &str) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let map = &project.map;
    let revs: Vec<usize> = if ident == "current" {
        let state = live_state(&project, global)?;
        check_known_rows(map, &state.rows, &project)?;
        current_revisions(map, &state.rows).map_err(|e| Error::Usage(e.to_string()))?
    } else {
        let found = map.get_revisions(ident).map_err(|e| {
            Error::Usage(format!(
                "Can't locate revision identified by '{ident}' ({e})"
            ))
        })?;
        if found.is_empty() {
            return Err(Error::Usage(format!("'{ident}' names no revision")));
        }
        found
    };
    if global.format == Format::Json {
        let shown: Vec<Shown> = revs
            .iter()
            .map(|&r| {
                let rev = map.revision(r);
                Shown {
                    info: revision_info(map, r, false),
                    upgrade_sql: rev.upgrade.sql.clone(),
                    downgrade_sql: rev.downgrade.as_ref().map(|d| d.sql.clone()),
                }
            })
            .collect();
        print_json(&shown)?;
        return Ok(Outcome::Done);
    }
    for rev in revs {
        print!("{}", log_entry(map, rev, false));
        let r = map.revision(rev);
        println!("\n-- migrate:upgrade\n{}", r.upgrade.sql.trim_end());
        match &r.downgrade {
            Some(down) => println!("\n-- migrate:downgrade\n{}", down.sql.trim_end()),
            None => println!("\n-- (no downgrade section: this revision is irreversible)"),
        }
        println!();
    }
    Ok(Outcome::Done)
}
