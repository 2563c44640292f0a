//! Renames: a table or a column the user says was renamed rather than
//! dropped and added. Written as a drop plus an add, a rename loses every
//! value in it, so retort never guesses one into the SQL: it finds the
//! plausible ones ([`candidates`]), and only the renames the user names
//! (or accepts) are written, as `ALTER TABLE … RENAME`.
//!
//! How a rename is written: the rename statements come first, then the
//! ordinary DDL from the source *as it stands after the renames* to the
//! target. [`apply`] rewrites the source snapshot the way the server
//! rewrites its catalogs (keys, owning table names, the definitions that
//! name the table or column), so a foreign key, an index or a sequence
//! around a renamed table compares equal and is left alone. Where this
//! rewrite differs from the server's (views over a renamed column are not
//! rewritten at all: the server deparses them as `t.new AS old`),
//! the object only compares unequal and is rebuilt from the target's
//! definition: needless work, never a wrong result.

use serde::Serialize;

use super::ddl::{DdlError, DdlOptions, Script, Statement, generate};
use super::model::*;
use crate::core::offline::quote_ident as ident;

/// A table or a column renamed. `table` of a column rename is the table's
/// name in the source snapshot (before any table rename).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rename {
    Table {
        schema: String,
        from: String,
        to: String,
    },
    Column {
        schema: String,
        table: String,
        from: String,
        to: String,
    },
    /// The objects below hold no values of their own: they are renamed
    /// when one is dropped and another with the same definition added
    /// (see [`derived`]), without asking.
    Index {
        schema: String,
        from: String,
        to: String,
    },
    Constraint {
        schema: String,
        table: String,
        from: String,
        to: String,
    },
    Sequence {
        schema: String,
        from: String,
        to: String,
    },
}

impl Rename {
    /// `users → people`, `users.name → users.full_name`.
    pub fn describe(&self) -> String {
        match self {
            Rename::Table { schema, from, to } => {
                format!("{} → {}", shown(schema, from), shown(schema, to))
            }
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => {
                let table = shown(schema, table);
                format!("{table}.{from} → {table}.{to}")
            }
            Rename::Index { schema, from, to } => {
                format!("index {} → {}", shown(schema, from), shown(schema, to))
            }
            Rename::Constraint {
                schema,
                table,
                from,
                to,
            } => format!("constraint {from} → {to} on {}", shown(schema, table)),
            Rename::Sequence { schema, from, to } => {
                format!("sequence {} → {}", shown(schema, from), shown(schema, to))
            }
        }
    }

    /// The spelling `--rename` takes: `users=people`, `users.name=full_name`.
    pub fn spec(&self) -> String {
        match self {
            Rename::Table { schema, from, to } => format!("{}={to}", shown(schema, from)),
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => format!("{}.{from}={to}", shown(schema, table)),
            // Never asked for: named as they are described.
            other => other.describe(),
        }
    }
}

fn shown(schema: &str, name: &str) -> String {
    match schema {
        "" | "public" => name.to_string(),
        _ => format!("{schema}.{name}"),
    }
}

fn qualified(schema: &str, name: &str) -> String {
    match schema {
        "" | "public" => ident(name),
        _ => format!("{}.{}", ident(schema), ident(name)),
    }
}

/// The table's name once the table renames in `renames` are done.
pub fn renamed_table<'a>(renames: &'a [Rename], schema: &str, table: &'a str) -> &'a str {
    renames
        .iter()
        .find_map(|r| match r {
            Rename::Table {
                schema: s,
                from,
                to,
            } if s == schema && from == table => Some(to.as_str()),
            _ => None,
        })
        .unwrap_or(table)
}

/// A column's name once the column renames in `renames` are done (`table`
/// is the table's source name, as [`Rename::Column`] has it).
pub fn renamed_column<'a>(
    renames: &'a [Rename],
    schema: &str,
    table: &str,
    column: &'a str,
) -> &'a str {
    renames
        .iter()
        .find_map(|r| match r {
            Rename::Column {
                schema: s,
                table: t,
                from,
                to,
            } if s == schema && t == table && from == column => Some(to.as_str()),
            _ => None,
        })
        .unwrap_or(column)
}

/// The renames that undo `renames` (for the downgrade): each the other
/// way, a column's table named as it is after the table renames.
pub fn reversed(renames: &[Rename]) -> Vec<Rename> {
    renames
        .iter()
        .map(|rename| {
            let mut back = rename.clone();
            match &mut back {
                Rename::Table { from, to, .. }
                | Rename::Index { from, to, .. }
                | Rename::Sequence { from, to, .. } => std::mem::swap(from, to),
                Rename::Column {
                    schema,
                    table,
                    from,
                    to,
                }
                | Rename::Constraint {
                    schema,
                    table,
                    from,
                    to,
                } => {
                    std::mem::swap(from, to);
                    *table = renamed_table(renames, schema, table).to_string();
                }
            }
            back
        })
        .collect()
}

/// Tables first: a column rename names its table as it is then.
fn in_order(renames: &[Rename]) -> Vec<&Rename> {
    let mut ordered: Vec<&Rename> = renames.iter().collect();
    ordered.sort_by_key(|r| !matches!(r, Rename::Table { .. }));
    ordered
}

