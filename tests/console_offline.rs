//! Snapshots of the console's screens with no database: the real `App` on
//! revision files, fed the `WorkerEvent`s a worker would send (refresh
//! answers, executor events of a run, its end), drawn on a ratatui
//! `TestBackend` at 80x24 and 200x50. Flows that need a real server stay in
//! `console_flows.rs`, `console_screens.rs` and `lock_queue.rs`.

mod common;
mod console_harness;

use std::collections::BTreeMap;
use std::time::Duration;

use console_harness::offline::{Offline, RunAsked};
use console_harness::{Migrations, demo_migrations, long_history, one_revision, snapshot_filters};
use retort::core::lint::TableSize;
use retort::core::lock_trace::{
    LockMode, LockTaken, Observation, Relation, RelationKind, StatementTrace, StepTrace,
};
use retort::core::schema::{Change, ChangeKind, ObjectKey, ObjectKind};
use retort::db::ExecEvent;
use retort::db::events::{Aftermath, Blocker, ExecError, Queued, StatementError, WaitNews};
use retort::engine::rehearse::{Rehearsal, Run, StepReport};
use retort::engine::{Error, ExecFailure, Recovery, RunError};
use retort::tui::dialogs::Dialog;
use retort::tui::watch::WatchEvent;
use retort::tui::worker::{RehearsalOutcome, WorkerEvent};

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

fn snapshot(name: &str, (width, height): (u16, u16), screen: &str) {
    let mut filters = snapshot_filters();
    // The run's elapsed times in the header follow the real clock.
    // (Not a `file:line:column`: those follow a colon, times a space.)
    filters.push((r"(\s)\d+:\d\d\b", "${1}m:ss"));
    let name = format!("{name}_{width}x{height}");
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, screen);
    });
}

/// The demo with the billing branch applied up to `create invoices` and
/// the audit branch up to `audit accounts and memberships`, as a refresh
/// reports it; `audit invoices` selected.
fn demo_half_applied(size: (u16, u16)) -> Offline {
    let mut o = Offline::open(demo_migrations(), size);
    o.state(&["7a4d2c9e1f60", "f6a0e2c8b435"]);
    o.select("6c9d1a5e7b82");
    o.app.flash = None;
    o
}

#[test]
fn main_screen_from_a_fed_state() {
    for size in SIZES {
        let mut o = demo_half_applied(size);
        let screen = o.screen();
        assert!(screen.contains("● connected"), "{screen}");
        // Statuses the snapshot must show, checked on their own as well.
        assert!(
            screen.contains("◉ │ 7a4d2c9e1f60  current  create inv"),
            "{screen}"
        );
        assert!(
            screen.contains("│ ◉ f6a0e2c8b435  current  audit acco"),
            "{screen}"
        );
        assert!(
            screen.contains("○ 6c9d1a5e7b82 audit invoices ⇢ 7a4"),
            "{screen}"
        );
        assert!(screen.contains("4 pending"), "{screen}");
        snapshot("offline_main_screen", size, &screen);
    }
}

#[test]
fn main_screen_before_the_first_answer_shows_connecting() {
    let mut o = Offline::open(demo_migrations(), (80, 24));
    let screen = o.screen();
    assert!(!screen.contains("● connected"), "{screen}");
    // The console asked its worker for the state, and nothing else.
    let sent = o.commands_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("Refresh("), "{sent:?}");
    snapshot("offline_connecting", (80, 24), &screen);
}

#[test]
fn plan_dialogs_for_upgrade_and_downgrade() {
    for size in SIZES {
        let mut o = demo_half_applied(size);
        o.select("d51a7c3e9f04");
        o.key("U");
        let upgrade = o.screen();
        assert!(matches!(o.app.dialogs.last(), Some(Dialog::Plan(_))));
        assert!(upgrade.contains("upgrade to d51a7c3e9f04"), "{upgrade}");
        snapshot("offline_plan_upgrade", size, &upgrade);
        o.key("esc");
        o.select("8d3e6b1a0c54");
        o.key("D");
        let downgrade = o.screen();
        assert!(downgrade.contains("DOWNGRADE"), "{downgrade}");
        snapshot("offline_plan_downgrade", size, &downgrade);
    }
}

