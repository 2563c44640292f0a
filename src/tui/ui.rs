//! Drawing: every pane and dialog is drawn from the [`App`] state. Only the
//! visible rows are built, so a frame costs the same for 10 or 10,000
//! revisions.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::core::plan::{Direction, StepKind};
use crate::tui::action::Action;
use crate::tui::app::{App, Connection, FlashLevel, MIN_HEIGHT, MIN_WIDTH, Pane, SqlTab, section};
use crate::tui::dialogs::{
    Confirm, Dialog, FormField, NewRevisionForm, PlanDialog, PlanKind, WriteDialog, WriteWhat,
    single_line,
};
use crate::tui::format;
use crate::tui::log::{LogKind, TIME_COLUMNS};
use crate::tui::model::{Entry, RevStatus};
use crate::tui::textview::{Highlights, TextView};

const BAR_BG: Color = Color::Indexed(236);
const SELECTED_BG: Color = Color::Indexed(238);
const DIM: Color = Color::DarkGray;
const ACCENT: Color = Color::Cyan;
/// Lane colours, by column, as `git log --graph` colours its lanes.
const LANE_COLORS: [Color; 6] = [
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::LightRed,
];
/// Widest id column; longer ids are cut with `…`.
const MAX_ID_WIDTH: usize = 12;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    app.too_small = area.width < MIN_WIDTH || area.height < MIN_HEIGHT;
    if app.too_small {
        draw_too_small(frame, area, app);
        return;
    }
    let flash_rows = u16::from(app.flash.is_some());
    let [header, body, flash, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(4),
        Constraint::Length(flash_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, app);
    draw_body(frame, body, app);
    if flash_rows > 0 {
        draw_flash(frame, flash, app);
    }
    draw_footer(frame, footer, app);
    // Dialogs are drawn (and may update their own scroll state) while out
    // of the app, so they can borrow the rest of it.
    let mut dialogs = std::mem::take(&mut app.dialogs);
    for dialog in &mut dialogs {
        draw_dialog(frame, area, app, dialog);
    }
    dialogs.append(&mut app.dialogs);
    app.dialogs = dialogs;
}

fn draw_too_small(frame: &mut Frame, area: Rect, app: &App) {
    let text = vec![
        Line::from("Terminal too small".bold().fg(Color::Yellow)),
        Line::from(""),
        Line::from(format!(
            "{}×{} here; the console needs at least {MIN_WIDTH}×{MIN_HEIGHT}.",
            area.width, area.height
        )),
        Line::from(format!(
            "Enlarge the window, or press {} to quit.",
            app.keymap.label(Action::Quit)
        )),
    ];
    let height = (text.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(height) / 2;
    let rect = Rect::new(area.x, y, area.width, height);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

// ----- header ---------------------------------------------------------------

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let [top, second] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Block::new().style(Style::new().bg(BAR_BG)), area);

    let mut left = vec![
        Span::styled(" retort ", Style::new().fg(Color::Black).bg(ACCENT).bold()),
        Span::raw(" "),
    ];
    match (&app.session.env, app.session.protected) {
        (Some(env), true) => {
            left.push(Span::styled(
                format!(" {env} · PROTECTED "),
                Style::new().fg(Color::White).bg(Color::Red).bold(),
            ));
            left.push(Span::raw(" "));
        }
        (Some(env), false) => {
            left.push(Span::styled(
                format!("env {env}"),
                Style::new().fg(Color::White).bold(),
            ));
            left.push(Span::styled("  │  ", Style::new().fg(DIM)));
        }
        (None, _) => {}
    }
    left.push(Span::styled(
        app.session.target.clone(),
        Style::new().fg(Color::White),
    ));
    if let Some(db) = &app.db {
        left.push(Span::styled("  │  ", Style::new().fg(DIM)));
        left.push(Span::styled(
            format!("PostgreSQL {}", db.server_version),
            Style::new().fg(Color::Gray),
        ));
    }
    let state = connection_span(app);
    let state_width = state.width() as u16 + 1;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(state_width)]).areas(top);
    frame.render_widget(Paragraph::new(Line::from(left)), left_area);
    frame.render_widget(
        Paragraph::new(Line::from(state)).alignment(Alignment::Right),
        right_area,
    );

    let line = match &app.run {
        Some(_) => progress_line(app, second.width),
        None => state_line(app),
    };
    frame.render_widget(Paragraph::new(line), second);
}

