//! `rehearse`: every step of a plan run both ways on a throwaway database
//! before it runs on the real one.
//!
//! The run, owned here and reported as data (front ends choose the words):
//! 1. the live database is read only: its heads and its schema, on a
//!    session whose transactions are all read-only (a write would fail,
//!    not happen), without the migration lock;
//! 2. a scratch database is brought to those heads by applying the
//!    revision files through the migrator, and compared with the live
//!    schema: a difference is drift, reported first;
//! 3. each step of the plan: snapshot, upgrade (lock-traced), snapshot,
//!    downgrade (traced), snapshot (must equal the first), upgrade again,
//!    snapshot (must equal the second). The version table is moved by the
//!    step's own version operations, so the next step plans from it;
//! 4. the scratch database is dropped, whichever way the run ends.
//!
//! A step that leaves the scratch database where a finished upgrade would
//! (its cycle went through, it is irreversible, or a transactional
//! downgrade failed and was rolled back) lets the next step run; any other
//! failure stops the rehearsal there, since later steps would start from a
//! schema no real run produces.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::config::ConnectionSettings;
use crate::core::lint::verdict::judge_hazards;
use crate::core::lint::{SectionLint, SectionRef};
use crate::core::lock_trace::StepTrace;
use crate::core::plan::{Direction, Intent, PlanError, Step, StepKind, VersionOp};
use crate::core::revision::Revision;
use crate::core::schema::{Change, Snapshot, diff};
use crate::db::catalog::ReadOptions;
use crate::db::events::EventSink;
use crate::db::lock_trace::{Ending, SAMPLER_NAME, StepSql, TraceError, trace_step};
use crate::db::version_table::VersionWriter;
use crate::demo::PrivateCluster;
use crate::engine::cancel::Cancellation;
use crate::engine::error::Error;
use crate::engine::lint::lint_sections;
use crate::engine::project::Project;
use crate::engine::schema::{apply_revisions, read_session};
use crate::engine::scratch::ScratchDb;
use crate::engine::session::{Database, open_connection};

/// The server scratch databases are made on.
pub enum RehearsalServer {
    /// The environment's `rehearsal_url`, or the live database's server.
    Given(ConnectionSettings),
    /// A private cluster this run started, because the live server does
    /// not let its role create databases; stopped and removed on drop.
    Private {
        cluster: PrivateCluster,
        settings: ConnectionSettings,
    },
}

impl RehearsalServer {
    pub fn settings(&self) -> &ConnectionSettings {
        match self {
            RehearsalServer::Given(settings) | RehearsalServer::Private { settings, .. } => {
                settings
            }
        }
    }

    /// The cluster's directory and port, when one was started.
    pub fn private_cluster(&self) -> Option<&PrivateCluster> {
        match self {
            RehearsalServer::Private { cluster, .. } => Some(cluster),
            RehearsalServer::Given(_) => None,
        }
    }
}

/// The environment's `rehearsal_url` server, when it has one: resolved
/// like the live connection, with that URL.
pub fn configured_rehearsal_server(
    config: &crate::config::Config,
    options: &crate::engine::GlobalOptions,
    live: &ConnectionSettings,
) -> Result<Option<ConnectionSettings>, Error> {
    let Some(url) = live.env.as_ref().and_then(|env| env.rehearsal_url.clone()) else {
        return Ok(None);
    };
    let options = crate::engine::GlobalOptions {
        database_url: Some(url),
        ..options.clone()
    };
    let mut settings = crate::engine::connection_settings(config, &options)?;
    settings.url_source = "the environment's rehearsal_url".to_string();
    Ok(Some(settings))
}

/// Where to rehearse: `configured` (the environment's `rehearsal_url`)
/// when given, whatever it allows (it was chosen on purpose: a refusal
/// there is an error); else the live server when its role may create
/// databases; else a private cluster from the local server binaries.
/// `progress` hears the cluster's start.
pub async fn rehearsal_server(
    live: &ConnectionSettings,
    configured: Option<ConnectionSettings>,
    progress: &crate::demo::Progress,
) -> Result<RehearsalServer, Error> {
    if let Some(settings) = configured {
        return Ok(RehearsalServer::Given(settings));
    }
    if may_create_databases(live).await? {
        return Ok(RehearsalServer::Given(live.clone()));
    }
    let refused = format!(
        "the role on {} may not create databases (no CREATEDB)",
        server_name(live)
    );
    progress(&format!(
        "{refused}: starting a private cluster to rehearse on"
    ));
    let cluster = PrivateCluster::start(progress).await.map_err(|e| {
        Error::database(
            format!("{refused}, and no private cluster could be started"),
            e.to_string(),
        )
    })?;
    let mut settings = live.clone();
    settings.pg_config = cluster.connection_config();
    settings.display = crate::config::describe_pg_config(&settings.pg_config);
    settings.url_source = "a private cluster".to_string();
    // Its Unix socket is private to this process's user: no TLS.
    settings.tls.mode = crate::db::tls::SslMode::Disable;
    settings.tls.root_cert = None;
    Ok(RehearsalServer::Private { cluster, settings })
}

