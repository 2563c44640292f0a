//! The lock trace against a real PostgreSQL, each test in a fresh database:
//! the locks statements really take, the rewrites they really do.

mod common;

use std::path::PathBuf;

use common::TestDb;
use retort::core::lock_trace::{LockMode, Observation, StepTrace, statement_line};
use retort::core::plan::Direction;
use retort::core::revision::{Revision, SqlSection};
use retort::db::StatementError;
use retort::db::lock_trace::{Ending, StepSql, TraceError, trace_step};
use tokio_postgres::Client;

/// Where the upgrade section starts in the (imaginary) revision file.
const FIRST_LINE: usize = 10;

fn revision(upgrade: &str, transactional: bool) -> Revision {
    let mut revision = Revision::synthetic("a1b2c3d4e5f6", &[]);
    revision.path = PathBuf::from("migrations/a1b2c3d4e5f6_traced.sql");
    revision.transactional = transactional;
    revision.upgrade = SqlSection {
        sql: upgrade.to_string(),
        first_line: FIRST_LINE,
    };
    revision
}

/// A fresh database with `setup` run in it, and a client on it.
async fn database(setup: &str) -> (TestDb, Client) {
    let db = TestDb::create().await;
    let client = db.client().await;
    client.batch_execute(setup).await.expect("setup");
    (db, client)
}

/// How a test runs its step.
struct Run<'a> {
    transactional: bool,
    sampler: Option<&'a Client>,
    ending: Ending,
}

const COMMITTED: Run<'static> = Run {
    transactional: true,
    sampler: None,
    ending: Ending::Commit,
};

/// A `transactional: false` step, no sampling session.
const AUTOCOMMIT: Run<'static> = Run {
    transactional: false,
    ..COMMITTED
};

/// Traces `upgrade` as a revision's upgrade section.
async fn try_trace(
    client: &mut Client,
    upgrade: &str,
    run: Run<'_>,
) -> Result<StepTrace, TraceError> {
    let revision = revision(upgrade, run.transactional);
    let step = StepSql::new(&revision, Direction::Upgrade).expect("step");
    trace_step(client, run.sampler, &step, run.ending).await
}

/// The statement error and the trace before it, of a step that must fail.
async fn failing(client: &mut Client, upgrade: &str, run: Run<'_>) -> (StatementError, StepTrace) {
    match try_trace(client, upgrade, run).await {
        Err(TraceError::Statement { error, trace }) => (*error, trace),
        other => panic!("a statement error expected: {other:?}"),
    }
}

async fn traced(client: &mut Client, upgrade: &str, run: Run<'_>) -> StepTrace {
    try_trace(client, upgrade, run)
        .await
        .unwrap_or_else(|e| panic!("trace failed: {e}"))
}

async fn trace(client: &mut Client, upgrade: &str) -> StepTrace {
    traced(client, upgrade, COMMITTED).await
}

/// A table of `rows` rows with an int and a varchar column.
fn table_with_rows(rows: u32) -> String {
    format!(
        "CREATE TABLE t (id int PRIMARY KEY, c int, label varchar(50));
         INSERT INTO t SELECT g, g, 'row ' || g FROM generate_series(1, {rows}) g;"
    )
}

async fn column_exists(client: &Client, column: &str) -> bool {
    let sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = $1";
    let row = client.query_one(sql, &[&column]).await.expect("columns");
    row.get::<_, i64>(0) == 1
}

#[tokio::test]
async fn create_index_takes_share_on_the_table() {
    let (_db, mut client) = database(&table_with_rows(100)).await;
    let trace = trace(&mut client, "CREATE INDEX t_c_idx ON t (c);").await;
    let statement = &trace.statements[0];
    assert_eq!(
        statement.strongest_lock_on("public.t"),
        Some(LockMode::Share)
    );
    assert_eq!(statement.observation, Observation::InTransaction);
    assert_eq!(statement.command, "CREATE INDEX");
    assert_eq!((statement.line, statement.column), (FIRST_LINE, 1));
    // The index it built is new: no rewrite of the table, no warning.
    assert!(trace.rewritten().is_empty(), "{:?}", trace.rewritten());
    let on_index: Vec<_> = statement
        .locks
        .iter()
        .filter(|l| l.relation.name == "t_c_idx")
        .collect();
    assert!(on_index.iter().all(|l| l.new_relation), "{on_index:?}");
    assert_eq!(
        statement_line(statement).split(" (and new").next(),
        Some("line 10: CREATE INDEX t_c_idx ON t (c): SHARE on public.t")
    );
}

