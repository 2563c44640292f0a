//! The plan preview: steps, version-table changes, the full SQL, and how to confirm.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::dialogs::{centered, dialog_block};
use super::plan_lint;
use super::sql::{draw_text, fit_text};
use super::theme::{ACCENT, DIM, SELECTED_BG, fit};
use crate::core::graph::RevisionMap;
use crate::core::plan::{Direction, Plan, Step, StepKind, VersionOp};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::dialogs::{Confirm, FilesChanged, PlanDialog, PlanKind};
use crate::tui::textview::{Highlights, Overflow, TextView};

/// Where the parts of a plan dialog go: the summary and table (`lines`)
/// at the top, the rule, the SQL, and how to confirm.
struct PlanLayout {
    lines: Vec<Line<'static>>,
    rect: Rect,
    top: Rect,
    rule: Rect,
    sql: Rect,
    confirm: Rect,
    overflow: Overflow,
}

fn plan_layout(area: Rect, app: &App, dialog: &PlanDialog) -> PlanLayout {
    let (color, _, _) = title_of(dialog);
    let max_height = area.height.saturating_sub(2);
    // The step table fits the dialog's width (at most 128 columns inside).
    let width = usize::from(area.width.saturating_sub(6).min(128));
    // A rehearsal's verdicts were asked for: the step table gives up rows
    // for them, or at 80x24 they would be the part cut off.
    let table_share = if dialog.rehearsal.is_some() { 4 } else { 3 };
    let table_rows = usize::from(max_height / table_share).max(3);
    let mut lines = summary_lines(app, dialog, color, width, table_rows);
    if let Some(drift) = &dialog.drift {
        lines.extend(drift_lines(drift, width));
    }
    if let Some(changed) = &dialog.files_changed {
        // First, where the eye lands: the plan below is not the one first shown.
        lines.splice(
            0..0,
            files_changed_lines(changed, &app.migrations_dir, width),
        );
    }
    if !dialog.unbounded_ddl.is_empty() {
        lines.extend(lock_timeout_lines(&dialog.unbounded_ddl, width));
    }
    if let Some(rehearsal) = &dialog.rehearsal {
        // At most a third of the dialog: the SQL stays in view.
        let rows = usize::from(max_height / 3).max(2);
        let current = dialog.current_step(&dialog.step_lines());
        lines.extend(super::rehearsal::rehearsal_lines(
            rehearsal,
            &dialog.plan,
            current,
            width,
            rows,
        ));
    }
    let confirm_rows = match dialog.confirm {
        Confirm::TypeName { .. } => 2,
        _ => 1,
    } + u16::from(dialog.hint.is_some());
    let overflow = sql_overflow(app, dialog);
    // As tall as the content needs, up to the whole screen.
    let sql_rows = match overflow {
        // Measuring the wrapped rows walks every line: only for short texts.
        Overflow::Wrap if dialog.sql.line_count() <= 500 => dialog.sql.wrapped_rows(width),
        _ => dialog.sql.line_count(),
    };
    let wanted = lines.len() + 1 + sql_rows.max(3) + usize::from(confirm_rows) + 2;
    let rect = centered(
        area,
        area.width.saturating_sub(4).min(130),
        (wanted as u16).min(max_height),
    );
    let inner = dialog_block(Line::default(), color).inner(rect);
    let top_rows = (lines.len() as u16).min(inner.height.saturating_sub(confirm_rows + 4));
    let [top, rule, sql, confirm] = Layout::vertical([
        Constraint::Length(top_rows),
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(confirm_rows),
    ])
    .areas(inner);
    PlanLayout {
        lines,
        rect,
        top,
        rule,
        sql,
        confirm,
        overflow,
    }
}

/// Fits the dialog's SQL to the rows it gets.
pub(super) fn layout_plan(area: Rect, app: &App, dialog: &mut PlanDialog) {
    let layout = plan_layout(area, app, dialog);
    fit_text(&mut dialog.sql, layout.sql, layout.overflow);
}