/// The `ALTER TABLE … RENAME` statements, tables first.
pub fn statements(renames: &[Rename]) -> Vec<String> {
    in_order(renames)
        .into_iter()
        .map(|r| match r {
            Rename::Table { schema, from, to } => {
                format!(
                    "ALTER TABLE {} RENAME TO {}",
                    qualified(schema, from),
                    ident(to)
                )
            }
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                qualified(schema, renamed_table(renames, schema, table)),
                ident(from),
                ident(to)
            ),
            Rename::Index { schema, from, to } => {
                format!(
                    "ALTER INDEX {} RENAME TO {}",
                    qualified(schema, from),
                    ident(to)
                )
            }
            Rename::Constraint {
                schema,
                table,
                from,
                to,
            } => format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                qualified(schema, renamed_table(renames, schema, table)),
                ident(from),
                ident(to)
            ),
            Rename::Sequence { schema, from, to } => {
                format!(
                    "ALTER SEQUENCE {} RENAME TO {}",
                    qualified(schema, from),
                    ident(to)
                )
            }
        })
        .collect()
}

/// The DDL that turns `from` into `to` with these renames: the renames
/// (and the [`derived`] ones they or the schemas call for), then what else
/// differs.
pub fn generate_renamed(
    from: &Snapshot,
    to: &Snapshot,
    renames: &[Rename],
    options: DdlOptions,
) -> Result<Script, DdlError> {
    let renames = with_derived(from, to, renames);
    let mut script = generate(&apply(from, &renames), to, options)?;
    let mut statements: Vec<Statement> = statements(&renames)
        .into_iter()
        .map(|sql| Statement {
            sql,
            destructive: None,
        })
        .collect();
    statements.append(&mut script.statements);
    script.statements = statements;
    Ok(script)
}

/// `renames` and the [`derived`] renames they (or the two schemas) call
/// for: everything [`generate_renamed`] writes as a rename.
pub fn with_derived(from: &Snapshot, to: &Snapshot, renames: &[Rename]) -> Vec<Rename> {
    let mut all = renames.to_vec();
    all.extend(derived(&apply(from, renames), to));
    all
}

/// `snapshot` as it stands after the renames.
pub fn apply(snapshot: &Snapshot, renames: &[Rename]) -> Snapshot {
    let mut out = snapshot.clone();
    for rename in in_order(renames) {
        out = match rename {
            Rename::Table { schema, from, to } => rename_table(&out, schema, from, to),
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => {
                let table = renamed_table(renames, schema, table);
                rename_column(&out, schema, table, from, to)
            }
            Rename::Index { schema, from, to } => rename_index(&out, schema, from, to),
            Rename::Constraint {
                schema,
                table,
                from,
                to,
            } => {
                let table = renamed_table(renames, schema, table);
                rename_part(&out, ObjectKind::Constraint, schema, table, from, to)
            }
            Rename::Sequence { schema, from, to } => rename_sequence(&out, schema, from, to),
        };
    }
    out
}

fn rename_index(snapshot: &Snapshot, schema: &str, old: &str, new: &str) -> Snapshot {
    rebuilt(snapshot, |key, object| {
        if key.kind == ObjectKind::Index && key.schema == schema && key.name == old {
            key.name = new.to_string();
            if let Object::Index(i) = object
                && let Some(at) = i.definition.find(" ON ")
            {
                let (head, rest) = i.definition.split_at(at);
                i.definition = format!("{}{rest}", replace_word(head, old, new));
            }
        }
    })
}

/// A constraint (or another `table.part`) renamed on its table.
fn rename_part(
    snapshot: &Snapshot,
    kind: ObjectKind,
    schema: &str,
    table: &str,
    old: &str,
    new: &str,
) -> Snapshot {
    let (old_key, new_key) = (format!("{table}.{old}"), format!("{table}.{new}"));
    rebuilt(snapshot, |key, _| {
        if key.kind == kind && key.schema == schema && key.name == old_key {
            key.name = new_key.clone();
        }
    })
}

/// A sequence renamed: its key, and the `nextval('old'::regclass)` of the
/// defaults that call it (the server stores the sequence's oid, and
/// prints its new name).
fn rename_sequence(snapshot: &Snapshot, schema: &str, old: &str, new: &str) -> Snapshot {
    let spelled = |name: &str| {
        let text = qualified(schema, name);
        crate::core::offline::quote_literal(&text)
    };
    let (old_literal, new_literal) = (
        format!("{}::regclass", spelled(old)),
        format!("{}::regclass", spelled(new)),
    );
    rebuilt(snapshot, |key, object| {
        if key.kind == ObjectKind::Sequence && key.schema == schema && key.name == old {
            key.name = new.to_string();
        }
        if let Object::Column(c) = object
            && let Some(default) = &mut c.default
        {
            *default = default.replace(&old_literal, &new_literal);
        }
    })
}

