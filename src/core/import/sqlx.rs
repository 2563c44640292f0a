//! sqlx: `<version>_<description>.sql` (irreversible) or a
//! `.up.sql`/`.down.sql` pair, top level only; the version is an `i64`
//! and migrations run in ascending numeric order. A file starting with
//! `-- no-transaction` runs outside a transaction.

use super::{ImportError, SourceFile, Step, file_name, leading_version, message_from_name};

pub(super) fn read(files: &[SourceFile]) -> Result<Vec<Step>, ImportError> {
    let mut steps: Vec<Step> = Vec::new();
    let mut downs: Vec<(&str, &SourceFile)> = Vec::new();
    for file in files.iter().filter(|f| !f.path.contains('/')) {
        let name = file_name(&file.path);
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let (stem, direction) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
            (Some(up), _) => (up, Direction::Up),
            (_, Some(down)) => (down, Direction::Down),
            _ => (stem, Direction::Simple),
        };
        let Some((version, description)) = leading_version(stem) else {
            return Err(ImportError::new(
                &file.path,
                None,
                "not a sqlx migration name (<version>_<description>.sql)",
            ));
        };
        if version.parse::<i64>().is_err() {
            return Err(ImportError::new(
                &file.path,
                None,
                "version does not fit sqlx's i64",
            ));
        }
        match direction {
            Direction::Down => downs.push((version, file)),
            Direction::Up | Direction::Simple => steps.push(Step {
                version: version.to_string(),
                message: message_from_name(description),
                upgrade: file.contents.clone(),
                downgrade: None,
                transactional: !no_transaction(&file.contents),
                sources: vec![file.path.clone()],
                notes: Vec::new(),
            }),
        }
    }
    for (version, file) in downs {
        let Some(step) = steps.iter_mut().find(|s| s.version == version) else {
            return Err(ImportError::new(
                &file.path,
                None,
                "a down migration without its up migration",
            ));
        };
        if no_transaction(&file.contents) == step.transactional {
            step.notes.push(format!(
                "{}: its `-- no-transaction` differs from the up file's; retort runs both \
                 directions of a revision the same way, as the up file says",
                file.path
            ));
        }
        step.downgrade = Some(file.contents.clone());
        step.sources.push(file.path.clone());
    }
    super::sort_numerically(&mut steps)?;
    Ok(steps)
}

enum Direction {
    Up,
    Down,
    Simple,
}

/// sqlx looks for the marker at the very start of the file.
fn no_transaction(sql: &str) -> bool {
    sql.starts_with("-- no-transaction")
}