fn connection_span(app: &App) -> Span<'static> {
    let refreshing = if app.refreshing { " ⟳" } else { "" };
    match &app.connection {
        Connection::Connecting => Span::styled(
            format!("◌ connecting…{refreshing}"),
            Style::new().fg(Color::Yellow),
        ),
        Connection::Connected => Span::styled(
            format!("● connected{refreshing}"),
            Style::new().fg(Color::Green).bold(),
        ),
        Connection::Unreachable(_) => Span::styled(
            format!("✗ unreachable{refreshing}"),
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ),
        Connection::Lost(_) => Span::styled(
            format!("✗ connection lost{refreshing}"),
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ),
    }
}

fn state_line(app: &App) -> Line<'static> {
    let sep = || Span::styled("  │  ", Style::new().fg(DIM));
    let mut spans = vec![Span::raw(" ")];
    match (&app.connection, &app.db) {
        (Connection::Connecting, _) => spans.push(Span::styled(
            "reading the database state…",
            Style::new().fg(Color::Yellow),
        )),
        (Connection::Unreachable(why), _) => {
            spans.push(Span::styled(
                "database state unknown: ",
                Style::new().fg(Color::LightRed).bold(),
            ));
            spans.push(Span::styled(why.clone(), Style::new().fg(Color::LightRed)));
        }
        (_, Some(db)) => {
            if let Connection::Lost(_) = app.connection {
                let as_of = app.db_as_of.clone().unwrap_or_default();
                spans.push(Span::styled(
                    format!("as of {as_of}: "),
                    Style::new().fg(Color::LightRed),
                ));
            }
            spans.push(Span::styled("database at ", Style::new().fg(Color::Gray)));
            if db.rows.is_empty() {
                let what = if db.table_exists {
                    "base (empty version table)"
                } else {
                    "base (no version table yet)"
                };
                spans.push(Span::styled(what, Style::new().fg(Color::White).bold()));
            } else {
                for (i, row) in db.rows.iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::raw(", "));
                    }
                    let known = app.map.get(row).is_some();
                    let style = if known {
                        Style::new().fg(Color::LightCyan).bold()
                    } else {
                        Style::new().fg(Color::Red).bold()
                    };
                    spans.push(Span::styled(row.clone(), style));
                }
            }
            spans.push(sep());
            let pending = app.statuses.pending;
            if pending == 0 {
                spans.push(Span::styled(
                    "up to date",
                    Style::new().fg(Color::Green).bold(),
                ));
            } else {
                spans.push(Span::styled(
                    format!("{pending} pending"),
                    Style::new().fg(Color::Yellow).bold(),
                ));
            }
            if !app.statuses.missing.is_empty() {
                spans.push(sep());
                spans.push(Span::styled(
                    format!("{} row(s) without a file", app.statuses.missing.len()),
                    Style::new().fg(Color::Red).bold(),
                ));
            }
        }
        (Connection::Connected | Connection::Lost(_), None) => {
            spans.push(Span::styled(
                "database state unknown",
                Style::new().fg(Color::LightRed),
            ));
        }
    }
    spans.push(sep());
    let heads: Vec<String> = app
        .map
        .heads()
        .iter()
        .map(|&h| app.map.id(h).to_string())
        .collect();
    spans.push(Span::styled(
        if heads.len() == 1 { "head " } else { "heads " },
        Style::new().fg(Color::Gray),
    ));
    spans.push(Span::styled(
        if heads.is_empty() {
            "none".to_string()
        } else {
            heads.join(", ")
        },
        Style::new().fg(Color::LightMagenta),
    ));
    Line::from(spans)
}

fn progress_line(app: &App, width: u16) -> Line<'static> {
    let Some(run) = &app.run else {
        return Line::default();
    };
    let kind_style = match run.kind {
        PlanKind::Upgrade => Style::new().fg(Color::Black).bg(Color::Green).bold(),
        PlanKind::Downgrade => Style::new().fg(Color::White).bg(Color::Red).bold(),
        PlanKind::Stamp => Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
    };
    let total = run.steps.len().max(1);
    let step_no = run
        .current
        .as_ref()
        .map_or(run.done, |(i, _)| i + 1)
        .min(total);
    let bar_width = 12usize;
    let filled = (run.done * bar_width / total).min(bar_width);
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(format!(" {} ", run.kind.word()), kind_style),
        Span::raw(" "),
        Span::styled("█".repeat(filled), Style::new().fg(Color::Green)),
        Span::styled("░".repeat(bar_width - filled), Style::new().fg(DIM)),
        Span::styled(
            format!(" step {step_no}/{total} "),
            Style::new().fg(Color::White).bold(),
        ),
    ];
    if let Some((_, title)) = &run.current {
        spans.push(Span::styled(title.clone(), Style::new().fg(Color::White)));
        spans.push(Span::styled(
            format!("  {}", format::clock(run.step_started.elapsed())),
            Style::new().fg(Color::Yellow),
        ));
    }
    spans.push(Span::styled(
        format!("  total {}", format::clock(run.started.elapsed())),
        Style::new().fg(Color::Gray),
    ));
    let hint = if run.cancel_requested {
        Span::styled("  cancelling…", Style::new().fg(Color::LightRed).bold())
    } else {
        Span::styled(
            format!("  {} cancel", app.keymap.label(Action::Cancel)),
            Style::new().fg(DIM),
        )
    };
    let used: usize = spans.iter().map(Span::width).sum();
    if used + hint.width() <= usize::from(width) {
        spans.push(hint);
    }
    Line::from(spans)
}

