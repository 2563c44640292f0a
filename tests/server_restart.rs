//! The server going away under a run, through the real binary: a restart
//! while a step runs (per-revision, `--atomic`, `transactional: false`)
//! and a server that is not there at all.
//!
//! Each test starts a private PostgreSQL cluster of its own (the one
//! `retort demo` uses, in a temporary directory, on a Unix socket), so it
//! can stop and restart it without disturbing the shared test server. The
//! tests skip, saying why, when the server programs (initdb, pg_ctl) are
//! not installed.

mod common;
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use retort::demo::{PrivateCluster, ShutdownMode, locate_server_binaries};
use support::*;
use tokio_postgres::Client;

/// A private cluster for one test, stopped and removed when dropped (also
/// when the test panics).
struct Server {
    cluster: PrivateCluster,
}

impl Server {
    /// `None` (after saying why) when the server programs are missing.
    async fn start() -> Option<Server> {
        if locate_server_binaries().is_none() {
            eprintln!(
                "skipped: no PostgreSQL server programs (initdb, pg_ctl) found to run a private cluster"
            );
            return None;
        }
        let cluster = PrivateCluster::start(&|_: &str| {})
            .await
            .unwrap_or_else(|e| panic!("cannot start a private cluster: {e}"));
        let server = Server { cluster };
        // The demo's cluster commits asynchronously, which an immediate
        // shutdown may undo; these tests need what committed to stay.
        server
            .client()
            .await
            .batch_execute("ALTER DATABASE postgres SET synchronous_commit = on")
            .await
            .expect("synchronous_commit");
        Some(server)
    }

    /// The connection string handed to retort.
    fn url(&self) -> String {
        format!(
            "host='{}' port={} user=postgres dbname=postgres",
            self.cluster.root().display(),
            self.cluster.port()
        )
    }

    /// A new session for the test's own queries.
    async fn client(&self) -> Client {
        common::plain_client(&self.cluster.connection_config()).await
    }

    /// Stops the server in `mode` (waiting until it is down) and starts it
    /// again (waiting until it accepts connections).
    async fn restart(&self, mode: ShutdownMode) {
        self.cluster
            .stop_server(mode)
            .unwrap_or_else(|e| panic!("cannot stop the server: {e}"));
        self.cluster
            .start_server()
            .await
            .unwrap_or_else(|e| panic!("cannot start the server again: {e}"));
    }

    fn run(&self, migrations: &Path, args: &[&str]) -> std::process::Output {
        finish(self.spawn(migrations, args))
    }

    fn spawn(&self, migrations: &Path, args: &[&str]) -> std::process::Child {
        command_at(&self.url(), migrations, args)
            .spawn()
            .expect("retort starts")
    }
}

/// Waits until another session runs a statement containing `needle`.
async fn wait_until_running(client: &Client, needle: &str) {
    wait_for_session(client, needle, false).await;
}

/// Waits until another session runs a statement containing `needle` and
/// sleeps in `pg_sleep` (a trigger's, for a COMMIT).
async fn wait_until_sleeping(client: &Client, needle: &str) {
    wait_for_session(client, needle, true).await;
}

async fn wait_for_session(client: &Client, needle: &str, sleeping: bool) {
    let started = Instant::now();
    loop {
        let found = client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
                 AND state = 'active' AND position($1 in query) > 0 \
                 AND (NOT $2 OR wait_event = 'PgSleep')",
                &[&needle, &sleeping],
            )
            .await
            .expect("pg_stat_activity")
            .is_some();
        if found {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no session ran {needle} within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The statement the tests interrupt: it sleeps once per row of
/// `sleep_marker`, a table outside the migrations, so emptying the table
/// lets the same revision run through.
const SLEEP: &str = "SELECT pg_sleep(30) FROM sleep_marker;";

async fn arm_sleep(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS sleep_marker (x int); INSERT INTO sleep_marker VALUES (1)",
        )
        .await
        .expect("create sleep_marker");
}

async fn disarm_sleep(client: &Client) {
    client
        .batch_execute("DELETE FROM sleep_marker")
        .await
        .expect("empty sleep_marker");
}

/// a1, b2 (which sleeps after creating `two`), c3.
fn three_revisions(dir: &Path, b2_header: &str, b2_up: &str) {
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
        b2_header,
        b2_up,
        Some("DROP TABLE two;"),
    );
    write_revision(
        dir,
        "c3",
        &["b2"],
        "",
        "CREATE TABLE three (id int);",
        Some("DROP TABLE three;"),
    );
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "no '{needle}' in:\n{text}");
    }
}

