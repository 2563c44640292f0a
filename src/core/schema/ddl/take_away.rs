//! The first half of a script: what goes, in reverse dependency order.

use super::Generator;
use super::functions::names_in_signature;
use super::sql::{
    definition_differs, function_name, function_word, is_subsequence, is_view_kind, key_name,
    mentions, only_comment_differs, parent_of, part_name, part_table, split_check, table_of,
    table_order, view_order, view_word,
};
use crate::core::offline::quote_ident as ident;
use crate::core::schema::model::*;
use std::collections::BTreeSet;

impl<'a> Generator<'a> {
    // ---- the first half: taking away ----

    pub(super) fn take_away(&mut self) {
        self.plan_rebuilds();
        self.drop_parts(ObjectKind::Policy);
        self.drop_parts(ObjectKind::Trigger);
        self.drop_views();
        self.drop_constraints(true);
        self.drop_constraints(false);
        self.drop_indexes();
        self.drop_statistics();
        self.loosen_columns();
        self.disown_sequences();
        self.drop_columns();
        self.loosen_domains();
        // After the checks, defaults and columns that may call them, before
        // the tables whose row types they may name; those a dropped table
        // still calls go after it.
        self.drop_functions(false);
        self.detach_partitions();
        self.drop_tables();
        self.drop_functions(true);
        self.drop_simple(ObjectKind::Sequence, "SEQUENCE IF EXISTS");
    }

    /// After the script has built everything: the types, extensions and
    /// schemas that go. A column retyped off a dropped enum, domain or an
    /// extension's type (citext) is retyped in the second half, and until
    /// then the type cannot be dropped.
    pub(super) fn drop_what_nothing_uses(&mut self) {
        self.drop_simple(ObjectKind::Domain, "DOMAIN");
        self.drop_simple(ObjectKind::CompositeType, "TYPE");
        self.drop_simple(ObjectKind::Enum, "TYPE");
        self.drop_extensions_and_schemas();
    }

    /// Decides what is rebuilt rather than altered: enums that lose or
    /// move a value, columns whose generated expression changes, views
    /// over a changed column or type or view, foreign keys onto a changed
    /// key.
    pub(super) fn plan_rebuilds(&mut self) {
        for (key, before, after) in self.sides.changed(ObjectKind::Enum) {
            if let (Object::Enum(b), Object::Enum(a)) = (before, after)
                && !is_subsequence(&b.values, &a.values)
            {
                self.rebuilt_enums.insert(key.clone());
            }
        }
        let mut touched_tables: BTreeSet<String> = BTreeSet::new();
        for (key, before, after) in self.sides.changed(ObjectKind::Column) {
            if let (Object::Column(b), Object::Column(a)) = (before, after) {
                if b.generated != a.generated && a.generated.is_some() {
                    self.readded_columns.insert(key.clone());
                }
                if b.data_type != a.data_type
                    || b.collation != a.collation
                    || b.generated != a.generated
                {
                    touched_tables.insert(b.table.clone());
                }
            }
        }
        for (_, before) in self.sides.removed(ObjectKind::Column) {
            if let Object::Column(c) = before {
                touched_tables.insert(c.table.clone());
            }
        }
        let enum_names: Vec<String> = self.rebuilt_enums.iter().map(key_name).collect();
        let mut enum_columns: Vec<(&ObjectKey, &Column)> = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Column) {
            if let Object::Column(c) = object
                && enum_names.contains(&c.data_type.trim_end_matches("[]").to_string())
            {
                touched_tables.insert(c.table.clone());
                enum_columns.push((key, c));
            }
        }
        self.plan_rebuilt_enum_users(&enum_columns);
        touched_tables.extend(self.plan_rebuilt_composites());
        self.plan_rebuilt_parts(&enum_columns);
        for (key, object) in self.sides.from.objects.iter() {
            if !is_view_kind(key.kind) || self.sides.to.get(key).is_none() {
                continue;
            }
            let Object::View(view) = object else { continue };
            let changed = self.sides.to.get(key) != Some(object);
            let reads_touched = touched_tables.iter().any(|t| mentions(&view.definition, t));
            if changed || reads_touched {
                self.rebuilt_views.insert(key.clone());
            }
        }
        // A view reading a rebuilt (or dropped) view goes with it.
        loop {
            let gone: Vec<String> = self
                .sides
                .from
                .objects
                .keys()
                .filter(|k| is_view_kind(k.kind))
                .filter(|k| self.rebuilt_views.contains(k) || self.sides.to.get(k).is_none())
                .map(|k| k.name.clone())
                .collect();
            let more: Vec<ObjectKey> = self
                .sides
                .from
                .objects
                .iter()
                .filter(|(k, _)| is_view_kind(k.kind) && self.sides.to.get(k).is_some())
                .filter(|(k, _)| !self.rebuilt_views.contains(k))
                .filter(|(_, o)| {
                    matches!(o, Object::View(v) if gone.iter().any(|n| mentions(&v.definition, n)))
                })
                .map(|(k, _)| k.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            self.rebuilt_views.extend(more);
        }
        self.plan_replaced_constraints();
    }

