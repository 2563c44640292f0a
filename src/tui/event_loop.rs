//! The UI loop: selects over terminal input, worker events, highlighter
//! answers, changes to the migrations directory and timers, updates the [`App`] and redraws at most once per
//! frame. Generic over the ratatui backend so tests drive it with
//! `TestBackend`.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::tui::app::{App, Effect};
use crate::tui::terminal::TerminalGuard;
use crate::tui::textview::HighlightAnswer;
use crate::tui::ui;
use crate::tui::view::ViewState;
use crate::tui::watch::WatchEvent;
use crate::tui::worker::WorkerEvent;

/// Shortest time between two frames (60 per second).
const FRAME: Duration = Duration::from_millis(16);
/// Longest time spent applying queued worker events before drawing again,
/// so a flood of NOTICEs cannot starve input or drawing.
const EVENT_BUDGET: Duration = Duration::from_millis(8);

/// Where key and mouse events come from.
pub enum Input {
    /// The real terminal. `None` while a child program owns it.
    Terminal(Option<EventStream>),
    /// Events sent by a test.
    Channel(UnboundedReceiver<Event>),
}

impl Input {
    pub fn terminal() -> Input {
        Input::Terminal(Some(EventStream::new()))
    }

    async fn next(&mut self) -> Option<io::Result<Event>> {
        match self {
            Input::Terminal(Some(stream)) => stream.next().await,
            Input::Terminal(None) => std::future::pending().await,
            Input::Channel(receiver) => receiver.recv().await.map(Ok),
        }
    }

    /// Stops reading the terminal: the reader thread would otherwise take
    /// the keys meant for the editor.
    fn pause(&mut self) {
        if let Input::Terminal(stream) = self {
            *stream = None;
        }
    }

    fn resume(&mut self) {
        if let Input::Terminal(stream) = self {
            *stream = Some(EventStream::new());
        }
    }
}

/// The streams the loop listens to besides input.
pub struct Channels {
    pub worker: UnboundedReceiver<WorkerEvent>,
    pub highlights: UnboundedReceiver<HighlightAnswer>,
    /// The migrations directory changed on disk ([`crate::tui::watch`]).
    pub files: UnboundedReceiver<WatchEvent>,
}

/// Runs until the user quits or input ends. `guard` is the real terminal
/// (needed to hand it to `$EDITOR`); tests pass `None`.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    view: &mut ViewState,
    input: &mut Input,
    channels: &mut Channels,
    guard: Option<&TerminalGuard>,
) -> io::Result<()> {
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            draw(terminal, app, view)?;
            last_draw = Some(Instant::now());
            dirty = false;
            panic_for_tests();
        }
        if app.should_quit() {
            return Ok(());
        }
        if let Some(effect) = app.take_effect() {
            perform(effect, terminal, app, input, guard)?;
            dirty = true;
            continue;
        }
        let next_frame = last_draw.map_or_else(tokio::time::Instant::now, |t| (t + FRAME).into());
        let tick = app.tick_interval();
        tokio::select! {
            biased;
            event = input.next() => match event {
                Some(Ok(event)) => {
                    app.on_terminal_event(event, view);
                    dirty = true;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some(event) = channels.worker.recv() => {
                app.on_worker_event(event);
                drain_worker(app, &mut channels.worker);
                dirty = true;
            }
            Some(answer) = channels.highlights.recv() => {
                app.on_highlighted(answer, view);
                while let Ok(answer) = channels.highlights.try_recv() {
                    app.on_highlighted(answer, view);
                }
                dirty = true;
            }
            Some(event) = channels.files.recv() => {
                app.on_files_event(event);
                dirty = true;
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => {}
            _ = tokio::time::sleep(tick) => {
                app.on_tick();
                dirty = true;
            }
        }
    }
}

/// Debug builds only: panics after a frame when `RETORT_CONSOLE_TEST_PANIC`
/// is set, so the end-to-end test can check that a panic gives the
/// terminal back before its (redacted) message prints.
fn panic_for_tests() {
    #[cfg(debug_assertions)]
    if let Some(message) = std::env::var_os("RETORT_CONSOLE_TEST_PANIC") {
        panic!("{}", message.to_string_lossy());
    }
}

/// Applies queued worker events until the queue is empty or the budget is spent.
fn drain_worker(app: &mut App, worker: &mut UnboundedReceiver<WorkerEvent>) {
    let started = Instant::now();
    let mut count = 0u32;
    while let Ok(event) = worker.try_recv() {
        app.on_worker_event(event);
        count += 1;
        if count.is_multiple_of(256) && started.elapsed() >= EVENT_BUDGET {
            break;
        }
    }
}

/// Lays out a frame (fitting the views to it), then draws it from the state.
pub fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    view: &mut ViewState,
) -> io::Result<()> {
    terminal
        .draw(|frame| {
            ui::layout(frame.area(), app, view);
            ui::draw(frame, app, view);
        })
        .map(|_| ())
        .map_err(|e| io::Error::other(e.to_string()))
}

fn perform<B: Backend>(
    effect: Effect,
    terminal: &mut Terminal<B>,
    app: &mut App,
    input: &mut Input,
    guard: Option<&TerminalGuard>,
) -> io::Result<()> {
    match effect {
        Effect::Edit(path) => {
            input.pause();
            if let Some(guard) = guard {
                guard.suspend()?;
            }
            let editor = app.editor.clone();
            let outcome = blocking(|| run_editor(&editor, &path));
            if let Some(guard) = guard {
                guard.resume()?;
                redraw_everything(terminal)?;
            }
            input.resume();
            app.after_edit(&path, outcome);
            Ok(())
        }
    }
}

/// Runs blocking work without stalling the runtime's other tasks (the
/// worker keeps streaming) where the runtime allows it.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Forgets what is on the screen so the next draw repaints all of it.
/// (`Terminal::clear` would ask the terminal for the cursor position, an
/// answer that can get lost right after a child program exits.)
fn redraw_everything<B: Backend>(terminal: &mut Terminal<B>) -> io::Result<()> {
    let to_io = |e: B::Error| io::Error::other(e.to_string());
    let size = terminal.size().map_err(to_io)?;
    terminal
        .resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
        .map_err(to_io)
}

/// Runs the editor on `path` through the shell (so `EDITOR="code -w"`
/// works) and waits for it. `Ok` names the editor; `Err` says what failed.
fn run_editor(editor: &str, path: &Path) -> Result<String, String> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("retort-editor")
        .arg(path)
        .status()
        .map_err(|e| format!("cannot start the editor '{editor}': {e}"))?;
    if status.success() {
        Ok(editor.to_string())
    } else {
        Err(format!(
            "the editor '{editor}' exited with {status}; the files were reloaded anyway"
        ))
    }
}
