//! The second half of a script: what is made, in creation order.

use super::functions::{FunctionStep, domain_additions};
use super::sql::{
    column_definition, comment_target, create_enum, definition_differs, definition_differs_opt,
    identity_options, is_widening, key_name, meta_of, owned_by_sql, parent_of, part_name,
    qualified, set_options, split_check, table_of, table_order, view_order, view_word,
};
use super::{Generator, Statement};
use crate::core::offline::{quote_ident as ident, quote_literal as literal};
use crate::core::schema::model::*;
use std::collections::{BTreeMap, BTreeSet};

impl<'a> Generator<'a> {
    // ---- the second half: building ----

    pub(super) fn build(&mut self) {
        self.plan_functions();
        self.create_schemas_and_extensions();
        self.enums();
        self.domains();
        self.composite_types();
        self.sequences();
        self.functions(FunctionStep::BeforeTables);
        self.tables();
        self.functions(FunctionStep::BeforeColumns);
        self.domain_calls();
        self.deferred_defaults();
        self.columns();
        self.constraints(false);
        self.constraints(true);
        self.functions(FunctionStep::AfterConstraints);
        self.create_views();
        self.indexes();
        self.statistics();
        self.triggers();
        self.policies();
        self.sequence_ownership();
        self.comments();
        self.note_unexpressed();
    }

