//! The `retort` binary, run as a user runs it, against a fresh database per
//! test: every verb, the exit codes, failures mid-plan, offline output and
//! bad input.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::TestDb;
use support::{code, stderr, stdout, table_exists, version_rows, write_revision};

const BIN: &str = env!("CARGO_BIN_EXE_retort");

fn demo_migrations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations")
}

/// Runs retort in an empty working directory (so no retort.toml is picked
/// up) on `migrations`, connected to `db` when given.
fn retort(db: Option<&TestDb>, migrations: &Path, args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .arg("--migrations")
        .arg(migrations);
    match db {
        Some(db) => cmd.arg("--database-url").arg(db.conninfo()),
        // A server that is certainly not there, to prove nothing connects.
        None => cmd
            .arg("--database-url")
            .arg("postgres://nobody:secret@127.0.0.1:9/none"),
    };
    cmd.args(args).output().expect("retort runs")
}

#[test]
fn heads_history_and_branches_read_the_demo_without_a_database() {
    let dir = demo_migrations();
    let heads = retort(None, &dir, &["heads"]);
    assert_eq!(code(&heads), 0, "{}", stderr(&heads));
    assert_eq!(stdout(&heads), "d51a7c3e9f04 (audit, billing) (head)\n");

    let history = retort(None, &dir, &["history"]);
    let lines: Vec<String> = stdout(&history).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 14);
    assert!(lines[0].starts_with("b8e4f0a3c6d9 -> d51a7c3e9f04 (audit, billing) (head), "));
    assert!(lines[13].starts_with("<base> -> 4f1c8a2e9b07, create accounts"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("f6a0e2c8b435 (7a4d2c9e1f60) -> 6c9d1a5e7b82 (audit),"))
    );

    let branches = retort(None, &dir, &["branches"]);
    assert!(stdout(&branches).starts_with("c94a2f7e5d10 (branchpoint)\n"));

    let ranged = retort(None, &dir, &["history", "-r", "c94a:5e8b"]);
    assert_eq!(stdout(&ranged).lines().count(), 2, "{}", stdout(&ranged));
    let json = retort(None, &dir, &["--format", "json", "heads"]);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(parsed[0]["revision"], "d51a7c3e9f04");
}

#[test]
fn history_into_a_closed_pipe_ends_quietly() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .arg("--migrations")
        .arg(demo_migrations())
        .arg("history")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("retort runs");
    // With no reader left, every write fails as `| head` makes it fail.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("retort ends");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[tokio::test]
async fn upgrade_then_downgrade_the_demo_round_trips() {
    let db = TestDb::create().await;
    let dir = demo_migrations();
    let check = retort(Some(&db), &dir, &["check"]);
    assert_eq!(code(&check), 1, "check must report pending work");
    assert!(
        stdout(&check).starts_with("14 revision(s) pending"),
        "{}",
        stdout(&check)
    );

    let up = retort(Some(&db), &dir, &["upgrade", "heads"]);
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    assert!(
        stderr(&up).contains("Running upgrade b8e4f0a3c6d9 -> d51a7c3e9f04"),
        "{}",
        stderr(&up)
    );
    assert_eq!(version_rows(&db.client().await).await, ["d51a7c3e9f04"]);
    assert!(table_exists(&db.client().await, "invoice_lines").await);

    let current = retort(Some(&db), &dir, &["current"]);
    assert_eq!(stdout(&current), "d51a7c3e9f04 (head)\n");
    assert_eq!(code(&retort(Some(&db), &dir, &["check"])), 0);
    assert_eq!(
        code(&retort(Some(&db), &dir, &["current", "--check-heads"])),
        0
    );

    let down = retort(Some(&db), &dir, &["downgrade", "billing@c94a2f7e5d10"]);
    assert_eq!(code(&down), 0, "{}", stderr(&down));
    assert!(stderr(&down).contains("DOWNGRADE"), "{}", stderr(&down));
    assert!(!table_exists(&db.client().await, "invoices").await);
    assert!(
        table_exists(&db.client().await, "audit_log").await,
        "the audit branch stays"
    );

    let base = retort(Some(&db), &dir, &["downgrade", "base"]);
    assert_eq!(code(&base), 0, "{}", stderr(&base));
    assert_eq!(version_rows(&db.client().await).await, Vec::<String>::new());
    assert!(!table_exists(&db.client().await, "accounts").await);
}

