//! The snapshot model: one typed struct per object kind, each listing the
//! facets the diff compares.

use std::collections::BTreeMap;

use serde::Serialize;

/// The kinds of object a snapshot holds, in the order a diff lists them
/// (containers and types before what uses them), which is also the order
/// DDL creates them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Schema,
    Extension,
    Enum,
    Domain,
    CompositeType,
    Sequence,
    Table,
    Column,
    Constraint,
    Index,
    Statistics,
    View,
    MaterializedView,
    Function,
    Procedure,
    Trigger,
    Policy,
}

impl ObjectKind {
    /// The word a diff line starts with.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Schema => "schema",
            ObjectKind::Extension => "extension",
            ObjectKind::Enum => "enum",
            ObjectKind::Domain => "domain",
            ObjectKind::CompositeType => "type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::Constraint => "constraint",
            ObjectKind::Index => "index",
            ObjectKind::Statistics => "statistics",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Trigger => "trigger",
            ObjectKind::Policy => "policy",
        }
    }
}

/// Where an object is found: its kind, its schema (empty for schemas and
/// extensions, which have none) and its name within it. Parts of a table
/// are named `table.part`; functions `name(identity arguments)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    pub kind: ObjectKind,
    pub schema: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: ObjectKind, schema: &str, name: &str) -> ObjectKey {
        ObjectKey {
            kind,
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }

    /// The name as a diff line shows it: objects in `public` without their
    /// schema, as people write them.
    pub fn display_name(&self) -> String {
        match self.schema.as_str() {
            "" | "public" => self.name.clone(),
            schema => format!("{schema}.{}", self.name),
        }
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.word(), self.display_name())
    }
}

/// One compared property of an object; `None` is "not set" (no default,
/// no comment), shown as `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    pub name: &'static str,
    pub value: Option<String>,
}

fn facet(name: &'static str, value: impl Into<Option<String>>) -> Facet {
    Facet {
        name,
        value: value.into(),
    }
}

fn flag(name: &'static str, on: bool) -> Facet {
    facet(name, Some(if on { "yes" } else { "no" }.to_string()))
}

/// What most objects carry besides their definition. Owner and grants are
/// read only when asked for (they differ between servers by design).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub comment: Option<String>,
    pub owner: Option<String>,
    /// Sorted `aclitem`s, `grantee=privileges/grantor`, comma-separated.
    pub grants: Option<String>,
}

