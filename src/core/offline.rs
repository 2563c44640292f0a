//! The offline script (`--sql`): a plan rendered as the SQL a DBA can review
//! and run by hand, in the shape Alembic's offline mode prints.

use crate::core::graph::RevisionMap;
use crate::core::plan::{Direction, Plan, Step, StepKind, VersionOp};
use crate::core::split::split_statements;

/// Where the version table lives. Identifiers are quoted only when they need
/// it, as SQLAlchemy renders them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTableName {
    pub schema: Option<String>,
    pub name: String,
}

impl Default for VersionTableName {
    fn default() -> Self {
        VersionTableName {
            schema: None,
            name: "alembic_version".to_string(),
        }
    }
}

impl VersionTableName {
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }

    /// Alembic's DDL for the table: `version_num VARCHAR(32)` with a primary
    /// key named `<table>_pkc` (the trailing space after the comma is
    /// SQLAlchemy's).
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT {} PRIMARY KEY (version_num)\n)",
            self.qualified(),
            quote_ident(&format!("{}_pkc", self.name))
        )
    }

    /// The statement for one version-table change, with literal values.
    pub fn op_sql(&self, op: &VersionOp) -> String {
        let table = self.qualified();
        match op {
            VersionOp::Insert { version } => format!(
                "INSERT INTO {table} (version_num) VALUES ({}) RETURNING {table}.version_num",
                quote_literal(version)
            ),
            VersionOp::Update { from, to } => format!(
                "UPDATE {table} SET version_num={} WHERE {table}.version_num = {}",
                quote_literal(to),
                quote_literal(from)
            ),
            VersionOp::Delete { version } => format!(
                "DELETE FROM {table} WHERE {table}.version_num = {}",
                quote_literal(version)
            ),
        }
    }
}

/// Quotes an identifier unless it is a plain lower-case name.
pub fn quote_ident(ident: &str) -> String {
    let plain = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&ident);
    if plain {
        ident.to_string()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

/// A few reserved words that must be quoted as table or schema names.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "into",
    "is",
    "join",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "when",
    "where",
    "with",
];

pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Renders `plan` as an offline script: one `BEGIN; ... COMMIT;` per step,
/// the `-- Running upgrade a -> b` comment, the step's SQL and its
/// version-table statements; the version table is created when the script
/// starts from an empty database. Non-transactional revisions run outside
/// the transaction, as they would online. A revision's own `lock_timeout` /
/// `statement_timeout` is a `SET LOCAL` in its transaction, or, outside one,
/// a `SET` before its SQL and a `RESET` after (online, retort restores the
/// session's earlier value instead, which a script cannot know).
pub fn render_offline(map: &RevisionMap, plan: &Plan, table: &VersionTableName) -> String {
    let mut out = String::new();
    let mut heads = plan.heads_before.len();
    for step in &plan.steps {
        let revision = map.get(&step.revision);
        let transactional =
            step.kind == StepKind::Stamp || revision.is_none_or(|r| r.transactional);
        chunk(&mut out, "BEGIN");
        if heads == 0 {
            chunk(&mut out, &table.create_sql());
        }
        out.push_str(&format!("-- Running {}\n\n", step.short_log()));
        if !transactional {
            chunk(&mut out, "COMMIT");
        }
        let timeouts = match revision.filter(|_| step.kind == StepKind::Migrate) {
            Some(revision) => revision.setting_overrides(),
            None => Vec::new(),
        };
        for (name, value) in &timeouts {
            let set = if transactional { "SET LOCAL" } else { "SET" };
            chunk(
                &mut out,
                &format!("{set} {name} = {}", quote_literal(value)),
            );
        }
        for statement in step_statements(map, step) {
            chunk(&mut out, &statement);
        }
        if !transactional {
            for (name, _) in &timeouts {
                chunk(&mut out, &format!("RESET {name}"));
            }
            chunk(&mut out, "BEGIN");
        }
        for op in &step.version_ops {
            chunk(&mut out, &table.op_sql(op));
            heads = match op {
                VersionOp::Insert { .. } => heads + 1,
                VersionOp::Delete { .. } => heads.saturating_sub(1),
                VersionOp::Update { .. } => heads,
            };
        }
        chunk(&mut out, "COMMIT");
    }
    out
}

