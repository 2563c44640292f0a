//! Locks held by others, against the real server: a second session holds
//! `LOCK TABLE ... IN ACCESS EXCLUSIVE MODE` in an open transaction while
//! retort's step alters the table. Checks what the run reports while it
//! waits, the lock-timeout error naming the blocker, per-revision timeouts,
//! retries, and that the database afterwards matches what was reported.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestDb;
use retort::core::graph::RevisionMap;
use retort::core::plan::{Direction, Plan, Step, StepKind, VersionOp};
use retort::core::revision::{Revision, SqlSection};
use retort::db::events::Aftermath;
use retort::db::{
    ExecError, ExecEvent, ExecOptions, LockRetry, MigrationConnection, SessionSettings,
    StatementError, VersionTable, connect, execute_plan,
};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_postgres::Client;

const BLOCKER_APP: &str = "test blocker";

fn revision(id: &str, downs: &[&str], upgrade: &str) -> Revision {
    let mut rev = Revision::synthetic(id, downs);
    rev.path = PathBuf::from(format!("migrations/{id}.sql"));
    rev.upgrade = SqlSection {
        sql: upgrade.to_string(),
        first_line: 5,
    };
    rev
}

/// Upgrades through `ids` in order, from base.
fn upgrade_plan(ids: &[&str]) -> Plan {
    let mut steps = Vec::new();
    let mut previous: Option<&str> = None;
    for id in ids {
        let op = match previous {
            None => VersionOp::Insert {
                version: id.to_string(),
            },
            Some(from) => VersionOp::Update {
                from: from.to_string(),
                to: id.to_string(),
            },
        };
        steps.push(Step {
            kind: StepKind::Migrate,
            direction: Direction::Upgrade,
            revision: id.to_string(),
            from_revisions: previous.iter().map(|s| s.to_string()).collect(),
            to_revisions: vec![id.to_string()],
            version_ops: vec![op],
        });
        previous = Some(id);
    }
    Plan {
        steps,
        heads_before: Vec::new(),
        heads_after: previous.iter().map(|s| s.to_string()).collect(),
        purge: false,
    }
}

async fn migration_session(db: &TestDb, lock_timeout: Option<&str>) -> MigrationConnection {
    let settings = SessionSettings {
        lock_timeout: lock_timeout.map(str::to_string),
        ..SessionSettings::default()
    };
    connect(&db.config(), &settings)
        .await
        .expect("connect the migration session")
}

/// A session that takes `table`'s strongest lock and sits idle in its
/// transaction; returns it with its backend pid.
async fn hold_lock(db: &TestDb, table: &str) -> (Client, i32) {
    let mut cfg = db.config();
    cfg.application_name(BLOCKER_APP);
    let client = common::plain_client(&cfg).await;
    // The pid first, so that the lock is the session's last query.
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;"
        ))
        .await
        .expect("take the lock");
    (client, pid)
}

async fn create_table(db: &TestDb, sql: &str) {
    db.client().await.batch_execute(sql).await.expect("setup");
}

async fn column_exists(db: &TestDb, table: &str, column: &str) -> bool {
    db.client()
        .await
        .query_one(
            "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
            &[&table, &column],
        )
        .await
        .unwrap()
        .get(0)
}

async fn heads(db: &TestDb) -> Vec<String> {
    VersionTable::default()
        .read_heads(&db.client().await)
        .await
        .unwrap()
}

fn statement_error(result: Result<retort::db::ExecSummary, ExecError>) -> Box<StatementError> {
    match result {
        Err(ExecError::Statement(failure)) => failure,
        other => panic!("expected a statement failure, got {other:?}"),
    }
}

fn collect(mut events: UnboundedReceiver<ExecEvent>) -> Vec<ExecEvent> {
    let mut all = Vec::new();
    while let Ok(event) = events.try_recv() {
        all.push(event);
    }
    all
}

