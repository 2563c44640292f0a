//! Drawing: every pane and dialog is drawn from the [`App`] state. Only the
//! visible rows are built, so a frame costs the same for 10 or 10,000
//! revisions.

mod dialogs;
mod footer;
mod graph;
mod header;
mod help;
mod history;
mod log;
mod plan;
mod sql;

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

use self::{
    dialogs::*, footer::*, graph::*, header::*, help::*, history::*, log::*, plan::*, sql::*,
};

pub(super) const BAR_BG: Color = Color::Indexed(236);
pub(super) const SELECTED_BG: Color = Color::Indexed(238);
pub(super) const DIM: Color = Color::DarkGray;
pub(super) const ACCENT: Color = Color::Cyan;
/// Lane colours, by column, as `git log --graph` colours its lanes.
pub(super) const LANE_COLORS: [Color; 6] = [
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::LightRed,
];

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

pub(super) fn draw_too_small(frame: &mut Frame, area: Rect, app: &App) {
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

pub(super) fn draw_body(frame: &mut Frame, area: Rect, app: &mut App) {
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

pub(super) fn pane_block(title: Line<'static>, focused: bool) -> Block<'static> {
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

pub(super) fn title_span(text: &str, focused: bool) -> Span<'static> {
    if focused {
        Span::styled(
            format!(" {text} "),
            Style::new().fg(Color::Black).bg(ACCENT).bold(),
        )
    } else {
        Span::styled(format!(" {text} "), Style::new().fg(Color::White).bold())
    }
}

/// `text` cut to `width` characters with a trailing `…`.
pub(super) fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Spans cut so that they fit `width` characters.
pub(super) fn truncate_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
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
