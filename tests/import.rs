//! `retort import` on small projects laid out as each tool writes them
//! (`tests/import/<kind>`): imported, loaded by `heads`, applied up, down
//! to base and up again on a real server with the same schema both times;
//! and a database each tool built adopted by `--stamp` and checked.

mod common;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::TestDb;
use retort::core::schema::Snapshot;
use retort::db::catalog::{ReadOptions, read_snapshot};
use support::{expect_code, run, stderr, stdout};

struct Case {
    kind: &'static str,
    /// The fixture directory, relative to `tests/import`.
    src: &'static str,
    /// The revision ids the import makes, in order.
    chain: &'static [&'static str],
    /// Creates the tool's version table recording the versions given.
    record: fn(&[&str]) -> String,
}

const SQLX: Case = Case {
    kind: "sqlx",
    src: "sqlx",
    chain: &["20240101000000", "20240102000000", "20240103000000"],
    record: |applied| {
        let mut sql = "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
             checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);"
            .to_string();
        for v in applied {
            sql += &format!(
                "INSERT INTO _sqlx_migrations VALUES ({v}, 'm', now(), true, '\\x00', 1);"
            );
        }
        sql
    },
};

const DIESEL: Case = Case {
    kind: "diesel",
    src: "diesel",
    chain: &[
        "00000000000000",
        "20240101000000",
        "20240102000000",
        "20240103000000",
    ],
    record: |applied| {
        let mut sql =
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                .to_string();
        for v in applied {
            sql += &format!("INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}');");
        }
        sql
    },
};

const DBMATE: Case = Case {
    kind: "dbmate",
    src: "dbmate/db/migrations",
    chain: &["20240101000000", "20240102000000", "20240103000000"],
    record: |applied| text_versions("schema_migrations", applied),
};

const GOLANG_MIGRATE: Case = Case {
    kind: "golang-migrate",
    src: "golang-migrate",
    chain: &["1", "2", "3", "10"],
    record: |applied| {
        format!(
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);\
             INSERT INTO schema_migrations VALUES ({}, false);",
            applied.last().expect("a version")
        )
    },
};

const POP: Case = Case {
    kind: "pop",
    src: "pop",
    chain: &["20240101000000", "20240102000000", "20240103000000"],
    record: |applied| text_versions("schema_migration", applied),
};

const FLYWAY: Case = Case {
    kind: "flyway",
    src: "flyway",
    chain: &["1", "1.2", "1.10"],
    record: |applied| {
        let mut sql =
            "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, \
             version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, \
             script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INT NOT NULL, \
             success BOOLEAN NOT NULL);"
                .to_string();
        for (rank, v) in applied.iter().enumerate() {
            sql += &format!(
                "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, \
                 installed_by, execution_time, success) VALUES ({}, '{v}', 'm', 'SQL', 's', 'me', 1, true);",
                rank + 1
            );
        }
        sql
    },
};

fn text_versions(table: &str, applied: &[&str]) -> String {
    let mut sql = format!("CREATE TABLE {table} (version varchar(128) PRIMARY KEY);");
    for v in applied {
        sql += &format!("INSERT INTO {table} (version) VALUES ('{v}');");
    }
    sql
}

fn fixture(src: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(src)
}

/// Every file below `dir` with its bytes, to show the source untouched.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

async fn schema(db: &TestDb) -> Snapshot {
    let mut client = db.client().await;
    let options = ReadOptions {
        exclude_tables: vec![
            "\"public\".\"alembic_version\"".into(),
            "\"public\".\"retort_history\"".into(),
        ],
        ..ReadOptions::default()
    };
    read_snapshot(&mut client, &options)
        .await
        .expect("snapshot")
}

fn import_args<'a>(kind: &'a str, src: &'a Path, into: &'a Path) -> Vec<&'a str> {
    let path = |p: &'a Path| p.to_str().expect("utf-8 path");
    vec!["import", "--from", kind, path(src), "--into", path(into)]
}

/// Imports the case's fixture into a new directory and returns it.
fn import(
    db: &TestDb,
    case: &Case,
    work: &Path,
    extra: &[&str],
) -> (PathBuf, std::process::Output) {
    let into = work.join("migrations");
    let src = fixture(case.src);
    let mut args = import_args(case.kind, &src, &into);
    args.extend(extra);
    let out = run(db, &into, &args);
    (into, out)
}

