//! The database layer against a real PostgreSQL: each test in its own database.
//! Plans are built by hand (Step lists with their version ops), so these tests
//! exercise execution only, not planning.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestDb;
use retort::core::graph::RevisionMap;
use retort::core::plan::{Direction, Plan, Step, StepKind, VersionOp};
use retort::core::revision::{Revision, SqlSection};
use retort::db::events::Aftermath;
use retort::db::{
    ExecError, ExecEvent, ExecOptions, MigrationConnection, SessionSettings, VersionTable,
    build_pool, connect, execute_plan,
};
use tokio_postgres::Client;

const UPGRADE_LINE: usize = 10;
const DOWNGRADE_LINE: usize = 30;

fn revision(id: &str, downs: &[&str], upgrade: &str, downgrade: Option<&str>) -> Revision {
    let mut rev = Revision::synthetic(id, downs);
    rev.path = PathBuf::from(format!("migrations/{id}_test.sql"));
    rev.upgrade = SqlSection {
        sql: upgrade.to_string(),
        first_line: UPGRADE_LINE,
    };
    rev.downgrade = downgrade.map(|sql| SqlSection {
        sql: sql.to_string(),
        first_line: DOWNGRADE_LINE,
    });
    rev
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn step(direction: Direction, rev: &str, from: &[&str], to: &[&str], ops: Vec<VersionOp>) -> Step {
    Step {
        kind: StepKind::Migrate,
        direction,
        revision: rev.to_string(),
        from_revisions: strings(from),
        to_revisions: strings(to),
        version_ops: ops,
    }
}

fn insert(version: &str) -> VersionOp {
    VersionOp::Insert {
        version: version.to_string(),
    }
}

fn update(from: &str, to: &str) -> VersionOp {
    VersionOp::Update {
        from: from.to_string(),
        to: to.to_string(),
    }
}

fn delete(version: &str) -> VersionOp {
    VersionOp::Delete {
        version: version.to_string(),
    }
}

fn plan(steps: Vec<Step>, before: &[&str], after: &[&str]) -> Plan {
    Plan {
        steps,
        heads_before: strings(before),
        heads_after: strings(after),
        purge: false,
    }
}

fn options() -> ExecOptions {
    ExecOptions::new(VersionTable::default())
}

/// A sink that records every event, shared with the test.
fn recorder() -> (Arc<Mutex<Vec<ExecEvent>>>, impl Fn(ExecEvent) + Send + Sync) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let shared = events.clone();
    (events, move |event| shared.lock().unwrap().push(event))
}

async fn connect_to(db: &TestDb) -> MigrationConnection {
    connect(&db.config(), &SessionSettings::default())
        .await
        .expect("connect to the test database")
}

async fn heads(client: &Client) -> Vec<String> {
    VersionTable::default().read_heads(client).await.unwrap()
}

async fn relation_exists(client: &Client, name: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .unwrap()
        .get(0)
}

/// a: creates t1; b (after a): creates t2.
fn two_revisions(b_upgrade: &str) -> RevisionMap {
    RevisionMap::build(vec![
        revision(
            "a",
            &[],
            "CREATE TABLE t1 (id int);",
            Some("DROP TABLE t1;"),
        ),
        revision("b", &["a"], b_upgrade, Some("DROP TABLE t2;")),
    ])
    .unwrap()
}

fn two_step_plan() -> Plan {
    plan(
        vec![
            step(Direction::Upgrade, "a", &[], &["a"], vec![insert("a")]),
            step(
                Direction::Upgrade,
                "b",
                &["a"],
                &["b"],
                vec![update("a", "b")],
            ),
        ],
        &[],
        &["b"],
    )
}

fn position_of(events: &[ExecEvent], wanted: impl Fn(&ExecEvent) -> bool) -> usize {
    events
        .iter()
        .position(wanted)
        .unwrap_or_else(|| panic!("event not found in {events:#?}"))
}