async fn may_create_databases(live: &ConnectionSettings) -> Result<bool, Error> {
    let conn = open_connection(live).await?;
    let sql = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user";
    let row = conn.client().query_one(sql, &[]).await;
    let allowed = row.and_then(|row| row.try_get::<_, bool>(0));
    allowed.map_err(|e| {
        Error::database(
            format!(
                "reading whether the role on {} may create databases",
                live.display
            ),
            crate::db::connect::describe_error(&e),
        )
    })
}

/// What to rehearse, where.
pub struct RehearseRequest<'a> {
    pub project: &'a Project,
    /// The live database: only read.
    pub live: &'a ConnectionSettings,
    /// The server the scratch databases are made on.
    pub server: &'a ConnectionSettings,
    /// `heads` or a revision: the plan's target.
    pub target: String,
    /// Base to heads on an empty scratch database, whatever the live heads.
    pub all: bool,
    pub options: ReadOptions,
}

/// What a front end hears while the rehearsal runs.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A scratch database exists (it will be dropped).
    ScratchCreated { name: String, server: String },
    /// A step begins: `index` of `total`, 0-based.
    Step {
        index: usize,
        total: usize,
        label: String,
    },
}

/// Which run of a step's cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Upgrade,
    Downgrade,
    Reupgrade,
}

/// A run of the cycle that failed: the tracer's error names file, line and
/// column as `apply` does.
#[derive(Debug, Clone)]
pub struct StepFailure {
    pub phase: Phase,
    pub error: TraceError,
}

/// One step's cycle.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub revision: String,
    pub path: std::path::PathBuf,
    /// `upgrade a -> b`.
    pub label: String,
    /// The file has no downgrade section (said, not a failure).
    pub irreversible: bool,
    /// What the downgrade did not restore: from the schema before the
    /// upgrade to the schema after the downgrade.
    pub downgrade_leaves: Vec<Change>,
    /// From the schema after the first upgrade to the one after the second.
    pub reupgrade_differs: Vec<Change>,
    pub failure: Option<StepFailure>,
    pub upgrade: Option<Run>,
    pub downgrade: Option<Run>,
    pub reupgrade: Option<Run>,
    /// The lint of the upgrade section, each lock or rewrite hazard judged
    /// by the first upgrade's trace (`Hazard::trace`).
    pub lint: Option<SectionLint>,
}

/// One traced run of a step's SQL.
#[derive(Debug, Clone)]
pub struct Run {
    pub duration: Duration,
    pub trace: StepTrace,
}

/// How a step's cycle ended, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Failed,
    DowngradeLeavesDifferences,
    ReupgradeDiffers,
    Irreversible,
    Reversible,
}

impl StepReport {
    /// A second upgrade that fails after a downgrade that left objects
    /// behind (an index that already exists) fails because of them: the
    /// step is not reversible, it did not fail on its own.
    pub fn verdict(&self) -> Verdict {
        let failed_on_leftovers = matches!(
            &self.failure,
            Some(StepFailure {
                phase: Phase::Reupgrade,
                ..
            })
        ) && !self.downgrade_leaves.is_empty();
        if self.failure.is_some() && !failed_on_leftovers {
            Verdict::Failed
        } else if !self.downgrade_leaves.is_empty() {
            Verdict::DowngradeLeavesDifferences
        } else if !self.reupgrade_differs.is_empty() {
            Verdict::ReupgradeDiffers
        } else if self.irreversible {
            Verdict::Irreversible
        } else {
            Verdict::Reversible
        }
    }

    /// Whether the scratch database is where a finished upgrade of this
    /// step leaves it (version table included), so the next step can be
    /// rehearsed: the cycle went through, or a downgrade failed before
    /// running or in a transaction that was rolled back.
    fn next_can_run(&self) -> bool {
        let Some(failure) = &self.failure else {
            return true;
        };
        match (&failure.phase, &failure.error) {
            (Phase::Downgrade, TraceError::Refused(_)) => true,
            (Phase::Downgrade, TraceError::Statement { trace, .. }) => trace.transactional,
            _ => false,
        }
    }
}