// ----- body -----------------------------------------------------------------

fn draw_body(frame: &mut Frame, area: Rect, app: &mut App) {
    app.areas = Default::default();
    if app.zoom {
        match app.focus {
            Pane::Graph => draw_graph(frame, area, app),
            Pane::Sql => draw_sql(frame, area, app),
            Pane::Log => draw_log(frame, area, app),
        }
        return;
    }
    let log_height = (area.height * 3 / 10).clamp(4, 14);
    let [top, log] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(log_height)]).areas(area);
    let graph_share = if area.width >= 140 { 55 } else { 50 };
    let [graph, sql] = Layout::horizontal([
        Constraint::Percentage(graph_share),
        Constraint::Percentage(100 - graph_share),
    ])
    .areas(top);
    draw_graph(frame, graph, app);
    draw_sql(frame, sql, app);
    draw_log(frame, log, app);
}

fn pane_block(title: Line<'static>, focused: bool) -> Block<'static> {
    let border = if focused {
        Style::new().fg(ACCENT)
    } else {
        Style::new().fg(DIM)
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(border)
        .title(title)
}

fn title_span(text: &str, focused: bool) -> Span<'static> {
    if focused {
        Span::styled(
            format!(" {text} "),
            Style::new().fg(Color::Black).bg(ACCENT).bold(),
        )
    } else {
        Span::styled(format!(" {text} "), Style::new().fg(Color::White).bold())
    }
}

// ----- graph ----------------------------------------------------------------

fn draw_graph(frame: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Graph;
    let total = app.map.len();
    let mut title = vec![title_span("Revisions", focused)];
    match &app.filter {
        Some(filter) => title.push(Span::styled(
            format!(" filter \"{filter}\": {} of {total} ", app.entries.len()),
            Style::new().fg(Color::Yellow),
        )),
        None => title.push(Span::styled(
            format!(" {total} "),
            Style::new().fg(Color::Gray),
        )),
    }
    let block = pane_block(Line::from(title), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.graph = area;

    let search_rows = u16::from(app.search.is_some());
    let [rows_area, search_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(search_rows)]).areas(inner);
    app.areas.graph_rows = rows_area;
    let height = usize::from(rows_area.height);
    app.graph_height = height;
    if app.entries.is_empty() {
        let text = if app.filter.is_some() {
            "no revision matches the filter"
        } else {
            "no revision files yet: press n to write one"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, Style::new().fg(DIM))),
            rows_area,
        );
    } else {
        keep_selection_visible(app, height);
        let lines: Vec<Line> = (app.graph_offset
            ..(app.graph_offset + height).min(app.entries.len()))
            .map(|i| graph_line(app, i, usize::from(rows_area.width)))
            .collect();
        frame.render_widget(Paragraph::new(lines), rows_area);
    }
    if let Some(search) = &app.search {
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

fn keep_selection_visible(app: &mut App, height: usize) {
    let height = height.max(1);
    if app.selected < app.graph_offset {
        app.graph_offset = app.selected;
    } else if app.selected >= app.graph_offset + height {
        app.graph_offset = app.selected + 1 - height;
    }
    let max_offset = app.entries.len().saturating_sub(height);
    app.graph_offset = app.graph_offset.min(max_offset);
}

fn status_marker(status: RevStatus) -> (char, Style) {
    match status {
        RevStatus::Current => ('◉', Style::new().fg(Color::LightCyan).bold()),
        RevStatus::Applied => ('●', Style::new().fg(Color::Green)),
        RevStatus::Pending => ('○', Style::new().fg(Color::Yellow)),
        RevStatus::Unknown => ('○', Style::new().fg(DIM)),
    }
}

fn graph_line(app: &App, entry_index: usize, width: usize) -> Line<'static> {
    let selected = entry_index == app.selected;
    let mut spans: Vec<Span> = Vec::new();
    let lane_width = app.layout.lane_width.min(24);
    match app.entries[entry_index] {
        Entry::Missing(m) => {
            let id = app.statuses.missing.get(m).cloned().unwrap_or_default();
            spans.push(Span::styled(
                format!("{:<lane_width$}", "✗"),
                Style::new().fg(Color::Red).bold(),
            ));
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                fit(&id, MAX_ID_WIDTH),
                Style::new().fg(Color::Red).bold(),
            ));
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                " file missing ",
                Style::new().fg(Color::White).bg(Color::Red),
            ));
            spans.push(Span::styled(
                " the version table names this revision, but no file has it",
                Style::new().fg(Color::LightRed),
            ));
        }
        Entry::Row(row) => {
            let rev_index = app.layout.order[row];
            let status = app.statuses.of(rev_index);
            let rev = app.map.revision(rev_index);
            let running = app.run.as_ref().is_some_and(|run| {
                run.current
                    .as_ref()
                    .and_then(|(i, _)| run.steps.get(*i))
                    .is_some_and(|step| step.revision == rev.id)
            });
            let (marker, marker_style) = if running {
                ('▶', Style::new().fg(Color::Yellow).bold())
            } else {
                status_marker(status)
            };
            let lanes = &app.layout.rows[row];
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
            spans.push(Span::raw(" "));
            let id_width = id_column_width(app);
            let id_style = match status {
                RevStatus::Pending => Style::new().fg(Color::Yellow),
                RevStatus::Unknown => Style::new().fg(Color::Gray),
                _ => Style::new().fg(Color::Green),
            };
            spans.push(Span::styled(
                format!("{:<id_width$}", fit(&rev.id, id_width)),
                id_style,
            ));
            if running {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    " running ",
                    Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
                ));
            }
            if status == RevStatus::Current {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    " current ",
                    Style::new().fg(Color::Black).bg(Color::LightCyan).bold(),
                ));
            }
            if app.map.is_head(rev_index) {
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
            for (dep, dep_row) in rev
                .depends_on
                .iter()
                .zip(lanes.deps.iter().chain(std::iter::repeat(&None)))
            {
                let style = if dep_row.is_some() {
                    Style::new().fg(Color::Blue)
                } else {
                    Style::new().fg(Color::Red)
                };
                spans.push(Span::styled(format!(" ⇢ {dep}"), style));
            }
            if !rev.transactional {
                spans.push(Span::styled(" no-tx", Style::new().fg(Color::LightRed)));
            }
            if rev.is_irreversible() {
                spans.push(Span::styled(" irreversible", Style::new().fg(Color::Red)));
            }
        }
    }
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

