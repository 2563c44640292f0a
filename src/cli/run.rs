//! Commands that move the database: `upgrade`, `downgrade`, `stamp`, and
//! `check`, which only plans. Each either prints an offline script
//! (`--sql`, no connection), shows the plan against the live database
//! (`--dry-run`), or runs it, reporting every step on stderr as it happens.

use std::time::Duration;

use serde::Serialize;

use super::args::{Format, GlobalArgs, MoveArgs, SafetyArgs, StampArgs};
use super::lint::{lint_pending_plan, section_lines, summary};
use super::read::{check_known_rows, live_state_with_drift};
use super::report::{
    SafetyPrinter, format_duration, print_drift_report, print_queue, show_heads, wait_printer,
    warn_drift,
};
use super::signals::SignalWatch;
use super::{Outcome, print_json, runtime};
use crate::config::ConnectionSettings;
use crate::core::graph::RevisionMap;
use crate::core::lint::{SectionLint, Severity};
use crate::core::offline::render_offline;
use crate::core::plan::{Direction, Intent, Plan, Step, StepKind, VersionOp, plan_upgrade};
use crate::core::policy::{self, DriftState};
use crate::db::blockers::Blocker;
use crate::db::drift::DriftReport;
use crate::db::events::{EventSink, ExecError, ExecEvent, Queued, command_tag};
use crate::engine::lint::lint_plan;
use crate::engine::{Database, Error, PlanLint, Project, protected_environment};
use crate::engine::{Migrator, OwnedConsent, Refusal, RunError, RunReport, RunRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Upgrade,
    Downgrade,
    Stamp,
}

fn intent(verb: Verb, targets: &[String], purge: bool) -> Intent {
    let target = || targets.first().cloned().unwrap_or_default();
    match verb {
        Verb::Upgrade => Intent::Upgrade { target: target() },
        Verb::Downgrade => Intent::Downgrade { target: target() },
        Verb::Stamp => Intent::Stamp {
            targets: targets.to_vec(),
            purge,
        },
    }
}

/// What a run of `upgrade`, `downgrade` or `stamp` was asked to do.
struct Move<'a> {
    verb: Verb,
    targets: &'a [String],
    sql: bool,
    dry_run: bool,
    atomic: bool,
    purge: bool,
    safety: &'a SafetyArgs,
}

pub fn upgrade(global: &GlobalArgs, args: MoveArgs) -> Result<Outcome, Error> {
    move_database(
        global,
        Move {
            verb: Verb::Upgrade,
            targets: &[args.revision],
            sql: args.sql,
            dry_run: args.dry_run,
            atomic: args.atomic,
            purge: false,
            safety: &args.safety,
        },
    )
}

pub fn downgrade(global: &GlobalArgs, args: MoveArgs) -> Result<Outcome, Error> {
    move_database(
        global,
        Move {
            verb: Verb::Downgrade,
            targets: &[args.revision],
            sql: args.sql,
            dry_run: args.dry_run,
            atomic: args.atomic,
            purge: false,
            safety: &args.safety,
        },
    )
}

pub fn stamp(global: &GlobalArgs, args: StampArgs) -> Result<Outcome, Error> {
    move_database(
        global,
        Move {
            verb: Verb::Stamp,
            targets: &args.revisions,
            sql: args.sql,
            dry_run: args.dry_run,
            atomic: false,
            purge: args.purge,
            safety: &args.safety,
        },
    )
}

impl Move<'_> {
    fn intent(&self) -> Intent {
        intent(self.verb, self.targets, self.purge)
    }

    fn request(&self) -> RunRequest {
        RunRequest {
            intent: self.intent(),
            approved: None,
            atomic: self.atomic,
            consent: OwnedConsent {
                typed_name: self.safety.confirm.clone(),
                allow_drift: self.safety.allow_drift,
                // Typing the verb on the command line is the deliberate act.
                deliberate: true,
            },
            wait: self.safety.wait_policy(),
        }
    }
}