#[tokio::test]
async fn create_index_concurrently_is_sampled_from_a_second_session() {
    let (db, mut client) = database(&table_with_rows(300_000)).await;
    let sampler = db.client().await;
    let run = Run {
        sampler: Some(&sampler),
        ..AUTOCOMMIT
    };
    let cic = "CREATE INDEX CONCURRENTLY t_c_idx ON t (c, label);";
    let trace = traced(&mut client, cic, run).await;
    let statement = &trace.statements[0];
    assert!(matches!(statement.observation, Observation::Sampled { .. }));
    assert_eq!(statement.transaction, None);
    let line = statement_line(statement);
    // Whatever the sampling caught, it is said, and it is right.
    match statement.locks_observed() {
        true => {
            assert_eq!(
                statement.strongest_lock_on("t"),
                Some(LockMode::ShareUpdateExclusive),
                "{line}"
            );
            assert!(line.contains("sampled"), "{line}");
        }
        false => assert!(line.contains("locks not observed"), "{line}"),
    }
    let built = sampler
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 't_c_idx'",
            &[],
        )
        .await
        .expect("index");
    assert_eq!(built.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn without_a_second_session_autocommit_locks_are_not_observed() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let run = AUTOCOMMIT;
    let trace = traced(
        &mut client,
        "CREATE INDEX CONCURRENTLY t_c_idx ON t (c);",
        run,
    )
    .await;
    let statement = &trace.statements[0];
    assert!(!statement.locks_observed());
    assert!(
        statement_line(statement)
            .ends_with("locks not observed: no second session to sample it from"),
        "{}",
        statement_line(statement)
    );
}

#[tokio::test]
async fn int_to_bigint_rewrites_the_table_and_its_indexes() {
    let (_db, mut client) = database(&table_with_rows(1000)).await;
    let trace = trace(&mut client, "ALTER TABLE t ALTER c TYPE bigint;").await;
    let statement = &trace.statements[0];
    assert!(statement.rewrote("public.t"), "{statement:?}");
    assert_eq!(
        statement.strongest_lock_on("t"),
        Some(LockMode::AccessExclusive)
    );
    assert_eq!(
        statement_line(statement),
        "line 10: ALTER TABLE t ALTER c TYPE …: ACCESS EXCLUSIVE on public.t (and 1 index), \
         rewrites public.t (and 1 index)"
    );
    let rewritten: Vec<_> = trace.rewritten().iter().map(|r| r.to_string()).collect();
    assert_eq!(rewritten, ["public.t", "public.t_pkey"]);
}

#[tokio::test]
async fn varchar_to_text_does_not_rewrite() {
    let (_db, mut client) = database(&table_with_rows(1000)).await;
    let trace = trace(&mut client, "ALTER TABLE t ALTER label TYPE text;").await;
    let statement = &trace.statements[0];
    assert!(statement.rewrites.is_empty(), "{:?}", statement.rewrites);
    assert_eq!(
        statement.strongest_lock_on("t"),
        Some(LockMode::AccessExclusive)
    );
}

#[tokio::test]
async fn a_stable_default_does_not_rewrite_a_volatile_one_does() {
    let (_db, mut client) = database(&table_with_rows(1000)).await;
    let trace = trace(
        &mut client,
        "ALTER TABLE t ADD COLUMN created timestamptz DEFAULT now();\n\
         ALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    )
    .await;
    let [stable, volatile] = &trace.statements[..] else {
        panic!("two statements expected: {trace:?}");
    };
    assert!(!stable.rewrote("t"), "{stable:?}");
    assert!(volatile.rewrote("t"), "{volatile:?}");
    assert_eq!(volatile.line, FIRST_LINE + 1);
}

#[tokio::test]
async fn access_exclusive_then_more_statements_is_held_until_commit() {
    let (_db, mut client) = database(&table_with_rows(100)).await;
    let trace = trace(
        &mut client,
        "ALTER TABLE t ADD COLUMN d int;\nUPDATE t SET d = c;\nSELECT count(*) FROM t;",
    )
    .await;
    let held: Vec<String> = trace
        .held_until_commit()
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(
        held,
        ["line 10: ACCESS EXCLUSIVE on public.t is held across 2 later statements until COMMIT"]
    );
    let update = &trace.statements[1];
    assert_eq!(update.rows, Some(100));
    assert_eq!(update.command, "UPDATE");
    // Held from the ALTER, not taken again by the UPDATE.
    let exclusive = update
        .locks
        .iter()
        .find(|l| l.mode == LockMode::AccessExclusive)
        .expect("still held");
    assert!(!exclusive.newly_acquired);
    assert!(column_exists(&client, "d").await, "committed");
}

#[tokio::test]
async fn a_failing_statement_reports_its_error_and_the_trace_before_it() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let sql = "ALTER TABLE t ADD COLUMN d int;\nINSERT INTO t (id) SELECT id FROM nope;";
    let (error, trace) = failing(&mut client, sql, COMMITTED).await;
    assert_eq!(
        error.to_string(),
        "migrations/a1b2c3d4e5f6_traced.sql:11:35: ERROR 42P01: relation \"nope\" does not exist"
    );
    assert_eq!(trace.statements.len(), 1);
    assert_eq!(
        trace.statements[0].strongest_lock_on("t"),
        Some(LockMode::AccessExclusive)
    );
    assert!(!column_exists(&client, "d").await, "rolled back");
}

