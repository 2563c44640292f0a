//! `retort lint`, and the hazards `upgrade --dry-run` and `check` show,
//! run as a user runs them against a fresh database per test: text and
//! JSON output, exit codes, the default selection, `[lint]`, the
//! `lint_ignore` header, the environment's timeouts and live table sizes.

mod common;
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::TestDb;
use support::{command, expect_code, finish, run, stderr, stdout, write_revision};

/// Two pending revisions: one creates `events` and indexes it at once
/// (not a hazard: the table is new), the other indexes the live `users`
/// table without CONCURRENTLY and drops it in its downgrade.
fn project(dir: &Path) {
    write_revision(
        dir,
        "a1",
        &[],
        "-- transactional: true",
        "CREATE TABLE events (id bigint, kind text);\nCREATE INDEX events_kind_idx ON events (kind);",
        Some("DROP TABLE events;"),
    );
    write_revision(
        dir,
        "b2",
        &["a1"],
        "-- transactional: false",
        "CREATE INDEX users_kind_idx ON users (kind);",
        Some("DROP INDEX CONCURRENTLY users_kind_idx;"),
    );
}

async fn with_users_table(db: &TestDb, rows: i64) {
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE users (id bigint, kind text);\n\
             INSERT INTO users SELECT g, 'k' || (g % 7) FROM generate_series(1, {rows}) g;\n\
             ANALYZE users;"
        ))
        .await
        .expect("users table");
}

/// A config file with `[lint]` and an environment `t` holding `env`.
fn config(dir: &Path, lint: &str, env: &str) -> std::path::PathBuf {
    let path = dir.join("retort.toml");
    let text = format!(
        "[environments.t]\nurl = \"postgres://unused@127.0.0.1:1/x\"\n{env}\n\n[lint]\n{lint}\n"
    );
    std::fs::write(&path, text).expect("config");
    path
}

