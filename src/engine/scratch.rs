//! Scratch databases: a fresh, uniquely named database on a given server,
//! for work that must never touch the real one (building the schema the
//! revision files make, rehearsing a plan), and always dropped again.
//!
//! [`ScratchDb::create`] makes it, [`ScratchDb::drop_database`] drops it.
//! A value dropped without that (an early return, a panic, a future
//! abandoned on Ctrl-C) drops the database from `Drop`, blocking, on a
//! thread of its own; so the database goes whichever way the work ends.

use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::config::{ConnectionSettings, describe_pg_config};
use crate::db::connect::describe_error;
use crate::db::version_table::quote_ident;
use crate::engine::error::Error;
use crate::engine::session::open_connection;

/// Every scratch database's name starts with this, so one left behind by
/// a killed process is recognizable.
pub const SCRATCH_PREFIX: &str = "retort_scratch_";

/// Upper bound for the blocking drop in `Drop`, so exit never hangs on it.
const BLOCKING_DROP_TIMEOUT: Duration = Duration::from_secs(15);

/// A scratch database and how to reach it.
pub struct ScratchDb {
    /// `retort_scratch_<pid>_<random>`.
    pub name: String,
    /// The server's settings (session settings, TLS) with this database.
    pub settings: ConnectionSettings,
    /// Where it was created from, to drop it again.
    server: ConnectionSettings,
    dropped: bool,
}

impl ScratchDb {
    /// Creates a scratch database on the server `server` connects to.
    pub async fn create(server: &ConnectionSettings) -> Result<ScratchDb, Error> {
        let conn = open_connection(server).await?;
        let name = format!(
            "{SCRATCH_PREFIX}{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut settings = server.clone();
        settings.pg_config.dbname(&name);
        settings.display = describe_pg_config(&settings.pg_config);
        // The guard exists before CREATE is sent: if this future is dropped
        // mid-statement, the database may exist and must still go.
        let mut scratch = ScratchDb {
            name,
            settings,
            server: server.clone(),
            dropped: false,
        };
        let sql = format!("CREATE DATABASE {}", quote_ident(&scratch.name));
        if let Err(e) = conn.client().batch_execute(&sql).await {
            scratch.dropped = true;
            return Err(Error::database(
                format!(
                    "cannot create a scratch database on {}",
                    server_display(server)
                ),
                describe_error(&e),
            ));
        }
        Ok(scratch)
    }

    /// `user@host:port` of the server it lives on.
    pub fn server(&self) -> String {
        server_display(&self.server)
    }

    /// Drops the database, ending any session still connected to it.
    pub async fn drop_database(mut self) -> Result<(), Error> {
        // Whatever happens, `Drop` must not try a second time.
        self.dropped = true;
        drop_now(&self.server, &self.name)
            .await
            .map_err(|cause| self.cleanup_error(cause))
    }

    fn cleanup_error(&self, cause: String) -> Error {
        Error::database(
            format!(
                "cannot drop the scratch database {} on {}",
                self.name,
                self.server()
            ),
            cause,
        )
    }
}

impl Drop for ScratchDb {
    /// The caller's runtime may be busy (this can run on one of its
    /// threads) or shutting down, so the drop runs on a thread of its own
    /// with its own small runtime.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        let server = self.server.clone();
        let name = self.name.clone();
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            runtime.block_on(async {
                tokio::time::timeout(BLOCKING_DROP_TIMEOUT, drop_now(&server, &name))
                    .await
                    .unwrap_or_else(|_| Err("timed out".to_string()))
            })
        });
        let outcome = worker
            .join()
            .unwrap_or_else(|_| Err("the cleanup thread panicked".to_string()));
        if let Err(cause) = outcome {
            // Nothing else can say it: the value is gone with its caller.
            eprintln!("retort: {}", self.cleanup_error(cause));
        }
    }
}

/// `user@host:port`, the database left out.
fn server_display(settings: &ConnectionSettings) -> String {
    let display = describe_pg_config(&settings.pg_config);
    match display.rsplit_once('/') {
        Some((server, _)) => server.to_string(),
        None => display,
    }
}

async fn drop_now(server: &ConnectionSettings, name: &str) -> Result<(), String> {
    let conn = open_connection(server).await.map_err(|e| e.to_string())?;
    let client = conn.client();
    let forced = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    match client.batch_execute(&forced).await {
        Ok(()) => Ok(()),
        // PostgreSQL 12 knows no FORCE: end the sessions by hand.
        Err(e) if e.code() == Some(&SqlState::SYNTAX_ERROR) => {
            let terminate = "SELECT pg_catalog.pg_terminate_backend(pid) \
                               FROM pg_catalog.pg_stat_activity \
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
        Err(e) => Err(describe_error(&e)),
    }
}