fn assert_no_panic(out: &std::process::Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
}

/// Runs `upgrade heads` (plus `extra` arguments) and restarts the server in
/// `mode` while b2 sleeps; returns retort's output once it has exited and
/// the server is back.
async fn upgrade_through_restart(
    server: &Server,
    dir: &Path,
    extra: &[&str],
    mode: ShutdownMode,
) -> std::process::Output {
    let admin = server.client().await;
    arm_sleep(&admin).await;
    let mut args = vec!["upgrade", "heads"];
    args.extend_from_slice(extra);
    let child = server.spawn(dir, &args);
    wait_until_running(&admin, "pg_sleep(30)").await;
    server.restart(mode).await;
    finish(child)
}

async fn a_restart_rolls_back_the_running_step(mode: ShutdownMode) {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    three_revisions(
        dir.path(),
        "",
        &format!("CREATE TABLE two (id int);\n{SLEEP}"),
    );

    let out = upgrade_through_restart(&server, dir.path(), &[], mode).await;
    expect_code(&out, 3);
    assert_no_panic(&out);
    let err = stderr(&out);
    assert_contains(
        &err,
        &[
            "INFO  Running upgrade a1 -> b2",
            "b2_rev.sql:7:1: ",
            "the connection to the server was lost while this statement ran",
            "the step's transaction never committed, so the server rolled it back; \
             earlier steps stay applied",
            "recording it on a new connection",
            // Ids come from a sequence, which a crash may advance.
            "INFO  Recorded in the history #",
            ": upgrade of b2 failed and was rolled back",
            "The failed step was rolled back; the database is at: a1",
        ],
    );
    assert!(
        !err.contains("releasing it"),
        "the lock went with the session: {err}"
    );

    let admin = server.client().await;
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(table_exists(&admin, "one").await);
    assert!(!table_exists(&admin, "two").await, "b2 was rolled back");
    assert!(!table_exists(&admin, "three").await);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "failed")
        ]
    );
    let failed = &history(&admin).await[1];
    assert_eq!(failed.heads_before, ["a1"]);
    assert_eq!(failed.heads_after, ["a1"]);
    assert_eq!(
        (failed.statements_done, failed.statements_total),
        (Some(1), Some(2))
    );
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("connection to the server was lost"),
        "{error}"
    );

    // Nothing is left to resolve: the same files run through.
    disarm_sleep(&admin).await;
    let again = server.run(dir.path(), &["upgrade", "heads"]);
    expect_code(&again, 0);
    assert_eq!(version_rows(&admin).await, ["c3"]);
    assert!(table_exists(&admin, "two").await && table_exists(&admin, "three").await);
    assert_eq!(
        history_summary(&admin).await[2..],
        [
            triple("b2", "upgrade", "success"),
            triple("c3", "upgrade", "success")
        ]
    );
}

#[tokio::test]
async fn a_fast_restart_during_a_step_rolls_it_back_and_keeps_the_steps_before() {
    a_restart_rolls_back_the_running_step(ShutdownMode::Fast).await;
}

#[tokio::test]
async fn an_immediate_restart_during_a_step_rolls_it_back_and_keeps_the_steps_before() {
    a_restart_rolls_back_the_running_step(ShutdownMode::Immediate).await;
}

