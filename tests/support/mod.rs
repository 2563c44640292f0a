//! Helpers for the tests that drive the binary: running the `retort` binary (to completion,
//! or in the background with a deadline), writing revision files, and
//! reading the database's version table, history and schema.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::common::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_retort");

/// The lock's first key, as documented in `db::lock`.
pub const LOCK_CLASS_ID: i32 = 0x5254_5254;

/// How long any single retort run may take before the test fails (a run
/// that hangs, e.g. waiting for a lock it should not take, fails the test
/// instead of hanging it).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A retort command on `migrations`, connected to `db`, in an empty
/// working directory (so no retort.toml is picked up).
pub fn command(db: &TestDb, migrations: &Path, args: &[&str]) -> Command {
    command_at(&db.conninfo(), migrations, args)
}

/// Like [`command`], connected with the connection string `url`.
pub fn command_at(url: &str, migrations: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(std::env::temp_dir())
        .env_remove("DATABASE_URL")
        .arg("--migrations")
        .arg(migrations)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts retort in the background.
pub fn spawn(db: &TestDb, migrations: &Path, args: &[&str]) -> Child {
    command(db, migrations, args)
        .spawn()
        .expect("retort starts")
}

/// Waits for a background retort, failing the test after `DEADLINE`.
pub fn finish(mut child: Child) -> Output {
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait for retort") {
            Some(_) => return child.wait_with_output().expect("retort output"),
            None if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("retort output");
                panic!(
                    "retort did not finish within {DEADLINE:?}; stderr so far:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Runs retort to completion (with the deadline).
pub fn run(db: &TestDb, migrations: &Path, args: &[&str]) -> Output {
    finish(spawn(db, migrations, args))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

/// Asserts the exit code, showing both streams when it differs.
pub fn expect_code(out: &Output, expected: i32) {
    assert_eq!(
        code(out),
        expected,
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Writes `<id>_rev.sql`; `extra_header` lines go after the standard ones.
pub fn write_revision(
    dir: &Path,
    id: &str,
    downs: &[&str],
    extra_header: &str,
    up: &str,
    down: Option<&str>,
) {
    let mut text = format!(
        "-- revision: {id}\n-- down_revision: {}\n-- message: rev {id}\n{extra_header}\n-- migrate:upgrade\n{up}\n",
        downs.join(", ")
    );
    if let Some(down) = down {
        text += &format!("\n-- migrate:downgrade\n{down}\n");
    }
    std::fs::write(dir.join(format!("{id}_rev.sql")), text).expect("write revision");
}

pub async fn table_exists(client: &Client, name: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .expect("to_regclass")
        .get(0)
}

/// Whether the server has a database of that name.
pub async fn database_exists(client: &Client, name: &str) -> bool {
    client
        .query_one(
            "SELECT count(*) = 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .expect("pg_database")
        .get(0)
}

/// The scratch database's name, from the line that announces it.
pub fn scratch_name(stderr: &str) -> String {
    let after = stderr
        .split("scratch database ")
        .nth(1)
        .unwrap_or_else(|| panic!("no scratch database named in:\n{stderr}"));
    after
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The version table's rows, sorted; empty when it does not exist.
pub async fn version_rows(client: &Client) -> Vec<String> {
    if !table_exists(client, "alembic_version").await {
        return Vec::new();
    }
    client
        .query("SELECT version_num FROM alembic_version ORDER BY 1", &[])
        .await
        .expect("read alembic_version")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// One history row, as the tests look at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub revision: String,
    pub direction: String,
    pub status: String,
    pub resolution: Option<String>,
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
    pub statements_done: Option<i32>,
    pub statements_total: Option<i32>,
    pub error: Option<String>,
    pub sql_checksum: Option<String>,
    pub upgrade_checksum: Option<String>,
}

/// Every history row, oldest first; empty when the table does not exist.
pub async fn history(client: &Client) -> Vec<Row> {
    if !table_exists(client, "retort_history").await {
        return Vec::new();
    }
    client
        .query(
            "SELECT revision, direction, status, resolution, heads_before, heads_after, \
             statements_done, statements_total, error, sql_checksum, upgrade_checksum \
             FROM retort_history ORDER BY id",
            &[],
        )
        .await
        .expect("read retort_history")
        .iter()
        .map(|r| Row {
            revision: r.get(0),
            direction: r.get(1),
            status: r.get(2),
            resolution: r.get(3),
            heads_before: r.get(4),
            heads_after: r.get(5),
            statements_done: r.get(6),
            statements_total: r.get(7),
            error: r.get(8),
            sql_checksum: r.get(9),
            upgrade_checksum: r.get(10),
        })
        .collect()
}

/// `(revision, direction, status)` of every history row, oldest first.
pub async fn history_summary(client: &Client) -> Vec<(String, String, String)> {
    history(client)
        .await
        .into_iter()
        .map(|r| (r.revision, r.direction, r.status))
        .collect()
}

pub fn triple(revision: &str, direction: &str, status: &str) -> (String, String, String) {
    (revision.into(), direction.into(), status.into())
}

/// Takes the migration lock of `public.alembic_version` on `client` (the
/// documented two-int form) and returns its backend pid.
pub async fn hold_lock(client: &Client) -> i32 {
    client
        .query_one(
            "SELECT pg_advisory_lock($1, hashtext('public.alembic_version'))",
            &[&LOCK_CLASS_ID],
        )
        .await
        .expect("take the migration lock");
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

pub async fn release_lock(client: &Client) {
    let released: bool = client
        .query_one(
            "SELECT pg_advisory_unlock($1, hashtext('public.alembic_version'))",
            &[&LOCK_CLASS_ID],
        )
        .await
        .expect("release the migration lock")
        .get(0);
    assert!(released, "the test held the lock");
}

/// Waits until a backend of `db` runs a statement containing `needle`,
/// then terminates it (as an operator or a failover would), returning its pid.
pub async fn terminate_backend_running(client: &Client, db: &TestDb, needle: &str) -> i32 {
    let started = Instant::now();
    loop {
        let row = client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
                 AND state = 'active' AND position($2 in query) > 0",
                &[&db.name, &needle],
            )
            .await
            .expect("pg_stat_activity");
        if let Some(row) = row {
            let pid: i32 = row.get(0);
            let done: bool = client
                .query_one("SELECT pg_terminate_backend($1)", &[&pid])
                .await
                .expect("pg_terminate_backend")
                .get(0);
            assert!(done, "terminated backend {pid}");
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no backend ran {needle}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a retort session of the test database exists (it has loaded
/// its files and connected, and now waits for the migration lock).
pub async fn wait_for_retort_session(db: &TestDb) {
    let admin = db.client().await;
    let started = Instant::now();
    loop {
        let sessions: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND application_name = 'retort'",
                &[&db.name],
            )
            .await
            .unwrap()
            .get(0);
        if sessions > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "retort never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
