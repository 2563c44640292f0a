//! The differences between two snapshots, object by object.
//!
//! Direction: a diff from `from` to `to` lists what it takes to turn
//! `from` into `to`. An object only in `from` is [`ChangeKind::Missing`]
//! (from `to`), one only in `to` is [`ChangeKind::Extra`]; an object in
//! both gets one [`ChangeKind::Altered`] per facet that differs. A table
//! whose shared columns stand in another order gets a
//! [`ChangeKind::ColumnOrder`], kept apart because no ALTER can fix it.
//! Changes come sorted by object key (kind first, in DDL order), then by
//! facet order, so the output is stable.

use serde::Serialize;

use super::model::{Object, ObjectKey, Snapshot};

/// One difference, as data: which object, and what differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub key: ObjectKey,
    #[serde(flatten)]
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeKind {
    /// In `from`, not in `to`.
    Missing,
    /// In `to`, not in `from`.
    Extra,
    /// In both; one property differs.
    Altered {
        attribute: String,
        before: Option<String>,
        after: Option<String>,
    },
    /// The columns both sides have stand in another order.
    ColumnOrder {
        before: Vec<String>,
        after: Vec<String>,
    },
}

impl Change {
    pub fn is_column_order(&self) -> bool {
        matches!(self.kind, ChangeKind::ColumnOrder { .. })
    }
}

/// What it takes to turn `from` into `to`; empty when they are equal.
pub fn diff(from: &Snapshot, to: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, before) in &from.objects {
        match to.get(key) {
            None => changes.push(change(key, ChangeKind::Missing)),
            Some(after) => altered(key, before, after, &mut changes),
        }
    }
    for key in to.objects.keys().filter(|k| from.get(k).is_none()) {
        changes.push(change(key, ChangeKind::Extra));
    }
    // Keys are unique, so a stable sort on the key keeps each object's
    // facets in their own order.
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    changes
}

fn change(key: &ObjectKey, kind: ChangeKind) -> Change {
    Change {
        key: key.clone(),
        kind,
    }
}

fn altered(key: &ObjectKey, before: &Object, after: &Object, changes: &mut Vec<Change>) {
    let after_facets = after.facets();
    for old in before.facets() {
        let new = after_facets.iter().find(|f| f.name == old.name);
        let new_value = new.and_then(|f| f.value.clone());
        if old.value != new_value {
            changes.push(altered_facet(key, old.name, old.value, new_value));
        }
    }
    // Facets only the newer side has (an owner read on one side only).
    for new in after_facets {
        let known = before.facets().iter().any(|f| f.name == new.name);
        if !known && new.value.is_some() {
            changes.push(altered_facet(key, new.name, None, new.value));
        }
    }
    if let (Object::Table(old), Object::Table(new)) = (before, after) {
        let (kept_before, kept_after) = shared_order(&old.column_order, &new.column_order);
        if kept_before != kept_after {
            changes.push(change(
                key,
                ChangeKind::ColumnOrder {
                    before: kept_before,
                    after: kept_after,
                },
            ));
        }
    }
}

fn altered_facet(
    key: &ObjectKey,
    attribute: &str,
    before: Option<String>,
    after: Option<String>,
) -> Change {
    let attribute = attribute.to_string();
    change(
        key,
        ChangeKind::Altered {
            attribute,
            before,
            after,
        },
    )
}

