//! Alembic's version table: one row per current head, same layout, name and
//! schema configurable.
//!
//! Every statement retort runs on its own tables names them with a schema:
//! the configured one, else the one resolved once when the connection is
//! made ([`VersionTable::locate`]). A migration that runs `SET search_path`
//! therefore cannot make retort read or write another application's
//! `alembic_version` (the session setting outlives the step).

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use crate::core::plan::VersionOp;
use crate::db::connect::describe_error;

/// Width of `version_num` in the table Alembic (and retort) creates.
pub const VERSION_NUM_WIDTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTable {
    /// The configured schema; `None` finds the table through the session's
    /// `search_path` when the connection is made, as Alembic does.
    pub schema: Option<String>,
    pub name: String,
    /// Where the table was found (or is created) when the connection was
    /// made, for a table without a configured schema; see [`VersionTable::locate`].
    pub resolved_schema: Option<String>,
}

impl Default for VersionTable {
    fn default() -> VersionTable {
        VersionTable {
            schema: None,
            name: "alembic_version".to_string(),
            resolved_schema: None,
        }
    }
}

/// Where retort's tables live on a connection, and the server's encoding,
/// read once right after connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub schema: String,
    /// `server_encoding`, e.g. `UTF8`, `LATIN1`, `SQL_ASCII`.
    pub server_encoding: String,
}

/// The configured schema, else the first schema of the search_path that
/// holds a relation of that name (where an unqualified name finds it, so an
/// existing table is used wherever Alembic would use it), else
/// `current_schema()` (where an unqualified CREATE TABLE would put it).
/// Temporary schemas are not on `current_schemas(false)`, so a temporary
/// table of the same name is never taken for it.
const LOCATE_SQL: &str = "\
SELECT coalesce($1::text,
                (SELECT s.name::text
                   FROM unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY AS s(name, pos)
                   JOIN pg_catalog.pg_namespace n ON n.nspname = s.name
                   JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = $2::text
                  ORDER BY s.pos LIMIT 1),
                pg_catalog.current_schema()::text),
       pg_catalog.current_setting('search_path'),
       pg_catalog.current_setting('server_encoding')";

/// The table's kind and its `version_num` column, from the catalog.
/// `format_type` and the `pg_catalog.` prefixes keep the answer the same
/// whatever the session's search_path.
const LAYOUT_SQL: &str = "\
SELECT c.relkind::text, pg_catalog.format_type(a.atttypid, NULL), t.typcategory::text, a.atttypmod
  FROM pg_catalog.pg_class c
  LEFT JOIN pg_catalog.pg_attribute a
         ON a.attrelid = c.oid AND a.attname = 'version_num' AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
 WHERE c.oid = pg_catalog.to_regclass($1)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionTableError {
    /// Alembic's one-row check for UPDATE and DELETE.
    #[error("Online migration expected to match one row when {action} in '{table}'; {found} found")]
    RowCount {
        action: String,
        table: String,
        found: u64,
    },
    #[error(
        "revision id '{version}' is {length} characters long, but column version_num of {table} holds at most {width}"
    )]
    TooLong {
        version: String,
        length: usize,
        table: String,
        width: usize,
    },
    #[error("version table {table}: {action}: {cause}")]
    Database {
        table: String,
        action: String,
        cause: String,
        /// SQLSTATE, when the server reported the failure.
        code: Option<String>,
    },
    /// The table exists but cannot hold revision ids.
    #[error(
        "{problem}; retort keeps revision ids there as Alembic does (version_num varchar(32) primary key); nothing was run"
    )]
    Layout { table: String, problem: String },
    /// No schema configured and none of the search_path exists.
    #[error(
        "cannot tell which schema the version table {table} belongs in: no schema on the \
         search_path ({search_path}) exists, so current_schema() is null; nothing was run. \
         Create one of those schemas, change search_path, or set version_table_schema"
    )]
    NoSchema { table: String, search_path: String },
}

