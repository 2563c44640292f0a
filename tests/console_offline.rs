//! Snapshots of the console's screens with no database: the real `App` on
//! revision files, fed the `WorkerEvent`s a worker would send (refresh
//! answers, executor events of a run, its end), drawn on a ratatui
//! `TestBackend` at 80x24 and 200x50. Flows that need a real server stay in
//! `console_flows.rs`, `console_prompts.rs` and `lock_queue.rs`.

mod common;
mod console_harness;

use std::time::Duration;

use console_harness::offline::{Offline, RunAsked};
use console_harness::{Migrations, demo_migrations, snapshot_filters};
use retort::db::ExecEvent;
use retort::db::events::{Aftermath, Blocker, ExecError, Queued, StatementError, WaitNews};
use retort::engine::{Error, ExecFailure, Recovery, RunError};
use retort::tui::dialogs::Dialog;
use retort::tui::worker::WorkerEvent;

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
        assert!(screen.contains("7a4d2c9e1f60  current"), "{screen}");
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
