//! Lint before apply: Squawk's rules on each SQL section of a plan, with
//! what retort knows and a file alone does not.
//!
//! Squawk (`squawk-linter`) finds the hazards; this module feeds it the
//! context and weighs what it finds:
//! - a `transactional: false` revision is linted as running outside a
//!   transaction (`CREATE INDEX CONCURRENTLY` is right there and flagged in
//!   a transactional one);
//! - a `lock_timeout` / `statement_timeout` from the environment or the
//!   revision's header satisfies `require-lock-timeout` /
//!   `require-statement-timeout` (a `SET` in the SQL already does, in
//!   Squawk);
//! - a hazard on a table created earlier in the plan is kept but marked
//!   `new_table` and weighs `info`: the table does not exist yet where the
//!   plan will run;
//! - a live size (from the database layer) is shown beside a size-bound
//!   hazard and makes it an error on a large table;
//! - `-- lint_ignore:` rules of the revision are kept and marked ignored.
//!
//! Pure: SQL text and values in, findings out.

pub mod rules;
pub mod tables;
pub mod verdict;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;
use squawk_linter::{Fix, Linter, Rule, Violation};
use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};

use crate::core::duration::parse_duration;
use crate::core::graph::RevisionMap;
use crate::core::plan::{Direction, Plan, StepKind};
use crate::core::revision::{Revision, SqlSection};
use crate::core::split::position_to_line_col;

pub use rules::{OFF_BY_DEFAULT, Severity, canonical_rule_name};
pub use tables::TableRef;

/// The `[lint]` settings, as values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOptions {
    /// Rules to run beyond the defaults (canonical Squawk names).
    pub enable: Vec<String>,
    /// Rules not to run.
    pub disable: Vec<String>,
    /// The lightest severity that makes `lint` and `check` fail.
    pub fail_on: Severity,
    /// A table with at least this many rows (estimated) is large.
    pub large_table_rows: u64,
    /// A table taking at least this many bytes (with indexes and TOAST) is large.
    pub large_table_bytes: u64,
}

impl Default for LintOptions {
    fn default() -> LintOptions {
        LintOptions {
            enable: Vec::new(),
            disable: Vec::new(),
            fail_on: Severity::Warning,
            large_table_rows: 100_000,
            large_table_bytes: 100 * 1024 * 1024,
        }
    }
}

/// What the place the plan runs in adds: the environment's timeouts and
/// the live sizes of the tables (empty without a database).
#[derive(Debug, Clone, Default)]
pub struct LintContext {
    pub env_lock_timeout: Option<String>,
    pub env_statement_timeout: Option<String>,
    /// By [`TableRef::written`].
    pub sizes: BTreeMap<String, TableSize>,
}

/// A table's size from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableSize {
    /// The planner's estimate (`reltuples`); `None` before the first
    /// VACUUM or ANALYZE.
    pub rows: Option<u64>,
    /// `pg_total_relation_size`: heap, indexes and TOAST.
    pub bytes: u64,
}

impl TableSize {
    fn is_large(&self, options: &LintOptions) -> bool {
        self.rows.is_some_and(|r| r >= options.large_table_rows)
            || self.bytes >= options.large_table_bytes
    }

    /// `12.0 M rows, 4.1 GB`.
    pub fn describe(&self) -> String {
        let rows = match self.rows {
            Some(rows) => format!(
                "{} rows",
                scaled(rows as f64, 1000.0, &["", " k", " M", " G"])
            ),
            None => "rows not yet counted".to_string(),
        };
        let bytes = scaled(
            self.bytes as f64,
            1024.0,
            &[" B", " kB", " MB", " GB", " TB"],
        );
        format!("{rows}, {bytes}")
    }
}

fn scaled(mut value: f64, step: f64, units: &[&str]) -> String {
    let mut unit = 0;
    while value >= step && unit + 1 < units.len() {
        value /= step;
        unit += 1;
    }
    match unit {
        0 => format!("{value:.0}{}", units[0]),
        _ => format!("{value:.1}{}", units[unit]),
    }
}

/// What a lock trace observed for a hazard's statement, when one has run:
/// the seam for the rehearsal's trace (not filled by the lint itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum TraceVerdict {
    /// The trace saw what the rule claims (e.g. the table was rewritten).
    Confirmed { observed: String },
    /// The trace saw otherwise (e.g. `varchar → text` did not rewrite).
    Refuted { observed: String },
}

