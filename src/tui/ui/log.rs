//! The log pane: wrapped lines, following the tail unless scrolled up.

use super::*;

pub(super) fn draw_log(frame: &mut Frame, area: Rect, app: &mut App) {
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