#[tokio::test]
async fn a_restart_during_an_atomic_plan_leaves_nothing_applied() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    three_revisions(
        dir.path(),
        "",
        &format!("CREATE TABLE two (id int);\n{SLEEP}"),
    );

    let out = upgrade_through_restart(&server, dir.path(), &["--atomic"], ShutdownMode::Fast).await;
    expect_code(&out, 3);
    assert_no_panic(&out);
    assert_contains(
        &stderr(&out),
        &[
            "INFO  Running upgrade a1 -> b2",
            "57P01",
            "the connection to the server was lost while this statement ran",
            "the whole plan was rolled back (atomic)",
            "INFO  Recorded in the history #",
            ": upgrade of b2 failed and was rolled back",
            "The failed step was rolled back with the whole plan; the database is at: (none: base)",
        ],
    );

    let admin = server.client().await;
    assert_eq!(version_rows(&admin).await, Vec::<String>::new());
    assert!(!table_exists(&admin, "alembic_version").await);
    assert!(!table_exists(&admin, "one").await && !table_exists(&admin, "two").await);
    // a1's row was written in the plan's transaction and went with it.
    let rows = history(&admin).await;
    assert_eq!(
        history_summary(&admin).await,
        [triple("b2", "upgrade", "failed")]
    );
    assert_eq!(rows[0].heads_before, Vec::<String>::new());
    assert_eq!(rows[0].heads_after, Vec::<String>::new());

    disarm_sleep(&admin).await;
    let again = server.run(dir.path(), &["upgrade", "heads", "--atomic"]);
    expect_code(&again, 0);
    assert_eq!(version_rows(&admin).await, ["c3"]);
}

/// The restart ends the session while statement 2 runs: its outcome is not
/// known, and the record says so rather than "1 of 3 ran".
#[tokio::test]
async fn a_restart_during_a_statement_of_a_non_transactional_step_leaves_it_in_doubt() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    three_revisions(
        dir.path(),
        "-- transactional: false",
        &format!("CREATE TABLE two (id int);\n{SLEEP}\nCREATE TABLE two_b (id int);"),
    );

    let out = upgrade_through_restart(&server, dir.path(), &[], ShutdownMode::Fast).await;
    expect_code(&out, 3);
    assert_no_panic(&out);
    assert_contains(
        &stderr(&out),
        &[
            "INFO  Running upgrade a1 -> b2",
            "57P01",
            "the connection to the server was lost while this statement ran",
            "transactional: false: 1 statement(s) of this revision ran and stay applied; \
             statement 2 (this one) may or may not have run, as its answer never came; the \
             version table was not changed",
            "Could not record the partial upgrade of b2",
            "The upgrade of b2 (transactional: false) stopped halfway: 1 of 3 statement(s) ran",
            "Recorded as partial in the history #2",
            "`retort resolve b2 --applied` or `retort resolve b2 --rolled-back`",
            "The version table was not changed by the stopped step; it holds: a1",
        ],
    );

    let admin = server.client().await;
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(table_exists(&admin, "two").await, "statement 1 committed");
    assert!(
        !table_exists(&admin, "two_b").await,
        "statement 3 never ran"
    );
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "started")
        ]
    );
    let partial = &history(&admin).await[1];
    assert_eq!(
        (partial.statements_done, partial.statements_total),
        (Some(1), Some(3))
    );
    assert_eq!(partial.heads_after, ["a1"]);

    // The next run refuses instead of running statement 1 again.
    disarm_sleep(&admin).await;
    let refused = server.run(dir.path(), &["upgrade", "heads"]);
    expect_code(&refused, 3);
    assert_contains(
        &stderr(&refused),
        &[
            "refusing to run: a step stopped halfway",
            "stopped after statement 1 of 3 (statement 2 may or may not have run)",
        ],
    );
    assert_eq!(version_rows(&admin).await, ["a1"]);

    // Undone by hand and recorded as such, the revision runs again whole.
    admin.batch_execute("DROP TABLE two").await.unwrap();
    expect_code(
        &server.run(dir.path(), &["resolve", "b2", "--rolled-back"]),
        0,
    );
    let again = server.run(dir.path(), &["upgrade", "heads"]);
    expect_code(&again, 0);
    assert_eq!(version_rows(&admin).await, ["c3"]);
    assert!(table_exists(&admin, "two_b").await);
}

