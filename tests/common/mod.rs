//! Shared helpers for tests that need PostgreSQL: each test gets a fresh,
//! uniquely named database on DATABASE_URL, dropped when the guard drops
//! (also when the test fails or panics).

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::{Client, Config, NoTls};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

fn admin_config() -> Config {
    database_url()
        .parse()
        .unwrap_or_else(|e| panic!("DATABASE_URL is not a valid connection string: {e}"))
}

fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "retort_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Opens a plain connection, driven in the background.
pub async fn plain_client(cfg: &Config) -> Client {
    let (client, connection) = cfg
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A throwaway database; dropped (forcibly) when this guard drops.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let name = unique_name();
        let admin = plain_client(&admin_config()).await;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        TestDb { name }
    }

    /// Connection settings for the test database.
    pub fn config(&self) -> Config {
        let mut cfg = admin_config();
        cfg.dbname(&self.name);
        cfg
    }

    /// A plain client on the test database, for assertions.
    pub async fn client(&self) -> Client {
        plain_client(&self.config()).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // The test's own runtime may be shutting down or blocked in this
        // drop, so clean up on a separate thread with its own runtime.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok((client, connection)) = admin_config().connect(NoTls).await {
                        tokio::spawn(connection);
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        if let Err(e) = client.batch_execute(&sql).await {
                            eprintln!("could not drop test database {name}: {e}");
                        }
                    }
                });
            }
        });
        let _ = cleanup.join();
    }
}

impl TestDb {
    /// A libpq key/value connection string for the test database, for
    /// handing to the `retort` binary.
    pub fn conninfo(&self) -> String {
        let cfg = self.config();
        let mut parts = Vec::new();
        if let Some(tokio_postgres::config::Host::Tcp(host)) = cfg.get_hosts().first() {
            parts.push(format!("host={host}"));
        }
        #[cfg(unix)]
        if let Some(tokio_postgres::config::Host::Unix(dir)) = cfg.get_hosts().first() {
            parts.push(format!("host={}", dir.display()));
        }
        if let Some(port) = cfg.get_ports().first() {
            parts.push(format!("port={port}"));
        }
        if let Some(user) = cfg.get_user() {
            parts.push(format!("user={user}"));
        }
        if let Some(password) = cfg.get_password() {
            parts.push(format!("password={}", String::from_utf8_lossy(password)));
        }
        parts.push(format!("dbname={}", self.name));
        parts.join(" ")
    }
}

/// The schema of a test database and SQL run in it, for the tests of the
/// schema model and its DDL.
impl TestDb {
    /// Runs `sql` (several statements allowed); the server's error as text.
    pub async fn run(&self, sql: &str) -> Result<(), String> {
        self.client()
            .await
            .batch_execute(sql)
            .await
            .map_err(|e| format!("{e:?}"))
    }

    /// The database's schema as retort reads it.
    pub async fn snapshot(&self) -> retort::core::schema::Snapshot {
        let mut client = self.client().await;
        retort::db::catalog::read_snapshot(
            &mut client,
            &retort::db::catalog::ReadOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("snapshot: {e}"))
    }

    /// A fresh database with `sql` run in it, and its schema.
    pub async fn made(sql: &str) -> (TestDb, retort::core::schema::Snapshot) {
        let db = TestDb::create().await;
        db.run(sql)
            .await
            .unwrap_or_else(|e| panic!("`{sql}` does not build: {e}"));
        let snapshot = db.snapshot().await;
        (db, snapshot)
    }
}