/// The whole rehearsal.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    /// The live database (`user@host:port/db`).
    pub live: String,
    /// The server the scratch databases were made on.
    pub server: String,
    pub live_heads: Vec<String>,
    /// From the schema the revision files make at the live heads to the
    /// live schema: what someone changed by hand. Empty when none.
    pub drift: Vec<Change>,
    pub steps: Vec<StepReport>,
    /// Steps of the plan not rehearsed because an earlier one left the
    /// scratch database in a state no real run produces.
    pub not_rehearsed: Vec<String>,
    pub total: Duration,
}

impl Rehearsal {
    /// 0 all reversible (or irreversible, said), 1 a step not reversible
    /// or re-upgrade differs, 3 a step failed.
    pub fn exit_code(&self) -> i32 {
        let verdicts = self.steps.iter().map(StepReport::verdict);
        let worst = verdicts.min_by_key(|v| *v as u8);
        match worst {
            Some(Verdict::Failed) => 3,
            Some(Verdict::DowngradeLeavesDifferences | Verdict::ReupgradeDiffers) => 1,
            _ => 0,
        }
    }
}

/// How a rehearsal ended.
pub enum Outcome {
    Done(Box<Rehearsal>),
    /// `cancel` was requested; the scratch database was dropped.
    Cancelled,
}

/// Runs the rehearsal; the scratch databases are always dropped (on
/// success, failure, cancellation, and from `Drop` when this future is
/// abandoned).
pub async fn rehearse(
    request: &RehearseRequest<'_>,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &Cancellation,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let Some(live) = until_cancelled(cancel, read_live(request)).await else {
        return Ok(Outcome::Cancelled);
    };
    let (live_heads, live_snapshot, live_display) = live?;
    let check_drift = async |db: &mut Database| -> Result<Vec<Change>, Error> {
        let at_live_heads = snapshot(db, &request.options).await?;
        Ok(diff(&at_live_heads, &live_snapshot))
    };
    let rehearsed = match request.all {
        // The drift check needs the live heads, `--all` an empty database:
        // two scratch databases, one after the other.
        true => {
            let drift = on_scratch(request, progress, cancel, &live_heads, check_drift).await?;
            let Some(drift) = drift else {
                return Ok(Outcome::Cancelled);
            };
            let steps = async |db: &mut Database| rehearse_plan(request, db, &[], progress).await;
            on_scratch(request, progress, cancel, &[], steps)
                .await?
                .map(|(steps, rest)| (drift, steps, rest))
        }
        false => {
            let both = async |db: &mut Database| {
                let drift = check_drift(db).await?;
                let (steps, rest) = rehearse_plan(request, db, &live_heads, progress).await?;
                Ok((drift, steps, rest))
            };
            on_scratch(request, progress, cancel, &live_heads, both).await?
        }
    };
    let Some((drift, mut steps, not_rehearsed)) = rehearsed else {
        return Ok(Outcome::Cancelled);
    };
    lint_steps(request, &mut steps);
    Ok(Outcome::Done(Box::new(Rehearsal {
        live: live_display,
        server: server_name(request.server),
        live_heads,
        drift,
        steps,
        not_rehearsed,
        total: started.elapsed(),
    })))
}

/// Lints each rehearsed step's upgrade with the live environment's
/// timeouts, and judges its hazards by what the first upgrade was seen
/// doing (a step whose upgrade failed keeps the lint without verdicts).
fn lint_steps(request: &RehearseRequest<'_>, steps: &mut [StepReport]) {
    let project = request.project;
    for step in steps {
        let Some(revision) = project.map.get(&step.revision) else {
            continue;
        };
        let section = SectionRef {
            revision,
            direction: Direction::Upgrade,
        };
        let mut lints = lint_sections(&[section], Some(request.live), &project.config.lint);
        let Some(mut lint) = lints.pop() else {
            continue;
        };
        if let Some(run) = &step.upgrade {
            judge_hazards(&mut lint.hazards, &run.trace);
        }
        step.lint = Some(lint);
    }
}

