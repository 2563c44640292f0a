//! When functions are created: before the tables, right after them (for
//! the defaults, generated columns and checks that call them), or after
//! the constraints.

use super::Generator;
use super::sql::{is_view_kind, mentions, same_definition, table_of};
use crate::core::offline::quote_ident as ident;
use crate::core::schema::model::*;
use std::collections::{BTreeMap, BTreeSet};

/// Where in the build half a function is created. A `language sql` body is
/// checked when it is created, and a signature may name a row type, so a
/// function naming a table or view waits for the tables; one naming none
/// comes before them, so domains, defaults, generated expressions and
/// checks can call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum FunctionStep {
    BeforeTables,
    /// Names a relation and is called by an expression created here: after
    /// the tables, before the columns and constraints that call it.
    BeforeColumns,
    AfterConstraints,
}

impl<'a> Generator<'a> {
    /// Names of the target's tables and views: what a signature or a SQL
    /// body may need created first.
    pub(super) fn target_relations(&self) -> Vec<&'a str> {
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
    pub(super) fn created_expressions(&self) -> Vec<&'a str> {
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
    pub(super) fn plan_functions(&mut self) {
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
    pub(super) fn plan_deferred_defaults(&mut self) {
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
    pub(super) fn calls_created_function(&self, text: &str) -> bool {
        self.function_steps
            .keys()
            .any(|key| match self.sides.to.get(key) {
                Some(Object::Function(f)) => mentions(text, &f.name),
                _ => false,
            })
    }

    /// The functions of one step, each after those its SQL body calls.
    pub(super) fn functions(&mut self, step: FunctionStep) {
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
    pub(super) fn deferred_defaults(&mut self) {
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
}

/// Whether a function's arguments or result name `relation` (a row type).
pub(super) fn names_in_signature(f: &Function, relation: &str) -> bool {
    mentions(&f.arguments, relation) || f.returns.as_deref().is_some_and(|r| mentions(r, relation))
}

/// A domain's default and checks that `after` has and `before` has not.
pub(super) fn domain_additions<'d>(
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
pub(super) fn called_functions(
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
pub(super) fn function_order(functions: Vec<&Function>) -> Vec<&Function> {
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
