//! What keys do in each dialog.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, FlashLevel};
use crate::tui::action::{Action, KeyContext};
use crate::tui::dialogs::{
    Confirm, Dialog, NewRevisionForm, PlanDialog, WriteDialog, WriteWhat, edit_line, input,
    single_line,
};
use crate::tui::log::LogKind;
use crate::tui::worker::Command;

/// Why a refused plan dialog does nothing on confirmation.
const REFUSED_HINT: &str = "This cannot run until the step that stopped halfway is resolved \
     (`retort resolve` on the command line)";

impl App {
    pub(super) fn dialog_key(&mut self, key: KeyEvent) {
        let Some(dialog) = self.dialogs.pop() else {
            return;
        };
        // Handlers may open dialogs on top of theirs; a kept dialog goes back below them.
        let depth = self.dialogs.len();
        let keep = match dialog {
            Dialog::Help { scroll } => self.help_key(key, scroll),
            Dialog::Plan(plan) => self.plan_key(key, plan),
            Dialog::Write(write) => self.write_key(key, write),
            Dialog::NewRevision(form)
                if key.code == KeyCode::Esc && form.autogen_running().is_none() && !form.asks() =>
            {
                self.escape_form(form)
            }
            Dialog::NewRevision(form) => self.form_key(key, form),
            Dialog::ConfirmCancel => self.confirm_cancel_key(key),
            Dialog::ConfirmDiscard => self.confirm_discard_key(key),
            Dialog::History {
                revision,
                rows,
                scroll,
            } => self.history_key(key, revision, rows, scroll),
            Dialog::Message { title, text } => match key.code {
                KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => {
                    Some(Dialog::Message { title, text })
                }
                _ => None,
            },
        };
        if let Some(dialog) = keep {
            self.dialogs.insert(depth.min(self.dialogs.len()), dialog);
        }
    }

    pub(super) fn help_key(&mut self, key: KeyEvent, scroll: usize) -> Option<Dialog> {
        match self.keymap.lookup_in(&key, KeyContext::Help) {
            Some(Action::Up) => Some(Dialog::Help {
                scroll: scroll.saturating_sub(1),
            }),
            Some(Action::Down) => Some(Dialog::Help { scroll: scroll + 1 }),
            Some(Action::PageUp) => Some(Dialog::Help {
                scroll: scroll.saturating_sub(10),
            }),
            Some(Action::PageDown) => Some(Dialog::Help {
                scroll: scroll + 10,
            }),
            Some(Action::Top) => Some(Dialog::Help { scroll: 0 }),
            Some(Action::Bottom) => Some(Dialog::Help {
                scroll: usize::MAX / 2,
            }),
            _ => None,
        }
    }

