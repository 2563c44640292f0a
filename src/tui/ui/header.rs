//! The two header lines: where the console is connected, the database state, and a running plan's progress.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::theme::{ACCENT, BAR_BG, DIM};
use crate::tui::action::Action;
use crate::tui::app::{App, Connection, RunProgress};
use crate::tui::dialogs::PlanKind;
use crate::tui::format;

pub(super) fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
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
    if let Some(db) = &app.server.db {
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

pub(super) fn connection_span(app: &App) -> Span<'static> {
    let refreshing = if app.server.refreshing { " ⟳" } else { "" };
    match &app.server.connection {
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

/// While the server is unreachable: the attempt under way, or the
/// countdown to the next one. First on the line, so no width hides it.
fn retry_span(app: &App) -> Option<Span<'static>> {
    let reconnect = app.server.reconnect?;
    if !matches!(
        app.server.connection,
        Connection::Unreachable(_) | Connection::Lost(_)
    ) {
        return None;
    }
    let attempt = reconnect.failures + 1;
    let text = if app.server.refreshing {
        format!("↻ attempt {attempt}: connecting…")
    } else {
        let left = reconnect
            .next_at
            .saturating_duration_since(std::time::Instant::now());
        // Rounded up: "in 0 s" would read as a stuck countdown.
        let secs = left.as_millis().div_ceil(1000);
        format!("↻ attempt {attempt} in {secs} s")
    };
    Some(Span::styled(text, Style::new().fg(Color::Yellow).bold()))
}

pub(super) fn state_line(app: &App) -> Line<'static> {
    let sep = || Span::styled("  │  ", Style::new().fg(DIM));
    let mut spans = vec![Span::raw(" ")];
    if let Some(retry) = retry_span(app) {
        spans.push(retry);
        spans.push(sep());
    }
    match (&app.server.connection, &app.server.db) {
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
            if let Connection::Lost(_) = app.server.connection {
                let as_of = app.server.db_as_of.clone().unwrap_or_default();
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
                    let known = app.graph.map.get(row).is_some();
                    let style = if known {
                        Style::new().fg(Color::LightCyan).bold()
                    } else {
                        Style::new().fg(Color::Red).bold()
                    };
                    spans.push(Span::styled(row.clone(), style));
                }
            }
            spans.push(sep());
            let pending = app.server.statuses.pending;
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
            if !app.server.statuses.missing.is_empty() {
                spans.push(sep());
                spans.push(Span::styled(
                    format!(
                        "{} row(s) without a file",
                        app.server.statuses.missing.len()
                    ),
                    Style::new().fg(Color::Red).bold(),
                ));
            }
            // Unknown rows are counted just above already.
            let drift = match &db.drift {
                Ok(report) => report
                    .issues
                    .iter()
                    .filter(|i| !matches!(i.kind, crate::db::drift::DriftKind::UnknownRow))
                    .count(),
                Err(_) => 0,
            };
            if drift > 0 {
                spans.push(sep());
                spans.push(Span::styled(
                    format!(" ⚠ drift: {drift} "),
                    Style::new().fg(Color::White).bg(Color::Red).bold(),
                ));
            }
            // A `transactional: false` step another live session runs now.
            if let Ok(report) = &db.drift
                && let Some(step) = report.in_progress.first()
            {
                let counts = match (step.statements_done, step.statements_total) {
                    (Some(done), Some(total)) => format!(" ({done}/{total})"),
                    _ => String::new(),
                };
                spans.push(sep());
                spans.push(Span::styled(
                    format!(
                        "{} of {} running elsewhere{counts}",
                        step.direction, step.revision
                    ),
                    Style::new().fg(Color::Yellow).bold(),
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
        .graph
        .map
        .heads()
        .iter()
        .map(|&h| app.graph.map.id(h).to_string())
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

/// The running plan on one line. The elapsed time and the cancel key sit
/// at the right end and are never dropped; when the line is too narrow the
/// progress bar goes first, then detail of the wait (one level at a time,
/// the bar given up before each), then the middle text is cut.
pub(super) fn progress_line(app: &App, width: u16) -> Line<'static> {
    let Some(run) = &app.run else {
        return Line::default();
    };
    let width = usize::from(width);
    let right = progress_tail(app, run);
    let right_width: usize = right.iter().map(Span::width).sum();
    let middles = progress_middles(run);
    for middle in &middles {
        for with_bar in [true, false] {
            let left = progress_head(run, with_bar);
            let room = width.saturating_sub(right_width + spans_width(&left));
            if spans_width(middle) <= room {
                return assemble(left, middle.clone(), right);
            }
        }
    }
    let left = progress_head(run, false);
    let room = width.saturating_sub(right_width + spans_width(&left));
    let middle = middles.last().cloned().unwrap_or_default();
    assemble(left, cut_spans(middle, room), right)
}

fn assemble(
    mut left: Vec<Span<'static>>,
    middle: Vec<Span<'static>>,
    right: Vec<Span<'static>>,
) -> Line<'static> {
    left.extend(middle);
    left.extend(right);
    Line::from(left)
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// `spans` cut to `room` columns, the cut marked with `…`.
fn cut_spans(spans: Vec<Span<'static>>, room: usize) -> Vec<Span<'static>> {
    if spans_width(&spans) <= room {
        return spans;
    }
    let mut left = room.saturating_sub(1);
    let mut out = Vec::new();
    for span in spans {
        let text: String = span
            .content
            .chars()
            .scan(0, |used, c| {
                *used += Span::raw(String::from(c)).width();
                (*used <= left).then_some(c)
            })
            .collect();
        left -= Span::raw(text.clone()).width();
        let full = text.len() == span.content.len();
        out.push(Span::styled(text, span.style));
        if !full {
            break;
        }
    }
    if room > 0 {
        out.push(Span::styled("…", Style::new().fg(DIM)));
    }
    out
}

/// The plan's kind, the progress bar (optional) and the step number.
fn progress_head(run: &RunProgress, with_bar: bool) -> Vec<Span<'static>> {
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
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(format!(" {} ", run.kind.word()), kind_style),
        Span::raw(" "),
    ];
    if with_bar {
        let bar_width = 12usize;
        let filled = (run.done * bar_width / total).min(bar_width);
        spans.push(Span::styled(
            "█".repeat(filled),
            Style::new().fg(Color::Green),
        ));
        spans.push(Span::styled(
            "░".repeat(bar_width - filled),
            Style::new().fg(DIM),
        ));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(
        format!("step {step_no}/{total} "),
        Style::new().fg(Color::White).bold(),
    ));
    spans
}

/// The elapsed time and the cancel key, which every width keeps.
fn progress_tail(app: &App, run: &RunProgress) -> Vec<Span<'static>> {
    let hint = if run.cancel_requested {
        Span::styled("  cancelling…", Style::new().fg(Color::LightRed).bold())
    } else {
        Span::styled(
            format!("  {} cancel", app.keymap.label(Action::Cancel)),
            Style::new().fg(Color::Gray),
        )
    };
    vec![
        Span::styled(
            format!("  total {}", format::clock(run.started.elapsed())),
            Style::new().fg(Color::Gray),
        ),
        hint,
    ]
}

/// What the middle of the line can say, fullest first.
fn progress_middles(run: &RunProgress) -> Vec<Vec<Span<'static>>> {
    let wait_style = Style::new().fg(Color::Yellow).bold();
    let queue_style = Style::new().fg(Color::White).bg(Color::Red).bold();
    if let Some(waiting) = &run.waiting {
        let queue = |detail: bool| -> Vec<Span<'static>> {
            if waiting.queued.is_empty() {
                return Vec::new();
            }
            let mut text = format!(" ⧗ {} behind ", waiting.queued.len());
            if detail {
                let pids: Vec<String> = waiting.queued.iter().map(format::queued_short).collect();
                text = format!(" ⧗ {} behind: {} ", waiting.queued.len(), pids.join(", "));
            }
            vec![Span::raw("  "), Span::styled(text, queue_style)]
        };
        let with = |head: String, detail: bool| {
            let mut spans = vec![Span::styled(head, wait_style)];
            spans.extend(queue(detail));
            spans
        };
        return vec![
            with(format!("◔ waiting for {}", waiting.full), true),
            with(format!("◔ waiting for {}", waiting.medium), true),
            with(format!("◔ {}", waiting.short), true),
            with(format!("◔ {}", waiting.short), false),
            with(format!("◔ {}", waiting.brief), false),
        ];
    }
    let Some((_, title)) = &run.current else {
        return vec![Vec::new()];
    };
    let elapsed = Span::styled(
        format!("  {}", format::clock(run.step_started.elapsed())),
        Style::new().fg(Color::Yellow),
    );
    vec![
        vec![
            Span::styled(title.clone(), Style::new().fg(Color::White)),
            elapsed.clone(),
        ],
        vec![
            elapsed.clone(),
            Span::raw(" "),
            Span::styled(title.clone(), Style::new().fg(Color::White)),
        ],
    ]
}
