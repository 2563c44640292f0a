//! The plan dialog's rehearsal section: drift first, a verdict per step,
//! and under it what the selected step's rehearsal found (the objects its
//! downgrade does not restore, the locks and rewrites on tables that
//! existed before it, ACCESS EXCLUSIVE in red).

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use crate::core::lock_trace::{LockMode, Observation, StatementTrace, statement_line};
use crate::core::plan::Plan;
use crate::core::schema::change_lines;
use crate::engine::rehearse::{Phase, Rehearsal, StepReport, Verdict};
use crate::tui::dialogs::{PlanRehearsal, RehearsalState};
use crate::tui::log::split_rows;

/// The section, at most `rows` lines: the SQL below keeps its place.
pub(super) fn rehearsal_lines(
    rehearsal: &PlanRehearsal,
    plan: &Plan,
    current: Option<usize>,
    width: usize,
    rows: usize,
) -> Vec<Line<'static>> {
    let mut lines = match &rehearsal.state {
        RehearsalState::Running(progress) => vec![Line::from(vec![
            Span::styled(
                " rehearsing ",
                Style::new().fg(Color::Black).bg(Color::Cyan),
            ),
            Span::styled(format!(" {progress}"), Style::new().fg(Color::Cyan)),
        ])],
        RehearsalState::Failed(why) => wrapped(
            &format!("rehearsal failed: {why}"),
            width,
            Style::new().fg(Color::LightRed),
        ),
        RehearsalState::Done(done) => done_lines(done, plan, current, width),
    };
    lines.truncate(rows.max(1));
    lines
}

fn done_lines(
    rehearsal: &Rehearsal,
    plan: &Plan,
    current: Option<usize>,
    width: usize,
) -> Vec<Line<'static>> {
    let mut lines = drift_lines(rehearsal, width);
    lines.push(verdicts_line(rehearsal));
    let selected = current
        .and_then(|i| plan.steps.get(i))
        .and_then(|step| report_of(rehearsal, &step.revision));
    if let Some(report) = selected {
        lines.extend(step_detail(report, width));
    }
    lines
}

/// Drift comes first: the steps were rehearsed on the files' schema.
fn drift_lines(rehearsal: &Rehearsal, width: usize) -> Vec<Line<'static>> {
    if rehearsal.drift.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::from(Span::styled(
        " ⚠ SCHEMA DRIFT: the live database differs from its revision files (changed by hand) ",
        Style::new().fg(Color::White).bg(Color::Red).bold(),
    ))];
    let changes = change_lines(&rehearsal.drift).join("; ");
    lines.extend(wrapped(&changes, width, Style::new().fg(Color::LightRed)));
    lines
}

/// `rehearsed:`, then each step that is not plainly reversible (in plan
/// order) and a count of the reversible ones: what needs a look comes
/// first, so a narrow screen cuts off only good news.
fn verdicts_line(rehearsal: &Rehearsal) -> Line<'static> {
    let mut spans = vec![Span::styled(" rehearsed ", Style::new().fg(Color::Gray))];
    let mut reversible = 0;
    for report in &rehearsal.steps {
        let verdict = report.verdict();
        if verdict == Verdict::Reversible {
            reversible += 1;
            continue;
        }
        let (word, style) = verdict_word(verdict);
        spans.push(Span::styled(
            format!(" {} ", short_id(&report.revision)),
            Style::new().fg(Color::Gray),
        ));
        spans.push(Span::styled(word, style));
    }
    if !rehearsal.not_rehearsed.is_empty() {
        spans.push(Span::styled(
            format!("  {} not rehearsed", rehearsal.not_rehearsed.len()),
            Style::new().fg(Color::Yellow),
        ));
    }
    if reversible > 0 {
        let (word, style) = verdict_word(Verdict::Reversible);
        let all = if reversible == rehearsal.steps.len() {
            "all "
        } else {
            ""
        };
        let gap = if spans.len() > 1 { "  " } else { " " };
        spans.push(Span::styled(format!("{gap}{all}{reversible} "), style));
        spans.push(Span::styled(word, style));
    }
    Line::from(spans)
}