async fn round_trip(case: Case) {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let before = contents(&fixture(case.src));
    let empty = schema(&db).await;
    let (into, out) = import(&db, &case, work.path(), &[]);
    expect_code(&out, 0);
    assert_eq!(
        contents(&fixture(case.src)),
        before,
        "the source is never modified"
    );
    let heads = run(&db, &into, &["heads"]);
    expect_code(&heads, 0);
    let last = case.chain.last().expect("a chain");
    assert_eq!(stdout(&heads).trim(), format!("{last} (head)"));
    let history = run(&db, &into, &["history"]);
    let order: Vec<String> = stdout(&history)
        .lines()
        .filter_map(|l| l.split(" -> ").nth(1))
        .map(|rest| rest.split([' ', ',']).next().unwrap_or("").to_string())
        .collect();
    let mut newest_first: Vec<&str> = case.chain.to_vec();
    newest_first.reverse();
    assert_eq!(order, newest_first, "{}", stdout(&history));

    expect_code(&run(&db, &into, &["upgrade", "head"]), 0);
    let first = schema(&db).await;
    assert!(support::table_exists(&db.client().await, "users").await);
    expect_code(
        &run(&db, &into, &["diff", "--from", "migrations", "--to", "db"]),
        0,
    );
    expect_code(&run(&db, &into, &["downgrade", "base"]), 0);
    assert_eq!(
        schema(&db).await,
        empty,
        "base is as before the first upgrade"
    );
    expect_code(&run(&db, &into, &["upgrade", "head"]), 0);
    assert_eq!(
        schema(&db).await,
        first,
        "the same schema at head both times"
    );
}

/// A database the tool built up to the second-to-last version: its schema
/// made by the imported revisions, then retort's tables swapped for the
/// tool's record.
async fn adopt(case: Case) {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let (into, out) = import(&db, &case, work.path(), &[]);
    expect_code(&out, 0);
    let at = case.chain.len() - 2;
    let applied = &case.chain[..=at];
    expect_code(&run(&db, &into, &["upgrade", applied[at]]), 0);
    let client = db.client().await;
    client
        .batch_execute("DROP TABLE alembic_version; DROP TABLE retort_history;")
        .await
        .expect("forget retort's record");
    client
        .batch_execute(&(case.record)(applied))
        .await
        .expect("the tool's record");

    let again = tempfile::tempdir().expect("tempdir");
    let (into, out) = import(&db, &case, again.path(), &[]);
    expect_code(&out, 0);
    assert_eq!(
        stdout(&out).lines().last(),
        Some(
            format!(
                "retort --migrations {} stamp {}",
                into.display(),
                applied[at]
            )
            .as_str()
        ),
        "prints the stamp; stderr:\n{}",
        stderr(&out)
    );
    assert!(
        !support::table_exists(&client, "alembic_version").await,
        "printing stamps nothing"
    );

    let again = tempfile::tempdir().expect("tempdir");
    let (into, out) = import(&db, &case, again.path(), &["--stamp"]);
    expect_code(&out, 0);
    assert_eq!(support::version_rows(&client).await, [applied[at]]);
    let check = run(&db, &into, &["check"]);
    expect_code(&check, 1);
    assert!(
        stdout(&check).contains(case.chain[at + 1]),
        "{}",
        stdout(&check)
    );
    expect_code(&run(&db, &into, &["upgrade", "head"]), 0);
    expect_code(&run(&db, &into, &["check"]), 0);
}

#[tokio::test]
async fn sqlx_round_trip() {
    round_trip(SQLX).await;
}

#[tokio::test]
async fn diesel_round_trip() {
    round_trip(DIESEL).await;
}

#[tokio::test]
async fn dbmate_round_trip() {
    round_trip(DBMATE).await;
}

#[tokio::test]
async fn golang_migrate_round_trip() {
    round_trip(GOLANG_MIGRATE).await;
}

#[tokio::test]
async fn pop_round_trip() {
    round_trip(POP).await;
}

#[tokio::test]
async fn flyway_round_trip() {
    round_trip(FLYWAY).await;
}

#[tokio::test]
async fn sqlx_adopted() {
    adopt(SQLX).await;
}

#[tokio::test]
async fn diesel_adopted() {
    adopt(DIESEL).await;
}

#[tokio::test]
async fn dbmate_adopted() {
    adopt(DBMATE).await;
}

#[tokio::test]
async fn golang_migrate_adopted() {
    adopt(GOLANG_MIGRATE).await;
}

