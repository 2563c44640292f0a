//! Small dialogs: writing to a file, the new-revision form, cancel confirmation, messages.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::sql::{draw_text, fit_text};
use super::theme::{ACCENT, DIM};
use crate::core::plan::StepKind;
use crate::tui::app::App;
use crate::tui::dialogs::{FormField, NewRevisionForm, WriteDialog, WriteWhat, single_line};
use crate::tui::form_autogen::{FormNote, NoteLevel};
use crate::tui::textview::{Highlights, Overflow, TextView};

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

pub(super) fn dialog_block(title: Line<'static>, border: Color) -> Block<'static> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(border))
        .title(title)
        .style(Style::new().bg(Color::Black))
}

pub(super) fn draw_write(frame: &mut Frame, area: Rect, dialog: &WriteDialog) {
    let what = match &dialog.what {
        WriteWhat::PlanSql { request, .. } => format!("Write the SQL of '{request}' to:"),
        WriteWhat::Log => "Write the log to:".to_string(),
    };
    let rect = centered(area, 76, 7);
    frame.render_widget(Clear, rect);
    let block = dialog_block(
        Line::from(Span::styled(
            " Write to a file ",
            Style::new().fg(Color::Black).bg(ACCENT).bold(),
        )),
        ACCENT,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [label, field, error, _] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(what), label);
    frame.render_widget(&*dialog.input, field);
    let note = match &dialog.error {
        Some(message) => Paragraph::new(message.clone()).fg(Color::Yellow),
        None => {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            Paragraph::new(format!(
                "A relative name is written in {cwd}. Enter writes, Esc closes."
            ))
            .fg(DIM)
        }
    };
    frame.render_widget(note, error);
}

pub(super) fn draw_form(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    form: &NewRevisionForm,
    highlights: &mut Highlights,
) {
    let rect = centered(
        area,
        area.width.saturating_sub(6).min(110),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, rect);
    let block = dialog_block(
        Line::from(Span::styled(
            " New revision ",
            Style::new().fg(Color::Black).bg(ACCENT).bold(),
        )),
        ACCENT,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let notes = form.autogen.as_ref().map(|a| a.notes()).unwrap_or_default();
    // The notes take at most a third of the form; the SQL keeps the rest.
    let texts: Vec<String> = notes.iter().map(|note| note.text.clone()).collect();
    // The notes have no blank row between them, as `wrapped_rows` counts.
    let blanks = u16::try_from(texts.len().saturating_sub(1)).unwrap_or(0);
    let note_rows = wrapped_rows(&texts, inner.width)
        .saturating_sub(blanks)
        .min(inner.height / 3);
    let sql_rows = inner.height.saturating_sub(7 + note_rows) / 2;
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(sql_rows),
        Constraint::Length(sql_rows),
        Constraint::Length(note_rows),
        Constraint::Min(1),
    ])
    .split(inner);
    let single = [
        (FormField::Message, &form.message),
        (FormField::After, &form.after),
        (FormField::BranchLabel, &form.branch_label),
        (FormField::DependsOn, &form.depends_on),
    ];
    for (i, (field, area)) in single.iter().enumerate() {
        draw_form_field(
            frame,
            rows[i],
            *field,
            form.focus == *field,
            Some(area),
            None,
        );
    }
    let check = if form.transactional {
        "[x] yes: the revision runs in one transaction"
    } else {
        "[ ] no: each statement commits on its own (CONCURRENTLY, ...)"
    };
    draw_form_field(
        frame,
        rows[4],
        FormField::Transactional,
        form.focus == FormField::Transactional,
        None,
        Some(check),
    );
    for (i, (field, area)) in [
        (FormField::Upgrade, &form.upgrade),
        (FormField::Downgrade, &form.downgrade),
    ]
    .iter()
    .enumerate()
    {
        let rect = rows[5 + i];
        let focused = form.focus == *field;
        let block = Block::new()
            .borders(Borders::TOP)
            .border_style(Style::new().fg(if focused { ACCENT } else { DIM }))
            .title(Span::styled(
                format!(" {} ", field.label()),
                if focused {
                    Style::new().fg(ACCENT).bold()
                } else {
                    Style::new().fg(Color::Gray)
                },
            ));
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        if focused || area.is_empty() {
            frame.render_widget(*area, inner);
        } else {
            draw_sql_field(frame, inner, area, highlights);
        }
    }
    let note = match &form.error {
        Some(error) => Paragraph::new(error.clone()).fg(Color::LightRed).bold(),
        None => Paragraph::new(placement(app, &single_line(&form.after))).fg(Color::Gray),
    };
    frame.render_widget(note.wrap(Wrap { trim: true }), rows[8]);
    draw_form_notes(frame, rows[7], &notes);
}