/// Three revisions, `c3` selected and its upgrade confirmed: the run the
/// console asked the worker for.
fn three_revisions() -> Migrations {
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
    m
}

fn start_upgrade(m: &Migrations, size: (u16, u16)) -> (Offline, RunAsked) {
    let mut o = Offline::open(m.path(), size);
    o.state(&[]);
    o.select("c3");
    o.keys(&["U", "enter"]);
    let run = o.run_asked();
    assert_eq!(run.steps.len(), 3);
    o.exec(
        run.id,
        ExecEvent::PlanStarted {
            total_steps: 3,
            atomic: false,
        },
    );
    (o, run)
}

/// Step `index` of `run` starts and, when `finished`, changes the version
/// table, commits, and the refresh that follows finds `rows`.
fn step(o: &mut Offline, run: &RunAsked, index: usize, finished: Option<&[&str]>) {
    o.exec(
        run.id,
        ExecEvent::StepStarted {
            index,
            total: run.steps.len(),
            step: run.steps[index].clone(),
            transactional: true,
        },
    );
    let Some(rows) = finished else { return };
    for op in run.steps[index].version_ops.clone() {
        o.exec(
            run.id,
            ExecEvent::VersionChanged {
                step_index: index,
                op,
            },
        );
    }
    o.exec(
        run.id,
        ExecEvent::StepFinished {
            index,
            duration: Duration::from_millis(12),
        },
    );
    o.state(rows);
}

fn blocker() -> Blocker {
    Blocker {
        pid: 4242,
        user: Some("alice".into()),
        application: Some("psql".into()),
        client: Some("10.0.0.7".into()),
        state: Some("idle in transaction".into()),
        query: Some("SELECT * FROM widgets FOR UPDATE".into()),
        transaction_age: Some(Duration::from_secs(75)),
        idle_in_transaction: Some(Duration::from_secs(70)),
        wait_event: Some("Client: ClientRead".into()),
    }
}

fn queued(pid: i32, user: &str, waited: u64) -> Queued {
    Queued {
        pid,
        user: Some(user.into()),
        application: Some("api".into()),
        query: Some("SELECT count(*) FROM widgets".into()),
        waited: Some(Duration::from_secs(waited)),
    }
}

#[test]
fn a_run_blocked_with_a_queue_behind_it() {
    let m = three_revisions();
    for size in SIZES {
        let (mut o, run) = start_upgrade(&m, size);
        step(&mut o, &run, 0, Some(&["a1"]));
        step(&mut o, &run, 1, None);
        o.exec(
            run.id,
            ExecEvent::Statement {
                step_index: 1,
                line: 7,
                sql: "INSERT INTO widgets VALUES (1);".into(),
            },
        );
        o.exec(
            run.id,
            ExecEvent::Blocked {
                step_index: 1,
                waiting_for: Some("RowExclusiveLock on public.widgets".into()),
                waited: Duration::from_secs(9),
                blockers: vec![blocker()],
                queued: vec![queued(4300, "bob", 8), queued(4301, "carol", 3)],
                news: WaitNews::Changed,
            },
        );
        o.app.flash = None;
        let screen = o.screen();
        assert!(o.app.run.is_some());
        let header = screen.lines().nth(1).unwrap_or_default();
        assert!(header.contains("pid 4242"), "the blocker:\n{screen}");
        assert!(header.contains("2 behind"), "the queue:\n{screen}");
        snapshot("offline_run_blocked", size, &screen);
    }
}

fn failed_statement(m: &Migrations) -> ExecError {
    ExecError::Statement(Box::new(StatementError {
        revision: "b2".into(),
        path: m.path().join("b2_test.sql"),
        line: 8,
        column: 13,
        severity: "ERROR".into(),
        code: Some("42P01".into()),
        message: "relation \"gadgets\" does not exist".into(),
        detail: None,
        hint: None,
        context: None,
        statement: "INSERT INTO gadgets VALUES (1);".into(),
        aftermath: Aftermath::StepRolledBack,
        connection_lost: false,
        blocked_by: Vec::new(),
        attempts: 1,
    }))
}