#[tokio::test]
async fn two_steps_commit_with_version_rows_and_alembic_layout() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);");
    let (events, sink) = recorder();

    let summary = execute_plan(&mut conn, &map, &two_step_plan(), &options(), &sink)
        .await
        .expect("plan runs");

    let check = db.client().await;
    assert_eq!(summary.steps_done, 2);
    assert_eq!(summary.step_durations.len(), 2);
    assert_eq!(heads(&check).await, vec!["b"]);
    assert!(relation_exists(&check, "t1").await && relation_exists(&check, "t2").await);
    let column = check
        .query_one(
            "SELECT data_type, character_maximum_length, is_nullable FROM information_schema.columns \
             WHERE table_name = 'alembic_version' AND column_name = 'version_num'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(column.get::<_, String>(0), "character varying");
    assert_eq!(column.get::<_, i32>(1), 32);
    assert_eq!(column.get::<_, String>(2), "NO");
    let pk = check
        .query_one(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'alembic_version'::regclass AND contype = 'p'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(pk.get::<_, String>(0), "alembic_version_pkc");

    let events = events.lock().unwrap();
    assert!(matches!(
        events[0],
        ExecEvent::PlanStarted {
            total_steps: 2,
            atomic: false
        }
    ));
    let created = position_of(&events, |e| {
        matches!(e, ExecEvent::VersionTableCreated { .. })
    });
    let first_start = position_of(&events, |e| {
        matches!(e, ExecEvent::StepStarted { index: 0, .. })
    });
    let first_end = position_of(&events, |e| {
        matches!(e, ExecEvent::StepFinished { index: 0, .. })
    });
    let second_start = position_of(&events, |e| {
        matches!(e, ExecEvent::StepStarted { index: 1, .. })
    });
    assert!(first_start < created && created < first_end && first_end < second_start);
    let statement = position_of(
        &events,
        |e| matches!(e, ExecEvent::Statement { step_index: 1, line: UPGRADE_LINE, sql } if sql == "CREATE TABLE t2 (id int)"),
    );
    assert!(statement > second_start);
    assert!(matches!(
        events.last(),
        Some(ExecEvent::PlanFinished { steps_done: 2, .. })
    ));
}

#[tokio::test]
async fn failure_in_step_two_keeps_step_one_and_locates_the_error() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions(
        "CREATE TABLE t2 (id int);\n\nINSERT INTO t2\n    SELECT id FROM missing_table;\n",
    );
    let (events, sink) = recorder();

    let error = execute_plan(&mut conn, &map, &two_step_plan(), &options(), &sink)
        .await
        .expect_err("step 2 fails");

    let ExecError::Statement(failure) = &error else {
        panic!("expected a statement error, got {error:?}");
    };
    assert_eq!(failure.revision, "b");
    assert_eq!(failure.path, PathBuf::from("migrations/b_test.sql"));
    assert_eq!((failure.line, failure.column), (UPGRADE_LINE + 3, 20));
    assert_eq!(failure.code.as_deref(), Some("42P01"));
    assert_eq!(
        failure.statement,
        "INSERT INTO t2\n    SELECT id FROM missing_table"
    );
    assert_eq!(failure.aftermath, Aftermath::StepRolledBack);
    assert_eq!(
        error.to_string(),
        "migrations/b_test.sql:13:20: ERROR 42P01: relation \"missing_table\" does not exist"
    );

    let check = db.client().await;
    assert!(relation_exists(&check, "t1").await, "step 1 stays applied");
    assert!(
        !relation_exists(&check, "t2").await,
        "step 2 was rolled back"
    );
    assert_eq!(heads(&check).await, vec!["a"]);

    let events = events.lock().unwrap();
    position_of(&events, |e| {
        matches!(e, ExecEvent::StepFailed { index: 1, .. })
    });
    assert!(matches!(
        events.last(),
        Some(ExecEvent::PlanFailed {
            steps_committed: 1,
            ..
        })
    ));
}

