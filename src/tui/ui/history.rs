//! The audit history: every step, stamp and resolution recorded in the
//! history table, newest first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::dialogs::{centered, dialog_block};
use super::theme::{ACCENT, DIM, fit};
use crate::core::graph::RevisionMap;
use crate::db::history::{HistoryDirection, HistoryEntry, HistoryStatus};
use crate::tui::format;

pub(super) fn draw_history(
    frame: &mut Frame,
    area: Rect,
    map: &RevisionMap,
    revision: Option<&str>,
    rows: Option<&Result<Vec<HistoryEntry>, String>>,
    scroll: usize,
) {
    let rect = centered(
        area,
        area.width.saturating_sub(4).min(140),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, rect);
    let which = match revision {
        Some(id) => format!("revision {id}"),
        None => "all revisions".to_string(),
    };
    let count = match rows {
        Some(Ok(rows)) => format!(" · {} row(s)", rows.len()),
        _ => String::new(),
    };
    let block = dialog_block(
        Line::from(Span::styled(
            format!(" Audit history · {which}{count} · newest first "),
            Style::new().fg(Color::Black).bg(ACCENT).bold(),
        )),
        ACCENT,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let lines: Vec<Line> = match rows {
        None => vec![Line::from(Span::styled(
            "reading the history…",
            Style::new().fg(Color::Yellow),
        ))],
        Some(Err(why)) => vec![Line::from(Span::styled(
            format!("cannot read the history: {why}"),
            Style::new().fg(Color::LightRed).bold(),
        ))],
        Some(Ok(rows)) if rows.is_empty() => vec![Line::from(Span::styled(
            "nothing recorded yet: the history starts with the first step retort runs on this database",
            Style::new().fg(Color::Gray),
        ))],
        Some(Ok(rows)) => {
            // Ids by their shortest unique prefix, as in the graph.
            let id_width = rows
                .iter()
                .map(|r| revision_text(map, &r.revision).chars().count())
                .max()
                .unwrap_or(0)
                .max(13);
            // Wide enough for a step between two long ids; merges may be cut.
            let change_width = rows
                .iter()
                .map(|r| change_text(map, r).chars().count())
                .max()
                .unwrap_or(0)
                .clamp(29, 40);
            let widths = (id_width, change_width);
            let mut lines = vec![Line::from(Span::styled(
                format!(
                    "{:>6}  {:<19}  {:<11} {:<8} {:<id_width$} {:<change_width$} {:>9}  {}",
                    "#",
                    "started",
                    "direction",
                    "status",
                    "revision",
                    "version table",
                    "took",
                    "by"
                ),
                Style::new().fg(DIM).add_modifier(Modifier::UNDERLINED),
            ))];
            lines.extend(rows.iter().flat_map(|r| entry_lines(map, r, widths)));
            lines
        }
    };
    let max_scroll = lines.len().saturating_sub(usize::from(inner.height));
    let scroll = scroll.min(max_scroll) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

/// One history row, and its error (or resolution note) under it.
/// `a → b`: the version-table rows before and after, by short id.
fn change_text(map: &RevisionMap, entry: &HistoryEntry) -> String {
    let heads = |rows: &[String]| match rows {
        [] => "base".to_string(),
        rows => rows
            .iter()
            .map(|r| map.short_id(r))
            .collect::<Vec<_>>()
            .join(","),
    };
    format!(
        "{} → {}",
        heads(&entry.heads_before),
        heads(&entry.heads_after)
    )
}

/// A history row's revision: its short id, or `base`.
fn revision_text(map: &RevisionMap, revision: &str) -> String {
    if revision.is_empty() {
        "base".to_string()
    } else {
        map.short_id(revision)
    }
}

fn entry_lines(
    map: &RevisionMap,
    entry: &HistoryEntry,
    (id_width, change_width): (usize, usize),
) -> Vec<Line<'static>> {
    let (direction, direction_style) = match entry.direction {
        HistoryDirection::Upgrade => ("↑ upgrade", Style::new().fg(Color::Green)),
        HistoryDirection::Downgrade => ("↓ downgrade", Style::new().fg(Color::LightRed)),
        HistoryDirection::Stamp => ("≡ stamp", Style::new().fg(Color::Yellow)),
        HistoryDirection::Resolve => ("✓ resolve", Style::new().fg(Color::Cyan)),
    };
    let (status, status_style) = match entry.status {
        HistoryStatus::Success => ("success", Style::new().fg(Color::Green)),
        HistoryStatus::Failed => ("failed", Style::new().fg(Color::LightRed).bold()),
        // Written before the first statement and never ended: in progress,
        // or stopped with one statement in doubt.
        HistoryStatus::Partial if entry.in_doubt => (
            "started",
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ),
        HistoryStatus::Partial => (
            "partial",
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ),
    };
    let change = fit(&change_text(map, entry), change_width);
    let who = format!(
        "{}@{} ({})",
        entry.os_user.as_deref().unwrap_or("?"),
        entry.host.as_deref().unwrap_or("?"),
        entry.db_user.as_deref().unwrap_or("?")
    );
    let revision = revision_text(map, &entry.revision);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(
                "{:>6}  ",
                entry.id.map_or("?".to_string(), |id| id.to_string())
            ),
            Style::new().fg(Color::Gray),
        ),
        Span::styled(
            format!(
                "{:<19}  ",
                entry
                    .started_at
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
            ),
            Style::new().fg(Color::Gray),
        ),
        Span::styled(format!("{direction:<11} "), direction_style),
        Span::styled(format!("{status:<8}"), status_style),
        Span::raw(" "),
        Span::styled(
            format!("{revision:<id_width$} "),
            Style::new().fg(Color::Yellow),
        ),
        Span::styled(
            format!("{change:<change_width$} "),
            Style::new().fg(Color::White),
        ),
        Span::styled(
            format!("{:>9}  ", format::duration(entry.duration)),
            Style::new().fg(Color::Gray),
        ),
        Span::styled(who, Style::new().fg(Color::Gray)),
    ])];
    if let Some(error) = &entry.error {
        let style = match entry.status {
            HistoryStatus::Success => Style::new().fg(Color::Gray),
            _ => Style::new().fg(Color::LightRed),
        };
        let first = error.lines().next().unwrap_or_default();
        lines.push(Line::from(Span::styled(format!("{:>8}{first}", ""), style)));
    }
    if let (Some(done), Some(total)) = (entry.statements_done, entry.statements_total)
        && entry.status == HistoryStatus::Partial
    {
        let text = match entry.in_doubt && done < total {
            true => format!(
                "{:>8}{done} of {total} statement(s) ran and stay applied; statement {} may or \
                 may not have run",
                "",
                done + 1
            ),
            false => format!(
                "{:>8}{done} of {total} statement(s) ran and stay applied",
                ""
            ),
        };
        lines.push(Line::from(Span::styled(
            text,
            Style::new().fg(Color::LightRed),
        )));
    }
    lines
}
