//! `retort rehearse` through the real binary on a real server: downgrades
//! that forget objects are named, a clean project passes, the live
//! database is untouched, failures name file and line, a refused CREATE
//! DATABASE, and the scratch database gone after SIGINT.

mod common;
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;

use common::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use retort::core::schema::Snapshot;
use retort::db::catalog::{ReadOptions, read_snapshot};
use support::{
    code, command, command_at, expect_code, run, scratch_name, stderr, stdout, write_revision,
};

async fn database_exists(db: &TestDb, name: &str) -> bool {
    support::database_exists(&db.client().await, name).await
}

/// The lines of `out`'s stdout that belong to the step of `revision`:
/// its heading and the indented lines after it.
fn step_block(out: &str, revision: &str) -> String {
    let heading = format!("-> {revision} (");
    let mut lines = out.lines().skip_while(|line| !line.contains(&heading));
    let Some(first) = lines.next() else {
        panic!("no step for {revision} in:\n{out}");
    };
    let rest = lines.take_while(|line| line.starts_with(' ') || line.starts_with("!!"));
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table, an enum, a sequence and a trigger function for the steps
/// below to change.
fn write_base(dir: &Path) {
    write_revision(
        dir,
        "a0",
        &[],
        "",
        "CREATE TYPE mood AS ENUM ('sad');\nCREATE SEQUENCE s1;\n\
         CREATE TABLE t (id int PRIMARY KEY, n int, m mood);\n\
         CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;",
        Some("DROP TABLE t;\nDROP SEQUENCE s1;\nDROP TYPE mood;\nDROP FUNCTION trg();"),
    );
}

/// Each upgrade can run twice (as a project whose up → base → up passes),
/// each downgrade forgets what its upgrade made.
const FORGETFUL: &[(&str, &str, &str)] = &[
    (
        "a1",
        "CREATE INDEX IF NOT EXISTS t_n_idx ON t (n);",
        "index t_n_idx: extra",
    ),
    (
        "a2",
        "ALTER TABLE t ALTER COLUMN n SET DEFAULT 7;",
        "column t.n: default none → 7",
    ),
    (
        "a3",
        "ALTER TABLE t DROP CONSTRAINT IF EXISTS t_n_check, ADD CONSTRAINT t_n_check CHECK (n > 0);",
        "constraint t.t_n_check: extra",
    ),
    (
        "a4",
        "COMMENT ON TABLE t IS 'things';",
        "table t: comment none → things",
    ),
    (
        "a5",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy';",
        "enum mood: values sad → sad, happy",
    ),
    (
        "a6",
        "ALTER SEQUENCE s1 INCREMENT BY 5;",
        "sequence s1: increment 1 → 5",
    ),
    (
        "a7",
        "CREATE OR REPLACE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();",
        "trigger t.t_trg: extra",
    ),
    (
        "a8",
        "DROP POLICY IF EXISTS t_pol ON t;\nCREATE POLICY t_pol ON t USING (true);",
        "policy t.t_pol: extra",
    ),
];

#[tokio::test]
async fn each_forgotten_object_is_named_with_exit_1() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let mut down = "a0";
    for (id, up, _) in FORGETFUL {
        write_revision(dir.path(), id, &[down], "", up, Some("SELECT 1;"));
        down = id;
    }
    let out = run(&db, dir.path(), &["rehearse", "--all"]);
    expect_code(&out, 1);
    let text = stdout(&out);
    assert!(step_block(&text, "a0").starts_with("REVERSIBLE "), "{text}");
    for (id, _, named) in FORGETFUL {
        let block = step_block(&text, id);
        assert!(block.starts_with("NOT REVERSIBLE "), "{block}");
        assert!(
            block.contains(named),
            "{id} should name `{named}`:\n{block}"
        );
    }
    assert!(
        text.contains("1 reversible, 0 irreversible, 8 not reversible, 0 failed"),
        "{text}"
    );
    assert!(!database_exists(&db, &scratch_name(&stderr(&out))).await);
}

#[tokio::test]
async fn json_names_the_verdict_and_the_objects() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let (id, up, _) = FORGETFUL[0];
    write_revision(dir.path(), id, &["a0"], "", up, Some("SELECT 1;"));
    let out = run(&db, dir.path(), &["--format", "json", "rehearse", "--all"]);
    expect_code(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["exit_code"], 1);
    let steps = json["steps"].as_array().expect("steps");
    assert_eq!(steps[0]["verdict"], "reversible");
    assert_eq!(steps[1]["verdict"], "downgrade_leaves_differences");
    let leaves = steps[1]["downgrade_leaves"].to_string();
    assert!(leaves.contains("t_n_idx"), "{leaves}");
}

