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

/// Imports the case's fixture into a new directory and returns it.
fn import(
    db: &TestDb,
    case: &Case,
    work: &Path,
    extra: &[&str],
) -> (PathBuf, std::process::Output) {
    let into = work.join("migrations");
    let src = fixture(case.src);
    let src = src.to_str().expect("utf-8 path");
    let into_text = into.to_str().expect("utf-8 path");
    let mut args = vec!["import", "--from", case.kind, src, "--into", into_text];
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