#[tokio::test]
async fn pop_adopted() {
    adopt(POP).await;
}

#[tokio::test]
async fn flyway_adopted() {
    adopt(FLYWAY).await;
}

/// Builds the case's schema with retort up to `version`, then swaps
/// retort's record for the tool's rows given by `record`.
async fn tool_built(db: &TestDb, case: &Case, work: &Path, version: &str, record: &str) {
    let (into, out) = import(db, case, work, &[]);
    expect_code(&out, 0);
    expect_code(&run(db, &into, &["upgrade", version]), 0);
    let sql = format!("DROP TABLE alembic_version; DROP TABLE retort_history; {record}");
    db.client()
        .await
        .batch_execute(&sql)
        .await
        .expect("the tool's record");
}

#[tokio::test]
async fn a_dirty_golang_migrate_record_is_refused_with_what_to_do() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let record = "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);\
                  INSERT INTO schema_migrations VALUES (3, true);";
    tool_built(&db, &GOLANG_MIGRATE, work.path(), "3", record).await;
    let again = tempfile::tempdir().expect("tempdir");
    let (_, out) = import(&db, &GOLANG_MIGRATE, again.path(), &["--stamp"]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("schema_migrations marks version 3 as dirty"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("`migrate force <version>`"),
        "{}",
        stderr(&out)
    );
    assert!(!support::table_exists(&db.client().await, "alembic_version").await);
}

#[tokio::test]
async fn a_failed_flyway_record_is_refused() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let record = (FLYWAY.record)(&["1"]) + "UPDATE flyway_schema_history SET success = false;";
    tool_built(&db, &FLYWAY, work.path(), "1", &record).await;
    let again = tempfile::tempdir().expect("tempdir");
    let (_, out) = import(&db, &FLYWAY, again.path(), &["--stamp"]);
    expect_code(&out, 3);
    assert!(stderr(&out).contains("as failed"), "{}", stderr(&out));
    assert!(stderr(&out).contains("`flyway repair`"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_schema_that_differs_from_its_record_is_not_stamped() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let record = (SQLX.record)(&SQLX.chain[..2]) + "DROP INDEX users_email_idx;";
    tool_built(&db, &SQLX, work.path(), SQLX.chain[1], &record).await;
    let again = tempfile::tempdir().expect("tempdir");
    let (_, out) = import(&db, &SQLX, again.path(), &["--stamp"]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("its schema differs"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("index users_email_idx: missing"),
        "{}",
        stdout(&out)
    );
    assert!(!support::table_exists(&db.client().await, "alembic_version").await);
}

#[tokio::test]
async fn a_database_without_the_tools_table_has_nothing_to_adopt() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let (_, out) = import(&db, &DBMATE, work.path(), &["--stamp"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("no schema_migrations table, nothing to adopt"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_non_empty_target_is_refused_unless_forced() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let into = work.path().join("migrations");
    std::fs::create_dir(&into).expect("mkdir");
    std::fs::write(into.join("notes.txt"), "keep me").expect("write");
    let (_, out) = import(&db, &SQLX, work.path(), &[]);
    expect_code(&out, 2);
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&into).expect("list").count(), 1);
    let (_, out) = import(&db, &SQLX, work.path(), &["--force"]);
    expect_code(&out, 0);
    assert_eq!(std::fs::read_dir(&into).expect("list").count(), 4);
    assert_eq!(
        std::fs::read_to_string(into.join("notes.txt")).expect("kept"),
        "keep me"
    );
}

#[tokio::test]
async fn repeatable_flyway_scripts_are_refused_by_name() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let src = work.path().join("flyway");
    std::fs::create_dir(&src).expect("mkdir");
    std::fs::write(src.join("V1__a.sql"), "CREATE TABLE a ();").expect("write");
    std::fs::write(
        src.join("R__views.sql"),
        "CREATE OR REPLACE VIEW v AS SELECT 1;",
    )
    .expect("write");
    let into = work.path().join("migrations");
    let args = import_args("flyway", &src, &into);
    let out = run(&db, &into, &args);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("R__views.sql: repeatable migrations"),
        "{}",
        stderr(&out)
    );
    assert!(!into.exists(), "nothing written");
}

