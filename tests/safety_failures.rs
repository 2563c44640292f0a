//! Failures and lost connections, through the real binary: after each one
//! the version table, the schema and the history must agree with what the
//! user was told, and a step that stopped halfway blocks further runs
//! until `retort resolve` records how it ended.

mod common;
mod support;

use std::path::Path;

use common::TestDb;
use support::*;

fn base_revision(dir: &Path) {
    write_revision(
        dir,
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);",
        Some("DROP TABLE one;"),
    );
}

/// b2 with a sleep the test interrupts; `transactional: false` when asked.
fn sleeping_revision(dir: &Path, transactional: bool) {
    let header = if transactional {
        ""
    } else {
        "-- transactional: false"
    };
    write_revision(
        dir,
        "b2",
        &["a1"],
        header,
        "CREATE TABLE two_a (id int);\nSELECT pg_sleep(60);\nCREATE TABLE two_b (id int);",
        Some("DROP TABLE two_b;\nDROP TABLE two_a;"),
    );
}

fn fixed_revision(dir: &Path, transactional: bool) {
    let header = if transactional {
        ""
    } else {
        "-- transactional: false"
    };
    write_revision(
        dir,
        "b2",
        &["a1"],
        header,
        "CREATE TABLE two_a (id int);\nCREATE TABLE two_b (id int);",
        Some("DROP TABLE two_b;\nDROP TABLE two_a;"),
    );
}

#[tokio::test]
async fn a_transactional_step_whose_connection_is_killed_is_rolled_back_and_recorded() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    base_revision(dir.path());
    sleeping_revision(dir.path(), true);
    let admin = db.client().await;

    let child = spawn(&db, dir.path(), &["upgrade", "heads"]);
    let killed = terminate_backend_running(&admin, &db, "pg_sleep(60)").await;
    let out = finish(child);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("57P01"), "{err}");
    assert!(
        err.contains("Recorded in the history #2: upgrade of b2 failed and was rolled back"),
        "{err}"
    );
    assert!(
        err.contains("The failed step was rolled back; the database is at: a1"),
        "{err}"
    );

    // What the user was told is what the database holds.
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(table_exists(&admin, "one").await);
    assert!(!table_exists(&admin, "two_a").await, "rolled back");
    let rows = history(&admin).await;
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "failed")
        ]
    );
    let failed = &rows[1];
    assert_eq!(failed.heads_before, ["a1"]);
    assert_eq!(failed.heads_after, ["a1"]);
    assert_eq!(
        (failed.statements_done, failed.statements_total),
        (Some(1), Some(3))
    );
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(error.contains("terminating connection"), "{error}");
    let gone = admin
        .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&killed])
        .await
        .unwrap()
        .is_none();
    assert!(gone, "the killed backend is gone");

    // A failed transactional step blocks nothing: check lists it as pending.
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    assert!(
        stdout(&check).contains("1 revision(s) pending"),
        "{}",
        stdout(&check)
    );
    assert!(!stdout(&check).contains("PARTIAL"), "{}", stdout(&check));
    fixed_revision(dir.path(), true);
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(version_rows(&admin).await, ["b2"]);
}