fn verdict_word(verdict: Verdict) -> (&'static str, Style) {
    match verdict {
        Verdict::Reversible => ("reversible", Style::new().fg(Color::Green)),
        Verdict::Irreversible => ("irreversible", Style::new().fg(Color::Yellow)),
        Verdict::DowngradeLeavesDifferences => {
            ("NOT reversible", Style::new().fg(Color::LightRed).bold())
        }
        Verdict::ReupgradeDiffers => (
            "re-upgrade differs",
            Style::new().fg(Color::LightRed).bold(),
        ),
        Verdict::Failed => (
            "failed",
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ),
    }
}

fn short_id(revision: &str) -> String {
    revision.chars().take(12).collect()
}

fn report_of<'a>(rehearsal: &'a Rehearsal, revision: &str) -> Option<&'a StepReport> {
    rehearsal.steps.iter().find(|r| r.revision == revision)
}

/// The selected step: its verdict, what did not come back, its failure,
/// and the locks and rewrites on tables that existed before it.
fn step_detail(report: &StepReport, width: usize) -> Vec<Line<'static>> {
    let (word, style) = verdict_word(report.verdict());
    let mut lines = vec![Line::from(vec![
        Span::styled(" selected step: ", Style::new().fg(Color::Gray)),
        Span::styled(word, style),
        Span::styled(format!("  {}", report.label), Style::new().fg(Color::Gray)),
    ])];
    let red = Style::new().fg(Color::LightRed);
    if !report.downgrade_leaves.is_empty() {
        let text = change_lines(&report.downgrade_leaves).join("; ");
        lines.extend(wrapped(&format!("downgrade leaves: {text}"), width, red));
    }
    if !report.reupgrade_differs.is_empty() {
        let text = change_lines(&report.reupgrade_differs).join("; ");
        lines.extend(wrapped(&format!("re-upgrade differs: {text}"), width, red));
    }
    if let Some(failure) = &report.failure {
        let phase = match failure.phase {
            Phase::Upgrade => "upgrade",
            Phase::Downgrade => "downgrade",
            Phase::Reupgrade => "second upgrade",
        };
        let text = format!("the {phase} failed: {}", failure.error);
        lines.extend(wrapped(&text, width, red));
    }
    for (phase, run) in [("up", &report.upgrade), ("down", &report.downgrade)] {
        let Some(run) = run else { continue };
        for statement in run.trace.statements.iter().filter(|s| on_existing(s)) {
            lines.extend(lock_lines(phase, statement, width));
        }
    }
    lines
}

/// Whether the statement locked or rewrote a relation others could see,
/// or its locks could not be seen at all.
fn on_existing(statement: &StatementTrace) -> bool {
    matches!(statement.observation, Observation::NotObserved { .. })
        || statement
            .locks
            .iter()
            .any(|l| l.newly_acquired && !l.new_relation)
        || statement.rewrites.iter().any(|r| !r.new_relation)
}

/// The statement's locks and rewrites, wrapped; `!!` and red when it took
/// ACCESS EXCLUSIVE on a table others could see (it blocks their reads).
fn lock_lines(phase: &str, statement: &StatementTrace, width: usize) -> Vec<Line<'static>> {
    let exclusive = statement
        .locks
        .iter()
        .any(|l| l.newly_acquired && !l.new_relation && l.mode == LockMode::AccessExclusive);
    let text = match &statement.observation {
        Observation::NotObserved { reason } => {
            format!(
                "{phase} line {}: locks not traced: {reason}",
                statement.line
            )
        }
        _ => format!("{phase} {}", statement_line(statement)),
    };
    let (mark, style) = match exclusive {
        true => (
            Span::styled(" !! ", Style::new().fg(Color::White).bg(Color::Red).bold()),
            Style::new().fg(Color::LightRed).bold(),
        ),
        false => (Span::raw("    "), Style::new().fg(Color::Yellow)),
    };
    split_rows(&text, width.saturating_sub(4).max(20))
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let lead = if i == 0 {
                mark.clone()
            } else {
                Span::raw("    ")
            };
            Line::from(vec![lead, Span::styled(row.to_string(), style)])
        })
        .collect()
}

fn wrapped(text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    split_rows(text, width.saturating_sub(4).max(20))
        .into_iter()
        .map(|row| Line::from(Span::styled(format!("    {row}"), style)))
        .collect()
}
