//! diesel: one directory per migration, `<version>_<name>/up.sql` and
//! `down.sql`, with an optional `metadata.toml` (`run_in_transaction =
//! false`). The version is the directory name before the first `_` with
//! its dashes removed (what `__diesel_schema_migrations` records), and
//! migrations run in the order of that text.

use std::collections::BTreeMap;

use super::{ImportError, SourceFile, Step, message_from_name};

#[derive(Default)]
struct Dir<'a> {
    up: Option<&'a SourceFile>,
    down: Option<&'a SourceFile>,
    metadata: Option<&'a SourceFile>,
}

pub(super) fn read(files: &[SourceFile]) -> Result<Vec<Step>, ImportError> {
    let mut dirs: BTreeMap<&str, Dir> = BTreeMap::new();
    for file in files {
        let Some((dir, name)) = file.path.split_once('/') else {
            continue;
        };
        let entry = dirs.entry(dir).or_default();
        match name {
            "up.sql" => entry.up = Some(file),
            "down.sql" => entry.down = Some(file),
            "metadata.toml" => entry.metadata = Some(file),
            _ => {}
        }
    }
    let mut steps = Vec::new();
    for (dir, found) in dirs {
        let Some(up) = found.up else {
            continue;
        };
        let (version, name) = dir.split_once('_').unwrap_or((dir, ""));
        let version: String = version.chars().filter(|&c| c != '-').collect();
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ImportError::new(
                &up.path,
                None,
                "not a diesel migration directory name (<version>_<name>)",
            ));
        }
        let mut sources = vec![up.path.clone()];
        sources.extend(found.down.map(|f| f.path.clone()));
        steps.push(Step {
            version,
            message: message_from_name(name),
            upgrade: up.contents.clone(),
            downgrade: found.down.map(|f| f.contents.clone()),
            transactional: found.metadata.map_or(Ok(true), run_in_transaction)?,
            sources,
            notes: Vec::new(),
        });
    }
    steps.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in steps.windows(2) {
        if pair[0].version == pair[1].version {
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

fn run_in_transaction(metadata: &SourceFile) -> Result<bool, ImportError> {
    let table: toml::Table = metadata.contents.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| metadata.contents[..span.start].matches('\n').count() + 1);
        ImportError::new(&metadata.path, line, e.message().to_string())
    })?;
    match table.get("run_in_transaction") {
        None => Ok(true),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(_) => Err(ImportError::new(
            &metadata.path,
            None,
            "run_in_transaction must be true or false",
        )),
    }
}
