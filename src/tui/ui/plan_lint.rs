//! The lint in the plan dialog: the count in the `steps` line and in the
//! step table, the current step's hazards under the table, and the marks
//! in the SQL's gutter on the lines the hazards point at.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use super::theme::{DIM, fit};
use crate::core::lint::{Hazard, Severity, TraceVerdict};
use crate::tui::dialogs::{PlanDialog, PlanKind};
use crate::tui::plan_lint::{HazardCount, Sizes, Weight};
use crate::tui::textview::TextView;

/// The look of a weight: the glyph of the gutter and table, its style.
fn look(weight: Weight) -> (&'static str, Style) {
    match weight {
        Weight::Counted(Severity::Error) => {
            ("✖", Style::new().fg(Color::White).bg(Color::Red).bold())
        }
        Weight::Counted(Severity::Warning) => ("▲", Style::new().fg(Color::Yellow).bold()),
        Weight::Counted(Severity::Info) => ("•", Style::new().fg(Color::Cyan)),
        Weight::Ignored => ("·", Style::new().fg(DIM)),
    }
}

/// A hazard's weight as this dialog shows it: data-loss rules of a
/// downgrade are errors here (a downgrade during an incident is where a
/// `DROP COLUMN` loses data).
fn weight_of(kind: PlanKind, hazard: &Hazard) -> Weight {
    match hazard.ignored {
        true => Weight::Ignored,
        false if kind == PlanKind::Downgrade && hazard.data_loss => {
            Weight::Counted(Severity::Error)
        }
        false => Weight::Counted(hazard.severity),
    }
}

/// The heaviest weight among `hazards`: `Ignored` only when all are.
fn heaviest(kind: PlanKind, hazards: &[Hazard]) -> Option<Weight> {
    hazards.iter().map(|h| weight_of(kind, h)).max_by_key(rank)
}

fn rank(weight: &Weight) -> u8 {
    match weight {
        Weight::Ignored => 0,
        Weight::Counted(Severity::Info) => 1,
        Weight::Counted(Severity::Warning) => 2,
        Weight::Counted(Severity::Error) => 3,
    }
}

/// The `steps` line with the plan's hazards added: at its end when they
/// fit, else on a line of their own (cut, a line would hide the errors).
pub(super) fn with_summary(
    attention: Option<Line<'static>>,
    dialog: &PlanDialog,
    width: usize,
) -> Vec<Line<'static>> {
    let hazards = summary_spans(dialog);
    let hazards_width: usize = hazards.iter().map(Span::width).sum();
    let label = |text: &'static str| Span::styled(text, Style::new().fg(DIM));
    match attention {
        _ if hazards.is_empty() => attention.into_iter().collect(),
        Some(mut line) if line.width() + 3 + hazards_width <= width => {
            line.spans.push(label(" · "));
            line.spans.extend(hazards);
            vec![line]
        }
        Some(line) => {
            let mut own = vec![label("lint           ")];
            own.extend(hazards);
            vec![line, Line::from(own)]
        }
        None => {
            let mut own = vec![label("steps          ")];
            own.extend(hazards);
            vec![Line::from(own)]
        }
    }
}

/// Beside the key that runs the plan: `✖ 1 lint error`, when the
/// plan has error-severity hazards.
pub(super) fn confirm_warning(dialog: &PlanDialog) -> Option<Span<'static>> {
    let errors = count(dialog).errors;
    (errors > 0).then(|| {
        Span::styled(
            format!("  ✖ {errors} lint error{} ", plural(errors)),
            look(Weight::Counted(Severity::Error)).1,
        )
    })
}

/// `3 hazards: 1 error, 2 warnings (1 ignored)`, the errors on red so they
/// cannot be missed.
fn summary_spans(dialog: &PlanDialog) -> Vec<Span<'static>> {
    let count = count(dialog);
    if count.counted() + count.ignored == 0 {
        return Vec::new();
    }
    let total = count.counted();
    let mut spans = vec![Span::styled(
        format!("{total} hazard{}", plural(total)),
        Style::new().fg(Color::Yellow),
    )];
    let parts = [
        (count.errors, "error", Weight::Counted(Severity::Error)),
        (
            count.warnings,
            "warning",
            Weight::Counted(Severity::Warning),
        ),
        (count.infos, "info", Weight::Counted(Severity::Info)),
    ];
    let mut first = true;
    for (n, word, weight) in parts.into_iter().filter(|(n, ..)| *n > 0) {
        let lead = if first { ": " } else { ", " };
        first = false;
        spans.push(Span::styled(lead, Style::new().fg(Color::Yellow)));
        let text = match weight {
            Weight::Counted(Severity::Error) => format!("{n} {word}{}", plural(n)),
            _ => format!("{n} {word}{}", if word == "info" { "" } else { plural(n) }),
        };
        spans.push(Span::styled(text, look(weight).1));
    }
    if count.ignored > 0 {
        spans.push(Span::styled(
            format!(" ({} ignored)", count.ignored),
            Style::new().fg(DIM),
        ));
    }
    spans
}