/// The columns both orders have, each in its own order: an added or
/// dropped column is reported as such, not as a reordering.
fn shared_order(before: &[String], after: &[String]) -> (Vec<String>, Vec<String>) {
    let keep = |from: &[String], other: &[String]| {
        from.iter()
            .filter(|c| other.contains(c))
            .cloned()
            .collect::<Vec<_>>()
    };
    (keep(before, after), keep(after, before))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::model::*;

    fn column(table: &str, name: &str, default: Option<&str>) -> Object {
        Object::Column(Column {
            table: table.into(),
            name: name.into(),
            data_type: "integer".into(),
            not_null: false,
            default: default.map(str::to_string),
            identity: None,
            identity_sequence: None,
            generated: None,
            collation: None,
            meta: Meta::default(),
        })
    }

    fn table(columns: &[&str]) -> Object {
        Object::Table(Table::plain(columns))
    }

    fn index(definition: &str) -> Object {
        Object::Index(Index {
            table: "invoices".into(),
            definition: definition.into(),
            meta: Meta::default(),
        })
    }

    fn key(kind: ObjectKind, name: &str) -> ObjectKey {
        ObjectKey::new(kind, "public", name)
    }

    /// `users.age` with a default, then without.
    fn default_dropped() -> (Snapshot, Snapshot) {
        let mut from = Snapshot::default();
        let mut to = Snapshot::default();
        let age = key(ObjectKind::Column, "users.age");
        from.insert(age.clone(), column("users", "age", Some("now()")));
        to.insert(age, column("users", "age", None));
        (from, to)
    }

    #[test]
    fn equal_snapshots_have_no_changes() {
        let mut a = Snapshot::default();
        a.insert(key(ObjectKind::Table, "users"), table(&["id", "age"]));
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn missing_extra_and_altered_are_sorted_by_kind_then_name() {
        let (mut from, mut to) = default_dropped();
        from.insert(
            key(ObjectKind::Index, "invoices_account_idx"),
            index("CREATE INDEX ..."),
        );
        to.insert(key(ObjectKind::Table, "zebras"), table(&["id"]));
        to.insert(key(ObjectKind::Table, "apes"), table(&["id"]));
        let lines = crate::core::schema::change_lines(&diff(&from, &to));
        assert_eq!(
            lines,
            vec![
                "table apes: extra",
                "table zebras: extra",
                "column users.age: default now() → none",
                "index invoices_account_idx: missing",
            ]
        );
    }

    #[test]
    fn added_column_is_no_reordering_but_a_swap_is() {
        let mut from = Snapshot::default();
        let mut to = Snapshot::default();
        from.insert(key(ObjectKind::Table, "t"), table(&["a", "b"]));
        to.insert(key(ObjectKind::Table, "t"), table(&["a", "c", "b"]));
        assert!(diff(&from, &to).is_empty());
        to.insert(key(ObjectKind::Table, "t"), table(&["b", "a"]));
        let changes = diff(&from, &to);
        assert_eq!(
            changes,
            vec![Change {
                key: key(ObjectKind::Table, "t"),
                kind: ChangeKind::ColumnOrder {
                    before: vec!["a".into(), "b".into()],
                    after: vec!["b".into(), "a".into()],
                },
            }]
        );
    }

    #[test]
    fn a_facet_only_one_side_has_is_a_change_from_none() {
        let (from, mut to) = default_dropped();
        let age = key(ObjectKind::Column, "users.age");
        let Some(Object::Column(column)) = to.objects.get_mut(&age) else {
            panic!("no column")
        };
        column.default = Some("now()".into());
        column.meta.owner = Some("app".into());
        let lines = crate::core::schema::change_lines(&diff(&from, &to));
        assert_eq!(lines, vec!["column users.age: owner none → app"]);
    }

    #[test]
    fn diff_in_reverse_swaps_missing_and_extra() {
        let mut a = Snapshot::default();
        a.insert(key(ObjectKind::Index, "i"), index("CREATE INDEX i"));
        let b = Snapshot::default();
        assert_eq!(diff(&a, &b)[0].kind, ChangeKind::Missing);
        assert_eq!(diff(&b, &a)[0].kind, ChangeKind::Extra);
    }

    #[test]
    fn objects_outside_public_show_their_schema() {
        let mut to = Snapshot::default();
        to.insert(
            ObjectKey::new(ObjectKind::Table, "billing", "plans"),
            table(&["id"]),
        );
        let lines = crate::core::schema::change_lines(&diff(&Snapshot::default(), &to));
        assert_eq!(lines, vec!["table billing.plans: extra"]);
    }

    #[test]
    fn json_names_kind_change_and_values() {
        let (from, to) = default_dropped();
        let json = serde_json::to_value(diff(&from, &to)).expect("json");
        assert_eq!(
            json,
            serde_json::json!([{
                "kind": "column", "schema": "public", "name": "users.age",
                "change": "altered", "attribute": "default", "before": "now()", "after": null
            }])
        );
    }
}
