//! The help overlay: every key, from the key map, and the markers' legend.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::dialogs::{centered, dialog_block};
use super::graph::status_marker;
use super::theme::ACCENT;
use crate::tui::action::{Action, HelpGroup};
use crate::tui::app::App;
use crate::tui::model::RevStatus;

pub(super) fn draw_help(frame: &mut Frame, area: Rect, app: &App, scroll: usize) {
    // Headings, actions and descriptions come from the action table, the
    // keys from the key map: what help shows is what the console does.
    let groups: Vec<(&str, Vec<Action>)> = HelpGroup::ALL
        .iter()
        .map(|g| (g.title(), g.actions().collect()))
        .collect();
    let key_width = Action::ALL
        .iter()
        .map(|a| app.keymap.labels(*a).chars().count())
        .max()
        .unwrap_or(6)
        .min(12);
    let group_lines = |(group, actions): &(&str, Vec<Action>)| {
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
