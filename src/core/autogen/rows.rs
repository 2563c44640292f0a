//! Sample rows for a proof: an empty database hides the failures that
//! matter (a column added NOT NULL without a default, a narrowing type),
//! so every table gets a few rows before the generated upgrade runs.
//!
//! Values come from the column's type (a number, text, a date, the first
//! value of an enum, the base type of a domain), foreign keys take a row
//! of the table they reference (tables are filled after those they
//! reference), defaults and identities fill themselves, generated columns
//! are left to the server. A table whose constraints refuse the first try
//! gets a second with only the NOT NULL columns given; what still fails is
//! said, never hidden.

use std::collections::BTreeMap;

use crate::core::offline::quote_ident as ident;
use crate::core::schema::{Column, Object, ObjectKey, ObjectKind, Snapshot, Table};

/// How many rows each table gets.
pub const ROWS_PER_TABLE: usize = 2;

/// The statements that fill one table, in the order to try them: each
/// inserts one row; the first that works for a row is enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    /// The table as shown (`billing.plans`, `users`).
    pub table: String,
    /// For each row, the statements to try in order.
    pub rows: Vec<Vec<String>>,
}

/// The inserts for every table of `snapshot` (partitions are filled
/// through their parent), referenced tables first.
pub fn sample_rows(snapshot: &Snapshot) -> Vec<TableRows> {
    fill_order(snapshot)
        .into_iter()
        .filter_map(|key| {
            let Some(Object::Table(table)) = snapshot.get(&key) else {
                return None;
            };
            if table.partition_of.is_some() {
                return None;
            }
            Some(table_rows(snapshot, &key, table))
        })
        .collect()
}

fn table_rows(snapshot: &Snapshot, key: &ObjectKey, table: &Table) -> TableRows {
    let name = qualified(key);
    let columns = snapshot.columns_of(key, table);
    let references = references(snapshot, key);
    let rows = (1..=ROWS_PER_TABLE)
        .map(|n| {
            [false, true]
                .into_iter()
                .map(|only_required| {
                    insert(snapshot, &name, &columns, &references, n, only_required)
                })
                .collect()
        })
        .collect();
    TableRows {
        table: key.display_name(),
        rows,
    }
}

fn insert(
    snapshot: &Snapshot,
    table: &str,
    columns: &[&Column],
    references: &BTreeMap<String, String>,
    n: usize,
    only_required: bool,
) -> String {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for column in columns {
        let fills_itself =
            column.default.is_some() || column.identity.is_some() || column.generated.is_some();
        if fills_itself || (only_required && !column.not_null) {
            continue;
        }
        let value = match references.get(&column.name) {
            Some(lookup) => lookup.clone(),
            None => value_of(snapshot, &column.data_type, n),
        };
        names.push(ident(&column.name));
        values.push(value);
    }
    match names.is_empty() {
        true => format!("INSERT INTO {table} DEFAULT VALUES"),
        false => format!(
            "INSERT INTO {table} ({}) SELECT {}",
            names.join(", "),
            values.join(", ")
        ),
    }
}

/// A value of `data_type` (as `format_type` spells it), distinct per `n`.
fn value_of(snapshot: &Snapshot, data_type: &str, n: usize) -> String {
    if data_type.ends_with("[]") {
        return format!("'{{}}'::{data_type}");
    }
    let base = data_type.split('(').next().unwrap_or(data_type).trim();
    let literal = match base {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => {
            n.to_string()
        }
        "text" | "character varying" | "character" | "citext" | "name" => format!("'r{n}'"),
        "boolean" => "true".to_string(),
        "uuid" => format!("md5('{n}')"),
        "json" | "jsonb" => format!("'{{\"n\": {n}}}'"),
        "bytea" => "'\\x00'".to_string(),
        "interval" => format!("'{n} days'"),
        "inet" | "cidr" => format!("'10.0.0.{n}'"),
        "money" => n.to_string(),
        b if b.starts_with("timestamp") || b.starts_with("time") || b == "date" => {
            format!("now() + interval '{n} days'")
        }
        _ => return user_type_value(snapshot, data_type, n),
    };
    format!("({literal})::{data_type}")
}