#[tokio::test]
async fn a_server_that_is_down_is_named_in_the_error() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    three_revisions(dir.path(), "", "CREATE TABLE two (id int);");
    server.cluster.stop_server(ShutdownMode::Fast).unwrap();

    let out = server.run(dir.path(), &["upgrade", "heads"]);
    expect_code(&out, 3);
    assert_no_panic(&out);
    let err = stderr(&out);
    let target = format!(
        "FAILED: cannot connect to postgres@{}:{}/postgres: ",
        server.cluster.root().display(),
        server.cluster.port()
    );
    assert_contains(&err, &[&target, "No such file or directory"]);

    // Back up, the same command runs through.
    server.cluster.start_server().await.unwrap();
    expect_code(&server.run(dir.path(), &["upgrade", "heads"]), 0);
}

#[test]
fn a_tcp_port_nobody_listens_on_is_named_in_the_error() {
    let port = TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    expect_connect_failure(&url, port, "Connection refused");
}

/// A server that accepts the socket and then never answers (hung, or
/// behind a proxy whose backend is gone): `connect_timeout` ends the wait.
#[test]
fn a_server_that_never_answers_fails_after_the_connect_timeout() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds connections open without a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres?connect_timeout=1");
    expect_connect_failure(
        &url,
        port,
        // libpq raises a connect_timeout of 1 s to 2 s.
        "did not complete the connection within 2 s (connect_timeout)",
    );
}

/// `upgrade heads` against `url` fails with exit 3, naming the server on
/// `port` and `cause`.
fn expect_connect_failure(url: &str, port: u16, cause: &str) {
    let dir = tempfile::tempdir().unwrap();
    three_revisions(dir.path(), "", "CREATE TABLE two (id int);");
    let out = finish(
        command_at(url, dir.path(), &["upgrade", "heads"])
            .spawn()
            .unwrap(),
    );
    expect_code(&out, 3);
    assert_no_panic(&out);
    let target = format!("FAILED: cannot connect to postgres@127.0.0.1:{port}/postgres: ");
    assert_contains(&stderr(&out), &[&target, cause]);
}

// The connection dropping around COMMIT.

#[tokio::test]
async fn a_restart_while_the_commit_runs_is_found_not_committed() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The deferred trigger makes COMMIT itself sleep.
    three_revisions(
        dir.path(),
        "",
        "CREATE TABLE two (id int);\n\
         CREATE FUNCTION two_check() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         BEGIN PERFORM pg_sleep(30) FROM sleep_marker; RETURN NULL; END $$;\n\
         CREATE CONSTRAINT TRIGGER two_check AFTER INSERT ON two\n\
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION two_check();\n\
         INSERT INTO two VALUES (1);",
    );
    let admin = server.client().await;
    arm_sleep(&admin).await;
    let child = server.spawn(dir.path(), &["upgrade", "heads"]);
    // Not a1's COMMIT: b2's, held up by its trigger.
    wait_until_sleeping(&admin, "COMMIT").await;
    server.restart(ShutdownMode::Fast).await;
    let out = finish(child);
    expect_code(&out, 3);
    assert_no_panic(&out);
    assert_contains(
        &stderr(&out),
        &[
            "FAILED: COMMIT: FATAL 57P01: terminating connection due to administrator command",
            "the connection was lost before the server answered the COMMIT of step 2 \
             (upgrade a1 -> b2), so it may or may not have taken effect",
            "a new connection found no success row of the step in retort_history: \
             the COMMIT did not take effect",
            ": upgrade of b2 failed and was rolled back",
            "The failed step was rolled back; the database is at: a1",
        ],
    );

    let admin = server.client().await;
    assert_eq!(version_rows(&admin).await, ["a1"]);
    assert!(!table_exists(&admin, "two").await);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "failed")
        ]
    );
    disarm_sleep(&admin).await;
    expect_code(&server.run(dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(version_rows(&admin).await, ["c3"]);
}

#[tokio::test]
async fn a_commit_whose_answer_is_lost_is_found_committed() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // b2 waits for a lock the test holds, so the cut is armed for its COMMIT.
    three_revisions(
        dir.path(),
        "",
        "CREATE TABLE two (id int);\nSELECT pg_advisory_xact_lock(4242);",
    );
    let admin = server.client().await;
    let proxy = AnswerCutter::start(&server, COMMIT_QUERY);
    let out = upgrade_with_cut_armed_in_b2(&admin, dir.path(), &proxy).await;
    expect_code(&out, 3);
    assert_no_panic(&out);
    assert!(
        proxy.did_cut(),
        "the proxy dropped the session after COMMIT"
    );
    assert_contains(
        &stderr(&out),
        &[
            "FAILED: COMMIT: connection closed",
            "the connection was lost before the server answered the COMMIT of step 2 \
             (upgrade a1 -> b2), so it may or may not have taken effect",
            "INFO  The upgrade of b2 committed before the connection was lost: \
             a new connection found its success row in the history",
            "INFO  The step committed, and the run stopped after it; the database is at: b2",
            "a new connection found the success row of the upgrade of b2 in retort_history: \
             the COMMIT took effect; the run stopped after it",
        ],
    );
    assert!(!stderr(&out).contains("rolled back"), "{}", stderr(&out));

    // No failure is recorded for a step that committed.
    assert_eq!(version_rows(&admin).await, ["b2"]);
    assert!(table_exists(&admin, "two").await);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "success")
        ]
    );
    let check = server.run(dir.path(), &["check"]);
    expect_code(&check, 1);
    assert_contains(&stdout(&check), &["1 revision(s) pending"]);
    expect_code(&server.run(dir.path(), &["upgrade", "heads"]), 0);
    assert_eq!(version_rows(&admin).await, ["c3"]);
}

