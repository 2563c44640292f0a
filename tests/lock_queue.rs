//! What a run does to others, against the real server: a session holds a
//! lock, the migration waits on it, and a third session queues behind the
//! migration. The console's header and log and the command line's `WAIT`
//! lines name both. Also the affected-row counts of statements.

mod common;
mod console_harness;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use console_harness::{Harness, Migrations, Setup, url_for, version_rows};
use retort::db::events::Queued;
use retort::tui::app::RunProgress;
use retort::tui::dialogs::PlanKind;
use retort::tui::format::Waiting;
use tokio_postgres::Client;

/// a1 creates and fills t1; b2 alters it (and waits for its lock).
fn migrations() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);\nINSERT INTO t1 SELECT generate_series(1, 3);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "alter t1",
        "UPDATE t1 SET id = id + 1;\nALTER TABLE t1 ADD COLUMN note text;",
        "ALTER TABLE t1 DROP COLUMN note;",
    );
    m
}

/// A session holding t1 in an open transaction, and its pid.
async fn hold_t1(db: &TestDb) -> (Client, i32) {
    let blocker = db.client().await;
    let pid: i32 = blocker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    blocker
        .batch_execute("BEGIN; LOCK TABLE t1 IN ACCESS SHARE MODE;")
        .await
        .expect("lock t1");
    (blocker, pid)
}

/// A reader of t1 started in the background; it queues behind a waiting
/// `ALTER TABLE`. Returns its pid and the task that ends with the read.
async fn start_reader(db: &TestDb) -> (i32, tokio::task::JoinHandle<()>) {
    let reader = db.client().await;
    let pid: i32 = reader
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    let task = tokio::spawn(async move {
        reader
            .batch_execute("SELECT count(*) FROM t1 /* queued reader */")
            .await
            .expect("the reader reads once the migration is done");
    });
    (pid, task)
}

