//! `retort diff` through the real binary: the demo project's revision files
//! against the database they built, drift made by hand, JSON, bad input,
//! and the scratch database gone afterwards whichever way the run ended.

mod common;
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use common::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{code, command, expect_code, run, scratch_name, stderr, stdout, write_revision};

fn demo_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")
}

async fn database_exists(db: &TestDb, name: &str) -> bool {
    support::database_exists(&db.client().await, name).await
}

async fn upgraded_demo() -> TestDb {
    let db = TestDb::create().await;
    let out = run(&db, &demo_migrations(), &["upgrade", "heads"]);
    expect_code(&out, 0);
    db
}

#[tokio::test]
async fn migrations_and_db_agree_on_the_demo_project_and_the_scratch_database_goes() {
    let db = upgraded_demo().await;
    let out = run(
        &db,
        &demo_migrations(),
        &["diff", "--from", "migrations", "--to", "db"],
    );
    expect_code(&out, 0);
    assert_eq!(stdout(&out), "No differences.\n");
    let scratch = scratch_name(&stderr(&out));
    assert!(scratch.starts_with("retort_scratch_"), "{scratch}");
    assert!(!database_exists(&db, &scratch).await, "{scratch} was left");
}

#[tokio::test]
async fn a_hand_change_to_the_db_is_drift_with_exit_1() {
    let db = upgraded_demo().await;
    db.client()
        .await
        .batch_execute(
            "CREATE INDEX invoices_hand_idx ON invoices (id); \
             ALTER TABLE users ALTER COLUMN created_at DROP DEFAULT; \
             DROP INDEX invoices_account_issued_idx;",
        )
        .await
        .expect("hand change");
    let out = run(
        &db,
        &demo_migrations(),
        &["diff", "--from", "migrations", "--to", "db"],
    );
    expect_code(&out, 1);
    assert_eq!(
        stdout(&out),
        "column users.created_at: default now() → none\n\
         index invoices_account_issued_idx: missing\n\
         index invoices_hand_idx: extra\n"
    );
    // The other way round, the same objects with the roles swapped.
    let out = run(
        &db,
        &demo_migrations(),
        &["diff", "--from", "db", "--to", "migrations"],
    );
    expect_code(&out, 1);
    assert_eq!(
        stdout(&out),
        "column users.created_at: default none → now()\n\
         index invoices_account_issued_idx: extra\n\
         index invoices_hand_idx: missing\n"
    );
}

#[tokio::test]
async fn json_output_parses_and_names_each_change() {
    let db = upgraded_demo().await;
    db.client()
        .await
        .batch_execute("COMMENT ON TABLE users IS 'people'")
        .await
        .expect("hand change");
    let out = run(
        &db,
        &demo_migrations(),
        &[
            "--format",
            "json",
            "diff",
            "--from",
            "migrations",
            "--to",
            "db",
        ],
    );
    expect_code(&out, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["equal"], false);
    assert_eq!(report["from"]["source"], "migrations");
    assert_eq!(report["to"]["source"], "db");
    assert_eq!(
        report["changes"],
        serde_json::json!([{
            "kind": "table", "schema": "public", "name": "users", "change": "altered",
            "attribute": "comment", "before": null, "after": "people"
        }])
    );
}

#[tokio::test]
async fn two_databases_by_url_and_head_limits_the_migrations() {
    let db = upgraded_demo().await;
    let empty = TestDb::create().await;
    let url = format!(
        "{}/{}",
        common::database_url()
            .rsplit_once('/')
            .map(|(server, _)| server.to_string())
            .expect("URL with a database"),
        empty.name
    );
    let out = run(
        &db,
        &demo_migrations(),
        &["diff", "--from", "db", "--to", &url],
    );
    expect_code(&out, 1);
    assert!(
        stdout(&out).contains("table users: missing"),
        "{}",
        stdout(&out)
    );
    // Only the first revision: accounts exist, users do not yet.
    let out = run(
        &empty,
        &demo_migrations(),
        &[
            "diff",
            "--from",
            "db",
            "--to",
            "migrations",
            "--head",
            "4f1c8a2e9b07",
        ],
    );
    expect_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("table accounts: extra"), "{text}");
    assert!(!text.contains("table users"), "{text}");
}

#[tokio::test]
async fn a_bad_source_is_a_usage_error() {
    let db = TestDb::create().await;
    let out = run(
        &db,
        &demo_migrations(),
        &["diff", "--from", "nowhere", "--to", "db"],
    );
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("invalid value 'nowhere' for '--from <SOURCE>': expected `db`"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &db,
        &demo_migrations(),
        &[
            "diff",
            "--from",
            "db",
            "--to",
            "db",
            "--head",
            "4f1c8a2e9b07",
        ],
    );
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("--head says how far to apply the revision files"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_failing_revision_names_file_and_line_and_the_scratch_database_goes() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE t (id int);",
        Some("DROP TABLE t;"),
    );
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "CREATE TABLE u (id int);\nSELECT no_such_column FROM t;",
        Some("DROP TABLE u;"),
    );
    let out = run(
        &db,
        dir.path(),
        &["diff", "--from", "migrations", "--to", "db"],
    );
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("b2_rev.sql:7"), "{err}");
    assert!(err.contains("no_such_column"), "{err}");
    assert!(!database_exists(&db, &scratch_name(&err)).await, "{err}");
}

#[tokio::test]
async fn sigint_while_building_drops_the_scratch_database() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_revision(dir.path(), "a1", &[], "", "SELECT pg_sleep(60);", Some(""));
    let mut child = command(
        &db,
        dir.path(),
        &["diff", "--from", "migrations", "--to", "db"],
    )
    .spawn()
    .expect("retort starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let announced = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("scratch database"))
        .expect("the scratch database is announced");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = support::finish(child);
    assert_eq!(code(&out), 130, "{}", rest.join("\n"));
    assert!(!database_exists(&db, &scratch_name(&announced)).await);
}