/// Statement 2 is in flight when its session is terminated: its answer never
/// comes, so it is neither counted as run nor as not run (issue 8, item 4).
#[tokio::test]
async fn a_killed_non_transactional_step_leaves_its_statement_in_doubt_and_blocks_until_resolved_as_applied()
 {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    base_revision(dir.path());
    sleeping_revision(dir.path(), false);
    let admin = db.client().await;

    let child = spawn(&db, dir.path(), &["upgrade", "heads"]);
    terminate_backend_running(&admin, &db, "pg_sleep(60)").await;
    let out = finish(child);
    expect_code(&out, 3);
    let err = stderr(&out);
    for needle in [
        "57P01",
        "1 statement(s) of this revision ran and stay applied; statement 2 (this one) may or \
         may not have run, as its answer never came",
        "recording it on a new connection",
        "Recorded as partial in the history #2",
        "retort resolve b2 --applied",
        "The version table was not changed by the stopped step; it holds: a1",
    ] {
        assert!(err.contains(needle), "no '{needle}' in:\n{err}");
    }
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(table_exists(&admin, "two_a").await, "statement 1 ran");
    assert!(!table_exists(&admin, "two_b").await, "statement 3 did not");
    // One row, written before statement 1 and never ended: `started`,
    // with the error the new connection recorded over it.
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
    assert_eq!(rows[1].heads_after, ["a1"]);
    let error = rows[1].error.as_deref().unwrap_or_default();
    assert!(error.contains("57P01"), "{error}");

    // current and check say so.
    let current = run(&db, dir.path(), &["current"]);
    expect_code(&current, 0);
    assert_eq!(stdout(&current), "a1\n");
    assert!(
        stderr(&current).contains(
            "the upgrade of b2 (transactional: false) stopped after statement 1 of 3 \
             (statement 2 may or may not have run)"
        ),
        "{}",
        stderr(&current)
    );
    let verbose = run(&db, dir.path(), &["current", "-v"]);
    assert!(
        stdout(&verbose).contains("PARTIAL unresolved step: b2"),
        "{}",
        stdout(&verbose)
    );
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    assert!(
        stdout(&check).contains("PARTIAL unresolved step: b2"),
        "{}",
        stdout(&check)
    );
    let json = run(&db, dir.path(), &["--format", "json", "check"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(report["drift"]["issues"][0]["kind"], "partial");
    assert_eq!(report["drift"]["issues"][0]["statements_done"], 1);
    assert_eq!(report["drift"]["issues"][0]["in_doubt"], true);

    // Every changing command refuses, even with --allow-drift, and changes nothing.
    for args in [
        &["upgrade", "heads"][..],
        &["upgrade", "heads", "--allow-drift"],
        &["downgrade", "base"],
        &["stamp", "b2"],
    ] {
        let out = run(&db, dir.path(), args);
        expect_code(&out, 3);
        assert!(
            stderr(&out).contains("refusing to run: a step stopped halfway"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(!table_exists(&admin, "two_b").await);
    assert_eq!(history(&admin).await.len(), 2);

    // resolve needs the right choice for the right revision.
    let wrong = run(&db, dir.path(), &["resolve", "b2", "--accept-drift"]);
    expect_code(&wrong, 2);
    assert!(stderr(&wrong).contains("--applied"), "{}", stderr(&wrong));
    let nothing = run(&db, dir.path(), &["resolve", "a1", "--applied"]);
    expect_code(&nothing, 2);
    assert!(
        stderr(&nothing).contains("nothing to resolve"),
        "{}",
        stderr(&nothing)
    );
    let no_choice = run(&db, dir.path(), &["resolve", "b2"]);
    expect_code(&no_choice, 2);

    // The operator runs the rest by hand, then records it.
    admin
        .batch_execute("CREATE TABLE two_b (id int)")
        .await
        .unwrap();
    let resolved = run(
        &db,
        dir.path(),
        &["resolve", "b2", "--applied", "-m", "ran the rest by hand"],
    );
    expect_code(&resolved, 0);
    assert_eq!(
        stdout(&resolved),
        "Resolved #3: the stopped step of b2 is complete; version table now: b2.\n"
    );
    assert_eq!(version_rows(&admin).await, ["b2"]);
    let rows = history(&admin).await;
    let last = rows.last().unwrap();
    assert_eq!(
        (last.direction.as_str(), last.resolution.as_deref()),
        ("resolve", Some("applied"))
    );
    assert_eq!(last.heads_before, ["a1"]);
    assert_eq!(last.heads_after, ["b2"]);
    assert_eq!(last.error.as_deref(), Some("ran the rest by hand"));
    assert!(
        last.upgrade_checksum.is_some(),
        "b2 is applied: its file is vouched for"
    );

    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 0);
    assert!(
        stdout(&check).contains("verified: 2 applied revision(s)"),
        "{}",
        stdout(&check)
    );
    expect_code(&run(&db, dir.path(), &["downgrade", "base"]), 0);
    assert_eq!(version_rows(&admin).await, Vec::<String>::new());
    assert!(!table_exists(&admin, "two_a").await && !table_exists(&admin, "one").await);
}

#[tokio::test]
async fn a_failing_non_transactional_step_is_partial_and_can_be_resolved_as_rolled_back() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    base_revision(dir.path());
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "-- transactional: false",
        "CREATE TABLE two_a (id int);\nSELECT 1/0;\nCREATE TABLE two_b (id int);",
        Some("DROP TABLE two_b;\nDROP TABLE two_a;"),
    );
    let admin = db.client().await;
    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("22012"), "{err}");
    assert!(
        err.contains("Recorded as partial in the history #2"),
        "{err}"
    );
    assert!(
        !err.contains("new connection"),
        "the connection survived, so the row was written on it: {err}"
    );
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(table_exists(&admin, "two_a").await);
    let rows = history(&admin).await;
    assert_eq!(rows[1].status, "partial");
    assert_eq!(
        (rows[1].statements_done, rows[1].statements_total),
        (Some(1), Some(3))
    );
    assert!(
        rows[1]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("division by zero")
    );

    // Undone by hand, recorded as rolled back: the version table stays.
    admin.batch_execute("DROP TABLE two_a").await.unwrap();
    let resolved = run(&db, dir.path(), &["resolve", "b2", "--rolled-back"]);
    expect_code(&resolved, 0);
    assert!(
        stdout(&resolved).contains("version table unchanged: a1"),
        "{}",
        stdout(&resolved)
    );
    assert_eq!(version_rows(&admin).await, ["a1"]);

    // The fixed file runs; it was never applied, so editing it is not drift.
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "-- transactional: false",
        "CREATE TABLE two_a (id int);\nCREATE TABLE two_b (id int);",
        Some("DROP TABLE two_b;\nDROP TABLE two_a;"),
    );
    let up = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&up, 0);
    assert_eq!(version_rows(&admin).await, ["b2"]);
    assert!(table_exists(&admin, "two_b").await);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "partial"),
            triple("b2", "resolve", "success"),
            triple("b2", "upgrade", "success"),
        ]
    );
    expect_code(&run(&db, dir.path(), &["check"]), 0);
}

