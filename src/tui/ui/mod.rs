//! Drawing, in two passes per frame: [`layout`] works out where every pane
//! and dialog goes (recorded in the [`ViewState`] for the keys and the
//! mouse) and fits the scrollable views to it; [`draw`] then draws them
//! from the [`App`] state, which it only reads. Only the visible rows are
//! built, so a frame costs the same for 10 or 10,000 revisions.

mod dialogs;
mod footer;
mod graph;
mod header;
mod help;
mod history;
mod log;
mod plan;
mod plan_lint;
mod rehearsal;
mod sql;
mod theme;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use self::dialogs::{
    draw_confirm_cancel, draw_confirm_discard, draw_form, draw_message, draw_write,
};
use self::footer::{draw_flash, draw_footer};
use self::graph::{draw_graph, layout_graph};
use self::header::draw_header;
use self::help::draw_help;
use self::history::draw_history;
use self::log::draw_log;
use self::plan::{draw_plan, layout_plan};
use self::sql::{draw_sql, layout_sql};
use self::theme::pane_inner;
use crate::tui::action::Action;
use crate::tui::app::{App, MIN_HEIGHT, MIN_WIDTH, Pane};
use crate::tui::dialogs::Dialog;
use crate::tui::textview::Highlights;
use crate::tui::view::{PaneAreas, ViewState};

/// The layout pass, before each draw: records where the panes go in
/// `view` (for the mouse and paging) and fits every scrollable view of
/// `app` to the rows and columns it gets, which keeps its position inside
/// the text. [`draw`] then only reads `app`.
pub fn layout(area: Rect, app: &mut App, view: &mut ViewState) {
    view.too_small = area.width < MIN_WIDTH || area.height < MIN_HEIGHT;
    view.areas = PaneAreas::default();
    if view.too_small {
        return;
    }
    let [_, body, _, _] = screen_areas(area, app);
    view.areas = pane_areas(body, app);
    if !view.areas.graph.is_empty() {
        layout_graph(view.areas.graph, app, view);
    }
    if !view.areas.sql.is_empty() {
        layout_sql(view.areas.sql, app);
    }
    if !view.areas.log.is_empty() {
        app.log
            .set_view_height(usize::from(pane_inner(view.areas.log).height));
    }
    // Each plan dialog fits its SQL while out of the app, so it can read
    // the rest of it.
    let mut dialogs = std::mem::take(&mut app.dialogs);
    for dialog in &mut dialogs {
        if let Dialog::Plan(plan) = dialog {
            layout_plan(area, app, plan);
        }
    }
    app.dialogs = dialogs;
}

/// Draws the whole screen from `app`, where the last [`layout`] put things.
pub fn draw(frame: &mut Frame, app: &App, view: &mut ViewState) {
    let area = frame.area();
    if view.too_small {
        draw_too_small(frame, area, app);
        return;
    }
    let [header, _, flash, footer] = screen_areas(area, app);
    draw_header(frame, header, app);
    draw_body(frame, app, view);
    if app.flash.is_some() {
        draw_flash(frame, flash, app);
    }
    draw_footer(frame, footer, app);
    for dialog in &app.dialogs {
        draw_dialog(frame, area, app, dialog, &mut view.highlights);
    }
}

/// One dialog of the stack, over the screen.
fn draw_dialog(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    dialog: &Dialog,
    highlights: &mut Highlights,
) {
    match dialog {
        Dialog::History {
            revision,
            rows,
            scroll,
        } => draw_history(
            frame,
            area,
            &app.graph.map,
            revision.as_deref(),
            rows.as_ref(),
            *scroll,
        ),
        Dialog::Help { scroll } => draw_help(frame, area, app, *scroll),
        Dialog::Plan(plan) => draw_plan(frame, area, app, plan, highlights),
        Dialog::Write(write) => draw_write(frame, area, write),
        Dialog::NewRevision(form) => draw_form(frame, area, app, form, highlights),
        Dialog::ConfirmCancel => draw_confirm_cancel(frame, area, app),
        Dialog::ConfirmDiscard => draw_confirm_discard(frame, area),
        Dialog::Message { title, text } => draw_message(frame, area, title, text),
    }
}

/// Header, body, message bar (while there is a message) and footer.
fn screen_areas(area: Rect, app: &App) -> [Rect; 4] {
    let flash_rows = u16::from(app.flash.is_some());
    Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(4),
        Constraint::Length(flash_rows),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the graph, SQL and log panes go in the body; a pane not shown
/// (another is zoomed) gets an empty area.
fn pane_areas(area: Rect, app: &App) -> PaneAreas {
    let mut areas = PaneAreas::default();
    if app.zoom {
        match app.focus {
            Pane::Graph => areas.graph = area,
            Pane::Sql => areas.sql = area,
            Pane::Log => areas.log = area,
        }
        return areas;
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
    PaneAreas {
        graph,
        sql,
        log,
        graph_rows: Rect::default(),
    }
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

fn draw_body(frame: &mut Frame, app: &App, view: &mut ViewState) {
    let areas = view.areas;
    if !areas.graph.is_empty() {
        draw_graph(frame, areas.graph, app, view);
    }
    if !areas.sql.is_empty() {
        draw_sql(frame, areas.sql, app, &mut view.highlights);
    }
    if !areas.log.is_empty() {
        draw_log(frame, areas.log, app);
    }
}
