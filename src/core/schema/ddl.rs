//! DDL from two snapshots: the statements that turn `from` into `to`,
//! ordered by what depends on what. Pure; the reverse script is the same
//! function with the sides swapped.
//!
//! The script runs in two halves. The first takes away, in reverse
//! dependency order: policies, triggers, the views to rebuild, foreign
//! keys, other constraints and indexes, column defaults and identities,
//! the ownership of kept sequences whose owner goes (dropping the owner
//! would drop them), columns, domain defaults and checks, functions,
//! tables (partitions first), the functions those tables called,
//! sequences, types, extensions, schemas. The second builds, in creation
//! order: schemas, extensions, types, sequences, functions that name no
//! table or view, tables (parents first), the functions that read tables
//! and are called by a default, generated expression or check created
//! here, domain defaults and checks calling new functions, columns,
//! constraints (foreign keys last), the other functions, views, indexes,
//! triggers, policies, sequence ownership and comments. A view that reads a column whose type changes (or a type that
//! is rebuilt) cannot outlive the change, so it is dropped in the first
//! half and created again in the second; so is every view reading it.
//!
//! What no statement can express (column order, a changed partition key,
//! owners and grants) is listed in [`Script::unexpressed`], never dropped
//! in silence; objects of kinds the model does not cover are an error.

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;
use crate::core::offline::{quote_ident as ident, quote_literal as literal};

/// How the statements are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DdlOptions {
    /// Indexes built `CONCURRENTLY` (the script cannot run in a
    /// transaction then), foreign keys and checks added `NOT VALID` and
    /// validated apart, NOT NULL set through a validated check.
    pub online: bool,
}

/// One statement, with why it is destructive when it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// Set when the statement can lose data: what it loses.
    pub destructive: Option<String>,
}

/// The statements that turn one schema into another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    pub statements: Vec<Statement>,
    /// Differences no statement here makes, one line each.
    pub unexpressed: Vec<String>,
    /// False when a statement cannot run in a transaction block
    /// (`CREATE INDEX CONCURRENTLY`).
    pub transactional: bool,
}

impl Script {
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// What can lose data, one line per statement.
    pub fn destructive(&self) -> Vec<&str> {
        self.statements
            .iter()
            .filter_map(|s| s.destructive.as_deref())
            .collect()
    }

    /// The statements as SQL text, each ending in `;`, a destructive one
    /// preceded by a `-- destructive:` comment.
    pub fn sql(&self) -> String {
        let mut out = String::new();
        for statement in &self.statements {
            if let Some(why) = &statement.destructive {
                out.push_str(&format!("-- destructive: {why}\n"));
            }
            out.push_str(statement.sql.trim_end());
            out.push_str(";\n");
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdlError {
    #[error(
        "objects of kinds retort does not model cannot be generated: {}",
        .0.join(", ")
    )]
    Unmodeled(Vec<String>),
}

/// The statements that turn `from` into `to`.
pub fn generate(from: &Snapshot, to: &Snapshot, options: DdlOptions) -> Result<Script, DdlError> {
    let unmodeled: BTreeSet<&String> = from.unmodeled.iter().chain(&to.unmodeled).collect();
    if !unmodeled.is_empty() {
        return Err(DdlError::Unmodeled(
            unmodeled.into_iter().cloned().collect(),
        ));
    }
    let mut g = Generator::new(from, to, options);
    g.take_away();
    g.build();
    Ok(g.finish())
}

/// A kind of object's keys on both sides.
struct Sides<'a> {
    from: &'a Snapshot,
    to: &'a Snapshot,
}

impl<'a> Sides<'a> {
    fn removed(&self, kind: ObjectKind) -> Vec<(&'a ObjectKey, &'a Object)> {
        let to = self.to;
        self.from
            .of_kind(kind)
            .filter(move |(k, _)| to.get(k).is_none())
            .collect()
    }

    fn added(&self, kind: ObjectKind) -> Vec<(&'a ObjectKey, &'a Object)> {
        let from = self.from;
        self.to
            .of_kind(kind)
            .filter(move |(k, _)| from.get(k).is_none())
            .collect()
    }

    /// Objects on both sides that differ: key, before, after.
    fn changed(&self, kind: ObjectKind) -> Vec<(&'a ObjectKey, &'a Object, &'a Object)> {
        let to = self.to;
        self.from
            .of_kind(kind)
            .filter_map(move |(k, before)| {
                let after = to.get(k)?;
                (before != after).then_some((k, before, after))
            })
            .collect()
    }
}

/// Where in the build half a function is created. A `language sql` body is
/// checked when it is created, and a signature may name a row type, so a
/// function naming a table or view waits for the tables; one naming none
/// comes before them, so domains, defaults, generated expressions and
/// checks can call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FunctionStep {
    BeforeTables,
    /// Names a relation and is called by an expression created here: after
    /// the tables, before the columns and constraints that call it.
    BeforeColumns,
    AfterConstraints,
}

struct Generator<'a> {
    sides: Sides<'a>,
    options: DdlOptions,
    out: Vec<Statement>,
    unexpressed: Vec<String>,
    /// Views and materialized views dropped and created again.
    rebuilt_views: BTreeSet<ObjectKey>,
    /// Constraints dropped in the first half and added in the second.
    replaced_constraints: BTreeSet<ObjectKey>,
    /// Enums rebuilt under a new definition (a value removed or moved).
    rebuilt_enums: BTreeSet<ObjectKey>,
    /// Columns dropped and added again (a generated expression changed).
    readded_columns: BTreeSet<ObjectKey>,
    /// Kept sequences set `OWNED BY NONE` before their owner is dropped.
    disowned_sequences: BTreeSet<ObjectKey>,
    /// Functions and procedures created (or replaced), with their step.
    function_steps: BTreeMap<ObjectKey, FunctionStep>,
    /// Columns of created tables whose default calls a function created
    /// after the tables: the default is set once the function exists.
    deferred_defaults: BTreeSet<ObjectKey>,
    transactional: bool,
}

