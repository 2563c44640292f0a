//! One catalog query per object kind, each beside the code that turns its
//! rows into snapshot objects. Every query ends with the object's comment,
//! owner and grants (see `Reader::meta`).

use super::CatalogError;
use super::rows::Reader;
use crate::core::schema::model::*;

/// A query and what to do with each of its rows.
pub(super) struct Kind {
    pub what: &'static str,
    pub sql: String,
    pub read: fn(&mut Reader<'_>, &mut Snapshot) -> Result<(), CatalogError>,
}

/// Schemas of the user: not PostgreSQL's own (`pg_catalog`, `pg_toast`,
/// temporary schemas: every `pg_` name is reserved) nor the SQL standard's.
const USER_SCHEMA: &str = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";

/// The relations left out (`$1`, names that do not resolve dropped, since
/// a NULL in `<> ALL` would hide every row).
const EXCLUDED: &str = "ARRAY(SELECT r FROM (SELECT pg_catalog.to_regclass(x)::oid AS r \
     FROM unnest($1::text[]) AS x) AS s WHERE r IS NOT NULL)";

/// Objects an extension created belong to it (`pg_depend` deptype `e`).
fn not_in_extension(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext \
          WHERE ext.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass \
            AND ext.objid = {oid} AND ext.deptype = 'e')"
    )
}

/// An ACL as sorted text, so the order grants were made in does not count.
fn acl(column: &str) -> String {
    format!(
        "(SELECT pg_catalog.string_agg(a::text, ', ' ORDER BY a::text) FROM unnest({column}) AS a)"
    )
}

/// A collation's name, qualified unless it is in `pg_catalog`.
fn collation_name(oid: &str) -> String {
    format!(
        "(SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname) \
                 ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END \
            FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
           WHERE co.oid = {oid})"
    )
}

/// A relation of the user: its schema, not an extension's, not excluded.
fn user_relation() -> String {
    format!(
        "{USER_SCHEMA} AND {} AND c.oid <> ALL ({EXCLUDED})",
        not_in_extension("pg_class", "c.oid")
    )
}

/// Every kind, for a server of `version` (`server_version_num`).
pub(super) fn kinds(version: i32) -> Vec<Kind> {
    vec![
        schemas(),
        extensions(),
        types(),
        sequences(),
        tables(),
        columns(),
        constraints(),
        indexes(),
        statistics(),
        views(),
        functions(),
        triggers(version),
        policies(),
        unmodeled(),
    ]
}

fn schemas() -> Kind {
    Kind {
        what: "schemas",
        sql: format!(
            "SELECT n.nspname::text, pg_catalog.obj_description(n.oid, 'pg_namespace'), \
                    pg_catalog.pg_get_userbyid(n.nspowner)::text, {} \
               FROM pg_catalog.pg_namespace n WHERE {USER_SCHEMA} AND {}",
            acl("n.nspacl"),
            not_in_extension("pg_namespace", "n.oid")
        ),
        read: |r, snapshot| {
            let name = r.text()?;
            let meta = r.meta()?;
            snapshot.insert(
                ObjectKey::new(ObjectKind::Schema, "", &name),
                Object::Schema(Schema { meta }),
            );
            Ok(())
        },
    }
}

fn extensions() -> Kind {
    Kind {
        what: "extensions",
        sql: "SELECT e.extname::text, n.nspname::text, e.extversion, \
                     pg_catalog.obj_description(e.oid, 'pg_extension'), \
                     pg_catalog.pg_get_userbyid(e.extowner)::text, NULL::text \
                FROM pg_catalog.pg_extension e \
                JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
            .to_string(),
        read: |r, snapshot| {
            let name = r.text()?;
            let extension = Extension {
                schema: r.text()?,
                version: r.text()?,
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Extension, "", &name),
                Object::Extension(extension),
            );
            Ok(())
        },
    }
}

