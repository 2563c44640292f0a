//! The SQL pane: the selected revision's header fields and its upgrade or downgrade SQL.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::graph::drift_tag;
use super::theme::{ACCENT, DIM, pane_block, pane_inner, title_span};
use crate::tui::action::Action;
use crate::tui::app::{App, Pane, SqlTab, section};
use crate::tui::model::{Entry, RevStatus};
use crate::tui::textview::{Highlights, Overflow, TextView, ViewRow, display_line, slice_line};

/// Points the SQL pane at the selection and fits its text to the rows
/// below the revision's fields.
pub(super) fn layout_sql(area: Rect, app: &mut App) {
    let Some(index) = app.graph.selected_revision() else {
        return;
    };
    app.sync_sql_pane();
    let [_, _, text_area] = sql_split(pane_inner(area), sql_fields(app, index).len());
    let overflow = app.sql.overflow;
    let section_missing = section(app.graph.map.revision(index), app.sql.tab).is_none();
    match &mut app.sql.view {
        Some(view) if view.line_count() > 0 && !section_missing => {
            fit_text(view, text_area, overflow)
        }
        _ => {}
    }
}

/// The revision's fields, the rule with the position, and the SQL text.
fn sql_split(inner: Rect, fields: usize) -> [Rect; 3] {
    let field_rows = (fields as u16).min(inner.height.saturating_sub(2));
    Layout::vertical([
        Constraint::Length(field_rows),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner)
}

pub(super) fn draw_sql(frame: &mut Frame, area: Rect, app: &App, highlights: &mut Highlights) {
    let focused = app.focus == Pane::Sql;
    let tab = |name: &str, active: bool| {
        if active {
            Span::styled(
                format!(" {name} "),
                Style::new().fg(Color::Black).bg(Color::White).bold(),
            )
        } else {
            Span::styled(format!(" {name} "), Style::new().fg(Color::Gray))
        }
    };
    let title = Line::from(vec![
        title_span("SQL", focused),
        Span::raw(" "),
        tab("upgrade", app.sql.tab == SqlTab::Upgrade),
        tab("downgrade", app.sql.tab == SqlTab::Downgrade),
        Span::styled(
            format!(" {} ", app.keymap.label(Action::ToggleSql)),
            Style::new().fg(DIM),
        ),
    ]);
    let block = pane_block(title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let Some(index) = app.graph.selected_revision() else {
        let text = match app.graph.entries.get(app.graph.selected) {
            Some(Entry::Missing(m)) => format!(
                "The version table holds {}, but no file in {} has this id: it was applied from \
                 a revision file that is missing here (another checkout or branch of the code?). \
                 Nothing can be planned from this state: restore the file, or stamp the database \
                 to a revision that exists.",
                app.server
                    .statuses
                    .missing
                    .get(*m)
                    .map_or("", String::as_str),
                crate::engine::display_path(&app.migrations_dir)
            ),
            Some(Entry::Base) => format!(
                "base: the database before any revision (an empty version table). \
                 {} downgrades to it, undoing every applied revision; {} stamps it.",
                app.keymap.label(Action::DowngradeTo),
                app.keymap.label(Action::Stamp)
            ),
            _ => "No revision selected.".to_string(),
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .fg(Color::Gray),
            inner,
        );
        return;
    };
    let rev = app.graph.map.revision(index);
    let fields = sql_fields(app, index);
    let [fields_area, rule, text_area] = sql_split(inner, fields.len());
    frame.render_widget(Paragraph::new(fields), fields_area);

    let section_missing = section(rev, app.sql.tab).is_none();
    let sql = &app.sql;
    match &sql.view {
        _ if section_missing => {
            frame.render_widget(
                Paragraph::new("No downgrade section: this revision is irreversible.")
                    .fg(Color::LightRed),
                text_area,
            );
        }
        Some(view) if view.line_count() > 0 => draw_text(frame, text_area, view, highlights),
        _ => {
            frame.render_widget(
                Paragraph::new("(empty section: nothing runs)").fg(DIM),
                text_area,
            );
        }
    }
    let position = match &sql.view {
        Some(view) if view.line_count() > 0 && !section_missing => {
            format!(" {} ", view.position())
        }
        _ => String::new(),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                "─".repeat(usize::from(rule.width).saturating_sub(position.chars().count())),
                Style::new().fg(DIM),
            ),
            Span::styled(position, Style::new().fg(DIM)),
        ])),
        rule,
    );
}