pub(super) fn draw_plan(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    dialog: &PlanDialog,
    highlights: &mut Highlights,
) {
    let (color, title, title_style) = title_of(dialog);
    let layout = plan_layout(area, app, dialog);
    frame.render_widget(Clear, layout.rect);
    let block = dialog_block(Line::from(Span::styled(title, title_style)), color);
    frame.render_widget(block, layout.rect);
    frame.render_widget(Paragraph::new(layout.lines), layout.top);
    draw_plan_sql(frame, layout.rule, layout.sql, &dialog.sql, highlights);
    let gutter = super::sql::gutter_width(&dialog.sql);
    plan_lint::mark_gutter(frame, layout.sql, &dialog.sql, gutter, dialog);
    draw_confirmation(frame, layout.confirm, app, dialog, color);
}

/// Wrapped or cut lines, as chosen for every SQL view; always wrapped while
/// a protected environment's name is typed, since letters and arrows then
/// go to the name field and could not scroll sideways.
fn sql_overflow(app: &App, dialog: &PlanDialog) -> Overflow {
    match dialog.confirm {
        Confirm::TypeName { .. } => Overflow::Wrap,
        _ => app.sql.overflow,
    }
}

/// Border colour, title and title style: downgrades and stamps in warning colours.
fn title_of(dialog: &PlanDialog) -> (Color, String, Style) {
    let (color, title) = match dialog.kind {
        PlanKind::Upgrade => (Color::Green, format!(" UPGRADE · {} ", dialog.request)),
        PlanKind::Downgrade => (
            Color::Red,
            format!(
                " ⚠ DOWNGRADE · {} · undoes schema changes, may drop data ",
                dialog.request
            ),
        ),
        PlanKind::Stamp => (
            Color::Yellow,
            format!(
                " ⚠ STAMP · {} · changes the version table only, runs no SQL ",
                dialog.request
            ),
        ),
    };
    let title_style = match dialog.kind {
        PlanKind::Upgrade => Style::new().fg(Color::Black).bg(Color::Green).bold(),
        PlanKind::Downgrade => Style::new().fg(Color::White).bg(Color::Red).bold(),
        PlanKind::Stamp => Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
    };
    (color, title, title_style)
}

/// The version-table change, what deserves attention among the steps, and
/// the step table: a window of `table_rows` steps around the current one.
fn summary_lines(
    app: &App,
    dialog: &PlanDialog,
    color: Color,
    width: usize,
    table_rows: usize,
) -> Vec<Line<'static>> {
    let plan = &dialog.plan;
    let mut lines = vec![Line::from(vec![
        Span::styled("version table  ", Style::new().fg(DIM)),
        Span::styled(
            heads_text(&plan.heads_before),
            Style::new().fg(Color::White),
        ),
        Span::styled("  →  ", Style::new().fg(color).bold()),
        Span::styled(
            heads_text(&plan.heads_after),
            Style::new().fg(Color::White).bold(),
        ),
        Span::styled(
            format!("   ({} step(s))", plan.steps.len()),
            Style::new().fg(Color::Gray),
        ),
    ])];
    // The plan's own files: what the dialog shows is what was planned.
    let map = &*dialog.map;
    lines.extend(plan_lint::with_summary(
        attention_line(map, plan),
        dialog,
        width,
    ));
    let step_lines = dialog.step_lines();
    let current = dialog.current_step(&step_lines);
    let columns = StepColumns::measure(map, plan, width);
    lines.push(columns.header());
    let shown = table_window(plan.steps.len(), table_rows, current);
    for i in shown.clone() {
        let note = plan_lint::step_note(dialog, i);
        lines.push(step_line(map, plan, i, &columns, current == Some(i), note));
    }
    if shown.len() < plan.steps.len() {
        lines.push(Line::from(Span::styled(
            format!(
                "     steps {}–{} of {}: {}/{} move by step, the SQL below has them all",
                shown.start + 1,
                shown.end,
                plan.steps.len(),
                app.keymap.label(Action::PreviousStep),
                app.keymap.label(Action::NextStep),
            ),
            Style::new().fg(Color::Gray),
        )));
    }
    if let Some(step) = current {
        // Tall screens show each hazard's help and safer statement.
        let roomy = table_rows >= 12;
        let rows = if roomy { 12 } else { 2 };
        lines.extend(plan_lint::step_hazard_lines(
            dialog, step, width, roomy, rows,
        ));
    }
    if plan.purge {
        lines.push(Line::from(Span::styled(
            "     every row of the version table is deleted first (purge)",
            Style::new().fg(Color::LightRed),
        )));
    }
    lines
}

