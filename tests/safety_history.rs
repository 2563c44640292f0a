//! The audit history, drift detection, a database Alembic also manages,
//! and protected environments, through the real binary.

mod common;
mod support;

use std::path::Path;

use common::TestDb;
use sha2::{Digest, Sha256};
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

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", stdout(out)))
}

#[tokio::test]
async fn every_step_is_logged_newest_first_with_checksums_and_who() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let empty = run(&db, dir.path(), &["log"]);
    expect_code(&empty, 0);
    assert!(
        stdout(&empty).starts_with("No history yet"),
        "{}",
        stdout(&empty)
    );

    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    expect_code(&run(&db, dir.path(), &["downgrade", "-1"]), 0);
    let admin = db.client().await;
    let db_user: String = admin
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);

    let log = run(&db, dir.path(), &["log"]);
    expect_code(&log, 0);
    let text = stdout(&log);
    let firsts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(firsts, ["#3", "#2", "#1"], "{text}");
    let newest = text.lines().next().unwrap();
    assert!(
        newest.contains(" downgrade ") && newest.contains(" b2 ") && newest.contains(" success "),
        "{newest}"
    );
    assert!(text.contains("heads b2 -> a1"), "{text}");
    assert!(text.contains(&format!("by db user {db_user}, ")), "{text}");

    let only_b2 = stdout(&run(&db, dir.path(), &["log", "-r", "b"]));
    assert_eq!(
        only_b2.lines().filter(|l| l.starts_with('#')).count(),
        2,
        "{only_b2}"
    );
    assert!(
        only_b2
            .lines()
            .filter(|l| l.starts_with('#'))
            .all(|l| l.contains(" b2 ")),
        "{only_b2}"
    );
    let one = stdout(&run(&db, dir.path(), &["log", "-n", "1"]));
    assert_eq!(
        one.lines().filter(|l| l.starts_with('#')).count(),
        1,
        "{one}"
    );

    let rows = json(&run(&db, dir.path(), &["--format", "json", "log"]));
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 3);
    let down = &rows[0];
    assert_eq!(down["direction"], "downgrade");
    assert_eq!(down["status"], "success");
    assert_eq!(down["revision"], "b2");
    assert_eq!(down["heads_before"], serde_json::json!(["b2"]));
    assert_eq!(down["heads_after"], serde_json::json!(["a1"]));
    let ran = hex::encode(Sha256::digest(b"DROP TABLE two;"));
    assert_eq!(
        down["sql_checksum"],
        ran.as_str(),
        "checksum of the SQL that ran"
    );
    assert_eq!(down["downgrade_checksum"], ran.as_str());
    assert_eq!(
        down["upgrade_checksum"],
        hex::encode(Sha256::digest(b"CREATE TABLE two (id int);")).as_str()
    );
    assert_eq!(down["db_user"], db_user.as_str());
    assert_eq!(down["retort_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        down["os_user"].is_string() && down["host"].is_string(),
        "{down}"
    );
    assert!(down["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(down["started_at"].as_str().unwrap().contains('T'));
    assert_eq!(rows[1]["run_id"], rows[2]["run_id"], "one run, one id");
    assert_ne!(rows[0]["run_id"], rows[1]["run_id"]);
    assert_eq!(rows[2]["step_index"], 0);
    assert_eq!(rows[1]["step_index"], 1);
}

#[tokio::test]
async fn a_changed_applied_file_is_drift_that_blocks_runs_until_accepted() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let admin = db.client().await;
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 0);
    assert!(
        stdout(&check).contains("verified: 2 applied revision(s)"),
        "{}",
        stdout(&check)
    );

    // Line endings and trailing blank lines are not drift.
    let a1 = dir.path().join("a1_rev.sql");
    let original = std::fs::read_to_string(&a1).unwrap();
    std::fs::write(&a1, original.replace('\n', "\r\n") + "\r\n\r\n").unwrap();
    expect_code(&run(&db, dir.path(), &["check"]), 0);

    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE one (id int, extra text);",
        Some("DROP TABLE one;"),
    );
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    let text = stdout(&check);
    assert!(
        text.contains("No new upgrade operations detected."),
        "{text}"
    );
    assert!(text.contains("DRIFT   changed file: a1"), "{text}");
    assert!(text.contains("the upgrade SQL of "), "{text}");
    assert!(text.contains("retort resolve --accept-drift a1"), "{text}");
    let verbose = run(&db, dir.path(), &["current", "-v"]);
    assert!(
        stdout(&verbose).contains("DRIFT   changed file: a1"),
        "{}",
        stdout(&verbose)
    );
    let report = json(&run(&db, dir.path(), &["--format", "json", "check"]));
    assert_eq!(report["drift"]["issues"][0]["kind"], "changed_file");
    assert_eq!(
        report["drift"]["issues"][0]["sections"],
        serde_json::json!(["upgrade"])
    );

    // Nothing runs on top of drift...
    write_revision(
        dir.path(),
        "c3",
        &["b2"],
        "",
        "CREATE TABLE three (id int);",
        Some("DROP TABLE three;"),
    );
    let refused = run(&db, dir.path(), &["upgrade", "heads"]);
    expect_code(&refused, 3);
    let err = stderr(&refused);
    assert!(
        err.contains("refusing to run: the revision files and the database disagree"),
        "{err}"
    );
    assert!(err.contains("pass --allow-drift"), "{err}");
    assert_eq!(version_rows(&admin).await, ["b2"]);
    assert!(!table_exists(&admin, "three").await);
    let dry = run(&db, dir.path(), &["upgrade", "heads", "--dry-run"]);
    expect_code(&dry, 0);
    assert!(
        stderr(&dry).contains("A real run would stop here"),
        "{}",
        stderr(&dry)
    );

    // ...until the change is accepted.
    let accepted = run(&db, dir.path(), &["resolve", "--accept-drift", "a1"]);
    expect_code(&accepted, 0);
    assert!(stdout(&accepted).contains("the current file of a1 is accepted as applied"));
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    assert!(!stdout(&check).contains("DRIFT"), "{}", stdout(&check));
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(version_rows(&admin).await, ["c3"]);

    // A changed downgrade section is drift too; --allow-drift runs anyway, saying so.
    write_revision(
        dir.path(),
        "b2",
        &["a1"],
        "",
        "CREATE TABLE two (id int);",
        Some("DROP TABLE two CASCADE;"),
    );
    expect_code(&run(&db, dir.path(), &["downgrade", "-1"]), 3);
    let forced = run(&db, dir.path(), &["downgrade", "-1", "--allow-drift"]);
    expect_code(&forced, 0);
    assert!(
        stderr(&forced)
            .contains("WARN  --allow-drift: running despite drift of b2: the downgrade SQL of"),
        "{}",
        stderr(&forced)
    );
    assert_eq!(version_rows(&admin).await, ["b2"]);
}