/// The selected revision's header fields, one line each.
fn sql_fields(app: &App, index: usize) -> Vec<Line<'static>> {
    let rev = app.graph.map.revision(index);
    let mut fields = Vec::new();
    let field = |name: &str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("{name:<9}"), Style::new().fg(DIM)),
            value,
        ])
    };
    fields.push(field(
        "revision",
        Span::styled(
            format!("{}  {}", rev.id, rev.message),
            Style::new().fg(Color::White).bold(),
        ),
    ));
    let downs = if rev.down_revisions.is_empty() {
        "(base)".to_string()
    } else {
        rev.down_revisions.join(", ")
    };
    fields.push(field("down", Span::raw(downs)));
    if !rev.branch_labels.is_empty() {
        fields.push(field(
            "labels",
            Span::styled(
                rev.branch_labels.join(", "),
                Style::new().fg(Color::Magenta),
            ),
        ));
    }
    if !rev.depends_on.is_empty() {
        fields.push(field(
            "depends",
            Span::styled(rev.depends_on.join(", "), Style::new().fg(Color::Blue)),
        ));
    }
    let mode = if rev.transactional {
        Span::styled("transactional", Style::new().fg(Color::Green))
    } else {
        Span::styled(
            "transactional: false (each statement commits on its own)",
            Style::new().fg(Color::LightRed),
        )
    };
    fields.push(field("mode", mode));
    fields.push(field(
        "file",
        Span::styled(
            crate::engine::display_path(&rev.path),
            Style::new().fg(Color::Gray),
        ),
    ));
    let status = match app.server.statuses.of(index) {
        RevStatus::Current => Span::styled(
            "current (in the version table)",
            Style::new().fg(Color::LightCyan).bold(),
        ),
        RevStatus::Applied => Span::styled("applied", Style::new().fg(Color::Green)),
        RevStatus::Pending => Span::styled("pending", Style::new().fg(Color::Yellow)),
        RevStatus::Unknown => Span::styled("unknown (not connected)", Style::new().fg(DIM)),
    };
    fields.push(field("status", status));
    for issue in app.server.drift_of(&rev.id) {
        fields.push(field(
            "drift",
            Span::styled(
                format!(
                    "{}: {} {}",
                    drift_tag(&issue.kind),
                    issue.summary,
                    issue.advice
                ),
                Style::new().fg(Color::LightRed).bold(),
            ),
        ));
    }
    fields
}

/// Columns of the gutter with the file's line numbers.
pub(super) fn gutter_width(view: &TextView) -> usize {
    let last_number = view.first_number + view.line_count().saturating_sub(1);
    last_number.to_string().len()
}

/// Fits `view` to `area` less its gutter (and, for cut lines, the column
/// of the arrow).
pub(super) fn fit_text(view: &mut TextView, area: Rect, overflow: Overflow) {
    // Cut lines keep their last column for the arrow.
    let arrow_column = usize::from(overflow == Overflow::Scroll);
    let width = usize::from(area.width).saturating_sub(gutter_width(view) + 1 + arrow_column);
    view.fit(width, usize::from(area.height), overflow);
}

/// A text view with file line numbers in a gutter. A wrapped line shows
/// its number on its first row and `↪` on the rows that continue it; a line
/// cut at an edge (horizontal scrolling) shows `←` or `→` there.
pub(super) fn draw_text(
    frame: &mut Frame,
    area: Rect,
    view: &TextView,
    highlights: &mut Highlights,
) {
    let gutter = gutter_width(view);
    let width = view.width;
    let rows = view.rows();
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return;
    };
    let range = first.line..last.line + 1;
    let lines = highlights.lines(view, range.clone());
    let arrow = Style::new().fg(Color::Black).bg(Color::Yellow).bold();
    let screen: Vec<Line> = rows
        .iter()
        .map(|row| {
            let mut spans = if row.first {
                vec![Span::styled(
                    format!("{:>gutter$}", view.first_number + row.line),
                    Style::new().fg(DIM),
                )]
            } else {
                vec![Span::styled(
                    format!("{:>gutter$}", "↪"),
                    Style::new().fg(ACCENT),
                )]
            };
            spans.push(if row.more_left {
                Span::styled("←", arrow)
            } else {
                Span::raw(" ")
            });
            let text = row_spans(&lines[row.line - range.start], view.line(row.line), row);
            let used: usize = text.iter().map(Span::width).sum();
            spans.extend(text);
            if row.more_right {
                spans.push(Span::raw(" ".repeat(width.saturating_sub(used))));
                spans.push(Span::styled("→", arrow));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(screen), area);
}

/// The piece of a line one row shows, with its highlighting. A rendered
/// line whose text is not the display text (it cannot happen by
/// construction) is shown plain rather than cut in the wrong place.
fn row_spans(rendered: &Line<'static>, raw: &str, row: &ViewRow) -> Vec<Span<'static>> {
    let display = display_line(raw);
    let rendered_len: usize = rendered.spans.iter().map(|s| s.content.len()).sum();
    if rendered_len == display.len() {
        slice_line(rendered, &row.bytes)
    } else {
        vec![Span::raw(display[row.bytes.clone()].to_string())]
    }
}