/// `schema.name` as SQL, `public` left out.
fn qualified(schema: &str, name: &str) -> String {
    match schema {
        "" | "public" => ident(name),
        _ => format!("{}.{}", ident(schema), ident(name)),
    }
}

fn key_name(key: &ObjectKey) -> String {
    qualified(&key.schema, &key.name)
}

/// The part's own name in a `table.part` key.
fn part_name<'k>(key: &'k ObjectKey, table: &str) -> &'k str {
    key.name
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(&key.name)
}

fn table_of(schema: &str, table: &str) -> String {
    qualified(schema, table)
}

/// Whether `text` names `name` as a whole word (not inside a longer
/// identifier): how a view's definition is searched for what it reads.
fn mentions(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut start = 0;
    while let Some(at) = text[start..].find(name) {
        let begin = start + at;
        let end = begin + name.len();
        let before_ok = text[..begin]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_ident(c));
        if before_ok && after_ok {
            return true;
        }
        start = end;
    }
    false
}

fn is_view_kind(kind: ObjectKind) -> bool {
    matches!(kind, ObjectKind::View | ObjectKind::MaterializedView)
}

fn view_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::MaterializedView => "MATERIALIZED VIEW",
        _ => "VIEW",
    }
}

/// The parent a partition or child table needs first.
fn parent_of(table: &Table) -> Option<String> {
    if let Some(of) = &table.partition_of {
        let end = of
            .find(" FOR VALUES")
            .or_else(|| of.find(" DEFAULT"))
            .unwrap_or(of.len());
        return Some(of[..end].to_string());
    }
    table
        .inherits
        .as_ref()
        .map(|list| list.split(", ").next().unwrap_or_default().to_string())
}

/// Identity sequence options as `CREATE SEQUENCE` options, without the
/// data type (an identity's follows its column).
fn identity_options(text: &str) -> String {
    match text.strip_prefix("as ") {
        Some(rest) => rest
            .split_once(' ')
            .map(|(_, o)| o)
            .unwrap_or("")
            .to_string(),
        None => text.to_string(),
    }
}

/// Types a value always fits in after the change; anything else may not.
fn is_widening(before: &str, after: &str) -> bool {
    let rank = |t: &str| match t {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        "numeric" => Some(4),
        _ => None,
    };
    if let (Some(a), Some(b)) = (rank(before), rank(after)) {
        return a < b;
    }
    let length = |t: &str, base: &str| -> Option<u32> {
        t.strip_prefix(base)?
            .strip_prefix('(')?
            .strip_suffix(')')?
            .parse()
            .ok()
    };
    for base in ["character varying", "character"] {
        if let (Some(a), Some(b)) = (length(before, base), length(after, base)) {
            return a <= b;
        }
    }
    matches!(
        (before, after),
        ("real", "double precision")
            | ("timestamp without time zone", "timestamp with time zone")
            | (_, "text")
    ) || (before.starts_with("character varying") && after == "character varying")
}