#[test]
fn a_failed_step_in_the_log() {
    let m = three_revisions();
    for size in SIZES {
        let (mut o, run) = start_upgrade(&m, size);
        step(&mut o, &run, 0, Some(&["a1"]));
        step(&mut o, &run, 1, None);
        let error = failed_statement(&m);
        o.exec(
            run.id,
            ExecEvent::StepFailed {
                index: 1,
                error: error.clone(),
            },
        );
        o.exec(
            run.id,
            ExecEvent::PlanFailed {
                duration: Duration::from_millis(40),
                steps_committed: 1,
                error: error.clone(),
            },
        );
        o.feed(WorkerEvent::RunFinished {
            run: run.id,
            outcome: Err(RunError {
                error: Error::Exec(Box::new(ExecFailure {
                    error,
                    recovery: Recovery::default(),
                    heads_now: Some(vec!["a1".into()]),
                    atomic: false,
                })),
                unlock_failed: None,
            }),
        });
        o.state(&["a1"]);
        let screen = o.screen();
        assert!(o.app.run.is_none());
        assert!(screen.contains("b2_test.sql:8:13"), "{screen}");
        snapshot("offline_failed_step", size, &screen);
    }
}

#[test]
fn the_cancel_question_during_a_step() {
    let m = three_revisions();
    for size in SIZES {
        let (mut o, run) = start_upgrade(&m, size);
        step(&mut o, &run, 0, None);
        o.exec(
            run.id,
            ExecEvent::Statement {
                step_index: 0,
                line: 6,
                sql: "CREATE TABLE widgets (id int);".into(),
            },
        );
        o.app.flash = None;
        o.commands_sent();
        o.key("esc");
        assert!(matches!(o.app.dialogs.last(), Some(Dialog::ConfirmCancel)));
        let screen = o.screen();
        assert!(screen.contains("rolls this step back"), "{screen}");
        snapshot("offline_cancel_question", size, &screen);
        // Answering yes asks the worker to cancel; the test is the worker.
        o.key("y");
        let sent = o.commands_sent();
        assert_eq!(sent, ["Cancel"], "{screen}");
    }
}

#[test]
fn the_cancel_question_during_a_step_without_a_transaction() {
    let m = Migrations::new();
    m.add_with(
        "a1",
        "",
        "index concurrently",
        "false",
        "CREATE INDEX CONCURRENTLY widgets_id ON widgets (id);",
        "DROP INDEX widgets_id;",
    );
    let (width, height) = (80, 24);
    let mut o = Offline::open(m.path(), (width, height));
    o.state(&[]);
    o.select("a1");
    o.keys(&["U", "enter"]);
    let run = o.run_asked();
    o.exec(
        run.id,
        ExecEvent::StepStarted {
            index: 0,
            total: 1,
            step: run.steps[0].clone(),
            transactional: false,
        },
    );
    o.app.flash = None;
    o.key("esc");
    let screen = o.screen();
    assert!(screen.contains("retort resolve a1 --applied"), "{screen}");
    snapshot("offline_cancel_question_partial", (width, height), &screen);
}

#[test]
fn a_lost_connection_keeps_the_last_state_on_screen() {
    let mut o = demo_half_applied((80, 24));
    o.feed(WorkerEvent::Unreachable(
        "connection refused (is the server running?)".into(),
    ));
    o.app.flash = None;
    let screen = o.screen();
    assert!(screen.contains("✗ connection lost"), "{screen}");
    // The last known rows stay on screen while the header says they may be stale.
    assert!(screen.contains("7a4d2c9e1f60  current"), "{screen}");
    snapshot("offline_connection_lost", (80, 24), &screen);
}

#[test]
fn help_overlay_lists_every_key() {
    for size in SIZES {
        let mut o = Offline::open(demo_migrations(), size);
        o.state(&[]);
        o.app.flash = None;
        o.key("?");
        let screen = o.screen();
        // Every page, down to where paging stops changing the screen.
        let mut pages = vec![screen.clone()];
        for _ in 0..10 {
            o.key("pgdown");
            let page = o.screen();
            if pages.last() == Some(&page) {
                break;
            }
            pages.push(page);
        }
        for action in retort::tui::action::Action::ALL {
            let text = action.description();
            assert!(
                pages.iter().any(|page| page.contains(text)),
                "{action:?} is not in the help at {size:?}"
            );
        }
        o.key("g");
        assert_eq!(o.screen(), screen, "g scrolls back to the top");
        snapshot("offline_help_overlay", size, &screen);
        o.key("x");
        assert!(o.app.dialogs.is_empty(), "any other key closes the help");
    }
}