/// Plans offline (`--sql`), previews (`--dry-run`) or hands the run to the
/// migrator, which owns lock → heads → drift → plan → execute → unlock.
fn move_database(global: &GlobalArgs, run: Move<'_>) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    if run.sql {
        return offline(&project, run.verb, run.targets, run.purge);
    }
    if let Some(range) = run.targets.iter().find(|t| t.contains(':')) {
        return Err(Error::Usage(format!(
            "Range revision not allowed ('{range}'); a `from:to` range only works with --sql"
        )));
    }
    let settings = super::connection_settings(&project.config, &global.options())?;
    let request = run.request();
    let protected = protected_environment(&settings);
    if !run.dry_run {
        // Asked again under the lock with the drift as read then; this
        // early answer saves connecting when the name is plainly missing.
        let needed = policy::requirement(request.intent.action(), DriftState::Clean, protected);
        request.consent.check(request.intent.action(), needed)?;
    }
    runtime()?.block_on(async {
        let signals = SignalWatch::start()?;
        let opened = tokio::select! {
            db = Database::open(&project, &settings) => Some(db?.report_waits_to(wait_printer())),
            () = signals.cancel.requested() => None,
        };
        let Some(mut db) = opened else {
            return Ok(signals.outcome(Outcome::Done));
        };
        if run.dry_run {
            return dry_run(global, &project, (&db, &settings), &run).await;
        }
        let reporter = StderrReporter::new(&project.map);
        let migrator = Migrator {
            map: &project.map,
            migrations_dir: &project.migrations_dir,
            protected,
        };
        let outcome = migrator
            .run(&mut db, &request, &reporter, &signals.cancel)
            .await;
        let finished = report_run(global, &db.display, outcome);
        match (finished, signals.received()) {
            (Err(error), Some(signal)) => {
                eprintln!("FAILED: {}", super::report::error_text(&error));
                Ok(Outcome::Signalled(signal))
            }
            (finished, _) => finished.map(|done| signals.outcome(done)),
        }
    })
}

/// `--dry-run`: read-only, no lock; says what a real run would refuse.
async fn dry_run(
    global: &GlobalArgs,
    project: &Project,
    (db, settings): (&Database, &ConnectionSettings),
    run: &Move<'_>,
) -> Result<Outcome, Error> {
    let rows = db.heads().await?;
    let intent = run.intent();
    if intent.needs_known_rows() {
        check_known_rows(&project.map, &rows, project)?;
    }
    let report: DriftReport = db.drift_report(&project.map, &rows).await?;
    warn_drift(&report);
    if let Some(refusal) = Refusal::drift(&report, run.safety.allow_drift) {
        eprintln!(
            "WARN  A real run would stop here: {}",
            super::report::refusal_text(&refusal)
        );
    }
    let plan = intent.plan(&project.map, &rows)?;
    let lint = lint_plan(project, &plan, settings, db).await?;
    show_plan(global, project, &plan, &lint, &db.display)
}

/// `--sql`: the script from `from` (base unless given as `from:to`) to the
/// target, without connecting.
fn offline(
    project: &Project,
    verb: Verb,
    targets: &[String],
    purge: bool,
) -> Result<Outcome, Error> {
    if purge {
        return Err(Error::Usage("Can't use --purge with --sql mode".into()));
    }
    let mut start: Option<&str> = None;
    let mut destinations = Vec::new();
    for target in targets {
        let (from, to) = match target.split_once(':') {
            Some((from, to)) => (Some(from), to),
            None if verb == Verb::Downgrade => {
                return Err(Error::Usage(
                    "downgrade with --sql requires <fromrev>:<torev>".into(),
                ));
            }
            None => (None, target.as_str()),
        };
        if from.is_some() && start.is_some() && start != from {
            return Err(Error::Usage(
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
                Error::Usage(format!(
                    "Can't locate revision identified by '{from}' ({e})"
                ))
            })?;
            rev.map(|r| vec![map.id(r).to_string()]).unwrap_or_default()
        }
    };
    let plan = intent(verb, &destinations, false).plan(map, &rows)?;
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
    /// The lint's findings on the step's SQL (absent for a stamp step).
    #[serde(skip_serializing_if = "Option::is_none")]
    lint: Option<&'a SectionLint>,
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
    lint: &PlanLint,
    database: &str,
) -> Result<Outcome, Error> {
    let map = &project.map;
    if global.format == Format::Json {
        let steps = planned_steps(map, plan, lint, true);
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
        print_step_lint(lint, n);
    }
    println!("\n  lint: {}", lint_summary(lint));
    println!("\n-- The SQL, in the order it runs:\n");
    print!(
        "{}",
        render_offline(map, plan, &project.version_table_name())
    );
    Ok(Outcome::Done)
}

