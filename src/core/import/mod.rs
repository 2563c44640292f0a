//! Another tool's migrations turned into retort revisions, without touching
//! a file or a database: each reader takes the source project's files as
//! (path, contents) pairs and returns the steps in the tool's own order,
//! each with the SQL and the transaction behaviour the tool gives it, and
//! notes where that behaviour cannot be carried over. [`chain`] makes the
//! steps one line of revisions, ids kept from the tool's versions.

pub mod adopt;
pub mod alembic;
mod dbmate;
mod diesel;
mod flyway;
mod golang_migrate;
mod sqlx;

use crate::core::authoring::{file_text, revision_file_name};
use crate::core::revision::{Revision, SqlSection, name_problem};
use crate::core::split::check_section;

/// The tools whose projects can be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Sqlx,
    Diesel,
    Dbmate,
    GolangMigrate,
    /// gobuffalo/pop: golang-migrate's layout, but each file runs in a
    /// transaction unless it is an `.autocommit` file.
    Pop,
    Flyway,
}

impl SourceKind {
    /// The table where the tool records what it applied.
    pub fn version_table(self) -> &'static str {
        match self {
            SourceKind::Sqlx => "_sqlx_migrations",
            SourceKind::Diesel => "__diesel_schema_migrations",
            SourceKind::Dbmate | SourceKind::GolangMigrate => "schema_migrations",
            SourceKind::Pop => "schema_migration",
            SourceKind::Flyway => "flyway_schema_history",
        }
    }
}

/// One file of the source project: its path relative to the source
/// directory (`/`-separated) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub contents: String,
}

/// A migration as the tool runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The tool's version, as written in the file name (ids are made from it).
    pub version: String,
    pub message: String,
    pub upgrade: String,
    /// `None`: the tool has no way back from this step.
    pub downgrade: Option<String>,
    pub transactional: bool,
    /// The source files this step was read from.
    pub sources: Vec<String>,
    /// What the import could not carry over as the tool does it.
    pub notes: Vec<String>,
}

/// Why a source project cannot be imported; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ImportError {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl ImportError {
    fn new(path: &str, line: Option<usize>, message: impl Into<String>) -> ImportError {
        ImportError {
            path: path.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// A revision file ready to be written into the target directory.
#[derive(Debug, Clone)]
pub struct ImportedFile {
    pub revision: Revision,
    pub file_name: String,
    pub text: String,
    pub sources: Vec<String>,
    pub notes: Vec<String>,
}

/// Reads the steps of a `kind` project from its files, in the tool's order.
pub fn read_steps(kind: SourceKind, files: &[SourceFile]) -> Result<Vec<Step>, ImportError> {
    let steps = match kind {
        SourceKind::Sqlx => sqlx::read(files)?,
        SourceKind::Diesel => diesel::read(files)?,
        SourceKind::Dbmate => dbmate::read(files)?,
        SourceKind::GolangMigrate => golang_migrate::read(files, false)?,
        SourceKind::Pop => golang_migrate::read(files, true)?,
        SourceKind::Flyway => flyway::read(files)?,
    };
    if steps.is_empty() {
        return Err(ImportError::new(
            ".",
            None,
            "no migration files of this kind were found",
        ));
    }
    Ok(steps)
}

/// The steps as one chain of revisions: each the child of the one before,
/// its id the tool's version. Every file is checked to read back as given
/// and to run as the tool runs it, before anything is written.
pub fn chain(steps: &[Step]) -> Result<Vec<ImportedFile>, ImportError> {
    let mut previous: Option<&str> = None;
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let source = step.sources.first().map_or("?", String::as_str);
        let revision = step_revision(step, previous);
        check_runnable(step, source)?;
        let text = file_text(&revision).map_err(|e| ImportError::new(source, None, e))?;
        out.push(ImportedFile {
            file_name: revision.path.display().to_string(),
            revision,
            text,
            sources: step.sources.clone(),
            notes: step.notes.clone(),
        });
        previous = Some(&step.version);
    }
    Ok(out)
}

fn step_revision(step: &Step, previous: Option<&str>) -> Revision {
    let section = |sql: &str| SqlSection {
        sql: sql.trim_end().to_string(),
        first_line: 1,
    };
    Revision {
        id: step.version.clone(),
        down_revisions: previous.into_iter().map(str::to_string).collect(),
        branch_labels: Vec::new(),
        depends_on: Vec::new(),
        message: step.message.clone(),
        create_date: None,
        transactional: step.transactional,
        lock_timeout: None,
        statement_timeout: None,
        lint_ignore: Vec::new(),
        upgrade: section(&step.upgrade),
        downgrade: step.downgrade.as_deref().map(section),
        path: revision_file_name(&step.version, &step.message).into(),
        header_lines: Default::default(),
    }
}

/// The id must be one the loader takes, and each section must run the way
/// it is flagged (a `COMMIT` in a transactional step would not).
fn check_runnable(step: &Step, source: &str) -> Result<(), ImportError> {
    if let Some(problem) = name_problem(&step.version, "revision identifier") {
        return Err(ImportError::new(source, None, problem));
    }
    let sections = [
        ("upgrade", Some(&step.upgrade)),
        ("downgrade", step.downgrade.as_ref()),
    ];
    for (name, sql) in sections {
        if let Some(sql) = sql
            && let Err(e) = check_section(sql, step.transactional)
        {
            return Err(ImportError::new(
                source,
                None,
                format!("{name} section: {e}"),
            ));
        }
    }
    Ok(())
}

/// The file name of `path` (after the last `/`).
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A message from a migration's name: `_` and `-` between words as spaces.
fn message_from_name(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `<digits>_<name>` split into its version and name, when it has that shape.
fn leading_version(stem: &str) -> Option<(&str, &str)> {
    let end = stem.find(|c: char| !c.is_ascii_digit())?;
    let (version, rest) = stem.split_at(end);
    if version.is_empty() {
        return None;
    }
    Some((version, rest.strip_prefix('_')?))
}

/// Orders steps by their versions read as numbers (the tools that store an
/// integer version sort so, not by text: `10` after `9`); two files with
/// the same number are refused, as the tools refuse them.
fn sort_numerically(steps: &mut [Step]) -> Result<(), ImportError> {
    steps.sort_by(|a, b| numeric_key(&a.version).cmp(&numeric_key(&b.version)));
    for pair in steps.windows(2) {
        if numeric_key(&pair[0].version) == numeric_key(&pair[1].version) {
            return Err(ImportError::new(
                &pair[1].sources[0],
                None,
                format!(
                    "version {} is also used by {}",
                    pair[1].version, pair[0].sources[0]
                ),
            ));
        }
    }
    Ok(())
}

/// A version's digits without leading zeros, compared by length first: a
/// number of any size, in the order of its value.
fn numeric_key(version: &str) -> (usize, &str) {
    let digits = version.trim_start_matches('0');
    (digits.len(), digits)
}

#[cfg(test)]
mod tests;
