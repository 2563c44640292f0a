//! Commands that move the database: `upgrade`, `downgrade`, `stamp`, and
//! `check`, which only plans. Each either prints an offline script
//! (`--sql`, no connection), shows the plan against the live database
//! (`--dry-run`), or runs it, reporting every step on stderr as it happens.

use std::time::Duration;

use serde::Serialize;

use super::args::{Format, GlobalArgs, MoveArgs, StampArgs};
use super::read::check_known_rows;
use super::{Outcome, print_json, runtime};
use crate::app::{AppError, Database, Project};
use crate::core::graph::RevisionMap;
use crate::core::offline::render_offline;
use crate::core::plan::{
    Direction, Plan, PlanError, Step, StepKind, VersionOp, plan_downgrade, plan_stamp, plan_upgrade,
};
use crate::db::events::{EventSink, ExecEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Upgrade,
    Downgrade,
    Stamp,
}

fn make_plan(
    map: &RevisionMap,
    verb: Verb,
    rows: &[String],
    targets: &[String],
    purge: bool,
) -> Result<Plan, PlanError> {
    let target = targets.first().map(String::as_str).unwrap_or_default();
    match verb {
        Verb::Upgrade => plan_upgrade(map, rows, target),
        Verb::Downgrade => plan_downgrade(map, rows, target),
        Verb::Stamp => plan_stamp(map, rows, targets, purge),
    }
}

pub fn upgrade(global: &GlobalArgs, args: MoveArgs) -> Result<Outcome, AppError> {
    move_database(
        global,
        Verb::Upgrade,
        &[args.revision],
        args.sql,
        args.dry_run,
        args.atomic,
        false,
    )
}

pub fn downgrade(global: &GlobalArgs, args: MoveArgs) -> Result<Outcome, AppError> {
    move_database(
        global,
        Verb::Downgrade,
        &[args.revision],
        args.sql,
        args.dry_run,
        args.atomic,
        false,
    )
}

pub fn stamp(global: &GlobalArgs, args: StampArgs) -> Result<Outcome, AppError> {
    move_database(
        global,
        Verb::Stamp,
        &args.revisions,
        args.sql,
        args.dry_run,
        false,
        args.purge,
    )
}

fn move_database(
    global: &GlobalArgs,
    verb: Verb,
    targets: &[String],
    sql: bool,
    dry_run: bool,
    atomic: bool,
    purge: bool,
) -> Result<Outcome, AppError> {
    let project = Project::load(&global.options())?;
    if sql {
        return offline(&project, verb, targets, purge);
    }
    if let Some(range) = targets.iter().find(|t| t.contains(':')) {
        return Err(AppError::Input(format!(
            "Range revision not allowed ('{range}'); a `from:to` range only works with --sql"
        )));
    }
    let settings = project.connection_settings(&global.options())?;
    runtime()?.block_on(async {
        let mut db = Database::connect(&settings, project.version_table()).await?;
        let rows = db.heads().await?;
        check_known_rows(&project.map, &rows, &project)?;
        let plan = make_plan(&project.map, verb, &rows, targets, purge)?;
        if dry_run {
            return show_plan(global, &project, &plan, &db.display);
        }
        execute(global, &project, &mut db, &plan, atomic).await
    })
}

/// `--sql`: the script from `from` (base unless given as `from:to`) to the
/// target, without connecting.
fn offline(
    project: &Project,
    verb: Verb,
    targets: &[String],
    purge: bool,
) -> Result<Outcome, AppError> {
    if purge {
        return Err(AppError::Input("Can't use --purge with --sql mode".into()));
    }
    let mut start: Option<&str> = None;
    let mut destinations = Vec::new();
    for target in targets {
        let (from, to) = match target.split_once(':') {
            Some((from, to)) => (Some(from), to),
            None if verb == Verb::Downgrade => {
                return Err(AppError::Input(
                    "downgrade with --sql requires <fromrev>:<torev>".into(),
                ));
            }
            None => (None, target.as_str()),
        };
        if from.is_some() && start.is_some() && start != from {
            return Err(AppError::Input(
                "Stamp operation with --sql only supports a single starting revision at a time"
                    .into(),
            ));
        }
        start = start.or(from);
        destinations.push(to.to_string());
    }
    let map = &project.map;
    let rows = match start.filter(|s| !s.is_empty() && *s != "base") {
        None => Vec::new(),
        Some(from) => {
            let rev = map.get_revision(from).map_err(|e| {
                AppError::Input(format!(
                    "Can't locate revision identified by '{from}' ({e})"
                ))
            })?;
            rev.map(|r| vec![map.id(r).to_string()]).unwrap_or_default()
        }
    };
    let plan = make_plan(map, verb, &rows, &destinations, false)?;
    print!(
        "{}",
        render_offline(map, &plan, &project.version_table_name())
    );
    Ok(Outcome::Done)
}