impl Meta {
    fn facets(&self, into: &mut Vec<Facet>) {
        into.push(facet("comment", self.comment.clone()));
        if let Some(owner) = &self.owner {
            into.push(facet("owner", owner.clone()));
        }
        if let Some(grants) = &self.grants {
            into.push(facet("grants", grants.clone()));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub schema: String,
    pub version: String,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    /// In their sort order (`enumsortorder`), which is what the type means.
    pub values: Vec<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub base_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub collation: Option<String>,
    /// `name: CHECK (...)`, sorted by name.
    pub checks: Vec<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeType {
    /// `name type`, in attribute order.
    pub attributes: Vec<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `table.column` of a serial-style `OWNED BY`.
    pub owned_by: Option<String>,
    pub meta: Meta,
}

impl Sequence {
    /// The options as `CREATE SEQUENCE` would spell them.
    pub fn options_text(&self) -> String {
        format!(
            "as {} start {} increment {} minvalue {} maxvalue {} cache {}{}",
            self.data_type,
            self.start,
            self.increment,
            self.min,
            self.max,
            self.cache,
            if self.cycle { " cycle" } else { " no cycle" }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `table` or `partitioned table`.
    pub kind: String,
    pub unlogged: bool,
    /// `pg_get_partkeydef`, for a partitioned table.
    pub partition_key: Option<String>,
    /// `parent FOR VALUES ...`, for a partition.
    pub partition_of: Option<String>,
    /// Parents by plain inheritance, comma-separated.
    pub inherits: Option<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// Storage parameters (`reloptions`), sorted.
    pub options: Option<String>,
    /// Column names in their physical order; compared apart from the rest
    /// (no ALTER can reorder columns).
    pub column_order: Vec<String>,
    pub meta: Meta,
}

impl Table {
    /// An ordinary table with these columns and nothing else, for tests.
    #[cfg(test)]
    pub(crate) fn plain(columns: &[&str]) -> Table {
        Table {
            kind: "table".into(),
            unlogged: false,
            partition_key: None,
            partition_of: None,
            inherits: None,
            rls_enabled: false,
            rls_forced: false,
            options: None,
            column_order: columns.iter().map(|c| c.to_string()).collect(),
            meta: Meta::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub table: String,
    pub name: String,
    /// `format_type`, with the type modifier.
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `always` or `by default`.
    pub identity: Option<String>,
    /// The options of the identity's sequence.
    pub identity_sequence: Option<String>,
    /// The expression of a `GENERATED ALWAYS AS (...) STORED` column.
    pub generated: Option<String>,
    /// Set only when it is not the type's default collation.
    pub collation: Option<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub table: String,
    /// `primary key`, `unique`, `check`, `foreign key`, `exclusion`.
    pub kind: String,
    /// `pg_get_constraintdef`: columns, references and actions,
    /// deferrability and `NOT VALID` included.
    pub definition: String,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub table: String,
    /// `pg_get_indexdef`: method, columns or expressions, order, INCLUDE,
    /// predicate.
    pub definition: String,
    pub meta: Meta,
}

/// Extended statistics (`CREATE STATISTICS`) on a table's columns or
/// expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    pub table: String,
    /// `pg_get_statisticsobjdef`: kinds, columns or expressions, table.
    pub definition: String,
    /// The statistics target (`ALTER STATISTICS … SET STATISTICS`), when
    /// set.
    pub target: Option<i32>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// `pg_get_viewdef`, pretty-printed.
    pub definition: String,
    /// `reloptions` (security_barrier, check_option, ...), sorted.
    pub options: Option<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    /// `pg_get_function_identity_arguments`.
    pub arguments: String,
    /// `pg_get_function_result`; none for a procedure.
    pub returns: Option<String>,
    pub language: String,
    /// `immutable`, `stable` or `volatile`.
    pub volatility: String,
    /// `definer` or `invoker`.
    pub security: String,
    pub strict: bool,
    /// `SET` options (`proconfig`), comma-separated.
    pub config: Option<String>,
    /// The body: its source text, or the deparsed definition of a
    /// SQL-standard body.
    pub body: String,
    /// `pg_get_functiondef`: the whole `CREATE OR REPLACE`, for DDL; not
    /// compared (the facets above cover it, one line per property).
    pub definition: String,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub table: String,
    /// `pg_get_triggerdef`.
    pub definition: String,
    /// `origin`, `disabled`, `replica` or `always` (`tgenabled`).
    pub enabled: String,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub table: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE`, `DELETE`.
    pub command: String,
    pub permissive: bool,
    /// Role names, sorted, comma-separated (`public` for everyone).
    pub roles: String,
    pub using: Option<String>,
    pub with_check: Option<String>,
    pub meta: Meta,
}

/// Any object of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    Schema(Schema),
    Extension(Extension),
    Enum(EnumType),
    Domain(Domain),
    CompositeType(CompositeType),
    Sequence(Sequence),
    Table(Table),
    Column(Column),
    Constraint(Constraint),
    Index(Index),
    Statistics(Statistics),
    View(View),
    Function(Function),
    Trigger(Trigger),
    Policy(Policy),
}

impl Object {
    /// What the diff compares, in a fixed order.
    pub fn facets(&self) -> Vec<Facet> {
        let mut out = Vec::new();
        let meta = match self {
            Object::Schema(s) => &s.meta,
            Object::Extension(e) => {
                out.push(facet("schema", e.schema.clone()));
                out.push(facet("version", e.version.clone()));
                &e.meta
            }
            Object::Enum(e) => {
                out.push(facet("values", e.values.join(", ")));
                &e.meta
            }
            Object::Domain(d) => {
                out.push(facet("type", d.base_type.clone()));
                out.push(flag("not null", d.not_null));
                out.push(facet("default", d.default.clone()));
                out.push(facet("collation", d.collation.clone()));
                out.push(facet("checks", joined(&d.checks)));
                &d.meta
            }
            Object::CompositeType(c) => {
                out.push(facet("attributes", c.attributes.join(", ")));
                &c.meta
            }
            Object::Sequence(s) => {
                sequence_facets(s, &mut out);
                &s.meta
            }
            Object::Table(t) => {
                table_facets(t, &mut out);
                &t.meta
            }
            Object::Column(c) => {
                column_facets(c, &mut out);
                &c.meta
            }
            Object::Constraint(c) => {
                out.push(facet("definition", c.definition.clone()));
                &c.meta
            }
            Object::Index(i) => {
                out.push(facet("definition", i.definition.clone()));
                &i.meta
            }
            Object::Statistics(s) => {
                out.push(facet("definition", s.definition.clone()));
                out.push(facet("target", s.target.map(|t| t.to_string())));
                &s.meta
            }
            Object::View(v) => {
                out.push(facet("definition", v.definition.clone()));
                out.push(facet("options", v.options.clone()));
                &v.meta
            }
            Object::Function(f) => {
                function_facets(f, &mut out);
                &f.meta
            }
            Object::Trigger(t) => {
                out.push(facet("definition", t.definition.clone()));
                out.push(facet("enabled", t.enabled.clone()));
                &t.meta
            }
            Object::Policy(p) => {
                policy_facets(p, &mut out);
                &p.meta
            }
        };
        meta.facets(&mut out);
        out
    }
}

fn joined(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(", "))
}

fn sequence_facets(s: &Sequence, out: &mut Vec<Facet>) {
    out.push(facet("type", s.data_type.clone()));
    out.push(facet("start", s.start.to_string()));
    out.push(facet("increment", s.increment.to_string()));
    out.push(facet("minvalue", s.min.to_string()));
    out.push(facet("maxvalue", s.max.to_string()));
    out.push(facet("cache", s.cache.to_string()));
    out.push(flag("cycle", s.cycle));
    out.push(facet("owned by", s.owned_by.clone()));
}

fn table_facets(t: &Table, out: &mut Vec<Facet>) {
    out.push(facet("kind", t.kind.clone()));
    out.push(flag("unlogged", t.unlogged));
    out.push(facet("partition key", t.partition_key.clone()));
    out.push(facet("partition of", t.partition_of.clone()));
    out.push(facet("inherits", t.inherits.clone()));
    out.push(flag("row level security", t.rls_enabled));
    out.push(flag("force row level security", t.rls_forced));
    out.push(facet("options", t.options.clone()));
}

fn column_facets(c: &Column, out: &mut Vec<Facet>) {
    out.push(facet("type", c.data_type.clone()));
    out.push(flag("not null", c.not_null));
    out.push(facet("default", c.default.clone()));
    out.push(facet("identity", c.identity.clone()));
    out.push(facet("identity sequence", c.identity_sequence.clone()));
    out.push(facet("generated", c.generated.clone()));
    out.push(facet("collation", c.collation.clone()));
}

fn function_facets(f: &Function, out: &mut Vec<Facet>) {
    out.push(facet("returns", f.returns.clone()));
    out.push(facet("language", f.language.clone()));
    out.push(facet("volatility", f.volatility.clone()));
    out.push(facet("security", f.security.clone()));
    out.push(flag("strict", f.strict));
    out.push(facet("config", f.config.clone()));
    out.push(facet("body", f.body.clone()));
}

fn policy_facets(p: &Policy, out: &mut Vec<Facet>) {
    out.push(facet("command", p.command.clone()));
    out.push(facet(
        "type",
        Some(
            if p.permissive {
                "permissive"
            } else {
                "restrictive"
            }
            .to_string(),
        ),
    ));
    out.push(facet("roles", p.roles.clone()));
    out.push(facet("using", p.using.clone()));
    out.push(facet("with check", p.with_check.clone()));
}

/// A database's schema: every object under its key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub objects: BTreeMap<ObjectKey, Object>,
    /// Objects of kinds the model does not cover (rules, aggregates, range
    /// types, ...), as `kind name`, sorted: not compared, but never
    /// silently skipped.
    pub unmodeled: Vec<String>,
}

impl Snapshot {
    pub fn insert(&mut self, key: ObjectKey, object: Object) {
        self.objects.insert(key, object);
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Object> {
        self.objects.get(key)
    }

    /// The objects of one kind, in key order.
    pub fn of_kind(&self, kind: ObjectKind) -> impl Iterator<Item = (&ObjectKey, &Object)> {
        self.objects.iter().filter(move |(key, _)| key.kind == kind)
    }

    /// A table's columns in their physical order.
    pub fn columns_of(&self, table_key: &ObjectKey, table: &Table) -> Vec<&Column> {
        table
            .column_order
            .iter()
            .filter_map(|c| {
                let key = ObjectKey::new(
                    ObjectKind::Column,
                    &table_key.schema,
                    &format!("{}.{c}", table_key.name),
                );
                match self.get(&key) {
                    Some(Object::Column(column)) => Some(column),
                    _ => None,
                }
            })
            .collect()
    }

    /// Adds a plain table in `public` with these `(name, type)` columns,
    /// for tests.
    #[cfg(test)]
    pub(crate) fn add_table(&mut self, table: &str, columns: &[(&str, &str)]) {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        self.insert(
            ObjectKey::new(ObjectKind::Table, "public", table),
            Object::Table(Table::plain(&names)),
        );
        for (name, data_type) in columns {
            self.insert(
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
    }

    /// The keys, rendered (`index public.users_email_idx` without `public.`),
    /// for tests and summaries.
    pub fn names(&self, kind: ObjectKind) -> Vec<String> {
        self.of_kind(kind).map(|(k, _)| k.display_name()).collect()
    }
}
