//! Alembic: the graph of a project is read from its `versions/*.py` files
//! without running them, from the module-level assignments Alembic itself
//! reads (`revision`, `down_revision`, `branch_labels`, `depends_on`), which
//! are literals: `None`, a string, or a tuple or list of strings. Anything
//! else is refused with its file and line rather than guessed.
//!
//! The SQL of each step comes from Alembic's offline mode (`--sql`), whose
//! output marks each step with `-- Running upgrade A -> B`; [`sections`]
//! cuts it into steps and drops Alembic's own version-table statements and
//! its `BEGIN`/`COMMIT`.

use std::collections::BTreeMap;

use super::{ImportError, ImportedFile, SourceFile, file_name};
use crate::core::authoring::{file_text, revision_file_name};
use crate::core::revision::{Revision, SqlSection};
use crate::core::split::{SectionError, check_section, leading_words, split_statements};

/// A revision as its `.py` file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlembicRevision {
    pub id: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub message: String,
    pub path: String,
    /// Lines calling `op.get_bind()` (data migrations), by function.
    pub bind_lines: Vec<(Direction, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
}

/// The SQL Alembic's offline mode printed for one step, or why it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfflineSql {
    pub upgrade: Option<Result<String, String>>,
    pub downgrade: Option<Result<String, String>>,
}

/// The revisions declared under any `versions/` directory of the project.
pub fn read_revisions(files: &[SourceFile]) -> Result<Vec<AlembicRevision>, ImportError> {
    let mut out = Vec::new();
    for file in files {
        let in_versions = file.path.split('/').rev().nth(1) == Some("versions");
        if !in_versions || !file.path.ends_with(".py") || file_name(&file.path) == "__init__.py" {
            continue;
        }
        if let Some(rev) = read_revision(file)? {
            out.push(rev);
        }
    }
    Ok(out)
}

/// One file's declarations; `None` when it assigns no `revision` (not a
/// revision file).
fn read_revision(file: &SourceFile) -> Result<Option<AlembicRevision>, ImportError> {
    let mut values: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let lines: Vec<&str> = file.contents.lines().collect();
    let mut n = 0;
    while n < lines.len() {
        let start = n;
        n += 1;
        let Some((name, mut value)) = assignment(lines[start]) else {
            continue;
        };
        let mut text = value.to_string();
        while !balanced(&text) && n < lines.len() {
            text.push(' ');
            text.push_str(lines[n]);
            n += 1;
        }
        value = &text;
        let parsed = literal(value).ok_or_else(|| {
            ImportError::new(
                &file.path,
                Some(start + 1),
                format!(
                    "{name} is not a literal retort can read without running the file \
                     (None, a string, or a tuple or list of strings): {}",
                    value.trim()
                ),
            )
        })?;
        values.insert(name, parsed);
    }
    let Some(id) = values.get("revision").and_then(|v| v.first().cloned()) else {
        return Ok(None);
    };
    let take = |key: &str| values.get(key).cloned().unwrap_or_default();
    Ok(Some(AlembicRevision {
        id,
        down_revisions: take("down_revision"),
        branch_labels: take("branch_labels"),
        depends_on: take("depends_on"),
        message: docstring_title(&file.contents),
        path: file.path.clone(),
        bind_lines: bind_lines(&lines),
    }))
}

const KEYS: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

/// `name = value` or `name: Annotation = value` at module level.
fn assignment(line: &str) -> Option<(&'static str, &str)> {
    let key = KEYS.iter().find(|k| line.starts_with(*k))?;
    let rest = line[key.len()..].trim_start();
    let rest = match rest.strip_prefix(':') {
        Some(annotated) => annotated.split_once('=')?.1,
        None => rest.strip_prefix('=')?,
    };
    if rest.starts_with('=') {
        return None;
    }
    Some((key, rest))
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, '#') => break,
            _ => {}
        }
    }
    depth <= 0
}

/// `None`, `'a'`, `"a"`, `('a', 'b')`, `['a']`, with a trailing comment.
fn literal(value: &str) -> Option<Vec<String>> {
    let value = strip_comment(value).trim();
    if value == "None" {
        return Some(Vec::new());
    }
    let inner = match (value.chars().next(), value.chars().last()) {
        (Some('('), Some(')')) | (Some('['), Some(']')) => &value[1..value.len() - 1],
        _ => return string(value).map(|s| vec![s]),
    };
    inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(string)
        .collect()
}

fn strip_comment(value: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') => return &value[..i],
            _ => {}
        }
    }
    value
}

/// A plain one-line string literal, with no escapes to interpret.
fn string(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let body = text.strip_prefix(quote)?.strip_suffix(quote)?;
    (!body.contains([quote, '\\'])).then(|| body.to_string())
}

