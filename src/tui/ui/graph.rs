//! The revision graph pane: lanes, status markers, ids, labels and messages, visible rows only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::{
    DIM, LANE_COLORS, SELECTED_BG, pane_block, pane_inner, title_span, truncate_spans,
};
use crate::tui::app::{App, Pane};
use crate::tui::model::{Entry, RevStatus};
use crate::tui::view::ViewState;

/// Where the graph's rows go, and how many fit: the selection is kept in view.
pub(super) fn layout_graph(area: Rect, app: &App, view: &mut ViewState) {
    let [rows_area, _] = graph_split(area, app);
    view.areas.graph_rows = rows_area;
    view.graph.height = usize::from(rows_area.height);
    if !app.graph.entries.is_empty() {
        view.graph
            .keep_visible(app.graph.selected, app.graph.entries.len());
    }
}

/// The graph pane's rows, and the filter being typed below them.
fn graph_split(area: Rect, app: &App) -> [Rect; 2] {
    let search_rows = u16::from(app.graph.search.is_some());
    Layout::vertical([Constraint::Min(1), Constraint::Length(search_rows)]).areas(pane_inner(area))
}

pub(super) fn draw_graph(frame: &mut Frame, area: Rect, app: &App, view: &ViewState) {
    let focused = app.focus == Pane::Graph;
    let total = app.graph.map.len();
    let mut title = vec![title_span("Revisions", focused)];
    match &app.graph.filter {
        Some(filter) => title.push(Span::styled(
            format!(
                " filter \"{filter}\": {} of {total} ",
                app.graph.entries.len()
            ),
            Style::new().fg(Color::Yellow),
        )),
        None => title.push(Span::styled(
            format!(" {total} "),
            Style::new().fg(Color::Gray),
        )),
    }
    frame.render_widget(pane_block(Line::from(title), focused), area);
    let [rows_area, search_area] = graph_split(area, app);
    if app.graph.entries.is_empty() {
        let text = if app.graph.filter.is_some() {
            "no revision matches the filter"
        } else {
            "no revision files yet: press n to write one"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, Style::new().fg(DIM))),
            rows_area,
        );
    } else {
        let offset = view.graph.offset;
        let lines: Vec<Line> = (offset
            ..(offset + usize::from(rows_area.height)).min(app.graph.entries.len()))
            .map(|i| graph_line(app, i, usize::from(rows_area.width)))
            .collect();
        frame.render_widget(Paragraph::new(lines), rows_area);
    }
    if let Some(search) = &app.graph.search {
        let [label, field] =
            Layout::horizontal([Constraint::Length(9), Constraint::Min(1)]).areas(search_area);
        frame.render_widget(
            Paragraph::new(Span::styled(
                " filter: ",
                Style::new().fg(Color::Yellow).bold(),
            )),
            label,
        );
        frame.render_widget(search, field);
    }
}

pub(super) fn status_marker(status: RevStatus) -> (char, Style) {
    match status {
        RevStatus::Current => ('◉', Style::new().fg(Color::LightCyan).bold()),
        RevStatus::Applied => ('●', Style::new().fg(Color::Green)),
        RevStatus::Pending => ('○', Style::new().fg(Color::Yellow)),
        RevStatus::Unknown => ('○', Style::new().fg(DIM)),
    }
}

pub(super) fn graph_line(app: &App, entry_index: usize, width: usize) -> Line<'static> {
    let selected = entry_index == app.graph.selected;
    let lane_width = app.graph.layout.lane_width.min(24);
    let spans = match app.graph.entries[entry_index] {
        Entry::Missing(m) => missing_row_spans(app, m, lane_width),
        Entry::Row(row) => revision_row_spans(app, row, lane_width),
        Entry::Base => base_row_spans(app, lane_width),
    };
    let mut line = Line::from(truncate_spans(spans, width));
    if selected {
        let bg = if app.focus == Pane::Graph {
            SELECTED_BG
        } else {
            Color::Indexed(236)
        };
        let used = line.width();
        if used < width {
            line.spans.push(Span::raw(" ".repeat(width - used)));
        }
        line = line.style(Style::new().bg(bg));
        if app.focus == Pane::Graph {
            line = line.add_modifier(Modifier::BOLD);
        }
    }
    line
}

/// Ids are shown by their shortest unique prefix (see
/// [`RevisionMap::short_id`](crate::core::graph::RevisionMap::short_id)), so
/// the column is as wide as the widest of those.
pub(super) fn id_column_width(app: &App) -> usize {
    app.graph.map.short_id_width()
}

pub(super) fn lane_style(column: usize) -> Style {
    Style::new().fg(LANE_COLORS[column % LANE_COLORS.len()])
}

/// A version-table row without a revision file.
fn missing_row_spans(app: &App, missing: usize, lane_width: usize) -> Vec<Span<'static>> {
    let id = app
        .server
        .statuses
        .missing
        .get(missing)
        .cloned()
        .unwrap_or_default();
    vec![
        Span::styled(
            format!("{:<lane_width$}", "✗"),
            Style::new().fg(Color::Red).bold(),
        ),
        Span::raw(" "),
        // Shown whole: it is the id to restore a file for, or to stamp away.
        Span::styled(id, Style::new().fg(Color::Red).bold()),
        Span::raw(" "),
        Span::styled(
            " file missing ",
            Style::new().fg(Color::White).bg(Color::Red),
        ),
        Span::styled(
            " the version table names this revision, but no file has it",
            Style::new().fg(Color::LightRed),
        ),
    ]
}