/// `"name"`, doubling embedded quotes, so any name is taken literally.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl VersionTable {
    pub fn new(schema: Option<&str>, name: &str) -> VersionTable {
        VersionTable {
            schema: schema.map(str::to_string),
            name: name.to_string(),
            resolved_schema: None,
        }
    }

    /// The schema statements name: the configured one, else the resolved one.
    pub fn effective_schema(&self) -> Option<&str> {
        self.schema.as_deref().or(self.resolved_schema.as_deref())
    }

    /// Resolves the table's schema on `client` (see [`LOCATE_SQL`]), once,
    /// right after connecting and before any revision SQL has run.
    pub async fn locate(&self, client: &Client) -> Result<Site, VersionTableError> {
        let row = client
            .query_one(LOCATE_SQL, &[&self.schema, &self.name])
            .await
            .map_err(|e| self.db_error("resolving its schema", &e))?;
        let read = |e: tokio_postgres::Error| self.db_error("resolving its schema", &e);
        let schema: Option<String> = row.try_get(0).map_err(read)?;
        let search_path: String = row.try_get(1).map_err(read)?;
        let server_encoding: String = row.try_get(2).map_err(read)?;
        match schema {
            Some(schema) => Ok(Site {
                schema,
                server_encoding,
            }),
            None => Err(VersionTableError::NoSchema {
                table: self.name.clone(),
                search_path,
            }),
        }
    }

    /// This table, with statements naming `site`'s schema from now on.
    pub fn at(mut self, site: &Site) -> VersionTable {
        self.resolved_schema = Some(site.schema.clone());
        self
    }

    /// The quoted, schema-qualified name for SQL.
    pub fn qualified(&self) -> String {
        match self.effective_schema() {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }

    /// The name as the user wrote it, for messages.
    pub fn display_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Alembic's exact layout.
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (\n    version_num VARCHAR({VERSION_NUM_WIDTH}) NOT NULL, \n    CONSTRAINT {} PRIMARY KEY (version_num)\n)",
            self.qualified(),
            quote_ident(&format!("{}_pkc", self.name))
        )
    }

    fn db_error(&self, action: &str, error: &tokio_postgres::Error) -> VersionTableError {
        VersionTableError::Database {
            table: self.display_name(),
            action: action.to_string(),
            cause: describe_error(error),
            code: error.code().map(|c| c.code().to_string()),
        }
    }

    /// Whether the table exists (never creates it); an existing relation
    /// that cannot hold revision ids is an error naming what is wrong.
    pub async fn exists(&self, client: &Client) -> Result<bool, VersionTableError> {
        Ok(self.layout(client).await?.is_some())
    }

    /// The existing table's `version_num` width (see [`Layout`]); `None`
    /// when the table does not exist.
    async fn layout(&self, client: &Client) -> Result<Option<Layout>, VersionTableError> {
        let row = client
            .query_opt(LAYOUT_SQL, &[&self.qualified()])
            .await
            .map_err(|e| self.db_error("looking it up", &e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let read = |e: tokio_postgres::Error| self.db_error("looking it up", &e);
        let found = Found {
            relkind: row.try_get(0).map_err(read)?,
            column_type: row.try_get(1).map_err(read)?,
            category: row.try_get(2).map_err(read)?,
            typmod: row.try_get(3).map_err(read)?,
        };
        found
            .layout(&self.name)
            .map(Some)
            .map_err(|problem| VersionTableError::Layout {
                table: self.display_name(),
                problem,
            })
    }

    /// The current heads, sorted; empty when the table does not exist.
    pub async fn read_heads(&self, client: &Client) -> Result<Vec<String>, VersionTableError> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT version_num FROM {}", self.qualified());
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| self.db_error("reading heads", &e))?;
        let mut heads = rows
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db_error("reading heads", &e))?;
        heads.sort();
        Ok(heads)
    }

    pub async fn create(&self, client: &Client) -> Result<(), VersionTableError> {
        client
            .batch_execute(&self.create_sql())
            .await
            .map_err(|e| self.db_error("creating it", &e))
    }

    /// How many characters `version_num` holds: the declared width of an
    /// existing table (Alembic users sometimes widen it), `None` when
    /// unbounded, Alembic's 32 when the table does not exist yet.
    pub async fn version_width(&self, client: &Client) -> Result<Option<usize>, VersionTableError> {
        Ok(match self.layout(client).await? {
            Some(layout) => layout.width,
            None => Some(VERSION_NUM_WIDTH),
        })
    }

    /// Refuses ids the column cannot hold, before anything runs.
    pub fn check_width(
        &self,
        version: &str,
        width: Option<usize>,
    ) -> Result<(), VersionTableError> {
        let length = version.chars().count();
        match width {
            Some(width) if length > width => Err(VersionTableError::TooLong {
                version: version.to_string(),
                length,
                table: self.display_name(),
                width,
            }),
            _ => Ok(()),
        }
    }

    /// Deletes every row (`stamp --purge`).
    pub async fn purge(&self, client: &Client) -> Result<u64, VersionTableError> {
        client
            .execute(&format!("DELETE FROM {}", self.qualified()), &[])
            .await
            .map_err(|e| self.db_error("purging it", &e))
    }
}