/// The first line of the module docstring (Alembic writes the message there).
fn docstring_title(contents: &str) -> String {
    let body = contents
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let Some(rest) = body
        .strip_prefix("\"\"\"")
        .or_else(|| body.strip_prefix("'''"))
    else {
        return String::new();
    };
    rest.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| {
            l.trim_end_matches("\"\"\"")
                .trim_end_matches("'''")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Lines calling `get_bind()`, with the function (`upgrade`/`downgrade`)
/// they sit in.
fn bind_lines(lines: &[&str]) -> Vec<(Direction, usize)> {
    let mut current = None;
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.starts_with("def upgrade") {
            current = Some(Direction::Upgrade);
        } else if line.starts_with("def downgrade") {
            current = Some(Direction::Downgrade);
        } else if line.starts_with("def ") {
            current = None;
        }
        if line.contains("get_bind(")
            && let Some(direction) = current
        {
            out.push((direction, n + 1));
        }
    }
    out
}

/// The steps of Alembic's offline output, by the revision each one moves
/// to (upgrade: the revision after `->`; downgrade: the one before it).
pub fn sections(output: &str, direction: Direction) -> BTreeMap<String, String> {
    let marker = match direction {
        Direction::Upgrade => "-- Running upgrade ",
        Direction::Downgrade => "-- Running downgrade ",
    };
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in output.lines() {
        if let Some(step) = line.strip_prefix(marker) {
            if let Some((id, sql)) = current.take() {
                out.insert(id, without_bookkeeping(&sql));
            }
            let (from, to) = step.split_once(" -> ").unwrap_or((step, ""));
            let id = match direction {
                Direction::Upgrade => to.trim(),
                Direction::Downgrade => from.trim(),
            };
            current = Some((id.to_string(), String::new()));
        } else if let Some((_, sql)) = current.as_mut() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    if let Some((id, sql)) = current {
        out.insert(id, without_bookkeeping(&sql));
    }
    out
}

/// A step's SQL without Alembic's version-table statements and the
/// `BEGIN`/`COMMIT` around the whole script: retort does both itself.
fn without_bookkeeping(sql: &str) -> String {
    let Ok(statements) = split_statements(sql) else {
        return sql.trim().to_string();
    };
    let kept: Vec<String> = statements
        .iter()
        .filter(|s| !s.sql.contains("alembic_version"))
        .filter(|s| {
            let first = leading_words(&s.sql).next().map(str::to_ascii_uppercase);
            !(matches!(first.as_deref(), Some("BEGIN" | "COMMIT"))
                && leading_words(&s.sql).count() == 1)
        })
        .map(|s| format!("{};", s.sql))
        .collect();
    kept.join("\n\n")
}

/// The revision files: the graph as declared, each step's SQL from
/// `offline` (by revision id). A step whose SQL Alembic could not print is
/// written so that it stops with a message naming the file and line to
/// convert by hand, never as an empty step.
pub fn build(
    revisions: &[AlembicRevision],
    offline: &BTreeMap<String, OfflineSql>,
) -> Result<Vec<ImportedFile>, ImportError> {
    let mut out = Vec::new();
    for rev in revisions {
        let sql = offline.get(&rev.id).cloned().unwrap_or_default();
        let mut notes = Vec::new();
        let upgrade = step_sql(rev, Direction::Upgrade, sql.upgrade, &mut notes);
        let downgrade = step_sql(rev, Direction::Downgrade, sql.downgrade, &mut notes);
        let transactional = [&upgrade, &downgrade].iter().all(|s| {
            !matches!(
                check_section(s, true),
                Err(SectionError::TransactionControl(_))
            )
        });
        if !transactional {
            notes.push(format!(
                "{}: its SQL commits on its own (an autocommit block); written as transactional: false",
                rev.path
            ));
        }
        let revision = Revision {
            id: rev.id.clone(),
            down_revisions: rev.down_revisions.clone(),
            branch_labels: rev.branch_labels.clone(),
            depends_on: rev.depends_on.clone(),
            message: rev.message.clone(),
            create_date: None,
            transactional,
            lock_timeout: None,
            statement_timeout: None,
            lint_ignore: Vec::new(),
            upgrade: SqlSection {
                sql: upgrade,
                first_line: 1,
            },
            downgrade: Some(SqlSection {
                sql: downgrade,
                first_line: 1,
            }),
            path: revision_file_name(&rev.id, &rev.message).into(),
            header_lines: Default::default(),
        };
        let text = file_text(&revision).map_err(|e| ImportError::new(&rev.path, None, e))?;
        out.push(ImportedFile {
            file_name: revision.path.display().to_string(),
            revision,
            text,
            sources: vec![rev.path.clone()],
            notes,
        });
    }
    Ok(out)
}

/// The SQL of one direction, or a step that refuses to run and says what
/// to convert, with a note naming the lines.
fn step_sql(
    rev: &AlembicRevision,
    direction: Direction,
    sql: Option<Result<String, String>>,
    notes: &mut Vec<String>,
) -> String {
    let word = match direction {
        Direction::Upgrade => "upgrade",
        Direction::Downgrade => "downgrade",
    };
    let cause = match sql {
        Some(Ok(sql)) => return sql,
        Some(Err(cause)) => cause,
        None => "Alembic printed no SQL for it".to_string(),
    };
    let lines: Vec<String> = rev
        .bind_lines
        .iter()
        .filter(|(d, _)| *d == direction)
        .map(|(_, n)| format!("{}:{n}", rev.path))
        .collect();
    let place = match lines.is_empty() {
        true => rev.path.clone(),
        false => lines.join(", "),
    };
    notes.push(format!(
        "{place}: the {word} could not be printed by Alembic's offline mode ({cause}); \
         written to stop with a message until it is converted by hand"
    ));
    let message = format!(
        "revision {} needs its {word} converted by hand from {place}",
        rev.id
    )
    .replace('\'', "''");
    format!(
        "-- CONVERT BY HAND: Alembic's offline mode could not print this {word} ({}).\n\
         -- Write its SQL here from {place}, then remove the statement below.\n\
         DO $retort$ BEGIN RAISE EXCEPTION '{message}'; END $retort$;",
        cause.replace('\n', " ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            contents: contents.into(),
        }
    }

    #[test]
    fn declarations_are_read_without_running_the_file() {
        let text = "\"\"\"merge billing\n\nRevision ID: m1\n\"\"\"\nfrom alembic import op\n\
                    revision: str = 'm1'  # the id\n\
                    down_revision: Union[str, Sequence[str], None] = (\n    'a1',\n    \"b1\",\n)\n\
                    branch_labels = ('billing',)\ndepends_on = None\n\n\
                    def upgrade():\n    conn = op.get_bind()\n\ndef downgrade():\n    pass\n";
        let revs = read_revisions(&[
            file("alembic/versions/m1_merge.py", text),
            file("alembic/env.py", "revision = 'x'"),
        ])
        .unwrap();
        assert_eq!(revs.len(), 1);
        let rev = &revs[0];
        assert_eq!(rev.id, "m1");
        assert_eq!(rev.down_revisions, ["a1", "b1"]);
        assert_eq!(rev.branch_labels, ["billing"]);
        assert!(rev.depends_on.is_empty());
        assert_eq!(rev.message, "merge billing");
        assert_eq!(rev.bind_lines, [(Direction::Upgrade, 15)]);
    }

    #[test]
    fn values_that_need_running_are_refused_with_their_line() {
        let err = read_revisions(&[file(
            "versions/a.py",
            "revision = 'a'\ndown_revision = compute()\n",
        )])
        .unwrap_err();
        assert_eq!((err.path.as_str(), err.line), ("versions/a.py", Some(2)));
        assert!(err.message.contains("compute()"), "{err}");
    }

    #[test]
    fn offline_output_is_cut_into_steps_without_bookkeeping() {
        let output = "BEGIN;\n\nCREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL\n);\n\n\
                      -- Running upgrade  -> a1\n\nCREATE TABLE users (id int);\n\n\
                      INSERT INTO alembic_version (version_num) VALUES ('a1');\n\n\
                      -- Running upgrade a1, b1 -> m1\n\nDELETE FROM alembic_version WHERE version_num = 'a1';\n\nCOMMIT;\n";
        let steps = sections(output, Direction::Upgrade);
        assert_eq!(steps["a1"], "CREATE TABLE users (id int);");
        assert_eq!(steps["m1"], "");
        let down = sections(
            "-- Running downgrade m1 -> a1, b1\n\nDROP TABLE x;\n",
            Direction::Downgrade,
        );
        assert_eq!(down["m1"], "DROP TABLE x;");
    }

    #[test]
    fn a_step_without_offline_sql_stops_and_names_its_lines() {
        let rev = AlembicRevision {
            id: "d1".into(),
            down_revisions: vec![],
            branch_labels: vec![],
            depends_on: vec![],
            message: "backfill".into(),
            path: "versions/d1.py".into(),
            bind_lines: vec![(Direction::Upgrade, 17)],
        };
        let offline = BTreeMap::from([(
            "d1".to_string(),
            OfflineSql {
                upgrade: Some(Err("AttributeError".into())),
                downgrade: Some(Ok(String::new())),
            },
        )]);
        let files = build(&[rev], &offline).unwrap();
        assert!(files[0].revision.upgrade.sql.contains("RAISE EXCEPTION 'revision d1 needs its upgrade converted by hand from versions/d1.py:17'"));
        assert!(files[0].notes[0].starts_with("versions/d1.py:17: the upgrade"));
        assert_eq!(files[0].revision.downgrade.as_ref().unwrap().sql, "");
    }
}
