//! Snapshots of the console's screens (ratatui `TestBackend` + insta), with
//! the demo project against a real PostgreSQL database.

mod common;
mod console_harness;

use console_harness::{
    Harness, Migrations, NamedDb, Setup, demo_migrations, snapshot_filters, url_for,
};

fn snapshot(name: &str, screen: &str) {
    insta::with_settings!({ filters => snapshot_filters(), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, screen);
    });
}

/// The demo with the billing branch applied up to `create invoices`
/// (7a4d2c9e1f60) and the audit branch up to `audit accounts and
/// memberships` (f6a0e2c8b435): two current heads, a merge and a
/// depends_on still pending.
async fn demo_half_applied(db: &NamedDb) -> Harness {
    let mut h = Harness::connected(Setup::new(demo_migrations(), Some(url_for(&db.name)))).await;
    for target in ["7a4d2c9e1f60", "f6a0e2c8b435"] {
        h.select(target);
        h.key("U");
        h.key("enter");
        h.until_idle().await;
    }
    assert_eq!(h.rows(), ["7a4d2c9e1f60", "f6a0e2c8b435"]);
    h.select("6c9d1a5e7b82");
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_screen_with_branches_merge_and_depends_on() {
    let db = NamedDb::create("retort_snap_main").await;
    let mut h = demo_half_applied(&db).await;
    h.app.flash = None;
    let screen = h.screen();
    // Statuses the snapshot must show, checked on their own as well.
    assert!(
        screen.contains("◉ │ 7a4d2c9e1f60  current  create invoices"),
        "{screen}"
    );
    assert!(
        screen.contains("│ ◉ f6a0e2c8b435  current  audit accounts"),
        "{screen}"
    );
    assert!(
        screen.contains("○ 6c9d1a5e7b82 audit invoices ⇢ 7a4d2c9e1f60"),
        "{screen}"
    );
    assert!(screen.contains("4 pending"), "{screen}");
    snapshot("main_screen", &screen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_dialogs_for_upgrade_and_downgrade() {
    let db = NamedDb::create("retort_snap_plans").await;
    let mut h = demo_half_applied(&db).await;
    h.app.flash = None;
    h.select("d51a7c3e9f04");
    h.key("U");
    let upgrade = h.screen();
    assert!(
        upgrade.contains("UPGRADE · upgrade to d51a7c3e9f04"),
        "{upgrade}"
    );
    snapshot("plan_dialog_upgrade", &upgrade);
    h.key("esc");
    h.select("8d3e6b1a0c54");
    h.key("D");
    let downgrade = h.screen();
    assert!(downgrade.contains("⚠ DOWNGRADE"), "{downgrade}");
    snapshot("plan_dialog_downgrade", &downgrade);
}

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
    assert!(screen.contains("b2_test.sql:8:13: ERROR 42P01"), "{screen}");
    snapshot("log_after_failed_step", &screen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_overlay_lists_every_key() {
    let db = NamedDb::create("retort_snap_help").await;
    let mut h = Harness::connected(Setup::new(demo_migrations(), Some(url_for(&db.name)))).await;
    h.key("?");
    let screen = h.screen();
    h.key("pgdown");
    let rest = h.screen();
    for action in retort::tui::action::Action::ALL {
        let text = action.description();
        assert!(
            screen.contains(text) || rest.contains(text),
            "{action:?} is not in the help"
        );
    }
    h.key("g");
    assert_eq!(h.screen(), screen, "g scrolls back to the top");
    snapshot("help_overlay", &screen);
    h.key("x");
    assert!(h.app.dialogs.is_empty(), "any other key closes the help");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_small_terminal_says_so() {
    let db = NamedDb::create("retort_snap_small").await;
    let mut setup = Setup::new(demo_migrations(), Some(url_for(&db.name)));
    setup.width = 50;
    setup.height = 12;
    let mut h = Harness::connected(setup).await;
    let screen = h.screen();
    assert!(screen.contains("Terminal too small"), "{screen}");
    snapshot("too_small", &screen);
    // Only quit works while too small.
    h.key("U");
    assert!(h.app.dialogs.is_empty());
    h.key("q");
    assert!(h.app.should_quit());
}