#[test]
fn too_small_terminal_says_so() {
    let mut o = Offline::open(demo_migrations(), (50, 12));
    o.state(&[]);
    let screen = o.screen();
    assert!(screen.contains("Terminal too small"), "{screen}");
    snapshot("offline_too_small", (50, 12), &screen);
    // Only quit works while too small.
    o.key("U");
    assert!(o.app.dialogs.is_empty());
    o.key("q");
    assert!(o.app.should_quit());
}

#[test]
fn the_discard_question_over_the_form() {
    let m = one_revision();
    let mut o = Offline::open(m.path(), (80, 24));
    o.state(&[]);
    o.app.flash = None;
    o.key("n");
    o.type_text("add widgets");
    o.key("esc");
    let screen = o.screen();
    assert!(screen.contains("Discard the new revision?"), "{screen}");
    snapshot("offline_discard_question", (80, 24), &screen);
}

#[test]
fn the_base_row_under_two_roots() {
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
    let mut o = Offline::open(m.path(), (80, 24));
    o.state(&["a1"]);
    o.app.flash = None;
    o.key("G");
    assert!(o.app.graph.base_selected());
    let screen = o.screen();
    assert!(screen.contains("base"), "{screen}");
    snapshot("offline_base_row", (80, 24), &screen);
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

#[test]
fn long_sql_lines_wrap_in_the_pane_and_the_plan_dialog() {
    let m = long_line_project();
    for (width, height) in SIZES {
        let mut o = Offline::open(m.path(), (width, height));
        o.state(&[]);
        o.app.flash = None;
        o.select("b2");
        let pane = o.screen();
        // The statement goes on, on continuation rows, as far as the pane
        // reaches; the rule says more follows.
        assert!(pane.contains("WHERE"), "{pane}");
        assert!(pane.contains("↪ "), "{pane}");
        if width == 80 {
            assert!(pane.contains("lines 1–2 of 2 ↓"), "{pane}");
        } else {
            assert!(pane.contains("120);"), "{pane}");
        }
        snapshot("offline_sql_pane_wrapped", (width, height), &pane);
        o.keys(&["U", "]"]);
        let dialog = o.screen();
        assert!(dialog.contains("UPGRADE · upgrade to b2"), "{dialog}");
        assert!(dialog.contains("2▸ ↑ upgrade"), "{dialog}");
        assert!(dialog.contains("WHERE"), "{dialog}");
        assert!(dialog.contains("120);"), "{dialog}");
        snapshot("offline_plan_dialog_wrapped", (width, height), &dialog);
    }
}

#[test]
fn cut_sql_lines_scroll_sideways_with_an_arrow_where_they_continue() {
    let m = long_line_project();
    let mut o = Offline::open(m.path(), (80, 24));
    o.state(&[]);
    o.app.flash = None;
    o.select("b2");
    o.keys(&["W", "tab"]);
    let cut = o.screen();
    assert!(!cut.contains(" ↪ "), "lines are cut, not wrapped:\n{cut}");
    assert!(
        cut.contains("→┃"),
        "an arrow where the line continues:\n{cut}"
    );
    assert!(cut.contains("←→ sideways"), "the footer says how:\n{cut}");
    o.keys(&["right", "right", "right"]);
    let scrolled = o.screen();
    assert!(
        scrolled.contains("┃8←"),
        "an arrow where text is hidden:\n{scrolled}"
    );
    assert!(scrolled.contains("· cols "), "{scrolled}");
    snapshot("offline_sql_pane_cut_scrolled", (80, 24), &scrolled);
    // The same choice in the dialog, and the same keys.
    o.resize(200, 50);
    o.key("U");
    o.keys(&["end", "right", "right"]);
    let dialog = o.screen();
    assert!(dialog.contains("←"), "{dialog}");
    assert!(dialog.contains("120);"), "{dialog}");
    snapshot("offline_plan_dialog_cut_scrolled", (200, 50), &dialog);
    o.key("W");
    let wrapped = o.screen();
    assert!(wrapped.contains(" ↪ "), "W wraps again:\n{wrapped}");
}

#[test]
fn a_300_step_plan_scrolls_its_step_table_by_step() {
    let m = long_history();
    let mut o = Offline::open(m.path(), (80, 24));
    o.state(&[]);
    o.app.flash = None;
    let graph = o.screen();
    // Twelve characters would show every row as `v20191100000…`; the one
    // id of the 300s needs only one more.
    assert!(graph.contains("v201911000003… "), "{graph}");
    assert!(graph.contains("v20191100000299…"), "{graph}");
    assert!(!graph.contains("v20191100000…"), "{graph}");
    snapshot("offline_ambiguous_ids_graph", (80, 24), &graph);
    o.key("U");
    let first = o.screen();
    assert!(
        first.contains("  1▸ ↑ upgrade   v20191100000001…"),
        "{first}"
    );
    assert!(
        first.contains("3 without a transaction · 1 irreversible"),
        "{first}"
    );
    for _ in 0..150 {
        o.key("]");
    }
    let middle = o.screen();
    assert!(
        middle.contains("151▸ ↑ upgrade   v20191100000151…"),
        "{middle}"
    );
    assert!(middle.contains("of 300"), "{middle}");
    assert!(
        middle.contains("-- Running upgrade v20191100000150_step -> v20191100000151_step"),
        "the SQL shows the step:\n{middle}"
    );
    snapshot("offline_plan_300_steps_at_151", (80, 24), &middle);
    o.key("[");
    assert!(o.screen().contains("150▸"), "[ goes back one step");
    o.resize(200, 50);
    for _ in 0..149 {
        o.key("]");
    }
    let wide = o.screen();
    assert!(wide.contains("299▸"), "{wide}");
    assert!(wide.contains("irreversible"), "{wide}");
    assert!(
        wide.contains("v20191100000298_step → v20191100000299_step")
            || wide.contains("v20191100000298… → v20191100000299…"),
        "{wide}"
    );
    snapshot("offline_plan_300_steps_at_299", (200, 50), &wide);
}

/// Three pending revisions whose lint finds an error (a dropped column),
/// warnings (a required column added, no timeouts), an index whose every
/// finding the revision's `lint_ignore` silences, and an index on a table
/// created earlier in the plan.
fn hazardous_project() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n\
         CREATE INDEX orders_note ON orders (note);",
        "DROP TABLE orders;",
    )
    .add(
        "b2",
        "a1",
        "reshape accounts",
        "ALTER TABLE accounts\n    DROP COLUMN legacy;\n\
         ALTER TABLE accounts ADD COLUMN email text NOT NULL;",
        "ALTER TABLE accounts DROP COLUMN email;",
    )
    .add_with(
        "c3",
        "b2",
        "index accounts",
        "true\n-- lint_ignore: require-concurrent-index-creation, require-lock-timeout, \
         require-statement-timeout",
        "CREATE INDEX accounts_email ON accounts (email);",
        "DROP INDEX accounts_email;",
    );
    m
}