#[tokio::test]
async fn error_detail_and_hint_are_reported() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let sql = "CREATE TABLE p (id int PRIMARY KEY);\nINSERT INTO p VALUES (1);\nINSERT INTO p VALUES (1);\n\
               DO $$ BEGIN RAISE EXCEPTION 'never reached'; END $$;";
    let map = RevisionMap::build(vec![revision("a", &[], sql, None)]).unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            "a",
            &[],
            &["a"],
            vec![insert("a")],
        )],
        &[],
        &["a"],
    );
    let error = execute_plan(&mut conn, &map, &one, &options(), &|_| {})
        .await
        .unwrap_err();
    let text = error.to_string();
    assert_eq!(error.sqlstate(), Some("23505"));
    assert!(
        text.starts_with("migrations/a_test.sql:12:1: ERROR 23505: duplicate key"),
        "{text}"
    );
    assert!(
        text.contains("\n  DETAIL: Key (id)=(1) already exists."),
        "{text}"
    );

    let hinted = "DO $$ BEGIN RAISE EXCEPTION 'bad' USING DETAIL = 'd1', HINT = 'try h1'; END $$;";
    let map = RevisionMap::build(vec![revision("a", &[], hinted, None)]).unwrap();
    let error = execute_plan(&mut conn, &map, &one, &options(), &|_| {})
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(
            "migrations/a_test.sql:10:1: ERROR P0001: bad\n  DETAIL: d1\n  HINT: try h1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn atomic_plan_rolls_back_everything() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);\nSELECT * FROM missing_table;");
    let opts = ExecOptions {
        atomic: true,
        ..options()
    };
    let (events, sink) = recorder();

    let error = execute_plan(&mut conn, &map, &two_step_plan(), &opts, &sink)
        .await
        .unwrap_err();

    let ExecError::Statement(failure) = &error else {
        panic!("expected a statement error, got {error:?}");
    };
    assert_eq!(failure.aftermath, Aftermath::PlanRolledBack);
    assert!(error.to_string().contains("the whole plan was rolled back"));
    let check = db.client().await;
    assert!(!relation_exists(&check, "t1").await);
    assert!(!relation_exists(&check, "t2").await);
    assert!(
        !relation_exists(&check, "alembic_version").await,
        "its creation was rolled back too"
    );
    let events = events.lock().unwrap();
    assert!(matches!(
        events.last(),
        Some(ExecEvent::PlanFailed {
            steps_committed: 0,
            ..
        })
    ));
}

#[tokio::test]
async fn atomic_plan_commits_all_steps_together() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);");
    let opts = ExecOptions {
        atomic: true,
        ..options()
    };
    let summary = execute_plan(&mut conn, &map, &two_step_plan(), &opts, &|_| {})
        .await
        .unwrap();
    assert_eq!(summary.steps_done, 2);
    assert_eq!(heads(&db.client().await).await, vec!["b"]);
}

#[tokio::test]
async fn non_transactional_revision_runs_create_index_concurrently() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let index_sql =
        "CREATE INDEX CONCURRENTLY t1_id ON t1 (id);\nCREATE INDEX CONCURRENTLY t1_id2 ON t1 (id);";
    let mut concurrent = revision(
        "b",
        &["a"],
        index_sql,
        Some("DROP INDEX CONCURRENTLY t1_id;"),
    );
    // Control: inside a transaction the same SQL is rejected by the server.
    let transactional_map = RevisionMap::build(vec![
        revision("a", &[], "CREATE TABLE t1 (id int);", None),
        concurrent.clone(),
    ])
    .unwrap();
    let error = execute_plan(
        &mut conn,
        &transactional_map,
        &two_step_plan(),
        &options(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(error.sqlstate(), Some("25001"), "{error}");

    concurrent.transactional = false;
    let map = RevisionMap::build(vec![
        revision("a", &[], "CREATE TABLE t1 (id int);", None),
        concurrent,
    ])
    .unwrap();
    let only_b = plan(
        vec![step(
            Direction::Upgrade,
            "b",
            &["a"],
            &["b"],
            vec![update("a", "b")],
        )],
        &["a"],
        &["b"],
    );
    let (events, sink) = recorder();
    execute_plan(&mut conn, &map, &only_b, &options(), &sink)
        .await
        .expect("non-transactional step runs");

    let check = db.client().await;
    let valid: i64 = check
        .query_one(
            "SELECT count(*) FROM pg_index WHERE indrelid = 't1'::regclass AND indisvalid",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(valid, 2);
    assert_eq!(heads(&check).await, vec!["b"]);
    let events = events.lock().unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        ExecEvent::StepStarted {
            transactional: false,
            ..
        }
    )));
}