/// The steps of the table shown: `rows` of them, the current one in the
/// middle where the ends allow.
fn table_window(steps: usize, rows: usize, current: Option<usize>) -> std::ops::Range<usize> {
    if steps <= rows {
        return 0..steps;
    }
    let start = current
        .unwrap_or(0)
        .saturating_sub(rows / 2)
        .min(steps - rows);
    start..start + rows
}

/// How many steps run outside a transaction, cannot be undone, or change
/// several version-table rows: the table may not show them all at once.
fn attention_line(map: &RevisionMap, plan: &Plan) -> Option<Line<'static>> {
    let count = |flag: StepFlag| {
        plan.steps
            .iter()
            .filter(|s| step_flags(map, s).contains(&flag))
            .count()
    };
    let parts: Vec<Span<'static>> = [
        (StepFlag::NoTransaction, "without a transaction"),
        (StepFlag::Irreversible, "irreversible"),
        (StepFlag::SeveralRows, "change several version rows"),
    ]
    .into_iter()
    .filter_map(|(flag, what)| {
        let n = count(flag);
        (n > 0).then(|| Span::styled(format!("{n} {what}"), flag.style()))
    })
    .collect();
    if parts.is_empty() {
        return None;
    }
    let mut spans = vec![Span::styled("steps          ", Style::new().fg(DIM))];
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", Style::new().fg(DIM)));
        }
        spans.push(part);
    }
    Some(Line::from(spans))
}

/// What makes a step worth a second look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepFlag {
    /// Each statement commits on its own: a failure leaves a partial step.
    NoTransaction,
    /// An upgrade whose revision has no downgrade section.
    Irreversible,
    /// A merge or branch point: more than one version-table row changes.
    SeveralRows,
}

impl StepFlag {
    fn style(self) -> Style {
        match self {
            StepFlag::NoTransaction | StepFlag::Irreversible => {
                Style::new().fg(Color::LightRed).bold()
            }
            StepFlag::SeveralRows => Style::new().fg(Color::Yellow),
        }
    }
}

fn step_flags(map: &RevisionMap, step: &Step) -> Vec<StepFlag> {
    let mut flags = Vec::new();
    let rev = map.get(&step.revision);
    if step.kind == StepKind::Migrate {
        if rev.is_some_and(|r| !r.transactional) {
            flags.push(StepFlag::NoTransaction);
        }
        if step.direction == Direction::Upgrade && rev.is_some_and(|r| r.is_irreversible()) {
            flags.push(StepFlag::Irreversible);
        }
    }
    if step.version_ops.len() > 1 {
        flags.push(StepFlag::SeveralRows);
    }
    flags
}

/// Column widths of the step table.
struct StepColumns {
    id: usize,
    message: usize,
    /// The version-table change of each step, ids shortened.
    ops: Vec<String>,
    ops_width: usize,
}

impl StepColumns {
    fn measure(map: &RevisionMap, plan: &Plan, width: usize) -> StepColumns {
        let id = plan
            .steps
            .iter()
            .map(|s| step_id(map, s).chars().count())
            .max()
            .unwrap_or(0)
            .max(8);
        let ops: Vec<String> = plan
            .steps
            .iter()
            .map(|s| version_ops_text(map, &s.version_ops))
            .collect();
        // Fixed columns, then the version-table change as wide as it needs
        // (merges name several rows) while the message keeps 12 columns;
        // the message takes the rest. What does not fit ends in `…`.
        let fixed = 5 + 12 + id + 1 + 15;
        let ops_width = ops
            .iter()
            .map(|o| o.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(13, 48)
            .min(width.saturating_sub(fixed + 12 + 1))
            .max(5);
        let message = width.saturating_sub(fixed + ops_width + 1).max(12);
        StepColumns {
            id,
            message,
            ops,
            ops_width,
        }
    }

    fn header(&self) -> Line<'static> {
        let (id, message) = (self.id, self.message);
        Line::from(Span::styled(
            format!(
                "{:>3}  {:<11} {:<id$} {:<message$} {:<14} {}",
                "#",
                "direction",
                "revision",
                "message",
                "mode",
                fit("version table", self.ops_width)
            ),
            Style::new().fg(DIM).add_modifier(Modifier::UNDERLINED),
        ))
    }
}

/// A step's revision as the table shows it: its short id, or `base`.
fn step_id(map: &RevisionMap, step: &Step) -> String {
    if step.revision.is_empty() {
        "base".to_string()
    } else {
        map.short_id(&step.revision)
    }
}

