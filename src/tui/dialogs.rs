//! The console's dialogs: their state and the forms' text inputs. Drawing
//! is in `ui`; what their keys do is in `app`.

use std::sync::Arc;

use ratatui::style::{Color, Style};
use ratatui_textarea::TextArea;

use crate::core::graph::RevisionMap;
use crate::core::plan::{Intent, Plan};
use crate::tui::form_autogen::{FormNote, NoteLevel};
use crate::tui::plan_lint::DialogLint;
use crate::tui::textview::TextView;

/// Which kind of plan a dialog previews; decides its colours and how it
/// must be confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    Upgrade,
    Downgrade,
    Stamp,
}

impl PlanKind {
    pub fn word(self) -> &'static str {
        match self {
            PlanKind::Upgrade => "UPGRADE",
            PlanKind::Downgrade => "DOWNGRADE",
            PlanKind::Stamp => "STAMP",
        }
    }

    /// Downgrades and stamps can lose data or lie about the schema: they
    /// are never confirmed with Enter.
    pub fn is_destructive(self) -> bool {
        !matches!(self, PlanKind::Upgrade)
    }
}

/// How the user must confirm a plan.
pub enum Confirm {
    /// Enter (an upgrade).
    Enter,
    /// The `confirm_destructive` key (a downgrade or stamp).
    DestructiveKey,
    /// Type the environment's name, then Enter (a destructive plan on a
    /// protected environment).
    TypeName {
        name: String,
        input: Box<TextArea<'static>>,
    },
    /// It cannot run from the console (a step stopped halfway must be
    /// resolved first).
    Refused,
}

pub struct PlanDialog {
    pub kind: PlanKind,
    /// What the user asked for, e.g. `upgrade to 7a4d2c9e1f60`.
    pub request: String,
    /// What the plan was made from; the migrator makes it again under the
    /// lock and runs it only if it is still this plan.
    pub intent: Intent,
    pub plan: Plan,
    /// The offline SQL of the plan.
    pub sql: TextView,
    pub confirm: Confirm,
    /// A hint shown in the dialog (e.g. why Enter did nothing).
    pub hint: Option<String>,
    /// Why the database and the files disagree, when they do (shown in
    /// the dialog; running means running on top of it).
    pub drift: Option<String>,
    /// Revisions of the plan whose DDL has nothing bounding its wait for a
    /// lock (no `lock_timeout` in the environment or the revision).
    pub unbounded_ddl: Vec<String>,
    /// The revision files the plan was made from; the run gets this map,
    /// so what runs is what the dialog shows.
    pub map: Arc<RevisionMap>,
    /// Revision files of the plan changed on disk while the dialog was
    /// open (it then shows the plan made from them).
    pub files_changed: Option<FilesChanged>,
    /// The step the step keys last jumped to, while the SQL stays where
    /// the jump put it.
    pub jumped: Option<JumpedStep>,
    /// Each step's hazards, where they point in `sql`, and their tables'
    /// sizes once the worker has read them.
    pub lint: DialogLint,
    /// The rehearsal of this plan, asked for with its key; dropped when
    /// the plan is made again, so it is never shown beside another plan.
    /// It informs only: it confirms nothing.
    pub rehearsal: Option<PlanRehearsal>,
}

/// A rehearsal of the dialog's plan, by the id the worker echoes.
#[derive(Debug)]
pub struct PlanRehearsal {
    pub id: u64,
    pub state: RehearsalState,
}

#[derive(Debug)]
pub enum RehearsalState {
    /// The latest progress line.
    Running(String),
    Done(Box<crate::engine::rehearse::Rehearsal>),
    /// It could not run: why.
    Failed(String),
}

/// A jump to a step: which one, and the SQL position it left. Once the
/// SQL is scrolled by other keys, the step at its top is the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JumpedStep {
    pub step: usize,
    position: (usize, usize),
}

impl PlanDialog {
    /// The line of the plan's SQL where each step starts ([`step_lines`]).
    pub fn step_lines(&self) -> Vec<usize> {
        step_lines(&self.plan, &self.sql)
    }

    /// The step being looked at: the one last jumped to, else the one whose
    /// SQL is at the top of the view (the first above it). `None` without
    /// steps.
    pub fn current_step(&self, step_lines: &[usize]) -> Option<usize> {
        match self.jumped {
            Some(jump) if jump.position == self.position() => Some(jump.step),
            _ => step_lines
                .iter()
                .rposition(|&line| line <= self.sql.scroll)
                .or((!step_lines.is_empty()).then_some(0)),
        }
    }

    /// Shows the SQL of the next (or previous) step from the top.
    pub fn jump_step(&mut self, forward: bool) {
        let lines = self.step_lines();
        let on_jump = self.jumped.is_some_and(|j| j.position == self.position());
        let target = match (self.current_step(&lines), forward) {
            (None, true) => 0,
            (None, false) => return,
            (Some(step), true) => step + 1,
            // Back from inside a step goes to its start first.
            (Some(step), false) if !on_jump && self.position() != (lines[step], 0) => step,
            (Some(step), false) => match step.checked_sub(1) {
                Some(previous) => previous,
                None => return,
            },
        };
        let Some(&line) = lines.get(target) else {
            return;
        };
        self.sql.scroll_to_line(line);
        self.jumped = Some(JumpedStep {
            step: target,
            position: self.position(),
        });
    }