#[tokio::test]
async fn a_lock_timeout_names_the_session_holding_the_lock() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (blocker, blocker_pid) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("1s")).await;
    let map = RevisionMap::build(vec![revision(
        "a1",
        &[],
        "ALTER TABLE accounts ADD COLUMN balance int;",
    )])
    .unwrap();
    let (sink, events) = unbounded_channel();
    let opts = ExecOptions::new(VersionTable::default());

    let started = Instant::now();
    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &sink).await;
    let elapsed = started.elapsed();

    let failure = statement_error(result);
    assert_eq!(failure.code.as_deref(), Some("55P03"), "{failure}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    assert_eq!(failure.attempts, 1);
    let named: Vec<i32> = failure.blocked_by.iter().map(|b| b.pid).collect();
    assert_eq!(named, vec![blocker_pid], "{failure}");
    let seen = &failure.blocked_by[0];
    assert_eq!(seen.application.as_deref(), Some(BLOCKER_APP));
    assert_eq!(seen.state.as_deref(), Some("idle in transaction"));
    assert!(seen.idle_in_transaction.is_some(), "{seen:?}");
    assert!(
        seen.query
            .as_deref()
            .is_some_and(|q| q.contains("LOCK TABLE accounts")),
        "{seen:?}"
    );
    let shown = failure.to_string();
    assert!(
        shown.starts_with(
            "migrations/a1.sql:5:1: ERROR 55P03: canceling statement due to lock timeout"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("\n  blocked by pid {blocker_pid} (user ")),
        "{shown}"
    );
    assert!(shown.contains("idle in transaction for "), "{shown}");

    // While it waited, the run said who blocked it and what it waited for.
    let events = collect(events);
    let blocked: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Blocked {
                step_index,
                waiting_for,
                blockers,
                ..
            } => Some((*step_index, waiting_for.clone(), blockers.clone())),
            _ => None,
        })
        .collect();
    assert!(!blocked.is_empty(), "{events:?}");
    let (step_index, waiting_for, blockers) = &blocked[0];
    assert_eq!(*step_index, 0);
    assert_eq!(
        waiting_for.as_deref(),
        Some("AccessExclusiveLock on accounts")
    );
    assert_eq!(blockers[0].pid, blocker_pid);
    let unblocked = events
        .iter()
        .position(|e| matches!(e, ExecEvent::Unblocked { step_index: 0, .. }));
    let failed = events
        .iter()
        .position(|e| matches!(e, ExecEvent::StepFailed { .. }));
    assert!(unblocked.is_some() && unblocked < failed, "{events:?}");

    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert!(!column_exists(&db, "accounts", "balance").await);
    assert_eq!(heads(&db).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_revision_header_sets_the_lock_timeout_for_its_own_sql_only() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (_blocker, blocker_pid) = hold_lock(&db, "accounts").await;
    // The environment waits forever; the revision says one second.
    let mut conn = migration_session(&db, None).await;
    let mut rev = revision("a1", &[], "ALTER TABLE accounts ADD COLUMN balance int;");
    rev.lock_timeout = Some("1s".into());
    let map = RevisionMap::build(vec![rev]).unwrap();
    let opts = ExecOptions::new(VersionTable::default());

    let result = tokio::time::timeout(
        Duration::from_secs(20),
        execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &|_| {}),
    )
    .await
    .expect("the revision's lock_timeout must end the wait");

    let failure = statement_error(result);
    assert_eq!(failure.code.as_deref(), Some("55P03"), "{failure}");
    assert_eq!(failure.blocked_by[0].pid, blocker_pid);
    let setting: String = conn
        .client()
        .query_one("SHOW lock_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(setting, "0", "the override ended with the step");
}

#[tokio::test]
async fn a_non_transactional_revision_restores_the_session_settings() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (_blocker, _) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("7s")).await;
    let mut rev = revision(
        "a1",
        &[],
        "CREATE TABLE other (id int);\nALTER TABLE accounts ADD COLUMN balance int;",
    );
    rev.transactional = false;
    rev.lock_timeout = Some("500ms".into());
    rev.statement_timeout = Some("1min".into());
    let map = RevisionMap::build(vec![rev]).unwrap();
    let opts = ExecOptions::new(VersionTable::default());

    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &|_| {}).await;

    let failure = statement_error(result);
    assert_eq!(failure.code.as_deref(), Some("55P03"), "{failure}");
    assert_eq!(
        failure.aftermath,
        Aftermath::PartiallyApplied { statements_done: 1 }
    );
    let client = conn.client();
    let lock: String = client
        .query_one("SHOW lock_timeout", &[])
        .await
        .unwrap()
        .get(0);
    let statement: String = client
        .query_one("SHOW statement_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!((lock.as_str(), statement.as_str()), ("7s", "0"));
}