/// What autogenerate said, wrapped; what does not fit is in the log whole.
fn draw_form_notes(frame: &mut Frame, rect: Rect, notes: &[FormNote]) {
    let lines: Vec<Line> = notes
        .iter()
        .map(|note| {
            let style = match note.level {
                NoteLevel::Info => Style::new().fg(Color::Gray),
                NoteLevel::Warning => Style::new().fg(Color::Yellow),
                NoteLevel::Error => Style::new().fg(Color::LightRed).bold(),
            };
            Line::styled(note.text.clone(), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rect);
}

/// An SQL field not being edited, highlighted as the SQL pane is (the
/// field being edited shows its cursor instead).
fn draw_sql_field(
    frame: &mut Frame,
    rect: Rect,
    area: &ratatui_textarea::TextArea<'static>,
    highlights: &mut Highlights,
) {
    let mut view = TextView::new(area.lines().join("\n"), 1);
    fit_text(&mut view, rect, Overflow::Wrap);
    draw_text(frame, rect, &view, highlights);
}

/// Where a new revision after `after` lands in the graph.
pub(super) fn placement(app: &App, after: &str) -> String {
    let ids: Vec<&str> = after.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    if ids.is_empty() {
        return "No revision before it: the new revision starts a new base.".to_string();
    }
    let mut heads = 0;
    for id in &ids {
        match app.graph.map.get_revision(id) {
            Ok(Some(index)) if app.graph.map.is_head(index) => heads += 1,
            Ok(Some(_)) => {}
            _ => return format!("'{id}' is not a revision (Ctrl-s tells why)."),
        }
    }
    match (ids.len(), heads == ids.len()) {
        (1, true) => format!(
            "After the head {}: the new revision becomes the head.",
            ids[0]
        ),
        (1, false) => format!(
            "{} already has revisions after it: this starts a new branch.",
            ids[0]
        ),
        (_, true) => "After several heads: the new revision merges them.".to_string(),
        (_, false) => {
            "After several revisions, not all heads: a merge that also branches.".to_string()
        }
    }
}

pub(super) fn draw_form_field(
    frame: &mut Frame,
    rect: Rect,
    field: FormField,
    focused: bool,
    area: Option<&ratatui_textarea::TextArea<'static>>,
    text: Option<&str>,
) {
    let [label, value] =
        Layout::horizontal([Constraint::Length(16), Constraint::Min(1)]).areas(rect);
    let style = if focused {
        Style::new().fg(ACCENT).bold()
    } else {
        Style::new().fg(Color::Gray)
    };
    let marker = if focused { "▸ " } else { "  " };
    frame.render_widget(
        Paragraph::new(Span::styled(format!("{marker}{}", field.label()), style)),
        label,
    );
    if let Some(area) = area {
        frame.render_widget(area, value);
    } else if let Some(text) = text {
        frame.render_widget(Paragraph::new(text.to_string()).fg(Color::White), value);
    }
}

/// What cancelling would do to the run as it stands; the second value says
/// whether it leaves a step stopped halfway.
pub(super) fn cancel_consequences(app: &App) -> (Vec<String>, bool) {
    let Some(run) = &app.run else {
        return (
            vec!["The plan has ended: nothing is left to cancel.".into()],
            false,
        );
    };
    let total = run.steps.len();
    let before = match run.done {
        0 => String::new(),
        done => format!(" The {done} step(s) before it stay applied."),
    };
    let Some((index, title)) = &run.current else {
        let text = if run.plan_started {
            format!(
                "{} of {total} step(s) are applied. Cancelling stops the plan before its next step; \
                 the applied steps stay.",
                run.done
            )
        } else {
            let waiting = run
                .waiting
                .as_ref()
                .map_or("a connection", |w| w.medium.as_str());
            format!(
                "Nothing has run yet (waiting for {waiting}). Cancelling stops the plan before \
                 its first statement: nothing runs."
            )
        };
        return (vec![text], false);
    };
    let running = format!("Step {} of {total} is running: {title}.", index + 1);
    match partial_revision(app, *index) {
        Some(revision) => (
            vec![
                running,
                format!(
                    "This step is NOT transactional: the statements it has run stay applied \
                     and the running one is stopped partway.{before}"
                ),
                "The step is recorded as stopped halfway: upgrade, downgrade and stamp \
                 refuse until you finish or undo it by hand, then record which with"
                    .to_string(),
                format!("  retort resolve {revision} --applied   (or --rolled-back)"),
            ],
            true,
        ),
        None => (
            vec![
                running,
                format!("Cancelling rolls this step back on the server.{before}"),
            ],
            false,
        ),
    }
}

/// The revision of step `index` of the run when that step runs SQL outside
/// a transaction (cancelling it leaves it partial).
fn partial_revision(app: &App, index: usize) -> Option<String> {
    let run = app.run.as_ref()?;
    let step = run.steps.get(index)?;
    let rev = run.map.get(&step.revision)?;
    (step.kind == StepKind::Migrate && !rev.transactional).then(|| rev.id.clone())
}

/// Rows `lines` take when wrapped at `width` with a blank row between
/// them (a line that wraps gets a row of slack, as words are not split).
fn wrapped_rows(lines: &[String], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let rows: usize = lines
        .iter()
        .map(|l| {
            let chars = l.chars().count();
            chars.div_ceil(width).max(1) + usize::from(chars > width)
        })
        .sum();
    u16::try_from(rows + lines.len().saturating_sub(1)).unwrap_or(u16::MAX)
}

pub(super) fn draw_confirm_cancel(frame: &mut Frame, area: Rect, app: &App) {
    let (lines, partial) = cancel_consequences(app);
    let colour = if partial {
        Color::LightRed
    } else {
        Color::Yellow
    };
    let width = area.width.saturating_sub(4).min(76);
    // Borders, a blank row and the keys.
    let height = wrapped_rows(&lines, width.saturating_sub(2)) + 4;
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let title = if partial {
        " Cancel the running plan? This step is not transactional "
    } else {
        " Cancel the running plan? "
    };
    let block = dialog_block(
        Line::from(Span::styled(
            title,
            Style::new().fg(Color::Black).bg(colour).bold(),
        )),
        colour,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, keys] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let mut text: Vec<Line> = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        if i > 0 {
            text.push(Line::from(""));
        }
        text.push(Line::from(line));
    }
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), body);
    let keys_line = if app.run.is_none() {
        Line::from(Span::styled("any key closes", Style::new().fg(Color::Gray)))
    } else {
        cancel_keys_line(colour)
    };
    frame.render_widget(Paragraph::new(keys_line), keys);
}