    pub(super) fn plan_key(
        &mut self,
        key: KeyEvent,
        mut dialog: Box<PlanDialog>,
    ) -> Option<Dialog> {
        // Esc stops a rehearsal going first; the dialog stays open.
        if key.code == KeyCode::Esc && self.stop_rehearsal(&mut dialog) {
            return Some(Dialog::Plan(dialog));
        }
        if let Confirm::TypeName { name, input } = &mut dialog.confirm {
            // While the name is typed, text keys are text: `w` or `q` must
            // not also write or quit. Esc, Enter and the keys that are not
            // text (arrows, pages, F1, Ctrl-c) keep their dialog meaning.
            match key.code {
                KeyCode::Esc => return None,
                KeyCode::Enter => {
                    if single_line(input) == *name {
                        self.start_run(*dialog);
                        return None;
                    }
                    dialog.hint = Some(format!(
                        "Type the environment name '{name}' exactly to run this plan"
                    ));
                    return Some(Dialog::Plan(dialog));
                }
                _ if is_text_key(&key) => {
                    edit_line(input, key);
                    return Some(Dialog::Plan(dialog));
                }
                _ => {}
            }
        }
        let action = self.keymap.lookup_in(&key, KeyContext::Plan);
        match action {
            Some(Action::Confirm) => match dialog.confirm {
                Confirm::Enter => {
                    self.start_run(*dialog);
                    return None;
                }
                Confirm::DestructiveKey => {
                    let what = match dialog.drift {
                        Some(_) => "a plan on top of drift".to_string(),
                        None => format!("a {}", dialog.kind.word()),
                    };
                    dialog.hint = Some(format!(
                        "Enter does not run {what}: press {} to run it, {} to close",
                        self.keymap.label(Action::ConfirmDestructive),
                        self.keymap.label(Action::Cancel)
                    ));
                }
                Confirm::TypeName { .. } => {}
                Confirm::Refused => dialog.hint = Some(REFUSED_HINT.to_string()),
            },
            Some(Action::ConfirmDestructive) => match dialog.confirm {
                Confirm::Enter | Confirm::DestructiveKey => {
                    self.start_run(*dialog);
                    return None;
                }
                Confirm::TypeName { .. } => {}
                Confirm::Refused => dialog.hint = Some(REFUSED_HINT.to_string()),
            },
            // A rehearsal going is stopped first; the dialog stays.
            Some(Action::Cancel) if self.stop_rehearsal(&mut dialog) => {}
            Some(Action::Cancel | Action::Quit) => {
                self.stop_rehearsal(&mut dialog);
                return None;
            }
            Some(Action::Rehearse) => self.rehearse_dialog_plan(&mut dialog),
            Some(Action::Up) => dialog.sql.scroll_by(-1),
            Some(Action::Down) => dialog.sql.scroll_by(1),
            Some(Action::PageUp) => dialog.sql.page(false),
            Some(Action::PageDown) => dialog.sql.page(true),
            Some(Action::Top) => dialog.sql.top(),
            Some(Action::Bottom) => dialog.sql.bottom(),
            Some(Action::ToggleWrap) => self.sql.overflow = self.sql.overflow.toggled(),
            Some(Action::ScrollLeft) => dialog.sql.scroll_sideways(false),
            Some(Action::ScrollRight) => dialog.sql.scroll_sideways(true),
            Some(Action::NextStep) => dialog.jump_step(true),
            Some(Action::PreviousStep) => dialog.jump_step(false),
            Some(Action::WriteSql) => {
                let what = WriteWhat::PlanSql {
                    request: dialog.request.clone(),
                    text: Arc::clone(dialog.sql.text()),
                };
                self.open_write(what);
            }
            Some(Action::Help) => {
                self.dialogs.push(Dialog::Help { scroll: 0 });
            }
            _ => {}
        }
        Some(Dialog::Plan(dialog))
    }

    /// Opens the audit history (of revisions starting with `revision`)
    /// and asks the worker for it.
    pub(super) fn open_history(&mut self, revision: Option<String>) {
        self.dialogs.push(Dialog::History {
            revision: revision.clone(),
            rows: None,
            scroll: 0,
        });
        self.send(Command::History { revision });
    }

    pub(super) fn history_key(
        &mut self,
        key: KeyEvent,
        revision: Option<String>,
        rows: Option<Result<Vec<crate::db::history::HistoryEntry>, String>>,
        scroll: usize,
    ) -> Option<Dialog> {
        let keep = |scroll: usize, rows| {
            Some(Dialog::History {
                revision: revision.clone(),
                rows,
                scroll,
            })
        };
        match self.keymap.lookup_in(&key, KeyContext::History) {
            Some(Action::Up) => keep(scroll.saturating_sub(1), rows),
            Some(Action::Down) => keep(scroll + 1, rows),
            Some(Action::PageUp) => keep(scroll.saturating_sub(10), rows),
            Some(Action::PageDown) => keep(scroll + 10, rows),
            Some(Action::Top) => keep(0, rows),
            Some(Action::Bottom) => keep(usize::MAX / 2, rows),
            Some(Action::ToggleSql) => {
                // All rows, or only the selected revision's.
                let next = match revision {
                    Some(_) => None,
                    None => self
                        .graph
                        .selected_revision()
                        .map(|i| self.graph.map.id(i).to_string()),
                };
                self.open_history(next);
                None
            }
            Some(Action::Refresh) => {
                self.open_history(revision.clone());
                None
            }
            _ => None,
        }
    }

