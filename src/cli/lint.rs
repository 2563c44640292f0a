//! `retort lint`: Squawk's hazards on the revisions about to run (or on
//! those named), with retort's context; and the hazard lines `upgrade
//! --dry-run` and `check` print under each step.

use serde::Serialize;

use super::args::{Format, GlobalArgs, LintArgs};
use super::read::check_known_rows;
use super::report::{LintScope, lint_scope_note};
use super::{Outcome, print_json, runtime};
use crate::config::ConnectionSettings;
use crate::core::graph::RevisionMap;
use crate::core::lint::{Hazard, SectionLint, SectionRef, Severity};
use crate::core::plan::{Direction, plan_upgrade};
use crate::engine::lint::{add_sizes, lint_plan, lint_sections};
use crate::engine::{Database, Error, PlanLint, Project, display_path};

#[derive(Serialize)]
struct LintReport<'a> {
    /// `pending`, `all` or `revisions`.
    linted: &'a str,
    database: Option<&'a str>,
    fail_on: Severity,
    failing: usize,
    sections: &'a [SectionLint],
}

/// Which revisions the command line asked for.
enum Selection {
    Named(Vec<String>),
    All,
    Pending,
    /// Pending with a database, all without one.
    Default,
}

impl Selection {
    fn of(args: LintArgs) -> Selection {
        match (args.revisions.is_empty(), args.all, args.pending) {
            (false, _, _) => Selection::Named(args.revisions),
            (_, true, _) => Selection::All,
            (_, _, true) => Selection::Pending,
            _ => Selection::Default,
        }
    }
}

pub fn lint(global: &GlobalArgs, args: LintArgs) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let selection = Selection::of(args);
    let settings = super::connection_settings(&project.config, &global.options());
    let (sections, scope) = runtime()?.block_on(async {
        let db = match &settings {
            Ok(settings) => Database::connect(settings, project.version_table()).await,
            Err(error) => Err(Error::Config(error.to_string())),
        };
        linted(&project, selection, settings.as_ref().ok(), db).await
    })?;
    lint_scope_note(&scope);
    let fail_on = project.config.lint.fail_on;
    let failing: usize = sections.iter().map(|s| s.failing(fail_on)).sum();
    if global.format == Format::Json {
        print_json(&LintReport {
            linted: scope.word(),
            database: scope.database(),
            fail_on,
            failing,
            sections: &sections,
        })?;
    } else {
        for section in &sections {
            for line in section_lines(section) {
                println!("{line}");
            }
        }
        println!("{}", summary(&sections, fail_on));
    }
    Ok(match failing {
        0 => Outcome::Done,
        _ => Outcome::Pending,
    })
}

/// Lints what `selection` names, with live sizes when `db` connected.
async fn linted(
    project: &Project,
    selection: Selection,
    settings: Option<&ConnectionSettings>,
    db: Result<Database, Error>,
) -> Result<(Vec<SectionLint>, LintScope), Error> {
    let map = &project.map;
    let options = &project.config.lint;
    let db = match (db, &selection) {
        // --pending has nothing to lint without the database: its error
        // (exit 3) is the answer.
        (Err(error), Selection::Pending) => return Err(error),
        (db, _) => db,
    };
    let (db, unreachable) = match db {
        Ok(db) => (Some(db), None),
        Err(error) => (None, Some(super::report::error_text(&error))),
    };
    if matches!(selection, Selection::Pending | Selection::Default)
        && let (Some(db), Some(settings)) = (&db, settings)
    {
        return pending(project, db, settings).await;
    }
    let revisions = match &selection {
        Selection::Named(idents) => named(map, idents)?,
        _ => all(map)?,
    };
    let refs = both_sections(map, &revisions);
    let mut sections = lint_sections(&refs, settings, options);
    if let Some(db) = &db {
        add_sizes(db, sections.iter_mut(), options).await?;
    }
    let scope = match selection {
        Selection::Named(_) => LintScope::Named {
            count: revisions.len(),
            database: db.map(|d| d.display),
        },
        _ => LintScope::All {
            count: revisions.len(),
            database: db.as_ref().map(|d| d.display.clone()),
            unreachable: matches!(selection, Selection::Default)
                .then_some(unreachable)
                .flatten(),
        },
    };
    Ok((sections, scope))
}

/// The pending upgrades linted as the plan that runs them (tables they
/// create are new to later hazards), then each one's downgrade on its own.
async fn pending(
    project: &Project,
    db: &Database,
    settings: &ConnectionSettings,
) -> Result<(Vec<SectionLint>, LintScope), Error> {
    let map = &project.map;
    let rows = db.heads().await?;
    check_known_rows(map, &rows, project)?;
    let plan = plan_upgrade(map, &rows, "heads")?;
    let upgrades = lint_plan(project, &plan, settings, db).await?;
    let ids: Vec<usize> = plan
        .steps
        .iter()
        .filter_map(|s| map.index_of(&s.revision))
        .collect();
    let downgrades: Vec<SectionRef> = ids
        .iter()
        .map(|&i| SectionRef {
            revision: map.revision(i),
            direction: Direction::Downgrade,
        })
        .collect();
    let options = &project.config.lint;
    let mut downgrades = lint_sections(&downgrades, Some(settings), options);
    add_sizes(db, downgrades.iter_mut(), options).await?;
    let mut sections = Vec::new();
    for upgrade in upgrades.steps.into_iter().flatten() {
        sections.push(upgrade.clone());
        if let Some(at) = downgrades
            .iter()
            .position(|d| d.revision == upgrade.revision)
        {
            sections.push(downgrades.remove(at));
        }
    }
    let scope = LintScope::Pending {
        count: ids.len(),
        database: db.display.clone(),
    };
    Ok((sections, scope))
}

