//! Autogenerate's pure parts: the lines that say what was detected (in
//! Alembic's wording) and the sample rows a proof fills tables with.

pub mod rows;

use crate::core::schema::{
    Change, ChangeKind, Column, Object, ObjectKey, ObjectKind, Snapshot, Table,
};

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

/// Drops that look like renames: a table dropped and another added with
/// the same column types in the same order, or in a table on both sides a
/// column dropped and another added with the same type. Written as drop
/// plus add, a rename loses the data, so these need the user's say.
pub fn plausible_renames(from: &Snapshot, to: &Snapshot) -> Vec<String> {
    let mut found = Vec::new();
    let shape = |snapshot: &Snapshot, key: &ObjectKey, table: &Table| -> Vec<String> {
        snapshot
            .columns_of(key, table)
            .iter()
            .map(|c| c.data_type.clone())
            .collect()
    };
    let tables = |a: &Snapshot, b: &Snapshot| -> Vec<(ObjectKey, Table)> {
        a.of_kind(ObjectKind::Table)
            .filter(|(k, _)| b.get(k).is_none())
            .filter_map(|(k, o)| match o {
                Object::Table(t) => Some((k.clone(), t.clone())),
                _ => None,
            })
            .collect()
    };
    let added_tables = tables(to, from);
    for (old_key, old) in tables(from, to) {
        let old_shape = shape(from, &old_key, &old);
        for (new_key, new) in &added_tables {
            if shape(to, new_key, new) == old_shape {
                found.push(format!(
                    "table {} dropped and table {} added with the same columns",
                    old_key.display_name(),
                    new_key.display_name()
                ));
            }
        }
    }
    let columns = |a: &Snapshot, b: &Snapshot| -> Vec<(ObjectKey, Column)> {
        a.of_kind(ObjectKind::Column)
            .filter(|(k, _)| b.get(k).is_none())
            .filter_map(|(k, o)| match o {
                Object::Column(c) => Some((k.clone(), c.clone())),
                _ => None,
            })
            .collect()
    };
    let added_columns = columns(to, from);
    for (old_key, old) in columns(from, to) {
        let table = ObjectKey::new(ObjectKind::Table, &old_key.schema, &old.table);
        if to.get(&table).is_none() {
            continue;
        }
        for (new_key, new) in &added_columns {
            if new.table == old.table
                && new_key.schema == old_key.schema
                && new.data_type == old.data_type
            {
                found.push(format!(
                    "column {} dropped and column {} added with the same type ({})",
                    old_key.display_name(),
                    new_key.display_name(),
                    old.data_type
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::Meta;

    fn with_columns(table: &str, columns: &[(&str, &str)]) -> Snapshot {
        let mut s = Snapshot::default();
        s.insert(
            ObjectKey::new(ObjectKind::Table, "public", table),
            Object::Table(Table::plain(
                &columns.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )),
        );
        for (name, data_type) in columns {
            s.insert(
                ObjectKey::new(ObjectKind::Column, "public", &format!("{table}.{name}")),
                Object::Column(Column {
                    table: table.into(),
                    name: name.to_string(),
                    data_type: data_type.to_string(),
                    not_null: false,
                    default: None,
                    identity: None,
                    identity_sequence: None,
                    generated: None,
                    collation: None,
                    meta: Meta::default(),
                }),
            );
        }
        s
    }

    #[test]
    fn renamed_tables_and_columns_are_told_from_other_changes() {
        let from = with_columns("users", &[("id", "integer"), ("name", "text")]);
        let column = with_columns("users", &[("id", "integer"), ("full_name", "text")]);
        assert_eq!(
            plausible_renames(&from, &column),
            vec![
                "column users.name dropped and column users.full_name added with the same type (text)"
            ]
        );
        let retyped = with_columns(
            "users",
            &[("id", "integer"), ("age", "integer"), ("x", "date")],
        );
        let fewer = with_columns("users", &[("id", "integer")]);
        assert!(plausible_renames(&retyped, &fewer).is_empty());
        let table = with_columns("people", &[("id", "integer"), ("name", "text")]);
        assert_eq!(
            plausible_renames(&from, &table),
            vec!["table users dropped and table people added with the same columns"]
        );
    }
}
