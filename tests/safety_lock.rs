//! One migrator at a time: the advisory lock, through the real binary
//! (several processes started together, many rounds) and through the
//! library API the console uses (events while waiting, giving up).

mod common;
mod support;

use std::path::Path;
use std::process::{Child, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestDb;
use retort::db::events::ExecEvent;
use retort::db::lock::{self, LockError, WaitPolicy};
use retort::db::{VersionTable, connect};
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

/// Four revisions (one `transactional: false`) that log every run into
/// `applied_log` and sleep a little, to widen any race.
fn logging_revisions(dir: &Path) {
    let ids = ["r1", "r2", "r3", "r4"];
    for (n, id) in ids.iter().enumerate() {
        let downs: Vec<&str> = ids[..n].last().into_iter().copied().collect();
        let header = if *id == "r3" {
            "-- transactional: false"
        } else {
            ""
        };
        write_revision(
            dir,
            id,
            &downs,
            header,
            &format!(
                "CREATE TABLE t_{id} (id int);\nINSERT INTO applied_log (rev, dir) VALUES ('{id}', 'up');\nSELECT pg_sleep(0.02);"
            ),
            Some(&format!(
                "DROP TABLE t_{id};\nINSERT INTO applied_log (rev, dir) VALUES ('{id}', 'down');"
            )),
        );
    }
}

async fn applied_counts(client: &tokio_postgres::Client, dir: &str) -> Vec<(String, i64)> {
    client
        .query(
            "SELECT rev, count(*) FROM applied_log WHERE dir = $1 GROUP BY rev ORDER BY rev",
            &[&dir],
        )
        .await
        .expect("applied_log")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn concurrent_runs_apply_each_revision_exactly_once() {
    const PROCESSES: usize = 5;
    const ROUNDS: i64 = 10;
    let db = TestDb::create().await;
    let client = db.client().await;
    client
        .batch_execute("CREATE TABLE applied_log (id serial, rev text, dir text, pid int DEFAULT pg_backend_pid())")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    logging_revisions(dir.path());
    let phases: [(&str, &str, &str, &[&str]); 2] = [
        ("upgrade", "heads", "up", &["r4"]),
        ("downgrade", "base", "down", &[]),
    ];
    for round in 1..=ROUNDS {
        for (verb, target, direction, expected_rows) in phases {
            let children: Vec<Child> = (0..PROCESSES)
                .map(|_| spawn(&db, dir.path(), &[verb, target]))
                .collect();
            let outs: Vec<Output> = children.into_iter().map(finish).collect();
            for out in &outs {
                expect_code(out, 0);
            }
            let runners = outs
                .iter()
                .filter(|o| stderr(o).contains("INFO  Running "))
                .count();
            assert_eq!(
                runners, 1,
                "round {round} {verb}: exactly one process runs the steps"
            );
            let nothing = outs
                .iter()
                .filter(|o| stderr(o).contains("Nothing to do"))
                .count();
            assert_eq!(nothing, PROCESSES - 1, "round {round} {verb}");
            let expected: Vec<(String, i64)> = ["r1", "r2", "r3", "r4"]
                .iter()
                .map(|r| (r.to_string(), round))
                .collect();
            assert_eq!(
                applied_counts(&client, direction).await,
                expected,
                "round {round} {verb}: every revision ran exactly once"
            );
            assert_eq!(version_rows(&client).await, expected_rows, "round {round}");
        }
    }
    let rows = history(&client).await;
    assert!(rows.iter().all(|r| r.status == "success"), "{rows:?}");
    for id in ["r1", "r2", "r3", "r4"] {
        for direction in ["upgrade", "downgrade"] {
            let n = rows
                .iter()
                .filter(|r| r.revision == id && r.direction == direction)
                .count();
            assert_eq!(n as i64, ROUNDS, "{id} {direction}");
        }
    }
    // The history's heads chain without a gap: each row starts where the
    // one before it ended.
    for pair in rows.windows(2) {
        assert_eq!(pair[0].heads_after, pair[1].heads_before, "{pair:?}");
    }
}

#[tokio::test]
async fn a_held_lock_makes_runs_wait_showing_the_holder_or_fail_with_no_wait() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let holder = db.client().await;
    holder
        .batch_execute("SET application_name = 'deploy-freeze'")
        .await
        .unwrap();
    let pid = hold_lock(&holder).await;
    let observer = db.client().await;

    for args in [
        &["upgrade", "heads", "--no-wait"][..],
        &["downgrade", "base", "--no-wait"],
        &["stamp", "a1", "--no-wait"],
        &["resolve", "a1", "--applied", "--no-wait"],
    ] {
        let started = Instant::now();
        let out = run(&db, dir.path(), args);
        expect_code(&out, 3);
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
        let err = stderr(&out);
        for needle in [
            "the migration lock of public.alembic_version is held by another session",
            &format!("holder: pid {pid}, user "),
            "application 'deploy-freeze'",
            "connected since ",
            "nothing was run",
        ] {
            assert!(err.contains(needle), "{args:?}: no '{needle}' in:\n{err}");
        }
    }
    assert!(!table_exists(&observer, "alembic_version").await);
    assert!(!table_exists(&observer, "retort_history").await);

    let mut waiting = spawn(&db, dir.path(), &["upgrade", "heads"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "upgrade must wait for the lock"
    );
    assert!(!table_exists(&observer, "alembic_version").await);
    release_lock(&holder).await;
    let out = finish(waiting);
    expect_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("INFO  Waiting for the migration lock of public.alembic_version"),
        "{err}"
    );
    assert!(err.contains(&format!("held by pid {pid}, user ")), "{err}");
    assert!(err.contains("application 'deploy-freeze'"), "{err}");
    assert!(err.contains("INFO  Took the migration lock"), "{err}");
    assert_eq!(version_rows(&observer).await, ["b2"]);
}

#[tokio::test]
async fn read_only_commands_never_wait_for_the_lock() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    expect_code(&run(&db, dir.path(), &["upgrade", "a1"]), 0);
    let holder = db.client().await;
    hold_lock(&holder).await;
    for (args, expected) in [
        (&["current"][..], 0),
        (&["current", "-v"], 0),
        (&["check"], 1),
        (&["heads"], 0),
        (&["history", "-i"], 0),
        (&["show", "current"], 0),
        (&["log"], 0),
        (&["upgrade", "heads", "--dry-run"], 0),
        (&["downgrade", "base", "--dry-run"], 0),
        (&["upgrade", "heads", "--sql"], 0),
    ] {
        let started = Instant::now();
        let out = run(&db, dir.path(), args);
        expect_code(&out, expected);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert!(!stderr(&out).contains("Waiting"), "{args:?}");
    }
    assert_eq!(version_rows(&holder).await, ["a1"]);
}

