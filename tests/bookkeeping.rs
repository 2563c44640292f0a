//! retort's own tables, whatever the session does to find tables and
//! whatever the database's encoding: a migration's `SET search_path` cannot
//! redirect the version and history rows, a wrong version table is named in
//! words, and failures are recorded in LATIN1 and SQL_ASCII databases with
//! non-ASCII paths, messages and SQL. Through the real binary.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::TestDb;
use retort::db::{HistoryTable, VersionTable};
use support::*;
use tokio_postgres::Client;

/// `other.alembic_version` and `other.retort_history`, as another
/// application using the same tool would have them, one row each.
async fn another_applications_tables(client: &Client) {
    let version = VersionTable::new(Some("other"), "alembic_version");
    let history = HistoryTable::beside(&version, "retort_history");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA other;\n{};\n{};\n\
             INSERT INTO other.alembic_version VALUES ('foreign1');\n\
             INSERT INTO other.retort_history (run_id, revision, direction, status, heads_before, \
             heads_after, planned_heads_after, retort_version, started_at, duration_ms) \
             VALUES ('theirs', 'foreign1', 'upgrade', 'success', '{{}}', '{{foreign1}}', \
             '{{foreign1}}', '0', now(), 1);",
            version.create_sql(),
            history.create_sql()
        ))
        .await
        .expect("set up the other application's tables");
}

async fn texts(client: &Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_migration_setting_search_path_cannot_redirect_the_bookkeeping() {
    let db = TestDb::create().await;
    let admin = db.client().await;
    another_applications_tables(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "SET search_path TO other, public;\nCREATE TABLE ours_a (id int);",
        Some("DROP TABLE other.ours_a;"),
    );
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "CREATE TABLE ours_b (id int);",
        Some("DROP TABLE other.ours_b;"),
    );

    let up = run(&db, dir.path(), &["upgrade", "head"]);
    expect_code(&up, 0);

    assert_eq!(
        texts(
            &admin,
            "SELECT version_num::text FROM public.alembic_version"
        )
        .await,
        ["b2"],
        "{}",
        stderr(&up)
    );
    assert_eq!(
        texts(
            &admin,
            "SELECT version_num::text FROM other.alembic_version"
        )
        .await,
        ["foreign1"],
        "the other application's version table is untouched"
    );
    assert_eq!(
        texts(&admin, "SELECT run_id FROM other.retort_history").await,
        ["theirs"],
        "the other application's history is untouched"
    );
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "success")
        ]
    );
    let current = run(&db, dir.path(), &["current"]);
    expect_code(&current, 0);
    assert!(stdout(&current).contains("b2"), "{}", stdout(&current));

    // And back down: the downgrade's own SET comes from the session again.
    let down = run(&db, dir.path(), &["downgrade", "base"]);
    expect_code(&down, 0);
    assert!(version_rows(&admin).await.is_empty());
    assert_eq!(
        texts(
            &admin,
            "SELECT version_num::text FROM other.alembic_version"
        )
        .await,
        ["foreign1"]
    );
}