    /// Triggers (`UPDATE OF col`, `WHEN`) and policies that name a column
    /// whose type changes (by ALTER, or with its rebuilt enum or composite
    /// type): PostgreSQL will not retype a column a trigger or policy
    /// uses, so they are dropped before and made again after.
    fn plan_rebuilt_parts(&mut self, enum_columns: &[(&ObjectKey, &Column)]) {
        let composites: Vec<String> = self.rebuilt_composites.iter().map(key_name).collect();
        let mut retyped: Vec<(String, String, String)> = Vec::new();
        for (key, before, after) in self.sides.changed(ObjectKind::Column) {
            if let (Object::Column(b), Object::Column(a)) = (before, after)
                && (b.data_type != a.data_type
                    || b.collation != a.collation
                    || composites.contains(&b.data_type))
            {
                retyped.push((key.schema.clone(), b.table.clone(), b.name.clone()));
            }
        }
        for (key, c) in enum_columns {
            retyped.push((key.schema.clone(), c.table.clone(), c.name.clone()));
        }
        for (key, c) in self.sides.from.of_kind(ObjectKind::Column) {
            if let Object::Column(c) = c
                && composites.contains(&c.data_type)
            {
                retyped.push((key.schema.clone(), c.table.clone(), c.name.clone()));
            }
        }
        let names_retyped = |schema: &str, table: &str, texts: &[&str]| {
            retyped.iter().any(|(s, t, column)| {
                s == schema && t == table && texts.iter().any(|text| mentions(text, column))
            })
        };
        for (key, object) in self.sides.from.objects.iter() {
            if self.sides.to.get(key).is_none() {
                continue;
            }
            let uses = match object {
                Object::Trigger(t) => names_retyped(&key.schema, &t.table, &[&t.definition]),
                Object::Policy(p) => {
                    let texts: Vec<&str> = p
                        .using
                        .iter()
                        .chain(&p.with_check)
                        .map(String::as_str)
                        .collect();
                    names_retyped(&key.schema, &p.table, &texts)
                }
                _ => false,
            };
            if uses {
                self.rebuilt_parts.insert(key.clone());
            }
        }
    }

    /// Composite types with an attribute retyped while a table column uses
    /// them: rebuilt ([`Generator::rebuild_composite`]). Gives the tables
    /// of those columns (their views are rebuilt too).
    fn plan_rebuilt_composites(&mut self) -> Vec<String> {
        let mut tables = Vec::new();
        for (key, before, after) in self.sides.changed(ObjectKind::CompositeType) {
            let (Object::CompositeType(b), Object::CompositeType(a)) = (before, after) else {
                continue;
            };
            let retyped = b.attributes.iter().any(|old| {
                let name = old.split(' ').next().unwrap_or(old);
                a.attributes
                    .iter()
                    .any(|new| new != old && new.split(' ').next() == Some(name))
            });
            let users = self.composite_columns(key);
            if retyped && !users.is_empty() {
                self.rebuilt_composites.insert(key.clone());
                tables.extend(users.into_iter().map(|(_, c)| c.table));
            }
        }
        tables
    }