#[tokio::test]
async fn failing_non_transactional_revision_reports_what_stays_applied() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let mut rev = revision(
        "a",
        &[],
        "CREATE TABLE t1 (id int);\nSELECT nope FROM t1;",
        None,
    );
    rev.transactional = false;
    let map = RevisionMap::build(vec![rev]).unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            "a",
            &[],
            &["a"],
            vec![insert("a")],
        )],
        &[],
        &["a"],
    );
    let error = execute_plan(&mut conn, &map, &one, &options(), &|_| {})
        .await
        .unwrap_err();
    let ExecError::Statement(failure) = &error else {
        panic!("expected a statement error, got {error:?}");
    };
    assert_eq!(
        failure.aftermath,
        Aftermath::PartiallyApplied { statements_done: 1 }
    );
    assert_eq!((failure.line, failure.column), (UPGRADE_LINE + 1, 8));
    let check = db.client().await;
    assert!(
        relation_exists(&check, "t1").await,
        "autocommitted statement stays"
    );
    assert!(heads(&check).await.is_empty(), "version not recorded");
}

#[tokio::test]
async fn non_transactional_revision_in_atomic_plan_is_refused_before_anything_runs() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let mut b = revision(
        "b",
        &["a"],
        "CREATE INDEX CONCURRENTLY t1_id ON t1 (id);",
        None,
    );
    b.transactional = false;
    let map = RevisionMap::build(vec![
        revision("a", &[], "CREATE TABLE t1 (id int);", None),
        b,
    ])
    .unwrap();
    let opts = ExecOptions {
        atomic: true,
        ..options()
    };
    let (events, sink) = recorder();
    let error = execute_plan(&mut conn, &map, &two_step_plan(), &opts, &sink)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ExecError::NonTransactionalInAtomic { ref revision, .. } if revision == "b")
    );
    assert!(
        error
            .to_string()
            .starts_with("migrations/b_test.sql: revision b is transactional: false")
    );
    let check = db.client().await;
    assert!(!relation_exists(&check, "t1").await);
    assert!(!relation_exists(&check, "alembic_version").await);
    assert_eq!(events.lock().unwrap().len(), 1, "only PlanFailed");
}

#[tokio::test]
async fn irreversible_downgrade_is_refused_before_anything_runs() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = RevisionMap::build(vec![
        revision("a", &[], "CREATE TABLE t1 (id int);", None),
        revision(
            "b",
            &["a"],
            "CREATE TABLE t2 (id int);",
            Some("DROP TABLE t2;"),
        ),
    ])
    .unwrap();
    execute_plan(&mut conn, &map, &two_step_plan(), &options(), &|_| {})
        .await
        .unwrap();

    let downgrade = plan(
        vec![
            step(
                Direction::Downgrade,
                "b",
                &["b"],
                &["a"],
                vec![update("b", "a")],
            ),
            step(Direction::Downgrade, "a", &["a"], &[], vec![delete("a")]),
        ],
        &["b"],
        &[],
    );
    let (events, sink) = recorder();
    let error = execute_plan(&mut conn, &map, &downgrade, &options(), &sink)
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "migrations/a_test.sql: revision a has no downgrade section, so it cannot be downgraded; nothing was run"
    );
    let check = db.client().await;
    assert!(
        relation_exists(&check, "t2").await,
        "step 1 (downgrade b) did not run"
    );
    assert_eq!(heads(&check).await, vec!["b"]);
    let events = events.lock().unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ExecEvent::StepStarted { .. }))
    );
    assert!(matches!(
        events.last(),
        Some(ExecEvent::PlanFailed {
            steps_committed: 0,
            ..
        })
    ));
}

