//! Scratch databases: a fresh, uniquely named database on a given server,
//! for work that must never touch the real one (building the schema the
//! revision files make, rehearsing a plan), and always dropped again.
//!
//! [`ScratchDb::create`] makes it, [`ScratchDb::drop_database`] drops it.
//! A value dropped without that (an early return, a panic, a future
//! abandoned on Ctrl-C) drops the database from `Drop`, blocking, on a
//! thread of its own; so the database goes whichever way the work ends.

use std::time::Duration;

use crate::config::{ConnectionSettings, describe_pg_config};
use crate::db::connect::describe_error;
use crate::db::throwaway::{block_on_cleanup, drop_database};
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
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        let server = self.server.clone();
        let name = self.name.clone();
        let outcome = block_on_cleanup(BLOCKING_DROP_TIMEOUT, move || async move {
            drop_now(&server, &name).await
        });
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
    drop_database(conn.client(), name).await
}
