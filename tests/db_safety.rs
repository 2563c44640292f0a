//! The safety features through the library facade the console uses:
//! events from a recorded run, the history query, the drift report, and
//! tables in a configured schema.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::TestDb;
use retort::config::{Config, resolve_connection};
use retort::core::graph::RevisionMap;
use retort::core::plan::{plan_downgrade, plan_upgrade};
use retort::core::revision::{Revision, SqlSection};
use retort::db::events::ExecEvent;
use retort::db::history::{HistoryDirection, HistoryStatus};
use retort::db::{HistoryFilter, HistoryTable, VersionTable, WaitPolicy};
use retort::engine::Database;

fn revision(id: &str, downs: &[&str], up: &str, down: &str) -> Revision {
    let mut r = Revision::synthetic(id, downs);
    r.upgrade = SqlSection {
        sql: up.to_string(),
        first_line: 5,
    };
    r.downgrade = Some(SqlSection {
        sql: down.to_string(),
        first_line: 8,
    });
    r
}

fn map() -> RevisionMap {
    RevisionMap::build(vec![
        revision(
            "a1",
            &[],
            "CREATE TABLE app.one (id int);",
            "DROP TABLE app.one;",
        ),
        revision(
            "b2",
            &["a1"],
            "CREATE TABLE app.two (id int);",
            "DROP TABLE app.two;",
        ),
    ])
    .unwrap()
}

type Events = Arc<Mutex<Vec<ExecEvent>>>;

fn collector() -> (Events, impl Fn(ExecEvent) + Send + Sync) {
    let events: Events = Arc::default();
    let sink = {
        let events = events.clone();
        move |event: ExecEvent| events.lock().unwrap().push(event)
    };
    (events, sink)
}

#[tokio::test]
async fn a_locked_run_records_history_in_the_version_tables_schema() {
    let db = TestDb::create().await;
    let admin = db.client().await;
    admin.batch_execute("CREATE SCHEMA app").await.unwrap();
    let settings = resolve_connection(
        Some(&db.conninfo()),
        None,
        &Config::defaults(Path::new(".")),
        &|_| None,
    )
    .unwrap();
    let table = VersionTable::new(Some("app"), "alembic_version");
    let mut database = Database::connect(&settings, table.clone())
        .await
        .unwrap()
        .with_history_table(HistoryTable::beside(&table, "audit_trail"));
    let (events, sink) = collector();
    database
        .lock(WaitPolicy::default(), &sink, std::future::pending())
        .await
        .unwrap();
    assert!(database.holds_lock());
    let map = map();
    let rows = database.heads().await.unwrap();
    let report = database.drift_report(&map, &rows).await.unwrap();
    assert!(report.is_clean() && !report.history_exists);
    let plan = plan_upgrade(&map, &rows, "heads").unwrap();
    database
        .execute(&map, &plan, false, &sink, std::future::pending())
        .await
        .unwrap();
    let plan = plan_downgrade(&map, &database.heads().await.unwrap(), "-1").unwrap();
    database
        .execute(&map, &plan, false, &sink, std::future::pending())
        .await
        .unwrap();
    database.unlock(&sink).await.unwrap();
    assert!(!database.holds_lock());

    let events = events.lock().unwrap().clone();
    assert!(
        matches!(&events[0], ExecEvent::LockAcquired { lock, .. } if lock == "app.alembic_version")
    );
    assert!(events.iter().any(
        |e| matches!(e, ExecEvent::HistoryTableCreated { table } if table == "app.audit_trail")
    ));
    let recorded: Vec<(Option<usize>, String, HistoryDirection, Option<i64>)> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::HistoryRecorded { step_index, entry } => Some((
                *step_index,
                entry.revision.clone(),
                entry.direction,
                entry.id,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        recorded,
        [
            (Some(0), "a1".into(), HistoryDirection::Upgrade, Some(1)),
            (Some(1), "b2".into(), HistoryDirection::Upgrade, Some(2)),
            (Some(0), "b2".into(), HistoryDirection::Downgrade, Some(3)),
        ]
    );
    // Each row is announced once its step committed, before StepFinished.
    let finished = events
        .iter()
        .position(|e| matches!(e, ExecEvent::StepFinished { index: 0, .. }))
        .unwrap();
    let first_row = events
        .iter()
        .position(|e| matches!(e, ExecEvent::HistoryRecorded { .. }))
        .unwrap();
    assert!(first_row < finished);
    assert!(matches!(
        events.last(),
        Some(ExecEvent::LockReleased { .. })
    ));

    assert!(
        admin
            .query_opt("SELECT 1 FROM app.audit_trail LIMIT 1", &[])
            .await
            .unwrap()
            .is_some(),
        "the history lives in the version table's schema"
    );
    let all = database
        .history_rows(&HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [Some(3), Some(2), Some(1)]
    );
    assert!(all.iter().all(|r| r.status == HistoryStatus::Success));
    let b2 = database
        .history_rows(&HistoryFilter {
            revision: Some("b2".into()),
            limit: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(b2.len(), 1);
    assert_eq!(b2[0].direction, HistoryDirection::Downgrade);
    assert_eq!(b2[0].heads_before, ["b2"]);
    assert_eq!(b2[0].heads_after, ["a1"]);

    let rows = database.heads().await.unwrap();
    let report = database.drift_report(&map, &rows).await.unwrap();
    assert!(report.is_clean());
    assert_eq!(report.verified, ["a1"]);
    assert_eq!(report.history_table, "app.audit_trail");
    // The console can show a changed file the same way the CLI does.
    let edited = RevisionMap::build(vec![
        revision(
            "a1",
            &[],
            "CREATE TABLE app.one (id bigint);",
            "DROP TABLE app.one;",
        ),
        revision(
            "b2",
            &["a1"],
            "CREATE TABLE app.two (id int);",
            "DROP TABLE app.two;",
        ),
    ])
    .unwrap();
    let report = database.drift_report(&edited, &rows).await.unwrap();
    assert_eq!(report.issues.len(), 1);
    assert!(report.refusal(false).is_some());
    assert!(report.refusal(true).is_none());
}