/// The sizes a worker would read: `accounts` is large.
fn large_accounts() -> WorkerEvent {
    let size = TableSize {
        rows: Some(12_000_000),
        bytes: 4_400_000_000,
    };
    WorkerEvent::TableSizes {
        names: vec!["accounts".to_string(), "orders".to_string()],
        sizes: Ok(BTreeMap::from([("accounts".to_string(), size)])),
    }
}

#[test]
fn plan_dialog_shows_each_steps_hazards() {
    let m = hazardous_project();
    for size in SIZES {
        let mut o = Offline::open(m.path(), size);
        o.state(&[]);
        o.select("c3");
        o.app.flash = None;
        o.commands_sent();
        o.key("U");
        // The dialog asks its worker for the sizes, and draws without them.
        let sent = o.commands_sent();
        assert_eq!(sent, [r#"TableSizes(["accounts", "orders"])"#], "{sent:?}");
        let first = o.screen();
        assert!(
            first.contains("6 hazards: 1 error, 3 warnings, 2 info (3 ignored)"),
            "{first}"
        );
        assert!(first.contains("create orders •2 "), "{first}");
        assert!(first.contains("reshape accounts ✖4 "), "{first}");
        assert!(first.contains("index accounts ·3 "), "{first}");
        assert!(first.contains("lint · step 1 (a1) · 2 hazards"), "{first}");
        assert!(first.contains(" · reading sizes…"), "{first}");
        assert!(first.contains(" • info    require-lock-timeout"), "{first}");
        assert!(
            first.contains("run this upgrade     Esc  close without running  ✖ 1 lint error "),
            "{first}"
        );
        snapshot("offline_plan_lint_step_1", size, &first);
        o.key("]");
        let second = o.screen();
        assert!(
            second.contains(" ✖ error   ban-drop-column  Dropping a column"),
            "{second}"
        );
        // The gutter: the statement's first line carries its timeout
        // warnings, the dropped column's line the error.
        assert!(second.contains("22▲ALTER TABLE accounts "), "{second}");
        assert!(second.contains("23✖    DROP COLUMN legacy;"), "{second}");
        assert!(
            second.contains("25▲ALTER TABLE accounts ADD COLUMN email"),
            "{second}"
        );
        snapshot("offline_plan_lint_step_2", size, &second);
        o.key("]");
        let third = o.screen();
        assert!(third.contains("35·CREATE INDEX accounts_email"), "{third}");
        if size == (200, 50) {
            assert!(
                third.contains(" · ignored require-concurrent-index-creation"),
                "{third}"
            );
            assert!(
                third.contains("safer: set lock_timeout = '1s'; CREATE INDEX"),
                "{third}"
            );
        }
        snapshot("offline_plan_lint_step_3", size, &third);
        // The worker's answer: a required column added to a large table
        // rewrites it under an exclusive lock, an error now.
        o.key("[");
        o.feed(large_accounts());
        let sized = o.screen();
        assert!(
            sized.contains("lint · step 2 (b2) · 4 hazards") && sized.contains(" · live sizes"),
            "{sized}"
        );
        assert!(sized.contains("6 hazards: 2 errors, 2 warnings"), "{sized}");
        if size == (200, 50) {
            assert!(
                sized.contains("adding-required-field  Adding a new column")
                    && sized.contains("table accounts: 12.0 M rows, 4.1 GB"),
                "{sized}"
            );
        }
        snapshot("offline_plan_lint_sized", size, &sized);
    }
}

/// `widgets`, a column added with a default (ACCESS EXCLUSIVE on an
/// existing table), and an index whose downgrade forgets to drop it.
fn rehearsed_revisions() -> Migrations {
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
        "price widgets",
        "ALTER TABLE widgets ADD COLUMN price int DEFAULT 0;",
        "ALTER TABLE widgets DROP COLUMN price;",
    )
    .add(
        "c3",
        "b2",
        "index prices",
        "CREATE INDEX widgets_price_idx ON widgets (price);",
        "SELECT 1;",
    );
    m
}

fn widgets() -> Relation {
    Relation {
        oid: 16384,
        schema: "public".into(),
        name: "widgets".into(),
        kind: RelationKind::Table,
        index_of: None,
    }
}

/// One traced statement that newly took `mode` on `widgets`.
fn traced(sql: &str, mode: LockMode) -> Run {
    let statement = StatementTrace {
        line: 7,
        column: 1,
        sql: sql.into(),
        command: "ALTER TABLE".into(),
        rows: None,
        duration: Duration::from_millis(3),
        observation: Observation::InTransaction,
        transaction: Some(0),
        locks: vec![LockTaken {
            relation: widgets(),
            mode,
            newly_acquired: true,
            new_relation: false,
        }],
        rewrites: Vec::new(),
    };
    Run {
        duration: Duration::from_millis(3),
        trace: StepTrace {
            transactional: true,
            statements: vec![statement],
        },
    }
}

fn step_report(revision: &str, label: &str, upgrade: Run, leaves: Vec<Change>) -> StepReport {
    StepReport {
        revision: revision.into(),
        path: format!("migrations/{revision}.sql").into(),
        label: label.into(),
        irreversible: false,
        downgrade_leaves: leaves,
        reupgrade_differs: Vec::new(),
        failure: None,
        upgrade: Some(upgrade),
        downgrade: None,
        reupgrade: None,
        lint: None,
    }
}

/// What the engine would find for `rehearsed_revisions` from `a1`.
fn rehearsal_found() -> Rehearsal {
    let forgotten = Change {
        key: ObjectKey::new(ObjectKind::Index, "public", "widgets_price_idx"),
        kind: ChangeKind::Extra,
    };
    Rehearsal {
        live: "postgres@localhost:5432/shop".into(),
        server: "postgres@localhost:5432".into(),
        live_heads: vec!["a1".into()],
        drift: Vec::new(),
        steps: vec![
            step_report(
                "b2",
                "upgrade a1 -> b2",
                traced(
                    "ALTER TABLE widgets ADD COLUMN price int DEFAULT 0;",
                    LockMode::AccessExclusive,
                ),
                Vec::new(),
            ),
            step_report(
                "c3",
                "upgrade b2 -> c3",
                traced(
                    "CREATE INDEX widgets_price_idx ON widgets (price);",
                    LockMode::Share,
                ),
                vec![forgotten],
            ),
        ],
        not_rehearsed: Vec::new(),
        total: Duration::from_millis(180),
    }
}

/// The id of the rehearsal the open plan dialog asked for.
fn rehearsal_id(o: &Offline) -> u64 {
    match o.app.dialogs.last() {
        Some(Dialog::Plan(plan)) => plan.rehearsal.as_ref().expect("a rehearsal").id,
        _ => panic!("no plan dialog"),
    }
}

#[test]
fn rehearsal_result_in_the_plan_dialog() {
    let m = rehearsed_revisions();
    for size in SIZES {
        let mut o = Offline::open(m.path(), size);
        o.state(&["a1"]);
        o.select("c3");
        o.keys(&["U", "R"]);
        let sent = o.commands_sent();
        let asked = sent
            .iter()
            .any(|c| c.starts_with("Rehearse(") && c.ends_with(", c3)"));
        assert!(asked, "{sent:?}");
        let id = rehearsal_id(&o);
        o.feed(WorkerEvent::RehearsalProgress {
            id,
            line: "step 1/2: upgrade a1 -> b2".into(),
        });
        let running = o.screen();
        assert!(running.contains("rehearsing"), "{running}");
        snapshot("offline_plan_rehearsing", size, &running);
        o.feed(WorkerEvent::Rehearsed {
            id,
            outcome: RehearsalOutcome::Done(Box::new(rehearsal_found())),
        });
        let first = o.screen();
        assert!(first.contains("NOT reversible"), "{first}");
        assert!(first.contains("!! up line 7:"), "{first}");
        assert!(first.contains("ACCESS EXCLUSIVE on"), "{first}");
        // The SQL stays in view under the rehearsal.
        // (Its line carries the lint's gutter mark: `5▲ALTER`.)
        assert!(
            first.contains("ALTER TABLE widgets ADD COLUMN price"),
            "{first}"
        );
        snapshot("offline_plan_rehearsed", size, &first);
        o.key("]");
        let second = o.screen();
        assert!(second.contains("widgets_price_idx"), "{second}");
        snapshot("offline_plan_rehearsed_step_2", size, &second);
        // A rehearsal confirms nothing: Enter still runs only as it did.
        assert!(matches!(o.app.dialogs.last(), Some(Dialog::Plan(_))));
    }
}

#[test]
fn a_rehearsal_is_dropped_when_the_plan_is_made_again() {
    let m = rehearsed_revisions();
    let mut o = Offline::open(m.path(), (80, 24));
    o.state(&["a1"]);
    o.select("c3");
    o.keys(&["U", "R"]);
    let id = rehearsal_id(&o);
    o.feed(WorkerEvent::Rehearsed {
        id,
        outcome: RehearsalOutcome::Done(Box::new(rehearsal_found())),
    });
    assert!(o.screen().contains("NOT reversible"));
    // The index revision gains a statement: the dialog re-plans.
    let file = m.path().join("c3_test.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    let more = "(price);\nCREATE INDEX widgets_id_idx ON widgets (id);";
    std::fs::write(&file, text.replace("(price);", more)).unwrap();
    o.app.on_files_event(WatchEvent::Changed);
    let screen = o.screen();
    assert!(!screen.contains("NOT reversible"), "{screen}");
    assert!(!screen.contains("rehearsed"), "{screen}");
}

/// A type change the trace sees rewrite nothing, then an index build it
/// sees block writes.
fn judged_revisions() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create widgets",
        "CREATE TABLE widgets (id int, name varchar(20));",
        "DROP TABLE widgets;",
    )
    .add(
        "b2",
        "a1",
        "name as text",
        "ALTER TABLE widgets ALTER COLUMN name TYPE text;",
        "ALTER TABLE widgets ALTER COLUMN name TYPE varchar(20);",
    )
    .add(
        "c3",
        "b2",
        "index names",
        "CREATE INDEX widgets_name_idx ON widgets (name);",
        "DROP INDEX widgets_name_idx;",
    );
    m
}

