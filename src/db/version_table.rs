//! Alembic's version table: one row per current head, same layout, name and
//! schema configurable.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use crate::core::plan::VersionOp;
use crate::db::connect::describe_error;

/// Width of `version_num` in the table Alembic (and retort) creates.
pub const VERSION_NUM_WIDTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTable {
    /// `None` resolves the table through the session's `search_path`, as Alembic does.
    pub schema: Option<String>,
    pub name: String,
}

impl Default for VersionTable {
    fn default() -> VersionTable {
        VersionTable {
            schema: None,
            name: "alembic_version".to_string(),
        }
    }
}

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
    },
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
        }
    }

    /// The quoted, schema-qualified name for SQL.
    pub fn qualified(&self) -> String {
        match &self.schema {
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
        }
    }

    /// Whether the table exists (never creates it).
    pub async fn exists(&self, client: &Client) -> Result<bool, VersionTableError> {
        let row = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.qualified()])
            .await
            .map_err(|e| self.db_error("looking it up", &e))?;
        row.try_get(0)
            .map_err(|e| self.db_error("looking it up", &e))
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
        if !self.exists(client).await? {
            return Ok(Some(VERSION_NUM_WIDTH));
        }
        let sql = "SELECT atttypmod FROM pg_attribute \
                   WHERE attrelid = to_regclass($1) AND attname = 'version_num' AND NOT attisdropped";
        let row = client
            .query_opt(sql, &[&self.qualified()])
            .await
            .map_err(|e| self.db_error("reading the width of version_num", &e))?;
        let typmod: Option<i32> = match row {
            Some(row) => row
                .try_get(0)
                .map_err(|e| self.db_error("reading the width of version_num", &e))?,
            None => None,
        };
        // varchar(n) and char(n) store n + 4; -1 means no limit.
        Ok(typmod.filter(|t| *t > 4).map(|t| (t - 4) as usize))
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