#[tokio::test]
async fn downgrade_runs_the_downgrade_section() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);");
    execute_plan(&mut conn, &map, &two_step_plan(), &options(), &|_| {})
        .await
        .unwrap();
    let downgrade = plan(
        vec![step(
            Direction::Downgrade,
            "b",
            &["b"],
            &["a"],
            vec![update("b", "a")],
        )],
        &["b"],
        &["a"],
    );
    let (events, sink) = recorder();
    execute_plan(&mut conn, &map, &downgrade, &options(), &sink)
        .await
        .unwrap();
    let check = db.client().await;
    assert!(!relation_exists(&check, "t2").await);
    assert_eq!(heads(&check).await, vec!["a"]);
    let events = events.lock().unwrap();
    position_of(
        &events,
        |e| matches!(e, ExecEvent::Statement { line: DOWNGRADE_LINE, sql, .. } if sql == "DROP TABLE t2"),
    );
}

#[tokio::test]
async fn notices_arrive_in_order_between_step_start_and_finish() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let sql = "DO $$ BEGIN RAISE NOTICE 'hi'; END $$;\n\
               CREATE TABLE n (id int);\n\
               DO $$ BEGIN RAISE WARNING 'careful' USING HINT = 'mind the gap'; END $$;";
    let map = RevisionMap::build(vec![revision("a", &[], sql, None)]).unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            "a",
            &[],
            &["a"],
            vec![insert("a")],
        )],
        &[],
        &["a"],
    );
    let (events, sink) = recorder();
    execute_plan(&mut conn, &map, &one, &options(), &sink)
        .await
        .unwrap();

    let events = events.lock().unwrap();
    let start = position_of(&events, |e| {
        matches!(e, ExecEvent::StepStarted { index: 0, .. })
    });
    let first_do = position_of(&events, |e| {
        matches!(e, ExecEvent::Statement { line: 10, .. })
    });
    let hi = position_of(
        &events,
        |e| matches!(e, ExecEvent::Notice { step_index: Some(0), severity, message, .. } if severity == "NOTICE" && message == "hi"),
    );
    let create = position_of(&events, |e| {
        matches!(e, ExecEvent::Statement { line: 11, .. })
    });
    let second_do = position_of(&events, |e| {
        matches!(e, ExecEvent::Statement { line: 12, .. })
    });
    let careful = position_of(&events, |e| {
        matches!(e, ExecEvent::Notice { step_index: Some(0), severity, message, hint: Some(hint), .. }
            if severity == "WARNING" && message == "careful" && hint == "mind the gap")
    });
    let finish = position_of(&events, |e| {
        matches!(e, ExecEvent::StepFinished { index: 0, .. })
    });
    assert!(start < first_do && first_do < hi && hi < create && create < second_do);
    assert!(second_do < careful && careful < finish);
}

#[tokio::test]
async fn many_notices_stream_while_the_statement_runs() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let sql = "DO $$ BEGIN FOR i IN 1..2000 LOOP RAISE NOTICE 'n%', i; END LOOP; END $$;";
    let map = RevisionMap::build(vec![revision("a", &[], sql, None)]).unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            "a",
            &[],
            &["a"],
            vec![insert("a")],
        )],
        &[],
        &["a"],
    );
    let (events, sink) = recorder();
    execute_plan(&mut conn, &map, &one, &options(), &sink)
        .await
        .unwrap();
    let messages: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Notice { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (1..=2000).map(|i| format!("n{i}")).collect();
    assert_eq!(messages, expected);
}