/// The network drops the session after the server ran statement 2 of a
/// `transactional: false` step and before its answer arrived: statement 2
/// did run, and retort must not claim it did not (issue 8, item 4).
#[tokio::test]
async fn a_dropped_connection_during_a_non_transactional_statement_leaves_it_in_doubt() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    three_revisions(
        dir.path(),
        "-- transactional: false",
        "CREATE TABLE two (id int);\n\
         INSERT INTO ledger SELECT 'credit' FROM (SELECT pg_advisory_xact_lock(4242)) AS waited;\n\
         INSERT INTO ledger VALUES ('fee');",
    );
    let admin = server.client().await;
    admin
        .batch_execute("CREATE TABLE ledger (entry text); SELECT pg_advisory_lock(4242)")
        .await
        .unwrap();
    let proxy = AnswerCutter::start(&server, b"pg_advisory_xact_lock(4242)");
    proxy.arm();
    let url = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        proxy.port
    );
    let child = command_at(&url, dir.path(), &["upgrade", "heads"])
        .spawn()
        .expect("retort starts");
    wait_until_running(&admin, "pg_advisory_xact_lock(4242)").await;
    admin
        .batch_execute("SELECT pg_advisory_unlock(4242)")
        .await
        .unwrap();
    let out = finish(child);
    expect_code(&out, 3);
    assert_no_panic(&out);
    assert!(
        proxy.did_cut(),
        "the proxy dropped the session after statement 2"
    );
    assert_contains(
        &stderr(&out),
        &[
            "the connection to the server was lost while this statement ran",
            "1 statement(s) of this revision ran and stay applied; statement 2 (this one) \
             may or may not have run",
            "stopped halfway: 1 of 3 statement(s) ran and stay applied; statement 2 may or may \
             not have run (its connection was lost)",
        ],
    );
    assert!(
        !stderr(&out).contains("NOT recorded"),
        "the started row is the record: {}",
        stderr(&out)
    );
    let log = server.run(dir.path(), &["log"]);
    assert_contains(&stdout(&log), &[" started ", "(1/3 statements)"]);
    let credits = admin.query("SELECT entry FROM ledger", &[]).await.unwrap();
    assert_eq!(credits.len(), 1, "statement 2 ran on the server");
    assert_eq!(version_rows(&admin).await, ["a1"]);
    let row = &history(&admin).await[1];
    assert_eq!(
        (
            row.status.as_str(),
            row.statements_done,
            row.statements_total
        ),
        ("started", Some(1), Some(3))
    );

    // The next run refuses instead of crediting the ledger again.
    let refused = server.run(dir.path(), &["upgrade", "heads"]);
    expect_code(&refused, 3);
    assert_contains(
        &stderr(&refused),
        &["stopped after statement 1 of 3 (statement 2 may or may not have run)"],
    );
    let rows = admin.query("SELECT entry FROM ledger", &[]).await.unwrap();
    assert_eq!(rows.len(), 1, "nothing ran again");
}