fn chunk(out: &mut String, sql: &str) {
    out.push_str(sql);
    out.push_str(";\n\n");
}

/// The statements a step runs (none for a stamp). Sections were validated
/// when the file was parsed; should one still fail to split, it is shown
/// whole rather than dropped.
fn step_statements(map: &RevisionMap, step: &Step) -> Vec<String> {
    if step.kind == StepKind::Stamp {
        return Vec::new();
    }
    let Some(rev) = map.get(&step.revision) else {
        return Vec::new();
    };
    let section = match step.direction {
        Direction::Upgrade => Some(&rev.upgrade),
        Direction::Downgrade => rev.downgrade.as_ref(),
    };
    let Some(section) = section else {
        return Vec::new();
    };
    match split_statements(&section.sql) {
        Ok(statements) => statements.into_iter().map(|s| s.sql).collect(),
        Err(_) => vec![section.sql.trim().trim_end_matches(';').to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::plan_upgrade;
    use crate::core::revision::{Revision, SqlSection};

    #[test]
    fn upgrade_from_empty_creates_the_table_and_inserts_then_updates() {
        let mut a = Revision::synthetic("aaaa1111", &[]);
        a.upgrade = SqlSection {
            sql: "CREATE TABLE t (id int);\n".into(),
            first_line: 3,
        };
        let b = Revision::synthetic("bbbb2222", &["aaaa1111"]);
        let map = RevisionMap::build(vec![a, b]).unwrap();
        let plan = plan_upgrade(&map, &[], "heads").unwrap();
        let sql = render_offline(&map, &plan, &VersionTableName::default());
        let expected = "BEGIN;\n\n\
CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n\
-- Running upgrade  -> aaaa1111\n\n\
CREATE TABLE t (id int);\n\n\
INSERT INTO alembic_version (version_num) VALUES ('aaaa1111') RETURNING alembic_version.version_num;\n\n\
COMMIT;\n\n\
BEGIN;\n\n\
-- Running upgrade aaaa1111 -> bbbb2222\n\n\
UPDATE alembic_version SET version_num='bbbb2222' WHERE alembic_version.version_num = 'aaaa1111';\n\n\
COMMIT;\n\n";
        assert_eq!(sql, expected);
    }

    #[test]
    fn revision_timeouts_are_set_for_their_own_sql() {
        let mut a = Revision::synthetic("a1", &[]);
        a.upgrade.sql = "ALTER TABLE t ADD c int;".into();
        a.lock_timeout = Some("2s".into());
        let mut b = Revision::synthetic("b2", &["a1"]);
        b.upgrade.sql = "CREATE INDEX CONCURRENTLY i ON t (c);".into();
        b.transactional = false;
        b.lock_timeout = Some("1s".into());
        b.statement_timeout = Some("1h".into());
        let map = RevisionMap::build(vec![a, b]).unwrap();
        let plan = plan_upgrade(&map, &[], "heads").unwrap();
        let sql = render_offline(&map, &plan, &VersionTableName::default());
        assert!(
            sql.contains(
                "-- Running upgrade  -> a1\n\nSET LOCAL lock_timeout = '2s';\n\nALTER TABLE t ADD c int;\n\n"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "-- Running upgrade a1 -> b2\n\nCOMMIT;\n\nSET lock_timeout = '1s';\n\n\
                 SET statement_timeout = '1h';\n\nCREATE INDEX CONCURRENTLY i ON t (c);\n\n\
                 RESET lock_timeout;\n\nRESET statement_timeout;\n\nBEGIN;\n\n"
            ),
            "{sql}"
        );
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("alembic_version"), "alembic_version");
        assert_eq!(quote_ident("Versions"), "\"Versions\"");
        assert_eq!(quote_ident("user"), "\"user\"");
    }
}