/// `+ a1b2`, `a1b2 → c3d4`, `− a1b2`, with short ids.
fn version_ops_text(map: &RevisionMap, ops: &[VersionOp]) -> String {
    let short = |id: &str| map.short_id(id);
    ops.iter()
        .map(|op| match op {
            VersionOp::Insert { version } => format!("+ {}", short(version)),
            VersionOp::Update { from, to } => format!("{} → {}", short(from), short(to)),
            VersionOp::Delete { version } => format!("− {}", short(version)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of the step table; the current step is marked and highlighted.
fn step_line(
    map: &RevisionMap,
    plan: &Plan,
    i: usize,
    columns: &StepColumns,
    current: bool,
    lint_note: Option<Span<'static>>,
) -> Line<'static> {
    let step = &plan.steps[i];
    let rev = map.get(&step.revision);
    let (arrow, direction_style) = match (&step.kind, step.direction) {
        (StepKind::Stamp, _) => ("≡ stamp", Style::new().fg(Color::Yellow)),
        (_, Direction::Upgrade) => ("↑ upgrade", Style::new().fg(Color::Green)),
        (_, Direction::Downgrade) => ("↓ downgrade", Style::new().fg(Color::LightRed).bold()),
    };
    let flags = step_flags(map, step);
    let mode = match (&step.kind, rev) {
        (StepKind::Stamp, _) => {
            Span::styled(format!("{:<14}", "no SQL"), Style::new().fg(Color::Yellow))
        }
        _ if flags.contains(&StepFlag::NoTransaction) => Span::styled(
            format!("{:<14}", "NO transaction"),
            StepFlag::NoTransaction.style(),
        ),
        _ => Span::styled(
            format!("{:<14}", "transaction"),
            Style::new().fg(Color::Green),
        ),
    };
    let (id_width, ops_width) = (columns.id, columns.ops_width);
    let mut spans = vec![
        Span::styled(
            format!("{:>3}{} ", i + 1, if current { "▸" } else { " " }),
            Style::new().fg(if current { ACCENT } else { Color::Gray }),
        ),
        Span::styled(format!("{arrow:<11} "), direction_style),
        Span::styled(
            format!("{:<id_width$} ", step_id(map, step)),
            Style::new().fg(Color::Yellow),
        ),
    ];
    spans.extend(message_cell(
        rev.map_or("", |r| r.message.as_str()),
        &flags,
        step.version_ops.len(),
        columns.message,
        lint_note,
    ));
    spans.push(Span::raw(" "));
    spans.push(mode);
    spans.push(Span::raw(" "));
    spans.push(Span::styled(
        fit(&columns.ops[i], ops_width),
        Style::new().fg(Color::Gray),
    ));
    let line = Line::from(spans);
    if current {
        line.style(Style::new().bg(SELECTED_BG))
    } else {
        line
    }
}

/// The message, cut so the notes after it (irreversible, several version
/// rows) always show, padded to `width`.
fn message_cell(
    message: &str,
    flags: &[StepFlag],
    rows: usize,
    width: usize,
    lint_note: Option<Span<'static>>,
) -> Vec<Span<'static>> {
    let mut notes: Vec<Span<'static>> = flags
        .iter()
        .filter_map(|flag| {
            match flag {
                StepFlag::Irreversible => Some(" irreversible".to_string()),
                StepFlag::SeveralRows => Some(format!(" {rows} rows")),
                StepFlag::NoTransaction => None,
            }
            .map(|text| Span::styled(text, flag.style()))
        })
        .collect();
    notes.extend(lint_note);
    let notes_width: usize = notes.iter().map(Span::width).sum();
    let room = width.saturating_sub(notes_width).max(1);
    let message = fit(message, room);
    let pad = width.saturating_sub(message.chars().count() + notes_width);
    let mut spans = vec![Span::styled(message, Style::new().fg(Color::White))];
    spans.extend(notes);
    spans.push(Span::raw(" ".repeat(pad)));
    spans
}

/// The warning about DDL that may wait for a lock without limit, in two
/// rows at most: the longest wording that fits, naming as many of the
/// revisions as fit (`a1, b2 and 3 more`, at the narrowest `a1 +4`).
fn lock_timeout_lines(ids: &[String], width: usize) -> Vec<Line<'static>> {
    const MOST_ROWS: usize = 2;
    // The rows start after the three columns of ` ⚠ `.
    let wrap_at = width.saturating_sub(3).max(20);
    let wordings = [
        (
            "No lock_timeout: the DDL of",
            "may wait for a lock without limit, stalling the queries on its tables. Set \
             lock_timeout in retort.toml or in the revision's header.",
        ),
        (
            "No lock_timeout: DDL of",
            "may wait for a lock without limit, stalling its tables. Set it in retort.toml \
             or the header.",
        ),
    ];
    let named = |count: usize, terse: bool| {
        let names = ids[..count].join(", ");
        match (ids.len() - count, terse) {
            (0, _) => names,
            (more, false) => format!("{names} and {more} more"),
            (more, true) => format!("{names} +{more}"),
        }
    };
    let candidates = wordings.iter().flat_map(|(before, after)| {
        let lists = (1..=ids.len().min(5))
            .rev()
            .map(move |count| named(count, false))
            .chain(std::iter::once(named(1, true)));
        lists.map(move |list| format!("{before} {list} {after}"))
    });
    let mut text = String::new();
    for candidate in candidates {
        text = candidate;
        if crate::tui::log::split_rows(&text, wrap_at).len() <= MOST_ROWS {
            break;
        }
    }
    crate::tui::log::split_rows(&text, wrap_at)
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let mark = if i == 0 { " ⚠ " } else { "   " };
            Line::from(Span::styled(
                format!("{mark}{piece}"),
                Style::new().fg(Color::Yellow),
            ))
        })
        .collect()
}

