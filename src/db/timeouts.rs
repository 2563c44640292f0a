//! A revision's own `lock_timeout` / `statement_timeout` (header keys),
//! applied to its SQL only and then put back as they were: inside a
//! transaction with `set_config(..., true)` (SET LOCAL), outside one (a
//! `transactional: false` revision) at session level, restored afterwards.

use std::time::Duration;

use tokio_postgres::Client;

use crate::core::revision::Revision;

/// Where an override lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// SET LOCAL: ends with the transaction at the latest.
    Transaction,
    /// SET: must be restored explicitly.
    Session,
}

impl Scope {
    fn is_local(self) -> bool {
        self == Scope::Transaction
    }
}

/// The settings a revision overrides, with the values they had before.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    previous: Vec<(&'static str, String)>,
}

/// A failed SET: which setting, which value.
#[derive(Debug)]
pub(crate) struct SettingFailure {
    pub name: &'static str,
    pub value: String,
    pub error: tokio_postgres::Error,
}

fn requested(revision: Option<&Revision>) -> Vec<(&'static str, &str)> {
    revision
        .map(Revision::setting_overrides)
        .unwrap_or_default()
}

/// Applies the revision's timeouts, remembering the values they replace.
pub(crate) async fn apply(
    client: &Client,
    revision: Option<&Revision>,
    scope: Scope,
) -> Result<Overrides, SettingFailure> {
    let mut overrides = Overrides::default();
    for (name, value) in requested(revision) {
        let failure = |error| SettingFailure {
            name,
            value: value.to_string(),
            error,
        };
        let previous: String = client
            .query_one("SELECT pg_catalog.current_setting($1)", &[&name])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failure)?;
        set(client, name, value, scope).await.map_err(failure)?;
        overrides.previous.push((name, previous));
    }
    Ok(overrides)
}

/// Puts back what [`apply`] replaced (needed for a session-level override,
/// and between the steps of an atomic plan, which share one transaction).
pub(crate) async fn restore(
    client: &Client,
    overrides: Overrides,
    scope: Scope,
) -> Result<(), SettingFailure> {
    for (name, value) in overrides.previous {
        set(client, name, &value, scope)
            .await
            .map_err(|error| SettingFailure { name, value, error })?;
    }
    Ok(())
}

async fn set(
    client: &Client,
    name: &str,
    value: &str,
    scope: Scope,
) -> Result<(), tokio_postgres::Error> {
    client
        .query_one(
            "SELECT pg_catalog.set_config($1, $2, $3)",
            &[&name, &value, &scope.is_local()],
        )
        .await
        .map(drop)
}

/// How a step that hit a lock timeout is retried (per environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRetry {
    /// Further attempts after the first; 0 never retries.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

/// Longest wait between two attempts, however many retries there are.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

impl Default for LockRetry {
    fn default() -> LockRetry {
        LockRetry {
            retries: 0,
            backoff: Duration::from_millis(500),
        }
    }
}

impl LockRetry {
    /// The wait before attempt number `attempt` (2 for the first retry), or
    /// `None` when no further attempt is allowed.
    pub fn wait_before(&self, attempt: u32) -> Option<Duration> {
        let retry = attempt
            .checked_sub(1)
            .filter(|r| (1..=self.retries).contains(r))?;
        let doublings = (retry - 1).min(20);
        Some(
            self.backoff
                .saturating_mul(1 << doublings)
                .min(MAX_RETRY_WAIT),
        )
    }

    /// Attempts in all: the first and the retries.
    pub fn attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stops_after_the_retries() {
        let retry = LockRetry {
            retries: 3,
            backoff: Duration::from_millis(500),
        };
        assert_eq!(retry.wait_before(1), None);
        assert_eq!(retry.wait_before(2), Some(Duration::from_millis(500)));
        assert_eq!(retry.wait_before(3), Some(Duration::from_secs(1)));
        assert_eq!(retry.wait_before(4), Some(Duration::from_secs(2)));
        assert_eq!(retry.wait_before(5), None);
        assert_eq!(retry.attempts(), 4);
        assert_eq!(LockRetry::default().wait_before(2), None);
    }

    #[test]
    fn waits_are_capped() {
        let retry = LockRetry {
            retries: 100,
            backoff: Duration::from_secs(10),
        };
        assert_eq!(retry.wait_before(101), Some(MAX_RETRY_WAIT));
        assert_eq!(retry.wait_before(6), Some(Duration::from_secs(160)));
    }

    #[test]
    fn only_revisions_with_timeouts_request_any() {
        assert!(requested(None).is_empty());
        let mut rev = Revision::synthetic("a", &[]);
        assert!(requested(Some(&rev)).is_empty());
        rev.statement_timeout = Some("1min".into());
        assert_eq!(requested(Some(&rev)), vec![("statement_timeout", "1min")]);
    }
}