#[tokio::test]
async fn a_failure_in_a_non_transactional_step_leaves_what_ran_before_it() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let sql = "ALTER TABLE t ADD COLUMN d int;\nINSERT INTO nope VALUES (1);";
    let (error, trace) = failing(&mut client, sql, AUTOCOMMIT).await;
    let text = error.to_string();
    assert!(
        text.starts_with("migrations/a1b2c3d4e5f6_traced.sql:11:13: ERROR 42P01:"),
        "{text}"
    );
    assert!(
        text.contains("1 statement(s) of this revision ran and stay applied"),
        "{text}"
    );
    assert_eq!(trace.statements.len(), 1);
    assert!(column_exists(&client, "d").await, "autocommit: it stays");
}

#[tokio::test]
async fn a_table_created_in_the_step_is_flagged_new() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let trace = trace(
        &mut client,
        "CREATE TABLE fresh (id int);\n\
         ALTER TABLE fresh ADD COLUMN c int;\n\
         CREATE INDEX fresh_c_idx ON fresh (c);\n\
         INSERT INTO fresh SELECT id, c FROM t;",
    )
    .await;
    let strongest = trace.strongest_locks();
    let fresh = strongest
        .iter()
        .find(|s| s.relation.name == "fresh")
        .expect("fresh locked");
    assert_eq!(fresh.mode, LockMode::AccessExclusive);
    assert!(fresh.new_relation);
    let existing = strongest
        .iter()
        .find(|s| s.relation.name == "t")
        .expect("t read");
    assert_eq!(existing.mode, LockMode::AccessShare);
    assert!(!existing.new_relation);
    // ACCESS EXCLUSIVE on a table nobody else can see yet warns of nothing.
    assert!(trace.held_until_commit().is_empty());
    assert_eq!(
        statement_line(&trace.statements[0]),
        "line 10: CREATE TABLE fresh (id int): no lock on an existing relation \
         (and new in this step: public.fresh)"
    );
}

#[tokio::test]
async fn rolling_back_leaves_the_database_as_it_was() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let run = Run {
        ending: Ending::Rollback,
        ..COMMITTED
    };
    let trace = traced(&mut client, "ALTER TABLE t ADD COLUMN d int;", run).await;
    assert_eq!(
        trace.statements[0].strongest_lock_on("t"),
        Some(LockMode::AccessExclusive)
    );
    assert!(!column_exists(&client, "d").await);
}

#[tokio::test]
async fn a_dropped_table_keeps_its_name() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let trace = trace(&mut client, "DROP TABLE t;").await;
    assert_eq!(
        statement_line(&trace.statements[0]),
        "line 10: DROP TABLE t: ACCESS EXCLUSIVE on public.t (and 1 index)"
    );
}

#[tokio::test]
async fn a_block_in_a_non_transactional_step_is_traced_from_its_own_backend() {
    let (_db, mut client) = database(&table_with_rows(10)).await;
    let run = AUTOCOMMIT;
    let block = "BEGIN;\nALTER TABLE t ADD COLUMN d int;\nUPDATE t SET d = 1;\nCOMMIT;";
    let trace = traced(&mut client, block, run).await;
    assert_eq!(trace.statements.len(), 4);
    assert!(
        trace
            .statements
            .iter()
            .all(|s| s.observation == Observation::InTransaction && s.transaction == Some(0))
    );
    let held = trace.held_until_commit();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].later_statements, 1);
    assert!(column_exists(&client, "d").await);
}

#[tokio::test]
async fn a_downgrade_that_does_not_exist_is_refused_before_anything_runs() {
    let mut revision = revision("SELECT 1;", true);
    revision.downgrade = None;
    let refused = StepSql::new(&revision, Direction::Downgrade).err();
    assert!(
        matches!(refused, Some(TraceError::Refused(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn toast_tables_and_their_indexes_follow_their_table_unreported() {
    let (_db, mut client) =
        database("CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, repeat('x', 9000));")
            .await;
    let trace = trace(
        &mut client,
        "ALTER TABLE notes ALTER body TYPE varchar(20000);\nDROP TABLE notes;",
    )
    .await;
    let lines: Vec<String> = trace.statements.iter().map(statement_line).collect();
    assert!(lines.iter().all(|l| !l.contains("pg_toast")), "{lines:?}");
    // The table itself is reported, with its index.
    assert!(
        lines[0].contains("ACCESS EXCLUSIVE on public.notes"),
        "{lines:?}"
    );
}