    /// The columns (kept on both sides) whose type is this composite.
    pub(super) fn composite_columns(&self, key: &ObjectKey) -> Vec<(ObjectKey, Column)> {
        let name = key_name(key);
        self.sides
            .from
            .of_kind(ObjectKind::Column)
            .filter_map(|(k, o)| match (o, self.sides.to.get(k)) {
                (Object::Column(c), Some(Object::Column(after)))
                    if c.data_type == name && after.data_type == name =>
                {
                    Some((k.clone(), c.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Indexes and check or exclusion constraints over a column whose enum
    /// is rebuilt: their stored expressions compare with values of the old
    /// type (`status IN ('new', 'paid')`), which the column's retyping
    /// cannot carry over, so they are dropped before and made again after.
    fn plan_rebuilt_enum_users(&mut self, enum_columns: &[(&ObjectKey, &Column)]) {
        let over_enum = |schema: &str, table: &str, definition: &str| {
            enum_columns.iter().any(|(key, c)| {
                key.schema == schema && c.table == table && mentions(definition, &c.name)
            })
        };
        for (key, object) in self.sides.from.objects.iter() {
            if self.sides.to.get(key).is_none() {
                continue;
            }
            match object {
                Object::Index(i) if over_enum(&key.schema, &i.table, &i.definition) => {
                    self.rebuilt_indexes.insert(key.clone());
                }
                Object::Constraint(c)
                    if matches!(c.kind.as_str(), "check" | "exclusion")
                        && over_enum(&key.schema, &c.table, &c.definition) =>
                {
                    self.replaced_constraints.insert(key.clone());
                }
                _ => {}
            }
        }
    }

    /// Constraints that differ, and the foreign keys that point at a
    /// primary key or unique constraint that is replaced.
    pub(super) fn plan_replaced_constraints(&mut self) {
        let mut replaced_keys: Vec<String> = Vec::new();
        for (key, before, _) in self.sides.changed(ObjectKind::Constraint) {
            if let Object::Constraint(c) = before {
                if only_comment_differs(before, self.sides.to.get(key)) {
                    continue;
                }
                self.replaced_constraints.insert(key.clone());
                if c.kind == "primary key" || c.kind == "unique" {
                    replaced_keys.push(table_of(&key.schema, &c.table));
                }
            }
        }
        for (key, object) in self.sides.from.of_kind(ObjectKind::Constraint) {
            let Object::Constraint(c) = object else {
                continue;
            };
            let onto_replaced = c.kind == "foreign key"
                && replaced_keys
                    .iter()
                    .any(|t| c.definition.contains(&format!("REFERENCES {t}(")));
            if onto_replaced && self.sides.to.get(key).is_some() {
                self.replaced_constraints.insert(key.clone());
            }
        }
    }

    /// Policies or triggers removed or changed (not only in their comment
    /// or enabled state), on tables that stay.
    pub(super) fn drop_parts(&mut self, kind: ObjectKind) {
        let word = match kind {
            ObjectKind::Policy => "POLICY",
            _ => "TRIGGER",
        };
        let mut drops = Vec::new();
        for (key, object) in self.sides.from.of_kind(kind) {
            let table = part_table(object);
            if self.table_dropped(&key.schema, table) {
                continue;
            }
            let after = self.sides.to.get(key);
            let rebuilt = self.rebuilt_parts.contains(key);
            if after.is_some() && !rebuilt && !definition_differs(object, after) {
                continue;
            }
            drops.push(format!(
                "DROP {word} {} ON {}",
                ident(part_name(key, table)),
                table_of(&key.schema, table)
            ));
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn drop_views(&mut self) {
        let order = view_order(self.sides.from);
        for key in order.iter().rev() {
            if self.rebuilt_views.contains(key) || self.sides.to.get(key).is_none() {
                self.push(format!("DROP {} {}", view_word(key.kind), key_name(key)));
            }
        }
    }

    /// Functions and procedures that go: removed, or replaced under a new
    /// return type (which `CREATE OR REPLACE` cannot change).
    pub(super) fn dropped_functions(&self) -> Vec<(&'a ObjectKey, &'a Function)> {
        let to = self.sides.to;
        [ObjectKind::Function, ObjectKind::Procedure]
            .into_iter()
            .flat_map(|kind| self.sides.from.of_kind(kind))
            .filter_map(|(key, before)| {
                let Object::Function(b) = before else {
                    return None;
                };
                let replace = match to.get(key) {
                    None => true,
                    Some(Object::Function(a)) => b.returns != a.returns,
                    Some(_) => false,
                };
                replace.then_some((key, b))
            })
            .collect()
    }

    /// What the parts of dropped tables say (defaults, generated
    /// expressions, constraints, indexes, triggers, policies): they go with
    /// their table, so the functions they call must outlive it.
    pub(super) fn dropped_table_expressions(&self) -> Vec<&'a str> {
        let mut out = Vec::new();
        for (key, object) in &self.sides.from.objects {
            let table = part_table(object);
            if table.is_empty() || !self.table_dropped(&key.schema, table) {
                continue;
            }
            match object {
                Object::Column(c) => out.extend(c.default.iter().chain(&c.generated)),
                Object::Constraint(c) => out.push(&c.definition),
                Object::Index(i) => out.push(&i.definition),
                Object::Trigger(t) => out.push(&t.definition),
                Object::Policy(p) => out.extend(p.using.iter().chain(&p.with_check)),
                _ => {}
            }
        }
        out.into_iter().map(String::as_str).collect()
    }

    /// The functions dropped before the tables (`after_tables` false) or
    /// after them: after when a dropped table calls it and its signature
    /// names no dropped table's row type.
    pub(super) fn drop_functions(&mut self, after_tables: bool) {
        let called = self.dropped_table_expressions();
        let tables: Vec<&str> = self
            .sides
            .removed(ObjectKind::Table)
            .into_iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        let mut drops = Vec::new();
        for (key, f) in self.dropped_functions() {
            let names_table = tables.iter().any(|t| names_in_signature(f, t));
            let late = !names_table && called.iter().any(|e| mentions(e, &f.name));
            if late == after_tables {
                drops.push(format!(
                    "DROP {} {}",
                    function_word(key.kind),
                    function_name(key)
                ));
            }
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    /// Domain checks and defaults that go, before the functions they may
    /// call: all those of kept domains (the new ones are added in the
    /// second half), and those of dropped domains calling a dropped
    /// function.
    pub(super) fn loosen_domains(&mut self) {
        let dropped: Vec<&str> = self
            .dropped_functions()
            .into_iter()
            .map(|(_, f)| f.name.as_str())
            .collect();
        let calls_dropped = |text: &str| dropped.iter().any(|f| mentions(text, f));
        let mut statements = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Domain) {
            let Object::Domain(b) = object else { continue };
            let after = match self.sides.to.get(key) {
                Some(Object::Domain(a)) => Some(a),
                _ => None,
            };
            let alter = format!("ALTER DOMAIN {}", key_name(key));
            let default_goes = match after {
                Some(a) => b.default != a.default,
                None => b.default.as_deref().is_some_and(calls_dropped),
            };
            if b.default.is_some() && default_goes {
                statements.push(format!("{alter} DROP DEFAULT"));
            }
            for check in &b.checks {
                let goes = match after {
                    Some(a) => !a.checks.contains(check),
                    None => calls_dropped(check),
                };
                if goes {
                    let (name, _) = split_check(check);
                    statements.push(format!("{alter} DROP CONSTRAINT {name}"));
                }
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn drop_constraints(&mut self, foreign: bool) {
        let mut drops = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Constraint) {
            let Object::Constraint(c) = object else {
                continue;
            };
            // Foreign keys go first even from dropped tables: another
            // dropped table may be what they reference.
            let with_its_table = !foreign && self.table_dropped(&key.schema, &c.table);
            if (c.kind == "foreign key") != foreign || with_its_table {
                continue;
            }
            if self.sides.to.get(key).is_some() && !self.replaced_constraints.contains(key) {
                continue;
            }
            drops.push(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                table_of(&key.schema, &c.table),
                ident(part_name(key, &c.table))
            ));
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn drop_indexes(&mut self) {
        let mut drops = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Index) {
            let Object::Index(index) = object else {
                continue;
            };
            if self.owner_dropped(&key.schema, &index.table) {
                continue;
            }
            let rebuilt = self.rebuilt_indexes.contains(key);
            if !rebuilt && !definition_differs(object, self.sides.to.get(key)) {
                continue;
            }
            drops.push(format!("DROP INDEX {}", key_name(key)));
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    /// Extended statistics that go or change, on tables that stay (a
    /// dropped table takes its own with it).
    pub(super) fn drop_statistics(&mut self) {
        let mut drops = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Statistics) {
            let Object::Statistics(s) = object else {
                continue;
            };
            if self.table_dropped(&key.schema, &s.table) {
                continue;
            }
            let changed = match self.sides.to.get(key) {
                Some(Object::Statistics(a)) => a.definition != s.definition,
                _ => true,
            };
            if changed {
                drops.push(format!("DROP STATISTICS {}", key_name(key)));
            }
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    /// Defaults and identities that go or change, and generated
    /// expressions that go, before the sequences they use are dropped.
    pub(super) fn loosen_columns(&mut self) {
        let mut statements = Vec::new();
        for (key, before, after) in self.sides.changed(ObjectKind::Column) {
            let (Object::Column(b), Object::Column(a)) = (before, after) else {
                continue;
            };
            if self.readded_columns.contains(key) {
                continue;
            }
            let alter = format!(
                "ALTER TABLE {} ALTER COLUMN {}",
                table_of(&key.schema, &b.table),
                ident(&b.name)
            );
            if b.default.is_some() && b.default != a.default {
                statements.push(format!("{alter} DROP DEFAULT"));
            }
            if b.identity.is_some() && a.identity.is_none() {
                statements.push(format!("{alter} DROP IDENTITY"));
            }
            if b.generated.is_some() && a.generated.is_none() {
                statements.push(format!("{alter} DROP EXPRESSION"));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    /// Whether a column of `from` is dropped here: with its table, alone,
    /// or to be added again.
    pub(super) fn column_dropped(&self, key: &ObjectKey, column: &Column) -> bool {
        self.table_dropped(&key.schema, &column.table)
            || self.sides.to.get(key).is_none()
            || self.readded_columns.contains(key)
    }

    /// Dropping a table or column drops the sequences it owns: those the
    /// target keeps are released first (`sequence_ownership` sets their
    /// owner in the target at the end).
    pub(super) fn disown_sequences(&mut self) {
        let dropped_owners: Vec<String> = self
            .sides
            .from
            .of_kind(ObjectKind::Column)
            .filter_map(|(key, object)| match object {
                Object::Column(c) if self.column_dropped(key, c) => {
                    Some(format!("{}.{}", table_of(&key.schema, &c.table), c.name))
                }
                _ => None,
            })
            .collect();
        let mut released = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Sequence) {
            let Object::Sequence(s) = object else {
                continue;
            };
            let owner_dropped = s
                .owned_by
                .as_ref()
                .is_some_and(|owner| dropped_owners.contains(owner));
            if owner_dropped && self.sides.to.get(key).is_some() {
                released.push(key.clone());
            }
        }
        for key in released {
            self.push(format!("ALTER SEQUENCE {} OWNED BY NONE", key_name(&key)));
            self.disowned_sequences.insert(key);
        }
    }

    pub(super) fn drop_columns(&mut self) {
        let mut drops = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Column) {
            let Object::Column(c) = object else { continue };
            if self.table_dropped(&key.schema, &c.table) {
                continue;
            }
            let removed = self.sides.to.get(key).is_none();
            if !removed && !self.readded_columns.contains(key) {
                continue;
            }
            if self.is_inherited_column(key, c) {
                continue;
            }
            let sql = format!(
                "ALTER TABLE {} DROP COLUMN {}",
                table_of(&key.schema, &c.table),
                ident(&c.name)
            );
            let why = match removed {
                true => format!("drops column {} and its values", key.display_name()),
                false => format!(
                    "drops and re-adds generated column {} (its values are computed again)",
                    key.display_name()
                ),
            };
            drops.push((sql, why, removed));
        }
        for (sql, why, removed) in drops {
            match removed {
                true => self.push_destructive(sql, why),
                false => self.push(sql),
            }
        }
    }

    /// A column a partition has from its parent goes and comes with the
    /// parent's.
    pub(super) fn is_inherited_column(&self, key: &ObjectKey, column: &Column) -> bool {
        let table = ObjectKey::new(ObjectKind::Table, &key.schema, &column.table);
        let parent = [self.sides.from.get(&table), self.sides.to.get(&table)]
            .into_iter()
            .flatten()
            .find_map(|t| match t {
                Object::Table(t) if t.partition_of.is_some() => parent_of(t),
                _ => None,
            });
        parent.is_some()
    }

    pub(super) fn detach_partitions(&mut self) {
        let mut statements = Vec::new();
        for (key, before, after) in self.sides.changed(ObjectKind::Table) {
            let (Object::Table(b), Object::Table(a)) = (before, after) else {
                continue;
            };
            if b.partition_of != a.partition_of
                && let Some(parent) = b.partition_of.as_ref().and(parent_of(b))
            {
                statements.push(format!(
                    "ALTER TABLE {parent} DETACH PARTITION {}",
                    key_name(key)
                ));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn drop_tables(&mut self) {
        let removed: Vec<ObjectKey> = self
            .sides
            .removed(ObjectKind::Table)
            .into_iter()
            .map(|(k, _)| k.clone())
            .collect();
        let order = table_order(self.sides.from, &removed);
        for key in order.iter().rev() {
            self.push_destructive(
                format!("DROP TABLE {}", key_name(key)),
                format!("drops table {} and its rows", key.display_name()),
            );
        }
    }

    pub(super) fn drop_simple(&mut self, kind: ObjectKind, word: &str) {
        let drops: Vec<String> = self
            .sides
            .removed(kind)
            .into_iter()
            .map(|(key, _)| format!("DROP {word} {}", key_name(key)))
            .collect();
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn drop_extensions_and_schemas(&mut self) {
        let mut drops = Vec::new();
        for (key, _) in self.sides.removed(ObjectKind::Extension) {
            drops.push(format!("DROP EXTENSION {}", ident(&key.name)));
        }
        for (key, _) in self.sides.removed(ObjectKind::Schema) {
            drops.push(format!("DROP SCHEMA {}", ident(&key.name)));
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }
}