#[tokio::test]
async fn a_commit_cut_off_while_it_runs_is_judged_after_the_old_session_ends() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // b2 pauses on a lock the test holds (so the cut is armed for its
    // COMMIT), and its COMMIT is slow: a deferred trigger sleeps 3 s.
    three_revisions(
        dir.path(),
        "",
        "CREATE TABLE two (id int);\n\
         CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;\n\
         CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON two\n\
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();\n\
         INSERT INTO two VALUES (1);\n\
         SELECT pg_advisory_xact_lock(4242);",
    );
    let admin = server.client().await;
    let proxy = AnswerCutter::start_cutting(&server, COMMIT_QUERY, Cut::AfterSending);
    let out = upgrade_with_cut_armed_in_b2(&admin, dir.path(), &proxy).await;
    expect_code(&out, 3);
    assert_no_panic(&out);
    assert!(proxy.did_cut(), "the proxy dropped the session mid-COMMIT");
    // The old backend went on committing after the client was gone; the
    // verdict waited for it instead of reading the history too early.
    assert_contains(
        &stderr(&out),
        &[
            "so it may or may not have taken effect",
            "a new connection found the success row of the upgrade of b2 in retort_history: \
             the COMMIT took effect",
            "INFO  The step committed, and the run stopped after it; the database is at: b2",
        ],
    );
    assert!(
        !stderr(&out).contains("did not take effect"),
        "{}",
        stderr(&out)
    );
    assert_eq!(version_rows(&admin).await, ["b2"]);
    assert!(table_exists(&admin, "two").await);
    assert_eq!(
        history_summary(&admin).await,
        [
            triple("a1", "upgrade", "success"),
            triple("b2", "upgrade", "success")
        ],
        "no failure row beside the success row"
    );
}

#[tokio::test]
async fn a_signal_while_waiting_for_the_old_session_leaves_the_commit_unknown() {
    let Some(server) = Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // b2's COMMIT runs a deferred trigger that sleeps 20 s, so the old
    // session still holds the migration lock while the new one waits.
    three_revisions(
        dir.path(),
        "",
        "CREATE TABLE two (id int);\n\
         CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         BEGIN PERFORM pg_sleep(20); RETURN NULL; END $$;\n\
         CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON two\n\
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();\n\
         INSERT INTO two VALUES (1);\n\
         SELECT pg_advisory_xact_lock(4242);",
    );
    let admin = server.client().await;
    let proxy = AnswerCutter::start_cutting(&server, COMMIT_QUERY, Cut::AfterSending);
    let child = spawn_with_cut_armed_in_b2(&admin, dir.path(), &proxy).await;
    wait_until_sleeping(&admin, "COMMIT").await;
    // The new session of the same run has connected (two retort sessions).
    let started = Instant::now();
    loop {
        let sessions: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'retort'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if sessions >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "retort never reconnected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = finish(child);
    expect_code(&out, 130);
    assert_no_panic(&out);
    // Nothing is claimed about the COMMIT: it was still running.
    assert_contains(
        &stderr(&out),
        &[
            "stopped waiting for the old session to end (it still holds the migration lock), \
           so whether its last step took effect is not known yet",
        ],
    );
    assert!(
        !stderr(&out).contains("did not take effect") && !stderr(&out).contains("took effect;"),
        "{}",
        stderr(&out)
    );
}

/// `upgrade heads` through `proxy`, with b2 held on advisory lock 4242
/// (which the test takes here) until the cut is armed: so the cut hits
/// b2's COMMIT, not a1's.
async fn upgrade_with_cut_armed_in_b2(
    admin: &Client,
    dir: &Path,
    proxy: &AnswerCutter,
) -> std::process::Output {
    finish(spawn_with_cut_armed_in_b2(admin, dir, proxy).await)
}

/// [`upgrade_with_cut_armed_in_b2`], left running once the cut is armed.
async fn spawn_with_cut_armed_in_b2(
    admin: &Client,
    dir: &Path,
    proxy: &AnswerCutter,
) -> std::process::Child {
    admin
        .batch_execute("SELECT pg_advisory_lock(4242)")
        .await
        .unwrap();
    let url = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        proxy.port
    );
    let child = command_at(&url, dir, &["upgrade", "heads"])
        .spawn()
        .expect("retort starts");
    wait_until_running(admin, "pg_advisory_xact_lock(4242)").await;
    proxy.arm();
    admin
        .batch_execute("SELECT pg_advisory_unlock(4242)")
        .await
        .unwrap();
    child
}