/// The child's stderr, line by line, as it comes.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Waits until the server shows a session waiting on a lock whose query
/// contains `needle`.
async fn until_waiting(client: &Client, needle: &str) {
    let started = Instant::now();
    loop {
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                  WHERE datname = current_database() AND wait_event_type = 'Lock' \
                    AND query LIKE '%' || $1 || '%'",
                &[&needle],
            )
            .await
            .expect("look");
        if row.get::<_, i64>(0) > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no session waits on {needle}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_blocker_and_the_sessions_queued_behind() {
    let db = TestDb::create().await;
    let m = migrations();
    let client = db.client().await;
    let setup = Setup {
        width: 200,
        ..Setup::new(m.path(), Some(url_for(&db.name)))
    };
    let mut h = Harness::connected(setup).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert!(h.log_text().contains("→ INSERT 3"), "{}", h.log_text());

    let (blocker, blocker_pid) = hold_t1(&db).await;
    h.select("b2");
    h.key("U");
    let dialog = h.screen();
    assert!(
        dialog.contains("No lock_timeout: the DDL of b2 may wait for a lock without limit"),
        "{dialog}"
    );
    h.key("enter");
    until_waiting(&client, "ADD COLUMN note").await;
    let (reader_pid, reader) = start_reader(&db).await;
    h.until("the queued reader", |app| {
        app.run.as_ref().is_some_and(|r| {
            r.waiting
                .as_ref()
                .is_some_and(|w| w.queued.iter().any(|q| q.pid == reader_pid))
        })
    })
    .await;
    let screen = h.screen();
    let header: String = screen.lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(
        header.contains(&format!(
            "◔ waiting for AccessExclusiveLock on t1, held by pid {blocker_pid} idle"
        )),
        "{header}"
    );
    assert!(
        header.contains(&format!("⧗ 1 behind: pid {reader_pid}")),
        "{header}"
    );
    let log = h.log_text();
    assert!(
        log.contains("1 session waits behind the migration:"),
        "{log}"
    );
    assert!(log.contains(&format!("pid {reader_pid} (user ")), "{log}");
    assert!(log.contains("queued reader"), "{log}");
    assert!(log.contains(&format!("pid {blocker_pid} (user ")), "{log}");

    blocker.batch_execute("COMMIT").await.expect("release");
    h.until_idle().await;
    reader.await.expect("reader done");
    assert_eq!(version_rows(&client).await, ["b2"]);
    assert!(h.log_text().contains("→ UPDATE 3"), "{}", h.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_prints_the_queue_and_row_counts() {
    let db = TestDb::create().await;
    let m = migrations();
    let client = db.client().await;
    let first = support::run(&db, &m.path(), &["upgrade", "a1"]);
    support::expect_code(&first, 0);
    assert!(
        support::stderr(&first).contains("INFO    line "),
        "{}",
        support::stderr(&first)
    );
    assert!(support::stderr(&first).contains(": INSERT 3"));

    let (blocker, blocker_pid) = hold_t1(&db).await;
    let mut child = support::spawn(&db, &m.path(), &["upgrade", "head"]);
    let lines = stderr_lines(&mut child);
    until_waiting(&client, "ADD COLUMN note").await;
    let (reader_pid, reader) = start_reader(&db).await;
    let queued_line = format!("WAIT    pid {reader_pid} (user ");
    let mut stderr = String::new();
    while !stderr.contains(&queued_line) {
        let line = lines
            .recv_timeout(support::DEADLINE)
            .unwrap_or_else(|_| panic!("no line names the queued reader:\n{stderr}"));
        stderr += &line;
        stderr.push('\n');
    }
    blocker.batch_execute("COMMIT").await.expect("release");
    let out = support::finish(child);
    reader.await.expect("reader done");
    stderr.extend(lines.iter().map(|l| l + "\n"));

    support::expect_code(&out, 0);
    assert!(
        stderr.contains(&format!("WAIT    pid {blocker_pid} (user ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("WAIT  1 session waits behind the migration:"),
        "{stderr}"
    );
    assert!(stderr.contains("queued reader"), "{stderr}");
    assert!(stderr.contains("UPDATE 3"), "{stderr}");
    assert_eq!(version_rows(&client).await, ["b2"]);
}

/// A run waiting on a blocker with a queue behind it, at 80 columns: the
/// header keeps the elapsed time and the cancel key and drops the bar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_with_a_queue_at_80_columns() {
    let m = migrations();
    // Nothing listens on port 1: no server is needed for this screen.
    let setup = Setup {
        width: 80,
        height: 24,
        ..Setup::new(m.path(), Some("postgres://nobody@127.0.0.1:1/none".into()))
    };
    let mut h = Harness::open(setup).await;
    let blocker = retort::db::Blocker {
        pid: 4242,
        user: Some("alice".into()),
        application: Some("psql".into()),
        client: None,
        state: Some("idle in transaction".into()),
        query: Some("LOCK TABLE t1".into()),
        transaction_age: Some(Duration::from_millis(12_340)),
        idle_in_transaction: Some(Duration::from_millis(12_000)),
        wait_event: None,
    };
    let queued = |pid: i32, secs: u64| Queued {
        pid,
        user: Some("app".into()),
        application: None,
        query: Some("SELECT * FROM t1".into()),
        waited: Some(Duration::from_secs(secs)),
    };
    let mut run = RunProgress::new(
        1,
        PlanKind::Upgrade,
        "upgrade to b2".into(),
        Vec::new(),
        Arc::clone(&h.app.graph.map),
    );
    run.plan_started = true;
    run.waiting = Some(Waiting::on_blockers(
        Some("AccessExclusiveLock on t1"),
        &[blocker],
        &[queued(4300, 4), queued(4301, 2)],
    ));
    h.app.run = Some(run);
    let screen = h.screen();
    let header: Vec<&str> = screen.lines().take(2).collect();
    let second = header[1];
    assert!(second.contains("total 0:00"), "{second}");
    assert!(second.contains("Esc cancel"), "{second}");
    assert!(second.contains("pid 4242 idle 12.0 s"), "{second}");
    assert!(second.contains("⧗ 2 behind"), "{second}");
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("header_queue_80", header.join("\n"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_lock_timeout_silences_the_plan_warning() {
    let db = TestDb::create().await;
    let m = migrations();
    let setup = Setup {
        width: 200,
        config: format!(
            "[environments.test]\nurl = \"{}\"\nlock_timeout = \"5s\"\n",
            url_for(&db.name)
        ),
        env: Some("test".into()),
        ..Setup::new(m.path(), None)
    };
    let mut h = Harness::connected(setup).await;
    h.select("b2");
    h.key("U");
    let dialog = h.screen();
    assert!(
        dialog.contains("ALTER TABLE t1 ADD COLUMN note text;"),
        "{dialog}"
    );
    assert!(!dialog.contains("No lock_timeout"), "{dialog}");
}
