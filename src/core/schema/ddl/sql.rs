//! Names, words and orderings the generator spells SQL with.

use crate::core::offline::{quote_ident as ident, quote_literal as literal};
use crate::core::schema::model::*;

/// `schema.name` as SQL, `public` left out.
pub(super) fn qualified(schema: &str, name: &str) -> String {
    match schema {
        "" | "public" => ident(name),
        _ => format!("{}.{}", ident(schema), ident(name)),
    }
}

pub(super) fn key_name(key: &ObjectKey) -> String {
    qualified(&key.schema, &key.name)
}

/// The part's own name in a `table.part` key.
pub(super) fn part_name<'k>(key: &'k ObjectKey, table: &str) -> &'k str {
    key.name
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(&key.name)
}

pub(super) fn table_of(schema: &str, table: &str) -> String {
    qualified(schema, table)
}

/// Whether `text` names `name` as a whole word (not inside a longer
/// identifier): how a view's definition is searched for what it reads.
pub(super) fn mentions(text: &str, name: &str) -> bool {
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

pub(super) fn is_view_kind(kind: ObjectKind) -> bool {
    matches!(kind, ObjectKind::View | ObjectKind::MaterializedView)
}

pub(super) fn view_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::MaterializedView => "MATERIALIZED VIEW",
        _ => "VIEW",
    }
}

/// The parent a partition or child table needs first.
pub(super) fn parent_of(table: &Table) -> Option<String> {
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
pub(super) fn identity_options(text: &str) -> String {
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
pub(super) fn is_widening(before: &str, after: &str) -> bool {
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

pub(super) fn is_subsequence(old: &[String], new: &[String]) -> bool {
    let mut rest = new.iter();
    old.iter().all(|v| rest.any(|n| n == v))
}

pub(super) fn create_enum(name: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| literal(v)).collect();
    format!("CREATE TYPE {name} AS ENUM ({})", values.join(", "))
}

/// `name: CHECK (...)` into its name and definition.
pub(super) fn split_check(check: &str) -> (&str, &str) {
    check.split_once(": ").unwrap_or(("", check))
}

/// A column as `CREATE TABLE` or `ADD COLUMN` spells it.
pub(super) fn column_definition(c: &Column) -> String {
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
pub(super) fn set_options(options: &str) -> String {
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
pub(super) fn owned_by_sql(owner: &str) -> String {
    match owner.rsplit_once('.') {
        Some((table, column)) => format!("{table}.{}", ident(column)),
        None => owner.to_string(),
    }
}

pub(super) fn part_table(object: &Object) -> &str {
    match object {
        Object::Column(c) => &c.table,
        Object::Constraint(c) => &c.table,
        Object::Index(i) => &i.table,
        Object::Statistics(s) => &s.table,
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
            Object::Statistics(o) => $($borrow)* o.meta,
            Object::View(o) => $($borrow)* o.meta,
            Object::Function(o) => $($borrow)* o.meta,
            Object::Trigger(o) => $($borrow)* o.meta,
            Object::Policy(o) => $($borrow)* o.meta,
        }
    };
}

pub(super) fn meta_of(object: &Object) -> &Meta {
    meta_field!(object, &)
}

/// The object without its comment, owner and grants (what a drop and
/// create changes), compared.
pub(super) fn without_meta(object: &Object) -> Object {
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
pub(super) fn definition_differs(before: &Object, after: Option<&Object>) -> bool {
    after.is_none_or(|a| without_meta(before) != without_meta(a))
}

pub(super) fn definition_differs_opt(before: Option<&Object>, after: Option<&Object>) -> bool {
    match (before, after) {
        (Some(b), a) => definition_differs(b, a),
        (None, _) => true,
    }
}

pub(super) fn only_comment_differs(before: &Object, after: Option<&Object>) -> bool {
    !definition_differs(before, after)
}

pub(super) fn same_definition(before: &Function, after: &Function) -> bool {
    let mut b = before.clone();
    let mut a = after.clone();
    b.meta = Meta::default();
    a.meta = Meta::default();
    a == b
}

pub(super) fn function_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Procedure => "PROCEDURE",
        _ => "FUNCTION",
    }
}

/// `name(arguments)` with the name quoted and qualified.
pub(super) fn function_name(key: &ObjectKey) -> String {
    match key.name.split_once('(') {
        Some((name, rest)) => format!("{}({rest}", qualified(&key.schema, name)),
        None => key_name(key),
    }
}

pub(super) fn comment_target(key: &ObjectKey, object: &Object) -> String {
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
        Object::Statistics(_) => format!("STATISTICS {}", key_name(key)),
        Object::View(_) => format!("{} {}", view_word(key.kind), key_name(key)),
    }
}

/// Tables in `keys`, each after the parent it is a partition or child of.
pub(super) fn table_order(snapshot: &Snapshot, keys: &[ObjectKey]) -> Vec<ObjectKey> {
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
pub(super) fn view_order(snapshot: &Snapshot) -> Vec<ObjectKey> {
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
