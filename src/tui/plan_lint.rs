//! The lint of a plan dialog: each step's hazards, where they sit in the
//! dialog's SQL (for the gutter marks), and the live sizes of their tables
//! once the worker has read them.
//!
//! The lint itself is pure and fast, so it runs when the dialog opens; the
//! sizes need the database, so the dialog opens without them and the
//! worker's answer weighs the hazards again (a large table makes an error).

use std::collections::BTreeMap;

use crate::core::graph::RevisionMap;
use crate::core::lint::verdict::judge_hazards;
use crate::core::lint::{self, Hazard, LintContext, LintOptions, Severity, TableSize};
use crate::core::lock_trace::StepTrace;
use crate::core::plan::{Direction, Plan, Step};
use crate::core::split::split_statements;
use crate::engine::lint::PlanLint;
use crate::engine::rehearse::Rehearsal;
use crate::tui::textview::TextView;

/// Where the live sizes of the hazards' tables stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sizes {
    /// No hazard names a table that could exist: nothing to ask.
    NotNeeded,
    /// The worker was asked for the sizes of these tables.
    Asked(Vec<String>),
    Known,
    /// The worker could not read them; the text says why.
    Unavailable(String),
}

/// A hazard of the dialog: its step and its index among the step's hazards.
pub type HazardAt = (usize, usize);

#[derive(Debug, Clone)]
pub struct DialogLint {
    pub plan: PlanLint,
    /// The hazards pointing at each line (0-based) of the dialog's SQL.
    pub marks: BTreeMap<usize, Vec<HazardAt>>,
    pub sizes: Sizes,
    options: LintOptions,
}

/// How a hazard, or the heaviest of several, is shown: by its severity,
/// or `Ignored` when `lint_ignore` silenced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Ignored,
    Counted(Severity),
}

/// Hazards of a plan by severity (ignored ones apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HazardCount {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub ignored: usize,
}

impl HazardCount {
    pub fn counted(&self) -> usize {
        self.errors + self.warnings + self.infos
    }
}

impl DialogLint {
    /// Lints `plan` as the dialog shows it in `sql` (the offline SQL, whose
    /// step `i` starts at line `step_lines[i]`).
    pub fn new(
        map: &RevisionMap,
        plan: &Plan,
        context: &LintContext,
        options: &LintOptions,
        sql: &TextView,
        step_lines: &[usize],
    ) -> DialogLint {
        let sections = lint::plan_sections(map, plan);
        let steps = lint::lint_plan(&sections, context, options);
        let plan_lint = PlanLint {
            steps,
            fail_on: Some(options.fail_on),
        };
        let marks = mark_lines(map, plan, &plan_lint, sql, step_lines);
        let names = lint::tables_named(plan_lint.sections());
        DialogLint {
            sizes: match names.is_empty() {
                true => Sizes::NotNeeded,
                false => Sizes::Asked(names),
            },
            plan: plan_lint,
            marks,
            options: options.clone(),
        }
    }

    /// The tables to ask the worker about, while their sizes are unknown.
    pub fn tables_to_size(&self) -> Option<&[String]> {
        match &self.sizes {
            Sizes::Asked(names) => Some(names),
            _ => None,
        }
    }

    /// The worker's answer for `names`; an answer for other tables (of a
    /// dialog since replaced) is left alone.
    pub fn accept_sizes(
        &mut self,
        names: &[String],
        sizes: &Result<BTreeMap<String, TableSize>, String>,
    ) {
        if self.tables_to_size() != Some(names) {
            return;
        }
        self.sizes = match sizes {
            Ok(sizes) => {
                lint::with_sizes(self.plan.steps.iter_mut().flatten(), sizes, &self.options);
                Sizes::Known
            }
            Err(why) => Sizes::Unavailable(why.clone()),
        };
    }

    pub fn step(&self, step: usize) -> &[Hazard] {
        self.plan.step(step)
    }

    /// Judges each upgrade step's hazards by the lock trace of that step's
    /// first upgrade in `rehearsal` (matched by revision, so a step the
    /// rehearsal did not reach keeps no verdict); `None` drops every
    /// verdict, as a rehearsal dropped or failed leaves nothing to judge by.
    pub fn judge(&mut self, plan: &Plan, rehearsal: Option<&Rehearsal>) {
        for (step, section) in plan.steps.iter().zip(self.plan.steps.iter_mut()) {
            let Some(section) = section else {
                continue;
            };
            match rehearsal.and_then(|r| upgrade_trace(step, r)) {
                Some(trace) => judge_hazards(&mut section.hazards, trace),
                None => section.hazards.iter_mut().for_each(|h| h.trace = None),
            }
        }
    }

    /// Why step `step`'s SQL was not linted, when Squawk could not parse it.
    pub fn not_linted(&self, step: usize) -> Option<String> {
        let problem = self.plan.steps.get(step)?.as_ref()?.not_linted.as_ref()?;
        Some(format!(
            "not linted: parse error at {}:{} ({})",
            problem.line, problem.column, problem.message
        ))
    }
}

/// The trace of `step`'s SQL in `rehearsal`: its revision's first upgrade.
/// A rehearsal runs each step's upgrade, so a downgrade step, or one the
/// rehearsal did not reach or could not run, has none.
fn upgrade_trace<'a>(step: &Step, rehearsal: &'a Rehearsal) -> Option<&'a StepTrace> {
    if step.direction != Direction::Upgrade {
        return None;
    }
    let report = rehearsal
        .steps
        .iter()
        .find(|s| s.revision == step.revision)?;
    report.upgrade.as_ref().map(|run| &run.trace)
}