#[tokio::test]
async fn a_failing_statement_names_file_line_and_column_and_keeps_earlier_steps() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);",
        Some("DROP TABLE one;"),
    );
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "CREATE TABLE two (id int);\nINSERT INTO two VALUES (1);\nSELECT * FROM\n    missing_table;",
        Some("DROP TABLE two;"),
    );
    let out = retort(Some(&db), dir.path(), &["upgrade", "heads"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    // Upgrade section starts on line 6; the failing name is on its 4th line, column 5.
    assert!(
        err.contains("b2_rev.sql:9:5: ERROR 42P01: relation \"missing_table\" does not exist"),
        "{err}"
    );
    assert_eq!(
        version_rows(&db.client().await).await,
        ["a1"],
        "the first step stays applied"
    );
    assert!(table_exists(&db.client().await, "one").await);
    assert!(
        !table_exists(&db.client().await, "two").await,
        "the failed step is rolled back"
    );
}

#[tokio::test]
async fn server_notices_reach_stderr_with_their_severity() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "DO $$ BEGIN RAISE NOTICE 'noted'; RAISE WARNING 'careful'; END $$;",
        Some(""),
    );
    let out = retort(Some(&db), dir.path(), &["upgrade", "heads"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("\nNOTICE noted\n"), "{err}");
    assert!(err.contains("\nWARNING careful\n"), "{err}");
}

#[tokio::test]
async fn atomic_runs_roll_back_every_step() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);",
        Some("DROP TABLE one;"),
    );
    write_revision(dir.path(), "b2", &["a1"], "", "SELECT 1/0;", Some(""));
    let out = retort(Some(&db), dir.path(), &["upgrade", "heads", "--atomic"]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("22012"), "{}", stderr(&out));
    assert_eq!(version_rows(&db.client().await).await, Vec::<String>::new());
    assert!(!table_exists(&db.client().await, "one").await);
}

#[tokio::test]
async fn irreversible_downgrade_is_refused_before_anything_runs() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int);",
        Some("DROP TABLE one;"),
    );
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "CREATE TABLE two (id int);",
        None,
    );
    assert_eq!(
        code(&retort(Some(&db), dir.path(), &["upgrade", "heads"])),
        0
    );
    let out = retort(Some(&db), dir.path(), &["downgrade", "base"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("revision b2 has no downgrade section"),
        "{}",
        stderr(&out)
    );
    assert_eq!(version_rows(&db.client().await).await, ["b2"]);
    assert!(
        table_exists(&db.client().await, "one").await
            && table_exists(&db.client().await, "two").await
    );
}