/// An enum's first value, or a value of a domain's base type.
fn user_type_value(snapshot: &Snapshot, data_type: &str, n: usize) -> String {
    let (schema, name) = match data_type.split_once('.') {
        Some((schema, name)) => (schema.to_string(), name.to_string()),
        None => ("public".to_string(), data_type.to_string()),
    };
    let unquote = |s: &str| s.trim_matches('"').to_string();
    let (schema, name) = (unquote(&schema), unquote(&name));
    let find = |kind| snapshot.get(&ObjectKey::new(kind, &schema, &name));
    if let Some(Object::Enum(e)) = find(ObjectKind::Enum)
        && let Some(first) = e.values.first()
    {
        return format!("'{}'::{data_type}", first.replace('\'', "''"));
    }
    if let Some(Object::Domain(d)) = find(ObjectKind::Domain) {
        return format!("({})::{data_type}", value_of(snapshot, &d.base_type, n));
    }
    format!("NULL::{data_type}")
}

/// Column name → a lookup of the referenced column, for the table's
/// single-column foreign keys.
fn references(snapshot: &Snapshot, table: &ObjectKey) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, object) in snapshot.of_kind(ObjectKind::Constraint) {
        let Object::Constraint(c) = object else {
            continue;
        };
        if c.kind != "foreign key" || c.table != table.name {
            continue;
        }
        if let Some((column, target, target_column)) = parse_foreign_key(&c.definition) {
            out.insert(
                column.trim_matches('"').to_string(),
                format!("(SELECT {target_column} FROM {target} LIMIT 1)"),
            );
        }
    }
    out
}

/// `FOREIGN KEY (a) REFERENCES t(b) ...` into `a`, `t`, `b`; none for a
/// key of several columns.
fn parse_foreign_key(definition: &str) -> Option<(String, String, String)> {
    let rest = definition.strip_prefix("FOREIGN KEY (")?;
    let (column, rest) = rest.split_once(") REFERENCES ")?;
    let (target, rest) = rest.split_once('(')?;
    let (target_column, _) = rest.split_once(')')?;
    if column.contains(',') || target_column.contains(',') {
        return None;
    }
    Some((
        column.to_string(),
        target.to_string(),
        target_column.to_string(),
    ))
}

/// Referenced tables before those referencing them (cycles broken in
/// key order).
fn fill_order(snapshot: &Snapshot) -> Vec<ObjectKey> {
    let tables: Vec<ObjectKey> = snapshot
        .of_kind(ObjectKind::Table)
        .map(|(k, _)| k.clone())
        .collect();
    let needs = |key: &ObjectKey| -> Vec<String> {
        snapshot
            .of_kind(ObjectKind::Constraint)
            .filter_map(|(_, o)| match o {
                Object::Constraint(c) if c.kind == "foreign key" && c.table == key.name => {
                    parse_foreign_key(&c.definition).map(|(_, target, _)| target)
                }
                _ => None,
            })
            .filter(|target| *target != qualified(key))
            .collect()
    };
    let mut pending = tables;
    let mut done: Vec<ObjectKey> = Vec::new();
    while !pending.is_empty() {
        let waiting: Vec<String> = pending.iter().map(qualified).collect();
        let before = pending.len();
        let (ready, wait): (Vec<ObjectKey>, Vec<ObjectKey>) = pending
            .into_iter()
            .partition(|k| needs(k).iter().all(|t| !waiting.contains(t)));
        done.extend(ready);
        pending = wait;
        if pending.len() == before {
            done.append(&mut pending);
        }
    }
    done
}

fn qualified(key: &ObjectKey) -> String {
    match key.schema.as_str() {
        "" | "public" => ident(&key.name),
        schema => format!("{}.{}", ident(schema), ident(&key.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_keys_parse_single_columns_only() {
        assert_eq!(
            parse_foreign_key("FOREIGN KEY (a_id) REFERENCES a(id) ON DELETE CASCADE"),
            Some(("a_id".into(), "a".into(), "id".into()))
        );
        assert_eq!(
            parse_foreign_key("FOREIGN KEY (a, b) REFERENCES t(a, b)"),
            None
        );
    }
}
