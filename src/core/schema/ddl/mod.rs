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
//! sequences ([`take_away`]). The second
//! builds, in creation order: schemas, extensions, types, sequences,
//! functions that name no table or view, tables (parents first), the
//! functions that read tables and are called by a default, generated
//! expression or check created here, domain defaults and checks calling
//! new functions, columns, constraints (foreign keys last), the other
//! functions, views, indexes, triggers, policies, sequence ownership and
//! comments ([`build`]; when each function comes: [`functions`]). Last go
//! the types, extensions and schemas nothing uses any more (a column is
//! retyped off them in the second half). A view
//! that reads a column whose type changes (or a type that is rebuilt)
//! cannot outlive the change, so it is dropped in the first half and
//! created again in the second; so is every view reading it.
//!
//! What no statement can express (column order, a changed partition key,
//! owners and grants) is listed in [`Script::unexpressed`], never dropped
//! in silence; objects of kinds the model does not cover are an error.

use std::collections::{BTreeMap, BTreeSet};

mod build;
mod functions;
mod sql;
mod take_away;

use super::model::*;
use functions::FunctionStep;

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
    g.drop_what_nothing_uses();
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
    /// Indexes dropped and created again (over a column whose enum is
    /// rebuilt).
    rebuilt_indexes: BTreeSet<ObjectKey>,
    /// Composite types rebuilt: an attribute is retyped while a table
    /// column uses the type, which `ALTER TYPE` refuses.
    rebuilt_composites: BTreeSet<ObjectKey>,
    /// Triggers and policies dropped and made again: they name a column
    /// whose type changes, which PostgreSQL refuses to retype under them.
    rebuilt_parts: BTreeSet<ObjectKey>,
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
            rebuilt_indexes: BTreeSet::new(),
            rebuilt_composites: BTreeSet::new(),
            rebuilt_parts: BTreeSet::new(),
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
}

#[cfg(test)]
mod tests {
    use super::sql::{identity_options, is_widening, mentions, set_options};
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