#[tokio::test]
async fn an_atomic_failure_leaves_only_the_failed_row() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    base_revision(dir.path());
    write_revision(dir.path(), "b2", &["a1"], "", "SELECT 1/0;", Some(""));
    let admin = db.client().await;
    let out = run(&db, dir.path(), &["upgrade", "heads", "--atomic"]);
    expect_code(&out, 3);
    assert_eq!(version_rows(&admin).await, Vec::<String>::new());
    assert!(!table_exists(&admin, "one").await);
    // a1's row was written in the plan's transaction and rolled back with it.
    let rows = history(&admin).await;
    assert_eq!(
        history_summary(&admin).await,
        [triple("b2", "upgrade", "failed")]
    );
    assert_eq!(rows[0].heads_before, Vec::<String>::new());
    assert_eq!(rows[0].heads_after, Vec::<String>::new());
}

#[tokio::test]
async fn errors_in_the_history_and_the_log_have_secrets_redacted() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    base_revision(dir.path());
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "DO $$ BEGIN RAISE EXCEPTION 'cannot reach postgres://app:hunter2@db.internal/app'; END $$;",
        Some(""),
    );
    let admin = db.client().await;
    let out = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 3);
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    let rows = history(&admin).await;
    let failed = rows.last().unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(
        (failed.statements_done, failed.statements_total),
        (Some(0), Some(1))
    );
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(error.contains("cannot reach postgres://app"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    let log = run(&db, dir.path(), &["log"]);
    expect_code(&log, 0);
    assert!(stdout(&log).contains("cannot reach"), "{}", stdout(&log));
    assert!(!stdout(&log).contains("hunter2"));
    assert_eq!(version_rows(&admin).await, ["a1"]);
}