#[tokio::test]
async fn a_statement_timeout_override_does_not_leak_into_the_next_step_of_an_atomic_plan() {
    let db = TestDb::create().await;
    let mut conn = migration_session(&db, None).await;
    let mut quick = revision("a1", &[], "CREATE TABLE first (id int);");
    quick.statement_timeout = Some("300ms".into());
    let slow = revision(
        "b2",
        &["a1"],
        "SELECT pg_sleep(0.6);\nCREATE TABLE second (id int);",
    );
    let map = RevisionMap::build(vec![quick, slow]).unwrap();
    let mut opts = ExecOptions::new(VersionTable::default());
    opts.atomic = true;

    let summary = execute_plan(
        &mut conn,
        &map,
        &upgrade_plan(&["a1", "b2"]),
        &opts,
        &|_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.steps_done, 2);
    assert_eq!(heads(&db).await, vec!["b2".to_string()]);

    // And the override does bite its own revision's SQL.
    let db = TestDb::create().await;
    let mut conn = migration_session(&db, None).await;
    let mut sleepy = revision("a1", &[], "SELECT pg_sleep(2);");
    sleepy.statement_timeout = Some("200ms".into());
    let map = RevisionMap::build(vec![sleepy]).unwrap();
    let opts = ExecOptions::new(VersionTable::default());
    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &|_| {}).await;
    let failure = statement_error(result);
    assert_eq!(failure.code.as_deref(), Some("57014"), "{failure}");
    assert!(failure.message.contains("statement timeout"), "{failure}");
}

#[tokio::test]
async fn a_step_is_retried_once_the_blocker_lets_go() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (blocker, blocker_pid) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("500ms")).await;
    let map = RevisionMap::build(vec![
        revision("a1", &[], "CREATE TABLE audit (id int);"),
        revision(
            "b2",
            &["a1"],
            "ALTER TABLE accounts ADD COLUMN balance int;",
        ),
    ])
    .unwrap();
    let mut opts = ExecOptions::new(VersionTable::default());
    opts.lock_retry = LockRetry {
        retries: 3,
        backoff: Duration::from_millis(200),
    };
    let (sink, mut events) = unbounded_channel();
    // The blocker commits as soon as the first retry is announced.
    let releaser = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(event) = events.recv().await {
            if matches!(event, ExecEvent::StepRetrying { .. }) {
                blocker.batch_execute("COMMIT").await.expect("release");
            }
            seen.push(event);
        }
        seen
    });

    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1", "b2"]), &opts, &sink).await;
    drop(sink);
    let events = releaser.await.expect("releaser task");

    let summary = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.steps_done, 2);
    let retries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::StepRetrying {
                index,
                attempt,
                attempts,
                delay,
                error,
            } => Some((*index, *attempt, *attempts, *delay, error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 1, "{events:?}");
    let (index, attempt, attempts, delay, error) = &retries[0];
    assert_eq!((*index, *attempt, *attempts), (1, 2, 4));
    assert_eq!(*delay, Duration::from_millis(200));
    assert_eq!(error.sqlstate(), Some("55P03"));
    assert!(
        error
            .to_string()
            .contains(&format!("blocked by pid {blocker_pid}"))
    );
    // The first step ran once; the second ran its statement twice.
    let statements: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Statement { step_index, .. } => Some(*step_index),
            _ => None,
        })
        .collect();
    assert_eq!(statements, vec![0, 1, 1]);
    assert!(column_exists(&db, "accounts", "balance").await);
    assert_eq!(heads(&db).await, vec!["b2".to_string()]);
}

#[tokio::test]
async fn when_retries_run_out_the_error_names_the_blocker_and_the_step_is_undone() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (blocker, blocker_pid) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("300ms")).await;
    let map = RevisionMap::build(vec![
        revision("a1", &[], "CREATE TABLE audit (id int);"),
        revision(
            "b2",
            &["a1"],
            "CREATE TABLE inside_b2 (id int);\nALTER TABLE accounts ADD COLUMN balance int;",
        ),
    ])
    .unwrap();
    let mut opts = ExecOptions::new(VersionTable::default());
    opts.lock_retry = LockRetry {
        retries: 2,
        backoff: Duration::from_millis(100),
    };
    let (sink, events) = unbounded_channel();

    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1", "b2"]), &opts, &sink).await;

    let failure = statement_error(result);
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.aftermath, Aftermath::StepRolledBack);
    assert_eq!(failure.blocked_by[0].pid, blocker_pid);
    let shown = failure.to_string();
    assert!(
        shown.contains("gave up after 3 attempts (lock_retries = 2)"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("blocked by pid {blocker_pid}")),
        "{shown}"
    );
    let delays: Vec<Duration> = collect(events)
        .iter()
        .filter_map(|e| match e {
            ExecEvent::StepRetrying { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        vec![Duration::from_millis(100), Duration::from_millis(200)]
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();
    // The first step stays; nothing of the second does.
    assert_eq!(heads(&db).await, vec!["a1".to_string()]);
    let client = db.client().await;
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables, vec!["accounts", "alembic_version", "audit"]);
    assert!(!column_exists(&db, "accounts", "balance").await);
}

#[tokio::test]
async fn a_non_transactional_revision_is_retried_only_while_nothing_of_it_ran() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (blocker, _) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("300ms")).await;
    let mut first = revision(
        "a1",
        &[],
        "ALTER TABLE accounts ADD COLUMN balance int;\nCREATE TABLE after_alter (id int);",
    );
    first.transactional = false;
    let map = RevisionMap::build(vec![first]).unwrap();
    let mut opts = ExecOptions::new(VersionTable::default());
    opts.lock_retry = LockRetry {
        retries: 2,
        backoff: Duration::from_millis(100),
    };
    let (sink, mut events) = unbounded_channel();
    let releaser = tokio::spawn(async move {
        let mut retries = 0;
        while let Some(event) = events.recv().await {
            if matches!(event, ExecEvent::StepRetrying { .. }) {
                retries += 1;
                blocker.batch_execute("COMMIT").await.expect("release");
            }
        }
        retries
    });
    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &sink).await;
    drop(sink);
    assert_eq!(releaser.await.expect("releaser"), 1);
    result.unwrap_or_else(|e| panic!("{e}"));
    assert!(column_exists(&db, "accounts", "balance").await);
    assert_eq!(heads(&db).await, vec!["a1".to_string()]);

    // Blocked at its second statement, the first stays applied: no retry.
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (_blocker, _) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("300ms")).await;
    let mut second = revision(
        "a1",
        &[],
        "CREATE TABLE before_alter (id int);\nALTER TABLE accounts ADD COLUMN balance int;",
    );
    second.transactional = false;
    let map = RevisionMap::build(vec![second]).unwrap();
    let (sink, events) = unbounded_channel();
    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &sink).await;
    let failure = statement_error(result);
    assert_eq!(failure.attempts, 1);
    assert_eq!(
        failure.aftermath,
        Aftermath::PartiallyApplied { statements_done: 1 }
    );
    let retried = collect(events)
        .iter()
        .any(|e| matches!(e, ExecEvent::StepRetrying { .. }));
    assert!(!retried);
    assert_eq!(heads(&db).await, Vec::<String>::new());
}

