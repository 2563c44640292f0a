//! Signals to the real binary during a changing run: SIGINT, SIGTERM and
//! SIGHUP cancel the running statement on the server, roll the step back
//! (or record a `transactional: false` step as stopped), release the
//! migration lock and exit with 128 + the signal's number.

mod common;
mod support;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::*;
use tokio_postgres::Client;

/// a1 applies at once; b2 waits on an advisory lock the test holds, so the
/// test can signal retort while b2's statement runs on the server.
fn revisions(dir: &Path, b2_header: &str, b2_up: &str) {
    write_revision(
        dir,
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);",
        Some("DROP TABLE one;"),
    );
    write_revision(
        dir,
        "b2",
        &["a1"],
        b2_header,
        b2_up,
        Some("DROP TABLE IF EXISTS two;"),
    );
}

const WAIT_ON_TEST: &str = "SELECT pg_advisory_lock(777001)";

/// Waits until a backend of the test database runs `needle`.
async fn wait_for_statement(client: &Client, db: &TestDb, needle: &str) {
    let started = Instant::now();
    loop {
        let rows = client
            .query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%' || $2 || '%' \
                 AND pid <> pg_backend_pid()",
                &[&db.name, &needle],
            )
            .await
            .expect("pg_stat_activity");
        if !rows.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no backend ran {needle}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Backends of the test database still running `needle` (besides ours).
async fn still_running(client: &Client, db: &TestDb, needle: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' \
             AND query LIKE '%' || $2 || '%' AND pid <> pg_backend_pid()",
            &[&db.name, &needle],
        )
        .await
        .expect("pg_stat_activity")
        .get(0)
}

/// Sessions holding retort's migration lock on the test database.
async fn migration_lock_holders(client: &Client, db: &TestDb) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND l.classid::int = $1 AND d.datname = $2 AND l.granted",
            &[&LOCK_CLASS_ID, &db.name],
        )
        .await
        .expect("pg_locks")
        .get(0)
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).expect("signal retort");
}

/// `upgrade heads`, signalled while b2's statement waits on the advisory
/// lock the test takes here (and keeps).
async fn upgrade_signalled_mid_statement(
    db: &TestDb,
    admin: &Client,
    dir: &Path,
    sig: Signal,
) -> std::process::Output {
    admin
        .batch_execute("SELECT pg_advisory_lock(777001)")
        .await
        .unwrap();
    let child = spawn(db, dir, &["upgrade", "heads"]);
    wait_for_statement(admin, db, WAIT_ON_TEST).await;
    signal(&child, sig);
    finish(child)
}

async fn a_signal_rolls_back_the_running_step(sig: Signal, exit: i32) {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    revisions(
        dir.path(),
        "",
        &format!("CREATE TABLE two (id int);\n{WAIT_ON_TEST};"),
    );
    let admin = db.client().await;
    let out = upgrade_signalled_mid_statement(&db, &admin, dir.path(), sig).await;
    expect_code(&out, exit);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{sig} received: the running statement was cancelled"
        )),
        "{err}"
    );
    assert!(
        err.contains("The failed step was rolled back; the database is at: a1"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Nothing of retort's is left on the server: not the statement, not the lock.
    assert_eq!(still_running(&admin, &db, WAIT_ON_TEST).await, 0);
    assert_eq!(migration_lock_holders(&admin, &db).await, 0);
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(!table_exists(&admin, "two").await);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "failed")
        ]
    );
}

#[tokio::test]
async fn sigint_cancels_the_running_statement_and_exits_130() {
    a_signal_rolls_back_the_running_step(Signal::SIGINT, 130).await;
}

#[tokio::test]
async fn sigterm_cancels_the_running_statement_and_exits_143() {
    a_signal_rolls_back_the_running_step(Signal::SIGTERM, 143).await;
}

#[tokio::test]
async fn sighup_cancels_the_running_statement_and_exits_129() {
    a_signal_rolls_back_the_running_step(Signal::SIGHUP, 129).await;
}

#[tokio::test]
async fn a_signal_during_a_non_transactional_step_records_it_as_stopped() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    revisions(
        dir.path(),
        "-- transactional: false",
        &format!("CREATE TABLE two (id int);\n{WAIT_ON_TEST};\nCREATE TABLE three (id int);"),
    );
    let admin = db.client().await;
    let out = upgrade_signalled_mid_statement(&db, &admin, dir.path(), Signal::SIGTERM).await;
    expect_code(&out, 143);
    assert_eq!(still_running(&admin, &db, WAIT_ON_TEST).await, 0);
    assert_eq!(migration_lock_holders(&admin, &db).await, 0);
    // The first statement ran and stays; the version table did not move,
    // and the history says the step stopped halfway.
    assert!(table_exists(&admin, "two").await);
    assert!(!table_exists(&admin, "three").await);
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "partial")
        ]
    );
    // The next run refuses until the stopped step is resolved.
    admin
        .batch_execute("SELECT pg_advisory_unlock(777001)")
        .await
        .unwrap();
    let again = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&again, 3);
    assert!(
        stderr(&again).contains("a step stopped halfway"),
        "{}",
        stderr(&again)
    );
}

#[tokio::test]
async fn a_signal_while_waiting_for_the_migration_lock_runs_nothing() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    revisions(dir.path(), "", "CREATE TABLE two (id int);");
    let holder = db.client().await;
    hold_lock(&holder).await;
    let child = spawn(&db, dir.path(), &["upgrade", "heads"]);
    // It has loaded its files and connected, and asks for the lock.
    wait_for_retort_session(&db).await;
    let admin = db.client().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&child, Signal::SIGINT);
    let out = finish(child);
    expect_code(&out, 130);
    assert!(
        stderr(&out).contains("SIGINT received: stopping before the plan starts"),
        "{}",
        stderr(&out)
    );
    assert!(!table_exists(&admin, "one").await);
    assert!(!table_exists(&admin, "alembic_version").await);
}