/// The trace of `judged_revisions` from `a1`: no rewrite for the type
/// change, SHARE on `widgets` for the index.
fn judged_rehearsal() -> Rehearsal {
    let step = |revision: &str, label: &str, sql: &str, mode| {
        step_report(revision, label, traced(sql, mode), Vec::new())
    };
    Rehearsal {
        live: "postgres@localhost:5432/shop".into(),
        server: "postgres@localhost:5432".into(),
        live_heads: vec!["a1".into()],
        drift: Vec::new(),
        steps: vec![
            step(
                "b2",
                "upgrade a1 -> b2",
                "ALTER TABLE widgets ALTER COLUMN name TYPE text;",
                LockMode::AccessExclusive,
            ),
            step(
                "c3",
                "upgrade b2 -> c3",
                "CREATE INDEX widgets_name_idx ON widgets (name);",
                LockMode::Share,
            ),
        ],
        not_rehearsed: Vec::new(),
        total: Duration::from_millis(120),
    }
}

/// The worker's answer to the open dialog's rehearsal: `judged_rehearsal`.
fn finish_judged_rehearsal(o: &mut Offline) {
    let id = rehearsal_id(o);
    o.feed(WorkerEvent::Rehearsed {
        id,
        outcome: RehearsalOutcome::Done(Box::new(judged_rehearsal())),
    });
}

