//! Snapshots of the console's questions and of the graph's base row
//! (ratatui `TestBackend` + insta) at 80x24, against a real PostgreSQL.

mod common;
mod console_harness;

use console_harness::{Harness, Migrations, NamedDb, Setup, snapshot_filters, url_for};
use retort::tui::dialogs::Dialog;

fn snapshot(name: &str, screen: &str) {
    let mut filters = snapshot_filters();
    // The run's elapsed times in the header.
    filters.push((r"\b\d+:\d\d\b", "m:ss"));
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, screen);
    });
}

async fn small_console(db: &NamedDb, m: &Migrations) -> Harness {
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    setup.width = 80;
    setup.height = 24;
    Harness::connected(setup).await
}

/// Starts the upgrade to `id` and returns once its statement `pg_sleep`
/// runs, with the cancel question open.
async fn ask_to_cancel(h: &mut Harness, id: &str) {
    h.select(id);
    h.key("U");
    h.key("enter");
    h.until("the slow statement", |app| {
        app.log.lines().any(|l| l.text.contains("pg_sleep"))
    })
    .await;
    h.app.flash = None;
    h.key("esc");
    assert!(matches!(h.app.dialogs.last(), Some(Dialog::ConfirmCancel)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancel_question_of_a_transactional_step() {
    let db = NamedDb::create("retort_snap_cancel_tx").await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "slow backfill",
        "CREATE TABLE t1 (id int);\nSELECT pg_sleep(60);",
        "DROP TABLE t1;",
    );
    let mut h = small_console(&db, &m).await;
    ask_to_cancel(&mut h, "a1").await;
    let screen = h.screen();
    assert!(
        screen.contains("Cancelling rolls this step back on the server."),
        "{screen}"
    );
    snapshot("cancel_question", &screen);
    h.key("y");
    h.until_idle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancel_question_of_a_non_transactional_step() {
    let db = NamedDb::create("retort_snap_cancel_notx").await;
    let m = Migrations::new();
    m.add_with(
        "a1",
        "",
        "index concurrently",
        "false",
        "CREATE TABLE t1 (id int);\nSELECT pg_sleep(60);",
        "DROP TABLE t1;",
    );
    let mut h = small_console(&db, &m).await;
    ask_to_cancel(&mut h, "a1").await;
    let screen = h.screen();
    assert!(screen.contains("retort resolve a1 --applied"), "{screen}");
    snapshot("cancel_question_partial", &screen);
    h.key("y");
    h.until_idle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_discard_question_over_the_form() {
    let db = NamedDb::create("retort_snap_discard").await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    );
    let mut h = small_console(&db, &m).await;
    h.app.flash = None;
    h.key("n");
    h.type_text("add widgets");
    h.key("esc");
    let screen = h.screen();
    assert!(screen.contains("Discard the new revision?"), "{screen}");
    snapshot("discard_question", &screen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_row_under_two_roots() {
    let db = NamedDb::create("retort_snap_base").await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "accounts",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "invoices",
        "CREATE TABLE t2 (id int);",
        "DROP TABLE t2;",
    )
    .add(
        "x1",
        "",
        "reporting schema",
        "CREATE TABLE x1 (id int);",
        "DROP TABLE x1;",
    );
    let mut h = small_console(&db, &m).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    h.app.flash = None;
    h.key("G");
    assert!(h.app.graph.base_selected());
    let screen = h.screen();
    assert!(screen.contains("base"), "{screen}");
    snapshot("base_row", &screen);
}
