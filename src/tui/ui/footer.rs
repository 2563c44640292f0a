//! The message bar and the footer with the keys of the current context.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::theme::{BAR_BG, fit, truncate_spans};
use crate::tui::action::Action;
use crate::tui::app::{App, FlashLevel, Pane};
use crate::tui::dialogs::{Confirm, Dialog, PlanDialog, PlanKind};
use crate::tui::keymap::display_key;
use crate::tui::textview::Overflow;

pub(super) fn draw_flash(frame: &mut Frame, area: Rect, app: &App) {
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

pub(super) fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
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
pub(super) type Hint = (String, String);

pub(super) fn footer_hints(app: &App) -> (Vec<Hint>, Vec<Hint>) {
    let k = |a: Action| app.keymap.label(a);
    let pair = |a: Action, what: &str| (k(a), what.to_string());
    // The action table's footer label, for the usual wording.
    let hint = |a: Action| (k(a), a.footer().to_string());
    let always = vec![hint(Action::Help), hint(Action::Quit)];
    if let Some(dialog) = app.dialogs.last() {
        let hints = match dialog {
            Dialog::History { revision, .. } => vec![
                hint(Action::Down),
                pair(
                    Action::ToggleSql,
                    if revision.is_some() {
                        "all revisions"
                    } else {
                        "the selected revision"
                    },
                ),
                pair(Action::Refresh, "read again"),
                ("any other key".into(), "close".into()),
            ],
            Dialog::Help { .. } => vec![hint(Action::Down), ("any key".into(), "close".into())],
            Dialog::Plan(plan) => {
                let mut hints = match &plan.confirm {
                    Confirm::Enter => vec![hint(Action::Confirm)],
                    Confirm::DestructiveKey => vec![pair(
                        Action::ConfirmDestructive,
                        &format!("run the {}", plan.kind.word()),
                    )],
                    // Letters go into the name field, so no letter key is offered.
                    Confirm::TypeName { name, .. } => {
                        return (
                            vec![
                                ("type".into(), format!("{name} + Enter to run")),
                                ("Ctrl-u".into(), "clear".into()),
                                ("PgDn".into(), "page the SQL".into()),
                                ("Esc".into(), "close".into()),
                            ],
                            Vec::new(),
                        );
                    }
                    Confirm::Refused => vec![("resolve".into(), "the partial step first".into())],
                };
                hints.push(pair(Action::PageDown, "page the SQL"));
                hints.extend(plan_view_hints(app, plan));
                hints.push(hint(Action::WriteSql));
                hints.push(hint(Action::Cancel));
                hints
            }
            Dialog::Write(_) => vec![
                ("Enter".into(), "write".into()),
                ("Esc".into(), "close".into()),
            ],
            Dialog::NewRevision(_) => vec![
                ("Ctrl-s".into(), "write the file".into()),
                hint(Action::Autogenerate),
                ("Tab".into(), "next field".into()),
                ("S-Tab".into(), "previous".into()),
                ("Space".into(), "toggle (Transactional)".into()),
                ("Esc".into(), "discard".into()),
            ],
            Dialog::ConfirmCancel => vec![
                ("y".into(), "cancel the run".into()),
                ("Enter/Esc".into(), "keep it running".into()),
            ],
            Dialog::ConfirmDiscard => vec![
                ("y".into(), "discard".into()),
                ("Enter/Esc".into(), "back to the form".into()),
            ],
            Dialog::Message { .. } => vec![("any key".into(), "close".into())],
        };
        return (hints, Vec::new());
    }
    if app.log.search.as_ref().is_some_and(|s| s.typing) {
        let hints = vec![
            ("Enter".into(), "find the newest match".into()),
            ("Esc".into(), "close the search".into()),
            ("Ctrl-u".into(), "clear".into()),
        ];
        return (hints, Vec::new());
    }
    if app.graph.search.is_some() {
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
            hint(Action::Down),
            hint(Action::Zoom),
        ];
        return (hints, vec![hint(Action::Help)]);
    }
    let mut hints = match app.focus {
        Pane::Graph => vec![
            hint(Action::UpgradeOne),
            hint(Action::UpgradeTo),
            hint(Action::DowngradeOne),
            hint(Action::DowngradeTo),
            hint(Action::Stamp),
            hint(Action::Search),
            hint(Action::NewRevision),
            hint(Action::Edit),
            hint(Action::Refresh),
        ],
        Pane::Sql => {
            let mut hints = vec![
                hint(Action::ToggleSql),
                hint(Action::Down),
                hint(Action::PageDown),
            ];
            hints.extend(overflow_hints(app, app.sql.overflow));
            hints.push(hint(Action::Zoom));
            hints.push(hint(Action::Edit));
            hints
        }
        Pane::Log => vec![
            hint(Action::Up),
            hint(Action::Bottom),
            pair(Action::Search, "search"),
            (
                format!("{}/{}", k(Action::SearchNext), k(Action::SearchPrev)),
                "next/previous match".to_string(),
            ),
            hint(Action::SaveLog),
            hint(Action::Zoom),
        ],
    };
    if app.focus != Pane::Graph {
        hints.push(hint(Action::FocusNext));
    }
    (hints, always)
}

/// The wrap toggle, and the sideways keys while lines are cut.
fn overflow_hints(app: &App, overflow: Overflow) -> Vec<Hint> {
    let k = |a: Action| app.keymap.label(a);
    match overflow {
        Overflow::Wrap => vec![(k(Action::ToggleWrap), "cut long lines".into())],
        Overflow::Scroll => vec![
            (
                format!("{}{}", k(Action::ScrollLeft), k(Action::ScrollRight)),
                Action::ScrollLeft.footer().into(),
            ),
            (k(Action::ToggleWrap), "wrap long lines".into()),
        ],
    }
}

/// Step keys and the wrap toggle of a plan dialog. While a protected
/// environment's name is typed only the keys that are not text reach the
/// dialog (the SQL then always wraps).
fn plan_view_hints(app: &App, plan: &PlanDialog) -> Vec<Hint> {
    let steps = if plan.plan.steps.len() > 1 {
        let keys = |a: Action| {
            let keys = app.keymap.keys(a);
            let typed = matches!(plan.confirm, Confirm::TypeName { .. });
            // The first key the dialog gets, shown as the footer shows keys.
            keys.iter()
                .find(|k| !typed || k.chars().count() > 1)
                .map_or_else(|| "unbound".to_string(), |k| display_key(k))
        };
        vec![(
            format!("{}/{}", keys(Action::PreviousStep), keys(Action::NextStep)),
            Action::NextStep.footer().to_string(),
        )]
    } else {
        Vec::new()
    };
    match plan.confirm {
        Confirm::TypeName { .. } => steps,
        _ => {
            let mut hints = steps;
            // Only upgrade plans are rehearsed (up, down, up again).
            if plan.kind == PlanKind::Upgrade {
                hints.push((
                    app.keymap.label(Action::Rehearse),
                    Action::Rehearse.footer().to_string(),
                ));
            }
            hints.extend(overflow_hints(app, app.sql.overflow));
            hints
        }
    }
}