/// `y` cancels; Enter and Esc, the keys a reflex presses, keep the run.
fn cancel_keys_line(colour: Color) -> Line<'static> {
    Line::from(vec![
        Span::styled(" y ", Style::new().fg(Color::Black).bg(colour).bold()),
        Span::raw(" cancel the run    "),
        Span::styled(
            " Enter ",
            Style::new().fg(Color::Black).bg(Color::Gray).bold(),
        ),
        Span::raw(" "),
        Span::styled(" Esc ", Style::new().fg(Color::Black).bg(Color::Gray)),
        Span::raw(" keep it running"),
    ])
}

pub(super) fn draw_confirm_discard(frame: &mut Frame, area: Rect) {
    let rect = centered(area, 60, 6);
    frame.render_widget(Clear, rect);
    let block = dialog_block(
        Line::from(Span::styled(
            " Discard the new revision? ",
            Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
        )),
        Color::Yellow,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let text = Text::from(vec![
        Line::from("What you typed in the form is lost; no file is written."),
        Line::from(""),
        Line::from(vec![
            Span::styled(
                " y ",
                Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
            ),
            Span::raw(" discard    "),
            Span::styled(
                " Esc ",
                Style::new().fg(Color::Black).bg(Color::Gray).bold(),
            ),
            Span::raw(" back to the form"),
        ]),
    ]);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
}

pub(super) fn draw_message(frame: &mut Frame, area: Rect, title: &str, text: &str) {
    let rect = centered(
        area,
        area.width.saturating_sub(8).min(100),
        area.height.saturating_sub(4).min(16),
    );
    frame.render_widget(Clear, rect);
    let block = dialog_block(
        Line::from(Span::styled(
            format!(" {title} "),
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        )),
        Color::Red,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    frame.render_widget(
        Paragraph::new(text.to_string()).wrap(Wrap { trim: false }),
        inner,
    );
}
