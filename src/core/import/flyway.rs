//! Flyway: versioned `V<version>__<description>.sql` and undo
//! `U<version>__<description>.sql` scripts anywhere below the location.
//! Versions are dotted numbers (`_` is a dot too), compared part by part as
//! numbers (`1.10` after `1.9`). Repeatable `R__` scripts run again whenever
//! they change: that has no place in a revision graph, so they are refused.
//!
//! Flyway runs a script in a transaction unless one of its statements
//! cannot run in one (`CREATE INDEX CONCURRENTLY` and the like), or its
//! `<script>.conf` says `executeInTransaction=false`.

use std::cmp::Ordering;

use super::{ImportError, SourceFile, Step, file_name};
use crate::core::split::{leading_words, split_statements};

pub(super) fn read(files: &[SourceFile]) -> Result<Vec<Step>, ImportError> {
    let mut steps: Vec<Step> = Vec::new();
    let mut undos: Vec<(String, &SourceFile)> = Vec::new();
    for file in files {
        let name = file_name(&file.path);
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        if stem.starts_with("R__") {
            return Err(ImportError::new(
                &file.path,
                None,
                "repeatable migrations (R__) run again whenever they change, which a revision \
                 graph cannot express; move their SQL into a versioned migration (or keep them \
                 outside retort) and import again",
            ));
        }
        let (undo, rest) = match (stem.strip_prefix('V'), stem.strip_prefix('U')) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => continue,
        };
        let Some((version, description)) = rest.split_once("__") else {
            continue;
        };
        let version = version.replace('_', ".");
        if version.is_empty()
            || !version
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ImportError::new(
                &file.path,
                None,
                format!("version '{version}' is not a dotted number"),
            ));
        }
        if undo {
            undos.push((version, file));
            continue;
        }
        let (transactional, notes) = transaction_rule(file, files)?;
        steps.push(Step {
            version,
            message: description.replace('_', " "),
            upgrade: file.contents.clone(),
            downgrade: None,
            transactional,
            sources: vec![file.path.clone()],
            notes,
        });
    }
    for (version, file) in undos {
        let Some(step) = steps
            .iter_mut()
            .find(|s| compare(&s.version, &version) == Ordering::Equal)
        else {
            return Err(ImportError::new(
                &file.path,
                None,
                "an undo script without its versioned script",
            ));
        };
        step.downgrade = Some(file.contents.clone());
        step.sources.push(file.path.clone());
    }
    steps.sort_by(|a, b| compare(&a.version, &b.version));
    for pair in steps.windows(2) {
        if compare(&pair[0].version, &pair[1].version) == Ordering::Equal {
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
    Ok(steps)
}

/// Compares dotted versions part by part as numbers; missing parts are 0.
pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<(usize, String)> {
        v.split('.')
            .map(|p| {
                let digits = p.trim_start_matches('0');
                (digits.len(), digits.to_string())
            })
            .collect()
    };
    let (a, b) = (parts(a), parts(b));
    let zero = (0, String::new());
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).unwrap_or(&zero).cmp(b.get(i).unwrap_or(&zero)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Whether Flyway would run `file` in a transaction, and notes when the
/// script mixes statements that can and cannot.
fn transaction_rule(
    file: &SourceFile,
    files: &[SourceFile],
) -> Result<(bool, Vec<String>), ImportError> {
    let conf_path = format!("{}.conf", file.path);
    if let Some(conf) = files.iter().find(|f| f.path == conf_path)
        && let Some(setting) = conf
            .contents
            .lines()
            .find_map(|l| l.trim().strip_prefix("executeInTransaction"))
    {
        let value = setting.trim_start().trim_start_matches('=').trim();
        return Ok((!value.eq_ignore_ascii_case("false"), Vec::new()));
    }
    let statements = split_statements(&file.contents)
        .map_err(|e| ImportError::new(&file.path, Some(e.line), e.message))?;
    let outside: Vec<usize> = statements
        .iter()
        .filter(|s| cannot_run_in_transaction(&s.sql))
        .map(|s| s.line)
        .collect();
    let mut notes = Vec::new();
    if !outside.is_empty() && outside.len() < statements.len() {
        notes.push(format!(
            "{}: mixes statements that cannot run in a transaction (line {}) with others; \
             Flyway refuses this unless `mixed` is set, retort runs the whole revision \
             outside a transaction",
            file.path,
            outside
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((outside.is_empty(), notes))
}

/// Statements PostgreSQL refuses inside a transaction block.
fn cannot_run_in_transaction(sql: &str) -> bool {
    let words: Vec<String> = leading_words(sql)
        .take(6)
        .map(str::to_ascii_uppercase)
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let concurrently = w.contains(&"CONCURRENTLY");
    match w.as_slice() {
        ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX", ..] | ["DROP", "INDEX", ..] => {
            concurrently
        }
        ["REINDEX", ..] => {
            concurrently || matches!(w.get(1), Some(&"SCHEMA" | &"DATABASE" | &"SYSTEM"))
        }
        ["VACUUM", ..] | ["ALTER", "SYSTEM", ..] => true,
        ["CREATE" | "DROP", "DATABASE" | "TABLESPACE", ..] => true,
        ["CREATE" | "DROP", "SUBSCRIPTION", ..] => true,
        _ => false,
    }
}
