//! The executor's lock handling: statements run under the blocker watch,
//! a revision's own timeouts around its SQL, and retries of a step that
//! failed on a lock timeout.

use tokio_postgres::Client;

use super::{PreparedStep, Run, Work};
use crate::db::blockers::TableError;
use crate::db::connect::describe_error;
use crate::db::events::{Aftermath, ExecError, ExecEvent};
use crate::db::timeouts::{self, Overrides, Scope, SettingFailure};

impl Run<'_> {
    /// Runs one step; after a lock timeout that left nothing applied, runs
    /// it again (up to `lock_retries` times, waiting longer each time).
    pub(super) async fn run_step_with_retries(
        &mut self,
        client: &mut Client,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        let mut attempt = 1;
        loop {
            let Err(mut error) = self.run_step_once(client, index, prepared).await else {
                return Ok(());
            };
            let wait = match retryable(&error, prepared.transactional) {
                true => self.lock_retry.wait_before(attempt + 1),
                false => None,
            };
            let Some(delay) = wait else {
                if let ExecError::Statement(failure) = &mut error {
                    failure.attempts = attempt;
                }
                return Err(error);
            };
            attempt += 1;
            self.events.drain(Some(index));
            self.events.emit(ExecEvent::StepRetrying {
                index,
                attempt,
                attempts: self.lock_retry.attempts(),
                delay,
                error,
            });
            if self.cancel.sleep_unless_cancelled(delay).await {
                let rolled_back = Some(Aftermath::StepRolledBack);
                return Err(self.cancelled(index, prepared, None, rolled_back));
            }
        }
    }

    async fn run_step_once(
        &mut self,
        client: &mut Client,
        index: usize,
        prepared: &PreparedStep<'_>,
    ) -> Result<(), ExecError> {
        match prepared.transactional {
            true => self.transaction(client, Work::Step(index, prepared)).await,
            false => self.run_autocommit_step(client, index, prepared).await,
        }
    }

    /// Runs one statement with its notices streamed and its blockers
    /// watched; returns the row count of its command tag.
    pub(super) async fn execute_watched(
        &mut self,
        client: &Client,
        index: usize,
        sql: &str,
    ) -> Result<u64, tokio_postgres::Error> {
        let sink = self.events.sink;
        let statement = super::tags::execute_counting(client, sql);
        let watched = self.watch.watch(sink, index, statement);
        self.events.with_notices(Some(index), watched).await
    }

    /// Sets the revision's own `lock_timeout` / `statement_timeout`.
    pub(super) async fn apply_timeouts(
        &mut self,
        client: &Client,
        prepared: &PreparedStep<'_>,
        scope: Scope,
    ) -> Result<Overrides, ExecError> {
        timeouts::apply(client, prepared.revision, scope)
            .await
            .map_err(|failure| setting_failure(prepared, "SET", &failure))
    }

    /// Puts back what [`Run::apply_timeouts`] changed.
    pub(super) async fn restore_timeouts(
        &mut self,
        client: &Client,
        prepared: &PreparedStep<'_>,
        overrides: Overrides,
        scope: Scope,
    ) -> Result<(), ExecError> {
        timeouts::restore(client, overrides, scope)
            .await
            .map_err(|failure| setting_failure(prepared, "restoring", &failure))
    }
}

/// A lock timeout whose step left nothing behind: a rolled-back step
/// transaction, or a non-transactional revision stopped at its first
/// statement. Not in an atomic plan (the whole plan was rolled back). The
/// version-table write of a transactional step counts too (a row lock on
/// the version row): its transaction took the step's SQL with it; in a
/// non-transactional step the SQL has already run and must not run again.
fn retryable(error: &ExecError, transactional: bool) -> bool {
    match error {
        ExecError::Statement(failure) => {
            let clean = matches!(
                failure.aftermath,
                Aftermath::StepRolledBack | Aftermath::PartiallyApplied { statements_done: 0 }
            );
            failure.is_lock_timeout() && clean
        }
        ExecError::VersionTable(failure) => transactional && failure.is_lock_timeout(),
        _ => false,
    }
}

fn setting_failure(prepared: &PreparedStep<'_>, what: &str, failure: &SettingFailure) -> ExecError {
    let revision = match prepared.revision {
        Some(r) => format!("revision {} ({})", r.id, r.path.display()),
        None => format!("revision {}", prepared.step.revision),
    };
    ExecError::Database {
        context: format!(
            "{what} {} = '{}' for {revision}",
            failure.name, failure.value
        ),
        cause: describe_error(&failure.error),
    }
}