/// The `base` row: the database before any revision. Current when the
/// version table is empty, else below everything applied.
fn base_row_spans(app: &App, lane_width: usize) -> Vec<Span<'static>> {
    let at_base = app.server.statuses.is_known()
        && app.server.db.as_ref().is_some_and(|db| db.rows.is_empty());
    let status = match (app.server.statuses.is_known(), at_base) {
        (false, _) => RevStatus::Unknown,
        (true, true) => RevStatus::Current,
        (true, false) => RevStatus::Applied,
    };
    let mut spans = match &app.graph.layout.base {
        Some(lanes) => lanes_of(lanes, status_marker(status), lane_width),
        None => Vec::new(),
    };
    spans.push(Span::raw(" "));
    let id_width = id_column_width(app);
    spans.push(Span::styled(
        format!("{:<id_width$}", "base"),
        Style::new().fg(Color::Gray).bold(),
    ));
    if at_base {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            " current ",
            Style::new().fg(Color::Black).bg(Color::LightCyan).bold(),
        ));
    }
    spans.push(Span::styled(" before any revision", Style::new().fg(DIM)));
    spans
}

/// Whether the run in progress is executing revision `id` right now.
fn is_running(app: &App, id: &str) -> bool {
    app.run.as_ref().is_some_and(|run| {
        run.current
            .as_ref()
            .and_then(|(i, _)| run.steps.get(*i))
            .is_some_and(|step| step.revision == id)
    })
}

/// Lanes, marker, id, badges, labels, message and notes of one revision.
fn revision_row_spans(app: &App, row: usize, lane_width: usize) -> Vec<Span<'static>> {
    let rev_index = app.graph.layout.order[row];
    let status = app.server.statuses.of(rev_index);
    let rev = app.graph.map.revision(rev_index);
    let running = is_running(app, &rev.id);
    let marker = if running {
        ('▶', Style::new().fg(Color::Yellow).bold())
    } else {
        status_marker(status)
    };
    let mut spans = lane_spans(app, row, marker, lane_width);
    spans.push(Span::raw(" "));
    let id_width = id_column_width(app);
    let id_style = match status {
        RevStatus::Pending => Style::new().fg(Color::Yellow),
        RevStatus::Unknown => Style::new().fg(Color::Gray),
        _ => Style::new().fg(Color::Green),
    };
    spans.push(Span::styled(
        format!("{:<id_width$}", app.graph.map.short_id(&rev.id)),
        id_style,
    ));
    let badge =
        |text: &str, style: Style| [Span::raw(" "), Span::styled(format!(" {text} "), style)];
    if running {
        spans.extend(badge(
            "running",
            Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
        ));
    }
    if status == RevStatus::Current {
        spans.extend(badge(
            "current",
            Style::new().fg(Color::Black).bg(Color::LightCyan).bold(),
        ));
    }
    for issue in app.server.drift_of(&rev.id) {
        spans.extend(badge(
            drift_tag(&issue.kind),
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ));
    }
    if app.graph.map.is_head(rev_index) {
        spans.push(Span::styled(
            " (head)",
            Style::new().fg(Color::LightMagenta).bold(),
        ));
    }
    for label in &rev.branch_labels {
        spans.push(Span::styled(
            format!(" [{label}]"),
            Style::new().fg(Color::Magenta).bold(),
        ));
    }
    spans.push(Span::raw(" "));
    spans.push(Span::styled(
        rev.message.clone(),
        Style::new().fg(Color::White),
    ));
    // depends_on is not drawn as a lane; name the revisions it resolves to.
    for &dep in app.graph.map.resolved_dependencies(rev_index) {
        spans.push(Span::styled(
            format!(" ⇢ {}", app.graph.map.id(dep)),
            Style::new().fg(Color::Blue),
        ));
    }
    if !rev.transactional {
        spans.push(Span::styled(" no-tx", Style::new().fg(Color::LightRed)));
    }
    if rev.is_irreversible() {
        spans.push(Span::styled(" irreversible", Style::new().fg(Color::Red)));
    }
    spans
}

/// The lanes of display row `row`, coloured by column, with the node drawn
/// as `marker`, padded to `lane_width`.
fn lane_spans(
    app: &App,
    row: usize,
    marker: (char, Style),
    lane_width: usize,
) -> Vec<Span<'static>> {
    lanes_of(&app.graph.layout.rows[row], marker, lane_width)
}

/// The lanes of one drawn row, with its node drawn as `marker`.
fn lanes_of(
    lanes: &crate::tui::lanes::GraphRow,
    (marker, marker_style): (char, Style),
    lane_width: usize,
) -> Vec<Span<'static>> {
    let mut spans = Vec::with_capacity(lanes.cells.len() * 2 + 1);
    let mut drawn = 0;
    for (column, cell) in lanes.cells.iter().enumerate() {
        if column > 0 {
            let joint = if lanes.cells[column - 1].right {
                '─'
            } else {
                ' '
            };
            spans.push(Span::styled(joint.to_string(), lane_style(column - 1)));
            drawn += 1;
        }
        if cell.node {
            spans.push(Span::styled(marker.to_string(), marker_style));
        } else {
            spans.push(Span::styled(
                cell.glyph(marker).to_string(),
                lane_style(column),
            ));
        }
        drawn += 1;
    }
    if drawn < lane_width {
        spans.push(Span::raw(" ".repeat(lane_width - drawn)));
    }
    spans
}

/// The word a drift finding shows as next to its revision.
pub(super) fn drift_tag(kind: &crate::db::drift::DriftKind) -> &'static str {
    use crate::db::drift::DriftKind;
    match kind {
        DriftKind::ChangedFile { .. } => "changed since applied",
        DriftKind::MissingFile { .. } => "file missing",
        DriftKind::UnknownRow => "unknown row",
        DriftKind::Partial { .. } => "stopped halfway",
    }
}