#[tokio::test]
async fn cancelling_during_a_retry_wait_stops_at_once() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (_blocker, _) = hold_lock(&db, "accounts").await;
    let mut conn = migration_session(&db, Some("200ms")).await;
    let map = RevisionMap::build(vec![revision(
        "a1",
        &[],
        "ALTER TABLE accounts ADD COLUMN balance int;",
    )])
    .unwrap();
    let mut opts = ExecOptions::new(VersionTable::default());
    opts.lock_retry = LockRetry {
        retries: 5,
        backoff: Duration::from_secs(60),
    };
    let handle = conn.cancel_handle();
    let sink = move |event: ExecEvent| {
        if matches!(event, ExecEvent::StepRetrying { .. }) {
            let handle = handle.clone();
            tokio::spawn(async move { handle.cancel().await });
        }
    };
    let started = Instant::now();
    let result = execute_plan(&mut conn, &map, &upgrade_plan(&["a1"]), &opts, &sink).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let error = result.expect_err("cancelled");
    assert!(error.is_cancelled(), "{error}");
    assert!(error.to_string().contains("rolled back"), "{error}");
    assert_eq!(heads(&db).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_command_line_reports_the_wait_the_retries_and_the_blocker() {
    let db = TestDb::create().await;
    create_table(&db, "CREATE TABLE accounts (id int)").await;
    let (blocker, blocker_pid) = hold_lock(&db, "accounts").await;
    let project = tempfile::tempdir().expect("temp dir");
    let migrations = project.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(
        migrations.join("a1_add_balance.sql"),
        "-- revision: a1\n-- down_revision:\n-- message: add balance\n-- lock_timeout: 700ms\n\n\
         -- migrate:upgrade\nALTER TABLE accounts ADD COLUMN balance int;\n",
    )
    .unwrap();
    write_config(
        project.path(),
        &db,
        "lock_retries = 1\nlock_retry_backoff = \"100ms\"",
    );

    let out = Command::new(env!("CARGO_BIN_EXE_retort"))
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .args(["upgrade", "head"])
        .output()
        .expect("retort runs");

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("WAIT  step 1 is waiting for AccessExclusiveLock on accounts, held by:"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("WAIT    pid {blocker_pid} (user ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("WARN  retrying in 100.0 ms (attempt 2 of 2)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("gave up after 2 attempts (lock_retries = 1)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("blocked by pid {blocker_pid}")),
        "{stderr}"
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert!(!column_exists(&db, "accounts", "balance").await);
}

fn write_config(dir: &Path, db: &TestDb, extra: &str) {
    let text = format!(
        "[environments.test]\nurl = \"{}\"\n{extra}\n",
        db.conninfo().replace('\\', "\\\\").replace('"', "\\\"")
    );
    std::fs::write(dir.join("retort.toml"), text).expect("write retort.toml");
}
