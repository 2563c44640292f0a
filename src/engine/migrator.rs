//! The one owner of every run that changes the database.
//!
//! Both front ends hand a [`RunRequest`] to [`Migrator::run`], which does the
//! whole sequence in one place:
//!
//! 1. take the migration lock (a run never plans from heads another run is
//!    about to move);
//! 2. read the version table;
//! 3. refuse rows no revision file defines (except `stamp --purge`, the way
//!    out of them);
//! 4. read the drift report and refuse on drift or an unresolved partial
//!    step unless the user chose to override drift;
//! 5. apply the confirmation policy with the drift state as read now;
//! 6. make the plan from the intent, and when the user approved a plan
//!    shown earlier, refuse if the plan made now differs;
//! 7. re-read every revision file of the plan and refuse when one changed
//!    on disk since it was loaded, so what runs is what was shown;
//! 8. execute, recording every step in the history (on a new connection
//!    when the run's own was lost);
//! 9. read the version table again, so the heads reported are heads read;
//! 10. release the lock.
//!
//! `resolve` is the other changing run and lives beside it. Nothing here
//! prints: progress goes to the event sink, the outcome comes back as data.

use std::path::Path;

use crate::core::graph::RevisionMap;
use crate::core::plan::{Intent, Plan, StepKind};
use crate::core::policy::{self, Consent, DriftState, Requirement};
use crate::core::revision::parse_revision;
use crate::db::drift::{DriftIssue, DriftReport};
use crate::db::events::EventSink;
use crate::db::executor::ExecSummary;
use crate::db::history::HistoryEntry;
use crate::db::lock::WaitPolicy;
use crate::db::resolve::ResolveChoice;
use crate::engine::Database;
use crate::engine::cancel::Cancellation;
use crate::engine::error::{ChangedFile, Error, ExecFailure, FileChange, Refusal};

/// What the person asked for, and what they agreed to.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub intent: Intent,
    /// The plan the person saw and approved (the console's dialog); the run
    /// refuses when the plan made under the lock is not this one.
    pub approved: Option<Plan>,
    /// One transaction for the whole plan.
    pub atomic: bool,
    pub consent: OwnedConsent,
    pub wait: WaitPolicy,
}

/// [`Consent`] with owned text, as it travels to the worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedConsent {
    pub typed_name: Option<String>,
    pub allow_drift: bool,
    pub deliberate: bool,
}

impl OwnedConsent {
    fn borrowed(&self) -> Consent<'_> {
        Consent {
            typed_name: self.typed_name.as_deref(),
            allow_drift: self.allow_drift,
            deliberate: self.deliberate,
        }
    }

    /// Refuses unless this consent meets `needed`.
    pub fn check(&self, action: policy::Action, needed: Requirement) -> Result<(), Error> {
        match policy::satisfied(&needed, &self.borrowed()) {
            true => Ok(()),
            false => Err(Error::refused(Refusal::NotConfirmed {
                action,
                needed,
                typed: self.typed_name.clone(),
            })),
        }
    }
}

/// What a finished run did, as read back from the database.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub plan: Plan,
    pub summary: ExecSummary,
    /// The version table read after the last step.
    pub heads_after: Vec<String>,
    /// Drift the person chose to run on top of.
    pub drift_overridden: Vec<DriftIssue>,
    /// Why the migration lock could not be released on the session (the
    /// server releases it when the session ends, which it then does).
    pub unlock_failed: Option<String>,
}

/// A run that did not finish its plan.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct RunError {
    pub error: Error,
    pub unlock_failed: Option<String>,
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        self.error.exit_code()
    }
}

impl From<Error> for RunError {
    fn from(error: Error) -> Self {
        RunError {
            error,
            unlock_failed: None,
        }
    }
}

/// The revision files a run works from.
pub struct Migrator<'a> {
    pub map: &'a RevisionMap,
    /// Where the files live, for messages.
    pub migrations_dir: &'a Path,
    /// The protected environment's name, when the target is one.
    pub protected: Option<&'a str>,
}