/// What the catalog says about an existing relation of the table's name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    relkind: String,
    /// `None` when there is no `version_num` column.
    column_type: Option<String>,
    /// `pg_type.typcategory`: `S` for the string types (text, varchar,
    /// char, name, and domains over them).
    category: Option<String>,
    typmod: Option<i32>,
}

/// A usable version table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// Characters `version_num` holds; `None` when unbounded.
    width: Option<usize>,
}

impl Found {
    /// The layout, or what makes the relation unusable, in words.
    fn layout(&self, name: &str) -> Result<Layout, String> {
        let kind = match self.relkind.as_str() {
            // Tables, partitioned tables and foreign tables hold rows.
            "r" | "p" | "f" => None,
            "v" => Some("a view"),
            "m" => Some("a materialized view"),
            "S" => Some("a sequence"),
            "i" | "I" => Some("an index"),
            "c" => Some("a composite type"),
            _ => Some("not a table"),
        };
        if let Some(kind) = kind {
            return Err(format!("{name} is {kind}, expected a table"));
        }
        let Some(column_type) = &self.column_type else {
            return Err(format!("{name} has no column version_num"));
        };
        if self.category.as_deref() != Some("S") {
            return Err(format!(
                "{name}.version_num is {column_type}, expected a text type"
            ));
        }
        // varchar(n) and char(n) store n + 4; -1 means no limit.
        let width = self.typmod.filter(|t| *t > 4).map(|t| (t - 4) as usize);
        Ok(Layout { width })
    }
}

/// Applies version ops with statements prepared once per run.
pub struct VersionWriter<'t> {
    table: &'t VersionTable,
    insert: Option<Statement>,
    update: Option<Statement>,
    delete: Option<Statement>,
}