impl<'a> Generator<'a> {
    fn new(from: &'a Snapshot, to: &'a Snapshot, options: DdlOptions) -> Generator<'a> {
        Generator {
            sides: Sides { from, to },
            options,
            out: Vec::new(),
            unexpressed: Vec::new(),
            rebuilt_views: BTreeSet::new(),
            replaced_constraints: BTreeSet::new(),
            rebuilt_enums: BTreeSet::new(),
            readded_columns: BTreeSet::new(),
            disowned_sequences: BTreeSet::new(),
            function_steps: BTreeMap::new(),
            deferred_defaults: BTreeSet::new(),
            transactional: true,
        }
    }

    fn push(&mut self, sql: String) {
        self.out.push(Statement {
            sql,
            destructive: None,
        });
    }

    fn push_destructive(&mut self, sql: String, why: String) {
        self.out.push(Statement {
            sql,
            destructive: Some(why),
        });
    }

    fn finish(self) -> Script {
        Script {
            statements: self.out,
            unexpressed: self.unexpressed,
            transactional: self.transactional,
        }
    }

    fn table_dropped(&self, schema: &str, table: &str) -> bool {
        let key = ObjectKey::new(ObjectKind::Table, schema, table);
        self.sides.from.get(&key).is_some() && self.sides.to.get(&key).is_none()
    }

    fn table_created(&self, schema: &str, table: &str) -> bool {
        let key = ObjectKey::new(ObjectKind::Table, schema, table);
        self.sides.from.get(&key).is_none() && self.sides.to.get(&key).is_some()
    }

    /// Whether the relation a part belongs to is new (a table or a
    /// materialized view), so the part comes with it.
    fn owner_created(&self, schema: &str, relation: &str) -> bool {
        let new = |kind| {
            let key = ObjectKey::new(kind, schema, relation);
            self.sides.from.get(&key).is_none() && self.sides.to.get(&key).is_some()
        };
        new(ObjectKind::Table) || new(ObjectKind::MaterializedView)
    }

    fn owner_dropped(&self, schema: &str, relation: &str) -> bool {
        let gone = |kind| {
            let key = ObjectKey::new(kind, schema, relation);
            self.sides.from.get(&key).is_some() && self.sides.to.get(&key).is_none()
        };
        gone(ObjectKind::Table)
            || gone(ObjectKind::MaterializedView)
            || self.rebuilt_views.contains(&ObjectKey::new(
                ObjectKind::MaterializedView,
                schema,
                relation,
            ))
    }

    // ---- the first half: taking away ----

    fn take_away(&mut self) {
        self.plan_rebuilds();
        self.drop_parts(ObjectKind::Policy);
        self.drop_parts(ObjectKind::Trigger);
        self.drop_views();
        self.drop_constraints(true);
        self.drop_constraints(false);
        self.drop_indexes();
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
        self.drop_simple(ObjectKind::Domain, "DOMAIN");
        self.drop_simple(ObjectKind::CompositeType, "TYPE");
        self.drop_simple(ObjectKind::Enum, "TYPE");
        self.drop_extensions_and_schemas();
    }

    /// Decides what is rebuilt rather than altered: enums that lose or
    /// move a value, columns whose generated expression changes, views
    /// over a changed column or type or view, foreign keys onto a changed
    /// key.
    fn plan_rebuilds(&mut self) {
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
        for (_, object) in self.sides.from.of_kind(ObjectKind::Column) {
            if let Object::Column(c) = object
                && enum_names.contains(&c.data_type.trim_end_matches("[]").to_string())
            {
                touched_tables.insert(c.table.clone());
            }
        }
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

    /// Constraints that differ, and the foreign keys that point at a
    /// primary key or unique constraint that is replaced.
    fn plan_replaced_constraints(&mut self) {
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
    fn drop_parts(&mut self, kind: ObjectKind) {
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
            if after.is_some() && !definition_differs(object, after) {
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

    fn drop_views(&mut self) {
        let order = view_order(self.sides.from);
        for key in order.iter().rev() {
            if self.rebuilt_views.contains(key) || self.sides.to.get(key).is_none() {
                self.push(format!("DROP {} {}", view_word(key.kind), key_name(key)));
            }
        }
    }

    /// Functions and procedures that go: removed, or replaced under a new
    /// return type (which `CREATE OR REPLACE` cannot change).
    fn dropped_functions(&self) -> Vec<(&'a ObjectKey, &'a Function)> {
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
    fn dropped_table_expressions(&self) -> Vec<&'a str> {
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
    fn drop_functions(&mut self, after_tables: bool) {
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
    fn loosen_domains(&mut self) {
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

    fn drop_constraints(&mut self, foreign: bool) {
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

    fn drop_indexes(&mut self) {
        let mut drops = Vec::new();
        for (key, object) in self.sides.from.of_kind(ObjectKind::Index) {
            let Object::Index(index) = object else {
                continue;
            };
            if self.owner_dropped(&key.schema, &index.table) {
                continue;
            }
            if !definition_differs(object, self.sides.to.get(key)) {
                continue;
            }
            drops.push(format!("DROP INDEX {}", key_name(key)));
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    /// Defaults and identities that go or change, and generated
    /// expressions that go, before the sequences they use are dropped.
    fn loosen_columns(&mut self) {
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
    fn column_dropped(&self, key: &ObjectKey, column: &Column) -> bool {
        self.table_dropped(&key.schema, &column.table)
            || self.sides.to.get(key).is_none()
            || self.readded_columns.contains(key)
    }

    /// Dropping a table or column drops the sequences it owns: those the
    /// target keeps are released first (`sequence_ownership` sets their
    /// owner in the target at the end).
    fn disown_sequences(&mut self) {
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

    fn drop_columns(&mut self) {
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
    fn is_inherited_column(&self, key: &ObjectKey, column: &Column) -> bool {
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

    fn detach_partitions(&mut self) {
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

    fn drop_tables(&mut self) {
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

    fn drop_simple(&mut self, kind: ObjectKind, word: &str) {
        let drops: Vec<String> = self
            .sides
            .removed(kind)
            .into_iter()
            .map(|(key, _)| format!("DROP {word} {}", key_name(key)))
            .collect();
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    fn drop_extensions_and_schemas(&mut self) {
        let mut drops = Vec::new();
        for (key, _) in self.sides.removed(ObjectKind::Extension) {
            drops.push(format!("DROP EXTENSION {}", ident(&key.name)));
        }
        for (key, _) in self.sides.removed(ObjectKind::Schema) {
            drops.push(format!("DROP SCHEMA {}", ident(&key.name)));
        }
        drops.into_iter().for_each(|sql| self.push(sql));
    }

    // ---- the second half: building ----

    fn build(&mut self) {
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
        self.triggers();
        self.policies();
        self.sequence_ownership();
        self.comments();
        self.note_unexpressed();
    }

    fn create_schemas_and_extensions(&mut self) {
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

    fn enums(&mut self) {
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
    fn add_enum_values(&mut self, key: &ObjectKey, before: &[String], after: &[String]) {
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
    fn rebuild_enum(&mut self, key: &ObjectKey, before: &EnumType, after: &EnumType) {
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
    fn domains(&mut self) {
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
    fn alter_domain(&mut self, key: &ObjectKey, b: &Domain, a: &Domain) {
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
    fn add_domain_parts(
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
    fn domain_calls(&mut self) {
        for (key, object) in self.sides.to.of_kind(ObjectKind::Domain) {
            let Object::Domain(a) = object else { continue };
            let before = match self.sides.from.get(key) {
                Some(Object::Domain(b)) => Some(b),
                _ => None,
            };
            self.add_domain_parts(key, before, a, true);
        }
    }

    fn composite_types(&mut self) {
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

    fn sequences(&mut self) {
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

    /// Names of the target's tables and views: what a signature or a SQL
    /// body may need created first.
    fn target_relations(&self) -> Vec<&'a str> {
        self.sides
            .to
            .objects
            .keys()
            .filter(|k| k.kind == ObjectKind::Table || is_view_kind(k.kind))
            .map(|k| k.name.as_str())
            .collect()
    }

    /// The expressions this script creates that may call a function:
    /// column defaults and generated expressions, constraints, domain
    /// defaults and checks.
    fn created_expressions(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a String> = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Column) {
            let Object::Column(a) = object else { continue };
            let before = match self.sides.from.get(key) {
                Some(Object::Column(b)) if !self.readded_columns.contains(key) => Some(b),
                _ => None,
            };
            if before.is_none_or(|b| b.default != a.default) {
                out.extend(&a.default);
            }
            if before.is_none_or(|b| b.generated != a.generated) {
                out.extend(&a.generated);
            }
        }
        for (key, object) in self.sides.to.of_kind(ObjectKind::Constraint) {
            if let Object::Constraint(c) = object
                && (self.sides.from.get(key).is_none() || self.replaced_constraints.contains(key))
            {
                out.push(&c.definition);
            }
        }
        for (key, object) in self.sides.to.of_kind(ObjectKind::Domain) {
            let Object::Domain(a) = object else { continue };
            let before = match self.sides.from.get(key) {
                Some(Object::Domain(b)) => Some(b),
                _ => None,
            };
            let (default, checks) = domain_additions(before, a);
            out.extend(default);
            out.extend(checks);
        }
        out.into_iter().map(String::as_str).collect()
    }

    /// Decides the step of every function created or replaced, and which
    /// defaults of created tables wait for theirs.
    fn plan_functions(&mut self) {
        let relations = self.target_relations();
        let expressions = self.created_expressions();
        let created: Vec<(&ObjectKey, &Function)> = [ObjectKind::Function, ObjectKind::Procedure]
            .into_iter()
            .flat_map(|kind| self.sides.to.of_kind(kind))
            .filter_map(|(key, object)| match (object, self.sides.from.get(key)) {
                (Object::Function(a), Some(Object::Function(b))) if same_definition(b, a) => None,
                (Object::Function(a), _) => Some((key, a)),
                _ => None,
            })
            .collect();
        let called = called_functions(&created, &expressions);
        let mut steps: BTreeMap<ObjectKey, FunctionStep> = created
            .iter()
            .map(|(key, f)| {
                let names_relation = relations.iter().any(|r| {
                    names_in_signature(f, r) || (f.language == "sql" && mentions(&f.body, r))
                });
                let step = match (names_relation, called.contains(*key)) {
                    (false, _) => FunctionStep::BeforeTables,
                    (true, true) => FunctionStep::BeforeColumns,
                    (true, false) => FunctionStep::AfterConstraints,
                };
                ((*key).clone(), step)
            })
            .collect();
        // A SQL body is checked when created: it waits for the functions it
        // calls.
        loop {
            let mut moved = false;
            for (key, f) in created.iter().filter(|(_, f)| f.language == "sql") {
                let latest = created
                    .iter()
                    .filter(|(other, g)| other != key && mentions(&f.body, &g.name))
                    .filter_map(|(other, _)| steps.get(*other).copied())
                    .max();
                if let Some(latest) = latest
                    && latest > steps[*key]
                {
                    steps.insert((*key).clone(), latest);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        self.function_steps = steps;
        self.plan_deferred_defaults();
    }

    /// Defaults of created tables that call a function created after the
    /// tables.
    fn plan_deferred_defaults(&mut self) {
        let late: Vec<&str> = self
            .function_steps
            .iter()
            .filter(|(_, step)| **step > FunctionStep::BeforeTables)
            .filter_map(|(key, _)| match self.sides.to.get(key) {
                Some(Object::Function(f)) => Some(f.name.as_str()),
                _ => None,
            })
            .collect();
        let mut deferred = BTreeSet::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Column) {
            if let Object::Column(c) = object
                && self.table_created(&key.schema, &c.table)
                && c.default
                    .as_deref()
                    .is_some_and(|d| late.iter().any(|f| mentions(d, f)))
            {
                deferred.insert(key.clone());
            }
        }
        self.deferred_defaults = deferred;
    }

    /// Whether `text` calls a function this script creates or replaces.
    fn calls_created_function(&self, text: &str) -> bool {
        self.function_steps
            .keys()
            .any(|key| match self.sides.to.get(key) {
                Some(Object::Function(f)) => mentions(text, &f.name),
                _ => false,
            })
    }

    /// The functions of one step, each after those its SQL body calls.
    fn functions(&mut self, step: FunctionStep) {
        let chosen: Vec<&Function> = self
            .function_steps
            .iter()
            .filter(|(_, s)| **s == step)
            .filter_map(|(key, _)| match self.sides.to.get(key) {
                Some(Object::Function(f)) => Some(f),
                _ => None,
            })
            .collect();
        let statements: Vec<String> = function_order(chosen)
            .into_iter()
            .map(|f| f.definition.clone())
            .collect();
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    /// Defaults left out of `CREATE TABLE` until the functions they call
    /// exist.
    fn deferred_defaults(&mut self) {
        let mut statements = Vec::new();
        for key in &self.deferred_defaults {
            if let Some(Object::Column(c)) = self.sides.to.get(key) {
                statements.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}",
                    table_of(&key.schema, &c.table),
                    ident(&c.name),
                    c.default.as_deref().unwrap_or_default()
                ));
            }
        }
        statements.into_iter().for_each(|sql| self.push(sql));
    }

    fn tables(&mut self) {
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

    fn create_table(&self, key: &ObjectKey, t: &Table) -> String {
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
    fn table_flags(&mut self, key: &ObjectKey, before: Option<&Table>, after: &Table) {
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

    fn alter_table(&mut self, key: &ObjectKey, b: &Table, a: &Table) {
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

    fn columns(&mut self) {
        for (key, object) in self.sides.to.of_kind(ObjectKind::Column) {
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

    fn alter_column(&mut self, key: &ObjectKey, b: &Column, a: &Column) {
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
            let sql = format!(
                "{alter} TYPE {}{collate} USING {}::{}",
                a.data_type,
                ident(&a.name),
                a.data_type
            );
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

    fn set_not_null(&mut self, key: &ObjectKey, c: &Column) {
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

    fn constraints(&mut self, foreign: bool) {
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

    fn create_views(&mut self) {
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

    fn indexes(&mut self) {
        let mut creates = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Index) {
            let Object::Index(index) = object else {
                continue;
            };
            let matview = ObjectKey::new(ObjectKind::MaterializedView, &key.schema, &index.table);
            let recreated_with_view = self.rebuilt_views.contains(&matview);
            let before = self.sides.from.get(key);
            if !recreated_with_view && !definition_differs_opt(before, Some(object)) {
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

    fn triggers(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Trigger) {
            let Object::Trigger(t) = object else { continue };
            let before = self.sides.from.get(key);
            let fresh =
                before.is_none() || definition_differs(before.expect("checked"), Some(object));
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

    fn policies(&mut self) {
        let mut statements = Vec::new();
        for (key, object) in self.sides.to.of_kind(ObjectKind::Policy) {
            let Object::Policy(p) = object else { continue };
            if !definition_differs_opt(self.sides.from.get(key), Some(object)) {
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

    fn sequence_ownership(&mut self) {
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
    fn comments(&mut self) {
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
    fn recreated(&self, key: &ObjectKey, before: &Object, after: &Object) -> bool {
        match key.kind {
            ObjectKind::View | ObjectKind::MaterializedView => self.rebuilt_views.contains(key),
            ObjectKind::Constraint => self.replaced_constraints.contains(key),
            ObjectKind::Column => self.readded_columns.contains(key),
            ObjectKind::Index | ObjectKind::Trigger | ObjectKind::Policy => {
                definition_differs(before, Some(after))
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

    fn note_unexpressed(&mut self) {
        for (key, before, after) in self.sides.changed(ObjectKind::Table) {
            let (Object::Table(b), Object::Table(a)) = (before, after) else {
                continue;
            };
            let keep = |from: &[String], other: &[String]| -> Vec<String> {
                from.iter().filter(|c| other.contains(c)).cloned().collect()
            };
            let old = keep(&b.column_order, &a.column_order);
            let new = keep(&a.column_order, &b.column_order);
            // Added columns land last: the target's order is reached only
            // when they stand last there too.
            let added_last = a
                .column_order
                .iter()
                .skip_while(|c| b.column_order.contains(c))
                .all(|c| !b.column_order.contains(c));
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

/// Whether a function's arguments or result name `relation` (a row type).
fn names_in_signature(f: &Function, relation: &str) -> bool {
    mentions(&f.arguments, relation) || f.returns.as_deref().is_some_and(|r| mentions(r, relation))
}

/// A domain's default and checks that `after` has and `before` has not.
fn domain_additions<'d>(
    before: Option<&Domain>,
    after: &'d Domain,
) -> (Option<&'d String>, Vec<&'d String>) {
    let default = after
        .default
        .as_ref()
        .filter(|_| before.is_none_or(|b| b.default != after.default));
    let checks = after
        .checks
        .iter()
        .filter(|c| before.is_none_or(|b| !b.checks.contains(c)))
        .collect();
    (default, checks)
}

/// The created functions `expressions` call, and those their SQL bodies
/// call in turn.
fn called_functions(
    created: &[(&ObjectKey, &Function)],
    expressions: &[&str],
) -> BTreeSet<ObjectKey> {
    let mut called: BTreeSet<ObjectKey> = created
        .iter()
        .filter(|(_, f)| expressions.iter().any(|e| mentions(e, &f.name)))
        .map(|(key, _)| (*key).clone())
        .collect();
    loop {
        let more: Vec<ObjectKey> = created
            .iter()
            .filter(|(key, _)| !called.contains(*key))
            .filter(|(_, g)| {
                created.iter().any(|(key, f)| {
                    called.contains(*key) && f.language == "sql" && mentions(&f.body, &g.name)
                })
            })
            .map(|(key, _)| (*key).clone())
            .collect();
        if more.is_empty() {
            return called;
        }
        called.extend(more);
    }
}

/// Functions, each after the others its SQL body calls (a body that
/// calls in a circle keeps the given order).
fn function_order(functions: Vec<&Function>) -> Vec<&Function> {
    let mut pending = functions;
    let mut done = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        let waiting: Vec<String> = pending.iter().map(|f| f.name.clone()).collect();
        let (ready, wait): (Vec<&Function>, Vec<&Function>) = pending.into_iter().partition(|f| {
            f.language != "sql"
                || !waiting
                    .iter()
                    .any(|other| *other != f.name && mentions(&f.body, other))
        });
        done.extend(ready);
        pending = wait;
        if pending.len() == before {
            done.append(&mut pending);
        }
    }
    done
}

fn is_subsequence(old: &[String], new: &[String]) -> bool {
    let mut rest = new.iter();
    old.iter().all(|v| rest.any(|n| n == v))
}

fn create_enum(name: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| literal(v)).collect();
    format!("CREATE TYPE {name} AS ENUM ({})", values.join(", "))
}

/// `name: CHECK (...)` into its name and definition.
fn split_check(check: &str) -> (&str, &str) {
    check.split_once(": ").unwrap_or(("", check))
}

/// A column as `CREATE TABLE` or `ADD COLUMN` spells it.
fn column_definition(c: &Column) -> String {
    let mut sql = format!("{} {}", ident(&c.name), c.data_type);
    if let Some(collation) = &c.collation {
        sql.push_str(&format!(" COLLATE {collation}"));
    }
    if let Some(expression) = &c.generated {
        sql.push_str(&format!(" GENERATED ALWAYS AS ({expression}) STORED"));
    }
    if let Some(default) = &c.default {
        sql.push_str(&format!(" DEFAULT {default}"));
    }
    if let Some(kind) = &c.identity {
        let options = identity_options(c.identity_sequence.as_deref().unwrap_or(""));
        sql.push_str(&format!(
            " GENERATED {} AS IDENTITY ({options})",
            kind.to_uppercase()
        ));
    }
    if c.not_null {
        sql.push_str(" NOT NULL");
    }
    sql
}

/// `start 1 increment 1 ... no cycle` as `SET START 1 SET INCREMENT 1 ...`.
fn set_options(options: &str) -> String {
    let words: Vec<&str> = options.split_whitespace().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < words.len() {
        match words[at] {
            "no" if at + 1 < words.len() => {
                out.push(format!("SET NO {}", words[at + 1].to_uppercase()));
                at += 2;
            }
            "cycle" => {
                out.push("SET CYCLE".to_string());
                at += 1;
            }
            word if at + 1 < words.len() => {
                out.push(format!("SET {} {}", word.to_uppercase(), words[at + 1]));
                at += 2;
            }
            _ => at += 1,
        }
    }
    out.join(" ")
}

/// `table.column` of a sequence's owner (the table as `regclass` text) as
/// SQL.
fn owned_by_sql(owner: &str) -> String {
    match owner.rsplit_once('.') {
        Some((table, column)) => format!("{table}.{}", ident(column)),
        None => owner.to_string(),
    }
}

fn part_table(object: &Object) -> &str {
    match object {
        Object::Column(c) => &c.table,
        Object::Constraint(c) => &c.table,
        Object::Index(i) => &i.table,
        Object::Trigger(t) => &t.table,
        Object::Policy(p) => &p.table,
        _ => "",
    }
}

/// `$object`'s `meta` field, whatever its kind, as `$($borrow)*`.
macro_rules! meta_field {
    ($object:expr, $($borrow:tt)*) => {
        match $object {
            Object::Schema(o) => $($borrow)* o.meta,
            Object::Extension(o) => $($borrow)* o.meta,
            Object::Enum(o) => $($borrow)* o.meta,
            Object::Domain(o) => $($borrow)* o.meta,
            Object::CompositeType(o) => $($borrow)* o.meta,
            Object::Sequence(o) => $($borrow)* o.meta,
            Object::Table(o) => $($borrow)* o.meta,
            Object::Column(o) => $($borrow)* o.meta,
            Object::Constraint(o) => $($borrow)* o.meta,
            Object::Index(o) => $($borrow)* o.meta,
            Object::View(o) => $($borrow)* o.meta,
            Object::Function(o) => $($borrow)* o.meta,
            Object::Trigger(o) => $($borrow)* o.meta,
            Object::Policy(o) => $($borrow)* o.meta,
        }
    };
}

fn meta_of(object: &Object) -> &Meta {
    meta_field!(object, &)
}

/// The object without its comment, owner and grants (what a drop and
/// create changes), compared.
fn without_meta(object: &Object) -> Object {
    let mut copy = object.clone();
    let meta = meta_field!(&mut copy, &mut);
    *meta = Meta::default();
    if let Object::Trigger(t) = &mut copy {
        // Enabling is an ALTER of its own.
        t.enabled = String::new();
    }
    copy
}

/// Whether the object's definition (not its comment, owner, grants or
/// enabled state) differs, or it is missing on the other side.
fn definition_differs(before: &Object, after: Option<&Object>) -> bool {
    after.is_none_or(|a| without_meta(before) != without_meta(a))
}

fn definition_differs_opt(before: Option<&Object>, after: Option<&Object>) -> bool {
    match (before, after) {
        (Some(b), a) => definition_differs(b, a),
        (None, _) => true,
    }
}

fn only_comment_differs(before: &Object, after: Option<&Object>) -> bool {
    !definition_differs(before, after)
}

fn same_definition(before: &Function, after: &Function) -> bool {
    let mut b = before.clone();
    let mut a = after.clone();
    b.meta = Meta::default();
    a.meta = Meta::default();
    a == b
}

fn function_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Procedure => "PROCEDURE",
        _ => "FUNCTION",
    }
}

/// `name(arguments)` with the name quoted and qualified.
fn function_name(key: &ObjectKey) -> String {
    match key.name.split_once('(') {
        Some((name, rest)) => format!("{}({rest}", qualified(&key.schema, name)),
        None => key_name(key),
    }
}

fn comment_target(key: &ObjectKey, object: &Object) -> String {
    let part = |word: &str, table: &str| {
        format!(
            "{word} {} ON {}",
            ident(part_name(key, table)),
            table_of(&key.schema, table)
        )
    };
    match object {
        Object::Column(c) => format!(
            "COLUMN {}.{}",
            table_of(&key.schema, &c.table),
            ident(&c.name)
        ),
        Object::Constraint(c) => part("CONSTRAINT", &c.table),
        Object::Trigger(t) => part("TRIGGER", &t.table),
        Object::Policy(p) => part("POLICY", &p.table),
        Object::Function(_) => format!("{} {}", function_word(key.kind), function_name(key)),
        Object::Schema(_) => format!("SCHEMA {}", ident(&key.name)),
        Object::Extension(_) => format!("EXTENSION {}", ident(&key.name)),
        Object::Enum(_) | Object::CompositeType(_) => format!("TYPE {}", key_name(key)),
        Object::Domain(_) => format!("DOMAIN {}", key_name(key)),
        Object::Sequence(_) => format!("SEQUENCE {}", key_name(key)),
        Object::Table(_) => format!("TABLE {}", key_name(key)),
        Object::Index(_) => format!("INDEX {}", key_name(key)),
        Object::View(_) => format!("{} {}", view_word(key.kind), key_name(key)),
    }
}

/// Tables in `keys`, each after the parent it is a partition or child of.
fn table_order(snapshot: &Snapshot, keys: &[ObjectKey]) -> Vec<ObjectKey> {
    let mut pending: Vec<ObjectKey> = keys.to_vec();
    let mut done: Vec<ObjectKey> = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        let names: Vec<String> = pending.iter().map(key_name).collect();
        let (ready, wait): (Vec<ObjectKey>, Vec<ObjectKey>) = pending.into_iter().partition(|k| {
            let parent = match snapshot.get(k) {
                Some(Object::Table(t)) => parent_of(t),
                _ => None,
            };
            parent.is_none_or(|p| !names.contains(&p))
        });
        done.extend(ready);
        pending = wait;
        if pending.len() == before {
            done.append(&mut pending);
        }
    }
    done
}

/// Views and materialized views, each after the views it reads.
fn view_order(snapshot: &Snapshot) -> Vec<ObjectKey> {
    let views: Vec<(ObjectKey, String)> = snapshot
        .objects
        .iter()
        .filter(|(k, _)| is_view_kind(k.kind))
        .filter_map(|(k, o)| match o {
            Object::View(v) => Some((k.clone(), v.definition.clone())),
            _ => None,
        })
        .collect();
    let mut pending = views;
    let mut done: Vec<ObjectKey> = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        let waiting: Vec<String> = pending.iter().map(|(k, _)| k.name.clone()).collect();
        let (ready, wait): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(k, def)| {
            !waiting
                .iter()
                .any(|other| *other != k.name && mentions(def, other))
        });
        done.extend(ready.into_iter().map(|(k, _)| k));
        pending = wait;
        if pending.len() == before {
            done.extend(pending.drain(..).map(|(k, _)| k));
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_matches_whole_words_only() {
        assert!(mentions("SELECT users.id FROM users", "users"));
        assert!(!mentions("SELECT id FROM users_archive", "users"));
        assert!(!mentions("SELECT id FROM my_users", "users"));
    }

    #[test]
    fn identity_options_drop_the_type() {
        assert_eq!(
            identity_options(
                "as integer start 1 increment 1 minvalue 1 maxvalue 9 cache 1 no cycle"
            ),
            "start 1 increment 1 minvalue 1 maxvalue 9 cache 1 no cycle"
        );
        assert_eq!(
            set_options("start 5 increment 2 no cycle"),
            "SET START 5 SET INCREMENT 2 SET NO CYCLE"
        );
    }

    #[test]
    fn widening_is_told_from_narrowing() {
        assert!(is_widening("integer", "bigint"));
        assert!(!is_widening("bigint", "integer"));
        assert!(is_widening(
            "character varying(10)",
            "character varying(20)"
        ));
        assert!(!is_widening(
            "character varying(20)",
            "character varying(10)"
        ));
        assert!(is_widening("character varying(20)", "text"));
    }

    #[test]
    fn unmodeled_objects_are_an_error() {
        let mut to = Snapshot::default();
        to.unmodeled.push("rule public.r".into());
        let error = generate(&Snapshot::default(), &to, DdlOptions::default()).unwrap_err();
        assert_eq!(error, DdlError::Unmodeled(vec!["rule public.r".into()]));
    }

    #[test]
    fn enum_values_added_in_the_middle_are_placed_before_the_next_old_one() {
        let key = ObjectKey::new(ObjectKind::Enum, "public", "mood");
        let make = |values: &[&str]| {
            let mut s = Snapshot::default();
            s.insert(
                key.clone(),
                Object::Enum(EnumType {
                    values: values.iter().map(|v| v.to_string()).collect(),
                    meta: Meta::default(),
                }),
            );
            s
        };
        let script = generate(
            &make(&["sad", "happy"]),
            &make(&["sad", "ok", "happy", "glad"]),
            DdlOptions::default(),
        )
        .expect("script");
        assert_eq!(
            script.sql(),
            "ALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy';\nALTER TYPE mood ADD VALUE 'glad';\n"
        );
    }

    fn column(table: &str, name: &str, default: Option<&str>, generated: Option<&str>) -> Column {
        Column {
            table: table.into(),
            name: name.into(),
            data_type: "text".into(),
            not_null: false,
            default: default.map(str::to_string),
            identity: None,
            identity_sequence: None,
            generated: generated.map(str::to_string),
            collation: None,
            meta: Meta::default(),
        }
    }

    /// A table in `public` with these columns, in this order.
    fn add_table(snapshot: &mut Snapshot, name: &str, columns: Vec<Column>) {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        snapshot.insert(
            ObjectKey::new(ObjectKind::Table, "public", name),
            Object::Table(Table::plain(&names)),
        );
        for c in columns {
            let key = ObjectKey::new(ObjectKind::Column, "public", &format!("{name}.{}", c.name));
            snapshot.insert(key, Object::Column(c));
        }
    }

    fn add_sequence(snapshot: &mut Snapshot, name: &str, owned_by: &str) {
        snapshot.insert(
            ObjectKey::new(ObjectKind::Sequence, "public", name),
            Object::Sequence(Sequence {
                data_type: "bigint".into(),
                start: 1,
                increment: 1,
                min: 1,
                max: i64::MAX,
                cache: 1,
                cycle: false,
                owned_by: Some(owned_by.into()),
                meta: Meta::default(),
            }),
        );
    }

    /// A `language sql` function of one `text` argument returning `text`.
    fn add_sql_function(snapshot: &mut Snapshot, name: &str, body: &str) {
        snapshot.insert(
            ObjectKey::new(ObjectKind::Function, "public", &format!("{name}(text)")),
            Object::Function(Function {
                name: name.into(),
                arguments: "text".into(),
                returns: Some("text".into()),
                language: "sql".into(),
                volatility: "immutable".into(),
                security: "invoker".into(),
                strict: false,
                config: None,
                body: body.into(),
                definition: format!("CREATE FUNCTION {name}(text) RETURNS text AS '{body}'"),
                meta: Meta::default(),
            }),
        );
    }

    /// Where each of `parts` starts in `sql`, asserting they come in this
    /// order.
    fn assert_in_order(sql: &str, parts: &[&str]) {
        let at: Vec<usize> = parts
            .iter()
            .map(|p| sql.find(p).unwrap_or_else(|| panic!("no {p:?} in:\n{sql}")))
            .collect();
        assert!(at.is_sorted(), "{parts:?} out of order in:\n{sql}");
    }

    #[test]
    fn a_kept_sequence_is_released_before_its_owner_is_dropped() {
        let default = Some("nextval('packages_id_seq'::regclass)");
        let mut from = Snapshot::default();
        add_sequence(&mut from, "packages_id_seq", "packages.id");
        add_table(
            &mut from,
            "packages",
            vec![column("packages", "id", default, None)],
        );
        let mut to = Snapshot::default();
        add_sequence(&mut to, "packages_id_seq", "crates.id");
        add_table(
            &mut to,
            "crates",
            vec![column("crates", "id", default, None)],
        );
        let sql = generate(&from, &to, DdlOptions::default())
            .expect("script")
            .sql();
        assert_in_order(
            &sql,
            &[
                "ALTER SEQUENCE packages_id_seq OWNED BY NONE;",
                "DROP TABLE packages;",
                "CREATE TABLE crates",
                "ALTER SEQUENCE packages_id_seq OWNED BY crates.id;",
            ],
        );
        // A sequence that goes with its table is not released first.
        let sql = generate(&from, &Snapshot::default(), DdlOptions::default())
            .expect("script")
            .sql();
        assert!(!sql.contains("OWNED BY NONE"), "{sql}");
    }

    #[test]
    fn a_kept_sequence_is_released_before_its_owning_column_is_dropped() {
        let default = Some("nextval('s'::regclass)");
        let mut from = Snapshot::default();
        add_sequence(&mut from, "s", "t.old_n");
        add_table(&mut from, "t", vec![column("t", "old_n", default, None)]);
        let mut to = Snapshot::default();
        add_sequence(&mut to, "s", "t.new_n");
        add_table(&mut to, "t", vec![column("t", "new_n", default, None)]);
        let sql = generate(&from, &to, DdlOptions::default())
            .expect("script")
            .sql();
        assert_in_order(
            &sql,
            &[
                "ALTER SEQUENCE s OWNED BY NONE;",
                "ALTER TABLE t DROP COLUMN old_n;",
                "ALTER TABLE t ADD COLUMN new_n",
                "ALTER SEQUENCE s OWNED BY t.new_n;",
            ],
        );
    }

    #[test]
    fn a_sql_function_comes_before_the_generated_column_calling_it_and_goes_after() {
        let num = column("versions", "num", None, None);
        let mut from = Snapshot::default();
        add_table(&mut from, "versions", vec![num.clone()]);
        let mut to = Snapshot::default();
        let generated = "to_semver_no_prerelease((num)::text)";
        add_table(
            &mut to,
            "versions",
            vec![num, column("versions", "semver", None, Some(generated))],
        );
        add_sql_function(
            &mut to,
            "to_semver_no_prerelease",
            "SELECT split_part($1, '-', 1)",
        );
        let up = generate(&from, &to, DdlOptions::default())
            .expect("up")
            .sql();
        assert_in_order(
            &up,
            &[
                "CREATE FUNCTION to_semver_no_prerelease",
                "ALTER TABLE versions ADD COLUMN semver",
            ],
        );
        let down = generate(&to, &from, DdlOptions::default())
            .expect("down")
            .sql();
        assert_in_order(
            &down,
            &[
                "ALTER TABLE versions DROP COLUMN semver;",
                "DROP FUNCTION to_semver_no_prerelease(text);",
            ],
        );
    }

    #[test]
    fn a_function_reading_a_table_waits_for_it_and_a_new_default_waits_for_the_function() {
        let mut from = Snapshot::default();
        add_table(
            &mut from,
            "codes",
            vec![column("codes", "code", None, None)],
        );
        let mut to = from.clone();
        add_sql_function(&mut to, "next_code", "SELECT max(code) FROM codes");
        add_table(
            &mut to,
            "fresh",
            vec![column("fresh", "code", Some("next_code('x'::text)"), None)],
        );
        let up = generate(&from, &to, DdlOptions::default())
            .expect("up")
            .sql();
        assert_in_order(
            &up,
            &[
                "CREATE TABLE fresh (\n    code text\n);",
                "CREATE FUNCTION next_code",
                "ALTER TABLE fresh ALTER COLUMN code SET DEFAULT next_code('x'::text);",
            ],
        );
        // The table that calls it goes first, then the function.
        let down = generate(&to, &from, DdlOptions::default())
            .expect("down")
            .sql();
        assert_in_order(
            &down,
            &["DROP TABLE fresh;", "DROP FUNCTION next_code(text);"],
        );
    }
}
