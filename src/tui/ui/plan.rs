//! The plan preview: steps, version-table changes, the full SQL, and how to confirm.

use super::*;
use crate::core::plan::Plan;

pub(super) fn draw_plan(frame: &mut Frame, area: Rect, app: &mut App, dialog: &mut PlanDialog) {
    let (color, title, title_style) = title_of(dialog);
    let max_height = area.height.saturating_sub(2);
    // The step table fits the dialog's width (at most 128 columns inside).
    let width = usize::from(area.width.saturating_sub(6).min(128));
    let mut lines = summary_lines(
        app,
        &dialog.plan,
        color,
        width,
        usize::from(max_height / 3).max(3),
    );
    if let Some(drift) = &dialog.drift {
        lines.extend(drift_lines(drift, width));
    }
    if let Some(warning) = app.lock_timeout_warning(&dialog.plan) {
        lines.extend(lock_timeout_lines(&warning, width));
    }
    let confirm_rows = match dialog.confirm {
        Confirm::TypeName { .. } => 2,
        _ => 1,
    } + u16::from(dialog.hint.is_some());
    // As tall as the content needs, up to the whole screen.
    let wanted = lines.len() + 1 + dialog.sql.line_count().max(3) + usize::from(confirm_rows) + 2;
    let rect = centered(
        area,
        area.width.saturating_sub(4).min(130),
        (wanted as u16).min(max_height),
    );
    frame.render_widget(Clear, rect);
    let block = dialog_block(Line::from(Span::styled(title, title_style)), color);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let top_rows = (lines.len() as u16).min(inner.height.saturating_sub(confirm_rows + 4));
    let [top, rule, sql_area, confirm_area] = Layout::vertical([
        Constraint::Length(top_rows),
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(confirm_rows),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines), top);
    draw_plan_sql(frame, rule, sql_area, app, &mut dialog.sql);
    draw_confirmation(frame, confirm_area, app, dialog, color);
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

/// The version-table change, then one line per step (at most `max_steps`).
fn summary_lines(
    app: &App,
    plan: &Plan,
    color: Color,
    width: usize,
    max_steps: usize,
) -> Vec<Line<'static>> {
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
    // Fixed columns, then the version-table change as wide as it needs
    // (merges name several rows), the message taking the rest.
    let ops: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format::version_ops(&s.version_ops))
        .collect();
    let ops_width = ops
        .iter()
        .map(|o| o.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(13, 48);
    let message_width = width
        .saturating_sub(5 + 12 + 14 + 15 + ops_width + 1)
        .max(12);
    lines.push(Line::from(Span::styled(
        format!(
            "{:>3}  {:<11} {:<13} {:<message_width$} {:<14} {}",
            "#", "direction", "revision", "message", "mode", "version table"
        ),
        Style::new().fg(DIM).add_modifier(Modifier::UNDERLINED),
    )));
    for (i, step) in plan.steps.iter().enumerate().take(max_steps) {
        let rev = app.map.get(&step.revision);
        let (arrow, direction_style) = match (&step.kind, step.direction) {
            (StepKind::Stamp, _) => ("≡ stamp", Style::new().fg(Color::Yellow)),
            (_, Direction::Upgrade) => ("↑ upgrade", Style::new().fg(Color::Green)),
            (_, Direction::Downgrade) => ("↓ downgrade", Style::new().fg(Color::LightRed).bold()),
        };
        let mode = match (&step.kind, rev) {
            (StepKind::Stamp, _) => {
                Span::styled(format!("{:<14}", "no SQL"), Style::new().fg(Color::Yellow))
            }
            (_, Some(r)) if !r.transactional => Span::styled(
                format!("{:<14}", "NO transaction"),
                Style::new().fg(Color::LightRed).bold(),
            ),
            _ => Span::styled(
                format!("{:<14}", "transaction"),
                Style::new().fg(Color::Green),
            ),
        };
        let id = if step.revision.is_empty() {
            "base"
        } else {
            step.revision.as_str()
        };
        let message = fit(rev.map_or("", |r| r.message.as_str()), message_width);
        lines.push(Line::from(vec![
            Span::styled(format!("{:>3}  ", i + 1), Style::new().fg(Color::Gray)),
            Span::styled(format!("{arrow:<11} "), direction_style),
            Span::styled(
                format!("{:<13} ", fit(id, 13)),
                Style::new().fg(Color::Yellow),
            ),
            Span::styled(
                format!("{message:<message_width$} "),
                Style::new().fg(Color::White),
            ),
            mode,
            Span::raw(" "),
            Span::styled(ops[i].clone(), Style::new().fg(Color::Gray)),
        ]));
    }
    if plan.steps.len() > max_steps {
        lines.push(Line::from(Span::styled(
            format!(
                "     … and {} more step(s): the SQL below has them all",
                plan.steps.len() - max_steps
            ),
            Style::new().fg(Color::Gray),
        )));
    }
    if plan.purge {
        lines.push(Line::from(Span::styled(
            "     every row of the version table is deleted first (purge)",
            Style::new().fg(Color::LightRed),
        )));
    }
    lines
}

/// The missing `lock_timeout`, wrapped to `width`.
fn lock_timeout_lines(warning: &str, width: usize) -> Vec<Line<'static>> {
    let wrap_at = width.saturating_sub(4).max(20);
    crate::tui::log::split_rows(warning, wrap_at)
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

/// The rule with the SQL position, and the SQL itself.
fn draw_plan_sql(
    frame: &mut Frame,
    rule: Rect,
    sql_area: Rect,
    app: &mut App,
    view: &mut TextView,
) {
    view.visible(usize::from(sql_area.height));
    let range_end = (view.scroll + usize::from(sql_area.height)).min(view.line_count());
    let position = format!(
        " SQL that will run: lines {}–{range_end} of {} ",
        view.scroll + 1,
        view.line_count()
    );
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
    draw_text(frame, sql_area, view, &mut app.highlights);
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