async fn snapshot(db: &TestDb) -> Snapshot {
    let mut client = db.client().await;
    read_snapshot(&mut client, &ReadOptions::default())
        .await
        .expect("snapshot")
}

/// Everything `rehearse` could change on the live database: its schema,
/// its version table and its history.
async fn live_state(db: &TestDb) -> (Snapshot, Vec<String>, Vec<support::Row>) {
    let client = db.client().await;
    (
        snapshot(db).await,
        support::version_rows(&client).await,
        support::history(&client).await,
    )
}

#[tokio::test]
async fn a_clean_project_passes_and_the_live_database_is_untouched() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    write_revision(
        dir.path(),
        "b1",
        &["a0"],
        "",
        "ALTER TABLE t ADD COLUMN label text;\nCREATE INDEX t_label_idx ON t (label);",
        Some("DROP INDEX t_label_idx;\nALTER TABLE t DROP COLUMN label;"),
    );
    write_revision(
        dir.path(),
        "b2",
        &["b1"],
        "",
        "CREATE TABLE u (id int);",
        Some("DROP TABLE u;"),
    );
    expect_code(&run(&db, dir.path(), &["upgrade", "a0"]), 0);
    let before = live_state(&db).await;
    let out = run(&db, dir.path(), &["rehearse"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("No schema drift: "), "{text}");
    assert!(step_block(&text, "b1").starts_with("REVERSIBLE "), "{text}");
    assert!(step_block(&text, "b2").starts_with("REVERSIBLE "), "{text}");
    // ADD COLUMN on a table that existed before the step: ACCESS EXCLUSIVE.
    let b1 = step_block(&text, "b1");
    assert!(
        b1.contains("!!upgrade line") && b1.contains("ACCESS EXCLUSIVE on public.t"),
        "{b1}"
    );
    assert_eq!(live_state(&db).await, before, "the live database changed");
    assert_eq!(before.1, vec!["a0".to_string()]);
}

#[tokio::test]
async fn drift_on_the_live_database_is_said_first() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    db.client()
        .await
        .batch_execute("CREATE INDEX t_hand_idx ON t (n);")
        .await
        .expect("hand change");
    let out = run(&db, dir.path(), &["rehearse"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("SCHEMA DRIFT: "), "{text}");
    assert!(text.contains("index t_hand_idx:"), "{text}");
    assert!(text.contains("Nothing to rehearse"), "{text}");
}

#[tokio::test]
async fn a_failing_downgrade_is_exit_3_with_file_and_line() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    write_revision(
        dir.path(),
        "c1",
        &["a0"],
        "",
        "ALTER TABLE t ADD COLUMN c int;",
        Some("ALTER TABLE t DROP COLUMN no_such_column;"),
    );
    write_revision(
        dir.path(),
        "c2",
        &["c1"],
        "",
        "CREATE TABLE v (id int);",
        Some("DROP TABLE v;"),
    );
    let out = run(&db, dir.path(), &["rehearse", "--all"]);
    expect_code(&out, 3);
    let text = stdout(&out);
    let c1 = step_block(&text, "c1");
    assert!(c1.starts_with("FAILED "), "{c1}");
    assert!(c1.contains("the downgrade failed"), "{c1}");
    assert!(c1.contains("c1_rev.sql:9"), "{c1}");
    assert!(c1.contains("no_such_column"), "{c1}");
    // The downgrade ran in a transaction that was rolled back: the next
    // step starts where the upgrade left it, and is rehearsed.
    assert!(step_block(&text, "c2").starts_with("REVERSIBLE "), "{text}");
}

/// A login role without CREATEDB, dropped again by [`drop_role`].
async fn role_without_createdb(db: &TestDb, suffix: &str) -> (String, String) {
    let role = format!("retort_rehearse_{suffix}_{}", std::process::id());
    db.client()
        .await
        .batch_execute(&format!("CREATE ROLE {role} LOGIN NOCREATEDB"))
        .await
        .expect("role");
    let host_port = common::database_url()
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("host:port in DATABASE_URL")
        .to_string();
    let url = format!("postgres://{role}@{host_port}/{}", db.name);
    (role, url)
}

async fn drop_role(db: &TestDb, role: &str) {
    db.client()
        .await
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .expect("drop role");
}