/// A directory whose `alembic` runs, or why there is none: the one on
/// PATH, else one installed with pip into a virtualenv under the build
/// directory (kept for the next run).
fn alembic_bin_dir() -> Result<Option<PathBuf>, String> {
    let works = |program: &Path| {
        std::process::Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(Path::new("alembic")) {
        return Ok(None);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("alembic-venv");
    let bin = venv.join("bin");
    if !works(&bin.join("alembic")) {
        let made = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        if !made.success() {
            return Err("python3 -m venv failed".into());
        }
        let installed = std::process::Command::new(bin.join("pip"))
            .args(["install", "-q", "alembic"])
            .status()
            .map_err(|e| format!("pip install alembic: {e}"))?;
        if !installed.success() || !works(&bin.join("alembic")) {
            return Err("pip install alembic failed".into());
        }
    }
    Ok(Some(bin))
}

fn run_with_path(
    db: &TestDb,
    migrations: &Path,
    bin: &Option<PathBuf>,
    args: &[&str],
) -> std::process::Output {
    let mut command = support::command(db, migrations, args);
    if let Some(bin) = bin {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin.clone()];
        dirs.extend(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(dirs).expect("PATH"));
    }
    support::finish(command.spawn().expect("retort starts"))
}

#[tokio::test]
async fn alembic_round_trip_with_its_data_migration_marked() {
    let bin = match alembic_bin_dir() {
        Ok(bin) => bin,
        Err(reason) => {
            eprintln!("SKIPPED alembic_round_trip: Alembic is not available ({reason})");
            return;
        }
    };
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    let src = fixture("alembic");
    let before = contents(&src);
    let into = work.path().join("migrations");
    let args = import_args("alembic", &src, &into);
    let out = run_with_path(&db, &into, &bin, &args);
    expect_code(&out, 0);
    assert_eq!(contents(&src), before, "the source is never modified");
    assert!(
        stderr(&out).contains(
            "NOTE: versions/5e6f7a8b9c0d_backfill.py:16: the upgrade could not be printed"
        ),
        "{}",
        stderr(&out)
    );
    let heads = run(&db, &into, &["heads"]);
    assert_eq!(stdout(&heads).trim(), "5e6f7a8b9c0d (billing) (head)");
    let billing =
        std::fs::read_to_string(into.join("3c4d5e6f7a8b_billing_branch.sql")).expect("read");
    assert!(billing.contains("-- branch_labels: billing\n"), "{billing}");
    let merge = std::fs::read_to_string(into.join("4d5e6f7a8b9c_merge_billing.sql")).expect("read");
    assert!(
        merge.contains("-- down_revision: 2b3c4d5e6f7a, 3c4d5e6f7a8b\n"),
        "{merge}"
    );

    let empty = schema(&db).await;
    expect_code(&run(&db, &into, &["upgrade", "4d5e6f7a8b9c"]), 0);
    let first = schema(&db).await;
    for table in ["users", "invoices"] {
        assert!(
            support::table_exists(&db.client().await, table).await,
            "{table}"
        );
    }
    expect_code(&run(&db, &into, &["downgrade", "base"]), 0);
    assert_eq!(schema(&db).await, empty);
    expect_code(&run(&db, &into, &["upgrade", "4d5e6f7a8b9c"]), 0);
    assert_eq!(schema(&db).await, first, "the same schema both times");
    let marked = run(&db, &into, &["upgrade", "head"]);
    expect_code(&marked, 3);
    assert!(
        stderr(&marked).contains(
            "needs its upgrade converted by hand from versions/5e6f7a8b9c0d_backfill.py:16"
        ),
        "{}",
        stderr(&marked)
    );
}

#[tokio::test]
async fn a_flyway_baseline_counts_the_versions_before_it_as_applied() {
    let db = TestDb::create().await;
    let work = tempfile::tempdir().expect("tempdir");
    // Flyway's own rows: the schema it created (version 0), a baseline at 1,
    // then 1.2 applied by Flyway.
    let record = (FLYWAY.record)(&["0", "1", "1.2"])
        + "UPDATE flyway_schema_history SET type = 'SCHEMA' WHERE version = '0';\
           UPDATE flyway_schema_history SET type = 'BASELINE' WHERE version = '1';";
    tool_built(&db, &FLYWAY, work.path(), "1.2", &record).await;
    let again = tempfile::tempdir().expect("tempdir");
    let (_, out) = import(&db, &FLYWAY, again.path(), &["--stamp"]);
    expect_code(&out, 0);
    assert_eq!(support::version_rows(&db.client().await).await, ["1.2"]);
}