    fn position(&self) -> (usize, usize) {
        (self.sql.scroll, self.sql.scroll_row)
    }
}

/// The line of `sql` (a plan's offline SQL) where each step of `plan`
/// starts: its `-- Running upgrade a -> b` comment, as the offline renderer
/// writes it. Searched in step order, each after the one before, so SQL of
/// a revision that quotes such a comment cannot pull an earlier step's
/// start forward.
pub fn step_lines(plan: &Plan, sql: &TextView) -> Vec<usize> {
    let mut lines = Vec::with_capacity(plan.steps.len());
    let mut from = 0;
    for step in &plan.steps {
        let header = format!("-- Running {}", step.short_log());
        let found = (from..sql.line_count()).find(|&i| sql.line(i) == header);
        let Some(at) = found else { break };
        lines.push(at);
        from = at + 1;
    }
    lines
}

/// What the plan dialog says after its files changed on disk.
pub struct FilesChanged {
    /// Which files differ from those the dialog showed before.
    pub files: Vec<crate::tui::watch::FileChange>,
    /// Why the plan cannot run now (the files do not load, or no plan
    /// reaches the target any more); `None`: the new plan is shown.
    pub blocked: Option<String>,
}

/// What a "write to file" dialog writes.
pub enum WriteWhat {
    PlanSql { request: String, text: Arc<str> },
    Log,
}

pub struct WriteDialog {
    pub what: WriteWhat,
    pub input: Box<TextArea<'static>>,
    /// The file exists and Enter was pressed once: the next Enter overwrites.
    pub overwrite_armed: bool,
    pub error: Option<String>,
}

/// Fields of the new-revision form, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Message,
    After,
    BranchLabel,
    DependsOn,
    Transactional,
    Upgrade,
    Downgrade,
}

impl FormField {
    pub const ORDER: [FormField; 7] = [
        FormField::Message,
        FormField::After,
        FormField::BranchLabel,
        FormField::DependsOn,
        FormField::Transactional,
        FormField::Upgrade,
        FormField::Downgrade,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FormField::Message => "Message",
            FormField::After => "After",
            FormField::BranchLabel => "Branch label",
            FormField::DependsOn => "Depends on",
            FormField::Transactional => "Transactional",
            FormField::Upgrade => "Upgrade SQL",
            FormField::Downgrade => "Downgrade SQL",
        }
    }

    pub fn is_multiline(self) -> bool {
        matches!(self, FormField::Upgrade | FormField::Downgrade)
    }

    pub fn next(self, forward: bool) -> FormField {
        let at = FormField::ORDER
            .iter()
            .position(|f| *f == self)
            .unwrap_or(0);
        let n = FormField::ORDER.len();
        FormField::ORDER[if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        }]
    }
}

const UPGRADE_PLACEHOLDER: &str = "-- SQL run by upgrade";
const DOWNGRADE_PLACEHOLDER: &str = "-- SQL that undoes it";

/// The form's autogenerate, by the id the worker echoes.
#[derive(Debug)]
pub enum FormAutogen {
    /// Going; the latest progress line. `replace`: the person agreed to
    /// lose the SQL they had typed.
    Running {
        id: u64,
        line: String,
        replace: bool,
    },
    /// Its answer (the SQL is in the fields), or why there is none.
    Reported(Vec<FormNote>),
    /// SQL was typed while it ran: the generated SQL waits for the key.
    Offered {
        upgrade: String,
        downgrade: String,
        transactional: bool,
        notes: Vec<FormNote>,
    },
}

impl FormAutogen {
    /// The lines the form shows under its fields.
    pub fn notes(&self) -> Vec<FormNote> {
        match self {
            FormAutogen::Running { line, .. } => vec![FormNote::new(
                NoteLevel::Info,
                format!("Autogenerating (Esc stops it): {line}"),
            )],
            FormAutogen::Reported(notes) => notes.clone(),
            FormAutogen::Offered { notes, .. } => {
                let mut shown = vec![FormNote::new(
                    NoteLevel::Warning,
                    "SQL was typed while it ran and is kept: the autogenerate key replaces \
                     it with the generated SQL.",
                )];
                shown.extend(notes.iter().cloned());
                shown
            }
        }
    }
}

pub struct NewRevisionForm {
    pub message: TextArea<'static>,
    pub after: TextArea<'static>,
    pub branch_label: TextArea<'static>,
    pub depends_on: TextArea<'static>,
    pub transactional: bool,
    pub upgrade: TextArea<'static>,
    pub downgrade: TextArea<'static>,
    pub focus: FormField,
    pub error: Option<String>,
    /// Autogenerate asked for with its key, and what it answered.
    pub autogen: Option<FormAutogen>,
    /// The autogenerate key was pressed over SQL already typed: the next
    /// press replaces it (any other key takes the question back).
    pub replace_armed: bool,
    /// What `after` held when the form opened: a form still like this
    /// holds nothing typed, and closes without asking.
    opened_after: String,
}