impl<'t> VersionWriter<'t> {
    pub fn new(table: &'t VersionTable) -> VersionWriter<'t> {
        VersionWriter {
            table,
            insert: None,
            update: None,
            delete: None,
        }
    }

    pub async fn apply(
        &mut self,
        client: &Client,
        op: &VersionOp,
    ) -> Result<(), VersionTableError> {
        match op {
            VersionOp::Insert { version } => {
                self.run(client, Kind::Insert, &[version]).await?;
                Ok(())
            }
            VersionOp::Update { from, to } => {
                let found = self.run(client, Kind::Update, &[to, from]).await?;
                self.expect_one(found, format!("updating '{from}' to '{to}'"))
            }
            VersionOp::Delete { version } => {
                let found = self.run(client, Kind::Delete, &[version]).await?;
                self.expect_one(found, format!("deleting '{version}'"))
            }
        }
    }

    fn expect_one(&self, found: u64, action: String) -> Result<(), VersionTableError> {
        if found == 1 {
            return Ok(());
        }
        Err(VersionTableError::RowCount {
            action,
            table: self.table.name.clone(),
            found,
        })
    }

    async fn run(
        &mut self,
        client: &Client,
        kind: Kind,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, VersionTableError> {
        let statement = self.prepared(client, kind).await?;
        client
            .execute(&statement, params)
            .await
            .map_err(|e| self.table.db_error(kind.action(), &e))
    }

    async fn prepared(
        &mut self,
        client: &Client,
        kind: Kind,
    ) -> Result<Statement, VersionTableError> {
        let cached = match kind {
            Kind::Insert => &mut self.insert,
            Kind::Update => &mut self.update,
            Kind::Delete => &mut self.delete,
        };
        if let Some(statement) = cached {
            return Ok(statement.clone());
        }
        let table = self.table.qualified();
        let sql = match kind {
            Kind::Insert => format!("INSERT INTO {table} (version_num) VALUES ($1)"),
            Kind::Update => format!("UPDATE {table} SET version_num = $1 WHERE version_num = $2"),
            Kind::Delete => format!("DELETE FROM {table} WHERE version_num = $1"),
        };
        let statement = client
            .prepare(&sql)
            .await
            .map_err(|e| self.table.db_error(kind.action(), &e))?;
        *cached = Some(statement.clone());
        Ok(statement)
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Insert,
    Update,
    Delete,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Insert => "inserting a version",
            Kind::Update => "updating a version",
            Kind::Delete => "deleting a version",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_literally() {
        let table = VersionTable::new(Some("My \"Schema\""), "alembic_version");
        assert_eq!(
            table.qualified(),
            "\"My \"\"Schema\"\"\".\"alembic_version\""
        );
        assert_eq!(table.display_name(), "My \"Schema\".alembic_version");
    }

    fn found(relkind: &str, column: Option<(&str, &str)>, typmod: i32) -> Found {
        Found {
            relkind: relkind.into(),
            column_type: column.map(|(t, _)| t.into()),
            category: column.map(|(_, c)| c.into()),
            typmod: Some(typmod),
        }
    }

    #[test]
    fn a_wrong_layout_is_named_in_words() {
        let varchar = Some(("character varying", "S"));
        assert_eq!(
            found("r", varchar, 36).layout("alembic_version"),
            Ok(Layout { width: Some(32) })
        );
        assert_eq!(
            found("p", Some(("text", "S")), -1).layout("v"),
            Ok(Layout { width: None })
        );
        assert_eq!(
            found("r", Some(("integer", "N")), -1).layout("alembic_version"),
            Err("alembic_version.version_num is integer, expected a text type".into())
        );
        assert_eq!(
            found("v", varchar, 36).layout("alembic_version"),
            Err("alembic_version is a view, expected a table".into())
        );
        assert_eq!(
            found("r", None, -1).layout("alembic_version"),
            Err("alembic_version has no column version_num".into())
        );
    }

    #[test]
    fn a_resolved_schema_qualifies_but_a_configured_one_wins() {
        let site = Site {
            schema: "app".into(),
            server_encoding: "UTF8".into(),
        };
        let resolved = VersionTable::default().at(&site);
        assert_eq!(resolved.qualified(), "\"app\".\"alembic_version\"");
        assert_eq!(resolved.display_name(), "alembic_version");
        let configured = VersionTable::new(Some("ops"), "v").at(&site);
        assert_eq!(configured.qualified(), "\"ops\".\"v\"");
    }

    #[test]
    fn create_sql_has_alembic_layout() {
        let sql = VersionTable::default().create_sql();
        assert!(sql.contains("version_num VARCHAR(32) NOT NULL, \n"));
        assert!(sql.contains("CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (version_num)"));
    }

    #[test]
    fn width_check_counts_characters() {
        let table = VersionTable::default();
        let long = "a".repeat(33);
        let err = table.check_width(&long, Some(32)).unwrap_err();
        assert!(err.to_string().contains("33 characters long"), "{err}");
        assert!(table.check_width(&"é".repeat(32), Some(32)).is_ok());
        assert!(table.check_width(&long, None).is_ok());
    }

    #[test]
    fn row_count_message_matches_alembic() {
        let table = VersionTable::default();
        let writer = VersionWriter::new(&table);
        let err = writer
            .expect_one(0, "updating 'a' to 'b'".to_string())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Online migration expected to match one row when updating 'a' to 'b' in 'alembic_version'; 0 found"
        );
    }
}
