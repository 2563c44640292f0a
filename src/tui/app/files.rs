//! Revision files: writing a new one, editing one in `$EDITOR`, reloading.

use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{Input, TextArea};

use super::{App, Effect, FlashLevel};
use crate::core::authoring::{AuthoringError, Draft, author, unused_id};
use crate::engine::Project;
use crate::scripts;
use crate::tui::action::{Action, KeyContext};
use crate::tui::dialogs::{Dialog, FormField, NewRevisionForm, edit_line, single_line};
use crate::tui::keymap::KeyMap;
use crate::tui::log::LogKind;
use crate::tui::watch::{self, WatchEvent};

impl App {
    pub(super) fn open_new_revision(&mut self) {
        let heads = self.graph.map.heads();
        let after = match self.graph.selected_revision() {
            Some(index) if self.graph.map.is_head(index) => self.graph.map.id(index).to_string(),
            _ if heads.len() == 1 => self.graph.map.id(heads[0]).to_string(),
            Some(index) => self.graph.map.id(index).to_string(),
            None => String::new(),
        };
        self.dialogs
            .push(Dialog::NewRevision(Box::new(NewRevisionForm::new(&after))));
    }

    pub(super) fn form_key(
        &mut self,
        key: KeyEvent,
        mut form: Box<NewRevisionForm>,
    ) -> Option<Dialog> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // A possible rename is being asked: its keys are the answer, not
        // text for a field.
        if form.asks() {
            self.rename_answer(key, &mut form);
            return Some(Dialog::NewRevision(form));
        }
        if self.keymap.lookup_in(&key, KeyContext::Form) == Some(Action::Autogenerate) {
            self.form_autogenerate(&mut form);
            return Some(Dialog::NewRevision(form));
        }
        form.replace_armed = false;
        match key.code {
            // Esc stops a running autogenerate before it closes the form.
            KeyCode::Esc if self.stop_form_autogen(&mut form) => {}
            KeyCode::Esc => return None,
            KeyCode::Char('s') if ctrl => match self.save_new_revision(&form) {
                Ok(()) => return None,
                Err(message) => form.error = Some(message),
            },
            KeyCode::Tab => form.focus = form.focus.next(true),
            KeyCode::BackTab => form.focus = form.focus.next(false),
            KeyCode::Enter if !form.focus.is_multiline() => form.focus = form.focus.next(true),
            KeyCode::Char(' ') if form.focus == FormField::Transactional => {
                form.transactional = !form.transactional;
            }
            _ => {
                let field = form.focus;
                if let Some(area) = form.field_mut(field) {
                    if field.is_multiline() {
                        area.input(Input::from(key));
                    } else {
                        edit_line(area, key);
                    }
                }
            }
        }
        Some(Dialog::NewRevision(form))
    }

    /// Builds the revision through the same authoring path as the command
    /// line, then writes it; a refusal names the field and writes nothing.
    pub(super) fn save_new_revision(&mut self, form: &NewRevisionForm) -> Result<(), String> {
        let list = |area: &TextArea| -> Vec<String> {
            single_line(area)
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let draft = Draft {
            rev_id: self.unused_revision_id(),
            parents: list(&form.after),
            // The form comes after any revision: a branch is its user's call.
            splice: true,
            depends_on: list(&form.depends_on),
            branch_labels: list(&form.branch_label),
            message: single_line(&form.message),
            create_date: Some(chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()),
            transactional: form.transactional,
            upgrade: form.upgrade.lines().join("\n"),
            downgrade: form.downgrade.lines().join("\n"),
        };
        let authored = author(&self.graph.map, draft).map_err(|e| form_error(&e))?;
        let path =
            scripts::write_authored(&self.migrations_dir, &authored).map_err(|e| e.to_string())?;
        let id = authored.revision.id;
        self.log.push(
            LogKind::Success,
            &format!(
                "wrote the new revision {id} to {}",
                crate::engine::display_path(&path)
            ),
        );
        if let Err(message) = self.reload_project(Some(id.clone())) {
            self.dialogs.push(Dialog::Message {
                title: "The new revision does not load".to_string(),
                text: message,
            });
        } else {
            self.set_flash(FlashLevel::Info, format!("Created revision {id}"));
        }
        Ok(())
    }

    pub(super) fn unused_revision_id(&self) -> String {
        unused_id(&self.graph.map, rand::random)
    }

    pub(super) fn edit_selected(&mut self) {
        let Some(index) = self.graph.selected_revision() else {
            self.set_flash(FlashLevel::Warning, "Select a revision first");
            return;
        };
        self.effect = Some(Effect::Edit(self.graph.map.revision(index).path.clone()));
    }

    /// After `$EDITOR` returned: reload the files (also when the editor
    /// failed: it may have written before failing).
    pub fn after_edit(&mut self, path: &Path, outcome: Result<String, String>) {
        match &outcome {
            Ok(editor) => self.log.push(
                LogKind::Info,
                &format!("{editor} closed {}", crate::engine::display_path(path)),
            ),
            Err(message) => self.log.push(LogKind::Error, message),
        }
        let keep = self
            .graph
            .selected_revision()
            .map(|i| self.graph.map.id(i).to_string());
        match self.reload_project(keep) {
            Ok(()) => match outcome {
                Ok(_) => self.set_flash(FlashLevel::Info, "Reloaded the revision files"),
                Err(message) => self.set_flash(FlashLevel::Error, message),
            },
            Err(message) => self.dialogs.push(Dialog::Message {
                title: "The revision files do not load".to_string(),
                text: format!(
                    "{message}\n\nThe console keeps showing the files as they were before."
                ),
            }),
        }
    }

    /// Refresh: the files and the database state.
    pub(super) fn refresh_all(&mut self) {
        let keep = self.graph.selected_key(&self.server.statuses);
        if let Err(message) = self.reload_project(keep) {
            self.dialogs.push(Dialog::Message {
                title: "The revision files do not load".to_string(),
                text: format!(
                    "{message}\n\nThe console keeps showing the files as they were before."
                ),
            });
        }
        self.request_refresh();
    }

    /// Reads the config and revision files again; on failure keeps the old
    /// ones and returns the error (also logged).
    pub(super) fn reload_project(&mut self, keep: Option<String>) -> Result<(), String> {
        match Project::load(&self.options) {
            Ok(project) => {
                self.apply_project(project, keep);
                Ok(())
            }
            Err(e) => {
                let message = e.redacted();
                self.log.push(
                    LogKind::Error,
                    &format!("cannot reload the revision files: {message}"),
                );
                Err(message)
            }
        }
    }

    /// Shows a fresh load of the files: graph, statuses, SQL pane and any
    /// open plan dialog.
    fn apply_project(&mut self, project: Project, keep: Option<String>) {
        self.config = project.config;
        self.keymap = KeyMap::new(&self.config.keys);
        self.migrations_dir = project.migrations_dir;
        let old = Arc::clone(&self.graph.map);
        self.graph.replace_map(project.map);
        self.server.recompute_statuses(&self.graph.map);
        // The SQL pane keeps its place when the text it shows did not change.
        self.sql.carry(&old, &self.graph.map);
        self.rebuild_entries(keep);
        self.replan_dialogs();
    }

    /// The migrations directory changed on disk (the watcher says so):
    /// reload as `r` does, without asking, and re-read the database state
    /// so drift is judged against the new files.
    pub fn on_files_event(&mut self, event: WatchEvent) {
        match event {
            WatchEvent::Changed => self.files_changed_on_disk(),
            WatchEvent::Failed(why) => self.log.push(
                LogKind::Warning,
                &format!(
                    "watching {} for changes: {why}; press {} to reload by hand",
                    crate::engine::display_path(&self.migrations_dir),
                    self.keymap.label(Action::Refresh)
                ),
            ),
        }
    }

    fn files_changed_on_disk(&mut self) {
        let project = match Project::load(&self.options) {
            Ok(project) => project,
            Err(e) => {
                let message = e.redacted();
                self.log.push(
                    LogKind::Error,
                    &format!(
                        "the revision files changed on disk and do not load: {message}; \
                         the console shows them as they were, and runs nothing until they load"
                    ),
                );
                self.set_flash(
                    FlashLevel::Error,
                    "The revision files on disk do not load (see the log)",
                );
                self.block_plan_dialogs(&message);
                return;
            }
        };
        if watch::same_revisions(&self.graph.map, &project.map) {
            // An editor's temporary file, or a save without a change.
            self.replan_dialogs();
            return;
        }
        let old = Arc::clone(&self.graph.map);
        let keep = self.graph.selected_key(&self.server.statuses);
        self.apply_project(project, keep);
        let ids = old
            .revisions()
            .iter()
            .chain(self.graph.map.revisions())
            .map(|r| r.id.as_str());
        let changed = watch::changes(&old, &self.graph.map, ids);
        self.log.push(
            LogKind::Info,
            &format!(
                "revision files changed on disk, reloaded: {}",
                changed_list(&changed)
            ),
        );
        self.set_flash(FlashLevel::Info, "Revision files changed on disk: reloaded");
        self.request_refresh();
    }
}

/// `b2_x.sql (b2) edited, c3_y.sql (c3) added`, at most five named.
fn changed_list(changed: &[watch::FileChange]) -> String {
    const NAMED: usize = 5;
    let mut text = changed
        .iter()
        .take(NAMED)
        .map(|c| {
            let name = c.path.file_name().map_or_else(
                || c.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            format!("{name} ({}) {}", c.revision, c.how.word())
        })
        .collect::<Vec<_>>()
        .join(", ");
    if changed.len() > NAMED {
        text += &format!(" and {} more", changed.len() - NAMED);
    }
    text
}

/// A refusal of the new-revision form, naming the field to fix: the
/// messages about parents name no field of their own.
fn form_error(error: &AuthoringError) -> String {
    match error {
        AuthoringError::Parent { .. }
        | AuthoringError::SeveralHeads { .. }
        | AuthoringError::NotAHead { .. }
        | AuthoringError::DuplicateParent => format!("After: {error}"),
        _ => error.to_string(),
    }
}