fn id_column_width(app: &App) -> usize {
    // Every id is usually the same length; measuring the first few is enough.
    app.map
        .revisions()
        .iter()
        .take(64)
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(8)
        .min(MAX_ID_WIDTH)
}

fn lane_style(column: usize) -> Style {
    Style::new().fg(LANE_COLORS[column % LANE_COLORS.len()])
}

/// `text` cut to `width` characters with a trailing `…`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Spans cut so that they fit `width` characters.
fn truncate_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::with_capacity(spans.len());
    let mut used = 0;
    for span in spans {
        let w = span.width();
        if used + w <= width {
            used += w;
            out.push(span);
            continue;
        }
        let room = width - used;
        if room > 0 {
            let text: String = span.content.chars().take(room.saturating_sub(1)).collect();
            out.push(Span::styled(format!("{text}…"), span.style));
        }
        break;
    }
    out
}

// ----- SQL ------------------------------------------------------------------

fn draw_sql(frame: &mut Frame, area: Rect, app: &mut App) {
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
    app.areas.sql = area;

    let Some(index) = app.selected_revision() else {
        let text = match app.entries.get(app.selected) {
            Some(Entry::Missing(m)) => format!(
                "The version table holds {}, but no file in {} has this id: it was applied from \
                 a revision file that is missing here (another checkout or branch of the code?). \
                 Nothing can be planned from this state: restore the file, or stamp the database \
                 to a revision that exists.",
                app.statuses.missing.get(*m).map_or("", String::as_str),
                crate::app::display_path(&app.migrations_dir)
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
    let rev = app.map.revision(index);
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
            crate::app::display_path(&rev.path),
            Style::new().fg(Color::Gray),
        ),
    ));
    let status = match app.statuses.of(index) {
        RevStatus::Current => Span::styled(
            "current (in the version table)",
            Style::new().fg(Color::LightCyan).bold(),
        ),
        RevStatus::Applied => Span::styled("applied", Style::new().fg(Color::Green)),
        RevStatus::Pending => Span::styled("pending", Style::new().fg(Color::Yellow)),
        RevStatus::Unknown => Span::styled("unknown (not connected)", Style::new().fg(DIM)),
    };
    fields.push(field("status", status));
    let field_rows = (fields.len() as u16).min(inner.height.saturating_sub(2));
    let [fields_area, rule, text_area] = Layout::vertical([
        Constraint::Length(field_rows),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(fields), fields_area);

    let section_missing = section(rev, app.sql.tab).is_none();
    app.sync_sql_pane();
    let App {
        sql, highlights, ..
    } = app;
    let position = match &sql.view {
        Some(view) if view.line_count() > 0 => {
            let end = (view.scroll + usize::from(text_area.height)).min(view.line_count());
            format!(" lines {}–{end} of {} ", view.scroll + 1, view.line_count())
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
    match &mut sql.view {
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
}

/// A text view with file line numbers in a gutter.
fn draw_text(frame: &mut Frame, area: Rect, view: &mut TextView, highlights: &mut Highlights) {
    let range = view.visible(usize::from(area.height));
    let last_number = view.first_number + view.line_count().saturating_sub(1);
    let gutter = last_number.to_string().len();
    let lines = highlights.lines(view, range.clone());
    let numbered: Vec<Line> = range
        .zip(lines)
        .map(|(index, line)| {
            let mut spans = vec![Span::styled(
                format!("{:>gutter$} ", view.first_number + index),
                Style::new().fg(DIM),
            )];
            spans.extend(line.spans);
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(numbered), area);
}

// ----- log ------------------------------------------------------------------

fn draw_log(frame: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Log;
    let follow = if app.log.is_following() {
        Span::styled(" following ", Style::new().fg(Color::Green))
    } else {
        Span::styled(
            format!(
                " line {} of {} · {} follows ",
                app.log.position(),
                app.log.len(),
                app.keymap.label(Action::Bottom)
            ),
            Style::new().fg(Color::Yellow),
        )
    };
    let title = Line::from(vec![title_span("Log", focused), follow]);
    let block = pane_block(title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.log = area;
    let rows = app
        .log
        .wrapped_rows(usize::from(inner.height), usize::from(inner.width));
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|row| {
            let style = match row.kind {
                LogKind::Info => Style::new().fg(Color::Gray),
                LogKind::Step => Style::new().fg(Color::White).bold(),
                LogKind::Statement => Style::new().fg(Color::Blue),
                LogKind::Notice => Style::new().fg(Color::Cyan),
                LogKind::Warning => Style::new().fg(Color::Yellow),
                LogKind::Success => Style::new().fg(Color::Green),
                LogKind::Error => Style::new().fg(Color::LightRed).bold(),
                LogKind::Detail => Style::new().fg(Color::LightRed),
            };
            let time = match row.time {
                Some(time) => format!("{time} "),
                None => " ".repeat(TIME_COLUMNS),
            };
            Line::from(vec![
                Span::styled(time, Style::new().fg(DIM)),
                Span::styled(row.text.to_string(), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

// ----- footer and messages ----------------------------------------------------

fn draw_flash(frame: &mut Frame, area: Rect, app: &App) {
    let Some(flash) = &app.flash else { return };
    let style = match flash.level {
        FlashLevel::Info => Style::new().fg(Color::Black).bg(Color::Green),
        FlashLevel::Warning => Style::new().fg(Color::Black).bg(Color::Yellow),
        FlashLevel::Error => Style::new().fg(Color::White).bg(Color::Red).bold(),
    };
    let text = fit(
        &format!(" {}", flash.text.replace('\n', " ")),
        usize::from(area.width),
    );
    frame.render_widget(Paragraph::new(text).style(style), area);
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let hint_spans = |hints: Vec<Hint>| {
        let mut spans = vec![Span::raw(" ")];
        for (i, (key, what)) in hints.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(key, Style::new().fg(Color::Yellow).bold()));
            spans.push(Span::styled(
                format!(" {what}"),
                Style::new().fg(Color::Gray),
            ));
        }
        spans
    };
    let (hints, pinned) = footer_hints(app);
    let pinned = hint_spans(pinned);
    let pinned_width: usize = pinned.iter().map(Span::width).sum::<usize>() + 1;
    let [left, right] = Layout::horizontal([
        Constraint::Min(1),
        Constraint::Length(pinned_width.min(usize::from(area.width / 2)) as u16),
    ])
    .areas(area);
    frame.render_widget(Block::new().style(Style::new().bg(BAR_BG)), area);
    frame.render_widget(
        Paragraph::new(Line::from(truncate_spans(
            hint_spans(hints),
            usize::from(left.width),
        ))),
        left,
    );
    frame.render_widget(
        Paragraph::new(Line::from(truncate_spans(pinned, usize::from(right.width)))),
        right,
    );
}

/// The keys of the current context, and those always shown at the right.
/// A key and what it does, as the footer shows them.
type Hint = (String, String);

fn footer_hints(app: &App) -> (Vec<Hint>, Vec<Hint>) {
    let k = |a: Action| app.keymap.label(a);
    let pair = |a: Action, what: &str| (k(a), what.to_string());
    let always = vec![pair(Action::Help, "help"), pair(Action::Quit, "quit")];
    if let Some(dialog) = app.dialogs.last() {
        let hints = match dialog {
            Dialog::Help { .. } => vec![
                pair(Action::Down, "scroll"),
                ("any key".into(), "close".into()),
            ],
            Dialog::Plan(plan) => {
                let mut hints = match &plan.confirm {
                    Confirm::Enter => vec![pair(Action::Confirm, "run the upgrade")],
                    Confirm::DestructiveKey => vec![pair(
                        Action::ConfirmDestructive,
                        &format!("run the {}", plan.kind.word()),
                    )],
                    Confirm::TypeName { name, .. } => {
                        vec![("type".into(), format!("{name} + Enter to run"))]
                    }
                };
                hints.push(pair(Action::PageDown, "page the SQL"));
                hints.push(pair(Action::WriteSql, "write SQL to a file"));
                hints.push(pair(Action::Cancel, "close"));
                hints
            }
            Dialog::Write(_) => vec![
                ("Enter".into(), "write".into()),
                ("Esc".into(), "close".into()),
            ],
            Dialog::NewRevision(_) => vec![
                ("Ctrl-s".into(), "write the file".into()),
                ("Tab".into(), "next field".into()),
                ("S-Tab".into(), "previous".into()),
                ("Space".into(), "toggle (Transactional)".into()),
                ("Esc".into(), "discard".into()),
            ],
            Dialog::ConfirmCancel => vec![
                ("y".into(), "cancel the run".into()),
                ("n".into(), "keep running".into()),
            ],
            Dialog::Message { .. } => vec![("any key".into(), "close".into())],
        };
        return (hints, Vec::new());
    }
    if app.search.is_some() {
        let hints = vec![
            ("Enter".into(), "keep the filter".into()),
            ("Esc".into(), "clear it".into()),
            ("↑↓".into(), "move".into()),
        ];
        return (hints, Vec::new());
    }
    if app.run.is_some() {
        let hints = vec![
            pair(Action::Cancel, "cancel the run"),
            pair(Action::FocusNext, "next pane"),
            pair(Action::Down, "scroll"),
            pair(Action::Zoom, "zoom"),
        ];
        return (hints, vec![pair(Action::Help, "help")]);
    }
    let mut hints = match app.focus {
        Pane::Graph => vec![
            pair(Action::UpgradeOne, "step up"),
            pair(Action::UpgradeTo, "upgrade to"),
            pair(Action::DowngradeOne, "step down"),
            pair(Action::DowngradeTo, "downgrade to"),
            pair(Action::Stamp, "stamp"),
            pair(Action::Search, "filter"),
            pair(Action::NewRevision, "new"),
            pair(Action::Edit, "edit"),
            pair(Action::Refresh, "refresh"),
        ],
        Pane::Sql => vec![
            pair(Action::ToggleSql, "upgrade/downgrade"),
            pair(Action::Down, "scroll"),
            pair(Action::PageDown, "page"),
            pair(Action::Zoom, "zoom"),
            pair(Action::Edit, "edit"),
        ],
        Pane::Log => vec![
            pair(Action::Up, "scroll"),
            pair(Action::Bottom, "follow"),
            pair(Action::SaveLog, "save to file"),
            pair(Action::Zoom, "zoom"),
        ],
    };
    if app.focus != Pane::Graph {
        hints.push(pair(Action::FocusNext, "pane"));
    }
    (hints, always)
}

// ----- dialogs --------------------------------------------------------------

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

fn draw_dialog(frame: &mut Frame, area: Rect, app: &mut App, dialog: &mut Dialog) {
    match dialog {
        Dialog::Help { scroll } => draw_help(frame, area, app, *scroll),
        Dialog::Plan(plan) => draw_plan(frame, area, app, plan),
        Dialog::Write(write) => draw_write(frame, area, write),
        Dialog::NewRevision(form) => draw_form(frame, area, app, form),
        Dialog::ConfirmCancel => draw_confirm_cancel(frame, area, app),
        Dialog::Message { title, text } => draw_message(frame, area, title, text),
    }
}

fn dialog_block(title: Line<'static>, border: Color) -> Block<'static> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(border))
        .title(title)
        .style(Style::new().bg(Color::Black))
}

fn draw_help(frame: &mut Frame, area: Rect, app: &App, scroll: usize) {
    let groups: [(&str, &[Action]); 4] = [
        (
            "Move",
            &[
                Action::Up,
                Action::Down,
                Action::PageUp,
                Action::PageDown,
                Action::Top,
                Action::Bottom,
                Action::FocusNext,
                Action::FocusPrev,
                Action::Zoom,
                Action::ToggleSql,
            ],
        ),
        (
            "Migrate",
            &[
                Action::UpgradeOne,
                Action::UpgradeTo,
                Action::DowngradeOne,
                Action::DowngradeTo,
                Action::Stamp,
                Action::Cancel,
                Action::Refresh,
            ],
        ),
        (
            "Files",
            &[
                Action::Search,
                Action::NewRevision,
                Action::Edit,
                Action::WriteSql,
                Action::SaveLog,
            ],
        ),
        (
            "Dialogs",
            &[
                Action::Confirm,
                Action::ConfirmDestructive,
                Action::Help,
                Action::Quit,
            ],
        ),
    ];
    let key_width = Action::ALL
        .iter()
        .map(|a| app.keymap.labels(*a).chars().count())
        .max()
        .unwrap_or(6)
        .min(12);
    let group_lines = |(group, actions): &(&str, &[Action])| {
        let mut lines = vec![Line::from(Span::styled(
            group.to_string(),
            Style::new().fg(ACCENT).bold(),
        ))];
        for action in actions.iter() {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {:<key_width$} ", app.keymap.labels(*action)),
                    Style::new().fg(Color::Yellow).bold(),
                ),
                Span::raw(action.description()),
            ]));
        }
        lines.push(Line::from(""));
        lines
    };
    let mut markers = vec![Line::from(Span::styled(
        "Markers",
        Style::new().fg(ACCENT).bold(),
    ))];
    for (status, text) in [
        (RevStatus::Current, "current: a row of the version table"),
        (RevStatus::Applied, "applied"),
        (RevStatus::Pending, "pending"),
        (RevStatus::Unknown, "unknown: not connected"),
    ] {
        let (marker, style) = status_marker(status);
        markers.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(format!("{marker:<6}"), style),
            Span::raw(format!(" {text}")),
        ]));
    }
    for (tag, style, text) in [
        (
            "✗",
            Style::new().fg(Color::Red).bold(),
            "a version-table row without a file",
        ),
        (
            "(head)",
            Style::new().fg(Color::LightMagenta).bold(),
            "a head of the revision files",
        ),
        (
            "⇢ id",
            Style::new().fg(Color::Blue),
            "depends_on (not drawn as a lane)",
        ),
        (
            "no-tx",
            Style::new().fg(Color::LightRed),
            "transactional: false",
        ),
    ] {
        markers.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(format!("{tag:<6}"), style),
            Span::raw(format!(" {text}")),
        ]));
    }
    markers.push(Line::from(""));
    markers.push(Line::from(Span::styled(
        "Mouse: the wheel scrolls the pane under it;",
        Style::new().fg(Color::Gray),
    )));
    markers.push(Line::from(Span::styled(
        "a click focuses a pane and selects a row.",
        Style::new().fg(Color::Gray),
    )));
    markers.push(Line::from(Span::styled(
        "Keys are set in [keys] of retort.toml.",
        Style::new().fg(Color::Gray),
    )));

    let two_columns = area.width >= 110;
    let (left, right): (Vec<Line>, Vec<Line>) = if two_columns {
        let left = groups[..2].iter().flat_map(group_lines).collect();
        let mut right: Vec<Line> = groups[2..].iter().flat_map(group_lines).collect();
        right.extend(markers);
        (left, right)
    } else {
        let mut all: Vec<Line> = groups.iter().flat_map(group_lines).collect();
        all.extend(markers);
        (all, Vec::new())
    };
    let rows = left.len().max(right.len()) as u16;
    let width = if two_columns { 110 } else { 70 };
    let rect = centered(area, width, (rows + 2).min(area.height.saturating_sub(2)));
    frame.render_widget(Clear, rect);
    let block = dialog_block(
        Line::from(vec![Span::styled(
            " Keys ",
            Style::new().fg(Color::Black).bg(ACCENT).bold(),
        )]),
        ACCENT,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let max_scroll = usize::from(rows).saturating_sub(usize::from(inner.height));
    let scroll = scroll.min(max_scroll) as u16;
    if two_columns {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(inner);
        frame.render_widget(Paragraph::new(left).scroll((scroll, 0)), l);
        frame.render_widget(Paragraph::new(right).scroll((scroll, 0)), r);
    } else {
        frame.render_widget(Paragraph::new(left).scroll((scroll, 0)), inner);
    }
}

