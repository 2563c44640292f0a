//! The console notices changes to its migrations directory by itself (no
//! `r`): the graph, the SQL pane and drift follow the files, and an open
//! plan dialog shows the plan made from what is on disk, against a real
//! PostgreSQL, one fresh database per test.

mod common;
mod console_harness;

use std::path::PathBuf;

use common::TestDb;
use console_harness::{Harness, Migrations, console, linear, table_exists, version_rows};
use retort::tui::dialogs::{Dialog, PlanDialog};

/// Replaces `from` by `to` in revision `id`'s file, as a `git pull` would.
fn edit(m: &Migrations, id: &str, from: &str, to: &str) -> PathBuf {
    let path = m.path().join(format!("{id}_test.sql"));
    let text = std::fs::read_to_string(&path).expect("read revision");
    assert!(text.contains(from), "{text}");
    std::fs::write(&path, text.replace(from, to)).expect("edit revision");
    path
}

fn plan_dialog(h: &Harness) -> Option<&PlanDialog> {
    match h.app.dialogs.last() {
        Some(Dialog::Plan(dialog)) => Some(dialog),
        _ => None,
    }
}

fn upgrade_sql(h: &Harness, id: &str) -> String {
    h.app
        .graph
        .map
        .get(id)
        .map(|r| r.upgrade.sql.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_on_disk_reloads_the_graph_sql_and_drift_without_r() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
    h.select("a1");
    assert!(h.screen().contains("CREATE TABLE t1 (id int);"));

    // An applied file and a pending one change on disk; no key is pressed.
    edit(
        &m,
        "a1",
        "CREATE TABLE t1 (id int);",
        "CREATE TABLE t1 (id int, note text);",
    );
    edit(
        &m,
        "c3",
        "-- message: create t3",
        "-- message: create table three",
    );
    h.until("the reload", |app| {
        app.graph
            .map
            .get("c3")
            .is_some_and(|r| r.message == "create table three")
    })
    .await;
    h.until("drift judged on the new files", |app| {
        !app.server.drift_of("a1").is_empty()
    })
    .await;
    let screen = h.screen();
    assert!(screen.contains("c3 (head) create table three"), "{screen}");
    assert!(screen.contains("changed since applied"), "{screen}");
    // The SQL pane shows a1 as it is on disk now.
    assert!(
        screen.contains("CREATE TABLE t1 (id int, note text);"),
        "{screen}"
    );
    assert!(h.app.graph.selected_revision() == h.app.graph.map.index_of("a1"));
    let log = h.log_text();
    assert!(
        log.contains("revision files changed on disk, reloaded: a1_test.sql (a1) edited, c3_test.sql (c3) edited"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_file_changed_while_shown_is_shown_again_and_runs_as_shown() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("c3");
    h.key("U");
    assert!(plan_dialog(&h).is_some_and(|d| d.files_changed.is_none()));

    // A `git pull` lands while the dialog is open: b2 now creates two tables.
    edit(
        &m,
        "b2",
        "CREATE TABLE t2 (id int);",
        "CREATE TABLE t2 (id int); CREATE TABLE t2b (id int);",
    );
    h.until(
        "the dialog to show the new plan",
        |app| matches!(app.dialogs.last(), Some(Dialog::Plan(d)) if d.files_changed.is_some()),
    )
    .await;
    let screen = h.screen();
    println!("{screen}");
    assert!(
        screen.contains("Revision files changed on disk: this is the plan made from them now"),
        "{screen}"
    );
    assert!(screen.contains("edited"), "{screen}");
    assert!(screen.contains("b2_test.sql (b2)"), "{screen}");
    assert!(
        screen.contains("CREATE TABLE t2b (id int);"),
        "the new SQL: {screen}"
    );
    assert!(screen.contains("(3 step(s))"), "{screen}");
    let dialog = plan_dialog(&h).expect("the dialog");
    let changed = dialog.files_changed.as_ref().expect("files changed");
    assert_eq!(changed.files.len(), 1);
    assert_eq!(changed.files[0].revision, "b2");
    assert!(changed.blocked.is_none());
    // The SQL is scrolled towards the changed revision's step (as far as
    // the last page allows).
    assert!(dialog.sql.scroll > 0);
    assert!(screen.contains("-- Running upgrade a1 -> b2"), "{screen}");

    // Enter runs the plan as shown now.
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["c3"]);
    assert!(table_exists(&client, "t2b").await);
    assert!(table_exists(&client, "t3").await);
    // No false drift afterwards: the console judges the files it ran.
    h.pump(std::time::Duration::from_millis(300)).await;
    h.until("the refresh", |app| !app.server.refreshing).await;
    assert!(h.app.server.drift_of("b2").is_empty(), "{}", h.screen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_file_changed_again_after_it_was_shown_is_not_run() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("c3");
    h.key("U");
    edit(
        &m,
        "b2",
        "CREATE TABLE t2 (id int);",
        "CREATE TABLE t2 (id int); CREATE TABLE t2b (id int);",
    );
    h.until(
        "the dialog to show the new plan",
        |app| matches!(app.dialogs.last(), Some(Dialog::Plan(d)) if d.files_changed.is_some()),
    )
    .await;
    // It changes again and Enter comes before the console has shown it.
    edit(&m, "b2", "CREATE TABLE t2b (id int);", "DROP TABLE t1;");
    h.key("enter");
    h.until_idle().await;
    let flash = h.flash();
    assert!(
        flash.starts_with("Not run: upgrade to c3: revision files of the plan changed on disk"),
        "{flash}"
    );
    assert!(version_rows(&client).await.is_empty());
    assert!(!table_exists(&client, "t1").await);
    assert!(!table_exists(&client, "t2b").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_target_file_went_away_cannot_run_until_it_is_back() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("c3");
    h.key("U");
    let c3 = m.path().join("c3_test.sql");
    let text = std::fs::read_to_string(&c3).expect("read c3");
    std::fs::remove_file(&c3).expect("delete c3");
    h.until("the dialog to say it cannot run", |app| {
        matches!(app.dialogs.last(), Some(Dialog::Plan(d))
            if d.files_changed.as_ref().is_some_and(|c| c.blocked.is_some()))
    })
    .await;
    let screen = h.screen();
    println!("{screen}");
    assert!(
        screen.contains("Revision files changed on disk: this plan cannot run"),
        "{screen}"
    );
    assert!(screen.contains("deleted"), "{screen}");
    assert!(screen.contains("c3_test.sql (c3)"), "{screen}");
    assert!(screen.contains("cannot upgrade to c3 any more"), "{screen}");
    // Enter keeps the dialog open and runs nothing.
    h.key("enter");
    assert!(plan_dialog(&h).is_some());
    let screen = h.screen();
    assert!(
        screen.contains("Not run: cannot upgrade to c3 any more"),
        "{screen}"
    );
    assert!(screen.contains("Cannot run now"), "{screen}");
    h.pump(std::time::Duration::from_millis(200)).await;
    assert!(h.app.run.is_none());
    assert!(version_rows(&client).await.is_empty());

    // The same file back: the plan shown may run again.
    std::fs::write(&c3, text).expect("restore c3");
    h.until("the block to lift", |app| {
        matches!(app.dialogs.last(), Some(Dialog::Plan(d))
            if d.files_changed.as_ref().is_none_or(|c| c.blocked.is_none()))
    })
    .await;
    let screen = h.screen();
    assert!(!screen.contains("Not run:"), "{screen}");
    assert!(!screen.contains("Cannot run now"), "{screen}");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["c3"]);
    assert!(upgrade_sql(&h, "c3").contains("t3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_stop_loading_keep_the_old_graph_and_block_an_open_plan() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    // A half-resolved merge conflict in b2.
    edit(
        &m,
        "b2",
        "-- down_revision: a1",
        "<<<<<<< HEAD\n-- down_revision: a1",
    );
    h.until("the dialog to say it cannot run", |app| {
        matches!(app.dialogs.last(), Some(Dialog::Plan(d))
            if d.files_changed.as_ref().is_some_and(|c| c.blocked.is_some()))
    })
    .await;
    let screen = h.screen();
    assert!(
        screen.contains("the revision files on disk do not load"),
        "{screen}"
    );
    assert!(screen.contains("b2_test.sql"), "{screen}");
    h.key("enter");
    h.pump(std::time::Duration::from_millis(200)).await;
    assert!(h.app.run.is_none());
    assert!(version_rows(&client).await.is_empty());
    h.key("esc");
    let screen = h.screen();
    assert!(
        screen.contains("b2 create t2"),
        "the old graph stays: {screen}"
    );
    assert!(
        h.log_text()
            .contains("the revision files changed on disk and do not load"),
        "{}",
        h.log_text()
    );
}