/// Renames that keep what a drop and a create would lose or rebuild: an
/// index with the same definition on the same table under another name
/// (no rebuild), a constraint of the same definition (its index kept, the
/// foreign keys onto it too), a serial's sequence owned by the same column
/// (its position kept). Several alike pair by the closeness of names.
pub fn derived(from: &Snapshot, to: &Snapshot) -> Vec<Rename> {
    let mut found = Vec::new();
    let pairs = |kind: ObjectKind, alike: &dyn Fn(&Object, &Object) -> bool| {
        let dropped = only_in(from, to, kind);
        let added = only_in(to, from, kind);
        let score = |i: usize, j: usize| {
            let ((old_key, old), (new_key, new)) = (dropped[i], added[j]);
            (old_key.schema == new_key.schema && alike(old, new))
                .then(|| name_likeness(&old_key.name, &new_key.name))
        };
        pair_up(dropped.len(), added.len(), score)
            .into_iter()
            .map(|(i, j, _)| {
                (
                    dropped[i].0.clone(),
                    dropped[i].1.clone(),
                    added[j].0.name.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    for (key, _, to_name) in pairs(ObjectKind::Index, &|a, b| match (a, b) {
        (Object::Index(a), Object::Index(b)) => {
            a.table == b.table && after_on(&a.definition) == after_on(&b.definition)
        }
        _ => false,
    }) {
        found.push(Rename::Index {
            schema: key.schema,
            from: key.name,
            to: to_name,
        });
    }
    for (key, object, to_name) in pairs(ObjectKind::Constraint, &|a, b| match (a, b) {
        (Object::Constraint(a), Object::Constraint(b)) => {
            a.table == b.table && a.kind == b.kind && a.definition == b.definition
        }
        _ => false,
    }) {
        let Object::Constraint(c) = object else {
            continue;
        };
        found.push(Rename::Constraint {
            from: part_of(&key.name, &c.table).to_string(),
            to: part_of(&to_name, &c.table).to_string(),
            schema: key.schema,
            table: c.table,
        });
    }
    for (key, _, to_name) in pairs(ObjectKind::Sequence, &|a, b| match (a, b) {
        (Object::Sequence(a), Object::Sequence(b)) => {
            a.owned_by.is_some()
                && Sequence {
                    meta: Meta::default(),
                    ..a.clone()
                } == Sequence {
                    meta: Meta::default(),
                    ..b.clone()
                }
        }
        _ => false,
    }) {
        found.push(Rename::Sequence {
            schema: key.schema,
            from: key.name,
            to: to_name,
        });
    }
    found.retain(|rename| !name_taken(from, rename));
    found
}

/// Whether a derived rename's new name is still held in `from` by
/// something the script drops later: renames run first, so such a rename
/// would collide (`relation … already exists`); the object is dropped and
/// made again instead.
fn name_taken(from: &Snapshot, rename: &Rename) -> bool {
    let relation_taken = |schema: &str, name: &str| {
        from.objects.iter().any(|(key, object)| {
            key.schema == schema
                && match object {
                    Object::Constraint(c) => {
                        matches!(c.kind.as_str(), "primary key" | "unique" | "exclusion")
                            && part_of(&key.name, &c.table) == name
                    }
                    _ => {
                        matches!(
                            key.kind,
                            ObjectKind::Table
                                | ObjectKind::Sequence
                                | ObjectKind::View
                                | ObjectKind::MaterializedView
                                | ObjectKind::Index
                        ) && key.name == name
                    }
                }
        })
    };
    match rename {
        Rename::Index { schema, to, .. } | Rename::Sequence { schema, to, .. } => {
            relation_taken(schema, to)
        }
        Rename::Constraint {
            schema, table, to, ..
        } => {
            let key = ObjectKey::new(ObjectKind::Constraint, schema, &format!("{table}.{to}"));
            from.get(&key).is_some() || relation_taken(schema, to)
        }
        Rename::Table { .. } | Rename::Column { .. } => false,
    }
}

/// An index definition from its ` ON ` on: what it is, without its name.
fn after_on(definition: &str) -> &str {
    definition
        .find(" ON ")
        .map_or(definition, |at| &definition[at..])
}

/// The part's name in a `table.part` key.
fn part_of<'k>(key: &'k str, table: &str) -> &'k str {
    key.strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(key)
}

/// Each object of `snapshot` through `change`, which may rename its key.
fn rebuilt(snapshot: &Snapshot, change: impl Fn(&mut ObjectKey, &mut Object)) -> Snapshot {
    let mut out = Snapshot {
        unmodeled: snapshot.unmodeled.clone(),
        ..Snapshot::default()
    };
    for (key, object) in &snapshot.objects {
        let (mut key, mut object) = (key.clone(), object.clone());
        change(&mut key, &mut object);
        out.insert(key, object);
    }
    out
}

/// A part's key (`table.part`) moved to another table name.
fn move_part(key: &mut ObjectKey, schema: &str, old: &str, new: &str) {
    let is_part = matches!(
        key.kind,
        ObjectKind::Column | ObjectKind::Constraint | ObjectKind::Trigger | ObjectKind::Policy
    );
    if is_part
        && key.schema == schema
        && let Some(rest) = key.name.strip_prefix(&format!("{old}."))
    {
        key.name = format!("{new}.{rest}");
    }
}

fn rename_table(snapshot: &Snapshot, schema: &str, old: &str, new: &str) -> Snapshot {
    let word = |text: &mut String| *text = replace_word(text, old, new);
    let owned = |table: &mut String, key_schema: &str| {
        if key_schema == schema && table == old {
            *table = new.to_string();
        }
    };
    rebuilt(snapshot, |key, object| {
        if key.kind == ObjectKind::Table && key.schema == schema && key.name == old {
            key.name = new.to_string();
        }
        move_part(key, schema, old, new);
        let key_schema = key.schema.clone();
        match object {
            Object::Table(t) => {
                t.partition_of.iter_mut().for_each(word);
                t.inherits.iter_mut().for_each(word);
            }
            Object::Column(c) => owned(&mut c.table, &key_schema),
            Object::Constraint(c) => {
                owned(&mut c.table, &key_schema);
                word(&mut c.definition);
            }
            Object::Index(i) => {
                owned(&mut i.table, &key_schema);
                i.definition = rewrite_after(&i.definition, " ON ", old, new);
            }
            Object::Trigger(t) => {
                owned(&mut t.table, &key_schema);
                t.definition = rewrite_after(&t.definition, " ON ", old, new);
            }
            Object::Statistics(st) => {
                owned(&mut st.table, &key_schema);
                st.definition = rewrite_after(&st.definition, " FROM ", old, new);
            }
            Object::Policy(p) => {
                owned(&mut p.table, &key_schema);
                p.using.iter_mut().for_each(word);
                p.with_check.iter_mut().for_each(word);
            }
            Object::View(v) => word(&mut v.definition),
            Object::Sequence(s) => s.owned_by.iter_mut().for_each(word),
            _ => {}
        }
    })
}

fn rename_column(snapshot: &Snapshot, schema: &str, table: &str, old: &str, new: &str) -> Snapshot {
    let on_table = |t: &str, key_schema: &str| t == table && key_schema == schema;
    let word = |text: &mut String| *text = replace_word(text, old, new);
    let column_key = format!("{table}.{old}");
    rebuilt(snapshot, |key, object| {
        let key_schema = key.schema.clone();
        if key.kind == ObjectKind::Column && key.schema == schema && key.name == column_key {
            key.name = format!("{table}.{new}");
        }
        match object {
            Object::Table(t) if key.name == table && key_schema == schema => {
                for name in t.column_order.iter_mut().filter(|c| *c == old) {
                    *name = new.to_string();
                }
            }
            Object::Column(c) if on_table(&c.table, &key_schema) => {
                if c.name == old {
                    c.name = new.to_string();
                }
                c.default.iter_mut().for_each(word);
                c.generated.iter_mut().for_each(word);
            }
            Object::Constraint(c) => {
                if on_table(&c.table, &key_schema) {
                    c.definition = rewrite_own_columns(&c.definition, old, new);
                }
                c.definition = rewrite_references(&c.definition, schema, table, old, new);
            }
            Object::Index(i) if on_table(&i.table, &key_schema) => {
                i.definition = rewrite_after(&i.definition, " USING ", old, new);
            }
            Object::Statistics(st) if on_table(&st.table, &key_schema) => {
                let Some(from_at) = st.definition.rfind(" FROM ") else {
                    return;
                };
                let (columns, table) = st.definition.split_at(from_at);
                st.definition = format!("{}{table}", rewrite_after(columns, " ON ", old, new));
            }
            Object::Trigger(t) if on_table(&t.table, &key_schema) => {
                t.definition = rewrite_after(&t.definition, " ON ", old, new);
                t.definition = rewrite_before(&t.definition, " ON ", old, new);
            }
            Object::Policy(p) if on_table(&p.table, &key_schema) => {
                p.using.iter_mut().for_each(word);
                p.with_check.iter_mut().for_each(word);
            }
            // Views are left as they were: the server keeps a view's
            // output names, deparsing it as `t.new AS old`, which no text
            // rewrite here would match; left unchanged, a view that names
            // the column differs from the target's and is made again from
            // it (a rewrite that matched the target's text would claim a
            // view unchanged that is not).
            Object::Sequence(s) => {
                if let Some(owner) = &mut s.owned_by
                    && let Some(prefix) = owner.strip_suffix(&format!(".{}", ident(old)))
                    && (prefix == ident(table) || prefix == qualified(schema, table))
                {
                    *owner = format!("{prefix}.{}", ident(new));
                }
            }
            _ => {}
        }
    })
}

/// A constraint's own columns: everything but what follows `REFERENCES`
/// (the referenced table's columns, handled by [`rewrite_references`]).
fn rewrite_own_columns(definition: &str, old: &str, new: &str) -> String {
    match definition.find(" REFERENCES ") {
        Some(at) => format!(
            "{}{}",
            replace_word(&definition[..at], old, new),
            &definition[at..]
        ),
        None => replace_word(definition, old, new),
    }
}

/// `REFERENCES table(a, old)` → `REFERENCES table(a, new)`, for a foreign
/// key onto the table whose column is renamed.
fn rewrite_references(definition: &str, schema: &str, table: &str, old: &str, new: &str) -> String {
    for target in [qualified(schema, table), ident(table)] {
        let marker = format!(" REFERENCES {target}(");
        if let Some(at) = definition.find(&marker) {
            let start = at + marker.len();
            let Some(len) = definition[start..].find(')') else {
                break;
            };
            let end = start + len;
            return format!(
                "{}{}{}",
                &definition[..start],
                replace_word(&definition[start..end], old, new),
                &definition[end..]
            );
        }
    }
    definition.to_string()
}

/// The name replaced only after the first `marker` (an index's name and a
/// trigger's name come before it and are left alone).
fn rewrite_after(text: &str, marker: &str, old: &str, new: &str) -> String {
    match text.find(marker) {
        Some(at) => format!("{}{}", &text[..at], replace_word(&text[at..], old, new)),
        None => text.to_string(),
    }
}

/// The name replaced only between the third word and `marker` (a
/// trigger's `UPDATE OF column` list, not its name).
fn rewrite_before(text: &str, marker: &str, old: &str, new: &str) -> String {
    let Some(end) = text.find(marker) else {
        return text.to_string();
    };
    let start = text
        .match_indices(' ')
        .nth(2)
        .map_or(0, |(i, _)| i)
        .min(end);
    format!(
        "{}{}{}",
        &text[..start],
        replace_word(&text[start..end], old, new),
        &text[end..]
    )
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// `old` replaced by `new` wherever `text` names it as an identifier, as
/// the server prints one (quoted when it must be): whole words only,
/// never inside a string literal or another quoted identifier.
pub fn replace_word(text: &str, old: &str, new: &str) -> String {
    let (old_ident, new_ident) = (ident(old), ident(new));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let token_len = match c {
            '\'' => quoted_len(rest, '\''),
            '"' => quoted_len(rest, '"'),
            c if is_ident_char(c) => rest
                .find(|ch: char| !is_ident_char(ch))
                .unwrap_or(rest.len()),
            c => c.len_utf8(),
        };
        let token = &rest[..token_len];
        if token == old_ident && c != '\'' {
            out.push_str(&new_ident);
        } else {
            out.push_str(token);
        }
        rest = &rest[token_len..];
    }
    out
}

/// The length of a quoted token starting at `text[0]`, doubled quotes
/// inside included; to the end when it is not closed.
fn quoted_len(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|&(_, next)| next == quote) {
                chars.next();
                continue;
            }
            return i + c.len_utf8();
        }
    }
    text.len()
}