#[tokio::test]
async fn dry_run_shows_the_plan_and_changes_nothing() {
    let db = TestDb::create().await;
    let out = retort(
        Some(&db),
        &demo_migrations(),
        &["upgrade", "+2", "--dry-run"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("1. upgrade  -> 4f1c8a2e9b07, create accounts"),
        "{text}"
    );
    assert!(
        text.contains("2. upgrade 4f1c8a2e9b07 -> 8d3e6b1a0c54, create users"),
        "{text}"
    );
    assert!(text.contains("CREATE TABLE accounts"), "{text}");
    assert!(!table_exists(&db.client().await, "alembic_version").await);

    let json = retort(
        Some(&db),
        &demo_migrations(),
        &["--format", "json", "upgrade", "heads", "--dry-run"],
    );
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON plan");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 14);
    assert_eq!(plan["heads_after"][0], "d51a7c3e9f04");
}

#[test]
fn offline_sql_needs_no_database() {
    let out = retort(
        None,
        &demo_migrations(),
        &["upgrade", "8d3e6b1a0c54", "--sql"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let sql = stdout(&out);
    assert!(
        sql.starts_with("BEGIN;\n\nCREATE TABLE alembic_version (\n"),
        "{sql}"
    );
    assert!(
        sql.contains("-- Running upgrade 4f1c8a2e9b07 -> 8d3e6b1a0c54\n"),
        "{sql}"
    );
    assert!(sql.contains(
        "UPDATE alembic_version SET version_num='8d3e6b1a0c54' WHERE alembic_version.version_num = '4f1c8a2e9b07';"
    ));
    let down = retort(None, &demo_migrations(), &["downgrade", "base", "--sql"]);
    assert_eq!(code(&down), 2);
    assert!(stderr(&down).contains("downgrade with --sql requires <fromrev>:<torev>"));
    let down = retort(
        None,
        &demo_migrations(),
        &["downgrade", "8d3e6b1a0c54:base", "--sql"],
    );
    assert!(stdout(&down).contains(
        "DELETE FROM alembic_version WHERE alembic_version.version_num = '4f1c8a2e9b07';"
    ));
}

#[tokio::test]
async fn stamp_moves_the_version_table_only() {
    let db = TestDb::create().await;
    let dir = demo_migrations();
    let out = retort(Some(&db), &dir, &["stamp", "c94a2f7e5d10"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(version_rows(&db.client().await).await, ["c94a2f7e5d10"]);
    assert!(
        !table_exists(&db.client().await, "accounts").await,
        "stamp runs no migration SQL"
    );
    let purge = retort(Some(&db), &dir, &["stamp", "--purge", "heads"]);
    assert_eq!(code(&purge), 0, "{}", stderr(&purge));
    assert_eq!(version_rows(&db.client().await).await, ["d51a7c3e9f04"]);
}

#[tokio::test]
async fn bad_targets_are_input_errors_and_change_nothing() {
    let db = TestDb::create().await;
    let dir = demo_migrations();
    for (args, message) in [
        (
            vec!["upgrade", "zzzz"],
            "Can't locate revision identified by 'zzzz'",
        ),
        (
            vec!["upgrade", "-1"],
            "Relative revision -1 didn't produce 1 migrations",
        ),
        (
            vec!["downgrade", "+1"],
            "Relative revision +1 didn't produce 1 migrations",
        ),
        (vec!["upgrade", "a:b"], "Range revision not allowed"),
    ] {
        let out = retort(Some(&db), &dir, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert!(!table_exists(&db.client().await, "alembic_version").await);
}

#[test]
fn an_unreachable_server_is_a_database_error_without_the_password() {
    let out = retort(None, &demo_migrations(), &["current"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("secret"), "the password leaked: {err}");
}

#[test]
fn broken_revision_files_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "-- down_revisions: x",
        "SELECT 1;",
        Some(""),
    );
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "SELECT $$ unterminated;",
        Some(""),
    );
    let out = retort(None, dir.path(), &["heads"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("a1_rev.sql:4:") && err.contains("down_revisions"),
        "{err}"
    );
    assert!(err.contains("b2_rev.sql:6:"), "{err}");

    let cycle = tempfile::tempdir().unwrap();
    write_revision(cycle.path(), "a1", &[], "", "SELECT 1;", Some(""));
    write_revision(cycle.path(), "b2", &["a1", "c3"], "", "SELECT 1;", Some(""));
    write_revision(cycle.path(), "c3", &["b2"], "", "SELECT 1;", Some(""));
    let out = retort(None, cycle.path(), &["heads"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("Cycle is detected in revisions"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_config_names_file_line_and_key() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("retort.toml"),
        "migrations = \"m\"\nversion_tabel = \"v\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .arg("heads")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("retort.toml:2: version_tabel: unknown key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn revision_and_merge_write_files_that_load() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| retort(None, dir.path(), args);
    let first = run(&["revision", "-m", "first one", "--rev-id", "aaaa00000001"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(dir.path().join("aaaa00000001_first_one.sql").exists());
    let second = run(&["revision", "-m", "second", "--rev-id", "bbbb00000002"]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    let branch = run(&[
        "revision",
        "-m",
        "side",
        "--head",
        "aaaa",
        "--rev-id",
        "cccc00000003",
    ]);
    assert_eq!(code(&branch), 2, "a non-head needs --splice");
    assert!(stderr(&branch).contains("please specify --splice"));
    let branch = run(&[
        "revision",
        "-m",
        "side",
        "--head",
        "aaaa",
        "--splice",
        "--rev-id",
        "cccc00000003",
        "--branch-label",
        "side",
    ]);
    assert_eq!(code(&branch), 0, "{}", stderr(&branch));
    let ambiguous = run(&["revision", "-m", "third"]);
    assert_eq!(code(&ambiguous), 2);
    assert!(
        stderr(&ambiguous).contains("Multiple heads are present"),
        "{}",
        stderr(&ambiguous)
    );
    let merge = run(&["merge", "heads", "-m", "join", "--rev-id", "dddd00000004"]);
    assert_eq!(code(&merge), 0, "{}", stderr(&merge));
    let heads = run(&["heads"]);
    assert_eq!(stdout(&heads), "dddd00000004 (side) (head)\n");
    let generated = std::fs::read_to_string(dir.path().join("aaaa00000001_first_one.sql")).unwrap();
    assert!(
        generated
            .starts_with("-- revision: aaaa00000001\n-- down_revision:\n-- message: first one\n"),
        "{generated}"
    );
}

/// Every file under `dir`, hidden ones included, relative to it.
fn all_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn revision_refuses_what_the_loader_would_skip_or_refuse_and_writes_nothing() {
    // The project sits two levels down, so `../../pwned` would still land
    // inside the temporary directory, where the test can see it.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("app/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| retort(None, &dir, args);
    let first = run(&["revision", "-m", "first", "--rev-id", "a27f00000001"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let before = all_files(root.path());
    for (args, cause) in [
        (
            vec!["--rev-id", ".hidden"],
            "would be skipped when the revisions load",
        ),
        (
            vec!["--rev-id", "../../pwned"],
            "must not contain a path separator",
        ),
        (
            vec!["--rev-id", "x\\y"],
            "must not contain a path separator",
        ),
        (vec!["--rev-id", ""], "revision id '': must not be empty"),
        (
            vec!["--rev-id", "a b"],
            "not allowed in revision identifier",
        ),
        (vec!["--rev-id", "a27f00000001"], "already exists"),
        (
            vec!["--branch-label", "a27f00000001"],
            "branch label 'a27f00000001': is the id of a revision",
        ),
        (vec!["--depends-on", "zzzz"], "depends_on 'zzzz'"),
    ] {
        let mut full = vec!["revision", "-m", "second"];
        full.extend(&args);
        let out = run(&full);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(cause), "{args:?}: {}", stderr(&out));
        assert_eq!(all_files(root.path()), before, "{args:?} wrote a file");
    }
    // A prefix in --depends-on is written as the full id the loader needs.
    let dep = run(&[
        "revision",
        "-m",
        "second",
        "--rev-id",
        "b38e00000002",
        "--depends-on",
        "a27f",
    ]);
    assert_eq!(code(&dep), 0, "{}", stderr(&dep));
    let text = std::fs::read_to_string(dir.join("b38e00000002_second.sql")).unwrap();
    assert!(text.contains("-- depends_on: a27f00000001\n"), "{text}");
    // The project still loads, and the next revision follows the last one.
    let third = run(&["revision", "-m", "third", "--rev-id", "c49d00000003"]);
    assert_eq!(code(&third), 0, "{}", stderr(&third));
    let heads = run(&["heads"]);
    assert_eq!(
        stdout(&heads),
        "c49d00000003 (head)\n",
        "{}",
        stderr(&heads)
    );
}

#[test]
fn init_creates_a_project_and_refuses_to_clobber() {
    let cwd = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(BIN)
            .current_dir(cwd.path())
            .args(["init", "db/migrations"])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(cwd.path().join("retort.toml").exists());
    std::fs::write(cwd.path().join("db/migrations/x.sql"), "").unwrap();
    let again = run();
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("already exists and is not empty"));
}