/// The plan's steps for JSON, each with its lint (and its SQL when asked).
fn planned_steps<'a>(
    map: &RevisionMap,
    plan: &'a Plan,
    lint: &'a PlanLint,
    with_sql: bool,
) -> Vec<PlannedStep<'a>> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(n, step)| PlannedStep {
            step,
            message: map
                .get(&step.revision)
                .map(|r| r.message.clone())
                .unwrap_or_default(),
            transactional: map.get(&step.revision).is_none_or(|r| r.transactional),
            sql: with_sql.then(|| step_sql(map, step)).flatten(),
            lint: lint.steps.get(n).and_then(Option::as_ref),
        })
        .collect()
}

/// The step's hazards, indented under it.
fn print_step_lint(lint: &PlanLint, step: usize) {
    if let Some(section) = lint.steps.get(step).and_then(Option::as_ref) {
        for line in section_lines(section) {
            println!("       {line}");
        }
    }
}

fn lint_summary(lint: &PlanLint) -> String {
    let sections: Vec<SectionLint> = lint.sections().cloned().collect();
    summary(&sections, lint.fail_on.unwrap_or(Severity::Warning))
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
    let overrides: Vec<String> = rev
        .filter(|_| step.kind == StepKind::Migrate)
        .map(|r| r.setting_overrides())
        .unwrap_or_default()
        .iter()
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    let mode = match overrides.is_empty() {
        true => mode.to_string(),
        false => format!("{mode} [{}]", overrides.join(", ")),
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
    safety: SafetyPrinter,
}

impl<'a> StderrReporter<'a> {
    fn new(map: &'a RevisionMap) -> StderrReporter<'a> {
        StderrReporter {
            map,
            safety: SafetyPrinter,
        }
    }

    /// The executor sends this when a wait starts, when its blockers
    /// change and as a heartbeat: each is printed.
    fn blocked(
        &self,
        step_index: usize,
        waiting_for: Option<String>,
        blockers: &[Blocker],
        queued: &[Queued],
    ) {
        let lock = waiting_for.map(|w| format!(" for {w}")).unwrap_or_default();
        eprintln!("WAIT  step {} is waiting{lock}, held by:", step_index + 1);
        for blocker in blockers {
            eprintln!("WAIT    {blocker}");
        }
        print_queue(queued);
    }

    fn unblocked(&self, waited: Duration) {
        eprintln!("INFO    stopped waiting after {}", format_duration(waited));
    }

    fn retrying(
        &self,
        index: usize,
        attempt: u32,
        attempts: u32,
        delay: Duration,
        error: &ExecError,
    ) {
        let text = error.to_string();
        let cause = text.lines().next().unwrap_or_default();
        eprintln!(
            "WARN  step {} failed on a lock and was rolled back: {cause}",
            index + 1
        );
        if let ExecError::Statement(failure) = error {
            for blocker in &failure.blocked_by {
                eprintln!("WARN    blocked by {blocker}");
            }
        }
        eprintln!(
            "WARN  retrying in {} (attempt {attempt} of {attempts})",
            format_duration(delay)
        );
    }
}

impl EventSink for StderrReporter<'_> {
    fn emit(&self, event: ExecEvent) {
        if self.safety.print(&event) {
            return;
        }
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
                // WARNING and NOTICE are wider than the other tags.
                eprintln!("{severity:<5} {message}");
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
            ExecEvent::Blocked {
                step_index,
                waiting_for,
                blockers,
                queued,
                ..
            } => self.blocked(step_index, waiting_for, &blockers, &queued),
            ExecEvent::StatementDone {
                line,
                command,
                rows,
                ..
            } => eprintln!("INFO    line {line}: {}", command_tag(&command, rows)),
            ExecEvent::Unblocked { waited, .. } => self.unblocked(waited),
            ExecEvent::StepRetrying {
                index,
                attempt,
                attempts,
                delay,
                error,
            } => self.retrying(index, attempt, attempts, delay, &error),
            _ => {}
        }
    }
}

#[derive(Serialize)]
struct RunReportJson<'a> {
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