/// A rename the snapshots suggest, and whether another pairing fits as
/// well (an ambiguous one is offered, never taken on its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub rename: Rename,
    pub ambiguous: bool,
}

/// Plausible renames between `from` and `to`: a table dropped and one
/// added in the same schema with the same column types in the same order,
/// or sharing at least half the larger one's columns (by name and type);
/// in a table on both sides (counting the table candidates as taken), a
/// column dropped and one added with the same type. Several dropped
/// columns of one type are paired by what else they share (a foreign key
/// onto the same table, nullability, default) and then by the closeness
/// of their names.
pub fn candidates(from: &Snapshot, to: &Snapshot) -> Vec<Candidate> {
    let tables = table_candidates(from, to);
    let taken: Vec<Rename> = tables
        .iter()
        .filter(|c| !c.ambiguous)
        .map(|c| c.rename.clone())
        .collect();
    let renamed = apply(from, &taken);
    let mut found = tables;
    for mut candidate in column_candidates(&renamed, to) {
        // Named by the table's source name, as `Rename::Column` is.
        if let Rename::Column { schema, table, .. } = &mut candidate.rename {
            let source = taken.iter().find_map(|r| match r {
                Rename::Table {
                    schema: s,
                    from,
                    to,
                } if s == schema && to == table => Some(from.clone()),
                _ => None,
            });
            if let Some(source) = source {
                *table = source;
            }
        }
        found.push(candidate);
    }
    found
}