/// One finding of one rule on one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hazard {
    /// Squawk's rule name, e.g. `require-concurrent-index-creation`.
    pub rule: String,
    pub message: String,
    pub help: Option<String>,
    /// The safer statement, where Squawk offers a fix.
    pub fix: Option<String>,
    pub severity: Severity,
    /// Silenced by the revision's `lint_ignore`: shown, never counted.
    pub ignored: bool,
    /// The rule is about losing data (drawn red in a downgrade).
    pub data_loss: bool,
    /// Byte range in the section's SQL.
    pub range: Range<usize>,
    /// 1-based lines within the section (the plan dialog's gutter).
    pub section_lines: Range<usize>,
    /// 1-based line and column in the file.
    pub line: usize,
    pub column: usize,
    /// The table the statement works on, when it names one.
    pub table: Option<TableRef>,
    /// The table is created earlier in the same plan (or section).
    pub new_table: bool,
    /// The table's live size, with a database at hand.
    pub size: Option<TableSize>,
    /// What a lock trace observed, when one has run.
    pub trace: Option<TraceVerdict>,
}

impl Hazard {
    /// Counts towards failing `lint` / `check` at `fail_on`.
    pub fn fails(&self, fail_on: Severity) -> bool {
        !self.ignored && self.severity >= fail_on
    }
}

/// SQL Squawk's parser could not read: that section is not linted, which
/// never blocks a run by itself (the server stays the authority).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotLinted {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The findings on one section (upgrade or downgrade) of one revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionLint {
    pub revision: String,
    pub direction: Direction,
    pub path: PathBuf,
    pub transactional: bool,
    pub hazards: Vec<Hazard>,
    pub not_linted: Option<NotLinted>,
}

impl SectionLint {
    pub fn failing(&self, fail_on: Severity) -> usize {
        self.hazards.iter().filter(|h| h.fails(fail_on)).count()
    }
}

/// One section to lint, in plan order.
#[derive(Debug, Clone, Copy)]
pub struct SectionRef<'a> {
    pub revision: &'a Revision,
    pub direction: Direction,
}

impl<'a> SectionRef<'a> {
    fn section(&self) -> Option<&'a SqlSection> {
        match self.direction {
            Direction::Upgrade => Some(&self.revision.upgrade),
            Direction::Downgrade => self.revision.downgrade.as_ref(),
        }
    }
}

/// The sections a plan runs, in order: one per migrating step (stamp
/// steps run no SQL and have none).
pub fn plan_sections<'a>(map: &'a RevisionMap, plan: &Plan) -> Vec<Option<SectionRef<'a>>> {
    plan.steps
        .iter()
        .map(|step| {
            let revision = map.get(&step.revision)?;
            let wanted = step.kind == StepKind::Migrate;
            wanted.then_some(SectionRef {
                revision,
                direction: step.direction,
            })
        })
        .collect()
}

