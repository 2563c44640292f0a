//! A database's schema as a normalized, comparable model, and the diff of
//! two of them. Pure: the database layer reads the catalogs into a
//! [`Snapshot`] (`db::catalog`), this module only compares.
//!
//! Every object is stored under an [`ObjectKey`] (kind, schema, name), flat:
//! columns, constraints, triggers and policies are objects of their own,
//! named `table.part`, so a change names exactly the object that differs.
//! Each object states what it consists of as [`Facet`]s (named values); the
//! diff compares facets, and the typed fields stay available for turning a
//! change into DDL later.

pub mod ddl;
pub mod diff;
pub mod model;
pub mod rename;
pub mod render;

pub use ddl::{DdlError, DdlOptions, Script, Statement, generate};
pub use diff::{Change, ChangeKind, diff};
pub use model::{
    Column, CompositeType, Constraint, Domain, EnumType, Extension, Facet, Function, Index, Meta,
    Object, ObjectKey, ObjectKind, Policy, Schema, Sequence, Snapshot, Table, Trigger, View,
};
pub use rename::{Candidate, Chosen, Rename, choose, generate_renamed};
pub use render::{change_lines, render_changes};
