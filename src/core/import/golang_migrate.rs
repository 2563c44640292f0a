//! golang-migrate and gobuffalo/pop: `<version>_<name>.up.sql` and
//! `.down.sql`, optionally with a dialect before the direction
//! (`.postgres.up.sql`), which wins over the generic file of the same
//! version. Versions are numbers, applied in numeric order.
//!
//! golang-migrate wraps nothing in a transaction: a file runs as written,
//! its own `BEGIN ... COMMIT` included, so its revision is
//! `transactional: false`. pop runs each file in a transaction except
//! `.autocommit` ones.

use super::{ImportError, SourceFile, Step, file_name, leading_version, message_from_name};

/// Dialect names that mean PostgreSQL.
const POSTGRES: [&str; 3] = ["postgres", "postgresql", "pg"];

struct Parsed<'a> {
    version: &'a str,
    name: &'a str,
    up: bool,
    /// `None`: generic; `Some(true)`: PostgreSQL's; `Some(false)`: another database's.
    postgres: Option<bool>,
    autocommit: bool,
    file: &'a SourceFile,
}

pub(super) fn read(files: &[SourceFile], pop: bool) -> Result<Vec<Step>, ImportError> {
    let mut parsed: Vec<Parsed> = Vec::new();
    let mut notes = Vec::new();
    for file in files.iter().filter(|f| !f.path.contains('/')) {
        let name = file_name(&file.path);
        if name.ends_with(".fizz") {
            return Err(ImportError::new(
                &file.path,
                None,
                "fizz migrations are pop's own DSL, not SQL: convert them to SQL first (`soda generate sql`)",
            ));
        }
        if let Some(p) = parse_name(file) {
            if p.postgres == Some(false) {
                notes.push(format!("{}: for another database, left out", file.path));
                continue;
            }
            parsed.push(p);
        }
    }
    // The PostgreSQL variant of a version and direction hides the generic one.
    let chosen: Vec<&Parsed> = parsed
        .iter()
        .filter(|p| {
            p.postgres == Some(true)
                || !parsed
                    .iter()
                    .any(|q| q.postgres == Some(true) && q.version == p.version && q.up == p.up)
        })
        .collect();
    let mut steps: Vec<Step> = Vec::new();
    for up in chosen.iter().filter(|p| p.up) {
        if let Some(same) = steps
            .iter()
            .find(|s| super::numeric_key(&s.version) == super::numeric_key(up.version))
        {
            return Err(ImportError::new(
                &up.file.path,
                None,
                format!("version {} is also used by {}", up.version, same.sources[0]),
            ));
        }
        let down = chosen.iter().find(|d| !d.up && d.version == up.version);
        let mut step_notes = Vec::new();
        if let Some(down) = down
            && pop
            && down.autocommit != up.autocommit
        {
            step_notes.push(format!(
                "{}: `.autocommit` differs from the up file; retort runs both directions of a \
                 revision the same way, as the up file says",
                down.file.path
            ));
        }
        if !pop && up.autocommit {
            step_notes.push(format!("{}: `.autocommit` means nothing to golang-migrate; it runs every file without a transaction", up.file.path));
        }
        let mut sources = vec![up.file.path.clone()];
        sources.extend(down.map(|d| d.file.path.clone()));
        steps.push(Step {
            version: up.version.to_string(),
            message: message_from_name(up.name),
            upgrade: up.file.contents.clone(),
            downgrade: down.map(|d| d.file.contents.clone()),
            transactional: pop && !up.autocommit,
            sources,
            notes: step_notes,
        });
    }
    for down in chosen.iter().filter(|p| !p.up) {
        if !steps.iter().any(|s| s.version == down.version) {
            return Err(ImportError::new(
                &down.file.path,
                None,
                "a down migration without its up migration",
            ));
        }
    }
    super::sort_numerically(&mut steps)?;
    if let Some(first) = steps.first_mut() {
        first.notes.extend(notes);
    }
    Ok(steps)
}

/// `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`.
fn parse_name(file: &SourceFile) -> Option<Parsed<'_>> {
    let stem = file_name(&file.path).strip_suffix(".sql")?;
    let (stem, up) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
        (Some(s), _) => (s, true),
        (_, Some(s)) => (s, false),
        _ => return None,
    };
    let (stem, autocommit) = match stem.strip_suffix(".autocommit") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let (version, rest) = leading_version(stem)?;
    let (name, postgres) = match rest.rsplit_once('.') {
        Some((name, dialect)) => (
            name,
            Some(POSTGRES.contains(&dialect.to_ascii_lowercase().as_str())),
        ),
        None => (rest, None),
    };
    Some(Parsed {
        version,
        name,
        up,
        postgres,
        autocommit,
        file,
    })
}