/// The plan's hazards by the weight this dialog gives them.
fn count(dialog: &PlanDialog) -> HazardCount {
    let mut count = HazardCount::default();
    let hazards = (0..dialog.plan.steps.len()).flat_map(|i| dialog.lint.step(i));
    for hazard in hazards {
        match weight_of(dialog.kind, hazard) {
            Weight::Ignored => count.ignored += 1,
            Weight::Counted(Severity::Error) => count.errors += 1,
            Weight::Counted(Severity::Warning) => count.warnings += 1,
            Weight::Counted(Severity::Info) => count.infos += 1,
        }
    }
    count
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The note of a step in the table: ` ✖2` (its hazards, in the colour of
/// the heaviest), or nothing.
pub(super) fn step_note(dialog: &PlanDialog, step: usize) -> Option<Span<'static>> {
    let hazards = dialog.lint.step(step);
    let weight = heaviest(dialog.kind, hazards)?;
    let (glyph, style) = look(weight);
    // `✓` when the trace refuted every hazard it judged, `!` when it
    // confirmed one.
    let traced = hazards.iter().filter_map(|h| h.trace.as_ref());
    let verdict = traced.fold("", |mark, trace| match trace {
        TraceVerdict::Confirmed { .. } => "!",
        TraceVerdict::Refuted { .. } if mark.is_empty() => "✓",
        TraceVerdict::Refuted { .. } => mark,
    });
    Some(Span::styled(
        format!(" {glyph}{}{verdict}", hazards.len()),
        style,
    ))
}

/// The current step's hazards, heaviest first: a heading, then a row for
/// each (rule, message, table and size) with its table, help and safer
/// statement when `roomy`; at most `rows` rows in all (the heading says
/// how many did not fit).
pub(super) fn step_hazard_lines(
    dialog: &PlanDialog,
    step: usize,
    width: usize,
    roomy: bool,
    rows: usize,
) -> Vec<Line<'static>> {
    let hazards = dialog.lint.step(step);
    let not_linted = dialog.lint.not_linted(step);
    if hazards.is_empty() && not_linted.is_none() {
        return Vec::new();
    }
    let mut body = Vec::new();
    if let Some(why) = not_linted {
        body.push(Line::from(Span::styled(
            fit(&format!("   {why}"), width),
            Style::new().fg(Color::Gray),
        )));
    }
    let mut order: Vec<&Hazard> = hazards.iter().collect();
    // Among hazards of one weight, those the trace judged come first: its
    // word is what the file alone could not say, and a short screen lists
    // only the first.
    order.sort_by_key(|h| std::cmp::Reverse((rank(&weight_of(dialog.kind, h)), h.trace.is_some())));
    let mut listed = 0;
    for hazard in order {
        let mut rows_of = vec![hazard_line(dialog.kind, hazard, width, !roomy)];
        if roomy {
            rows_of.extend(detail_lines(hazard, width));
        }
        if 1 + body.len() + rows_of.len() > rows.max(2) {
            break;
        }
        body.extend(rows_of);
        listed += 1;
    }
    let mut lines = vec![heading(dialog, step, width, listed)];
    lines.extend(body);
    lines
}

/// `lint · step 2 (a1b2) · 4 hazards (3 more in the gutter) · live sizes`.
fn heading(dialog: &PlanDialog, step: usize, width: usize, listed: usize) -> Line<'static> {
    let total = dialog.lint.step(step).len();
    let unlisted = match total - listed {
        0 => String::new(),
        n => format!(" ({n} more in the gutter)"),
    };
    let sizes = match &dialog.lint.sizes {
        Sizes::NotNeeded => String::new(),
        Sizes::Asked(_) => " · reading sizes…".to_string(),
        Sizes::Known => " · live sizes".to_string(),
        Sizes::Unavailable(why) => format!(" · no sizes: {why}"),
    };
    let id = dialog
        .plan
        .steps
        .get(step)
        .map_or(String::new(), |s| dialog.map.short_id(&s.revision));
    Line::from(Span::styled(
        fit(
            &format!(
                "lint · step {} ({id}) · {total} hazard{}{unlisted}{sizes}",
                step + 1,
                plural(total)
            ),
            width,
        ),
        Style::new().fg(DIM),
    ))
}