fn draw_plan(frame: &mut Frame, area: Rect, app: &mut App, dialog: &mut PlanDialog) {
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
    // Fixed columns, then the version-table change as wide as it needs
    // (merges name several rows), the message taking the rest.
    let width = usize::from(area.width.saturating_sub(6).min(128));
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
    let max_height = area.height.saturating_sub(2);
    let max_steps = usize::from(max_height / 3).max(3);
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
    let confirm_rows = match dialog.confirm {
        Confirm::TypeName { .. } => 2,
        _ => 1,
    } + u16::from(dialog.hint.is_some());
    // As tall as the content needs, up to the whole screen.
    let wanted = lines.len() + 1 + dialog.sql.line_count().max(3) + usize::from(confirm_rows) + 2;
    let width = area.width.saturating_sub(4).min(130);
    let rect = centered(area, width, (wanted as u16).min(max_height));
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

    let view = &mut dialog.sql;
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
                format!(" run this {}    ", dialog.kind.word()),
                Style::new().fg(color).bold(),
            ),
            Span::styled(
                format!(" {} ", app.keymap.label(Action::Cancel)),
                Style::new().fg(Color::Black).bg(Color::Gray),
            ),
            Span::raw(" close without running    (Enter does not confirm this)"),
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

fn heads_text(heads: &[String]) -> String {
    if heads.is_empty() {
        "(base)".to_string()
    } else {
        heads.join(", ")
    }
}