/// Enums, domains and composite types (a composite type is a `pg_class`
/// row of kind `c`; every table has a row type too, which is not one).
fn types() -> Kind {
    Kind {
        what: "types",
        sql: format!(
            "SELECT t.typtype::text, n.nspname::text, t.typname::text, \
                    CASE t.typtype \
                      WHEN 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e \
                                           WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) \
                      WHEN 'c' THEN ARRAY(SELECT pg_catalog.quote_ident(a.attname) || ' ' || \
                                                 pg_catalog.format_type(a.atttypid, a.atttypmod) \
                                            FROM pg_catalog.pg_attribute a \
                                           WHERE a.attrelid = t.typrelid AND a.attnum > 0 \
                                             AND NOT a.attisdropped ORDER BY a.attnum) \
                      ELSE ARRAY(SELECT pg_catalog.quote_ident(k.conname) || ': ' || \
                                        pg_catalog.pg_get_constraintdef(k.oid) \
                                   FROM pg_catalog.pg_constraint k \
                                  WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) \
                    END, \
                    pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, \
                    CASE WHEN t.typcollation <> bt.typcollation THEN {} END, \
                    pg_catalog.obj_description(t.oid, 'pg_type'), \
                    pg_catalog.pg_get_userbyid(t.typowner)::text, {} \
               FROM pg_catalog.pg_type t \
               JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
               LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid \
               LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype \
              WHERE (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND c.relkind = 'c')) \
                AND {USER_SCHEMA} AND {}",
            collation_name("t.typcollation"),
            acl("t.typacl"),
            not_in_extension("pg_type", "t.oid")
        ),
        read: read_type,
    }
}

fn read_type(r: &mut Reader<'_>, snapshot: &mut Snapshot) -> Result<(), CatalogError> {
    let typtype = r.text()?;
    let schema = r.text()?;
    let name = r.text()?;
    let items = r.list()?;
    let base_type = r.text()?;
    let not_null = r.flag()?;
    let default = r.optional()?;
    let collation = r.optional()?;
    let meta = r.meta()?;
    let (kind, object) = match typtype.as_str() {
        "e" => (
            ObjectKind::Enum,
            Object::Enum(EnumType {
                values: items,
                meta,
            }),
        ),
        "c" => (
            ObjectKind::CompositeType,
            Object::CompositeType(CompositeType {
                attributes: items,
                meta,
            }),
        ),
        _ => (
            ObjectKind::Domain,
            Object::Domain(Domain {
                base_type,
                not_null,
                default,
                collation,
                checks: items,
                meta,
            }),
        ),
    };
    snapshot.insert(ObjectKey::new(kind, &schema, &name), object);
    Ok(())
}

/// The options of a sequence, as `pg_sequence` columns.
const SEQUENCE_OPTIONS: &str = "pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, \
     s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle";

/// Sequences that stand on their own or belong to a serial column;
/// an identity column's sequence is part of the column.
fn sequences() -> Kind {
    Kind {
        what: "sequences",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, {SEQUENCE_OPTIONS}, \
                    (SELECT d.refobjid::pg_catalog.regclass::text || '.' || a.attname \
                       FROM pg_catalog.pg_depend d \
                       JOIN pg_catalog.pg_attribute a \
                         ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                        AND d.objid = c.oid AND d.deptype = 'a' AND d.refobjsubid > 0), \
                    pg_catalog.obj_description(c.oid, 'pg_class'), \
                    pg_catalog.pg_get_userbyid(c.relowner)::text, {} \
               FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid \
              WHERE c.relkind = 'S' AND {} \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                                 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                                   AND d.objid = c.oid AND d.deptype IN ('i', 'a') \
                                   AND (d.deptype = 'i' OR d.refobjid = ANY ({EXCLUDED})))",
            acl("c.relacl"),
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let name = r.text()?;
            let mut sequence = sequence_options(r)?;
            sequence.owned_by = r.optional()?;
            sequence.meta = r.meta()?;
            snapshot.insert(
                ObjectKey::new(ObjectKind::Sequence, &schema, &name),
                Object::Sequence(sequence),
            );
            Ok(())
        },
    }
}