fn with_config(db: &TestDb, migrations: &Path, config: &Path, args: &[&str]) -> Output {
    let mut cmd = command(db, migrations, &[]);
    cmd.arg("-c").arg(config).arg("-e").arg("t").args(args);
    finish(cmd.spawn().expect("retort starts"))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn hazards(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|s| s["hazards"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn lint_defaults_to_the_pending_plan_and_fails_on_a_hazard() {
    let db = TestDb::create().await;
    with_users_table(&db, 10).await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = run(&db, dir.path(), &["lint"]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("Linting the 2 pending revision(s) on"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    // Paths as the user reads them: relative to the working directory.
    let expected = "b2_rev.sql:6:1 require-concurrent-index-creation ";
    assert!(text.contains(expected), "{text}");
    assert!(
        text.contains("    warning · upgrade section · table users: 10 rows"),
        "{text}"
    );
    assert!(text.contains("    help: "), "{text}");
    assert!(
        text.contains("    safer: CREATE INDEX CONCURRENTLY")
            || text.contains("safer: CREATE INDEX concurrently"),
        "{text}"
    );
    assert!(
        text.contains("table events is created earlier in the plan"),
        "{text}"
    );
    // Downgrades are linted too: dropping events loses data.
    assert!(text.contains("ban-drop-table"), "{text}");

    // Once applied, nothing is pending: nothing to lint, exit 0.
    expect_code(&run(&db, dir.path(), &["upgrade", "head"]), 0);
    let out = run(&db, dir.path(), &["lint"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("Linting the 0 pending"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn lint_without_a_database_lints_everything_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = Command::new(support::BIN)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .args([
            "--migrations",
            ".",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/x",
        ])
        .arg("lint")
        .stdin(Stdio::null())
        .output()
        .expect("retort runs");
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("No database reachable (")
            && stderr(&out)
                .contains("linting all 2 revision(s), each on its own, without table sizes"),
        "{}",
        stderr(&out)
    );
    // Each on its own: events is created in the same section, so still new.
    assert!(
        stdout(&out).contains("./b2_rev.sql:6:1 require-concurrent-index-creation")
            || stdout(&out).contains("b2_rev.sql:6:1 require-concurrent-index-creation"),
        "{}",
        stdout(&out)
    );
    // --pending insists on the database.
    let out = Command::new(support::BIN)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .args([
            "--migrations",
            ".",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/x",
        ])
        .args(["lint", "--pending"])
        .stdin(Stdio::null())
        .output()
        .expect("retort runs");
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("FAILED: cannot connect to nobody@127.0.0.1:1/x"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn lint_json_lists_sections_and_hazards_with_their_weight() {
    let db = TestDb::create().await;
    with_users_table(&db, 10).await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = run(&db, dir.path(), &["--format", "json", "lint", "--all"]);
    expect_code(&out, 1);
    let report = json(&out);
    assert_eq!(report["linted"], "all");
    assert_eq!(report["fail_on"], "warning");
    let all = hazards(&report);
    let index = all
        .iter()
        .find(|h| h["rule"] == "require-concurrent-index-creation" && h["table"]["name"] == "users")
        .expect("the users index");
    assert_eq!(index["severity"], "warning");
    assert_eq!(index["line"], 6);
    assert_eq!(index["ignored"], false);
    assert_eq!(index["size"]["rows"], 10);
    assert!(index["size"]["bytes"].as_u64().unwrap() > 0);
    assert!(index["trace"].is_null());
    let drop = all
        .iter()
        .find(|h| h["rule"] == "ban-drop-table")
        .expect("drop");
    assert_eq!(drop["data_loss"], true);
    assert_eq!(drop["severity"], "error");
    assert!(report["failing"].as_u64().unwrap() >= 2);

    // Named revisions only.
    let out = run(&db, dir.path(), &["--format", "json", "lint", "a1"]);
    let report = json(&out);
    assert_eq!(report["linted"], "revisions");
    assert!(
        report["sections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["revision"] == "a1")
    );
}

#[tokio::test]
async fn lint_ignore_shows_the_hazard_as_ignored_and_passes() {
    let db = TestDb::create().await;
    with_users_table(&db, 10).await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "c3",
        &[],
        "-- transactional: false\n-- lock_timeout: 2s\n-- statement_timeout: 1min\n\
         -- lint_ignore: require-concurrent-index-creation",
        "CREATE INDEX users_kind_idx ON users (kind);",
        Some("DROP INDEX CONCURRENTLY IF EXISTS users_kind_idx;"),
    );
    let out = run(&db, dir.path(), &["lint"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("    ignored (lint_ignore; would be warning) · upgrade section"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("1 ignored"), "{}", stdout(&out));
}

#[tokio::test]
async fn an_unknown_rule_in_lint_ignore_is_an_input_error() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "d4",
        &[],
        "-- lint_ignore: require-concurent-index-creation",
        "SELECT 1;",
        None,
    );
    let out = run(&db, dir.path(), &["lint"]);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains(
            "d4_rev.sql:4: lint_ignore: unknown lint rule 'require-concurent-index-creation'"
        ),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn config_chooses_rules_failing_severity_and_the_environment_timeouts_apply() {
    let db = TestDb::create().await;
    with_users_table(&db, 10).await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let conf_dir = tempfile::tempdir().unwrap();

    // Without timeouts in the environment, the timeout rules fire.
    let conf = config(conf_dir.path(), "", "");
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    assert!(
        stdout(&out).contains("require-lock-timeout"),
        "{}",
        stdout(&out)
    );

    // The environment's timeouts satisfy them.
    let conf = config(
        conf_dir.path(),
        "",
        "lock_timeout = \"2s\"\nstatement_timeout = \"1min\"",
    );
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    assert!(
        !stdout(&out).contains("require-lock-timeout"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains("require-statement-timeout"),
        "{}",
        stdout(&out)
    );
    expect_code(&out, 1);

    // Failing only at error: warnings pass, the downgrade's data loss fails.
    let conf = config(
        conf_dir.path(),
        "fail_on = \"error\"",
        "lock_timeout = \"2s\"",
    );
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    expect_code(&out, 1);
    let conf = config(
        conf_dir.path(),
        "fail_on = \"error\"\ndisable = [\"ban-drop-table\"]",
        "lock_timeout = \"2s\"",
    );
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    expect_code(&out, 0);
    assert!(!stdout(&out).contains("ban-drop-table"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("require-concurrent-index-creation"),
        "{}",
        stdout(&out)
    );

    // An unknown rule in the config names the file, line and key.
    let conf = config(conf_dir.path(), "enable = [\"prefer-text\"]", "");
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("retort.toml:6: lint.enable: unknown lint rule 'prefer-text'"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn live_sizes_make_a_large_table_hazard_an_error() {
    let db = TestDb::create().await;
    with_users_table(&db, 5000).await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "e5",
        &[],
        "-- transactional: true\n-- lock_timeout: 2s\n-- statement_timeout: 1min",
        "ALTER TABLE users ALTER COLUMN id TYPE numeric;",
        None,
    );
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = config(
        conf_dir.path(),
        "large_table_rows = 1000\nfail_on = \"error\"",
        "",
    );
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    expect_code(&out, 1);
    assert!(
        stdout(&out).contains("    error · upgrade section · table users: 5.0 k rows, "),
        "{}",
        stdout(&out)
    );
    let conf = config(
        conf_dir.path(),
        "large_table_rows = 10000\nfail_on = \"error\"",
        "",
    );
    let out = with_config(&db, dir.path(), &conf, &["lint"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("    warning · upgrade section · table users: 5.0 k rows"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn dry_run_and_check_list_the_hazards_per_step() {
    let db = TestDb::create().await;
    with_users_table(&db, 10).await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());

    let out = run(&db, dir.path(), &["upgrade", "head", "--dry-run"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    let step2 = text.find("    2. ").expect("step 2");
    let index = text
        .find("require-concurrent-index-creation")
        .expect("the hazard");
    assert!(index > step2, "listed under its step:\n{text}");
    assert!(
        text.contains("       ") && text.contains("b2_rev.sql:6:1"),
        "{text}"
    );
    assert!(text.contains("  lint: "), "{text}");

    let out = run(
        &db,
        dir.path(),
        &["--format", "json", "upgrade", "head", "--dry-run"],
    );
    let plan = json(&out);
    let steps = plan["steps"].as_array().unwrap();
    let rules: Vec<&str> = steps[1]["lint"]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"require-concurrent-index-creation"),
        "{rules:?}"
    );
    let first: Vec<&serde_json::Value> = steps[0]["lint"]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(
        first
            .iter()
            .all(|h| h["severity"] == "info" || h["table"].is_null()),
        "{first:?}"
    );

    let out = run(&db, dir.path(), &["check"]);
    expect_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("2 revision(s) pending"), "{text}");
    assert!(
        text.contains("b2_rev.sql:6:1 require-concurrent-index-creation"),
        "{text}"
    );
    let out = run(&db, dir.path(), &["--format", "json", "check"]);
    let report = json(&out);
    assert!(
        report["pending"][1]["lint"]["hazards"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
    );

    // Downgrade plans are linted as well.
    expect_code(&run(&db, dir.path(), &["upgrade", "head"]), 0);
    let out = run(&db, dir.path(), &["downgrade", "base", "--dry-run"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("ban-drop-table"), "{}", stdout(&out));
    assert!(stdout(&out).contains("loses data"), "{}", stdout(&out));
}

#[tokio::test]
async fn table_sizes_come_from_the_catalog_in_one_query() {
    let db = TestDb::create().await;
    with_users_table(&db, 300).await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE SCHEMA app; CREATE TABLE app.t (id int); \
             CREATE TABLE \"Big\" (id int); INSERT INTO \"Big\" VALUES (1);",
        )
        .await
        .unwrap();
    let names: Vec<String> = ["users", "\"Big\"", "app.t", "missing", "other_db.app.t"]
        .iter()
        .map(|n| n.to_string())
        .collect();
    let sizes = retort::db::table_sizes::read_table_sizes(&client, &names)
        .await
        .expect("one catalog query, no error for missing or unaskable names");
    let found: Vec<&str> = sizes.keys().map(String::as_str).collect();
    assert_eq!(found, ["\"Big\"", "app.t", "users"]);
    assert_eq!(sizes["users"].rows, Some(300));
    assert!(sizes["users"].bytes >= 8192);
    // Never vacuumed or analyzed: no estimate yet, but the bytes are known.
    assert_eq!(sizes["app.t"].rows, None);
    assert!(sizes["\"Big\""].bytes > 0);
}