impl NewRevisionForm {
    pub fn new(after: &str) -> NewRevisionForm {
        let mut form = NewRevisionForm {
            message: input("what the revision does"),
            after: input("revision id(s) it comes after; empty: a new base"),
            branch_label: input("optional"),
            depends_on: input("optional: ids or labels, comma-separated"),
            transactional: true,
            upgrade: sql_input(UPGRADE_PLACEHOLDER),
            downgrade: sql_input(DOWNGRADE_PLACEHOLDER),
            focus: FormField::Message,
            error: None,
            autogen: None,
            replace_armed: false,
            opened_after: after.to_string(),
        };
        form.after.insert_str(after);
        form
    }

    /// Whether anything was typed or changed since the form opened, i.e.
    /// whether closing it loses work.
    pub fn has_input(&self) -> bool {
        let typed = [
            &self.message,
            &self.branch_label,
            &self.depends_on,
            &self.upgrade,
            &self.downgrade,
        ]
        .iter()
        .any(|area| area.lines().iter().any(|line| !line.trim().is_empty()));
        typed || !self.transactional || single_line(&self.after) != self.opened_after.trim()
    }

    /// Whether the upgrade or downgrade holds any text.
    pub fn has_sql(&self) -> bool {
        [&self.upgrade, &self.downgrade]
            .iter()
            .any(|area| area.lines().iter().any(|line| !line.trim().is_empty()))
    }

    /// Replaces the upgrade and downgrade with generated SQL, cursors at
    /// their first line; still editable.
    pub fn fill_sql(&mut self, upgrade: &str, downgrade: &str, transactional: bool) {
        self.upgrade = sql_input(UPGRADE_PLACEHOLDER);
        self.upgrade.insert_str(upgrade);
        self.upgrade.move_cursor(ratatui_textarea::CursorMove::Top);
        self.downgrade = sql_input(DOWNGRADE_PLACEHOLDER);
        self.downgrade.insert_str(downgrade);
        self.downgrade
            .move_cursor(ratatui_textarea::CursorMove::Top);
        self.transactional = transactional;
    }

    /// The autogenerate still going, by id.
    pub fn autogen_running(&self) -> Option<u64> {
        match &self.autogen {
            Some(FormAutogen::Running { id, .. }) => Some(*id),
            _ => None,
        }
    }

    pub fn field_mut(&mut self, field: FormField) -> Option<&mut TextArea<'static>> {
        match field {
            FormField::Message => Some(&mut self.message),
            FormField::After => Some(&mut self.after),
            FormField::BranchLabel => Some(&mut self.branch_label),
            FormField::DependsOn => Some(&mut self.depends_on),
            FormField::Transactional => None,
            FormField::Upgrade => Some(&mut self.upgrade),
            FormField::Downgrade => Some(&mut self.downgrade),
        }
    }
}

/// Feeds a key to a single-line input; Ctrl-u clears the line, as in a
/// shell. Returns whether the text changed.
pub fn edit_line(area: &mut TextArea, key: crossterm::event::KeyEvent) -> bool {
    use crossterm::event::{KeyCode, KeyModifiers};
    if key.code == KeyCode::Char('u') && key.modifiers.contains(KeyModifiers::CONTROL) {
        area.move_cursor(ratatui_textarea::CursorMove::End);
        return area.delete_line_by_head();
    }
    area.input(ratatui_textarea::Input::from(key))
}

/// The text of a single-line input.
pub fn single_line(area: &TextArea) -> String {
    area.lines().join(" ").trim().to_string()
}

/// A single-line input with a grey placeholder.
pub fn input(placeholder: &str) -> TextArea<'static> {
    let mut area = TextArea::default();
    area.set_placeholder_text(placeholder);
    area.set_placeholder_style(Style::default().fg(Color::DarkGray));
    area.set_cursor_line_style(Style::default());
    area
}

fn sql_input(placeholder: &str) -> TextArea<'static> {
    let mut area = input(placeholder);
    area.set_tab_length(4);
    area.set_hard_tab_indent(false);
    area
}

/// Every dialog; the console keeps a stack of them, the top one has the keys.
pub enum Dialog {
    Help {
        scroll: usize,
    },
    Plan(Box<PlanDialog>),
    Write(Box<WriteDialog>),
    NewRevision(Box<NewRevisionForm>),
    /// The audit history; `rows` is `None` while it is being read.
    History {
        revision: Option<String>,
        rows: Option<Result<Vec<crate::db::history::HistoryEntry>, String>>,
        scroll: usize,
    },
    /// "Cancel the running plan?", asked by the cancel key during a run.
    /// Only its explicit key cancels; Enter and Esc keep the run going.
    ConfirmCancel,
    /// "Discard the new revision?", asked when closing the form would lose
    /// what was typed; the form stays below it.
    ConfirmDiscard,
    Message {
        title: String,
        text: String,
    },
}