/// Makes a scratch database, brings it to `heads`, runs `work` on a
/// session there and drops it, whichever way `work` ends; `None` when
/// `cancel` stopped it.
async fn on_scratch<T>(
    request: &RehearseRequest<'_>,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &Cancellation,
    heads: &[String],
    work: impl AsyncFnOnce(&mut Database) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    let scratch = match until_cancelled(cancel, create_scratch(request, progress)).await {
        Some(made) => made?,
        None => return Ok(None),
    };
    let run = async {
        let quiet = |_: crate::db::events::ExecEvent| {};
        let mut db = bring_to(request.project, &scratch, heads, &quiet).await?;
        work(&mut db).await
    };
    let outcome = until_cancelled(cancel, run).await;
    let dropped = scratch.drop_database().await;
    match outcome {
        None => dropped.map(|()| None),
        Some(outcome) => {
            let value = outcome?;
            dropped?;
            Ok(Some(value))
        }
    }
}

async fn until_cancelled<T>(cancel: &Cancellation, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        output = work => Some(output),
        () = cancel.requested() => None,
    }
}

fn server_name(settings: &ConnectionSettings) -> String {
    match settings.display.rsplit_once('/') {
        Some((server, _)) => server.to_string(),
        None => settings.display.clone(),
    }
}

async fn create_scratch(
    request: &RehearseRequest<'_>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ScratchDb, Error> {
    let scratch = ScratchDb::create(request.server).await?;
    progress(Progress::ScratchCreated {
        name: scratch.name.clone(),
        server: scratch.server(),
    });
    Ok(scratch)
}

/// The live heads and schema, on a session that cannot write.
async fn read_live(
    request: &RehearseRequest<'_>,
) -> Result<(Vec<String>, Snapshot, String), Error> {
    let mut db = Database::open(request.project, request.live).await?;
    db.conn
        .client()
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| {
            Error::database(
                format!("making the session on {} read-only", db.display),
                crate::db::connect::describe_error(&e),
            )
        })?;
    let heads = db.heads().await?;
    let snapshot = read_session(&mut db, &request.options).await?;
    Ok((heads, snapshot.snapshot, db.display.clone()))
}

/// Rehearses each step of the plan from `start` to the target; the
/// steps not rehearsed after one that left the database unusable.
async fn rehearse_plan(
    request: &RehearseRequest<'_>,
    db: &mut Database,
    start: &[String],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<StepReport>, Vec<String>), Error> {
    let intent = Intent::Upgrade {
        target: request.target.clone(),
    };
    let plan = intent
        .plan(&request.project.map, start)
        .map_err(|e| plan_error(&request.target, e))?;
    let mut rehearser = Rehearser::new(db, &request.options);
    let mut reports = Vec::new();
    let total = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        progress(Progress::Step {
            index,
            total,
            label: step.short_log(),
        });
        let report = rehearser.step(request.project, step).await?;
        let go_on = report.next_can_run();
        reports.push(report);
        if !go_on {
            let rest = plan.steps[index + 1..]
                .iter()
                .map(Step::short_log)
                .collect();
            return Ok((reports, rest));
        }
    }
    Ok((reports, Vec::new()))
}

fn plan_error(target: &str, error: PlanError) -> Error {
    Error::Usage(format!("cannot plan the rehearsal to '{target}': {error}"))
}

/// A session on the scratch database at `heads`, applied through the
/// migrator, with the version table present.
async fn bring_to(
    project: &Project,
    scratch: &ScratchDb,
    heads: &[String],
    sink: &dyn EventSink,
) -> Result<Database, Error> {
    let cancel = Cancellation::new();
    let mut db = Database::open(project, &scratch.settings).await?;
    for head in heads {
        db = apply_revisions(project, scratch, head, sink, &cancel).await?;
    }
    let client = db.conn.client();
    let exists = db.table.exists(client).await;
    let exists = exists.map_err(|e| Error::database("reading the scratch version table", e))?;
    if !exists {
        let created = db.table.create(client).await;
        created.map_err(|e| Error::database("creating the scratch version table", e))?;
    }
    Ok(db)
}

async fn snapshot(db: &mut Database, options: &ReadOptions) -> Result<Snapshot, Error> {
    Ok(read_session(db, options).await?.snapshot)
}

/// Runs step cycles on one scratch session.
struct Rehearser<'d> {
    db: &'d mut Database,
    options: &'d ReadOptions,
    /// The second session a `transactional: false` step is sampled from,
    /// opened when first needed.
    sampler: Option<Client>,
    /// The schema as the last step's cycle left it, which is the next
    /// step's "before": nothing runs in between, so it is not read again
    /// (a quarter of the catalog reads of a long rehearsal).
    last: Option<Snapshot>,
}

