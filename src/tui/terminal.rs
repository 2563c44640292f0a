//! Taking over the terminal and always giving it back: raw mode off, the
//! alternate screen left, mouse capture off and the cursor shown, on a normal
//! exit, on an error and on a panic (before the panic message prints).

use std::io::{self, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};

/// Whether the terminal is currently taken over, so restoring twice (guard
/// drop after the panic hook ran) does nothing.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Puts the terminal into the console's mode; restored when dropped.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        take_over()?;
        Ok(TerminalGuard { _private: () })
    }

    /// Gives the terminal back for a child program (`$EDITOR`).
    pub fn suspend(&self) -> io::Result<()> {
        restore()
    }

    /// Takes the terminal over again after [`suspend`](Self::suspend).
    pub fn resume(&self) -> io::Result<()> {
        take_over()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

fn take_over() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, EnableMouseCapture, cursor::Hide)?;
    Ok(())
}

/// Leaves the console's terminal mode; harmless when not in it.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout();
    // Try every step even when one fails, then report the first failure.
    let raw = disable_raw_mode();
    let screen = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
    raw.and(screen)
}

/// Restores the terminal before the panic message prints, so the message
/// lands on the normal screen, readable; the message itself is redacted, as
/// it may quote a connection string.
fn install_panic_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let _ = restore();
            let message = crate::config::redact_url(&info.to_string());
            let backtrace = std::backtrace::Backtrace::capture();
            eprintln!("retort console: {message}");
            if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
                eprintln!("{backtrace}");
            }
        }));
    });
}

/// SIGINT, SIGTERM and SIGHUP while the console runs: instead of dying in
/// the alternate screen with the mouse captured and a plan running on the
/// server, the console leaves its loop, restores the terminal, cancels the
/// plan and waits for it to finish.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next signal: its number and name.
    pub async fn next(&mut self) -> (i32, &'static str) {
        use tokio::signal::unix::SignalKind;
        tokio::select! {
            _ = self.interrupt.recv() => (SignalKind::interrupt().as_raw_value(), "SIGINT"),
            _ = self.terminate.recv() => (SignalKind::terminate().as_raw_value(), "SIGTERM"),
            _ = self.hangup.recv() => (SignalKind::hangup().as_raw_value(), "SIGHUP"),
        }
    }
}
