//! Cancelling a running plan from another task.
//!
//! The flag is set before the server's cancel request goes out, so the
//! executor can tell a user's cancel from a `statement_timeout` (both are
//! SQLSTATE 57014) and starts no further statement or step once it is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use tokio_postgres::{CancelToken, NoTls};

use crate::db::error_text::describe_error;
use crate::db::tls::Transport;

struct Shared {
    token: CancelToken,
    transport: Transport,
    running: AtomicBool,
    cancelled: AtomicBool,
    /// Wakes whoever waits between attempts (a retry's backoff).
    woken: Notify,
}

/// Cloneable; every clone cancels the same connection's current run.
#[derive(Clone)]
pub struct CancelHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("running", &self.is_running())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The cancel request could not be delivered (the server was unreachable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot send the cancel request: {0}")]
pub struct CancelError(pub String);

impl CancelHandle {
    pub(crate) fn new(token: CancelToken, transport: Transport) -> CancelHandle {
        CancelHandle {
            shared: Arc::new(Shared {
                token,
                transport,
                running: AtomicBool::new(false),
                cancelled: AtomicBool::new(false),
                woken: Notify::new(),
            }),
        }
    }

    /// Cancels the running plan: no further step starts, and the server is
    /// asked to stop the running statement. Returns `false` (and does
    /// nothing) when no plan is running on the connection.
    pub async fn cancel(&self) -> Result<bool, CancelError> {
        if !self.shared.running.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.shared.cancelled.store(true, Ordering::SeqCst);
        self.shared.woken.notify_waiters();
        // The cancel request travels like the connection did: over TLS when it is.
        let sent = match &self.shared.transport {
            Transport::Plain => self.shared.token.cancel_query(NoTls).await,
            Transport::Tls(tls) => self.shared.token.cancel_query(tls.make.clone()).await,
        };
        sent.map_err(|e| CancelError(describe_error(&e)))?;
        Ok(true)
    }

    /// Whether the current run has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration`, or less when the run is cancelled meanwhile;
    /// returns whether the run was cancelled.
    pub(crate) async fn sleep_unless_cancelled(&self, duration: std::time::Duration) -> bool {
        let woken = self.shared.woken.notified();
        if self.is_cancelled() {
            return true;
        }
        let _ = tokio::time::timeout(duration, woken).await;
        self.is_cancelled()
    }

    /// Whether a plan is running on the connection.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst)
    }

    /// Marks a run as started; the run ends when the guard drops.
    pub(crate) fn begin_run(&self) -> RunGuard {
        self.shared.cancelled.store(false, Ordering::SeqCst);
        self.shared.running.store(true, Ordering::SeqCst);
        RunGuard {
            handle: self.clone(),
        }
    }
}

pub(crate) struct RunGuard {
    handle: CancelHandle,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.handle.shared.running.store(false, Ordering::SeqCst);
    }
}
