//! The migrator's own guarantees, through the real binary: what runs is
//! what is on disk when it runs, and a protected environment asks for its
//! name before anything runs on top of drift.

mod common;
mod support;

use std::path::Path;

use common::TestDb;
use support::*;

fn two_revisions(dir: &Path) {
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
        "",
        "CREATE TABLE two (id int);",
        Some("DROP TABLE two;"),
    );
}

#[tokio::test]
async fn a_revision_file_edited_while_the_run_waits_for_the_lock_is_not_run() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let holder = db.client().await;
    hold_lock(&holder).await;
    let child = spawn(&db, dir.path(), &["upgrade", "heads"]);
    wait_for_retort_session(&db).await;
    // The files change under the waiting run (a checkout, a `git pull`).
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "CREATE TABLE two (id int);\nDROP TABLE one;",
        Some("DROP TABLE two;"),
    );
    release_lock(&holder).await;
    let out = finish(child);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(
            "refusing to run: revision files of the plan changed on disk after retort read them; \
             nothing was run"
        ),
        "{err}"
    );
    assert!(err.contains("b2_rev.sql (b2): changed"), "{err}");
    let admin = db.client().await;
    assert!(version_rows(&admin).await.is_empty());
    assert!(!table_exists(&admin, "one").await);

    // Run again, it plans from the files as they are now.
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(version_rows(&admin).await, ["b2"]);
    assert!(!table_exists(&admin, "one").await, "the edited b2 ran");
}

#[tokio::test]
async fn a_deleted_revision_file_of_the_plan_stops_the_run() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let holder = db.client().await;
    hold_lock(&holder).await;
    let child = spawn(&db, dir.path(), &["upgrade", "heads"]);
    wait_for_retort_session(&db).await;
    std::fs::remove_file(dir.path().join("a1_rev.sql")).unwrap();
    release_lock(&holder).await;
    let out = finish(child);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("a1_rev.sql (a1): cannot be read"),
        "{}",
        stderr(&out)
    );
    let admin = db.client().await;
    assert!(!table_exists(&admin, "one").await);
}

/// A config with a protected environment `prod` on the test database.
fn protected_config(db: &TestDb, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("retort.toml");
    std::fs::write(
        &path,
        format!(
            "[environments.prod]\nurl = \"{}\"\nprotected = true\n",
            db.conninfo()
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn an_upgrade_on_top_of_drift_in_a_protected_environment_needs_its_name() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    two_revisions(&migrations);
    let config = protected_config(&db, dir.path());
    let prod = |args: &[&str]| {
        let mut cmd = std::process::Command::new(BIN);
        cmd.current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg("prod")
            .arg("--migrations")
            .arg(&migrations)
            .args(args)
            .stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    };
    expect_code(&prod(&["upgrade", "a1"]), 0);
    // a1's file changes after it was applied: drift.
    write_revision(
        &migrations,
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int, note text);",
        Some("DROP TABLE one;"),
    );
    let out = prod(&["upgrade", "heads", "--allow-drift"]);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains(
            "environment 'prod' is protected: running an upgrade on top of drift needs \
             confirmation; nothing was run. To go ahead, run the same command again with \
             --confirm prod --allow-drift"
        ),
        "{}",
        stderr(&out)
    );
    let admin = db.client().await;
    assert_eq!(version_rows(&admin).await, ["a1"]);
    let out = prod(&["upgrade", "heads", "--allow-drift", "--confirm", "prod"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("--allow-drift: running despite drift of a1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(version_rows(&admin).await, ["b2"]);
}
