//! Steps of `transactional: false` revisions that stop halfway, through the
//! real binary: a process killed outright (SIGKILL) leaves a trace the next
//! run, `current -v` and `check` see, and transaction control in revision
//! SQL is refused when the files load or, in a `transactional: false`
//! revision, counted as the one unit it is (issue 8, items 2 and 7).

mod common;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestDb;
use support::*;
use tokio_postgres::Client;

/// a1 makes a ledger; b2 (`transactional: false`) credits it, waits for an
/// advisory lock the test holds, then charges a fee.
fn ledger_revisions(dir: &Path) {
    write_revision(
        dir,
        "a1",
        &[],
        "",
        "CREATE TABLE ledger (entry text);",
        Some("DROP TABLE ledger;"),
    );
    write_revision(
        dir,
        "b2",
        &["a1"],
        "-- transactional: false",
        "INSERT INTO ledger VALUES ('credit');\nSELECT pg_advisory_xact_lock(4242);\n\
         INSERT INTO ledger VALUES ('fee');",
        Some("DELETE FROM ledger;"),
    );
}

async fn ledger(client: &Client) -> Vec<String> {
    client
        .query("SELECT entry FROM ledger ORDER BY entry", &[])
        .await
        .expect("read ledger")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The pid of the backend of `db` running a statement containing `needle`.
async fn backend_running(client: &Client, db: &TestDb, needle: &str) -> i32 {
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
            return row.get(0);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no backend ran {needle}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_gone(client: &Client, pid: i32) {
    let started = Instant::now();
    loop {
        let alive = client
            .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .expect("pg_stat_activity")
            .is_some();
        if !alive {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "backend {pid} is still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_sigkilled_run_leaves_a_started_step_that_blocks_until_resolved() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    ledger_revisions(dir.path());
    let admin = db.client().await;
    admin
        .batch_execute("SELECT pg_advisory_lock(4242)")
        .await
        .unwrap();

    let mut child = spawn(&db, dir.path(), &["upgrade", "heads"]);
    let backend = backend_running(&admin, &db, "pg_advisory_xact_lock(4242)").await;
    child.kill().expect("SIGKILL retort");
    let killed = child.wait().expect("reap retort");
    assert_eq!(killed.code(), None, "killed by a signal");

    // The row was committed before statement 1 and moved on after it.
    let rows = history(&admin).await;
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "started")
        ]
    );
    assert_eq!(
        (rows[1].statements_done, rows[1].statements_total),
        (Some(1), Some(3))
    );
    assert_eq!(rows[1].error, None);

    // Its backend still runs statement 2 and holds the migration lock: a
    // step in progress, not a crash.
    let running = run(&db, dir.path(), &["current", "-v"]);
    expect_code(&running, 0);
    let text = stdout(&running);
    assert!(text.contains("RUNNING step in progress: b2"), "{text}");
    assert!(text.contains("1 of 3 statement(s) done"), "{text}");
    assert!(!text.contains("PARTIAL"), "{text}");

    // Statement 2 gets its lock and ends; so does the orphaned session.
    admin
        .batch_execute("SELECT pg_advisory_unlock(4242)")
        .await
        .unwrap();
    wait_until_gone(&admin, backend).await;
    assert_eq!(ledger(&admin).await, ["credit"]);

    let stopped = "stopped after statement 1 of 3 (statement 2 may or may not have run)";
    let verbose = run(&db, dir.path(), &["current", "-v"]);
    expect_code(&verbose, 0);
    let text = stdout(&verbose);
    assert!(text.contains("PARTIAL unresolved step: b2"), "{text}");
    assert!(text.contains(stopped), "{text}");
    assert!(
        text.contains("its process, machine or connection died"),
        "{text}"
    );
    assert!(!text.contains("RUNNING"), "{text}");
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    assert!(stdout(&check).contains(stopped), "{}", stdout(&check));

    // The next run refuses, and runs nothing again: no second credit.
    for args in [
        &["upgrade", "heads"][..],
        &["upgrade", "heads", "--allow-drift"],
    ] {
        let refused = run(&db, dir.path(), args);
        expect_code(&refused, 3);
        let err = stderr(&refused);
        assert!(
            err.contains("refusing to run: a step stopped halfway"),
            "{err}"
        );
        assert!(err.contains(stopped), "{err}");
    }
    assert_eq!(ledger(&admin).await, ["credit"]);
    assert_eq!(version_rows(&admin).await, ["a1"]);

    // The operator finishes it by hand and records so.
    admin
        .batch_execute("INSERT INTO ledger VALUES ('fee')")
        .await
        .unwrap();
    let resolved = run(&db, dir.path(), &["resolve", "b2", "--applied"]);
    expect_code(&resolved, 0);
    assert_eq!(version_rows(&admin).await, ["b2"]);
    expect_code(&run(&db, dir.path(), &["check"]), 0);
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(ledger(&admin).await, ["credit", "fee"]);
}

#[tokio::test]
async fn a_completed_non_transactional_step_turns_its_started_row_into_success() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    ledger_revisions(dir.path());
    let admin = db.client().await;
    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 0);
    let rows = history(&admin).await;
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "success")
        ]
    );
    assert_eq!(
        (rows[1].statements_done, rows[1].statements_total),
        (Some(3), Some(3))
    );
    assert_eq!(rows[1].heads_after, ["b2"]);
}