/// Finds each hazard's lines in the dialog's SQL. The offline SQL holds
/// each statement of a section as the splitter cut it, in order, after the
/// step's header: a hazard's line there is its statement's first line plus
/// the hazard's distance from it.
fn mark_lines(
    map: &RevisionMap,
    plan: &Plan,
    lint: &PlanLint,
    sql: &TextView,
    step_lines: &[usize],
) -> BTreeMap<usize, Vec<HazardAt>> {
    let mut marks: BTreeMap<usize, Vec<HazardAt>> = BTreeMap::new();
    for (step, &start) in step_lines.iter().enumerate() {
        let hazards = lint.step(step);
        if hazards.is_empty() {
            continue;
        }
        let end = step_lines
            .get(step + 1)
            .copied()
            .unwrap_or(sql.line_count());
        let Some(section) = section_sql(map, plan, step) else {
            continue;
        };
        let Ok(statements) = split_statements(section) else {
            continue;
        };
        let starts = statement_lines(&statements, sql, start..end);
        for (i, hazard) in hazards.iter().enumerate() {
            let Some(k) = statements
                .iter()
                .rposition(|s| s.offset <= hazard.range.start)
            else {
                continue;
            };
            let Some(&first) = starts.get(k) else {
                continue;
            };
            let from = first
                + hazard
                    .section_lines
                    .start
                    .saturating_sub(statements[k].line);
            let lines = hazard.section_lines.len().max(1);
            for line in (from..from + lines).filter(|&l| l < end) {
                marks.entry(line).or_default().push((step, i));
            }
        }
    }
    marks
}

/// The line of the dialog's SQL where each statement starts, searched in
/// order within the step's lines (statements not found end the list).
fn statement_lines(
    statements: &[crate::core::split::Statement],
    sql: &TextView,
    within: std::ops::Range<usize>,
) -> Vec<usize> {
    let mut found = Vec::with_capacity(statements.len());
    let mut from = within.start;
    for statement in statements {
        let first = statement.sql.lines().next().unwrap_or("");
        // A statement of one line ends in the `;` the renderer adds.
        let starts_here = |i: usize| {
            let line = sql.line(i);
            line == first || line.strip_suffix(';') == Some(first)
        };
        let Some(at) = (from..within.end).find(|&i| starts_here(i)) else {
            break;
        };
        found.push(at);
        from = at + statement.sql.lines().count().max(1);
    }
    found
}

fn section_sql<'a>(map: &'a RevisionMap, plan: &Plan, step: usize) -> Option<&'a str> {
    let step = plan.steps.get(step)?;
    let revision = map.get(&step.revision)?;
    match step.direction {
        Direction::Upgrade => Some(&revision.upgrade.sql),
        Direction::Downgrade => revision.downgrade.as_ref().map(|s| s.sql.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::plan::StepKind;
    use crate::engine::rehearse::{Run, StepReport};

    fn step(direction: Direction, revision: &str) -> Step {
        Step {
            kind: StepKind::Migrate,
            direction,
            revision: revision.into(),
            from_revisions: Vec::new(),
            to_revisions: Vec::new(),
            version_ops: Vec::new(),
        }
    }

    /// A step report whose upgrade trace is told apart by `transactional`.
    fn report(revision: &str, upgrade: Option<bool>) -> StepReport {
        StepReport {
            revision: revision.into(),
            path: format!("{revision}.sql").into(),
            label: format!("upgrade -> {revision}"),
            irreversible: false,
            downgrade_leaves: Vec::new(),
            reupgrade_differs: Vec::new(),
            failure: None,
            upgrade: upgrade.map(|transactional| Run {
                duration: Duration::ZERO,
                trace: StepTrace {
                    transactional,
                    statements: Vec::new(),
                },
            }),
            downgrade: None,
            reupgrade: None,
            lint: None,
        }
    }

    fn rehearsal(steps: Vec<StepReport>) -> Rehearsal {
        Rehearsal {
            live: "live".into(),
            server: "server".into(),
            live_heads: Vec::new(),
            drift: Vec::new(),
            steps,
            not_rehearsed: Vec::new(),
            total: Duration::ZERO,
        }
    }

    #[test]
    fn a_step_is_judged_by_its_own_revisions_upgrade() {
        // Reports in another order than the plan's: matched by revision.
        let rehearsed = rehearsal(vec![report("c3", Some(false)), report("b2", Some(true))]);
        let b2 = upgrade_trace(&step(Direction::Upgrade, "b2"), &rehearsed);
        assert_eq!(b2.map(|t| t.transactional), Some(true));
        let c3 = upgrade_trace(&step(Direction::Upgrade, "c3"), &rehearsed);
        assert_eq!(c3.map(|t| t.transactional), Some(false));
    }

    #[test]
    fn no_trace_for_a_downgrade_an_unreached_or_a_failed_step() {
        let rehearsed = rehearsal(vec![report("b2", Some(true)), report("c3", None)]);
        assert!(upgrade_trace(&step(Direction::Downgrade, "b2"), &rehearsed).is_none());
        assert!(upgrade_trace(&step(Direction::Upgrade, "d4"), &rehearsed).is_none());
        assert!(upgrade_trace(&step(Direction::Upgrade, "c3"), &rehearsed).is_none());
    }
}
