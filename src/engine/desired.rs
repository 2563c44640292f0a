//! The desired schema: what the application wants, built on a scratch
//! database from `[schema]` (SQL files applied in path order, or a command
//! given `DATABASE_URL`), read, and the scratch database dropped whichever
//! way the build ends.

use std::path::{Path, PathBuf};

use tokio_postgres::error::ErrorPosition;

use crate::config::{ConnectionSettings, DesiredSchema};
use crate::core::split::{char_position_to_byte_offset, position_to_line_col};
use crate::db::catalog::{ReadOptions, read_snapshot};
use crate::db::connect::describe_error;
use crate::engine::cancel::Cancellation;
use crate::engine::error::Error;
use crate::engine::project::display_path;
use crate::engine::schema::{Built, ReadSnapshot, create_scratch, finish_scratch};
use crate::engine::scratch::ScratchDb;
use crate::engine::session::open_connection;

/// Builds `source` on a scratch database of `server`, reads it, drops it.
/// `on_created` hears the scratch database's name as soon as it exists.
pub async fn read_desired(
    source: &DesiredSchema,
    server: &ConnectionSettings,
    options: &ReadOptions,
    cancel: &Cancellation,
    on_created: impl FnOnce(&ScratchDb),
) -> Result<Built, Error> {
    let Some(scratch) = create_scratch(server, cancel).await? else {
        return Ok(Built::Cancelled);
    };
    on_created(&scratch);
    let built = tokio::select! {
        built = build(source, &scratch, options) => Some(built),
        () = cancel.requested() => None,
    };
    let read = finish_scratch(scratch, built).await?;
    Ok(read.map_or(Built::Cancelled, Built::Read))
}

async fn build(
    source: &DesiredSchema,
    scratch: &ScratchDb,
    options: &ReadOptions,
) -> Result<ReadSnapshot, Error> {
    match source {
        DesiredSchema::Dir(dir) => apply_files(dir, &scratch.settings).await?,
        DesiredSchema::Command(command) => run_command(command, &scratch.settings).await?,
    }
    read_plain(&scratch.settings, options).await
}

/// Reads a database retort does not manage (no version table to leave
/// out but the default's, which a command may have made).
pub async fn read_plain(
    settings: &ConnectionSettings,
    options: &ReadOptions,
) -> Result<ReadSnapshot, Error> {
    let mut conn = open_connection(settings).await?;
    let snapshot = read_snapshot(conn.client_mut(), options)
        .await
        .map_err(|e| Error::database(format!("reading the schema of {}", settings.display), e))?;
    Ok(ReadSnapshot {
        snapshot,
        display: settings.display.clone(),
    })
}

/// The `.sql` files under `dir`, at any depth, in path order.
pub fn schema_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        let entries = std::fs::read_dir(&at).map_err(|e| {
            Error::Files(format!(
                "cannot read the schema directory {}: {e}",
                display_path(&at)
            ))
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Files(format!(
            "the schema directory {} holds no .sql files",
            display_path(dir)
        )));
    }
    Ok(files)
}

/// Each file as one batch, in path order; an error names the file, and
/// the line and column of the server's position.
async fn apply_files(dir: &Path, settings: &ConnectionSettings) -> Result<(), Error> {
    let files = schema_files(dir)?;
    let conn = open_connection(settings).await?;
    for file in files {
        let sql = std::fs::read_to_string(&file)
            .map_err(|e| Error::Files(format!("cannot read {}: {e}", display_path(&file))))?;
        if let Err(e) = conn.client().batch_execute(&sql).await {
            let place = match e.as_db_error().and_then(|d| d.position()) {
                Some(ErrorPosition::Original(at)) => {
                    let (line, column) = position_to_line_col(
                        &sql,
                        char_position_to_byte_offset(&sql, *at as usize),
                    );
                    format!(":{line}:{column}")
                }
                _ => failing_statement(conn.client(), &sql)
                    .await
                    .map(|(line, column)| format!(":{line}:{column}"))
                    .unwrap_or_default(),
            };
            return Err(Error::Files(format!(
                "{}{place}: {}",
                display_path(&file),
                describe_error(&e)
            )));
        }
    }
    Ok(())
}

/// Where a file failed when the server gave no position (`CREATE
/// EXTENSION` of one not installed, say): the batch ran in one implicit
/// transaction and left nothing, so its statements run again one by one
/// on the same scratch database until one fails. `None` when none does.
async fn failing_statement(client: &tokio_postgres::Client, sql: &str) -> Option<(usize, usize)> {
    let statements = crate::core::split::split_statements(sql).ok()?;
    for statement in statements {
        if client.batch_execute(&statement.sql).await.is_err() {
            return Some((statement.line, statement.column));
        }
    }
    None
}

/// Runs `command` through the shell with `DATABASE_URL` naming the
/// scratch database; a failure shows its exit code and stderr.
async fn run_command(command: &str, settings: &ConnectionSettings) -> Result<(), Error> {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("DATABASE_URL", database_url(&settings.pg_config))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| Error::Files(format!("cannot run the schema command `{command}`: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let code = match output.status.code() {
        Some(code) => format!("exited with {code}"),
        None => "was killed by a signal".to_string(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(Error::Files(format!(
        "the schema command `{command}` {code}{}",
        match stderr.trim() {
            "" => String::new(),
            text => format!(":\n{text}"),
        }
    )))
}

/// A `postgres://` URL for the database `config` reaches (a Unix socket
/// as the `host` parameter), for tools that take `DATABASE_URL`.
pub fn database_url(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let user = config.get_user().map(encode).unwrap_or_default();
    let password = config
        .get_password()
        .map(|p| format!(":{}", encode(&String::from_utf8_lossy(p))))
        .unwrap_or_default();
    let at = if user.is_empty() { "" } else { "@" };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().map(encode).unwrap_or_default();
    match config.get_hosts().first() {
        #[cfg(unix)]
        Some(Host::Unix(dir)) => format!(
            "postgres://{user}{password}{at}:{port}/{dbname}?host={}",
            encode(&dir.to_string_lossy())
        ),
        Some(Host::Tcp(host)) => format!("postgres://{user}{password}{at}{host}:{port}/{dbname}"),
        _ => format!("postgres://{user}{password}{at}localhost:{port}/{dbname}"),
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
