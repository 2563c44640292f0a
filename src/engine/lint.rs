//! Lint before apply, put together: the pure lint (`core::lint`) with the
//! chosen environment's timeouts and the live table sizes read on the
//! session (`db::table_sizes`). Both front ends call this; the console's
//! plan dialog shows [`PlanLint::step`] beside each step's SQL.

use crate::config::ConnectionSettings;
use crate::core::lint::{
    self, Hazard, LintContext, LintOptions, SectionLint, SectionRef, Severity,
};
use crate::core::plan::Plan;
use crate::db::table_sizes::read_table_sizes;
use crate::engine::error::Error;
use crate::engine::project::Project;
use crate::engine::session::Database;

/// The findings of a plan, one entry per step in plan order (`None` for a
/// step that runs no SQL: a stamp, or a downgrade of an irreversible
/// revision, which is refused anyway).
#[derive(Debug, Clone, Default)]
pub struct PlanLint {
    pub steps: Vec<Option<SectionLint>>,
    pub fail_on: Option<Severity>,
}

impl PlanLint {
    /// The hazards of step `index` (0-based), each with its lines within
    /// the step's SQL ([`Hazard::section_lines`]), severity, help, safer
    /// statement and whether `lint_ignore` silenced it.
    pub fn step(&self, index: usize) -> &[Hazard] {
        self.steps
            .get(index)
            .and_then(Option::as_ref)
            .map_or(&[], |lint| lint.hazards.as_slice())
    }

    pub fn sections(&self) -> impl Iterator<Item = &SectionLint> {
        self.steps.iter().flatten()
    }

    /// Hazards heavy enough to fail `lint` / `check`.
    pub fn failing(&self) -> usize {
        let fail_on = self.fail_on.unwrap_or(Severity::Warning);
        self.sections().map(|s| s.failing(fail_on)).sum()
    }
}

/// The environment's timeouts (when one is chosen), without sizes.
pub fn lint_context(settings: Option<&ConnectionSettings>) -> LintContext {
    let env = settings.and_then(|s| s.env.as_ref());
    LintContext {
        env_lock_timeout: env.and_then(|e| e.lock_timeout.clone()),
        env_statement_timeout: env.and_then(|e| e.statement_timeout.clone()),
        sizes: Default::default(),
    }
}

/// Lints the plan as it would run on `db`, with the sizes of the tables
/// its hazards name.
pub async fn lint_plan(
    project: &Project,
    plan: &Plan,
    settings: &ConnectionSettings,
    db: &Database,
) -> Result<PlanLint, Error> {
    let options = &project.config.lint;
    let sections = lint::plan_sections(&project.map, plan);
    let mut steps = lint::lint_plan(&sections, &lint_context(Some(settings)), options);
    add_sizes(db, steps.iter_mut().flatten(), options).await?;
    Ok(PlanLint {
        steps,
        fail_on: Some(options.fail_on),
    })
}

/// Lints each section on its own (no plan: `lint REV...`, `lint --all`).
pub fn lint_sections(
    sections: &[SectionRef<'_>],
    settings: Option<&ConnectionSettings>,
    options: &LintOptions,
) -> Vec<SectionLint> {
    lint::lint_each(sections, &lint_context(settings), options)
}

/// Reads the sizes of the tables `lints` name (one query) and weighs the
/// hazards again with them.
pub async fn add_sizes<'a>(
    db: &Database,
    lints: impl Iterator<Item = &'a mut SectionLint>,
    options: &LintOptions,
) -> Result<(), Error> {
    let mut lints: Vec<&mut SectionLint> = lints.collect();
    let names = lint::tables_named(lints.iter().map(|l| &**l));
    let sizes = read_table_sizes(db.conn.client(), &names)
        .await
        .map_err(|e| Error::database("reading the sizes of the tables to lint", e))?;
    lint::with_sizes(lints.iter_mut().map(|l| &mut **l), &sizes, options);
    Ok(())
}