#[derive(Serialize)]
struct PlannedStep<'a> {
    #[serde(flatten)]
    step: &'a Step,
    message: String,
    transactional: bool,
    sql: Option<String>,
}

#[derive(Serialize)]
struct PlanReport<'a> {
    database: &'a str,
    heads_before: &'a [String],
    heads_after: &'a [String],
    purge: bool,
    steps: Vec<PlannedStep<'a>>,
}

fn step_sql(map: &RevisionMap, step: &Step) -> Option<String> {
    let rev = map
        .get(&step.revision)
        .filter(|_| step.kind == StepKind::Migrate)?;
    match step.direction {
        Direction::Upgrade => Some(rev.upgrade.sql.clone()),
        Direction::Downgrade => rev.downgrade.as_ref().map(|d| d.sql.clone()),
    }
}

/// `--dry-run`: the steps in order, each with its version-table change, and
/// the full SQL as it would run.
fn show_plan(
    global: &GlobalArgs,
    project: &Project,
    plan: &Plan,
    database: &str,
) -> Result<Outcome, AppError> {
    let map = &project.map;
    if global.format == Format::Json {
        let steps = plan
            .steps
            .iter()
            .map(|step| PlannedStep {
                step,
                message: map
                    .get(&step.revision)
                    .map(|r| r.message.clone())
                    .unwrap_or_default(),
                transactional: map.get(&step.revision).is_none_or(|r| r.transactional),
                sql: step_sql(map, step),
            })
            .collect();
        print_json(&PlanReport {
            database,
            heads_before: &plan.heads_before,
            heads_after: &plan.heads_after,
            purge: plan.purge,
            steps,
        })?;
        return Ok(Outcome::Done);
    }
    println!(
        "Plan for {database} (dry run: nothing is changed)\n  current heads: {}\n  heads after:   {}",
        show_heads(&plan.heads_before),
        show_heads(&plan.heads_after)
    );
    if plan.purge {
        println!(
            "  first: delete every row of {}",
            project.version_table_name().qualified()
        );
    }
    if plan.steps.is_empty() {
        println!("\nNothing to do.");
        return Ok(Outcome::Done);
    }
    println!();
    for (n, step) in plan.steps.iter().enumerate() {
        println!("  {:>3}. {}", n + 1, describe_step(map, step));
        for op in &step.version_ops {
            println!("       version table: {}", describe_op(op));
        }
    }
    println!("\n-- The SQL, in the order it runs:\n");
    print!(
        "{}",
        render_offline(map, plan, &project.version_table_name())
    );
    Ok(Outcome::Done)
}

fn show_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "(none: base)".to_string()
    } else {
        heads.join(", ")
    }
}

fn describe_step(map: &RevisionMap, step: &Step) -> String {
    let rev = map.get(&step.revision);
    let message = rev.map(|r| r.message.as_str()).unwrap_or_default();
    let mode = match (&step.kind, rev.is_none_or(|r| r.transactional)) {
        (StepKind::Stamp, _) => " [stamp only, no SQL]",
        (_, false) => " [non-transactional]",
        _ => "",
    };
    // Downgrades shout: whoever reads this at 3 a.m. must not mistake one.
    let shown = match (&step.kind, step.direction) {
        (StepKind::Migrate, Direction::Downgrade) => format!(
            "DOWNGRADE {} -> {}",
            step.from_revisions.join(", "),
            step.to_revisions.join(", ")
        ),
        _ => step.short_log(),
    };
    if message.is_empty() {
        format!("{shown}{mode}")
    } else {
        format!("{shown}, {message}{mode}")
    }
}

fn describe_op(op: &VersionOp) -> String {
    match op {
        VersionOp::Insert { version } => format!("insert {version}"),
        VersionOp::Update { from, to } => format!("{from} -> {to}"),
        VersionOp::Delete { version } => format!("delete {version}"),
    }
}

/// Prints executor events on stderr as they happen.
struct StderrReporter<'a> {
    map: &'a RevisionMap,
}

impl EventSink for StderrReporter<'_> {
    fn emit(&self, event: ExecEvent) {
        match event {
            ExecEvent::VersionTableCreated { table } => {
                eprintln!("INFO  Created version table {table}")
            }
            ExecEvent::VersionTablePurged { table, rows } => {
                eprintln!("INFO  Deleted {rows} row(s) from {table}")
            }
            ExecEvent::StepStarted { step, .. } => {
                eprintln!("INFO  Running {}", describe_step(self.map, &step))
            }
            ExecEvent::Notice {
                severity,
                message,
                detail,
                hint,
                ..
            } => {
                eprintln!("{severity:<6}{message}");
                if let Some(detail) = detail {
                    eprintln!("      DETAIL: {detail}");
                }
                if let Some(hint) = hint {
                    eprintln!("      HINT: {hint}");
                }
            }
            ExecEvent::StepFinished { duration, .. } => {
                eprintln!("INFO    done in {}", format_duration(duration))
            }
            _ => {}
        }
    }
}