#[tokio::test]
async fn cancel_stops_a_long_statement_and_rolls_back_its_step() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let cancel = conn.cancel_handle();
    let map = RevisionMap::build(vec![
        revision(
            "a",
            &[],
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);",
            None,
        ),
        revision("b", &["a"], "CREATE TABLE never (id int);", None),
    ])
    .unwrap();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let run = tokio::spawn(async move {
        let result = execute_plan(&mut conn, &map, &two_step_plan(), &options(), &sender).await;
        (result, conn)
    });

    let mut seen = Vec::new();
    while let Some(event) = receiver.recv().await {
        let sleeping =
            matches!(&event, ExecEvent::Statement { sql, .. } if sql.contains("pg_sleep"));
        seen.push(event);
        if sleeping {
            break;
        }
    }
    // Let the statement reach the server before cancelling it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled_at = Instant::now();
    assert!(cancel.cancel().await.expect("cancel request sent"));
    let (result, conn) = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("the run ends promptly")
        .unwrap();
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        cancelled_at.elapsed()
    );

    let error = result.expect_err("the run was cancelled");
    let ExecError::Cancelled(cancelled) = &error else {
        panic!("expected a cancel, got {error:?}");
    };
    assert_eq!(cancelled.step_index, 0);
    assert_eq!(cancelled.aftermath, Some(Aftermath::StepRolledBack));
    let interrupted = cancelled
        .interrupted
        .as_ref()
        .expect("the running statement");
    assert_eq!(interrupted.code.as_deref(), Some("57014"));
    assert_eq!(
        (interrupted.line, interrupted.column),
        (UPGRADE_LINE + 1, 1)
    );
    assert_eq!(error.sqlstate(), Some("57014"));
    let text = error.to_string();
    assert!(
        text.starts_with(
            "migrations/a_test.sql:11:1: ERROR 57014: cancelled by the user during step 1"
        ),
        "{text}"
    );
    assert!(text.contains("rolled back"), "{text}");

    while let Some(event) = receiver.recv().await {
        seen.push(event);
    }
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, ExecEvent::StepStarted { index: 1, .. }))
    );
    let check = db.client().await;
    assert!(
        !relation_exists(&check, "slow").await,
        "the step was rolled back"
    );
    assert!(!relation_exists(&check, "never").await);
    assert!(heads(&check).await.is_empty());
    assert!(!cancel.cancel().await.unwrap(), "nothing runs any more");
    // The connection is still usable.
    conn.client().batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn update_matching_no_row_fails_with_alembic_message() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);");
    execute_plan(
        &mut conn,
        &map,
        &plan(vec![two_step_plan().steps[0].clone()], &[], &["a"]),
        &options(),
        &|_| {},
    )
    .await
    .unwrap();

    let wrong = plan(
        vec![step(
            Direction::Upgrade,
            "b",
            &["a"],
            &["b"],
            vec![update("zz", "b")],
        )],
        &["a"],
        &["b"],
    );
    let error = execute_plan(&mut conn, &map, &wrong, &options(), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Online migration expected to match one row when updating 'zz' to 'b' in 'alembic_version'; 0 found"
    );
    let check = db.client().await;
    assert!(
        !relation_exists(&check, "t2").await,
        "the step's SQL was rolled back"
    );
    assert_eq!(heads(&check).await, vec!["a"]);

    let mut unstamp = step(Direction::Downgrade, "b", &["b"], &[], vec![delete("b")]);
    unstamp.kind = StepKind::Stamp;
    let wrong_delete = plan(vec![unstamp], &["a"], &[]);
    let error = execute_plan(&mut conn, &map, &wrong_delete, &options(), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Online migration expected to match one row when deleting 'b' in 'alembic_version'; 0 found"
    );
}

#[tokio::test]
async fn version_table_in_a_custom_schema_with_quoted_names() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    conn.client()
        .batch_execute("CREATE SCHEMA \"Ops Schema\"")
        .await
        .unwrap();
    let table = VersionTable::new(Some("Ops Schema"), "My_Versions");
    let opts = ExecOptions::new(table.clone());
    let map = two_revisions("CREATE TABLE t2 (id int);");
    execute_plan(&mut conn, &map, &two_step_plan(), &opts, &|_| {})
        .await
        .unwrap();

    let check = db.client().await;
    assert_eq!(table.read_heads(&check).await.unwrap(), vec!["b"]);
    assert!(!relation_exists(&check, "alembic_version").await);
    let pk: String = check
        .query_one(
            "SELECT conname FROM pg_constraint WHERE conrelid = '\"Ops Schema\".\"My_Versions\"'::regclass AND contype = 'p'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pk, "My_Versions_pkc");
}

#[tokio::test]
async fn reading_heads_never_creates_the_table() {
    let db = TestDb::create().await;
    let check = db.client().await;
    let table = VersionTable::default();
    assert!(table.read_heads(&check).await.unwrap().is_empty());
    assert!(!table.exists(&check).await.unwrap());
    assert!(!relation_exists(&check, "alembic_version").await);
}

