//! The log pane: wrapped lines, following the tail unless scrolled up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::{DIM, pane_block, title_span};
use crate::tui::action::Action;
use crate::tui::app::{App, Pane};
use crate::tui::log::{LogKind, TIME_COLUMNS};

pub(super) fn draw_log(frame: &mut Frame, area: Rect, app: &App) {
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
    let mut title = vec![title_span("Log", focused), follow];
    title.extend(search_title(app));
    let title = Line::from(title);
    let block = pane_block(title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let current = app.log.search.as_ref().and_then(|s| s.current);
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
            // The current match stands out, all of its rows.
            let style = match current == Some(row.seq) {
                true => style.add_modifier(Modifier::REVERSED),
                false => style,
            };
            Line::from(vec![
                Span::styled(time, Style::new().fg(DIM)),
                Span::styled(row.text.to_string(), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The search in the pane's title: the query being typed, or which match
/// is shown.
fn search_title(app: &App) -> Vec<Span<'static>> {
    let Some(search) = &app.log.search else {
        return Vec::new();
    };
    let style = Style::new().fg(Color::Black).bg(Color::Yellow);
    let text = match (search.typing, search.current) {
        (true, _) => format!(" /{}▏ ", search.query),
        (false, Some(seq)) => {
            let (rank, total) = app.log.match_rank(&search.query, seq);
            format!(" /{}  match {rank} of {total} ", search.query)
        }
        (false, None) => format!(" /{}  no match ", search.query),
    };
    vec![Span::styled(text, style)]
}