/// The columns of [`SEQUENCE_OPTIONS`], all NULL for a column without
/// an identity.
fn sequence_options(r: &mut Reader<'_>) -> Result<Sequence, CatalogError> {
    Ok(Sequence {
        data_type: r.optional()?.unwrap_or_default(),
        start: r.next::<Option<i64>>()?.unwrap_or_default(),
        increment: r.next::<Option<i64>>()?.unwrap_or_default(),
        min: r.next::<Option<i64>>()?.unwrap_or_default(),
        max: r.next::<Option<i64>>()?.unwrap_or_default(),
        cache: r.next::<Option<i64>>()?.unwrap_or_default(),
        cycle: r.next::<Option<bool>>()?.unwrap_or_default(),
        owned_by: None,
        meta: Meta::default(),
    })
}

fn tables() -> Kind {
    Kind {
        what: "tables",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence = 'u', \
                    CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, \
                    CASE WHEN c.relispartition THEN \
                      (SELECT i.inhparent::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i \
                        WHERE i.inhrelid = c.oid) || ' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid) \
                    END, \
                    CASE WHEN NOT c.relispartition THEN \
                      (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' \
                                                    ORDER BY i.inhseqno) \
                         FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) \
                    END, \
                    c.relrowsecurity, c.relforcerowsecurity, \
                    pg_catalog.array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) AS o ORDER BY o), ', '), \
                    ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                           ORDER BY a.attnum), \
                    pg_catalog.obj_description(c.oid, 'pg_class'), \
                    pg_catalog.pg_get_userbyid(c.relowner)::text, {} \
               FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p') AND {}",
            acl("c.relacl"),
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let name = r.text()?;
            let table = Table {
                kind: match r.text()?.as_str() {
                    "p" => "partitioned table".to_string(),
                    _ => "table".to_string(),
                },
                unlogged: r.flag()?,
                partition_key: r.optional()?,
                partition_of: r.optional()?,
                inherits: r.optional()?,
                rls_enabled: r.flag()?,
                rls_forced: r.flag()?,
                options: r.optional()?,
                column_order: r.list()?,
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Table, &schema, &name),
                Object::Table(table),
            );
            Ok(())
        },
    }
}

fn columns() -> Kind {
    Kind {
        what: "columns",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                    CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, \
                    CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END, \
                    {SEQUENCE_OPTIONS}, \
                    CASE WHEN a.attgenerated = 's' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, \
                    CASE WHEN a.attcollation <> t.typcollation THEN {} END, \
                    pg_catalog.col_description(c.oid, a.attnum), NULL::text, {} \
               FROM pg_catalog.pg_attribute a \
               JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
               LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
               LEFT JOIN pg_catalog.pg_depend idd \
                      ON a.attidentity <> '' AND idd.refobjid = c.oid AND idd.refobjsubid = a.attnum \
                     AND idd.deptype = 'i' AND idd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
               LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = idd.objid \
              WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {}",
            collation_name("a.attcollation"),
            acl("a.attacl"),
            user_relation()
        ),
        read: read_column,
    }
}

fn read_column(r: &mut Reader<'_>, snapshot: &mut Snapshot) -> Result<(), CatalogError> {
    let schema = r.text()?;
    let table = r.text()?;
    let name = r.text()?;
    let data_type = r.text()?;
    let not_null = r.flag()?;
    let default = r.optional()?;
    let identity = r.optional()?;
    let sequence = sequence_options(r)?;
    let column = Column {
        identity_sequence: identity.as_ref().map(|_| sequence.options_text()),
        identity,
        generated: r.optional()?,
        collation: r.optional()?,
        meta: r.meta()?,
        table: table.clone(),
        name: name.clone(),
        data_type,
        not_null,
        default,
    };
    snapshot.insert(
        ObjectKey::new(ObjectKind::Column, &schema, &format!("{table}.{name}")),
        Object::Column(column),
    );
    Ok(())
}