fn only_in<'a>(
    a: &'a Snapshot,
    b: &Snapshot,
    kind: ObjectKind,
) -> Vec<(&'a ObjectKey, &'a Object)> {
    a.of_kind(kind)
        .filter(|(k, _)| b.get(k).is_none())
        .collect()
}

fn table_candidates(from: &Snapshot, to: &Snapshot) -> Vec<Candidate> {
    let dropped = only_in(from, to, ObjectKind::Table);
    let added = only_in(to, from, ObjectKind::Table);
    let columns = |snapshot: &Snapshot, (key, object): (&ObjectKey, &Object)| match object {
        Object::Table(t) => snapshot
            .columns_of(key, t)
            .into_iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let old_columns: Vec<_> = dropped.iter().map(|&t| columns(from, t)).collect();
    let new_columns: Vec<_> = added.iter().map(|&t| columns(to, t)).collect();
    let score = |i: usize, j: usize| {
        let (old, new) = (&old_columns[i], &new_columns[j]);
        let likeness = name_likeness(&dropped[i].0.name, &added[j].0.name);
        if dropped[i].0.schema != added[j].0.schema {
            return None;
        }
        let same_types = old.iter().map(|c| &c.1).eq(new.iter().map(|c| &c.1));
        if same_types {
            return Some(20_000 + likeness);
        }
        // Or at least half the columns of the larger one, by name and type.
        let shared = old.iter().filter(|c| new.contains(c)).count();
        let larger = old.len().max(new.len());
        (shared > 0 && shared * 2 >= larger)
            .then(|| (shared * 100 / larger) as u32 * 100 + likeness)
    };
    pair_up(dropped.len(), added.len(), score)
        .into_iter()
        .map(|(i, j, tie)| Candidate {
            rename: Rename::Table {
                schema: dropped[i].0.schema.clone(),
                from: dropped[i].0.name.clone(),
                to: added[j].0.name.clone(),
            },
            ambiguous: tie,
        })
        .collect()
}

/// One-to-one pairs of `olds` and `news`, best score first (`score` is
/// `None` for a pair that cannot be one), each flagged when another
/// pairing of either side scores as well (a guess, not a finding).
fn pair_up(
    olds: usize,
    news: usize,
    score: impl Fn(usize, usize) -> Option<u32>,
) -> Vec<(usize, usize, bool)> {
    let mut scored: Vec<(u32, usize, usize)> = Vec::new();
    for i in 0..olds {
        for j in 0..news {
            if let Some(points) = score(i, j) {
                scored.push((points, i, j));
            }
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_old, mut used_new) = (vec![false; olds], vec![false; news]);
    let mut pairs = Vec::new();
    for &(best, i, j) in &scored {
        if used_old[i] || used_new[j] {
            continue;
        }
        used_old[i] = true;
        used_new[j] = true;
        let tie = scored
            .iter()
            .any(|&(points, oi, oj)| points == best && (oi == i) != (oj == j));
        pairs.push((i, j, tie));
    }
    pairs
}

fn column_candidates(from: &Snapshot, to: &Snapshot) -> Vec<Candidate> {
    let columns = |a: &Snapshot, b: &Snapshot| -> Vec<(String, Column)> {
        only_in(a, b, ObjectKind::Column)
            .into_iter()
            .filter_map(|(k, o)| match o {
                Object::Column(c) => Some((k.schema.clone(), c.clone())),
                _ => None,
            })
            .collect()
    };
    let dropped = columns(from, to);
    let added = columns(to, from);
    let table_stays = |schema: &str, table: &str| {
        let key = ObjectKey::new(ObjectKind::Table, schema, table);
        from.get(&key).is_some() && to.get(&key).is_some()
    };
    let score = |i: usize, j: usize| {
        let ((schema, old), (new_schema, new)) = (&dropped[i], &added[j]);
        let pairable = table_stays(schema, &old.table)
            && new_schema == schema
            && new.table == old.table
            && new.data_type == old.data_type;
        pairable.then(|| score(from, to, schema, old, new))
    };
    let mut found: Vec<Candidate> = pair_up(dropped.len(), added.len(), score)
        .into_iter()
        .map(|(i, j, tie)| {
            let (schema, old) = &dropped[i];
            Candidate {
                rename: Rename::Column {
                    schema: schema.clone(),
                    table: old.table.clone(),
                    from: old.name.clone(),
                    to: added[j].1.name.clone(),
                },
                ambiguous: tie,
            }
        })
        .collect();
    found.sort_by(|a, b| a.rename.cmp(&b.rename));
    found
}

/// How alike a dropped and an added column are: a foreign key onto the
/// same table counts most, then each shared facet, then the name.
fn score(from: &Snapshot, to: &Snapshot, schema: &str, old: &Column, new: &Column) -> u32 {
    let mut score = 0;
    let (old_ref, new_ref) = (
        referenced_table(from, schema, old),
        referenced_table(to, schema, new),
    );
    if old_ref.is_some() && old_ref == new_ref {
        score += 1000;
    }
    score += 100 * u32::from(old.not_null == new.not_null);
    score += 100 * u32::from(old.default == new.default);
    score += 100 * u32::from(old.generated == new.generated);
    score + name_likeness(&old.name, &new.name)
}

/// The table a single-column foreign key on this column references.
fn referenced_table(snapshot: &Snapshot, schema: &str, column: &Column) -> Option<String> {
    let own = format!("FOREIGN KEY ({}) REFERENCES ", ident(&column.name));
    snapshot
        .of_kind(ObjectKind::Constraint)
        .filter(|(k, _)| k.schema == schema)
        .find_map(|(_, o)| match o {
            Object::Constraint(c) if c.table == column.table => {
                let rest = c.definition.strip_prefix(&own)?;
                Some(rest.split('(').next().unwrap_or(rest).to_string())
            }
            _ => None,
        })
}

/// 0–99: the longest common subsequence of the two names against the
/// longer one.
fn name_likeness(a: &str, b: &str) -> u32 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row = vec![0usize; b.len() + 1];
    for ca in &a {
        let mut diagonal = 0;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    let longest = a.len().max(b.len()).max(1);
    (row[b.len()] * 99 / longest) as u32
}

/// The source name of a table `known` renames to `table`.
fn source_table<'a>(known: &'a [Rename], schema: &str, table: &'a str) -> &'a str {
    known
        .iter()
        .find_map(|r| match r {
            Rename::Table {
                schema: s,
                from,
                to,
            } if s == schema && to == table => Some(from.as_str()),
            _ => None,
        })
        .unwrap_or(table)
}

fn table_exists(snapshot: &Snapshot, schema: &str, table: &str) -> bool {
    snapshot
        .get(&ObjectKey::new(ObjectKind::Table, schema, table))
        .is_some()
}

/// What the user said about renames, and what is left to say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chosen {
    /// Renames to write.
    pub renames: Vec<Rename>,
    /// Plausible renames nobody decided: without a say they are written as
    /// a drop plus an add.
    pub undecided: Vec<Candidate>,
}

/// The renames named by `specs` (see [`resolve`]), plus with
/// `accept_detected` every unambiguous candidate; the other candidates are
/// left undecided.
pub fn choose(
    from: &Snapshot,
    to: &Snapshot,
    specs: &[String],
    accept_detected: bool,
) -> Result<Chosen, String> {
    let mut renames: Vec<Rename> = Vec::new();
    // Table renames first, so a column may name its table either way.
    let mut ordered: Vec<&String> = specs.iter().collect();
    ordered.sort_by_key(|s| s.split('=').next().unwrap_or("").contains('.'));
    for spec in ordered {
        let rename =
            resolve(spec, from, to, &renames).map_err(|e| format!("--rename {spec}: {e}"))?;
        if renames.iter().any(|r| overlaps(r, &rename)) {
            return Err(format!("--rename {spec}: the same object is renamed twice"));
        }
        renames.push(rename);
    }
    let mut undecided = Vec::new();
    for candidate in candidates(from, to) {
        if renames.iter().any(|r| overlaps(r, &candidate.rename)) {
            continue;
        }
        if accept_detected && !candidate.ambiguous {
            renames.push(candidate.rename);
        } else {
            undecided.push(candidate);
        }
    }
    Ok(Chosen { renames, undecided })
}

/// Whether two renames take the same object or give the same name.
fn overlaps(a: &Rename, b: &Rename) -> bool {
    match (a, b) {
        (
            Rename::Table { schema, from, to },
            Rename::Table {
                schema: s,
                from: f,
                to: t,
            },
        ) => schema == s && (from == f || to == t),
        (
            Rename::Column {
                schema,
                table,
                from,
                to,
            },
            Rename::Column {
                schema: s,
                table: tb,
                from: f,
                to: t,
            },
        ) => schema == s && table == tb && (from == f || to == t),
        _ => false,
    }
}

/// A `--rename` as written: `OLD=NEW`, OLD being `table`, `schema.table`,
/// `table.column` or `schema.table.column`, NEW a bare name. A column's
/// table may be named by its new name when `known` renames it.
pub fn resolve(
    spec: &str,
    from: &Snapshot,
    to: &Snapshot,
    known: &[Rename],
) -> Result<Rename, String> {
    let (old, new) = spec
        .split_once('=')
        .ok_or_else(|| "expected OLD=NEW (TABLE=NEW or TABLE.COLUMN=NEW)".to_string())?;
    let (old, new) = (old.trim(), new.trim());
    if new.is_empty() || new.contains('.') {
        return Err(format!(
            "the new name `{new}` must be a bare name (the table stays where it is)"
        ));
    }
    let parts: Vec<&str> = old.split('.').collect();
    let table = |schema: &str, name: &str| {
        let (old_key, new_key) = (
            ObjectKey::new(ObjectKind::Table, schema, name),
            ObjectKey::new(ObjectKind::Table, schema, new),
        );
        (from.get(&old_key).is_some() && to.get(&old_key).is_none()).then_some(())?;
        (to.get(&new_key).is_some() && from.get(&new_key).is_none()).then_some(Rename::Table {
            schema: schema.to_string(),
            from: name.to_string(),
            to: new.to_string(),
        })
    };
    // The added column may sit in the table under its new name.
    let added_as_new = |schema: &str, table: &str| {
        to.of_kind(ObjectKind::Column).any(|(k, o)| {
            k.schema == schema
                && from.get(k).is_none()
                && matches!(o, Object::Column(c) if c.name == new
                    && (c.table == table || !table_exists(from, schema, &c.table)))
        })
    };
    let column = |schema: &str, table: &str, name: &str| {
        let table = source_table(known, schema, table);
        let key = ObjectKey::new(ObjectKind::Column, schema, &format!("{table}.{name}"));
        (from.get(&key).is_some() && to.get(&key).is_none() && added_as_new(schema, table))
            .then_some(Rename::Column {
                schema: schema.to_string(),
                table: table.to_string(),
                from: name.to_string(),
                to: new.to_string(),
            })
    };
    let found = match parts.as_slice() {
        [name] => table("public", name),
        [a, b] => column("public", a, b).or_else(|| table(a, b)),
        [schema, table_name, name] => column(schema, table_name, name),
        _ => None,
    };
    found.ok_or_else(|| {
        format!(
            "`{old}={new}` names no table or column that is dropped while `{new}` is \
             added beside it"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_replaced_whole_and_outside_literals() {
        assert_eq!(
            replace_word(
                "lower(name) = 'name' AND users.name <> name_x",
                "name",
                "full_name"
            ),
            "lower(full_name) = 'name' AND users.full_name <> name_x"
        );
        assert_eq!(
            replace_word(
                r#"("Old Name" IS NOT NULL) AND "other""x""#,
                "Old Name",
                "New"
            ),
            r#"("New" IS NOT NULL) AND "other""x""#
        );
        assert_eq!(
            replace_word("'it''s name' || name", "name", "n"),
            "'it''s name' || n"
        );
    }

    #[test]
    fn names_are_compared_by_their_subsequence() {
        assert!(name_likeness("owner_id", "user_id") > name_likeness("owner_id", "api_token_id"));
        assert!(
            name_likeness("owner_token_id", "api_token_id")
                > name_likeness("owner_token_id", "user_id")
        );
        assert_eq!(name_likeness("same", "same"), 99);
    }

    #[test]
    fn references_are_rewritten_only_inside_the_referenced_list() {
        let fk = "FOREIGN KEY (name) REFERENCES users(name)";
        assert_eq!(
            rewrite_references(fk, "public", "users", "name", "full_name"),
            "FOREIGN KEY (name) REFERENCES users(full_name)"
        );
        assert_eq!(
            rewrite_own_columns(fk, "name", "full_name"),
            "FOREIGN KEY (full_name) REFERENCES users(name)"
        );
    }

    #[test]
    fn statements_rename_tables_before_their_columns() {
        let renames = vec![
            Rename::Column {
                schema: "public".into(),
                table: "packages".into(),
                from: "package_name".into(),
                to: "name".into(),
            },
            Rename::Table {
                schema: "public".into(),
                from: "packages".into(),
                to: "crates".into(),
            },
        ];
        assert_eq!(
            statements(&renames),
            vec![
                "ALTER TABLE packages RENAME TO crates",
                "ALTER TABLE crates RENAME COLUMN package_name TO name",
            ]
        );
        assert_eq!(
            statements(&reversed(&renames)),
            vec![
                "ALTER TABLE crates RENAME TO packages",
                "ALTER TABLE packages RENAME COLUMN name TO package_name",
            ]
        );
    }

    fn with_columns(snapshot: &mut Snapshot, table: &str, columns: &[(&str, &str)]) {
        snapshot.add_table(table, columns);
    }

    fn one(table: &str, columns: &[(&str, &str)]) -> Snapshot {
        let mut s = Snapshot::default();
        with_columns(&mut s, table, columns);
        s
    }

    fn foreign_key(snapshot: &mut Snapshot, table: &str, column: &str, onto: &str) {
        snapshot.insert(
            ObjectKey::new(
                ObjectKind::Constraint,
                "public",
                &format!("{table}.{table}_{column}_fkey"),
            ),
            Object::Constraint(Constraint {
                table: table.into(),
                kind: "foreign key".into(),
                definition: format!("FOREIGN KEY ({column}) REFERENCES {onto}(id)"),
                meta: Meta::default(),
            }),
        );
    }

    fn specs(found: &[Candidate]) -> Vec<(String, bool)> {
        found
            .iter()
            .map(|c| (c.rename.spec(), c.ambiguous))
            .collect()
    }

    #[test]
    fn renamed_tables_and_columns_are_told_from_other_changes() {
        let from = one("users", &[("id", "integer"), ("name", "text")]);
        let column = one("users", &[("id", "integer"), ("full_name", "text")]);
        assert_eq!(
            specs(&candidates(&from, &column)),
            vec![("users.name=full_name".to_string(), false)]
        );
        // Different types: no rename, only a dropped column.
        let retyped = one("users", &[("id", "integer"), ("name", "date")]);
        assert!(candidates(&from, &retyped).is_empty());
        let table = one("people", &[("id", "integer"), ("name", "text")]);
        assert_eq!(
            specs(&candidates(&from, &table)),
            vec![("users=people".to_string(), false)]
        );
    }

    #[test]
    fn a_table_sharing_half_its_columns_is_a_candidate_one_sharing_less_is_not() {
        let from = one(
            "user_",
            &[
                ("id", "integer"),
                ("name", "text"),
                ("email", "text"),
                ("admin", "boolean"),
            ],
        );
        let person = one(
            "person",
            &[
                ("id", "integer"),
                ("name", "text"),
                ("bio", "text"),
                ("avatar", "text"),
            ],
        );
        // In the renamed table, a text column dropped and one added: offered too.
        assert_eq!(
            specs(&candidates(&from, &person)),
            vec![
                ("user_=person".to_string(), false),
                ("user_.email=bio".to_string(), false)
            ]
        );
        let unrelated = one(
            "post",
            &[
                ("id", "integer"),
                ("title", "text"),
                ("body", "text"),
                ("url", "text"),
            ],
        );
        assert!(candidates(&from, &unrelated).is_empty());
        // Of two that could be it, the one sharing more is taken.
        let mut both = person.clone();
        with_columns(
            &mut both,
            "people",
            &[
                ("id", "integer"),
                ("name", "text"),
                ("email", "text"),
                ("avatar", "text"),
            ],
        );
        assert_eq!(
            specs(&candidates(&from, &both)),
            vec![("user_=people".to_string(), false)]
        );
    }

    #[test]
    fn columns_of_one_type_pair_by_foreign_key_then_name() {
        // crates.io's version_owner_actions: owner_id → user_id,
        // owner_token_id → api_token_id, all integer.
        let mut from = one(
            "actions",
            &[
                ("id", "integer"),
                ("owner_id", "integer"),
                ("owner_token_id", "integer"),
            ],
        );
        foreign_key(&mut from, "actions", "owner_id", "users");
        foreign_key(&mut from, "actions", "owner_token_id", "api_tokens");
        let mut to = one(
            "actions",
            &[
                ("id", "integer"),
                ("user_id", "integer"),
                ("api_token_id", "integer"),
            ],
        );
        foreign_key(&mut to, "actions", "user_id", "users");
        foreign_key(&mut to, "actions", "api_token_id", "api_tokens");
        assert_eq!(
            specs(&candidates(&from, &to)),
            vec![
                ("actions.owner_id=user_id".to_string(), false),
                ("actions.owner_token_id=api_token_id".to_string(), false),
            ]
        );
    }

    #[test]
    fn a_pairing_nothing_tells_apart_is_ambiguous_and_not_accepted() {
        let from = one("t", &[("a", "integer"), ("b", "integer")]);
        let to = one("t", &[("x", "integer"), ("y", "integer")]);
        let found = candidates(&from, &to);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|c| c.ambiguous), "{found:?}");
        let chosen = choose(&from, &to, &[], true).expect("choose");
        assert!(chosen.renames.is_empty());
        assert_eq!(chosen.undecided.len(), 2);
        // Naming one decides it; the other is left to decide.
        let chosen = choose(&from, &to, &["t.a=y".to_string()], false).expect("choose");
        assert_eq!(
            statements(&chosen.renames),
            vec!["ALTER TABLE t RENAME COLUMN a TO y"]
        );
        assert!(chosen.undecided.iter().all(|c| c.rename.spec() != "t.a=x"));
    }

    #[test]
    fn a_rename_names_what_is_dropped_and_added_or_is_refused() {
        let from = one("users", &[("id", "integer"), ("name", "text")]);
        let to = one("people", &[("id", "integer"), ("full_name", "text")]);
        let resolve_one = |spec: &str| resolve(spec, &from, &to, &[]);
        assert!(resolve_one("users=people").is_ok());
        assert!(resolve_one("users=nobody").is_err());
        assert!(resolve_one("ghosts=people").is_err());
        assert!(resolve_one("users=public.people").is_err());
        assert!(resolve_one("no equals sign").is_err());
        // A column may name its table by either name once the table is renamed.
        let chosen = choose(
            &from,
            &to,
            &[
                "people.name=full_name".to_string(),
                "users=people".to_string(),
            ],
            false,
        )
        .expect("choose");
        assert_eq!(
            statements(&chosen.renames),
            vec![
                "ALTER TABLE users RENAME TO people",
                "ALTER TABLE people RENAME COLUMN name TO full_name",
            ]
        );
        assert_eq!(
            generate_renamed(&from, &to, &chosen.renames, DdlOptions::default())
                .expect("ddl")
                .statements
                .len(),
            2,
            "nothing but the renames"
        );
    }

    fn unique(snapshot: &mut Snapshot, table: &str, name: &str) {
        snapshot.insert(
            ObjectKey::new(ObjectKind::Constraint, "public", &format!("{table}.{name}")),
            Object::Constraint(Constraint {
                table: table.into(),
                kind: "unique".into(),
                definition: "UNIQUE (x)".into(),
                meta: Meta::default(),
            }),
        );
    }

    #[test]
    fn a_derived_rename_onto_a_name_still_held_is_left_to_drop_and_create() {
        // lemmy step 258 down: the name the kept constraint should take is
        // still held by a constraint of a table dropped later.
        let mut from = one("t", &[("x", "integer")]);
        unique(&mut from, "t", "t_x_old_key");
        with_columns(&mut from, "gone", &[("x", "integer")]);
        unique(&mut from, "gone", "t_x_key");
        let mut to = one("t", &[("x", "integer")]);
        unique(&mut to, "t", "t_x_key");
        assert!(derived(&from, &to).is_empty());
        // Free, it is renamed.
        let mut free = one("t", &[("x", "integer")]);
        unique(&mut free, "t", "t_x_old_key");
        assert_eq!(
            statements(&derived(&free, &to)),
            vec!["ALTER TABLE t RENAME CONSTRAINT t_x_old_key TO t_x_key"]
        );
    }
}