#[tokio::test]
async fn no_schema_on_the_search_path_is_a_clear_error() {
    let db = TestDb::create().await;
    let admin = db.client().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET search_path = nowhere, \"also missing\"",
            db.name
        ))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_revision(dir.path(), "a1", &[], "", "SELECT 1;", None);

    for args in [&["current"][..], &["upgrade", "head"]] {
        let out = run(&db, dir.path(), args);
        let err = stderr(&out);
        assert_ne!(code(&out), 0, "{args:?}: {err}");
        assert!(
            err.contains("no schema on the search_path (nowhere, \"also missing\") exists"),
            "{args:?}: {err}"
        );
        assert!(err.contains("version_table_schema"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let tables: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "nothing was created");
}

#[tokio::test]
async fn a_version_table_of_the_wrong_shape_is_named_as_such() {
    let db = TestDb::create().await;
    let admin = db.client().await;
    let dir = tempfile::tempdir().unwrap();
    write_revision(dir.path(), "a1", &[], "", "CREATE TABLE t (id int);", None);
    let cases = [
        (
            "CREATE TABLE alembic_version (version_num integer PRIMARY KEY); \
             INSERT INTO alembic_version VALUES (7)",
            "alembic_version.version_num is integer, expected a text type",
            "DROP TABLE alembic_version",
        ),
        (
            "CREATE VIEW alembic_version AS SELECT 'a1'::varchar(32) AS version_num",
            "alembic_version is a view, expected a table",
            "DROP VIEW alembic_version",
        ),
        (
            "CREATE TABLE alembic_version (version text)",
            "alembic_version has no column version_num",
            "DROP TABLE alembic_version",
        ),
    ];
    for (setup, expected, cleanup) in cases {
        admin.batch_execute(setup).await.unwrap();
        for args in [&["current"][..], &["upgrade", "head"]] {
            let out = run(&db, dir.path(), args);
            let err = stderr(&out);
            assert_eq!(code(&out), 3, "{args:?}: {err}");
            assert!(err.contains(expected), "{args:?}: {err}");
            assert!(!err.contains("error deserializing"), "{err}");
        }
        assert!(!table_exists(&admin, "t").await, "nothing ran");
        admin.batch_execute(cleanup).await.unwrap();
    }
}

/// A database in `encoding`, dropped with the guard.
async fn database_in(encoding: &str) -> TestDb {
    let scratch = TestDb::create().await;
    let name = format!("{}_{}", scratch.name, encoding.to_lowercase());
    let admin = common::plain_client(&{
        let mut cfg = scratch.config();
        cfg.dbname("postgres");
        cfg
    })
    .await;
    admin
        .batch_execute(&format!(
            "CREATE DATABASE \"{name}\" ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C' \
             TEMPLATE template0"
        ))
        .await
        .unwrap_or_else(|e| panic!("create a {encoding} database: {e}"));
    TestDb { name }
}

/// A migrations directory whose path holds é (in LATIN1) and € (in no
/// single-byte encoding).
fn non_ascii_dir(root: &Path) -> PathBuf {
    let dir = root.join("migrations-é€");
    std::fs::create_dir(&dir).unwrap();
    dir
}

async fn failures_are_recorded_in(encoding: &str, euro_in_history: &str) {
    let db = database_in(encoding).await;
    let root = tempfile::tempdir().unwrap();
    let dir = non_ascii_dir(root.path());
    write_revision(
        &dir,
        "a1",
        &[],
        "",
        "CREATE TABLE t_café (id int);\nDO $$ BEGIN RAISE EXCEPTION 'échec voulu: %', 'ça'; END $$;",
        Some("DROP TABLE t_café;"),
    );

    // A transactional step fails and is rolled back: a failed row.
    let failed = run(&db, &dir, &["upgrade", "head"]);
    expect_code(&failed, 3);
    assert!(
        stderr(&failed).contains("échec voulu: ça"),
        "{}",
        stderr(&failed)
    );
    let admin = db.client().await;
    let rows = history(&admin).await;
    assert_eq!(rows.len(), 1, "{}", stderr(&failed));
    assert_eq!(rows[0].status, "failed");
    let error = rows[0].error.clone().unwrap();
    assert!(error.contains("échec voulu: ça"), "{error}");
    assert!(
        error.contains(&format!("migrations-é{euro_in_history}/a1_rev.sql:")),
        "{error}"
    );
    assert!(!table_exists(&admin, "t_café").await);

    // The same SQL without a transaction stops halfway: a partial row,
    // and the next run refuses instead of creating the table again.
    std::fs::remove_file(dir.join("a1_rev.sql")).unwrap();
    write_revision(
        &dir,
        "a1",
        &[],
        "-- transactional: false",
        "CREATE TABLE t_café (id int);\nDO $$ BEGIN RAISE EXCEPTION 'échec voulu: %', 'ça'; END $$;",
        Some("DROP TABLE t_café;"),
    );
    let partial = run(&db, &dir, &["upgrade", "head"]);
    expect_code(&partial, 3);
    let rows = history(&admin).await;
    assert_eq!(rows.len(), 2, "{}", stderr(&partial));
    assert_eq!(rows[1].status, "partial");
    assert_eq!(rows[1].statements_done, Some(1));
    assert_eq!(rows[1].statements_total, Some(2));
    let error = rows[1].error.clone().unwrap();
    assert!(error.contains("échec voulu: ça"), "{error}");
    assert!(error.contains(&format!("é{euro_in_history}")), "{error}");
    assert!(table_exists(&admin, "t_café").await);

    let again = run(&db, &dir, &["upgrade", "head"]);
    assert_ne!(code(&again), 0, "{}", stderr(&again));
    assert!(
        !stderr(&again).contains("already exists"),
        "the first statement ran again:\n{}",
        stderr(&again)
    );
    assert_eq!(history(&admin).await.len(), 2, "{}", stderr(&again));
    assert!(version_rows(&admin).await.is_empty());
}

#[tokio::test]
async fn a_latin1_database_records_failures_with_unstorable_characters_escaped() {
    failures_are_recorded_in("LATIN1", "<U+20AC>").await;
}

#[tokio::test]
async fn a_sql_ascii_database_records_failures_as_written() {
    failures_are_recorded_in("SQL_ASCII", "€").await;
}

/// A background retort whose stderr is read line by line as it comes.
struct Watched {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    fn spawn(mut cmd: std::process::Command) -> Watched {
        let mut child = cmd.spawn().expect("retort starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle` (failing the test after
    /// the run deadline, so a silent hang fails instead of hanging).
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(DEADLINE) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?}; stderr so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the exit; returns the output with all of stderr.
    fn finish(mut self) -> (Output, String) {
        let out = finish(self.child);
        self.seen.extend(self.lines.iter());
        (out, self.seen.join("\n"))
    }
}

/// A session holding `lock_sql` in an open transaction; its pid.
async fn holding(db: &TestDb, lock_sql: &str) -> (Client, i32) {
    let client = db.client().await;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute(&format!("BEGIN; {lock_sql}"))
        .await
        .unwrap_or_else(|e| panic!("{lock_sql}: {e}"));
    (client, pid)
}

fn two_steps(dir: &Path) {
    write_revision(dir, "a1", &[], "", "CREATE TABLE one (id int);", None);
    write_revision(dir, "b2", &["a1"], "", "CREATE TABLE two (id int);", None);
}

/// A config whose `ops` environment sets a short lock_timeout and one retry.
fn ops_config(db: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[environments.ops]\nurl = \"{}\"\nlock_timeout = \"1s\"\nlock_retries = 1\n\
         lock_retry_backoff = \"100ms\"\n",
        db.conninfo()
    );
    std::fs::write(dir.path().join("retort.toml"), text).unwrap();
    dir
}

#[tokio::test]
async fn current_shows_who_holds_the_version_table_while_it_waits() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_steps(dir.path());
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);
    let (locker, pid) = holding(&db, "LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE").await;

    let mut current = Watched::spawn(command(&db, dir.path(), &["current"]));
    let waiting = current.wait_for("WAIT  reading alembic_version is waiting");
    assert!(
        waiting.contains("for AccessShareLock on alembic_version"),
        "{waiting}"
    );
    let holder = current.wait_for("WAIT    pid");
    assert!(
        holder.starts_with(&format!("WAIT    pid {pid} (")),
        "{holder}"
    );
    assert!(
        holder.contains("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"),
        "{holder}"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();

    let (out, err) = current.finish();
    expect_code(&out, 0);
    assert!(stdout(&out).contains("a1"), "{}", stdout(&out));
    assert!(err.contains("stopped waiting after"), "{err}");
}