/// Lints `sections` as one plan run in this order: a table created by an
/// earlier section (or statement) is new to every later hazard.
pub fn lint_plan(
    sections: &[Option<SectionRef<'_>>],
    context: &LintContext,
    options: &LintOptions,
) -> Vec<Option<SectionLint>> {
    let mut created = BTreeSet::new();
    sections
        .iter()
        .map(|section| {
            let section = (*section)?;
            lint_section(section, context, options, &mut created)
        })
        .collect()
}

/// Lints each section on its own, as if no other revision ran before it.
pub fn lint_each(
    sections: &[SectionRef<'_>],
    context: &LintContext,
    options: &LintOptions,
) -> Vec<SectionLint> {
    sections
        .iter()
        .filter_map(|section| lint_section(*section, context, options, &mut BTreeSet::new()))
        .collect()
}

/// The tables the findings name, for the one catalog query of their sizes.
pub fn tables_named<'a>(lints: impl IntoIterator<Item = &'a SectionLint>) -> Vec<String> {
    let mut names: Vec<String> = lints
        .into_iter()
        .flat_map(|lint| &lint.hazards)
        .filter_map(|hazard| hazard.table.as_ref().map(|t| t.written.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Puts the live sizes beside the findings and weighs them again.
pub fn with_sizes<'a>(
    lints: impl IntoIterator<Item = &'a mut SectionLint>,
    sizes: &BTreeMap<String, TableSize>,
    options: &LintOptions,
) {
    for hazard in lints.into_iter().flat_map(|lint| lint.hazards.iter_mut()) {
        hazard.size = hazard
            .table
            .as_ref()
            .and_then(|t| sizes.get(&t.written).copied());
        hazard.severity = weigh(hazard, options);
    }
}

/// `None` for a missing downgrade section (an irreversible revision).
fn lint_section(
    source: SectionRef<'_>,
    context: &LintContext,
    options: &LintOptions,
    created: &mut BTreeSet<String>,
) -> Option<SectionLint> {
    let section = source.section()?;
    let revision = source.revision;
    let mut lint = SectionLint {
        revision: revision.id.clone(),
        direction: source.direction,
        path: revision.path.clone(),
        transactional: revision.transactional,
        hazards: Vec::new(),
        not_linted: None,
    };
    let sql = section.sql.as_str();
    let parse = SourceFile::parse(sql);
    if let Some(error) = parse.errors().first() {
        let (line, column) = position_to_line_col(sql, usize::from(error.range().start()));
        lint.not_linted = Some(NotLinted {
            line: section.file_line(line),
            column,
            message: error.message().to_string(),
        });
        return Some(lint);
    }
    let statements = statements(&parse.tree());
    let new_in_section = created_in_section(&statements);
    let lines = LineIndex::new(sql);
    let mut linter = Linter::from(active_rules(revision, context, options));
    linter.settings.assume_in_transaction = revision.transactional;
    let mut violations = linter.lint(&parse, sql);
    let concurrent_rule = Rule::BanConcurrentIndexCreationInTransaction;
    if revision.transactional
        && linter.rules.contains(&concurrent_rule)
        && !violations.iter().any(|v| v.code == concurrent_rule)
    {
        violations.extend(lone_concurrent_index(&parse.tree()));
    }
    violations.sort_by_key(|v| v.text_range.start());
    for violation in violations {
        let start = usize::from(violation.text_range.start());
        let index = statement_at(&statements, start);
        let new_here = index.is_some_and(|i| new_in_section[i]);
        let statement = index.map(|i| &statements[i]);
        let found = Found {
            violation,
            statement,
            new_here,
        };
        let hazard = hazard(source, section, &lines, found, created);
        lint.hazards.push(Hazard {
            severity: weigh(&hazard, options),
            ..hazard
        });
    }
    created.extend(
        statements
            .iter()
            .filter_map(|s| s.created.as_ref().map(|t| t.name.clone())),
    );
    context_sizes(&mut lint, context, options);
    Some(lint)
}

fn context_sizes(lint: &mut SectionLint, context: &LintContext, options: &LintOptions) {
    if !context.sizes.is_empty() {
        with_sizes(std::iter::once(lint), &context.sizes, options);
    }
}

/// Squawk passes over a file whose only statement is `CREATE INDEX
/// CONCURRENTLY`, since a tool that sends one statement alone sends it
/// outside a transaction; retort wraps every statement of a transactional
/// revision in one, where PostgreSQL refuses it.
fn lone_concurrent_index(file: &SourceFile) -> Option<Violation> {
    let mut stmts = file.stmts();
    let (Some(ast::Stmt::CreateIndex(index)), None) = (stmts.next(), stmts.next()) else {
        return None;
    };
    let concurrently = index.concurrently_token()?;
    let mut violation = Violation::for_range(
        Rule::BanConcurrentIndexCreationInTransaction,
        "CREATE INDEX CONCURRENTLY cannot run inside the transaction this revision runs in."
            .to_string(),
        concurrently.text_range(),
    );
    violation.help =
        Some("Mark the revision `-- transactional: false` so the index builds outside one.".into());
    Some(violation)
}

/// For each statement, whether the table it works on is created by a
/// statement before it in the same section.
fn created_in_section(statements: &[StatementInfo]) -> Vec<bool> {
    let mut created = BTreeSet::new();
    statements
        .iter()
        .map(|statement| {
            let new = statement
                .table
                .as_ref()
                .is_some_and(|t| created.contains(&t.name));
            if let Some(table) = &statement.created {
                created.insert(table.name.clone());
            }
            new
        })
        .collect()
}

/// The statement holding byte `offset` (statements are in text order).
fn statement_at(statements: &[StatementInfo], offset: usize) -> Option<usize> {
    let after = statements.partition_point(|s| s.range.start <= offset);
    let index = after.checked_sub(1)?;
    statements[index].range.contains(&offset).then_some(index)
}

/// Line starts of a text, so that each finding's line and column is a
/// binary search rather than a scan from the top (a 5 MB file has tens of
/// thousands of findings).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }
}

/// A Squawk finding with where it was found.
struct Found<'s> {
    violation: Violation,
    statement: Option<&'s StatementInfo>,
    new_here: bool,
}

/// A top-level statement: where it is, what it works on, what it creates.
struct StatementInfo {
    range: Range<usize>,
    table: Option<TableRef>,
    created: Option<TableRef>,
}

fn statements(file: &SourceFile) -> Vec<StatementInfo> {
    file.stmts()
        .map(|stmt| {
            let node = stmt.syntax();
            let range = node.text_range();
            let (table, created) = tables::tables_of(node);
            StatementInfo {
                range: usize::from(range.start())..usize::from(range.end()),
                table,
                created,
            }
        })
        .collect()
}

fn hazard(
    source: SectionRef<'_>,
    section: &SqlSection,
    lines: &LineIndex,
    found: Found<'_>,
    created: &BTreeSet<String>,
) -> Hazard {
    let Found {
        violation,
        statement,
        new_here,
    } = found;
    let start = usize::from(violation.text_range.start());
    let end = usize::from(violation.text_range.end());
    let (first_line, column) = lines.line_col(start);
    let (last_line, _) = lines.line_col(end.saturating_sub(1).max(start));
    let rule = violation.code.to_string();
    let table = statement.and_then(|s| s.table.clone());
    let new_table = new_here || table.as_ref().is_some_and(|t| created.contains(&t.name));
    Hazard {
        ignored: source.revision.lint_ignore.contains(&rule),
        data_loss: rules::is_data_loss(violation.code),
        fix: violation
            .fix
            .as_ref()
            .map(|fix| safer_statement(fix, &section.sql, statement)),
        rule,
        message: violation.message,
        help: violation.help,
        severity: Severity::Warning,
        range: start..end,
        section_lines: first_line..last_line + 1,
        line: section.file_line(first_line),
        column,
        table,
        new_table,
        size: None,
        trace: None,
    }
}

/// How much a finding weighs, from its rule, its table and its size.
fn weigh(hazard: &Hazard, options: &LintOptions) -> Severity {
    let rule = hazard.rule.parse::<Rule>().ok();
    if hazard.new_table {
        Severity::Info
    } else if hazard.data_loss
        || (rule.is_some_and(rules::is_size_bound)
            && hazard.size.is_some_and(|s| s.is_large(options)))
    {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// The rules to run on this revision: the selection, less the timeout
/// rules its environment or header already satisfies.
fn active_rules(revision: &Revision, context: &LintContext, options: &LintOptions) -> Vec<Rule> {
    let lock_bounded =
        bounds(context.env_lock_timeout.as_deref()) || bounds(revision.lock_timeout.as_deref());
    let statement_bounded = bounds(context.env_statement_timeout.as_deref())
        || bounds(revision.statement_timeout.as_deref());
    rules::selected_rules(&options.enable, &options.disable)
        .into_iter()
        .filter(|rule| !(lock_bounded && *rule == Rule::RequireLockTimeout))
        .filter(|rule| !(statement_bounded && *rule == Rule::RequireStatementTimeout))
        .collect()
}

/// A timeout that limits the wait: set and not zero (PostgreSQL's "no limit").
fn bounds(value: Option<&str>) -> bool {
    value.is_some_and(|v| parse_duration(v).map_or(true, |d| !d.is_zero()))
}

/// The statement with Squawk's edits applied; when an edit lies outside
/// the statement (a `SET lock_timeout` put at the top of the file), the
/// text it adds.
fn safer_statement(fix: &Fix, sql: &str, statement: Option<&StatementInfo>) -> String {
    let inside = |range: &Range<usize>| {
        statement.is_some_and(|s| s.range.start <= range.start && range.end <= s.range.end)
    };
    let edits: Vec<(Range<usize>, &str)> = fix
        .edits
        .iter()
        .map(|edit| {
            let range = usize::from(edit.text_range.start())..usize::from(edit.text_range.end());
            (range, edit.text.as_deref().unwrap_or(""))
        })
        .collect();
    match statement {
        Some(stmt) if edits.iter().all(|(range, _)| inside(range)) => {
            let mut text = sql[stmt.range.clone()].to_string();
            let mut sorted = edits;
            sorted.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
            for (range, replacement) in sorted {
                let local = range.start - stmt.range.start..range.end - stmt.range.start;
                text.replace_range(local, replacement);
            }
            text
        }
        _ => {
            let added: Vec<&str> = edits.iter().map(|(_, text)| text.trim()).collect();
            added.join(" ")
        }
    }
}