#[tokio::test]
async fn missing_files_and_unknown_rows_are_reported_with_a_way_out() {
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
        "z9",
        &[],
        "",
        "CREATE TABLE zed (id int);",
        Some("DROP TABLE zed;"),
    );
    let admin = db.client().await;
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(version_rows(&admin).await, ["a1", "z9"]);

    // z9 is rolled back outside retort and its file deleted.
    admin
        .batch_execute("DELETE FROM alembic_version WHERE version_num = 'z9'; DROP TABLE zed;")
        .await
        .unwrap();
    std::fs::remove_file(dir.path().join("z9_rev.sql")).unwrap();
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    let text = stdout(&check);
    assert!(text.contains("DRIFT   missing file: z9"), "{text}");
    assert!(text.contains("retort resolve --accept-drift z9"), "{text}");
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 3);
    let ack = run(&db, dir.path(), &["resolve", "z9", "--accept-drift"]);
    expect_code(&ack, 0);
    assert!(
        stdout(&ack).contains("the missing file of z9 is acknowledged"),
        "{}",
        stdout(&ack)
    );
    expect_code(&run(&db, dir.path(), &["check"]), 0);

    // A row no file defines.
    admin
        .batch_execute("INSERT INTO alembic_version VALUES ('deadbeef0000')")
        .await
        .unwrap();
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    let text = stdout(&check);
    assert!(text.contains("Cannot tell what is pending"), "{text}");
    assert!(
        text.contains("DRIFT   unknown revision in the version table: deadbeef0000"),
        "{text}"
    );
    assert!(text.contains("retort stamp --purge REV"), "{text}");
    let report = json(&run(&db, dir.path(), &["--format", "json", "check"]));
    assert!(report["pending"].is_null());
    assert_eq!(report["drift"]["issues"][0]["kind"], "unknown_row");
    let verbose = run(&db, dir.path(), &["current", "-v"]);
    expect_code(&verbose, 2);
    assert!(stdout(&verbose).contains("unknown revision in the version table"));
    let resolve = run(&db, dir.path(), &["resolve", "deadbeef", "--accept-drift"]);
    expect_code(&resolve, 2);
    assert!(
        stderr(&resolve).contains("stamp --purge"),
        "{}",
        stderr(&resolve)
    );
    expect_code(&run(&db, dir.path(), &["upgrade", "heads"]), 2);
    assert_eq!(version_rows(&admin).await, ["a1", "deadbeef0000"]);

    // stamp --purge is the way out, and is recorded.
    let stamped = run(&db, dir.path(), &["stamp", "--purge", "a1"]);
    expect_code(&stamped, 0);
    assert_eq!(version_rows(&admin).await, ["a1"]);
    let last = history(&admin).await.pop().unwrap();
    assert_eq!(
        (last.direction.as_str(), last.status.as_str()),
        ("stamp", "success")
    );
    assert_eq!(last.heads_before, ["a1", "deadbeef0000"]);
    assert_eq!(last.heads_after, ["a1"]);
    expect_code(&run(&db, dir.path(), &["check"]), 0);
}