#[tokio::test]
async fn a_row_lock_on_the_version_table_does_not_stop_current() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_steps(dir.path());
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);
    let (_locker, _) = holding(&db, "SELECT * FROM alembic_version FOR UPDATE").await;
    let out = run(&db, dir.path(), &["current"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("a1"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("WAIT"), "{}", stderr(&out));
}

#[tokio::test]
async fn upgrade_on_a_locked_version_table_names_the_blocker_after_its_retries() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_steps(dir.path());
    let config = ops_config(&db);
    let cfg = config.path().join("retort.toml");
    let cfg = cfg.to_str().unwrap();
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);
    let (_locker, pid) = holding(&db, "LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE").await;

    let out = run(
        &db,
        dir.path(),
        &["-c", cfg, "-e", "ops", "upgrade", "head"],
    );
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("version table alembic_version: reading heads: "),
        "{err}"
    );
    assert!(err.contains("55P03"), "{err}");
    assert!(err.contains(&format!("blocked by pid {pid} (")), "{err}");
    assert!(
        err.contains("gave up after 2 attempts (lock_retries = 1)"),
        "{err}"
    );
    let admin = db.client().await;
    assert!(!table_exists(&admin, "two").await, "nothing ran");
}

#[tokio::test]
async fn a_row_lock_on_the_version_row_names_the_blocker_and_the_step_rolls_back() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_steps(dir.path());
    let config = ops_config(&db);
    let cfg = config.path().join("retort.toml");
    let cfg = cfg.to_str().unwrap();
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);
    let (locker, pid) = holding(&db, "SELECT * FROM alembic_version FOR UPDATE").await;

    let out = run(
        &db,
        dir.path(),
        &["-c", cfg, "-e", "ops", "upgrade", "head"],
    );
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("version table alembic_version: updating a version"),
        "{err}"
    );
    assert!(err.contains(&format!("blocked by pid {pid} (")), "{err}");
    assert!(
        err.contains("SELECT * FROM alembic_version FOR UPDATE"),
        "{err}"
    );
    // lock_retries applies to the version write as to the step's SQL.
    assert!(
        err.contains("WARN  retrying in") && err.contains("(attempt 2 of 2)"),
        "{err}"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();
    let admin = db.client().await;
    assert!(
        !table_exists(&admin, "two").await,
        "the step was rolled back"
    );
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert_eq!(
        history_summary(&admin).await.last(),
        Some(&triple("b2", "upgrade", "failed"))
    );
}

