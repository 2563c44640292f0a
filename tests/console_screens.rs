//! Screens that only a real server can produce: a statement failing on
//! it, and the audit history it recorded. Screens made from a fed state
//! are snapshotted without a server in `console_offline.rs`.

mod common;
mod console_harness;

use console_harness::{Harness, Migrations, NamedDb, Setup, long_history, url_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_after_a_failed_step() {
    let db = NamedDb::create("retort_snap_failed").await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create widgets",
        "CREATE TABLE widgets (id int);",
        "DROP TABLE widgets;",
    )
    .add(
        "b2",
        "a1",
        "fill widgets",
        "INSERT INTO widgets VALUES (1);\nINSERT INTO gadgets VALUES (1);",
        "DELETE FROM widgets;",
    )
    .add(
        "c3",
        "b2",
        "index widgets",
        "CREATE INDEX ON widgets (id);",
        "DROP INDEX widgets_id_idx;",
    );
    let mut h = Harness::connected(Setup::new(m.path(), Some(url_for(&db.name)))).await;
    h.select("c3");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    let screen = h.screen();
    // Where the server put the error, as the log shows it (the screen's
    // snapshot is in console_offline.rs).
    assert!(screen.contains("b2_test.sql:8:13: ERROR 42P01"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_history_shows_ids_by_their_unique_prefix() {
    let db = NamedDb::create("retort_snap_history_ids").await;
    let m = long_history();
    let mut h = Harness::connected(Setup::new(m.path(), Some(url_for(&db.name)))).await;
    h.select("v20191100000002_step");
    h.keys(&["U", "enter"]);
    h.until_idle().await;
    h.key("h");
    h.until("the history", |app| {
        matches!(
            app.dialogs.last(),
            Some(retort::tui::dialogs::Dialog::History { rows: Some(_), .. })
        )
    })
    .await;
    let screen = h.screen();
    assert!(
        screen.contains("v20191100000002… v20191100000001… → v20191100000002…"),
        "{screen}"
    );
    assert!(
        screen.contains("v20191100000001… base → v20191100000001…"),
        "{screen}"
    );
    assert!(!screen.contains("v2019110000…"), "{screen}");
}