/// The drift the run would go ahead on top of, wrapped to `width`.
fn drift_lines(drift: &str, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    // The engine words it for after the fact; this is a preview.
    let drift = drift
        .replacen("refusing to run: ", "", 1)
        .replacen("; nothing was run", "", 1);
    let wrap_at = width.saturating_sub(6).max(20);
    for (i, text) in drift.lines().enumerate() {
        if i == 0 {
            lines.push(Line::from(Span::styled(
                format!(" ⚠ {text} "),
                Style::new().fg(Color::White).bg(Color::Red).bold(),
            )));
            continue;
        }
        let indent = text.len() - text.trim_start().len();
        let pieces =
            crate::tui::log::split_rows(text.trim_start(), wrap_at.saturating_sub(indent).max(10));
        for piece in pieces {
            lines.push(Line::from(Span::styled(
                format!("   {}{piece}", " ".repeat(indent)),
                Style::new().fg(Color::LightRed),
            )));
        }
    }
    lines
}

/// Which revision files changed on disk while the dialog was open, and
/// whether the plan shown can run.
fn files_changed_lines(
    changed: &FilesChanged,
    dir: &std::path::Path,
    width: usize,
) -> Vec<Line<'static>> {
    let headline = match &changed.blocked {
        Some(_) => " ⚠ Revision files changed on disk: this plan cannot run ",
        None => " ⚠ Revision files changed on disk: this is the plan made from them now ",
    };
    let mut lines = vec![Line::from(Span::styled(
        headline,
        Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
    ))];
    for file in &changed.files {
        lines.push(Line::from(vec![
            Span::styled(
                format!("   {:<8} ", file.how.word()),
                Style::new().fg(Color::Yellow).bold(),
            ),
            Span::styled(
                fit(
                    &format!("{} ({})", shown_path(&file.path, dir), file.revision),
                    width.saturating_sub(12),
                ),
                Style::new().fg(Color::White),
            ),
        ]));
    }
    if let Some(reason) = &changed.blocked {
        for piece in crate::tui::log::split_rows(reason, width.saturating_sub(4).max(10)) {
            lines.push(Line::from(Span::styled(
                format!("   {piece}"),
                Style::new().fg(Color::LightRed).bold(),
            )));
        }
    }
    lines
}

/// A revision file's path inside the migrations directory.
fn shown_path(path: &std::path::Path, dir: &std::path::Path) -> String {
    match path.strip_prefix(dir) {
        Ok(inside) => inside.display().to_string(),
        Err(_) => crate::engine::display_path(path),
    }
}

/// What a plan that cannot run after its files changed offers instead.
fn blocked_line(app: &App, dialog: &PlanDialog) -> Option<Line<'static>> {
    dialog.files_changed.as_ref()?.blocked.as_ref()?;
    Some(Line::from(vec![
        Span::styled(
            " Cannot run now ",
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ),
        Span::raw(format!(
            " it is planned again when the files change; {} closes",
            app.keymap.label(Action::Cancel)
        )),
    ]))
}