impl Migrator<'_> {
    /// Runs `request` on `db` (a session of its own), reporting progress to
    /// `sink`; `cancel` stops it at any phase.
    pub async fn run(
        &self,
        db: &mut Database,
        request: &RunRequest,
        sink: &dyn EventSink,
        cancel: &Cancellation,
    ) -> Result<RunReport, RunError> {
        cancel.attach(db.conn.cancel_handle());
        let outcome = self.locked(db, request.wait, sink, cancel, async |db| {
            self.under_lock(db, request, sink, cancel).await
        });
        let (outcome, unlock_failed) = outcome.await;
        cancel.finished();
        match outcome {
            Ok(mut report) => {
                report.unlock_failed = unlock_failed;
                Ok(report)
            }
            Err(error) => Err(RunError {
                error,
                unlock_failed,
            }),
        }
    }

    /// `retort resolve`: records the choice for a stopped or drifted
    /// revision, under the migration lock.
    pub async fn resolve(
        &self,
        db: &mut Database,
        request: &ResolveRequest,
        sink: &dyn EventSink,
        cancel: &Cancellation,
    ) -> Result<ResolveReport, RunError> {
        let action = match request.choice {
            ResolveChoice::Applied => policy::Action::ResolveApplied,
            _ => policy::Action::ResolveOther,
        };
        let needed = policy::requirement(action, DriftState::Clean, self.protected);
        request.consent.check(action, needed)?;
        cancel.attach(db.conn.cancel_handle());
        let outcome = self.locked(db, request.wait, sink, cancel, async |db| {
            let entry = db
                .resolve(
                    self.map,
                    &request.revision,
                    request.choice,
                    request.note.as_deref(),
                    sink,
                )
                .await?;
            let heads_after = db.heads().await?;
            Ok(ResolveReport { entry, heads_after })
        });
        let (outcome, unlock_failed) = outcome.await;
        cancel.finished();
        outcome.map_err(|error| RunError {
            error,
            unlock_failed,
        })
    }

    /// Takes the lock, runs `work`, releases the lock whatever happened.
    async fn locked<T>(
        &self,
        db: &mut Database,
        wait: WaitPolicy,
        sink: &dyn EventSink,
        cancel: &Cancellation,
        work: impl AsyncFnOnce(&mut Database) -> Result<T, Error>,
    ) -> (Result<T, Error>, Option<String>) {
        if cancel.is_requested() {
            return (Err(Error::CancelledBeforeStart), None);
        }
        if let Err(error) = db.lock(wait, sink, cancel.requested()).await {
            let error = match cancel.is_requested() {
                true => Error::CancelledBeforeStart,
                false => error,
            };
            return (Err(error), None);
        }
        let outcome = work(db).await;
        // A lost connection took the lock with it: unlock is a no-op then.
        let unlock_failed = db.unlock(sink).await.err().map(|e| e.to_string());
        (outcome, unlock_failed)
    }

    async fn under_lock(
        &self,
        db: &mut Database,
        request: &RunRequest,
        sink: &dyn EventSink,
        cancel: &Cancellation,
    ) -> Result<RunReport, Error> {
        let rows = db.heads().await?;
        if request.intent.needs_known_rows() {
            known_rows(self.map, &rows, self.migrations_dir)?;
        }
        let report = db.drift_report(self.map, &rows).await?;
        let allow_drift = request.consent.allow_drift;
        if let Some(refusal) = Refusal::drift(&report, allow_drift) {
            return Err(Error::refused(refusal));
        }
        let needed = requirement_for(&request.intent, Some(&report), self.protected);
        request.consent.check(request.intent.action(), needed)?;
        let plan = request.intent.plan(self.map, &rows)?;
        if let Some(approved) = request.approved.as_ref().filter(|a| **a != plan) {
            return Err(Error::refused(Refusal::PlanChanged {
                approved: Box::new(approved.clone()),
                now: Box::new(plan),
            }));
        }
        let changed = changed_files(self.map, &plan);
        if !changed.is_empty() {
            return Err(Error::refused(Refusal::FilesChanged { files: changed }));
        }
        // Executing first, then the check: a request racing this point is
        // either seen here or sent to the server (see `engine::cancel`).
        cancel.executing();
        if cancel.is_requested() {
            return Err(Error::CancelledBeforeStart);
        }
        let drift_overridden = overridden(&report, allow_drift);
        if plan.is_empty() {
            return Ok(RunReport {
                heads_after: rows,
                plan,
                summary: ExecSummary {
                    steps_done: 0,
                    duration: std::time::Duration::ZERO,
                    step_durations: Vec::new(),
                },
                drift_overridden,
                unlock_failed: None,
            });
        }
        let executed = db
            .execute(self.map, &plan, request.atomic, sink, cancel.requested())
            .await;
        match executed {
            Ok(summary) => Ok(RunReport {
                heads_after: db.heads().await?,
                plan,
                summary,
                drift_overridden,
                unlock_failed: None,
            }),
            Err((error, recovery)) => {
                let heads_now = db.heads().await.ok();
                Err(Error::Exec(Box::new(ExecFailure {
                    error,
                    recovery,
                    heads_now,
                    atomic: request.atomic,
                })))
            }
        }
    }
}

