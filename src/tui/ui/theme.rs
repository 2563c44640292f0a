//! What the panes and dialogs share: colours, the pane frame and its
//! title, and cutting text to a width.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

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

/// Inside a pane's border.
pub(super) fn pane_inner(area: Rect) -> Rect {
    pane_block(Line::default(), false).inner(area)
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
