//! Dropping a throwaway database (the demo's, a scratch database), also
//! from a `Drop` implementation where no async runtime can be relied on.

use std::future::Future;
use std::time::Duration;

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::db::error_text::describe_error;
use crate::db::version_table::quote_ident;

/// Drops database `name` through `client` (a session on another database
/// of the same server), ending any session still connected to it.
pub async fn drop_database(client: &Client, name: &str) -> Result<(), String> {
    let forced = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    match client.batch_execute(&forced).await {
        Ok(()) => Ok(()),
        // Servers before 13 know no FORCE: end the sessions by hand.
        Err(e) if e.code() == Some(&SqlState::SYNTAX_ERROR) => {
            drop_without_force(client, name).await
        }
        Err(e) => Err(describe_error(&e)),
    }
}

async fn drop_without_force(client: &Client, name: &str) -> Result<(), String> {
    let terminate = "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()";
    client
        .execute(terminate, &[&name])
        .await
        .map_err(|e| describe_error(&e))?;
    let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| describe_error(&e))
}

/// Runs the cleanup `make` returns to completion, within `limit`, from
/// synchronous code: the caller's runtime may be busy (a `Drop` can run on
/// one of its threads) or shutting down, so it runs on a thread of its own
/// with its own small runtime.
pub fn block_on_cleanup<F>(
    limit: Duration,
    make: impl FnOnce() -> F + Send + 'static,
) -> Result<(), String>
where
    F: Future<Output = Result<(), String>>,
{
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        runtime.block_on(async {
            tokio::time::timeout(limit, make())
                .await
                .unwrap_or_else(|_| Err("timed out".to_string()))
        })
    });
    worker
        .join()
        .unwrap_or_else(|_| Err("the cleanup thread panicked".to_string()))
}