/// Rows no revision file defines make every answer about the database
/// unreliable: refuse to plan from them.
pub fn known_rows(map: &RevisionMap, rows: &[String], dir: &Path) -> Result<(), Error> {
    let unknown: Vec<String> = rows
        .iter()
        .filter(|r| map.get(r).is_none())
        .cloned()
        .collect();
    match unknown.is_empty() {
        true => Ok(()),
        false => Err(Error::refused(Refusal::UnknownRows {
            rows: unknown,
            dir: dir.to_path_buf(),
        })),
    }
}

/// What `resolve` records.
#[derive(Debug, Clone)]
pub struct ResolveRequest {
    pub revision: String,
    pub choice: ResolveChoice,
    pub note: Option<String>,
    pub consent: OwnedConsent,
    pub wait: WaitPolicy,
}

#[derive(Debug, Clone)]
pub struct ResolveReport {
    pub entry: HistoryEntry,
    pub heads_after: Vec<String>,
}

/// The drift state the confirmation policy judges.
pub fn drift_state(report: &DriftReport) -> DriftState {
    let blocking = report.issues.iter().filter(|i| i.blocks_runs());
    let mut state = DriftState::Clean;
    for issue in blocking {
        if !issue.overridable() {
            return DriftState::Blocking;
        }
        state = DriftState::Overridable;
    }
    state
}

fn overridden(report: &DriftReport, allow_drift: bool) -> Vec<DriftIssue> {
    match allow_drift {
        true => report
            .issues
            .iter()
            .filter(|i| i.blocks_runs() && i.overridable())
            .cloned()
            .collect(),
        false => Vec::new(),
    }
}

/// The revision files of `plan` that are no longer what `map` was loaded
/// from: each is read and parsed again, and must give the same revision.
fn changed_files(map: &RevisionMap, plan: &Plan) -> Vec<ChangedFile> {
    let mut seen = std::collections::HashSet::new();
    plan.steps
        .iter()
        .filter(|step| step.kind == StepKind::Migrate)
        .filter_map(|step| map.get(&step.revision))
        .filter(|rev| seen.insert(rev.id.as_str()))
        .filter_map(|rev| {
            let change = match std::fs::read_to_string(&rev.path) {
                Err(e) => FileChange::Unreadable(e.to_string()),
                Ok(text) => match parse_revision(&rev.path, &text) {
                    Err(e) => FileChange::Invalid(e.to_string()),
                    Ok(now) if now == *rev => return None,
                    Ok(_) => FileChange::Edited,
                },
            };
            Some(ChangedFile {
                revision: rev.id.clone(),
                path: rev.path.clone(),
                change,
            })
        })
        .collect()
}

/// What the confirmation policy asks before `intent` runs, with the drift
/// of `report` (none read: clean). The console words its dialog from it;
/// the migrator asks it again with the drift read under the lock.
pub fn requirement_for(
    intent: &Intent,
    report: Option<&DriftReport>,
    protected: Option<&str>,
) -> Requirement {
    let drift = report.map(drift_state).unwrap_or(DriftState::Clean);
    policy::requirement(intent.action(), drift, protected)
}