/// Words the migrator's outcome: the steps' lines were printed as they
/// happened; this says where the run ended and where the database stands.
fn report_run(
    global: &GlobalArgs,
    database: &str,
    outcome: Result<RunReport, RunError>,
) -> Result<Outcome, Error> {
    let report = match outcome {
        Ok(report) => report,
        Err(RunError {
            error,
            unlock_failed,
        }) => {
            warn_unlock(unlock_failed.as_deref());
            if let Error::Exec(failure) = &error
                && let Some(line) = super::report::standing_line(failure)
            {
                eprintln!("INFO  {line}");
            }
            return Err(error);
        }
    };
    for issue in &report.drift_overridden {
        eprintln!(
            "WARN  --allow-drift: running despite drift of {}: {}",
            issue.revision, issue.summary
        );
    }
    warn_unlock(report.unlock_failed.as_deref());
    let plan = &report.plan;
    if global.format == Format::Json {
        let steps = plan
            .steps
            .iter()
            .zip(&report.summary.step_durations)
            .map(|(step, d)| RunStep {
                step,
                duration_ms: d.as_secs_f64() * 1000.0,
            })
            .collect();
        print_json(&RunReportJson {
            database,
            heads_before: &plan.heads_before,
            heads_after: report.heads_after.clone(),
            steps,
            duration_ms: report.summary.duration.as_secs_f64() * 1000.0,
        })?;
    } else if plan.is_empty() {
        eprintln!(
            "INFO  Nothing to do: the database is already there ({}).",
            show_heads(&report.heads_after)
        );
    } else {
        eprintln!(
            "INFO  {} step(s) in {}; heads now: {}",
            report.summary.steps_done,
            format_duration(report.summary.duration),
            show_heads(&report.heads_after)
        );
    }
    Ok(Outcome::Done)
}

fn warn_unlock(failed: Option<&str>) {
    if let Some(cause) = failed {
        eprintln!(
            "WARN  could not release the migration lock ({cause}); the server releases it when \
             this session ends, now"
        );
    }
}

#[derive(Serialize)]
struct CheckReport<'a> {
    database: &'a str,
    heads: &'a [String],
    /// `None` when the version table names unknown revisions (see `drift`).
    pending: Option<Vec<PlannedStep<'a>>>,
    drift: &'a DriftReport,
}

/// Exit 1 and list what is wrong when the database is not at the heads of
/// the scripts, its files drifted, or a step stopped halfway.
pub fn check(global: &GlobalArgs) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let (state, report) = live_state_with_drift(&project, global)?;
    let (rows, display) = (state.rows, state.display);
    let map = &project.map;
    let plan = match check_known_rows(map, &rows, &project) {
        Ok(()) => Some(plan_upgrade(map, &rows, "heads")?),
        Err(_) => None,
    };
    let lint = match &plan {
        Some(plan) => lint_pending_plan(&project, global, plan)?,
        None => PlanLint::default(),
    };
    let pending = plan.as_ref().map_or(0, |p| p.steps.len());
    let outcome = match pending == 0 && plan.is_some() && report.is_clean() {
        true => Outcome::Done,
        false => Outcome::Pending,
    };
    let Some(plan) = plan else {
        if global.format == Format::Json {
            print_json(&CheckReport {
                database: &display,
                heads: &rows,
                pending: None,
                drift: &report,
            })?;
        } else {
            println!(
                "Cannot tell what is pending on {display}: the version table names revisions no file defines."
            );
            print_drift_report(&report);
        }
        return Ok(outcome);
    };
    if global.format == Format::Json {
        let pending = planned_steps(map, &plan, &lint, false);
        print_json(&CheckReport {
            database: &display,
            heads: &rows,
            pending: Some(pending),
            drift: &report,
        })?;
        return Ok(outcome);
    }
    if plan.steps.is_empty() {
        println!("No new upgrade operations detected.");
    } else {
        println!(
            "{} revision(s) pending on {display} (current heads: {}):",
            plan.steps.len(),
            show_heads(&rows)
        );
        for (n, step) in plan.steps.iter().enumerate() {
            println!("  {}", describe_step(map, step));
            print_step_lint(&lint, n);
        }
        println!("  lint: {}", lint_summary(&lint));
    }
    print_drift_report(&report);
    Ok(outcome)
}
