//! dbmate: `<version>_<name>.sql` files holding a `-- migrate:up` and a
//! `-- migrate:down` section, each marker line optionally followed by
//! `transaction:false`. dbmate applies them in file-name order and records
//! the version digits.

use super::{ImportError, SourceFile, Step, file_name, leading_version, message_from_name};

pub(super) fn read(files: &[SourceFile]) -> Result<Vec<Step>, ImportError> {
    let mut sorted: Vec<&SourceFile> = files
        .iter()
        .filter(|f| !f.path.contains('/') && f.path.ends_with(".sql"))
        .collect();
    sorted.sort_by(|a, b| file_name(&a.path).cmp(file_name(&b.path)));
    let mut steps: Vec<Step> = Vec::new();
    for file in sorted {
        let stem = file_name(&file.path).trim_end_matches(".sql");
        let Some((version, name)) = leading_version(stem) else {
            continue;
        };
        if let Some(same) = steps.iter().find(|s| s.version == version) {
            return Err(ImportError::new(
                &file.path,
                None,
                format!("version {version} is also used by {}", same.sources[0]),
            ));
        }
        steps.push(read_file(file, version, name)?);
    }
    Ok(steps)
}

struct Section {
    transactional: bool,
    sql: String,
}

fn read_file(file: &SourceFile, version: &str, name: &str) -> Result<Step, ImportError> {
    let mut up: Option<Section> = None;
    let mut down: Option<Section> = None;
    let mut current: Option<&mut Option<Section>> = None;
    for (n, line) in file.contents.lines().enumerate() {
        if let Some((direction, options)) = marker(line) {
            let transactional =
                parse_options(options).map_err(|e| ImportError::new(&file.path, Some(n + 1), e))?;
            let slot = if direction == "up" {
                &mut up
            } else {
                &mut down
            };
            if slot.is_some() {
                return Err(ImportError::new(
                    &file.path,
                    Some(n + 1),
                    format!("a second `-- migrate:{direction}` section"),
                ));
            }
            *slot = Some(Section {
                transactional,
                sql: String::new(),
            });
            current = Some(slot);
            continue;
        }
        if let Some(Some(section)) = current.as_deref_mut() {
            section.sql.push_str(line);
            section.sql.push('\n');
        }
    }
    let Some(up) = up else {
        return Err(ImportError::new(
            &file.path,
            None,
            "no `-- migrate:up` section (dbmate requires one)",
        ));
    };
    let mut notes = Vec::new();
    if down
        .as_ref()
        .is_some_and(|d| d.transactional != up.transactional)
    {
        notes.push(format!(
            "{}: the down section's `transaction:` differs from the up section's; retort runs \
             both directions of a revision the same way, as the up section says",
            file.path
        ));
    }
    Ok(Step {
        version: version.to_string(),
        message: message_from_name(name),
        upgrade: up.sql,
        downgrade: down.map(|d| d.sql),
        transactional: up.transactional,
        sources: vec![file.path.clone()],
        notes,
    })
}

/// `-- migrate:up transaction:false` as ("up", "transaction:false").
fn marker(line: &str) -> Option<(&'static str, &str)> {
    let rest = line
        .trim_start()
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("migrate:")?;
    for direction in ["up", "down"] {
        if let Some(options) = rest.strip_prefix(direction)
            && (options.is_empty() || options.starts_with(char::is_whitespace))
        {
            return Some((direction, options));
        }
    }
    None
}

/// Whether the section runs in a transaction (`transaction:false` says not).
fn parse_options(options: &str) -> Result<bool, String> {
    let mut transactional = true;
    for option in options.split_whitespace() {
        match option.split_once(':') {
            Some(("transaction", "false")) => transactional = false,
            Some(("transaction", "true")) => transactional = true,
            _ => return Err(format!("unknown dbmate option '{option}'")),
        }
    }
    Ok(transactional)
}