#[tokio::test]
async fn transaction_control_in_a_transactional_revision_is_refused_when_files_load() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);\nCOMMIT;\nCREATE TABLE two (id int);\nSELECT 1/0;",
        Some("DROP TABLE two;\nDROP TABLE one;"),
    );
    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 2);
    let err = stderr(&out);
    // Header lines 1-4, the marker on 5: COMMIT is on line 7.
    assert!(
        err.contains(
            "a1_rev.sql:7: upgrade section, column 1: COMMIT inside a transactional revision"
        ),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let admin = db.client().await;
    assert!(!table_exists(&admin, "one").await, "nothing ran");
    assert!(!table_exists(&admin, "alembic_version").await);

    // A plpgsql body's END and a savepoint are not transaction control.
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\n\
         DO $$ BEGIN PERFORM 1; END $$;",
        Some("DROP TABLE one;"),
    );
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    assert!(table_exists(&admin, "one").await);
}

/// b2 (`transactional: false`): a statement, a BEGIN ... COMMIT block with
/// two statements, and a last statement; `block` and `last` fill them in.
fn block_revision(dir: &Path, block: &str, last: &str) {
    write_revision(dir, "a1", &[], "", "SELECT 1;", Some(""));
    write_revision(
        dir,
        "b2",
        &["a1"],
        "-- transactional: false",
        &format!("CREATE TABLE unit_one (id int);\nBEGIN;\n{block}\nCOMMIT;\n{last}"),
        Some(""),
    );
}

#[tokio::test]
async fn a_failing_block_of_a_non_transactional_revision_is_one_unit_rolled_back() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    block_revision(
        dir.path(),
        "CREATE TABLE in_block (id int);\nSELECT 1/0;",
        "CREATE TABLE unit_three (id int);",
    );
    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("22012"), "{err}");
    assert!(
        err.contains("1 statement(s) of this revision ran and stay applied"),
        "{err}"
    );
    let admin = db.client().await;
    assert!(table_exists(&admin, "unit_one").await);
    assert!(
        !table_exists(&admin, "in_block").await,
        "the block rolled back"
    );
    assert!(!table_exists(&admin, "unit_three").await);
    let row = history(&admin).await.pop().expect("b2's row");
    assert_eq!(
        (
            row.status.as_str(),
            row.statements_done,
            row.statements_total
        ),
        ("partial", Some(1), Some(3))
    );
}

#[tokio::test]
async fn a_block_that_committed_counts_as_one_unit_done() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    block_revision(
        dir.path(),
        "CREATE TABLE in_block (id int);\nCREATE TABLE in_block_too (id int);",
        "SELECT 1/0;",
    );
    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 3);
    let admin = db.client().await;
    assert!(table_exists(&admin, "in_block").await);
    assert!(table_exists(&admin, "in_block_too").await);
    let row = history(&admin).await.pop().expect("b2's row");
    assert_eq!(
        (
            row.status.as_str(),
            row.statements_done,
            row.statements_total
        ),
        ("partial", Some(2), Some(3))
    );
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    assert!(
        stdout(&check).contains("stopped after 2 of 3 statement(s)"),
        "{}",
        stdout(&check)
    );
}

/// The history table as retort created it before steps were recorded as
/// `started`: no such status, no `backend_pid`.
const OLD_HISTORY_TABLE: &str = "CREATE TABLE retort_history (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL,
    step_index integer,
    revision text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('upgrade', 'downgrade', 'stamp', 'resolve')),
    status text NOT NULL CHECK (status IN ('success', 'failed', 'partial')),
    resolution text CHECK (resolution IN ('applied', 'rolled_back', 'accept_drift')),
    heads_before text[] NOT NULL,
    heads_after text[] NOT NULL,
    planned_heads_after text[] NOT NULL,
    sql_checksum text,
    upgrade_checksum text,
    downgrade_checksum text,
    statements_done integer,
    statements_total integer,
    error text,
    db_user text NOT NULL DEFAULT current_user,
    os_user text,
    host text,
    retort_version text NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms double precision NOT NULL
)";

#[tokio::test]
async fn a_history_table_of_the_earlier_layout_is_read_as_is_and_upgraded_by_a_run() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    ledger_revisions(dir.path());
    let admin = db.client().await;
    admin.batch_execute(OLD_HISTORY_TABLE).await.unwrap();
    // Readers never change it.
    expect_code(&run(&db, dir.path(), &["current", "-v"]), 0);
    expect_code(&run(&db, dir.path(), &["log"]), 0);
    assert_eq!(has_pid(&admin).await, 0);

    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 0);
    assert_eq!(has_pid(&admin).await, 1);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "success")
        ]
    );
    let accepts_started: bool = admin
        .query_one(
            "SELECT bool_or(pg_get_constraintdef(oid) LIKE '%started%') FROM pg_constraint \
             WHERE conrelid = 'retort_history'::regclass AND contype = 'c'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(accepts_started);
}

async fn has_pid(admin: &Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'retort_history'::regclass \
             AND attname = 'backend_pid'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}