#[test]
fn the_trace_judges_the_hazards_in_the_plan_dialog() {
    for size in SIZES {
        // Files of its own: the end of the test edits them.
        let m = judged_revisions();
        let mut o = Offline::open(m.path(), size);
        o.state(&["a1"]);
        o.select("c3");
        o.keys(&["U", "R"]);
        let before = o.screen();
        assert!(before.contains("3 hazards"), "{before}");
        assert!(!before.contains("by the trace"), "{before}");
        finish_judged_rehearsal(&mut o);
        let first = o.screen();
        assert!(first.contains("refuted by the trace"), "{first}");
        snapshot("offline_plan_trace_refutes", size, &first);
        o.key("]");
        let second = o.screen();
        assert!(second.contains("confirmed by the trace"), "{second}");
        snapshot("offline_plan_trace_confirms", size, &second);
        // Rehearsing again drops the verdicts until the new result.
        o.key("R");
        let rehearsing = o.screen();
        assert!(rehearsing.contains("rehearsing"), "{rehearsing}");
        assert!(!rehearsing.contains("by the trace"), "{rehearsing}");
        finish_judged_rehearsal(&mut o);
        assert!(o.screen().contains("confirmed by the trace"));
        // Made again, the plan drops the rehearsal and its verdicts.
        let file = m.path().join("c3_test.sql");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("(name);", "(name, id);")).unwrap();
        o.app.on_files_event(WatchEvent::Changed);
        let again = o.screen();
        assert!(again.contains("edited   c3_test.sql"), "{again}");
        assert!(!again.contains("by the trace"), "{again}");
        assert!(!again.contains("▲3✓"), "{again}");
    }
}