fn named(map: &RevisionMap, idents: &[String]) -> Result<Vec<usize>, Error> {
    let mut found = Vec::new();
    for ident in idents {
        let revs = map.get_revisions(ident).map_err(|e| {
            Error::Usage(format!(
                "Can't locate revision identified by '{ident}' ({e})"
            ))
        })?;
        if revs.is_empty() {
            return Err(Error::Usage(format!("'{ident}' names no revision")));
        }
        found.extend(
            revs.into_iter()
                .filter(|r| !found.contains(r))
                .collect::<Vec<_>>(),
        );
    }
    Ok(found)
}

/// Every revision, base first (the order an upgrade from nothing runs them).
fn all(map: &RevisionMap) -> Result<Vec<usize>, Error> {
    let plan = plan_upgrade(map, &[], "heads")?;
    Ok(plan
        .steps
        .iter()
        .filter_map(|s| map.index_of(&s.revision))
        .collect())
}

fn both_sections<'a>(map: &'a RevisionMap, revisions: &[usize]) -> Vec<SectionRef<'a>> {
    revisions
        .iter()
        .flat_map(|&i| {
            [Direction::Upgrade, Direction::Downgrade].map(|direction| SectionRef {
                revision: map.revision(i),
                direction,
            })
        })
        .collect()
}

/// The lint of a pending plan for `check`, on a session of its own.
pub(super) fn lint_pending_plan(
    project: &Project,
    global: &GlobalArgs,
    plan: &crate::core::plan::Plan,
) -> Result<PlanLint, Error> {
    let settings = crate::engine::connection_settings(&project.config, &global.options())?;
    runtime()?.block_on(async {
        let db = Database::connect(&settings, project.version_table()).await?;
        lint_plan(project, plan, &settings, &db).await
    })
}

/// `file:line:col rule message`, then what weighs it, its help and the
/// safer statement; for SQL the linter could not read, one line saying so.
pub(super) fn section_lines(section: &SectionLint) -> Vec<String> {
    let path = display_path(&section.path);
    let mut lines = Vec::new();
    if let Some(problem) = &section.not_linted {
        lines.push(format!(
            "{path}:{}:{} not linted: parse error: {} ({} section; the server decides when it runs)",
            problem.line,
            problem.column,
            problem.message,
            direction_word(section.direction)
        ));
    }
    for hazard in &section.hazards {
        lines.extend(hazard_lines(&path, section.direction, hazard));
    }
    lines
}

fn hazard_lines(path: &str, direction: Direction, hazard: &Hazard) -> Vec<String> {
    let mut lines = vec![format!(
        "{path}:{}:{} {} {}",
        hazard.line, hazard.column, hazard.rule, hazard.message
    )];
    lines.push(format!("    {}", weight(direction, hazard)));
    if let Some(help) = &hazard.help {
        lines.push(format!("    help: {help}"));
    }
    if let Some(fix) = &hazard.fix {
        lines.push(format!("    safer: {}", one_line(fix)));
    }
    lines
}

/// `warning · downgrade · table invoices: 12.0 M rows, 4.1 GB`.
fn weight(direction: Direction, hazard: &Hazard) -> String {
    let mut parts = vec![match hazard.ignored {
        true => format!("ignored (lint_ignore; would be {})", hazard.severity),
        false => hazard.severity.to_string(),
    }];
    parts.push(format!("{} section", direction_word(direction)));
    if hazard.data_loss {
        parts.push("loses data".to_string());
    }
    if let Some(table) = &hazard.table {
        parts.push(match (hazard.new_table, hazard.size) {
            (true, _) => format!(
                "table {} is created earlier in the plan: not a hazard where it runs",
                table.written
            ),
            (false, Some(size)) => format!("table {}: {}", table.written, size.describe()),
            (false, None) => format!("table {}", table.written),
        });
    }
    parts.join(" · ")
}

fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrade",
        Direction::Downgrade => "downgrade",
    }
}

/// A statement on one line, its runs of whitespace collapsed.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `3 hazards in 2 sections (1 error, 2 warnings), 1 ignored; failing at
/// warning: 3`.
pub(super) fn summary(sections: &[SectionLint], fail_on: Severity) -> String {
    let hazards: Vec<&Hazard> = sections.iter().flat_map(|s| &s.hazards).collect();
    let count = |severity: Severity| {
        hazards
            .iter()
            .filter(|h| !h.ignored && h.severity == severity)
            .count()
    };
    let ignored = hazards.iter().filter(|h| h.ignored).count();
    let failing: usize = sections.iter().map(|s| s.failing(fail_on)).sum();
    let not_linted = sections.iter().filter(|s| s.not_linted.is_some()).count();
    let mut text = format!(
        "{} hazard(s) in {} section(s): {} error, {} warning, {} info, {ignored} ignored; \
         failing at {fail_on} or above: {failing}",
        hazards.len(),
        sections.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    if not_linted > 0 {
        text.push_str(&format!("; {not_linted} section(s) not linted"));
    }
    text
}