/// Constraints of tables: primary key, unique, check, foreign key,
/// exclusion. NOT NULL is a column's (a `pg_constraint` row only from
/// PostgreSQL 18 on); those a partition got from its parent are left to
/// the parent.
fn constraints() -> Kind {
    Kind {
        what: "constraints",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, k.conname::text, k.contype::text, \
                    pg_catalog.pg_get_constraintdef(k.oid), \
                    pg_catalog.obj_description(k.oid, 'pg_constraint'), NULL::text, NULL::text \
               FROM pg_catalog.pg_constraint k \
               JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE k.contype IN ('p', 'u', 'c', 'f', 'x') AND k.conparentid = 0 AND k.conislocal \
                AND c.relkind IN ('r', 'p') AND {}",
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let table = r.text()?;
            let name = r.text()?;
            let kind = match r.text()?.as_str() {
                "p" => "primary key",
                "u" => "unique",
                "c" => "check",
                "f" => "foreign key",
                _ => "exclusion",
            };
            let constraint = Constraint {
                table: table.clone(),
                kind: kind.to_string(),
                definition: r.text()?,
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Constraint, &schema, &format!("{table}.{name}")),
                Object::Constraint(constraint),
            );
            Ok(())
        },
    }
}

/// Indexes of tables and materialized views, except those of a primary
/// key, unique or exclusion constraint (the constraint stands for them)
/// and those attached to a partitioned table's index.
fn indexes() -> Kind {
    Kind {
        what: "indexes",
        sql: format!(
            "SELECT n.nspname::text, ic.relname::text, c.relname::text, \
                    pg_catalog.pg_get_indexdef(i.indexrelid), \
                    pg_catalog.obj_description(ic.oid, 'pg_class'), NULL::text, NULL::text \
               FROM pg_catalog.pg_index i \
               JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
               JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace \
              WHERE c.relkind IN ('r', 'p', 'm') AND NOT ic.relispartition \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k \
                                 WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid \
                                   AND k.contype IN ('p', 'u', 'x')) \
                AND {}",
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let name = r.text()?;
            let index = Index {
                table: r.text()?,
                definition: r.text()?,
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Index, &schema, &name),
                Object::Index(index),
            );
            Ok(())
        },
    }
}

/// Extended statistics on the user's tables (`CREATE STATISTICS`), with
/// their statistics target when one is set.
fn statistics() -> Kind {
    Kind {
        what: "statistics",
        sql: format!(
            "SELECT n.nspname::text, s.stxname::text, c.relname::text, \
                    pg_catalog.pg_get_statisticsobjdef(s.oid), \
                    (CASE WHEN s.stxstattarget >= 0 THEN s.stxstattarget END)::int, \
                    pg_catalog.obj_description(s.oid, 'pg_statistic_ext'), NULL::text, NULL::text \
               FROM pg_catalog.pg_statistic_ext s \
               JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace \
               JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid \
              WHERE {USER_SCHEMA} AND {} AND c.oid <> ALL ({EXCLUDED})",
            not_in_extension("pg_statistic_ext", "s.oid")
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let name = r.text()?;
            let statistics = Statistics {
                table: r.text()?,
                definition: r.text()?,
                target: r.next()?,
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Statistics, &schema, &name),
                Object::Statistics(statistics),
            );
            Ok(())
        },
    }
}

fn views() -> Kind {
    Kind {
        what: "views",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, c.relkind::text, \
                    pg_catalog.pg_get_viewdef(c.oid, true), \
                    pg_catalog.array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) AS o ORDER BY o), ', '), \
                    pg_catalog.obj_description(c.oid, 'pg_class'), \
                    pg_catalog.pg_get_userbyid(c.relowner)::text, {} \
               FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('v', 'm') AND {}",
            acl("c.relacl"),
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let name = r.text()?;
            let kind = match r.text()?.as_str() {
                "m" => ObjectKind::MaterializedView,
                _ => ObjectKind::View,
            };
            let view = View {
                definition: r.text()?,
                options: r.optional()?,
                meta: r.meta()?,
            };
            snapshot.insert(ObjectKey::new(kind, &schema, &name), Object::View(view));
            Ok(())
        },
    }
}