/// Alembic's own statements, as recorded from Alembic 1.20.1 in the fixtures.
fn alembic_statements() -> (String, String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alembic/fixtures/stamp.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let script = fixture["outputs"]["stamp heads --sql"]["stdout"]
        .as_str()
        .unwrap()
        .to_string();
    let statement = |start: &str| {
        let from = script.find(start).expect("statement in the fixture");
        let len = script[from..].find(';').unwrap() + 1;
        script[from..from + len].to_string()
    };
    let create = statement("CREATE TABLE alembic_version");
    let insert = statement("INSERT INTO alembic_version").replace("'a2'", "'a1'");
    let update =
        "UPDATE alembic_version SET version_num='c3' WHERE alembic_version.version_num = 'b2';"
            .to_string();
    (create, insert, update)
}

async fn layout(client: &tokio_postgres::Client) -> Vec<String> {
    let mut facts = Vec::new();
    for row in client
        .query(
            "SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') \
             || ' nullable=' || is_nullable || ' default=' || coalesce(column_default, '') \
             FROM information_schema.columns WHERE table_name = 'alembic_version' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
    {
        facts.push(row.get::<_, String>(0));
    }
    for row in client
        .query(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = 'alembic_version'::regclass ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
    {
        facts.push(row.get::<_, String>(0));
    }
    for row in client
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'alembic_version' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
    {
        facts.push(row.get::<_, String>(0));
    }
    let triggers: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'alembic_version'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    facts.push(format!("triggers={triggers}"));
    facts
}

#[tokio::test]
async fn a_database_alembic_manages_keeps_its_version_table_untouched() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    write_revision(
        dir.path(),
        "c3",
        &["b2"],
        "",
        "CREATE TABLE three (id int);",
        Some("DROP TABLE three;"),
    );
    let admin = db.client().await;
    let (create, insert, update) = alembic_statements();
    admin.batch_execute(&create).await.unwrap();
    admin.batch_execute(&insert).await.unwrap();
    admin
        .batch_execute("CREATE TABLE one (id int)")
        .await
        .unwrap();
    let before = layout(&admin).await;
    assert_eq!(
        before,
        [
            "version_num character varying(32) nullable=NO default=",
            "alembic_version_pkc PRIMARY KEY (version_num)",
            "CREATE UNIQUE INDEX alembic_version_pkc ON public.alembic_version USING btree (version_num)",
            "triggers=0",
        ]
    );

    // Applied by Alembic: unverified, not drift.
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    let text = stdout(&check);
    assert!(text.contains("2 revision(s) pending"), "{text}");
    assert!(
        text.contains("unverified: 1 applied revision(s) have no recorded checksum"),
        "{text}"
    );
    assert!(!text.contains("DRIFT"), "{text}");

    expect_code(&run(&db, dir.path(), &["upgrade", "b2"]), 0);
    assert_eq!(version_rows(&admin).await, ["b2"]);
    assert_eq!(
        layout(&admin).await,
        before,
        "retort changed alembic_version's layout"
    );
    assert!(table_exists(&admin, "retort_history").await);
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 1);
    assert!(
        stdout(&check).contains("unverified: 1 applied revision(s)"),
        "{}",
        stdout(&check)
    );
    assert!(stdout(&check).contains(": a1\n"), "{}", stdout(&check));

    // Alembic carries on with its own statements, side by side with retort.
    admin
        .batch_execute("CREATE TABLE three (id int)")
        .await
        .unwrap();
    admin.batch_execute(&update).await.unwrap();
    assert_eq!(version_rows(&admin).await, ["c3"]);
    let check = run(&db, dir.path(), &["check"]);
    expect_code(&check, 0);
    expect_code(&run(&db, dir.path(), &["downgrade", "base"]), 0);
    assert_eq!(version_rows(&admin).await, Vec::<String>::new());
    assert_eq!(layout(&admin).await, before);
    assert!(!table_exists(&admin, "one").await && !table_exists(&admin, "three").await);
}

