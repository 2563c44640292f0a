//! Stopping a changing run from outside it: the console's cancel key, or a
//! signal to the command line.
//!
//! A run passes through phases (connecting, waiting for the migration lock,
//! reading and planning, executing). A request in any of them must stop it:
//! before execution the migrator checks the flag between phases and the
//! lock wait is woken; during execution the connection's cancel request
//! goes to the server. The executor only starts accepting cancel requests
//! once it runs, so a request that arrives in the instant between the last
//! check and the executor's start is sent again until it lands or the run
//! ends.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::db::cancel::{CancelError, CancelHandle};

const PREPARING: u8 = 0;
const EXECUTING: u8 = 1;
const FINISHED: u8 = 2;

/// Cloneable; every clone stops the same run.
#[derive(Clone, Default)]
pub struct Cancellation {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    requested: AtomicBool,
    phase: AtomicU8,
    handle: Mutex<Option<CancelHandle>>,
    wake: Notify,
}

/// What a cancel request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReach {
    /// The run had not started executing: it stops before its first step.
    BeforeStart,
    /// The server was asked to stop the running statement.
    Server,
    /// The run had already ended.
    Finished,
    /// The run is executing but no statement of it is on the server (it
    /// is recording a lost step on a new connection, say): it stops at its
    /// next check.
    Flagged,
}

/// How long a request keeps trying to reach a statement on the server
/// before it leaves the flag to be seen at the run's next check.
const REACH_ATTEMPTS: u32 = 50;

impl Cancellation {
    pub fn new() -> Cancellation {
        Cancellation::default()
    }

    /// Asks the run to stop. Safe to call from any task, any number of times.
    pub async fn request(&self) -> Result<CancelReach, CancelError> {
        // The phase before the flag is set says what the request can reach:
        // a run that had finished is not stopped by it; one still preparing
        // sees the flag at its next check (it checks again after marking
        // itself executing).
        let before = self.shared.phase.load(Ordering::SeqCst);
        self.shared.requested.store(true, Ordering::SeqCst);
        self.shared.wake.notify_waiters();
        let not_executing = match before {
            FINISHED => return Ok(CancelReach::Finished),
            PREPARING => CancelReach::BeforeStart,
            _ => CancelReach::Finished,
        };
        for _ in 0..REACH_ATTEMPTS {
            if self.shared.phase.load(Ordering::SeqCst) != EXECUTING {
                return Ok(not_executing);
            }
            let Some(handle) = self.handle() else {
                return Ok(CancelReach::BeforeStart);
            };
            if handle.cancel().await? {
                return Ok(CancelReach::Server);
            }
            // Executing, but the executor has not marked its run started
            // yet (or has just ended it).
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(CancelReach::Flagged)
    }

    pub fn is_requested(&self) -> bool {
        self.shared.requested.load(Ordering::SeqCst)
    }

    /// Resolves once a cancel is requested (for the migration lock's wait).
    pub async fn requested(&self) {
        loop {
            let woken = self.shared.wake.notified();
            if self.is_requested() {
                return;
            }
            woken.await;
        }
    }

    fn handle(&self) -> Option<CancelHandle> {
        self.shared
            .handle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(crate) fn attach(&self, handle: CancelHandle) {
        *self
            .shared
            .handle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(handle);
    }

    pub(crate) fn executing(&self) {
        self.shared.phase.store(EXECUTING, Ordering::SeqCst);
    }

    pub(crate) fn finished(&self) {
        self.shared.phase.store(FINISHED, Ordering::SeqCst);
    }
}
