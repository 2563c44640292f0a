//! Whether the sample rows survive the upgrade. A rename written as a drop
//! plus an add, or a column dropped and added again, leaves the schema
//! exactly as desired and the values gone: only the rows tell. For every
//! table on both sides (followed through the renames) a probe counts the
//! rows and, for every column on both sides, the values that are not null
//! and a digest of them. The digest is compared only where the column
//! keeps its type (a retyped value may print differently and be the same
//! value); generated columns are left out (their values follow their
//! expression, which may be what changed).

use crate::core::offline::{quote_ident as ident, quote_literal as literal};
use crate::core::schema::rename::{renamed_column, renamed_table};
use crate::core::schema::{Column, Object, ObjectKey, ObjectKind, Rename, Snapshot};

/// One table's probe: the same measures read before the upgrade (under
/// the table's old names) and after it (under its new ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The table as shown after the upgrade.
    pub table: String,
    pub before_sql: String,
    pub after_sql: String,
    /// What each value of the probe's row measures.
    measures: Vec<Measure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Measure {
    Rows,
    Values(String),
    Digest(String),
}

/// A probe's answer: one text per measure (`None` for the digest of no
/// values).
pub type Reading = Vec<Option<String>>;

/// The probes for the tables of `from` that are still there in `to`.
pub fn probes(from: &Snapshot, to: &Snapshot, renames: &[Rename]) -> Vec<Probe> {
    from.of_kind(ObjectKind::Table)
        .filter_map(|(key, _)| {
            let new_name = renamed_table(renames, &key.schema, &key.name);
            let new_key = ObjectKey::new(ObjectKind::Table, &key.schema, new_name);
            to.get(&new_key)?;
            Some(probe(from, to, renames, key, &new_key))
        })
        .collect()
}

fn probe(
    from: &Snapshot,
    to: &Snapshot,
    renames: &[Rename],
    old: &ObjectKey,
    new: &ObjectKey,
) -> Probe {
    let mut measures = vec![Measure::Rows];
    let (mut before, mut after) = (
        vec!["count(*)::text".to_string()],
        vec!["count(*)::text".to_string()],
    );
    for old_column in columns(from, old) {
        let name = renamed_column(renames, &old.schema, &old.name, &old_column.name).to_string();
        let key = ObjectKey::new(
            ObjectKind::Column,
            &new.schema,
            &format!("{}.{name}", new.name),
        );
        let Some(Object::Column(new_column)) = to.get(&key) else {
            continue;
        };
        if old_column.generated.is_some() || new_column.generated.is_some() {
            continue;
        }
        let (was, is) = (ident(&old_column.name), ident(&new_column.name));
        measures.push(Measure::Values(name.clone()));
        before.push(format!("count({was})::text"));
        after.push(format!("count({is})::text"));
        if old_column.data_type == new_column.data_type {
            measures.push(Measure::Digest(name));
            before.push(digest(&was));
            after.push(digest(&is));
        }
    }
    let select = |list: Vec<String>, key: &ObjectKey| {
        format!(
            "SELECT {} FROM {}",
            list.join(", "),
            qualified(&key.schema, &key.name)
        )
    };
    Probe {
        table: shown(new),
        before_sql: select(before, old),
        after_sql: select(after, new),
        measures,
    }
}

/// The values of a column, sorted as text, hashed: equal for the same
/// values in any row order.
fn digest(column: &str) -> String {
    format!(
        "md5(string_agg({column}::text, {} ORDER BY {column}::text))",
        literal("\u{1f}")
    )
}

fn columns<'s>(snapshot: &'s Snapshot, table: &ObjectKey) -> Vec<&'s Column> {
    match snapshot.get(table) {
        Some(Object::Table(t)) => snapshot.columns_of(table, t),
        _ => Vec::new(),
    }
}

/// What the readings before and after say was lost, one line each.
pub fn losses(probe: &Probe, before: &Reading, after: &Reading) -> Vec<String> {
    let mut lost = Vec::new();
    for ((measure, was), is) in probe.measures.iter().zip(before).zip(after) {
        if was == is {
            continue;
        }
        let (was, is) = (
            was.as_deref().unwrap_or("none"),
            is.as_deref().unwrap_or("none"),
        );
        lost.push(match measure {
            Measure::Rows => format!("table {}: {was} rows before, {is} after", probe.table),
            Measure::Values(column) => format!(
                "column {}.{column}: {was} values before, {is} after",
                probe.table
            ),
            Measure::Digest(column) => {
                format!("column {}.{column}: its values changed", probe.table)
            }
        });
    }
    lost
}

fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

fn shown(key: &ObjectKey) -> String {
    key.display_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(table: &str, columns: &[(&str, &str)]) -> Snapshot {
        let mut s = Snapshot::default();
        s.add_table(table, columns);
        s
    }

    #[test]
    fn probes_follow_renames_and_leave_out_what_goes() {
        let from = snapshot(
            "users",
            &[("id", "integer"), ("name", "text"), ("age", "integer")],
        );
        let to = snapshot("people", &[("id", "bigint"), ("full_name", "text")]);
        let renames = vec![
            Rename::Table {
                schema: "public".into(),
                from: "users".into(),
                to: "people".into(),
            },
            Rename::Column {
                schema: "public".into(),
                table: "users".into(),
                from: "name".into(),
                to: "full_name".into(),
            },
        ];
        let found = probes(&from, &to, &renames);
        assert_eq!(found.len(), 1);
        let probe = &found[0];
        assert_eq!(probe.table, "people");
        // id is retyped: counted, not digested; age goes: not read.
        assert_eq!(
            probe.before_sql,
            "SELECT count(*)::text, count(id)::text, count(name)::text, \
             md5(string_agg(name::text, E'\\x1f' ORDER BY name::text)) FROM public.users"
                .replace("E'\\x1f'", &literal("\u{1f}"))
        );
        assert!(
            probe.after_sql.ends_with("FROM public.people"),
            "{}",
            probe.after_sql
        );
        assert!(
            probe.after_sql.contains("count(full_name)"),
            "{}",
            probe.after_sql
        );
        // Without the renames the table is gone: nothing to compare.
        assert!(probes(&from, &to, &[]).is_empty());
    }

    #[test]
    fn losses_name_the_table_and_column() {
        let from = snapshot("users", &[("name", "text")]);
        let probe = probes(&from, &from, &[]).remove(0);
        let before = vec![Some("2".into()), Some("2".into()), Some("abc".into())];
        assert!(losses(&probe, &before, &before).is_empty());
        let after = vec![Some("2".into()), Some("0".into()), None];
        assert_eq!(
            losses(&probe, &before, &after),
            vec![
                "column users.name: 2 values before, 0 after",
                "column users.name: its values changed",
            ]
        );
    }
}