    pub(super) fn create_schemas_and_extensions(&mut self) {
        let mut statements = Vec::new();
        for (key, _) in self.sides.added(ObjectKind::Schema) {
            statements.push(format!("CREATE SCHEMA {}", ident(&key.name)));
        }
        for (key, object) in self.sides.added(ObjectKind::Extension) {
            let Object::Extension(e) = object else {
                continue;
            };
            statements.push(format!(
                "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {}",
                ident(&key.name),
                ident(&e.schema),
                literal(&e.version)
            ));
        }
        for (key, before, after) in self.sides.changed(ObjectKind::Extension) {
            let (Object::Extension(b), Object::Extension(a)) = (before, after) else {
                continue;
            };
            if b.version != a.version {
                statements.push(format!(
                    "ALTER EXTENSION {} UPDATE TO {}",
                    ident(&key.name),
                    literal(&a.version)
                ));
            }
            if b.schema != a.schema {
                statements.push(format!(
                    "ALTER EXTENSION {} SET SCHEMA {}",
                    ident(&key.name),
                    ident(&a.schema)
                ));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn enums(&mut self) {
        for (key, object) in self.sides.added(ObjectKind::Enum) {
            let Object::Enum(e) = object else { continue };
            self.push(create_enum(&key_name(key), &e.values));
        }
        for (key, before, after) in self.sides.changed(ObjectKind::Enum) {
            let (Object::Enum(b), Object::Enum(a)) = (before, after) else {
                continue;
            };
            if b.values == a.values {
                continue;
            }
            match self.rebuilt_enums.contains(key) {
                false => self.add_enum_values(key, &b.values, &a.values),
                true => self.rebuild_enum(key, b, a),
            }
        }
    }

    /// New values each placed before the old value that follows them (or
    /// after the last), so the order is the target's.
    pub(super) fn add_enum_values(&mut self, key: &ObjectKey, before: &[String], after: &[String]) {
        for (at, value) in after.iter().enumerate() {
            if before.contains(value) {
                continue;
            }
            let next_old = after[at + 1..].iter().find(|v| before.contains(v));
            let place = match next_old {
                Some(next) => format!(" BEFORE {}", literal(next)),
                None => String::new(),
            };
            self.push(format!(
                "ALTER TYPE {} ADD VALUE {}{place}",
                key_name(key),
                literal(value)
            ));
        }
    }

    /// An enum that loses or reorders values: renamed aside, created anew,
    /// each column moved over through text, the old one dropped.
    pub(super) fn rebuild_enum(&mut self, key: &ObjectKey, before: &EnumType, after: &EnumType) {
        let name = key_name(key);
        let aside = qualified(&key.schema, &format!("{}__old", key.name));
        let lost: Vec<&String> = before
            .values
            .iter()
            .filter(|v| !after.values.contains(v))
            .collect();
        self.push(format!(
            "ALTER TYPE {name} RENAME TO {}",
            ident(&format!("{}__old", key.name))
        ));
        self.push(create_enum(&name, &after.values));
        let type_name = name.clone();
        let columns: Vec<(ObjectKey, Column)> = self
            .sides
            .to
            .of_kind(ObjectKind::Column)
            .filter_map(|(k, o)| match (o, self.sides.from.get(k)) {
                (Object::Column(c), Some(Object::Column(old)))
                    if old.data_type == c.data_type
                        && c.data_type.trim_end_matches("[]") == type_name =>
                {
                    Some((k.clone(), c.clone()))
                }
                _ => None,
            })
            .collect();
        for (k, c) in columns {
            let alter = format!(
                "ALTER TABLE {} ALTER COLUMN {}",
                table_of(&k.schema, &c.table),
                ident(&c.name)
            );
            if c.default.is_some() {
                self.push(format!("{alter} DROP DEFAULT"));
            }
            let via = match c.data_type.ends_with("[]") {
                true => "text[]",
                false => "text",
            };
            let sql = format!(
                "{alter} TYPE {} USING {}::{via}::{}",
                c.data_type,
                ident(&c.name),
                c.data_type
            );
            match lost.is_empty() {
                true => self.push(sql),
                false => self.push_destructive(
                    sql,
                    format!(
                        "enum {} loses {}: rows holding them fail to convert",
                        key.display_name(),
                        lost.iter()
                            .map(|v| literal(v))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
            if let Some(default) = &c.default {
                self.push(format!("{alter} SET DEFAULT {default}"));
            }
        }
        self.push(format!("DROP TYPE {aside}"));
    }

    /// Domains created and altered, without the defaults and checks that
    /// call a function created here ([`Self::domain_calls`] adds those).
    pub(super) fn domains(&mut self) {
        for (key, object) in self.sides.added(ObjectKind::Domain) {
            let Object::Domain(d) = object else { continue };
            let mut sql = format!("CREATE DOMAIN {} AS {}", key_name(key), d.base_type);
            if let Some(collation) = &d.collation {
                sql.push_str(&format!(" COLLATE {collation}"));
            }
            if let Some(default) = &d.default
                && !self.calls_created_function(default)
            {
                sql.push_str(&format!(" DEFAULT {default}"));
            }
            if d.not_null {
                sql.push_str(" NOT NULL");
            }
            for check in d.checks.iter().filter(|c| !self.calls_created_function(c)) {
                let (name, definition) = split_check(check);
                sql.push_str(&format!(" CONSTRAINT {name} {definition}"));
            }
            self.push(sql);
        }
        for (key, before, after) in self.sides.changed(ObjectKind::Domain) {
            let (Object::Domain(b), Object::Domain(a)) = (before, after) else {
                continue;
            };
            self.alter_domain(key, b, a);
        }
    }

    /// What changes in a kept domain; its old default and checks were
    /// dropped in the first half ([`Self::loosen_domains`]).
    pub(super) fn alter_domain(&mut self, key: &ObjectKey, b: &Domain, a: &Domain) {
        if b.base_type != a.base_type || b.collation != a.collation {
            self.unexpressed.push(format!(
                "domain {}: its base type or collation changes ({} → {}); no ALTER DOMAIN can do that",
                key.display_name(),
                b.base_type,
                a.base_type
            ));
        }
        if b.not_null != a.not_null {
            let word = if a.not_null { "SET" } else { "DROP" };
            self.push(format!("ALTER DOMAIN {} {word} NOT NULL", key_name(key)));
        }
        self.add_domain_parts(key, Some(b), a, false);
    }

    /// A domain's new default and checks: those calling a function created
    /// here (`calling`), or the others.
    pub(super) fn add_domain_parts(
        &mut self,
        key: &ObjectKey,
        before: Option<&Domain>,
        after: &Domain,
        calling: bool,
    ) {
        let alter = format!("ALTER DOMAIN {}", key_name(key));
        let (default, checks) = domain_additions(before, after);
        let mut statements = Vec::new();
        if let Some(default) = default
            && self.calls_created_function(default) == calling
        {
            statements.push(format!("{alter} SET DEFAULT {default}"));
        }
        for check in checks {
            if self.calls_created_function(check) == calling {
                let (name, definition) = split_check(check);
                statements.push(format!("{alter} ADD CONSTRAINT {name} {definition}"));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    /// Domain defaults and checks calling a function created here, once
    /// the functions exist.
    pub(super) fn domain_calls(&mut self) {
        for (key, object) in self.sides.to.of_kind(ObjectKind::Domain) {
            let Object::Domain(a) = object else { continue };
            let before = match self.sides.from.get(key) {
                Some(Object::Domain(b)) => Some(b),
                _ => None,
            };
            self.add_domain_parts(key, before, a, true);
        }
    }

    pub(super) fn composite_types(&mut self) {
        for (key, object) in self.sides.added(ObjectKind::CompositeType) {
            let Object::CompositeType(c) = object else {
                continue;
            };
            self.push(format!(
                "CREATE TYPE {} AS ({})",
                key_name(key),
                c.attributes.join(", ")
            ));
        }
        for (key, before, after) in self.sides.changed(ObjectKind::CompositeType) {
            let (Object::CompositeType(b), Object::CompositeType(a)) = (before, after) else {
                continue;
            };
            if b.attributes == a.attributes {
                continue;
            }
            if self.rebuilt_composites.contains(key) {
                self.rebuild_composite(key, b, a);
                continue;
            }
            let split = |s: &String| -> (String, String) {
                let (n, t) = s.split_once(' ').unwrap_or((s, ""));
                (n.to_string(), t.to_string())
            };
            let old: BTreeMap<String, String> = b.attributes.iter().map(split).collect();
            let new: Vec<(String, String)> = a.attributes.iter().map(split).collect();
            let mut actions = Vec::new();
            for name in old.keys().filter(|n| !new.iter().any(|(m, _)| m == *n)) {
                actions.push(format!("DROP ATTRIBUTE {name}"));
            }
            for (name, data_type) in &new {
                match old.get(name) {
                    None => actions.push(format!("ADD ATTRIBUTE {name} {data_type}")),
                    Some(t) if t != data_type => {
                        actions.push(format!("ALTER ATTRIBUTE {name} TYPE {data_type}"))
                    }
                    _ => {}
                }
            }
            if !actions.is_empty() {
                self.push(format!(
                    "ALTER TYPE {} {}",
                    key_name(key),
                    actions.join(", ")
                ));
            }
        }
    }

    /// A composite type whose attribute is retyped while table columns use
    /// it: the old type set aside, the new one made, each column moved over
    /// attribute by attribute (a new attribute null, a retyped one cast),
    /// the old type dropped.
    pub(super) fn rebuild_composite(
        &mut self,
        key: &ObjectKey,
        before: &CompositeType,
        after: &CompositeType,
    ) {
        let name = key_name(key);
        let aside = format!("{}__old", key.name);
        self.push(format!("ALTER TYPE {name} RENAME TO {}", ident(&aside)));
        self.push(format!(
            "CREATE TYPE {name} AS ({})",
            after.attributes.join(", ")
        ));
        let attribute = |text: &String| {
            let (n, t) = text.split_once(' ').unwrap_or((text, ""));
            (n.to_string(), t.to_string())
        };
        let old_names: Vec<String> = before.attributes.iter().map(|a| attribute(a).0).collect();
        for (column_key, c) in self.composite_columns(key) {
            let column = ident(&c.name);
            let fields: Vec<String> = after
                .attributes
                .iter()
                .map(attribute)
                .map(|(n, t)| match old_names.contains(&n) {
                    true => format!("({column}).{n}::{t}"),
                    false => format!("NULL::{t}"),
                })
                .collect();
            // `column IS NULL` is also true of a row whose fields are all
            // null; its text is null only for a null value.
            self.push(format!(
                "ALTER TABLE {} ALTER COLUMN {column} TYPE {name} USING CASE WHEN {column}::text IS NULL \
                 THEN NULL ELSE ROW({})::{name} END",
                table_of(&column_key.schema, &c.table),
                fields.join(", ")
            ));
        }
        self.push(format!("DROP TYPE {}", qualified(&key.schema, &aside)));
    }

    pub(super) fn sequences(&mut self) {
        for (key, object) in self.sides.added(ObjectKind::Sequence) {
            let Object::Sequence(s) = object else {
                continue;
            };
            self.push(format!(
                "CREATE SEQUENCE {} {}",
                key_name(key),
                s.options_text().to_uppercase()
            ));
        }
        for (key, before, after) in self.sides.changed(ObjectKind::Sequence) {
            let (Object::Sequence(b), Object::Sequence(a)) = (before, after) else {
                continue;
            };
            if b.options_text() != a.options_text() {
                self.push(format!(
                    "ALTER SEQUENCE {} {}",
                    key_name(key),
                    a.options_text().to_uppercase()
                ));
            }
        }
    }

    pub(super) fn tables(&mut self) {
        let added: Vec<ObjectKey> = self
            .sides
            .added(ObjectKind::Table)
            .into_iter()
            .map(|(k, _)| k.clone())
            .collect();
        for key in table_order(self.sides.to, &added) {
            let Some(Object::Table(t)) = self.sides.to.get(&key) else {
                continue;
            };
            let sql = self.create_table(&key, t);
            self.push(sql);
            self.table_flags(&key, None, t);
        }
        for (key, before, after) in self.sides.changed(ObjectKind::Table) {
            let (Object::Table(b), Object::Table(a)) = (before, after) else {
                continue;
            };
            self.alter_table(key, b, a);
        }
    }

    pub(super) fn create_table(&self, key: &ObjectKey, t: &Table) -> String {
        let unlogged = if t.unlogged { "UNLOGGED " } else { "" };
        let name = key_name(key);
        if let Some(of) = &t.partition_of {
            let mut sql = format!("CREATE {unlogged}TABLE {name} PARTITION OF {of}");
            if let Some(by) = &t.partition_key {
                sql.push_str(&format!(" PARTITION BY {by}"));
            }
            return sql;
        }
        let columns: Vec<String> = self
            .sides
            .to
            .columns_of(key, t)
            .into_iter()
            .map(|column| {
                let column_key = ObjectKey::new(
                    ObjectKind::Column,
                    &key.schema,
                    &format!("{}.{}", key.name, column.name),
                );
                match self.deferred_defaults.contains(&column_key) {
                    true => column_definition(&Column {
                        default: None,
                        ..column.clone()
                    }),
                    false => column_definition(column),
                }
            })
            .map(|definition| format!("    {definition}"))
            .collect();
        let mut sql = format!(
            "CREATE {unlogged}TABLE {name} (\n{}\n)",
            columns.join(",\n")
        );
        if let Some(parents) = &t.inherits {
            sql.push_str(&format!(" INHERITS ({parents})"));
        }
        if let Some(by) = &t.partition_key {
            sql.push_str(&format!(" PARTITION BY {by}"));
        }
        if let Some(options) = &t.options {
            sql.push_str(&format!(" WITH ({options})"));
        }
        sql
    }

    /// Row level security of a table, as `after` has it.
    pub(super) fn table_flags(&mut self, key: &ObjectKey, before: Option<&Table>, after: &Table) {
        let name = key_name(key);
        let was = |f: fn(&Table) -> bool| before.is_some_and(f);
        if was(|t| t.rls_enabled) != after.rls_enabled {
            let word = if after.rls_enabled {
                "ENABLE"
            } else {
                "DISABLE"
            };
            self.push(format!("ALTER TABLE {name} {word} ROW LEVEL SECURITY"));
        }
        if was(|t| t.rls_forced) != after.rls_forced {
            let word = if after.rls_forced {
                "FORCE"
            } else {
                "NO FORCE"
            };
            self.push(format!("ALTER TABLE {name} {word} ROW LEVEL SECURITY"));
        }
    }

    pub(super) fn alter_table(&mut self, key: &ObjectKey, b: &Table, a: &Table) {
        let name = key_name(key);
        self.table_flags(key, Some(b), a);
        if b.unlogged != a.unlogged {
            let word = if a.unlogged { "UNLOGGED" } else { "LOGGED" };
            self.push(format!("ALTER TABLE {name} SET {word}"));
        }
        if b.options != a.options {
            let keys = |o: &Option<String>| -> Vec<String> {
                o.iter()
                    .flat_map(|s| s.split(", "))
                    .map(|kv| kv.split('=').next().unwrap_or(kv).to_string())
                    .collect()
            };
            let new_keys = keys(&a.options);
            let gone: Vec<String> = keys(&b.options)
                .into_iter()
                .filter(|k| !new_keys.contains(k))
                .collect();
            if !gone.is_empty() {
                self.push(format!("ALTER TABLE {name} RESET ({})", gone.join(", ")));
            }
            if let Some(options) = &a.options {
                self.push(format!("ALTER TABLE {name} SET ({options})"));
            }
        }
        if b.partition_of != a.partition_of
            && let Some(of) = &a.partition_of
            && let Some(parent) = parent_of(a)
        {
            let bound = of[parent.len()..].trim_start();
            self.push(format!(
                "ALTER TABLE {parent} ATTACH PARTITION {name} {bound}"
            ));
        }
        for (what, x, y) in [
            ("kind", Some(&b.kind), Some(&a.kind)),
            (
                "partition key",
                b.partition_key.as_ref(),
                a.partition_key.as_ref(),
            ),
            ("inherits", b.inherits.as_ref(), a.inherits.as_ref()),
        ] {
            if x != y {
                self.unexpressed.push(format!(
                    "table {}: {what} {} → {}: no ALTER TABLE changes it (the table must be created anew)",
                    key.display_name(),
                    x.map(String::as_str).unwrap_or("none"),
                    y.map(String::as_str).unwrap_or("none"),
                ));
            }
        }
    }

    pub(super) fn columns(&mut self) {
        for key in self.columns_in_target_order() {
            let Some(object) = self.sides.to.get(&key) else {
                continue;
            };
            let key = &key;
            let Object::Column(c) = object else { continue };
            if self.table_created(&key.schema, &c.table) || self.is_inherited_column(key, c) {
                continue;
            }
            let before = self.sides.from.get(key);
            let sql_table = table_of(&key.schema, &c.table);
            match before {
                Some(_) if !self.readded_columns.contains(key) => {}
                _ => {
                    let sql = format!(
                        "ALTER TABLE {sql_table} ADD COLUMN {}",
                        column_definition(c)
                    );
                    self.out.push(Statement {
                        sql,
                        destructive: None,
                    });
                    continue;
                }
            }
            let Some(Object::Column(b)) = before else {
                continue;
            };
            if b != c {
                self.alter_column(key, b, c);
            }
        }
    }

    /// The target's columns table by table, each table's in its column
    /// order: added columns land last in the order they are added, so
    /// adding them in the target's order reaches it when they stand last
    /// there.
    fn columns_in_target_order(&self) -> Vec<ObjectKey> {
        let mut keys: Vec<ObjectKey> = Vec::new();
        for (table_key, object) in self.sides.to.of_kind(ObjectKind::Table) {
            let Object::Table(t) = object else { continue };
            keys.extend(t.column_order.iter().map(|c| {
                ObjectKey::new(
                    ObjectKind::Column,
                    &table_key.schema,
                    &format!("{}.{c}", table_key.name),
                )
            }));
        }
        let listed: BTreeSet<ObjectKey> = keys.iter().cloned().collect();
        let rest = self.sides.to.of_kind(ObjectKind::Column).map(|(k, _)| k);
        keys.extend(rest.filter(|k| !listed.contains(*k)).cloned());
        keys
    }

    pub(super) fn alter_column(&mut self, key: &ObjectKey, b: &Column, a: &Column) {
        let alter = format!(
            "ALTER TABLE {} ALTER COLUMN {}",
            table_of(&key.schema, &b.table),
            ident(&b.name)
        );
        let retyped_by_enum = self
            .rebuilt_enums
            .iter()
            .any(|e| a.data_type.trim_end_matches("[]") == key_name(e));
        if (b.data_type != a.data_type || b.collation != a.collation) && !retyped_by_enum {
            let collate = a
                .collation
                .as_ref()
                .map(|c| format!(" COLLATE {c}"))
                .unwrap_or_default();
            // No cast joins an enum and a number or boolean: through text
            // the labels convert, other values fail (loudly).
            let through_text = self.enum_without_cast(&b.data_type, &a.data_type);
            let via = if through_text { "::text" } else { "" };
            let sql = format!(
                "{alter} TYPE {}{collate} USING {}{via}::{}",
                a.data_type,
                ident(&a.name),
                a.data_type
            );
            if through_text {
                self.push_destructive(
                    sql,
                    format!(
                        "column {}: no cast from {} to {}: converted through text, which fails \
                         on a value that is not a label of the other; write the USING by hand \
                         if the values map otherwise",
                        key.display_name(),
                        b.data_type,
                        a.data_type
                    ),
                );
                return self.alter_column_rest(key, b, a, &alter);
            }
            match is_widening(&b.data_type, &a.data_type) || b.data_type == a.data_type {
                true => self.push(sql),
                false => self.push_destructive(
                    sql,
                    format!(
                        "column {}: {} → {} may not hold every value",
                        key.display_name(),
                        b.data_type,
                        a.data_type
                    ),
                ),
            }
        }
        self.alter_column_rest(key, b, a, &alter);
    }

    /// Whether `before → after` joins an enum with a type PostgreSQL has
    /// no cast for (a number, a boolean): only through text.
    fn enum_without_cast(&self, before: &str, after: &str) -> bool {
        let is_enum = |t: &str| {
            let name = t.trim_end_matches("[]");
            [self.sides.from, self.sides.to].iter().any(|s| {
                s.of_kind(ObjectKind::Enum)
                    .any(|(k, _)| key_name(k) == name)
            })
        };
        let textual = |t: &str| {
            t == "text" || t == "name" || t.starts_with("character") || t.ends_with("citext")
        };
        let joins = |x: &str, y: &str| is_enum(x) && !is_enum(y) && !textual(y);
        !before.ends_with("[]")
            && !after.ends_with("[]")
            && (joins(before, after) || joins(after, before))
    }

    /// Nullability and default, after the type.
    fn alter_column_rest(&mut self, key: &ObjectKey, b: &Column, a: &Column, alter: &str) {
        if b.not_null != a.not_null {
            match a.not_null {
                true => self.set_not_null(key, a),
                false => self.push(format!("{alter} DROP NOT NULL")),
            }
        }
        if a.default.is_some() && b.default != a.default {
            self.push(format!(
                "{alter} SET DEFAULT {}",
                a.default.as_deref().unwrap_or_default()
            ));
        }
        match (&b.identity, &a.identity) {
            (None, Some(kind)) => {
                let options = identity_options(a.identity_sequence.as_deref().unwrap_or(""));
                self.push(format!(
                    "{alter} ADD GENERATED {} AS IDENTITY ({options})",
                    kind.to_uppercase()
                ));
            }
            (Some(old), Some(new)) => {
                if old != new {
                    self.push(format!("{alter} SET GENERATED {}", new.to_uppercase()));
                }
                if b.identity_sequence != a.identity_sequence {
                    let options = identity_options(a.identity_sequence.as_deref().unwrap_or(""));
                    let sets = set_options(&options);
                    self.push(format!("{alter} {sets}"));
                }
            }
            _ => {}
        }
        if b.generated != a.generated && a.generated.is_none() && b.generated.is_none() {
            // Both none: nothing; the other cases are a drop or a re-add.
        }
    }

    pub(super) fn set_not_null(&mut self, key: &ObjectKey, c: &Column) {
        let table = table_of(&key.schema, &c.table);
        let column = ident(&c.name);
        if self.options.online {
            let check = ident(&format!("{}_{}_not_null", c.table, c.name));
            self.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID"
            ));
            self.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {check}"));
            self.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"
            ));
            self.push(format!("ALTER TABLE {table} DROP CONSTRAINT {check}"));
        } else {
            self.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"
            ));
        }
    }

    pub(super) fn constraints(&mut self, foreign: bool) {
        let mut adds = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Constraint) {
            let Object::Constraint(c) = object else {
                continue;
            };
            if (c.kind == "foreign key") != foreign {
                continue;
            }
            if self.sides.from.get(key).is_some() && !self.replaced_constraints.contains(key) {
                continue;
            }
            adds.push((key.clone(), c.clone()));
        }
        for (key, c) in adds {
            let table = table_of(&key.schema, &c.table);
            let name = ident(part_name(&key, &c.table));
            let validate_apart = self.options.online
                && matches!(c.kind.as_str(), "foreign key" | "check")
                && !c.definition.ends_with("NOT VALID")
                && !self.table_created(&key.schema, &c.table);
            if validate_apart {
                self.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} {} NOT VALID",
                    c.definition
                ));
                self.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {name}"));
            } else {
                self.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} {}",
                    c.definition
                ));
            }
        }
    }

    pub(super) fn create_views(&mut self) {
        for key in view_order(self.sides.to) {
            let fresh = self.sides.from.get(&key).is_none();
            if !fresh && !self.rebuilt_views.contains(&key) {
                continue;
            }
            let Some(Object::View(v)) = self.sides.to.get(&key) else {
                continue;
            };
            let with = v
                .options
                .as_ref()
                .map(|o| format!(" WITH ({o})"))
                .unwrap_or_default();
            let body = v.definition.trim().trim_end_matches(';');
            self.push(format!(
                "CREATE {} {}{with} AS\n{body}",
                view_word(key.kind),
                key_name(&key)
            ));
        }
    }

    pub(super) fn indexes(&mut self) {
        let mut creates = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Index) {
            let Object::Index(index) = object else {
                continue;
            };
            let matview = ObjectKey::new(ObjectKind::MaterializedView, &key.schema, &index.table);
            let recreated =
                self.rebuilt_views.contains(&matview) || self.rebuilt_indexes.contains(key);
            let before = self.sides.from.get(key);
            if !recreated && !definition_differs_opt(before, Some(object)) {
                continue;
            }
            let concurrent = self.options.online && !self.owner_created(&key.schema, &index.table);
            creates.push(match concurrent {
                true => index
                    .definition
                    .replacen(" INDEX ", " INDEX CONCURRENTLY ", 1),
                false => index.definition.clone(),
            });
            if concurrent {
                self.transactional = false;
            }
        }
        creates.into_iter().for_each(|sql| self.push(sql));
    }

    /// Extended statistics created or changed (after the indexes: both
    /// only read the columns), and their statistics target.
    pub(super) fn statistics(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Statistics) {
            let Object::Statistics(s) = object else {
                continue;
            };
            let before = self.sides.from.get(key);
            let fresh = match before {
                Some(Object::Statistics(b)) => b.definition != s.definition,
                _ => true,
            };
            if fresh {
                statements.push(s.definition.clone());
            }
            let old_target = match before {
                Some(Object::Statistics(b)) if !fresh => b.target,
                _ => None,
            };
            if s.target != old_target {
                statements.push(format!(
                    "ALTER STATISTICS {} SET STATISTICS {}",
                    key_name(key),
                    s.target.unwrap_or(-1)
                ));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn triggers(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Trigger) {
            let Object::Trigger(t) = object else { continue };
            let before = self.sides.from.get(key);
            let fresh = before.is_none()
                || self.rebuilt_parts.contains(key)
                || definition_differs(before.expect("checked"), Some(object));
            if fresh {
                statements.push(t.definition.clone());
            }
            let was_enabled = match (fresh, before) {
                (false, Some(Object::Trigger(b))) => b.enabled.as_str(),
                _ => "origin",
            };
            if t.enabled != was_enabled {
                let word = match t.enabled.as_str() {
                    "disabled" => "DISABLE TRIGGER",
                    "replica" => "ENABLE REPLICA TRIGGER",
                    "always" => "ENABLE ALWAYS TRIGGER",
                    _ => "ENABLE TRIGGER",
                };
                statements.push(format!(
                    "ALTER TABLE {} {word} {}",
                    table_of(&key.schema, &t.table),
                    ident(part_name(key, &t.table))
                ));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn policies(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Policy) {
            let Object::Policy(p) = object else { continue };
            let rebuilt = self.rebuilt_parts.contains(key);
            if !rebuilt && !definition_differs_opt(self.sides.from.get(key), Some(object)) {
                continue;
            }
            let mut sql = format!(
                "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
                ident(part_name(key, &p.table)),
                table_of(&key.schema, &p.table),
                if p.permissive {
                    "PERMISSIVE"
                } else {
                    "RESTRICTIVE"
                },
                p.command,
                p.roles
            );
            if let Some(using) = &p.using {
                sql.push_str(&format!(" USING ({using})"));
            }
            if let Some(check) = &p.with_check {
                sql.push_str(&format!(" WITH CHECK ({check})"));
            }
            statements.push(sql);
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    pub(super) fn sequence_ownership(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Sequence) {
            let Object::Sequence(s) = object else {
                continue;
            };
            let before = match self.sides.from.get(key) {
                _ if self.disowned_sequences.contains(key) => None,
                Some(Object::Sequence(b)) => b.owned_by.clone(),
                _ => None,
            };
            if before == s.owned_by {
                continue;
            }
            let owner = match &s.owned_by {
                Some(column) => owned_by_sql(column),
                None => "NONE".to_string(),
            };
            statements.push(format!("ALTER SEQUENCE {} OWNED BY {owner}", key_name(key)));
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    /// Comments of created objects, and changed ones.
    pub(super) fn comments(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in &self.sides.to.objects {
            let after = meta_of(object).comment.as_ref();
            let before = match self.sides.from.get(key) {
                Some(old) if !self.recreated(key, old, object) => meta_of(old).comment.as_ref(),
                _ => None,
            };
            if before == after {
                continue;
            }
            let text = after
                .map(|c| literal(c))
                .unwrap_or_else(|| "NULL".to_string());
            statements.push(format!(
                "COMMENT ON {} IS {text}",
                comment_target(key, object)
            ));
        }
        // Comments dropped with their object need nothing; those on kept
        // objects that lose it are set to NULL above.
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    /// Whether an object on both sides was dropped and created here, so
    /// it lost its comment.
    pub(super) fn recreated(&self, key: &ObjectKey, before: &Object, after: &Object) -> bool {
        match key.kind {
            ObjectKind::View | ObjectKind::MaterializedView => self.rebuilt_views.contains(key),
            ObjectKind::Constraint => self.replaced_constraints.contains(key),
            ObjectKind::Column => self.readded_columns.contains(key),
            ObjectKind::Index
            | ObjectKind::Statistics
            | ObjectKind::Trigger
            | ObjectKind::Policy => {
                definition_differs(before, Some(after))
                    || self.rebuilt_indexes.contains(key)
                    || self.rebuilt_parts.contains(key)
                    || match after {
                        Object::Index(i) => self.rebuilt_views.contains(&ObjectKey::new(
                            ObjectKind::MaterializedView,
                            &key.schema,
                            &i.table,
                        )),
                        _ => false,
                    }
            }
            ObjectKind::Function | ObjectKind::Procedure => match (before, after) {
                (Object::Function(b), Object::Function(a)) => b.returns != a.returns,
                _ => false,
            },
            _ => false,
        }
    }

    pub(super) fn note_unexpressed(&mut self) {
        for (key, before, after) in self.sides.changed(ObjectKind::Table) {
            let (Object::Table(b), Object::Table(a)) = (before, after) else {
                continue;
            };
            let keep = |from: &[String], other: &[String]| -> Vec<String> {
                from.iter().filter(|c| other.contains(c)).cloned().collect()
            };
            // A column dropped and added again (a new generated
            // expression) lands last like a new one.
            let readded = |c: &String| {
                let column = ObjectKey::new(
                    ObjectKind::Column,
                    &key.schema,
                    &format!("{}.{c}", key.name),
                );
                self.readded_columns.contains(&column)
            };
            let kept: Vec<String> = b
                .column_order
                .iter()
                .filter(|c| !readded(c))
                .cloned()
                .collect();
            let old = keep(&kept, &a.column_order);
            let new = keep(&a.column_order, &kept);
            // Added columns land last: the target's order is reached only
            // when they stand last there too.
            let added_last = a
                .column_order
                .iter()
                .skip_while(|c| kept.contains(c))
                .all(|c| !kept.contains(c));
            if old != new || !added_last {
                self.unexpressed.push(format!(
                    "table {}: column order {} cannot be reached by ALTER TABLE (new columns go last)",
                    key.display_name(),
                    a.column_order.join(", ")
                ));
            }
        }
        let mut meta_lines = Vec::new();
        for (key, before) in &self.sides.from.objects {
            let Some(after) = self.sides.to.get(key) else {
                continue;
            };
            let (b, a) = (meta_of(before), meta_of(after));
            if b.owner != a.owner {
                meta_lines.push(format!("{key}: owner differs (owners are not generated)"));
            }
            if b.grants != a.grants {
                meta_lines.push(format!("{key}: grants differ (grants are not generated)"));
            }
        }
        self.unexpressed.extend(meta_lines);
    }
}