/// Functions and procedures (aggregates have no `pg_get_functiondef`).
fn functions() -> Kind {
    Kind {
        what: "functions",
        sql: format!(
            "SELECT n.nspname::text, p.proname::text, \
                    pg_catalog.pg_get_function_identity_arguments(p.oid), p.prokind::text, \
                    CASE WHEN p.prokind <> 'p' THEN pg_catalog.pg_get_function_result(p.oid) END, \
                    l.lanname::text, p.provolatile::text, p.prosecdef, p.proisstrict, \
                    pg_catalog.array_to_string(p.proconfig, ', '), p.prosrc, \
                    pg_catalog.pg_get_functiondef(p.oid), \
                    pg_catalog.obj_description(p.oid, 'pg_proc'), \
                    pg_catalog.pg_get_userbyid(p.proowner)::text, {} \
               FROM pg_catalog.pg_proc p \
               JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
               JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
              WHERE p.prokind IN ('f', 'p', 'w') AND {USER_SCHEMA} AND {}",
            acl("p.proacl"),
            not_in_extension("pg_proc", "p.oid")
        ),
        read: read_function,
    }
}

fn read_function(r: &mut Reader<'_>, snapshot: &mut Snapshot) -> Result<(), CatalogError> {
    let schema = r.text()?;
    let name = r.text()?;
    let arguments = r.text()?;
    let kind = match r.text()?.as_str() {
        "p" => ObjectKind::Procedure,
        _ => ObjectKind::Function,
    };
    let returns = r.optional()?;
    let language = r.text()?;
    let volatility = match r.text()?.as_str() {
        "i" => "immutable",
        "s" => "stable",
        _ => "volatile",
    };
    let security = match r.flag()? {
        true => "definer",
        false => "invoker",
    };
    let strict = r.flag()?;
    let config = r.optional()?;
    let source = r.optional()?;
    let definition = r.text()?;
    let function = Function {
        // A SQL-standard body (`BEGIN ATOMIC`, `RETURN`) has no source
        // text; its deparsed definition is the body then.
        body: source.unwrap_or_else(|| definition.clone()),
        name: name.clone(),
        arguments: arguments.clone(),
        returns,
        language,
        volatility: volatility.to_string(),
        security: security.to_string(),
        strict,
        config,
        definition,
        meta: r.meta()?,
    };
    snapshot.insert(
        ObjectKey::new(kind, &schema, &format!("{name}({arguments})")),
        Object::Function(function),
    );
    Ok(())
}

/// User triggers (constraint triggers of foreign keys are internal), not
/// the clones a partition gets from its parent: internal up to
/// PostgreSQL 12, marked by `tgparentid` from 13 on.
fn triggers(version: i32) -> Kind {
    let not_cloned = match version >= 130000 {
        true => "AND tg.tgparentid = 0",
        false => "",
    };
    Kind {
        what: "triggers",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, tg.tgname::text, \
                    pg_catalog.pg_get_triggerdef(tg.oid), tg.tgenabled::text, \
                    pg_catalog.obj_description(tg.oid, 'pg_trigger'), NULL::text, NULL::text \
               FROM pg_catalog.pg_trigger tg \
               JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE NOT tg.tgisinternal {not_cloned} AND {}",
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let table = r.text()?;
            let name = r.text()?;
            let definition = r.text()?;
            let enabled = match r.text()?.as_str() {
                "D" => "disabled",
                "R" => "replica",
                "A" => "always",
                _ => "origin",
            };
            let trigger = Trigger {
                table: table.clone(),
                definition,
                enabled: enabled.to_string(),
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Trigger, &schema, &format!("{table}.{name}")),
                Object::Trigger(trigger),
            );
            Ok(())
        },
    }
}