/// ` ✖ error    rule  message`, with the table and its size when
/// `with_table` (else a row of [`detail_lines`] says them).
fn hazard_line(kind: PlanKind, hazard: &Hazard, width: usize, with_table: bool) -> Line<'static> {
    let weight = weight_of(kind, hazard);
    let (glyph, style) = look(weight);
    let word = match weight {
        Weight::Ignored => "ignored",
        Weight::Counted(severity) => severity.name(),
    };
    let head = format!(" {glyph} {word:<7} ");
    let mut text = format!("{}  {}", hazard.rule, hazard.message);
    if let Some(table) = table_text(hazard).filter(|_| with_table) {
        text.push_str(&format!(" · {table}"));
    }
    let text_style = match weight {
        Weight::Ignored => Style::new().fg(DIM),
        _ => Style::new().fg(Color::White),
    };
    // Where no row of details follows, the trace's verdict leads the row
    // so a narrow screen cannot cut it off.
    let verdict = match (&hazard.trace, with_table) {
        (Some(TraceVerdict::Refuted { .. }), true) => "refuted by the trace · ",
        (Some(TraceVerdict::Confirmed { .. }), true) => "confirmed by the trace · ",
        _ => "",
    };
    let room = width.saturating_sub(head.chars().count() + verdict.chars().count());
    Line::from(vec![
        Span::styled(head, style),
        Span::styled(verdict, Style::new().fg(Color::LightCyan)),
        Span::styled(fit(&text, room), text_style),
    ])
}

/// `invoices: 12.0 M rows, 4.1 GB`, or that the table is new in the plan.
fn table_text(hazard: &Hazard) -> Option<String> {
    let table = hazard.table.as_ref()?;
    match (hazard.new_table, hazard.size) {
        (true, _) => Some(format!("{} is new in this plan", table.written)),
        (false, Some(size)) => Some(format!("{}: {}", table.written, size.describe())),
        (false, None) => None,
    }
}

/// The help and the safer statement, one row each.
fn detail_lines(hazard: &Hazard, width: usize) -> Vec<Line<'static>> {
    let style = if hazard.ignored {
        Style::new().fg(DIM)
    } else {
        Style::new().fg(Color::Gray)
    };
    let mut lines = Vec::new();
    if let Some(table) = table_text(hazard) {
        lines.push(Line::from(Span::styled(
            fit(&format!("             table {table}"), width),
            style,
        )));
    }
    if let Some(trace) = &hazard.trace {
        // A rehearsal's lock trace, where one has run, outranks the rule.
        let text = match trace {
            TraceVerdict::Confirmed { observed } => format!("confirmed by the trace: {observed}"),
            TraceVerdict::Refuted { observed } => format!("refuted by the trace: {observed}"),
        };
        lines.push(Line::from(Span::styled(
            fit(&format!("             {text}"), width),
            Style::new().fg(Color::LightCyan),
        )));
    }
    if let Some(help) = &hazard.help {
        lines.push(Line::from(Span::styled(
            fit(&format!("             {help}"), width),
            style,
        )));
    }
    if let Some(fix) = &hazard.fix {
        let one_line = fix.split_whitespace().collect::<Vec<_>>().join(" ");
        lines.push(Line::from(vec![
            Span::styled("             safer: ", style),
            Span::styled(
                fit(&one_line, width.saturating_sub(20)),
                Style::new().fg(Color::Green),
            ),
        ]));
    }
    lines
}

/// Marks the gutter of each row that starts a line a hazard points at:
/// the line number in the colour of its heaviest hazard and the hazard's
/// glyph beside it (ignored ones dim).
pub(super) fn mark_gutter(
    frame: &mut Frame,
    area: Rect,
    view: &TextView,
    gutter: usize,
    dialog: &PlanDialog,
) {
    let buffer = frame.buffer_mut();
    for (y, row) in view.rows().iter().enumerate() {
        if !row.first || y >= usize::from(area.height) {
            continue;
        }
        let Some(hazards) = dialog.lint.marks.get(&row.line) else {
            continue;
        };
        let marked = hazards
            .iter()
            .filter_map(|&(step, i)| dialog.lint.step(step).get(i))
            .cloned()
            .collect::<Vec<_>>();
        let Some(weight) = heaviest(dialog.kind, &marked) else {
            continue;
        };
        let (glyph, style) = look(weight);
        let y = area.y + y as u16;
        let number_style = match weight {
            Weight::Counted(Severity::Error) => style,
            _ => Style::new().fg(style.fg.unwrap_or(DIM)),
        };
        for x in 0..gutter.min(usize::from(area.width)) {
            buffer[(area.x + x as u16, y)].set_style(number_style);
        }
        if !row.more_left && gutter < usize::from(area.width) {
            buffer[(area.x + gutter as u16, y)]
                .set_symbol(glyph)
                .set_style(Style::new().fg(style.bg.unwrap_or(style.fg.unwrap_or(DIM))));
        }
    }
}