impl<'d> Rehearser<'d> {
    fn new(db: &'d mut Database, options: &'d ReadOptions) -> Rehearser<'d> {
        Rehearser {
            db,
            options,
            sampler: None,
            last: None,
        }
    }

    async fn step(&mut self, project: &Project, step: &Step) -> Result<StepReport, Error> {
        let revision = project
            .map
            .get(&step.revision)
            .filter(|_| step.kind == StepKind::Migrate)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the plan step '{}' runs no revision",
                    step.short_log()
                ))
            })?;
        let mut report = StepReport {
            revision: revision.id.clone(),
            path: revision.path.clone(),
            label: step.short_log(),
            irreversible: revision.downgrade.is_none(),
            downgrade_leaves: Vec::new(),
            reupgrade_differs: Vec::new(),
            failure: None,
            upgrade: None,
            downgrade: None,
            reupgrade: None,
            lint: None,
        };
        let before = match self.last.take() {
            Some(known) => known,
            None => snapshot(self.db, self.options).await?,
        };
        let up = &step.version_ops;
        match self.run(revision, Direction::Upgrade, up).await? {
            Ok(run) => report.upgrade = Some(run),
            Err(error) => return Ok(report.failed(Phase::Upgrade, error)),
        }
        if report.irreversible {
            return Ok(report);
        }
        let after = snapshot(self.db, self.options).await?;
        let down = inverse(up);
        match self.run(revision, Direction::Downgrade, &down).await? {
            Ok(run) => report.downgrade = Some(run),
            Err(error) => return Ok(report.failed(Phase::Downgrade, error)),
        }
        report.downgrade_leaves = diff(&before, &snapshot(self.db, self.options).await?);
        match self.run(revision, Direction::Upgrade, up).await? {
            Ok(run) => report.reupgrade = Some(run),
            Err(error) => return Ok(report.failed(Phase::Reupgrade, error)),
        }
        let again = snapshot(self.db, self.options).await?;
        report.reupgrade_differs = diff(&after, &again);
        self.last = Some(again);
        Ok(report)
    }

    /// Traces one direction of `revision` and, when it went through, moves
    /// the version table as the step does. The outer error is the
    /// rehearsal's own (the scratch database failed); the inner one the
    /// step's.
    async fn run(
        &mut self,
        revision: &Revision,
        direction: Direction,
        ops: &[VersionOp],
    ) -> Result<Result<Run, TraceError>, Error> {
        let step = match StepSql::new(revision, direction) {
            Ok(step) => step,
            Err(error) => return Ok(Err(error)),
        };
        if !step.transactional() && self.sampler.is_none() {
            let opener = self.db.conn.session_opener();
            // Without a sampler the trace says its locks were not observed.
            self.sampler = opener.open(SAMPLER_NAME).await.ok();
        }
        let started = Instant::now();
        let client = self.db.conn.client_mut();
        let traced = trace_step(client, self.sampler.as_ref(), &step, Ending::Commit).await;
        let duration = started.elapsed();
        let trace = match traced {
            Ok(trace) => trace,
            Err(error) => return Ok(Err(error)),
        };
        let mut writer = VersionWriter::new(&self.db.table);
        for op in ops {
            let applied = writer.apply(self.db.conn.client(), op).await;
            applied.map_err(|e| Error::database("moving the scratch version table", e))?;
        }
        Ok(Ok(Run { duration, trace }))
    }
}

impl StepReport {
    fn failed(mut self, phase: Phase, error: TraceError) -> StepReport {
        self.failure = Some(StepFailure { phase, error });
        self
    }
}

/// The version operations that undo `ops`, in reverse order.
fn inverse(ops: &[VersionOp]) -> Vec<VersionOp> {
    ops.iter()
        .rev()
        .map(|op| match op {
            VersionOp::Insert { version } => VersionOp::Delete {
                version: version.clone(),
            },
            VersionOp::Delete { version } => VersionOp::Insert {
                version: version.clone(),
            },
            VersionOp::Update { from, to } => VersionOp::Update {
                from: to.clone(),
                to: from.clone(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_each_operation_in_reverse_order() {
        let ops = vec![
            VersionOp::Delete {
                version: "a".into(),
            },
            VersionOp::Update {
                from: "b".into(),
                to: "c".into(),
            },
        ];
        assert_eq!(
            inverse(&ops),
            vec![
                VersionOp::Update {
                    from: "c".into(),
                    to: "b".into()
                },
                VersionOp::Insert {
                    version: "a".into()
                },
            ]
        );
    }
}
