//! A fresh, uniquely named database on an existing server, dropped at exit.

use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::db::connect::describe_error;
use crate::db::throwaway::{block_on_cleanup, drop_database};

use super::{DemoError, server_text};

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for the blocking drop in `Drop`, so exit never hangs on it.
const BLOCKING_DROP_TIMEOUT: Duration = Duration::from_secs(15);

/// Until [`drop_database`](ThrowawayDatabase::drop_database) has run,
/// dropping this value drops the database (blocking, best effort).
pub(super) struct ThrowawayDatabase {
    admin: Config,
    name: String,
    dropped: bool,
}

impl ThrowawayDatabase {
    /// Creates `retort_demo_<pid>_<random>` through `admin`. The error is the
    /// reason this server cannot be used, for the fallback message.
    pub(super) async fn create(admin: &Config) -> Result<ThrowawayDatabase, String> {
        let mut admin = admin.clone();
        if admin.get_connect_timeout().is_none() {
            admin.connect_timeout(CONNECT_TIMEOUT);
        }
        let client = connect(&admin).await?;
        let name = format!(
            "retort_demo_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        // The guard exists before CREATE is sent: if this future is dropped
        // mid-statement, the database may exist and must still go.
        let mut database = ThrowawayDatabase {
            admin,
            name,
            dropped: false,
        };
        let sql = format!("CREATE DATABASE {}", quote_ident(&database.name));
        if let Err(e) = client.batch_execute(&sql).await {
            database.dropped = true;
            return Err(format!(
                "cannot create a database there: {}",
                describe_error(&e)
            ));
        }
        Ok(database)
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// `user@host:port` of the server, without the password.
    pub(super) fn server(&self) -> String {
        server_text(&self.admin)
    }

    pub(super) fn connection_config(&self) -> Config {
        let mut config = self.admin.clone();
        config.dbname(&self.name);
        config
    }

    /// Drops the database, ending any session still connected to it.
    pub(super) async fn drop_database(mut self) -> Result<(), DemoError> {
        // Whatever happens, `Drop` must not try a second time.
        self.dropped = true;
        drop_now(&self.admin, &self.name)
            .await
            .map_err(|cause| self.cleanup_error(cause))
    }

    fn cleanup_error(&self, cause: String) -> DemoError {
        DemoError::Cleanup(format!(
            "cannot drop the throwaway database {} on {}: {cause}",
            self.name,
            self.server()
        ))
    }
}

impl Drop for ThrowawayDatabase {
    /// Runs on panics and early returns.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        let admin = self.admin.clone();
        let name = self.name.clone();
        let outcome = block_on_cleanup(BLOCKING_DROP_TIMEOUT, move || async move {
            drop_now(&admin, &name).await
        });
        if let Err(cause) = outcome {
            eprintln!("retort: {}", self.cleanup_error(cause));
        }
    }
}

async fn connect(config: &Config) -> Result<Client, String> {
    let connecting = config.connect(NoTls);
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| describe_error(&e))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn drop_now(admin: &Config, name: &str) -> Result<(), String> {
    let client = connect(admin).await?;
    drop_database(&client, name).await
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
