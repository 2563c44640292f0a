//! Reads a database's schema from the catalogs into a
//! [`Snapshot`](crate::core::schema::Snapshot).
//!
//! One read-only REPEATABLE READ transaction, so every query sees the same
//! moment; one query per object kind, all sent at once (tokio-postgres
//! pipelines queries polled together), so a snapshot costs a few round
//! trips whatever the number of objects. PostgreSQL's own deparsers
//! (`pg_get_indexdef`, `pg_get_constraintdef`, `pg_get_viewdef`,
//! `pg_get_functiondef`, `pg_get_triggerdef`, `pg_get_expr`, `format_type`)
//! give each definition in one normalized spelling. The transaction fixes
//! `search_path` to `public`, so their output names objects the same way
//! whatever the session's settings: `public` objects unqualified, others
//! with their schema.
//!
//! Left out: system schemas, objects that belong to an extension
//! (`pg_depend` deptype `e`: the extension stands for them), the tables
//! named in [`ReadOptions::exclude_tables`] (retort's own) with everything
//! on them, sequences of identity columns (their options are the column's),
//! and what PostgreSQL derives on partitions from their parent (attached
//! indexes, cloned constraints and triggers).

mod queries;
mod rows;

use futures_util::future::try_join_all;
use tokio_postgres::Client;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use crate::core::schema::Snapshot;
use crate::db::error_text::describe_error;

/// What to read besides the definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Owners of schemas, types, relations and functions.
    pub owners: bool,
    /// Grants (ACLs), sorted.
    pub grants: bool,
    /// Tables left out with their columns, constraints, indexes, triggers,
    /// policies and owned sequences, as quoted, schema-qualified names
    /// (`"public"."alembic_version"`).
    pub exclude_tables: Vec<String>,
}

/// The oldest server the queries are written for.
pub const MIN_SERVER_VERSION: i32 = 120000;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading the catalogs ({what}): {cause}")]
    Query { what: &'static str, cause: String },
    #[error("the server runs PostgreSQL {version}; schema snapshots need PostgreSQL 12 or later")]
    Unsupported { version: String },
}

impl CatalogError {
    fn query(what: &'static str) -> impl Fn(tokio_postgres::Error) -> CatalogError {
        move |e| CatalogError::Query {
            what,
            cause: describe_error(&e),
        }
    }
}

/// Reads the whole schema of the database `client` is connected to.
/// Changes nothing: the transaction is read-only and ends in a rollback.
pub async fn read_snapshot(
    client: &mut Client,
    options: &ReadOptions,
) -> Result<Snapshot, CatalogError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(CatalogError::query("starting a read-only transaction"))?;
    tx.batch_execute("SET LOCAL search_path TO public")
        .await
        .map_err(CatalogError::query("fixing the search_path"))?;
    let version = server_version(&tx).await?;
    let excluded: &(dyn ToSql + Sync) = &options.exclude_tables;
    let kinds = queries::kinds(version);
    let shared = &tx;
    let answers = try_join_all(kinds.iter().map(|kind| async move {
        // A parameter the query does not use would have no type.
        let params = match kind.sql.contains("$1") {
            true => vec![excluded],
            false => Vec::new(),
        };
        shared
            .query(kind.sql.as_str(), &params)
            .await
            .map_err(CatalogError::query(kind.what))
    }))
    .await?;
    let mut snapshot = Snapshot::default();
    for (kind, rows) in kinds.iter().zip(&answers) {
        for row in rows {
            let mut reader = rows::Reader::new(row, kind.what, options);
            (kind.read)(&mut reader, &mut snapshot)?;
        }
    }
    snapshot.unmodeled.sort();
    // Nothing was written; ending without COMMIT says so.
    tx.rollback()
        .await
        .map_err(CatalogError::query("ending the read-only transaction"))?;
    Ok(snapshot)
}

async fn server_version(tx: &tokio_postgres::Transaction<'_>) -> Result<i32, CatalogError> {
    let what = "the server's version";
    let row = tx
        .query_one(
            "SELECT pg_catalog.current_setting('server_version_num')::int, \
                    pg_catalog.current_setting('server_version')",
            &[],
        )
        .await
        .map_err(CatalogError::query(what))?;
    let number: i32 = row.try_get(0).map_err(CatalogError::query(what))?;
    if number < MIN_SERVER_VERSION {
        let version: String = row.try_get(1).map_err(CatalogError::query(what))?;
        return Err(CatalogError::Unsupported { version });
    }
    Ok(number)
}