pub(crate) fn format_duration(d: Duration) -> String {
    if d.as_secs() >= 1 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

#[derive(Serialize)]
struct RunReport<'a> {
    database: &'a str,
    heads_before: &'a [String],
    heads_after: Vec<String>,
    steps: Vec<RunStep<'a>>,
    duration_ms: f64,
}

#[derive(Serialize)]
struct RunStep<'a> {
    #[serde(flatten)]
    step: &'a Step,
    duration_ms: f64,
}

async fn execute(
    global: &GlobalArgs,
    project: &Project,
    db: &mut Database,
    plan: &Plan,
    atomic: bool,
) -> Result<Outcome, AppError> {
    if plan.is_empty() {
        if global.format == Format::Json {
            print_json(&RunReport {
                database: &db.display,
                heads_before: &plan.heads_before,
                heads_after: plan.heads_after.clone(),
                steps: Vec::new(),
                duration_ms: 0.0,
            })?;
        } else {
            eprintln!(
                "INFO  Nothing to do: the database is already there ({}).",
                show_heads(&plan.heads_before)
            );
        }
        return Ok(Outcome::Done);
    }
    let reporter = StderrReporter { map: &project.map };
    let summary = match db.execute(&project.map, plan, atomic, &reporter).await {
        Ok(summary) => summary,
        Err(err) => {
            // Tell the operator where the database stands before the error.
            // Input errors are refusals made before any step ran.
            if let Ok(heads) = db.heads().await {
                let what = match (&err, atomic) {
                    (AppError::Input(_), _) => "Nothing was run",
                    (_, true) => "The failed step was rolled back with the whole plan",
                    (_, false) => "The failed step was rolled back",
                };
                eprintln!("INFO  {what}; the database is at: {}", show_heads(&heads));
            }
            return Err(err);
        }
    };
    let heads_after = db.heads().await?;
    if global.format == Format::Json {
        let steps = plan
            .steps
            .iter()
            .zip(&summary.step_durations)
            .map(|(step, d)| RunStep {
                step,
                duration_ms: d.as_secs_f64() * 1000.0,
            })
            .collect();
        print_json(&RunReport {
            database: &db.display,
            heads_before: &plan.heads_before,
            heads_after,
            steps,
            duration_ms: summary.duration.as_secs_f64() * 1000.0,
        })?;
    } else {
        eprintln!(
            "INFO  {} step(s) in {}; heads now: {}",
            summary.steps_done,
            format_duration(summary.duration),
            show_heads(&heads_after)
        );
    }
    Ok(Outcome::Done)
}

#[derive(Serialize)]
struct CheckReport<'a> {
    database: &'a str,
    heads: &'a [String],
    pending: Vec<PlannedStep<'a>>,
}

/// Exit 1 and list the pending revisions when the database is not at the
/// heads of the scripts.
pub fn check(global: &GlobalArgs) -> Result<Outcome, AppError> {
    let project = Project::load(&global.options())?;
    let settings = project.connection_settings(&global.options())?;
    let (rows, display) = runtime()?.block_on(async {
        let db = Database::connect(&settings, project.version_table()).await?;
        Ok::<_, AppError>((db.heads().await?, db.display.clone()))
    })?;
    let map = &project.map;
    check_known_rows(map, &rows, &project)?;
    let plan = plan_upgrade(map, &rows, "heads")?;
    if global.format == Format::Json {
        let pending = plan
            .steps
            .iter()
            .map(|step| PlannedStep {
                step,
                message: map
                    .get(&step.revision)
                    .map(|r| r.message.clone())
                    .unwrap_or_default(),
                transactional: map.get(&step.revision).is_none_or(|r| r.transactional),
                sql: None,
            })
            .collect();
        print_json(&CheckReport {
            database: &display,
            heads: &rows,
            pending,
        })?;
    } else if plan.steps.is_empty() {
        println!("No new upgrade operations detected.");
    } else {
        println!(
            "{} revision(s) pending on {display} (current heads: {}):",
            plan.steps.len(),
            show_heads(&rows)
        );
        for step in &plan.steps {
            println!("  {}", describe_step(map, step));
        }
    }
    Ok(if plan.steps.is_empty() {
        Outcome::Done
    } else {
        Outcome::Pending
    })
}