    /// The cancel question: only `y` cancels. Enter and Esc (and `n`) are
    /// what a reflex presses, so they keep the run going.
    pub(super) fn confirm_cancel_key(&mut self, key: KeyEvent) -> Option<Dialog> {
        // The run ended while the question was open (it says so): any key closes it.
        self.run.as_ref()?;
        match key.code {
            KeyCode::Char('y' | 'Y') => {
                self.cancel_run();
                None
            }
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n' | 'N') => {
                self.set_flash(FlashLevel::Info, "Not cancelled: the plan keeps running");
                None
            }
            _ => Some(Dialog::ConfirmCancel),
        }
    }

    /// Esc in the new-revision form: close it, after asking when that
    /// would lose what was typed.
    pub(super) fn escape_form(&mut self, form: Box<NewRevisionForm>) -> Option<Dialog> {
        if !form.has_input() {
            return None;
        }
        self.dialogs.push(Dialog::ConfirmDiscard);
        Some(Dialog::NewRevision(form))
    }

    /// The discard question over the form: `y` drops the form, Enter, Esc
    /// and `n` go back to it with everything typed.
    pub(super) fn confirm_discard_key(&mut self, key: KeyEvent) -> Option<Dialog> {
        match key.code {
            KeyCode::Char('y' | 'Y') => {
                if matches!(self.dialogs.last(), Some(Dialog::NewRevision(_))) {
                    self.dialogs.pop();
                }
                self.set_flash(
                    FlashLevel::Info,
                    "Discarded the new revision; nothing was written",
                );
                None
            }
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n' | 'N') => None,
            _ => Some(Dialog::ConfirmDiscard),
        }
    }

    pub(super) fn cancel_run(&mut self) {
        let Some(run) = &mut self.run else {
            return;
        };
        if run.cancel_requested {
            self.set_flash(
                FlashLevel::Info,
                "Cancel already requested; waiting for the server",
            );
            return;
        }
        run.cancel_requested = true;
        self.log
            .push(LogKind::Warning, "cancel requested by the user");
        self.send(Command::Cancel);
    }

    pub(super) fn open_write(&mut self, what: WriteWhat) {
        let default = match &what {
            WriteWhat::PlanSql { request, .. } => format!("{}.sql", slug(request)),
            WriteWhat::Log => format!(
                "retort-console-{}.log",
                chrono::Local::now().format("%Y%m%d-%H%M%S")
            ),
        };
        let mut area = input("file name");
        area.insert_str(&default);
        self.dialogs.push(Dialog::Write(Box::new(WriteDialog {
            what,
            input: Box::new(area),
            overwrite_armed: false,
            error: None,
        })));
    }

    pub(super) fn write_key(
        &mut self,
        key: KeyEvent,
        mut dialog: Box<WriteDialog>,
    ) -> Option<Dialog> {
        match key.code {
            KeyCode::Esc => None,
            KeyCode::Enter => {
                let path = PathBuf::from(single_line(&dialog.input));
                if path.as_os_str().is_empty() {
                    dialog.error = Some("Give a file name".to_string());
                    return Some(Dialog::Write(dialog));
                }
                if path.exists() && !dialog.overwrite_armed {
                    dialog.overwrite_armed = true;
                    dialog.error = Some(format!(
                        "{} exists: press Enter again to replace it",
                        path.display()
                    ));
                    return Some(Dialog::Write(dialog));
                }
                match self.write_file(&dialog.what, &path) {
                    Ok(message) => {
                        self.log.push(LogKind::Success, &message);
                        self.set_flash(FlashLevel::Info, message);
                        None
                    }
                    Err(message) => {
                        dialog.error = Some(message);
                        dialog.overwrite_armed = false;
                        Some(Dialog::Write(dialog))
                    }
                }
            }
            _ => {
                if edit_line(&mut dialog.input, key) {
                    dialog.overwrite_armed = false;
                    dialog.error = None;
                }
                Some(Dialog::Write(dialog))
            }
        }
    }

    pub(super) fn write_file(&self, what: &WriteWhat, path: &Path) -> Result<String, String> {
        match what {
            WriteWhat::PlanSql { request, text } => std::fs::write(path, text.as_bytes())
                .map(|_| format!("Wrote the SQL of '{request}' to {}", path.display()))
                .map_err(|e| format!("{}: {e}", path.display())),
            WriteWhat::Log => self
                .log
                .write_to(path)
                .map(|n| format!("Wrote {n} log line(s) to {}", path.display()))
                .map_err(|e| format!("{}: {e}", path.display())),
        }
    }
}

/// Whether `key` edits a single-line text field: printable characters,
/// the cursor and deletion keys, and Ctrl-u (clear).
fn is_text_key(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('u') => !alt,
        KeyCode::Char(_) => !ctrl && !alt,
        KeyCode::Backspace
        | KeyCode::Delete
        | KeyCode::Left
        | KeyCode::Right
        | KeyCode::Home
        | KeyCode::End => true,
        _ => false,
    }
}

/// A file-name-safe form of a request: `upgrade to a1b2` -> `upgrade-to-a1b2`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