/// A TCP proxy to the private cluster's socket that, once armed, drops the
/// session that sends the next message containing its needle (e.g. a
/// COMMIT) right after the server answers it: the server did the work, the
/// client never hears so (a network failure at the worst moment).
struct AnswerCutter {
    port: u16,
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
}

/// When an armed [`AnswerCutter`] drops the session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Right after the server answers the message: it did the work.
    AfterAnswer,
    /// Right after the message is passed on: the server is still working
    /// on it, and goes on doing so on a session nobody listens to.
    AfterSending,
}

/// The simple-protocol Query message tokio-postgres sends to commit.
const COMMIT_QUERY: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

impl AnswerCutter {
    fn start(server: &Server, needle: &'static [u8]) -> AnswerCutter {
        AnswerCutter::start_cutting(server, needle, Cut::AfterAnswer)
    }

    fn start_cutting(server: &Server, needle: &'static [u8], when: Cut) -> AnswerCutter {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("proxy listens");
        let port = listener.local_addr().unwrap().port();
        let socket = server
            .cluster
            .root()
            .join(format!(".s.PGSQL.{}", server.cluster.port()));
        let armed = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(AtomicBool::new(false));
        let (accept_armed, accept_cut) = (armed.clone(), cut.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(upstream) = UnixStream::connect(&socket) else {
                    continue;
                };
                let (armed, cut) = (accept_armed.clone(), accept_cut.clone());
                relay(client, upstream, needle, armed, cut, when);
            }
        });
        AnswerCutter { port, armed, cut }
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn did_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Copies bytes both ways between one client and the server; see
/// [`AnswerCutter`].
fn relay(
    client: TcpStream,
    upstream: UnixStream,
    needle: &'static [u8],
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    when: Cut,
) {
    let committing = Arc::new(AtomicBool::new(false));
    let (mut client_in, mut upstream_out) =
        (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let flag = committing.clone();
    let cut_sent = cut.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = client_in.read(&mut buffer) {
            let chunk = &buffer[..n];
            let matches = chunk.windows(needle.len()).any(|w| w == needle);
            // Decided before the server can answer.
            if matches && armed.swap(false, Ordering::SeqCst) {
                flag.store(true, Ordering::SeqCst);
            }
            if upstream_out.write_all(chunk).is_err() {
                break;
            }
            if when == Cut::AfterSending && flag.load(Ordering::SeqCst) {
                cut_sent.store(true, Ordering::SeqCst);
                let _ = client_in.shutdown(Shutdown::Both);
                break;
            }
        }
        let _ = upstream_out.shutdown(Shutdown::Both);
    });
    let (mut upstream_in, mut client_out) = (upstream, client);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = upstream_in.read(&mut buffer) {
            if committing.load(Ordering::SeqCst) {
                // The answer: the server has done the work.
                cut.store(true, Ordering::SeqCst);
                break;
            }
            if client_out.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = client_out.shutdown(Shutdown::Both);
        let _ = upstream_in.shutdown(Shutdown::Both);
    });
}