#[tokio::test]
async fn the_lock_is_scoped_to_the_version_table() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    let holder = db.client().await;
    holder
        .query_one(
            "SELECT pg_advisory_lock($1, hashtext('public.other_version'))",
            &[&LOCK_CLASS_ID],
        )
        .await
        .unwrap();
    let out = run(&db, dir.path(), &["upgrade", "heads", "--no-wait"]);
    expect_code(&out, 0);
    assert_eq!(version_rows(&holder).await, ["b2"]);
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
async fn waiting_emits_holder_events_and_can_be_abandoned() {
    let db = TestDb::create().await;
    let table = VersionTable::default();
    let first = connect(&db.config(), &Default::default()).await.unwrap();
    let second = connect(&db.config(), &Default::default()).await.unwrap();
    let (_, quiet) = collector();
    let held = lock::acquire(
        first.client(),
        &table,
        WaitPolicy::default(),
        &quiet,
        std::future::pending(),
    )
    .await
    .expect("free lock is taken at once");
    assert_eq!(held.key().name, "public.alembic_version");
    assert_eq!(held.pid(), first.backend_pid());
    assert_eq!(held.waited(), Duration::ZERO, "a free lock is no wait");

    // --no-wait: at once, naming the holder.
    let err = lock::acquire(
        second.client(),
        &table,
        WaitPolicy::no_wait(),
        &quiet,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    let LockError::Held { holders, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(holders.len(), 1);
    assert_eq!(holders[0].pid, first.backend_pid());
    assert!(holders[0].session_started.is_some());

    // Giving up ends the wait without taking the lock.
    let (events, sink) = collector();
    let policy = WaitPolicy {
        wait: true,
        poll_interval: Duration::from_millis(100),
    };
    let started = Instant::now();
    let err = lock::acquire(
        second.client(),
        &table,
        policy,
        &sink,
        tokio::time::sleep(Duration::from_millis(450)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LockError::GaveUp { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let waits: Vec<Vec<i32>> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ExecEvent::LockWaiting { holders, .. } => Some(holders.iter().map(|h| h.pid).collect()),
            _ => None,
        })
        .collect();
    // Several polls found the same holder: announced once (the heartbeat
    // comes only after seconds), not on every poll.
    assert_eq!(waits, [vec![first.backend_pid()]], "{waits:?}");
    let second_holds: bool = second
        .client()
        .query_one(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!second_holds, "abandoning the wait leaves the lock untaken");

    // Released by the holder: the waiter gets it and says how long it waited.
    let (events, sink) = collector();
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(held.release(first.client(), &quiet).await.unwrap());
    };
    let (taken, ()) = tokio::join!(
        lock::acquire(
            second.client(),
            &table,
            policy,
            &sink,
            std::future::pending()
        ),
        release
    );
    let taken = taken.expect("taken after release");
    assert!(taken.waited() >= Duration::from_millis(250));
    let last = events.lock().unwrap().last().cloned();
    assert!(
        matches!(last, Some(ExecEvent::LockAcquired { ref lock, waited }) if lock == "public.alembic_version" && waited == taken.waited()),
        "{last:?}"
    );
}