#[tokio::test]
async fn the_history_table_locked_names_its_blocker_and_a_row_lock_there_blocks_nothing() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_steps(dir.path());
    let config = ops_config(&db);
    let cfg = config.path().join("retort.toml");
    let cfg = cfg.to_str().unwrap();
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);

    let (locker, pid) = holding(&db, "LOCK TABLE retort_history IN ACCESS EXCLUSIVE MODE").await;
    let out = run(
        &db,
        dir.path(),
        &["-c", cfg, "-e", "ops", "upgrade", "head"],
    );
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("history table retort_history: "), "{err}");
    assert!(err.contains(&format!("blocked by pid {pid} (")), "{err}");
    assert!(
        err.contains("gave up after 2 attempts (lock_retries = 1)"),
        "{err}"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();

    // Rows are only ever added to the history: a row lock there is no wait.
    let (_row_locker, _) = holding(&db, "SELECT * FROM retort_history FOR UPDATE").await;
    let out = run(
        &db,
        dir.path(),
        &["-c", cfg, "-e", "ops", "upgrade", "head"],
    );
    expect_code(&out, 0);
    let admin = db.client().await;
    assert_eq!(version_rows(&admin).await, ["b2"]);
}

#[tokio::test]
async fn upgrade_shows_who_holds_the_version_table_while_it_waits_and_then_runs() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_steps(dir.path());
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);
    let (locker, pid) = holding(&db, "LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE").await;

    // No lock_timeout: the run waits, and says who it waits for.
    let mut upgrade = Watched::spawn(command(&db, dir.path(), &["upgrade", "head"]));
    upgrade.wait_for("WAIT  reading alembic_version is waiting");
    let holder = upgrade.wait_for("WAIT    pid");
    assert!(
        holder.starts_with(&format!("WAIT    pid {pid} (")),
        "{holder}"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();

    let (out, err) = upgrade.finish();
    expect_code(&out, 0);
    assert!(err.contains("stopped waiting after"), "{err}");
    let admin = db.client().await;
    assert_eq!(version_rows(&admin).await, ["b2"]);
}