fn draw_write(frame: &mut Frame, area: Rect, dialog: &WriteDialog) {
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

fn draw_form(frame: &mut Frame, area: Rect, app: &App, form: &NewRevisionForm) {
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
    let sql_rows = inner.height.saturating_sub(7) / 2;
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(sql_rows),
        Constraint::Length(sql_rows),
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
        frame.render_widget(*area, inner);
    }
    let note = match &form.error {
        Some(error) => Paragraph::new(error.clone()).fg(Color::LightRed).bold(),
        None => Paragraph::new(placement(app, &single_line(&form.after))).fg(Color::Gray),
    };
    frame.render_widget(note.wrap(Wrap { trim: true }), rows[7]);
}

/// Where a new revision after `after` lands in the graph.
fn placement(app: &App, after: &str) -> String {
    let ids: Vec<&str> = after.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    if ids.is_empty() {
        return "No revision before it: the new revision starts a new base.".to_string();
    }
    let mut heads = 0;
    for id in &ids {
        match app.map.get_revision(id) {
            Ok(Some(index)) if app.map.is_head(index) => heads += 1,
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

fn draw_form_field(
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

fn draw_confirm_cancel(frame: &mut Frame, area: Rect, app: &App) {
    let rect = centered(area, 64, 7);
    frame.render_widget(Clear, rect);
    let block = dialog_block(
        Line::from(Span::styled(
            " Cancel the running plan? ",
            Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
        )),
        Color::Yellow,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let step = app
        .run
        .as_ref()
        .and_then(|r| {
            r.current
                .as_ref()
                .map(|(i, t)| format!("step {} ({t})", i + 1))
        })
        .unwrap_or_else(|| "the plan".to_string());
    let text = Text::from(vec![
        Line::from(format!("The server stops {step}.")),
        Line::from("A transactional step is rolled back; the steps before it stay applied."),
        Line::from(""),
        Line::from(vec![
            Span::styled(
                " y ",
                Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
            ),
            Span::raw(" cancel it    "),
            Span::styled(" n ", Style::new().fg(Color::Black).bg(Color::Gray)),
            Span::raw(" keep running"),
        ]),
    ]);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
}

fn draw_message(frame: &mut Frame, area: Rect, title: &str, text: &str) {
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
