//! SIGINT, SIGTERM and SIGHUP during a changing run: instead of dying with
//! the server still running our statement and holding the migration lock,
//! retort asks the engine to stop (a PostgreSQL cancel request for the
//! running statement, or giving up the lock wait), lets the executor roll
//! the step back or record it as the rules say, releases the lock, and
//! exits with 128 + the signal's number.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use tokio::signal::unix::{SignalKind, signal};

use super::Outcome;
use crate::engine::Error;
use crate::engine::{CancelReach, Cancellation};

pub(crate) struct SignalWatch {
    pub cancel: Cancellation,
    received: Arc<AtomicI32>,
    task: tokio::task::JoinHandle<()>,
}

impl SignalWatch {
    /// Installs the handlers; must run inside the runtime.
    pub fn start() -> Result<SignalWatch, Error> {
        let install = |kind: SignalKind| {
            signal(kind).map_err(|e| Error::Usage(format!("cannot watch for signals: {e}")))
        };
        let mut interrupt = install(SignalKind::interrupt())?;
        let mut terminate = install(SignalKind::terminate())?;
        let mut hangup = install(SignalKind::hangup())?;
        let cancel = Cancellation::new();
        let received = Arc::new(AtomicI32::new(0));
        let task = {
            let cancel = cancel.clone();
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                loop {
                    let (number, name) = tokio::select! {
                        _ = interrupt.recv() => (libc_number(SignalKind::interrupt()), "SIGINT"),
                        _ = terminate.recv() => (libc_number(SignalKind::terminate()), "SIGTERM"),
                        _ = hangup.recv() => (libc_number(SignalKind::hangup()), "SIGHUP"),
                    };
                    // The first signal decides the exit code.
                    let _ =
                        received.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
                    stop(&cancel, name).await;
                }
            })
        };
        Ok(SignalWatch {
            cancel,
            received,
            task,
        })
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            number => Some(number),
        }
    }

    /// `done`, unless a signal arrived: then the process ends with its code
    /// even when the run had nothing left to stop.
    pub fn outcome(&self, done: Outcome) -> Outcome {
        match self.received() {
            Some(signal) => Outcome::Signalled(signal),
            None => done,
        }
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn libc_number(kind: SignalKind) -> i32 {
    kind.as_raw_value()
}

async fn stop(cancel: &Cancellation, name: &str) {
    match cancel.request().await {
        Ok(CancelReach::BeforeStart) => {
            eprintln!("WARN  {name} received: stopping before the plan starts; nothing will run")
        }
        Ok(CancelReach::Server) => eprintln!(
            "WARN  {name} received: the running statement was cancelled on the server; the step \
             is rolled back or recorded as stopped, then the migration lock is released"
        ),
        Ok(CancelReach::Flagged) => eprintln!(
            "WARN  {name} received: no statement of the run is on the server now; the run stops \
             at its next check, then the migration lock is released"
        ),
        Ok(CancelReach::Finished) => {
            eprintln!("WARN  {name} received after the run ended; nothing was stopped")
        }
        Err(e) => eprintln!("WARN  {name} received, but {e}"),
    }
}