#[tokio::test]
async fn a_rehearsal_server_refusing_create_database_is_exit_3() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let (role, refusing) = role_without_createdb(&db, "refused").await;
    let config = dir.path().join("retort.toml");
    let text = format!(
        "[environments.live]\nurl = \"{}\"\nrehearsal_url = \"{refusing}\"\n",
        db.conninfo()
    );
    std::fs::write(&config, text).expect("config");
    let out = support::finish(
        command(
            &db,
            dir.path(),
            &["-c", config.to_str().unwrap(), "-e", "live", "rehearse"],
        )
        .spawn()
        .expect("retort starts"),
    );
    drop_role(&db, &role).await;
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("cannot create a scratch database on"), "{err}");
    assert!(err.contains(&role), "{err}");
}

#[tokio::test]
async fn a_live_server_refusing_create_database_falls_back_to_a_private_cluster() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let (role, url) = role_without_createdb(&db, "private").await;
    let out = support::finish(
        command_at(&url, dir.path(), &["rehearse"])
            .spawn()
            .expect("retort starts"),
    );
    drop_role(&db, &role).await;
    let err = stderr(&out);
    if err.contains("no private cluster could be started") {
        // No server binaries on this machine: said, exit 3.
        expect_code(&out, 3);
        return;
    }
    expect_code(&out, 0);
    assert!(
        err.contains("may not create databases (no CREATEDB)"),
        "{err}"
    );
    let dir_line = err
        .lines()
        .find(|line| line.contains("rehearsing on a private PostgreSQL cluster in "))
        .unwrap_or_else(|| panic!("no cluster named in:\n{err}"));
    let cluster_dir = dir_line
        .split("cluster in ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("cluster directory");
    assert!(!Path::new(cluster_dir).exists(), "{cluster_dir} was left");
    assert!(step_block(&stdout(&out), "a0").starts_with("REVERSIBLE "));
}

#[tokio::test]
async fn sigint_drops_the_scratch_database() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_revision(dir.path(), "s1", &[], "", "SELECT pg_sleep(60);", Some(""));
    let mut child = command(&db, dir.path(), &["rehearse"])
        .spawn()
        .expect("retort starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let announced = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("scratch database"))
        .expect("the scratch database is announced");
    // Wait until the step runs, so the signal lands mid-statement.
    let _ = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("step 1/1"));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = support::finish(child);
    assert_eq!(code(&out), 130, "{}", rest.join("\n"));
    assert!(!database_exists(&db, &scratch_name(&announced)).await);
}

#[tokio::test]
async fn a_step_failing_on_the_copys_data_says_so() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    // The files insert a row with n NULL; the live database had it fixed by
    // hand, so SET NOT NULL passes there and fails on the copy.
    write_revision(
        dir.path(),
        "d1",
        &["a0"],
        "",
        "INSERT INTO t (id) VALUES (1);",
        Some("DELETE FROM t WHERE id = 1;"),
    );
    write_revision(
        dir.path(),
        "d2",
        &["d1"],
        "",
        "ALTER TABLE t ALTER COLUMN n SET NOT NULL;",
        Some("ALTER TABLE t ALTER COLUMN n DROP NOT NULL;"),
    );
    expect_code(&run(&db, dir.path(), &["upgrade", "d1"]), 0);
    db.client()
        .await
        .batch_execute("UPDATE t SET n = 1;")
        .await
        .expect("hand fix");
    let out = run(&db, dir.path(), &["rehearse"]);
    expect_code(&out, 3);
    let d2 = step_block(&stdout(&out), "d2");
    assert!(d2.starts_with("FAILED "), "{d2}");
    assert!(d2.contains("the upgrade failed"), "{d2}");
    assert!(d2.contains("d2_rev.sql:6"), "{d2}");
    assert!(d2.contains("contains null values"), "{d2}");
    assert!(d2.contains("not the live data"), "{d2}");
}

#[tokio::test]
async fn check_rehearse_rehearses_the_pending_steps() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let (id, up, named) = FORGETFUL[0];
    write_revision(dir.path(), id, &["a0"], "", up, Some("SELECT 1;"));
    expect_code(&run(&db, dir.path(), &["upgrade", "a0"]), 0);
    let out = run(&db, dir.path(), &["check", "--rehearse"]);
    expect_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("1 revision(s) pending"), "{text}");
    let block = step_block(&text, id);
    assert!(block.starts_with("NOT REVERSIBLE "), "{block}");
    assert!(block.contains(named), "{block}");
    // In JSON the rehearsal goes into check's document: one document.
    let out = run(
        &db,
        dir.path(),
        &["--format", "json", "check", "--rehearse"],
    );
    expect_code(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json["rehearsal"]["exit_code"], 1, "{json}");
    // Nothing pending: check passes, and so does the empty rehearsal.
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    expect_code(&run(&db, dir.path(), &["check", "--rehearse"]), 0);
}