#[tokio::test]
async fn session_settings_apply_to_the_migration_session_only() {
    let db = TestDb::create().await;
    let settings = SessionSettings {
        search_path: Some("app, public".to_string()),
        lock_timeout: Some("1234ms".to_string()),
        statement_timeout: Some("41s".to_string()),
    };
    let mut conn = connect(&db.config(), &settings).await.unwrap();
    let sql = "DO $$ BEGIN RAISE NOTICE 'lock_timeout=% statement_timeout=%', \
               current_setting('lock_timeout'), current_setting('statement_timeout'); END $$;\n\
               CREATE SCHEMA app;\nCREATE TABLE placed (id int);";
    let map = RevisionMap::build(vec![revision("a", &[], sql, None)]).unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            "a",
            &[],
            &["a"],
            vec![insert("a")],
        )],
        &[],
        &["a"],
    );
    let (events, sink) = recorder();
    execute_plan(&mut conn, &map, &one, &options(), &sink)
        .await
        .unwrap();

    position_of(
        &events.lock().unwrap(),
        |e| matches!(e, ExecEvent::Notice { message, .. } if message == "lock_timeout=1234ms statement_timeout=41s"),
    );
    let check = db.client().await;
    assert!(
        relation_exists(&check, "app.placed").await,
        "search_path has two schemas"
    );
    let lock_timeout: String = check
        .query_one("SHOW lock_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(lock_timeout, "0", "other sessions keep the default");
}

#[tokio::test]
async fn invalid_session_setting_names_the_setting() {
    let db = TestDb::create().await;
    let settings = SessionSettings {
        lock_timeout: Some("soon'; DROP TABLE x; --".to_string()),
        ..SessionSettings::default()
    };
    let error = match connect(&db.config(), &settings).await {
        Ok(_) => panic!("an invalid lock_timeout must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("lock_timeout"), "{error}");
    assert!(error.contains("22023"), "{error}");
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let mut cfg: tokio_postgres::Config =
        "postgres://retort_user:hunter2-secret@127.0.0.1:1/somedb"
            .parse()
            .unwrap();
    cfg.connect_timeout(Duration::from_secs(2));
    let error = match connect(&cfg, &SessionSettings::default()).await {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e,
    };
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("cannot connect to retort_user@127.0.0.1:1/somedb"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");

    let pool = build_pool(&cfg, &SessionSettings::default(), 2).unwrap();
    let text = match pool.get().await {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => format!("{e} {e:?}"),
    };
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn revision_ids_longer_than_the_column_are_refused_up_front() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let long = "a".repeat(33);
    let map = RevisionMap::build(vec![revision(
        &long,
        &[],
        "CREATE TABLE t1 (id int);",
        None,
    )])
    .unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            &long,
            &[],
            &[&long],
            vec![insert(&long)],
        )],
        &[],
        &[&long],
    );
    let error = execute_plan(&mut conn, &map, &one, &options(), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "revision id '{long}' is 33 characters long, but column version_num of alembic_version holds at most 32"
        )
    );
    let check = db.client().await;
    assert!(!relation_exists(&check, "t1").await);

    // A table widened by hand (as Alembic users do) accepts longer ids.
    check
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(64) NOT NULL PRIMARY KEY)",
        )
        .await
        .unwrap();
    execute_plan(&mut conn, &map, &one, &options(), &|_| {})
        .await
        .unwrap();
    assert_eq!(heads(&check).await, vec![long]);
}

#[tokio::test]
async fn stale_plan_is_refused() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);");
    let mut stale = two_step_plan();
    stale.heads_before = strings(&["x"]);
    let error = execute_plan(&mut conn, &map, &stale, &options(), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, ExecError::StaleHeads { .. }), "{error:?}");
    assert!(!relation_exists(&db.client().await, "t1").await);
}