/// The rule with the SQL position, and the SQL itself.
fn draw_plan_sql(
    frame: &mut Frame,
    rule: Rect,
    sql_area: Rect,
    view: &TextView,
    highlights: &mut Highlights,
) {
    draw_text(frame, sql_area, view, highlights);
    let position = format!(" SQL that will run: {} ", view.position());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(position.clone(), Style::new().fg(Color::White).bold()),
            Span::styled(
                "─".repeat(usize::from(rule.width).saturating_sub(position.chars().count())),
                Style::new().fg(DIM),
            ),
        ])),
        rule,
    );
}

/// How to run (or why it cannot run), with the hint of the last key.
fn draw_confirmation(
    frame: &mut Frame,
    confirm_area: Rect,
    app: &App,
    dialog: &PlanDialog,
    color: Color,
) {
    let mut confirm_lines = Vec::new();
    if let Some(hint) = &dialog.hint {
        confirm_lines.push(Line::from(Span::styled(
            hint.clone(),
            Style::new().fg(Color::Yellow).bold(),
        )));
    }
    match &dialog.confirm {
        Confirm::Enter => confirm_lines.push(Line::from(vec![
            Span::styled(
                format!(" {} ", app.keymap.label(Action::Confirm)),
                Style::new().fg(Color::Black).bg(Color::Green).bold(),
            ),
            Span::raw(" run this upgrade    "),
            Span::styled(
                format!(" {} ", app.keymap.label(Action::Cancel)),
                Style::new().fg(Color::Black).bg(Color::Gray),
            ),
            Span::raw(" close without running"),
        ])),
        Confirm::DestructiveKey => confirm_lines.push(Line::from(vec![
            Span::styled(
                format!(" {} ", app.keymap.label(Action::ConfirmDestructive)),
                Style::new().fg(Color::White).bg(color).bold(),
            ),
            Span::styled(
                match dialog.drift {
                    Some(_) => format!(" run this {} on top of the drift    ", dialog.kind.word()),
                    None => format!(" run this {}    ", dialog.kind.word()),
                },
                Style::new().fg(color).bold(),
            ),
            Span::styled(
                format!(" {} ", app.keymap.label(Action::Cancel)),
                Style::new().fg(Color::Black).bg(Color::Gray),
            ),
            Span::raw(" close without running    (Enter does not confirm this)"),
        ])),
        Confirm::Refused => confirm_lines.push(Line::from(vec![
            Span::styled(
                " This plan cannot run from here. ",
                Style::new().fg(Color::White).bg(Color::Red).bold(),
            ),
            Span::raw(format!(
                " Resolve the step that stopped halfway first (`retort resolve`); {} closes.",
                app.keymap.label(Action::Cancel)
            )),
        ])),
        Confirm::TypeName { name, .. } => confirm_lines.push(Line::from(vec![
            Span::styled(
                format!(" {name} is a protected environment. ",),
                Style::new().fg(Color::White).bg(Color::Red).bold(),
            ),
            Span::raw(format!(
                " Type its name and press Enter to run this {}; Esc closes.",
                dialog.kind.word()
            )),
        ])),
    }
    if let (Some(warning), Some(line)) =
        (plan_lint::confirm_warning(dialog), confirm_lines.last_mut())
    {
        // Beside the key that runs it.
        line.spans.push(warning);
    }
    if let Some(line) = blocked_line(app, dialog) {
        // Instead of the way to run it, which would do nothing now.
        confirm_lines.pop();
        confirm_lines.push(line);
    }
    let lines_rows = confirm_lines.len() as u16;
    frame.render_widget(
        Paragraph::new(confirm_lines),
        Rect {
            height: lines_rows.min(confirm_area.height),
            ..confirm_area
        },
    );
    if let Confirm::TypeName { input, .. } = &dialog.confirm
        && confirm_area.height > lines_rows
    {
        let field = Rect {
            y: confirm_area.y + lines_rows,
            height: 1,
            width: confirm_area.width.min(40),
            ..confirm_area
        };
        frame.render_widget(&**input, field);
    }
}

pub(super) fn heads_text(heads: &[String]) -> String {
    if heads.is_empty() {
        "(base)".to_string()
    } else {
        heads.join(", ")
    }
}