fn policies() -> Kind {
    Kind {
        what: "policies",
        sql: format!(
            "SELECT n.nspname::text, c.relname::text, p.polname::text, p.polcmd::text, \
                    p.polpermissive, \
                    ARRAY(SELECT CASE WHEN r = 0 THEN 'public' \
                                      ELSE pg_catalog.pg_get_userbyid(r)::text END \
                            FROM unnest(p.polroles) AS r ORDER BY 1), \
                    pg_catalog.pg_get_expr(p.polqual, p.polrelid), \
                    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), \
                    pg_catalog.obj_description(p.oid, 'pg_policy'), NULL::text, NULL::text \
               FROM pg_catalog.pg_policy p \
               JOIN pg_catalog.pg_class c ON c.oid = p.polrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE {}",
            user_relation()
        ),
        read: |r, snapshot| {
            let schema = r.text()?;
            let table = r.text()?;
            let name = r.text()?;
            let command = match r.text()?.as_str() {
                "r" => "SELECT",
                "a" => "INSERT",
                "w" => "UPDATE",
                "d" => "DELETE",
                _ => "ALL",
            };
            let policy = Policy {
                table: table.clone(),
                command: command.to_string(),
                permissive: r.flag()?,
                roles: r.list()?.join(", "),
                using: r.optional()?,
                with_check: r.optional()?,
                meta: r.meta()?,
            };
            snapshot.insert(
                ObjectKey::new(ObjectKind::Policy, &schema, &format!("{table}.{name}")),
                Object::Policy(policy),
            );
            Ok(())
        },
    }
}

/// Objects of kinds the model does not cover, named so that a diff can
/// say what it did not compare.
fn unmodeled() -> Kind {
    let relation = user_relation();
    let in_user_schema =
        |catalog: &str, oid: &str| format!("{USER_SCHEMA} AND {}", not_in_extension(catalog, oid));
    Kind {
        what: "objects of other kinds",
        sql: format!(
            "SELECT 'rule', n.nspname::text, c.relname || '.' || r.rulename \
               FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE r.rulename <> '_RETURN' AND {relation} \
             UNION ALL \
             SELECT 'foreign table', n.nspname::text, c.relname::text \
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind = 'f' AND {relation} \
             UNION ALL \
             SELECT 'aggregate', n.nspname::text, \
                    p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' \
               FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
              WHERE p.prokind = 'a' AND {} \
             UNION ALL \
             SELECT CASE t.typtype WHEN 'r' THEN 'range type' ELSE 'base type' END, \
                    n.nspname::text, t.typname::text \
               FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
              WHERE (t.typtype = 'r' OR (t.typtype = 'b' AND t.typcategory <> 'A')) AND {} \
             UNION ALL \
             SELECT 'collation', n.nspname::text, co.collname::text \
               FROM pg_catalog.pg_collation co \
               JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace WHERE {} \
             UNION ALL \
             SELECT 'operator', n.nspname::text, o.oprname::text \
               FROM pg_catalog.pg_operator o \
               JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE {} \
             UNION ALL \
             SELECT 'text search configuration', n.nspname::text, f.cfgname::text \
               FROM pg_catalog.pg_ts_config f \
               JOIN pg_catalog.pg_namespace n ON n.oid = f.cfgnamespace WHERE {} \
             UNION ALL \
             SELECT 'event trigger', '', e.evtname::text FROM pg_catalog.pg_event_trigger e \
              WHERE {}",
            in_user_schema("pg_proc", "p.oid"),
            in_user_schema("pg_type", "t.oid"),
            in_user_schema("pg_collation", "co.oid"),
            in_user_schema("pg_operator", "o.oid"),
            in_user_schema("pg_ts_config", "f.oid"),
            not_in_extension("pg_event_trigger", "e.oid"),
        ),
        read: |r, snapshot| {
            let kind = r.text()?;
            let schema = r.text()?;
            let name = r.text()?;
            let shown = match schema.as_str() {
                "" | "public" => name,
                _ => format!("{schema}.{name}"),
            };
            snapshot.unmodeled.push(format!("{kind} {shown}"));
            Ok(())
        },
    }
}