#[tokio::test]
async fn stamp_with_purge_replaces_every_row() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let check = db.client().await;
    check
        .batch_execute(&format!(
            "{}; INSERT INTO alembic_version VALUES ('x1'), ('x2');",
            VersionTable::default().create_sql()
        ))
        .await
        .unwrap();
    let map = two_revisions("CREATE TABLE t2 (id int);");
    let stamp = Plan {
        steps: vec![Step {
            kind: StepKind::Stamp,
            direction: Direction::Upgrade,
            revision: "b".to_string(),
            from_revisions: vec![],
            to_revisions: strings(&["b"]),
            version_ops: vec![insert("b")],
        }],
        heads_before: strings(&["x1", "x2"]),
        heads_after: strings(&["b"]),
        purge: true,
    };
    let (events, sink) = recorder();
    execute_plan(&mut conn, &map, &stamp, &options(), &sink)
        .await
        .unwrap();
    assert_eq!(heads(&check).await, vec!["b"]);
    assert!(!relation_exists(&check, "t2").await, "stamp runs no SQL");
    let events = events.lock().unwrap();
    position_of(&events, |e| {
        matches!(e, ExecEvent::VersionTablePurged { rows: 2, .. })
    });
}

#[tokio::test]
async fn unsplittable_sql_is_refused_before_anything_runs() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let map = two_revisions("CREATE TABLE t2 (id int);\nSELECT 'unterminated;");
    let error = execute_plan(&mut conn, &map, &two_step_plan(), &options(), &|_| {})
        .await
        .unwrap_err();
    let ExecError::Split { path, line, .. } = &error else {
        panic!("expected a split error, got {error:?}");
    };
    assert_eq!(path, &PathBuf::from("migrations/b_test.sql"));
    assert_eq!(*line, UPGRADE_LINE + 1);
    assert!(!relation_exists(&db.client().await, "t1").await);
}

#[tokio::test]
async fn pooled_connections_forward_notices_and_keep_settings() {
    let db = TestDb::create().await;
    let settings = SessionSettings {
        lock_timeout: Some("777ms".to_string()),
        ..SessionSettings::default()
    };
    let pool = build_pool(&db.config(), &settings, 2).unwrap();
    let sql = "DO $$ BEGIN RAISE NOTICE 'pooled %', current_setting('lock_timeout'); END $$;";
    let map = RevisionMap::build(vec![
        revision("a", &[], sql, None),
        revision("b", &["a"], sql, None),
    ])
    .unwrap();
    let steps = two_step_plan().steps;

    for (index, step) in steps.into_iter().enumerate() {
        let mut conn = pool.get().await.unwrap();
        let before: Vec<&str> = if index == 0 { vec![] } else { vec!["a"] };
        let target = step.revision.clone();
        let one = plan(vec![step], &before, &[target.as_str()]);
        let (events, sink) = recorder();
        execute_plan(&mut conn, &map, &one, &options(), &sink)
            .await
            .unwrap();
        let events = events.lock().unwrap();
        position_of(
            &events,
            |e| matches!(e, ExecEvent::Notice { step_index: Some(0), message, .. } if message == "pooled 777ms"),
        );
    }
    assert_eq!(heads(&db.client().await).await, vec!["b"]);
}

#[tokio::test]
async fn notices_stream_before_their_statement_finishes() {
    let db = TestDb::create().await;
    let mut conn = connect_to(&db).await;
    let sql = "DO $$ BEGIN RAISE NOTICE 'early'; PERFORM pg_sleep(1.5); END $$;";
    let map = RevisionMap::build(vec![revision("a", &[], sql, None)]).unwrap();
    let one = plan(
        vec![step(
            Direction::Upgrade,
            "a",
            &[],
            &["a"],
            vec![insert("a")],
        )],
        &[],
        &["a"],
    );
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let shared = arrivals.clone();
    let sink = move |event: ExecEvent| shared.lock().unwrap().push((Instant::now(), event));
    execute_plan(&mut conn, &map, &one, &options(), &sink)
        .await
        .unwrap();

    let arrivals = arrivals.lock().unwrap();
    let at = |wanted: &dyn Fn(&ExecEvent) -> bool| {
        arrivals
            .iter()
            .find(|(_, e)| wanted(e))
            .map(|(t, _)| *t)
            .expect("event present")
    };
    let early = at(&|e| matches!(e, ExecEvent::Notice { message, .. } if message == "early"));
    let finished = at(&|e| matches!(e, ExecEvent::StepFinished { .. }));
    assert!(
        finished.duration_since(early) >= Duration::from_millis(1000),
        "the notice was delivered only {:?} before the step finished",
        finished.duration_since(early)
    );
}
