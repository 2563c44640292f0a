//! Autogenerate's pure parts: the lines that say what was detected (in
//! Alembic's wording), the sample rows a proof fills tables with, and
//! the probes that tell whether those rows survive the upgrade.

pub mod rows;
pub mod survival;

use crate::core::schema::{Change, ChangeKind, Object, ObjectKind, Snapshot};

/// One line per detected change, as `alembic revision --autogenerate`
/// prints them (`Detected added column 'users.age'`); facets Alembic has
/// no words for say which property changed.
pub fn detected(changes: &[Change], to: &Snapshot, from: &Snapshot) -> Vec<String> {
    changes
        .iter()
        .map(|change| {
            let name = change.key.display_name();
            let what = noun(change, from, to);
            match &change.kind {
                ChangeKind::Extra => format!("Detected added {what} '{name}'"),
                ChangeKind::Missing => format!("Detected removed {what} '{name}'"),
                ChangeKind::ColumnOrder { .. } => {
                    format!("Detected changed column order of table '{name}'")
                }
                ChangeKind::Altered {
                    attribute,
                    before,
                    after,
                } => altered(&what, &name, attribute, before.as_deref(), after.as_deref()),
            }
        })
        .collect()
}

fn altered(
    what: &str,
    name: &str,
    attribute: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    match (what, attribute) {
        ("column", "type") => format!(
            "Detected type change from {} to {} on '{name}'",
            before.unwrap_or("none"),
            after.unwrap_or("none")
        ),
        ("column", "not null") if after == Some("yes") => {
            format!("Detected NOT NULL on column '{name}'")
        }
        ("column", "not null") => format!("Detected NULL on column '{name}'"),
        ("column", "default") => format!(
            "Detected server default change from {} to {} on '{name}'",
            before.unwrap_or("none"),
            after.unwrap_or("none")
        ),
        _ => format!("Detected changed {attribute} of {what} '{name}'"),
    }
}

/// What Alembic calls the object: a constraint by its kind.
fn noun(change: &Change, from: &Snapshot, to: &Snapshot) -> String {
    if change.key.kind == ObjectKind::Constraint {
        let object = to.get(&change.key).or_else(|| from.get(&change.key));
        if let Some(Object::Constraint(c)) = object {
            return match c.kind.as_str() {
                "unique" => "unique constraint".to_string(),
                other => other.to_string(),
            };
        }
    }
    change.key.kind.word().to_string()
}
