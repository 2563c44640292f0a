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

/// Sets the size of the harness's terminal (the next draw uses it).
fn resize(h: &mut Harness, width: u16, height: u16) {
    h.terminal.backend_mut().resize(width, height);
}

/// The statement that lost its `WHERE` at the edge of the approval dialog.
const LONG_UPDATE: &str = "UPDATE accounts SET note = 'moved to the new billing plan by the \
     migration of December, see the ticket for the list of customers' WHERE id IN (101, 102, \
     103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120);";

fn long_line_project() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create accounts",
        "CREATE TABLE accounts (id int PRIMARY KEY, note text);",
        "DROP TABLE accounts;",
    )
    .add(
        "b2",
        "a1",
        "note the move",
        &format!("-- One long statement.\n{LONG_UPDATE}"),
        "UPDATE accounts SET note = NULL;",
    );
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_sql_lines_wrap_in_the_pane_and_the_plan_dialog() {
    let db = NamedDb::create("retort_snap_wrap").await;
    let m = long_line_project();
    let mut h = Harness::connected(Setup::new(m.path(), Some(url_for(&db.name)))).await;
    h.select("b2");
    for (width, height) in [(80, 24), (200, 50)] {
        resize(&mut h, width, height);
        let pane = h.screen();
        // The statement goes on, on continuation rows, as far as the pane
        // reaches; the rule says more follows.
        assert!(pane.contains("WHERE"), "{pane}");
        assert!(pane.contains("↪ "), "{pane}");
        if width == 80 {
            assert!(pane.contains("lines 1–2 of 2 ↓"), "{pane}");
        } else {
            assert!(pane.contains("120);"), "{pane}");
        }
        snapshot(&format!("sql_pane_wrapped_{width}x{height}"), &pane);
        h.keys(&["U", "]"]);
        let dialog = h.screen();
        assert!(dialog.contains("UPGRADE · upgrade to b2"), "{dialog}");
        assert!(dialog.contains("2▸ ↑ upgrade"), "{dialog}");
        assert!(dialog.contains("WHERE"), "{dialog}");
        assert!(dialog.contains("120);"), "{dialog}");
        snapshot(&format!("plan_dialog_wrapped_{width}x{height}"), &dialog);
        h.key("esc");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_sql_lines_scroll_sideways_with_an_arrow_where_they_continue() {
    let db = NamedDb::create("retort_snap_cut").await;
    let m = long_line_project();
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    (setup.width, setup.height) = (80, 24);
    let mut h = Harness::connected(setup).await;
    h.select("b2");
    h.keys(&["W", "tab"]);
    let cut = h.screen();
    assert!(!cut.contains(" ↪ "), "lines are cut, not wrapped:\n{cut}");
    assert!(
        cut.contains("→┃"),
        "an arrow where the line continues:\n{cut}"
    );
    assert!(cut.contains("←→ sideways"), "the footer says how:\n{cut}");
    h.keys(&["right", "right", "right"]);
    let scrolled = h.screen();
    assert!(
        scrolled.contains("┃8←"),
        "an arrow where text is hidden:\n{scrolled}"
    );
    assert!(scrolled.contains("· cols "), "{scrolled}");
    snapshot("sql_pane_cut_scrolled_80x24", &scrolled);
    // The same choice in the dialog, and the same keys.
    resize(&mut h, 200, 50);
    h.key("U");
    h.keys(&["end", "right", "right"]);
    let dialog = h.screen();
    assert!(dialog.contains("←"), "{dialog}");
    assert!(dialog.contains("120);"), "{dialog}");
    snapshot("plan_dialog_cut_scrolled_200x50", &dialog);
    h.key("W");
    let wrapped = h.screen();
    assert!(wrapped.contains(" ↪ "), "W wraps again:\n{wrapped}");
}

/// A linear history of 300 revisions whose ids share their first 12
/// characters (`v20191100000…`), with a few steps that need attention.
fn long_history() -> Migrations {
    let m = Migrations::new();
    let id = |n: usize| format!("v20191100000{n:03}_step");
    for n in 1..=300 {
        let down = if n == 1 { String::new() } else { id(n - 1) };
        let transactional = if n % 100 == 50 { "false" } else { "true" };
        let downgrade = if n == 299 {
            String::new()
        } else {
            format!("\n\n-- migrate:downgrade\nDROP TABLE t{n};")
        };
        let text = format!(
            "-- revision: {}\n-- down_revision: {down}\n-- message: step {n}\n\
             -- transactional: {transactional}\n\n-- migrate:upgrade\nCREATE TABLE t{n} (id int);{downgrade}\n",
            id(n)
        );
        std::fs::write(m.dir.path().join(format!("{}.sql", id(n))), text).expect("write");
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_step_plan_scrolls_its_step_table_by_step() {
    let db = NamedDb::create("retort_snap_300").await;
    let m = long_history();
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    (setup.width, setup.height) = (80, 24);
    let mut h = Harness::connected(setup).await;
    let graph = h.screen();
    // Twelve characters would show every row as `v20191100000…`; the one
    // id of the 300s needs only one more.
    assert!(graph.contains("v201911000003… "), "{graph}");
    assert!(graph.contains("v20191100000299…"), "{graph}");
    assert!(!graph.contains("v20191100000…"), "{graph}");
    snapshot("ambiguous_ids_graph_80x24", &graph);
    h.key("U");
    let first = h.screen();
    assert!(
        first.contains("  1▸ ↑ upgrade   v20191100000001…"),
        "{first}"
    );
    assert!(
        first.contains("3 without a transaction · 1 irreversible"),
        "{first}"
    );
    for _ in 0..150 {
        h.key("]");
    }
    let middle = h.screen();
    assert!(
        middle.contains("151▸ ↑ upgrade   v20191100000151…"),
        "{middle}"
    );
    assert!(middle.contains("of 300"), "{middle}");
    assert!(
        middle.contains("-- Running upgrade v20191100000150_step -> v20191100000151_step"),
        "the SQL shows the step:\n{middle}"
    );
    snapshot("plan_300_steps_at_151_80x24", &middle);
    h.key("[");
    assert!(h.screen().contains("150▸"), "[ goes back one step");
    resize(&mut h, 200, 50);
    for _ in 0..149 {
        h.key("]");
    }
    let wide = h.screen();
    assert!(wide.contains("299▸"), "{wide}");
    assert!(wide.contains("irreversible"), "{wide}");
    assert!(
        wide.contains("v20191100000298_step → v20191100000299_step")
            || wide.contains("v20191100000298… → v20191100000299…"),
        "{wide}"
    );
    snapshot("plan_300_steps_at_299_200x50", &wide);
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
