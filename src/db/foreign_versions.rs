//! Reads the version tables other migration tools keep, so a database they
//! manage can be adopted at the revision it is really at.

use tokio_postgres::Client;

use crate::core::import::SourceKind;
use crate::core::import::adopt::Record;

/// The tool's record, or `None` when its table does not exist.
pub async fn read_record(
    client: &Client,
    kind: SourceKind,
) -> Result<Option<Record>, tokio_postgres::Error> {
    let table = kind.version_table();
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    // Each query yields (version, finished, kind) rows in the tool's order;
    // the kind is Flyway's row type (`UNDO_SQL`, `BASELINE`), else empty.
    let query = match kind {
        SourceKind::Sqlx => {
            "SELECT version::text, success, '' FROM _sqlx_migrations ORDER BY version"
        }
        SourceKind::Diesel => "SELECT version::text, true, '' FROM __diesel_schema_migrations",
        SourceKind::Dbmate => "SELECT version::text, true, '' FROM schema_migrations",
        SourceKind::GolangMigrate => "SELECT version::text, NOT dirty, '' FROM schema_migrations",
        SourceKind::Pop => "SELECT version::text, true, '' FROM schema_migration",
        SourceKind::Flyway => {
            "SELECT version, success, type FROM flyway_schema_history \
             WHERE version IS NOT NULL AND type <> 'SCHEMA' ORDER BY installed_rank"
        }
    };
    let mut record = Record::default();
    for row in client.query(query, &[]).await? {
        let version: String = row.get(0);
        let finished: bool = row.get(1);
        let row_kind: String = row.get(2);
        if !finished {
            record.unfinished = Some(version);
        } else if row_kind == "UNDO_SQL" {
            record.applied.retain(|v| v != &version);
        } else if row_kind == "BASELINE" {
            record.baseline = Some(version);
        } else {
            record.applied.push(version);
        }
    }
    Ok(Some(record))
}