fn protected_config(db: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[environments.prod]\nurl = \"{0}\"\nprotected = true\n\n[environments.dev]\nurl = \"{0}\"\n",
        db.conninfo()
    );
    std::fs::write(dir.path().join("retort.toml"), text).unwrap();
    dir
}

#[tokio::test]
async fn protected_environments_need_their_name_typed_to_downgrade_or_stamp() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let config = protected_config(&db);
    let cfg = config.path().join("retort.toml");
    let cfg = cfg.to_str().unwrap();
    let admin = db.client().await;
    let prod = |args: &[&str]| {
        let mut all = vec!["-c", cfg, "-e", "prod"];
        all.extend_from_slice(args);
        run(&db, dir.path(), &all)
    };
    expect_code(&prod(&["upgrade", "heads"]), 0);

    let out = prod(&["downgrade", "base"]);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains(
            "environment 'prod' is protected: a downgrade needs confirmation; nothing was run. \
             To go ahead, run the same command again with --confirm prod"
        ),
        "{}",
        stderr(&out)
    );
    let wrong = prod(&["downgrade", "base", "--confirm", "prd"]);
    expect_code(&wrong, 2);
    assert!(
        stderr(&wrong).contains("type its name exactly: --confirm prod"),
        "{}",
        stderr(&wrong)
    );
    for (args, action) in [
        (&["stamp", "a1"][..], "a stamp needs"),
        (&["stamp", "--purge", "a1"], "a stamp --purge needs"),
        (&["stamp", "a1", "--purge"], "a stamp --purge needs"),
        (
            &["resolve", "b2", "--applied"],
            "a resolve --applied (it sets the version table) needs",
        ),
    ] {
        let out = prod(args);
        expect_code(&out, 2);
        assert!(stderr(&out).contains(action), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(version_rows(&admin).await, ["b2"], "nothing ran");
    assert_eq!(history(&admin).await.len(), 2);
    expect_code(&prod(&["downgrade", "base", "--dry-run"]), 0);

    expect_code(&prod(&["downgrade", "-1", "--confirm", "prod"]), 0);
    assert_eq!(version_rows(&admin).await, ["a1"]);
    expect_code(&prod(&["stamp", "--purge", "b2", "--confirm", "prod"]), 0);
    assert_eq!(version_rows(&admin).await, ["b2"]);
    // An unprotected environment asks nothing.
    let mut dev = vec!["-c", cfg, "-e", "dev", "stamp", "a1"];
    expect_code(&run(&db, dir.path(), &dev), 0);
    dev.truncate(4);
    dev.extend(["downgrade", "base"]);
    expect_code(&run(&db, dir.path(), &dev), 0);
    assert_eq!(version_rows(&admin).await, Vec::<String>::new());
}
