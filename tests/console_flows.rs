//! The console driven by key events against a real PostgreSQL, one fresh
//! database per test; every test checks the database afterwards.

mod common;
mod console_harness;

use std::time::{Duration, Instant};

use common::TestDb;
use console_harness::{
    Harness, Migrations, Setup, console, demo_migrations, linear, table_exists, url_for,
    version_rows,
};
use crossterm::event::MouseEventKind;
use retort::core::lint::Severity;
use retort::tui::app::{Connection, Pane};
use retort::tui::dialogs::{Confirm, Dialog, RehearsalState, single_line};
use retort::tui::plan_lint::Sizes;

fn plan_dialog_open(h: &Harness) -> bool {
    matches!(h.app.dialogs.last(), Some(Dialog::Plan(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_follows_the_selected_branch() {
    let db = TestDb::create().await;
    let mut h = Harness::connected(Setup::new(demo_migrations(), Some(url_for(&db.name)))).await;
    let client = db.client().await;

    // The trunk first: one step from base goes to the first revision.
    h.select("c94a2f7e5d10");
    h.key("u");
    assert!(plan_dialog_open(&h), "{}", h.screen());
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["4f1c8a2e9b07"]);
    for _ in 0..4 {
        h.key("u");
        h.key("enter");
        h.until_idle().await;
    }
    assert_eq!(version_rows(&client).await, ["c94a2f7e5d10"]);

    // c94a2f7e5d10 is a branch point: with the audit branch selected, one
    // step goes there and nowhere else.
    h.select("f6a0e2c8b435");
    h.key("u");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["2d7c4b9f0e13"]);
    assert!(table_exists(&client, "audit_log").await);
    assert!(
        !table_exists(&client, "plans").await,
        "the billing branch stays untouched"
    );

    // Now with billing selected: the next billing revision, beside the audit head.
    h.select("7a4d2c9e1f60");
    h.key("u");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(
        version_rows(&client).await,
        ["2d7c4b9f0e13", "5e8b3d1c7f46"]
    );
    assert_eq!(
        h.rows(),
        ["2d7c4b9f0e13", "5e8b3d1c7f46"],
        "the console shows it"
    );
    let log = h.log_text();
    assert!(
        log.contains("▶ [1/1] upgrade 5e8b3d1c7f46 create plans (transaction)"),
        "{log}"
    );
    // Nobody held the migration lock: the log says nothing about waiting.
    assert!(log.contains("took the migration lock\n"), "{log}");
    assert!(!log.contains("after waiting"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_revision_with_nothing_above_says_so() {
    let db = TestDb::create().await;
    let m = linear();
    let mut h = console(&db, &m).await;
    h.select("c3");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    h.key("u");
    assert!(h.app.dialogs.is_empty());
    assert!(h.flash().contains("Nothing to do"), "{}", h.flash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downgrade_needs_a_deliberate_key() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("c3");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["c3"]);

    h.select("a1");
    h.key("D");
    let screen = h.screen();
    assert!(screen.contains("⚠ DOWNGRADE · downgrade to a1"), "{screen}");
    assert!(
        screen.contains("↓ downgrade c3") || screen.contains("↓ downgrade"),
        "{screen}"
    );
    // Enter by reflex does nothing but explain.
    h.key("enter");
    h.pump(Duration::from_millis(300)).await;
    assert!(plan_dialog_open(&h));
    assert!(h.app.run.is_none());
    assert!(
        h.screen()
            .contains("Enter does not run a DOWNGRADE: press Y")
    );
    assert_eq!(version_rows(&client).await, ["c3"], "nothing ran");

    h.key("Y");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert!(table_exists(&client, "t1").await);
    assert!(!table_exists(&client, "t2").await && !table_exists(&client, "t3").await);

    // One step down from a single head: Alembic's -1.
    h.select("a1");
    h.key("d");
    h.key("Y");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, Vec::<String>::new());
    assert!(!table_exists(&client, "t1").await);
    assert!(
        h.screen()
            .contains("database at base (empty version table)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_long_step_on_the_server() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "slow step",
        "CREATE TABLE t2 (id int);\nSELECT pg_sleep(60);",
        "DROP TABLE t2;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until("the slow statement", |app| {
        app.run
            .as_ref()
            .and_then(|r| r.current.as_ref())
            .is_some_and(|(i, _)| *i == 1)
    })
    .await;
    h.pump(Duration::from_millis(300)).await;
    let running = h.screen();
    assert!(running.contains("step 2/2"), "{running}");
    // Quitting is refused while it runs.
    h.key("q");
    assert!(!h.app.should_quit());

    let asked = Instant::now();
    h.key("esc");
    assert!(matches!(h.app.dialogs.last(), Some(Dialog::ConfirmCancel)));
    h.key("y");
    h.until_idle().await;
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "the cancel was not prompt"
    );
    assert!(
        h.flash()
            .contains("Cancelled: the running step was rolled back"),
        "{}",
        h.flash()
    );
    let log = h.log_text();
    assert!(log.contains("cancel request sent to the server"), "{log}");
    assert!(
        log.contains("ERROR 57014: cancelled by the user during step 2"),
        "{log}"
    );
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert!(table_exists(&client, "t1").await);
    assert!(!table_exists(&client, "t2").await, "step 2 was rolled back");
    h.key("q");
    assert!(h.app.should_quit());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_mid_plan_keeps_the_steps_before_it() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "broken",
        "CREATE TABLE t2 (id int);\nINSERT INTO t2 VALUES ('not a number');",
        "DROP TABLE t2;",
    )
    .add(
        "c3",
        "b2",
        "create t3",
        "CREATE TABLE t3 (id int);",
        "DROP TABLE t3;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("c3");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    let log = h.log_text();
    let failing = m.path().join("b2_test.sql");
    assert!(
        log.contains(&format!("{}:8:", failing.display())) && log.contains("ERROR 22P02"),
        "the error names the file and line: {log}"
    );
    assert!(log.contains("(1 of 3 step(s) committed)"), "{log}");
    assert!(
        h.flash()
            .starts_with("Failed: upgrade to c3 stopped at step 2 of 3"),
        "{}",
        h.flash()
    );
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert_eq!(h.rows(), ["a1"]);
    assert!(table_exists(&client, "t1").await);
    assert!(!table_exists(&client, "t2").await && !table_exists(&client, "t3").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamp_moves_only_the_version_table() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("s");
    assert!(h.screen().contains("⚠ STAMP · stamp b2"));
    h.key("enter");
    assert!(plan_dialog_open(&h), "Enter does not confirm a stamp");
    h.key("Y");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
    assert!(!table_exists(&client, "t1").await && !table_exists(&client, "t2").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_environment_wants_its_name_typed() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    setup.config = format!(
        "[environments.prod]\nurl = \"{}\"\nprotected = true\n",
        url_for(&db.name)
    );
    setup.env = Some("prod".to_string());
    let mut h = Harness::connected(setup).await;
    assert!(h.screen().contains(" prod · PROTECTED "));
    // Upgrades confirm as usual.
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);

    h.select("a1");
    h.key("D");
    assert!(h.screen().contains("prod is a protected environment"));
    h.key("Y");
    h.key("enter");
    h.pump(Duration::from_millis(200)).await;
    assert!(
        h.app.run.is_none() && plan_dialog_open(&h),
        "neither Y nor a wrong name runs it"
    );
    assert!(
        h.screen()
            .contains("Type the environment name 'prod' exactly")
    );
    for _ in 0..3 {
        h.key("backspace");
    }
    h.type_text("prod");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["a1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_down_at_start_then_back_on_refresh() {
    let db = TestDb::create().await;
    let m = linear();
    // A database that does not exist yet: the server refuses the connection.
    let later = format!("{}_later", db.name);
    let mut h = Harness::open(Setup::new(m.path(), Some(url_for(&later)))).await;
    h.until("the first refresh", |app| {
        matches!(app.server.connection, Connection::Unreachable(_))
    })
    .await;
    let screen = h.screen();
    assert!(screen.contains("✗ unreachable"), "{screen}");
    assert!(
        screen.contains(&format!("database \"{later}\" does not exist")),
        "{screen}"
    );
    assert!(
        screen.contains("c3 (head) create t3"),
        "the graph is shown: {screen}"
    );
    assert!(h.log_text().contains("press r to retry"));
    h.select("c3");
    h.key("U");
    assert!(h.app.dialogs.is_empty());
    assert!(h.flash().starts_with("Not connected"), "{}", h.flash());

    let admin = db.client().await;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{later}\""))
        .await
        .expect("create");
    h.key("r");
    h.until("the reconnect", |app| {
        app.server.connection == Connection::Connected
    })
    .await;
    assert!(h.screen().contains("● connected"));
    assert!(h.log_text().contains("connected to"));
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(h.rows(), ["c3"]);
    drop(h);
    admin
        .batch_execute(&format!("DROP DATABASE \"{later}\" WITH (FORCE)"))
        .await
        .expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_lost_mid_run_is_reported_and_recovered() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "slow step",
        "CREATE TABLE t2 (id int);\nSELECT pg_sleep(60);",
        "DROP TABLE t2;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until("the slow statement", |app| {
        app.run
            .as_ref()
            .and_then(|r| r.current.as_ref())
            .is_some_and(|(i, _)| *i == 1)
    })
    .await;
    // Wait for the sleep to be running, then kill its backend.
    let mut killed = false;
    for _ in 0..100 {
        let rows = client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("terminate");
        if !rows.is_empty() {
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(killed, "the migration's backend was not found");
    h.until("the run to end", |app| app.run.is_none()).await;
    let flash = h.flash();
    assert!(
        flash.starts_with("Connection lost during the run (1 of 2 step(s) committed)"),
        "{flash}"
    );
    assert!(h.log_text().contains("Connection lost during the run"));
    // The pool drops the dead connection; the console reads the state again.
    h.key("r");
    h.until("the refresh", |app| {
        !app.server.refreshing && app.server.connection == Connection::Connected
    })
    .await;
    assert_eq!(h.rows(), ["a1"]);
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert!(
        !table_exists(&client, "t2").await,
        "the open transaction was rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_plans_never_run_at_once() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add("a1", "", "slow", "SELECT pg_sleep(3);", "").add(
        "b2",
        "",
        "other base",
        "CREATE TABLE t2 (id int);",
        "DROP TABLE t2;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until("the run", |app| {
        app.run.as_ref().is_some_and(|r| r.current.is_some())
    })
    .await;
    h.select("b2");
    h.key("U");
    assert!(h.app.dialogs.is_empty(), "no second plan dialog");
    assert!(h.flash().contains("already running"), "{}", h.flash());
    // The worker refuses a second run too, whoever asks.
    let map = h.app.graph.map.clone();
    h.worker
        .commands
        .send(retort::tui::worker::Command::Run(
            retort::tui::worker::RunRequest {
                id: 99,
                map,
                run: retort::engine::RunRequest {
                    intent: retort::core::plan::Intent::Upgrade {
                        target: "b2".into(),
                    },
                    approved: None,
                    atomic: false,
                    consent: Default::default(),
                    wait: Default::default(),
                },
            },
        ))
        .expect("send");
    h.until_idle().await;
    assert!(
        h.log_text()
            .contains("the plan was not started: plan 1 is still running"),
        "{}",
        h.log_text()
    );
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert!(!table_exists(&client, "t2").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_sql_and_the_log_are_written_to_files() {
    let db = TestDb::create().await;
    let m = linear();
    let out = tempfile::tempdir().expect("tempdir");
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    h.key("w");
    assert!(matches!(h.app.dialogs.last(), Some(Dialog::Write(_))));
    let sql_path = out.path().join("plan.sql");
    h.key("ctrl-u"); // clear the suggested name
    h.type_text(&sql_path.display().to_string());
    h.key("enter");
    assert!(plan_dialog_open(&h), "back in the plan dialog");
    let sql = std::fs::read_to_string(&sql_path).expect("written");
    assert!(
        sql.contains("CREATE TABLE t1 (id int);") && sql.contains("CREATE TABLE t2 (id int);"),
        "{sql}"
    );
    assert!(
        sql.contains("INSERT INTO alembic_version (version_num) VALUES ('a1')"),
        "{sql}"
    );
    assert!(!sql.contains("t3"), "{sql}");
    h.key("esc");
    assert!(
        version_rows(&db.client().await).await.is_empty(),
        "writing ran nothing"
    );

    // The log, from the log pane.
    h.key("tab");
    h.key("tab");
    assert_eq!(h.app.focus, Pane::Log);
    h.key("w");
    let log_path = out.path().join("console.log");
    h.key("ctrl-u");
    h.type_text(&log_path.display().to_string());
    h.key("enter");
    let log = std::fs::read_to_string(&log_path).expect("log written");
    assert!(log.contains("connected: PostgreSQL"), "{log}");
    assert!(log.contains("Wrote the SQL of 'upgrade to b2'"), "{log}");
    // An existing file is only replaced on a second Enter.
    h.key("w");
    h.key("ctrl-u");
    h.type_text(&log_path.display().to_string());
    h.key("enter");
    assert!(
        h.screen()
            .contains("exists: press Enter again to replace it")
    );
    h.key("enter");
    assert!(h.app.dialogs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_is_written_after_the_head() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.key("n");
    assert!(matches!(h.app.dialogs.last(), Some(Dialog::NewRevision(_))));
    h.type_text("add t4");
    h.key("tab"); // After: c3, the single head, already filled in
    h.key("tab"); // Branch label
    h.key("tab"); // Depends on
    h.key("tab"); // Transactional
    h.key("tab"); // Upgrade SQL
    h.type_text("CREATE TABLE t4 (id int);");
    h.key("tab");
    h.type_text("DROP TABLE t4;");
    h.key("ctrl-s");
    assert!(h.app.dialogs.is_empty(), "{}", h.screen());
    let files: Vec<String> = std::fs::read_dir(m.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with("_add_t4.sql"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(m.path().join(&files[0])).expect("read");
    assert!(text.contains("-- down_revision: c3"), "{text}");
    assert!(text.contains("CREATE TABLE t4 (id int);"), "{text}");
    // The graph has it, selected, as the new head; upgrading runs it.
    let id = files[0].split('_').next().unwrap_or_default().to_string();
    assert_eq!(
        h.app
            .graph
            .selected_revision()
            .map(|i| h.app.graph.map.id(i).to_string()),
        Some(id.clone())
    );
    assert!(h.screen().contains(&format!("{id} (head) add t4")));
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, [id]);
    assert!(table_exists(&client, "t4").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_revision_form_explains_bad_input() {
    let db = TestDb::create().await;
    let m = linear();
    let mut h = console(&db, &m).await;
    h.key("n");
    h.key("tab");
    h.key("ctrl-u");
    h.type_text("nosuch");
    h.key("ctrl-s");
    assert!(
        h.screen()
            .contains("After: Can't locate revision identified by 'nosuch'")
            || h.screen().contains("After:"),
        "{}",
        h.screen()
    );
    assert!(
        matches!(h.app.dialogs.last(), Some(Dialog::NewRevision(_))),
        "the form stays open"
    );
    h.key("esc");
    assert_eq!(
        std::fs::read_dir(m.path()).expect("dir").count(),
        3,
        "nothing written"
    );
}

/// Two revisions with Alembic-length ids, so that prefixes resolve.
fn long_ids() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a27f0c1d2e3f",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b38e1d2c3b4a",
        "a27f0c1d2e3f",
        "create t2",
        "CREATE TABLE t2 (id int);",
        "DROP TABLE t2;",
    );
    m
}

/// Opens the new-revision form, fills the message, the branch label and
/// depends_on (After keeps the head it starts with) and saves.
fn save_form(h: &mut Harness, message: &str, label: &str, depends_on: &str) {
    h.key("n");
    h.type_text(message);
    h.key("tab"); // After
    h.key("tab"); // Branch label
    h.type_text(label);
    h.key("tab"); // Depends on
    h.type_text(depends_on);
    h.key("ctrl-s");
}

fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_revision_form_writes_only_what_the_project_loads() {
    let db = TestDb::create().await;
    let m = long_ids();
    let mut h = console(&db, &m).await;
    let before = file_names(&m.path());

    // A label that is an existing id: refused, the form stays, nothing written.
    save_form(&mut h, "clash", "a27f0c1d2e3f", "");
    let screen = h.screen();
    assert!(
        screen.contains("branch label 'a27f0c1d2e3f': is the id of a revision"),
        "{screen}"
    );
    assert!(matches!(h.app.dialogs.last(), Some(Dialog::NewRevision(_))));
    assert_eq!(file_names(&m.path()), before, "nothing written");
    h.keys(&["esc", "y"]); // discard what was typed

    // A dependency that names nothing: the same.
    save_form(&mut h, "dangling", "", "zzzz");
    assert!(h.screen().contains("depends_on 'zzzz'"), "{}", h.screen());
    assert_eq!(file_names(&m.path()), before, "nothing written");
    h.keys(&["esc", "y"]); // discard what was typed

    // A prefix as depends_on is written as the full id, so the files load.
    save_form(&mut h, "with dep", "", "a27f");
    assert!(h.app.dialogs.is_empty(), "{}", h.screen());
    let written: Vec<String> = file_names(&m.path())
        .into_iter()
        .filter(|n| n.ends_with("_with_dep.sql"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let text = std::fs::read_to_string(m.path().join(&written[0])).expect("read");
    assert!(text.contains("-- depends_on: a27f0c1d2e3f\n"), "{text}");
    assert!(text.contains("-- down_revision: b38e1d2c3b4a\n"), "{text}");
    // The project loads it: the command line agrees.
    let cwd = tempfile::tempdir().expect("temp dir");
    let heads = std::process::Command::new(env!("CARGO_BIN_EXE_retort"))
        .current_dir(cwd.path())
        .arg("--migrations")
        .arg(m.path())
        .arg("heads")
        .output()
        .expect("retort runs");
    assert_eq!(heads.status.code(), Some(0), "{heads:?}");
    let id = written[0].split('_').next().unwrap_or_default().to_string();
    assert_eq!(
        String::from_utf8_lossy(&heads.stdout),
        format!("{id} (head)\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_edits_and_the_console_reloads() {
    let db = TestDb::create().await;
    let m = linear();
    let mut h = console(&db, &m).await;
    // A scripted "editor" that changes the message of the file it gets.
    h.app.editor = "sed -i 's/-- message: create t2/-- message: create table two/'".to_string();
    h.select("b2");
    h.key("e");
    let effect = h.app.take_effect().expect("an edit effect");
    let retort::tui::app::Effect::Edit(path) = effect;
    assert_eq!(path, m.path().join("b2_test.sql"));
    // What the loop does with the effect (without a terminal to suspend).
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} \"$1\"", h.app.editor))
        .arg("editor")
        .arg(&path)
        .status()
        .expect("editor");
    assert!(status.success());
    h.app.after_edit(&path, Ok("sed".to_string()));
    assert!(h.screen().contains("b2 create table two"));
    assert_eq!(
        h.app
            .graph
            .selected_revision()
            .map(|i| h.app.graph.map.id(i).to_string())
            .as_deref(),
        Some("b2")
    );

    // A broken edit keeps the old graph and says why.
    std::fs::write(&path, "-- revision: b2\n-- down_revision: a1\n").expect("break it");
    h.app.after_edit(&path, Ok("sed".to_string()));
    let screen = h.screen();
    assert!(
        screen.contains("The revision files do not load"),
        "{screen}"
    );
    assert!(screen.contains("b2_test.sql"), "{screen}");
    h.key("esc");
    assert!(
        h.screen().contains("b2 create table two"),
        "the old graph stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_narrows_the_graph() {
    let db = TestDb::create().await;
    let mut h = Harness::connected(Setup::new(demo_migrations(), Some(url_for(&db.name)))).await;
    h.key("/");
    h.type_text("audit");
    let screen = h.screen();
    assert!(screen.contains("filter \"audit\": "), "{screen}");
    assert!(
        screen.contains("2d7c4b9f0e13") && screen.contains("6c9d1a5e7b82"),
        "{screen}"
    );
    assert!(!screen.contains("create plans"), "{screen}");
    let shown = h.app.graph.entries.len();
    assert!(shown < h.app.graph.map.len() && shown >= 3, "{shown}");
    h.key("enter");
    assert!(
        h.app.graph.search.is_none() && h.app.graph.filter.is_some(),
        "Enter keeps the filter"
    );
    h.key("esc");
    assert!(h.app.graph.filter.is_none());
    assert_eq!(
        h.app.graph.entries.len(),
        h.app.graph.map.len() + 1,
        "every revision, and base"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mouse_selects_and_scrolls() {
    let db = TestDb::create().await;
    let mut h = Harness::connected(Setup::new(demo_migrations(), Some(url_for(&db.name)))).await;
    h.draw();
    let rows = h.view.areas.graph_rows;
    h.click(rows.x + 5, rows.y + 3);
    assert_eq!(h.app.graph.selected, 3);
    assert_eq!(h.app.focus, Pane::Graph);
    h.mouse(MouseEventKind::ScrollDown, rows.x + 5, rows.y + 3);
    assert_eq!(h.app.graph.selected, 6);
    let log = h.view.areas.log;
    h.click(log.x + 3, log.y + 1);
    assert_eq!(h.app.focus, Pane::Log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_the_config_file() {
    let db = TestDb::create().await;
    let m = linear();
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    setup.config = "[keys]\nupgrade_to = \"x\"\ndown = [\"J\"]\n".to_string();
    let mut h = Harness::connected(setup).await;
    h.key("U");
    assert!(h.app.dialogs.is_empty(), "U is no longer bound");
    h.key("j");
    assert_eq!(h.app.graph.selected, 0, "j no longer moves");
    h.key("J");
    assert_eq!(h.app.graph.selected, 1, "J moves down now");
    let screen = h.screen();
    assert!(
        screen.contains("x upgrade to"),
        "the footer shows the configured key"
    );
    assert!(!screen.contains("U upgrade to"), "and not the old one");
    h.key("?");
    let help = h.screen();
    let line = |what: &str| {
        help.lines()
            .find(|line| line.contains(what))
            .unwrap_or_else(|| panic!("{what} is not in the help:\n{help}"))
            .to_string()
    };
    let down = line("move down / scroll down");
    assert!(down.contains(" J "), "help shows the new key: {down}");
    assert!(
        !down.contains('j') && !down.contains('↓'),
        "not the old: {down}"
    );
    let upgrade = line("upgrade to the selected revision");
    assert!(upgrade.contains(" x "), "{upgrade}");
    assert!(!upgrade.contains(" U "), "{upgrade}");
    h.key("esc");
    h.key("x");
    assert!(plan_dialog_open(&h));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_notices_keeps_the_log_bounded() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "noisy",
        "DO $$ BEGIN FOR i IN 1..100000 LOOP RAISE NOTICE 'tick %', i; END LOOP; END $$;",
        "",
    );
    let mut h = console(&db, &m).await;
    h.key("U");
    h.key("enter");
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while h.app.run.is_some() {
        // One frame: events for a while, then a draw.
        h.pump(Duration::from_millis(16)).await;
        let frame = Instant::now();
        h.draw();
        slowest = slowest.max(frame.elapsed());
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run did not end"
        );
    }
    let log = h.log_text();
    assert!(log.contains("tick 100000"), "the last notice arrives");
    assert!(log.contains("■ done: 1 step(s)"));
    assert!(h.app.log.len() <= retort::tui::log::DEFAULT_LOG_CAPACITY);
    assert!(h.app.log.dropped() > 90_000, "{}", h.app.log.dropped());
    println!(
        "100k notices: {:?}, slowest frame {slowest:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_a_file_are_flagged_and_plans_explain() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
             INSERT INTO alembic_version VALUES ('a1'), ('0ddba11deadc');",
        )
        .await
        .expect("seed");
    let mut h = console(&db, &m).await;
    let screen = h.screen();
    assert!(screen.contains("✗ 0ddba11deadc  file missing"), "{screen}");
    assert!(screen.contains("1 row(s) without a file"), "{screen}");
    h.key("g");
    let screen = h.screen();
    assert!(
        screen.contains("The version table holds 0ddba11deadc, but no file"),
        "{screen}"
    );
    h.key("U");
    assert!(h.app.dialogs.is_empty());
    assert!(h.flash().contains("Select a revision"), "{}", h.flash());
    h.select("c3");
    h.key("U");
    assert!(h.app.dialogs.is_empty());
    assert!(
        h.flash().contains("0ddba11deadc"),
        "the plan error names the row: {}",
        h.flash()
    );
    assert_eq!(
        version_rows(&client).await,
        ["0ddba11deadc", "a1"],
        "nothing ran"
    );
    // The way out: stamp a revision that exists, replacing every row.
    h.select("b2");
    h.key("s");
    let screen = h.screen();
    assert!(screen.contains("stamp b2, replacing every row"), "{screen}");
    assert!(
        screen.contains("every row of the version table is deleted first"),
        "{screen}"
    );
    h.key("Y");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
    assert!(!h.screen().contains("file missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_elsewhere_show_up_while_idle() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    setup.refresh_every = Some(Duration::from_millis(200));
    let mut h = Harness::connected(setup).await;
    assert!(h.rows().is_empty());
    // Another migrator (or Alembic) moves the database.
    client
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
             INSERT INTO alembic_version VALUES ('b2');",
        )
        .await
        .expect("stamp elsewhere");
    h.until("the idle refresh", |app| {
        app.server.db.as_ref().is_some_and(|d| d.rows == ["b2"])
    })
    .await;
    assert!(h.screen().contains("database at b2  │  1 pending"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_is_shown_at_once_and_highlighted_when_ready() {
    let db = TestDb::create().await;
    let m = linear();
    let mut h = console(&db, &m).await;
    h.select("a1");
    // Find the keyword CREATE in the SQL pane and read its colour.
    let create_color = |h: &mut Harness| {
        h.draw();
        let area = h.view.areas.sql;
        let buffer = h.terminal.backend().buffer();
        (area.y..area.bottom()).find_map(|y| {
            (area.x..area.right()).find_map(|x| {
                let text: String = (x..(x + 6).min(area.right()))
                    .map(|cx| buffer[(cx, y)].symbol().to_string())
                    .collect();
                (text == "CREATE").then(|| buffer[(x, y)].fg)
            })
        })
    };
    assert!(
        create_color(&mut h).is_some(),
        "the SQL is on screen right away"
    );
    let mut colored = false;
    for _ in 0..200 {
        if create_color(&mut h).is_some_and(|c| c != ratatui::style::Color::Reset) {
            colored = true;
            break;
        }
        h.pump(Duration::from_millis(20)).await;
    }
    assert!(colored, "CREATE is highlighted:\n{}", h.screen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_made_on_a_stale_state_is_refused() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    // Someone else applies a1 while the dialog is open.
    client
        .batch_execute(
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
             INSERT INTO alembic_version VALUES ('a1'); CREATE TABLE t1 (id int);",
        )
        .await
        .expect("elsewhere");
    h.key("enter");
    h.until_idle().await;
    let flash = h.flash();
    assert!(
        flash.starts_with("Not run: upgrade to b2: the database moved since the plan was shown"),
        "{flash}"
    );
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert!(!table_exists(&client, "t2").await);
    assert_eq!(h.rows(), ["a1"], "the console shows the new state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waits_for_the_migration_lock_and_records_history() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let holder = db.client().await;
    holder
        .batch_execute("SELECT pg_advisory_lock(1381257812, hashtext('public.alembic_version'))")
        .await
        .expect("hold the lock");
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until("the wait for the lock", |app| {
        app.log
            .lines()
            .any(|l| l.text.contains("waiting for the migration lock"))
    })
    .await;
    let log = h.log_text();
    assert!(
        log.contains("held by:") && log.contains("pid "),
        "the holder is named: {log}"
    );
    assert!(
        version_rows(&client).await.is_empty(),
        "nothing ran while waiting"
    );
    holder
        .batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .expect("release");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
    let log = h.log_text();
    assert!(
        log.contains("took the migration lock after waiting"),
        "{log}"
    );
    assert!(log.contains("released the migration lock"), "{log}");
    let recorded: Vec<(String, String)> = client
        .query(
            "SELECT revision, status FROM retort_history ORDER BY id",
            &[],
        )
        .await
        .expect("history")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        recorded,
        [
            ("a1".to_string(), "success".to_string()),
            ("b2".to_string(), "success".to_string())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_waiting_for_the_lock_runs_nothing() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let holder = db.client().await;
    holder
        .batch_execute("SELECT pg_advisory_lock(1381257812, hashtext('public.alembic_version'))")
        .await
        .expect("hold the lock");
    let mut h = console(&db, &m).await;
    h.key("U");
    h.key("enter");
    h.until("the wait for the lock", |app| {
        app.log
            .lines()
            .any(|l| l.text.contains("waiting for the migration lock"))
    })
    .await;
    h.key("esc");
    h.key("y");
    h.until_idle().await;
    assert!(h.flash().contains("nothing ran"), "{}", h.flash());
    assert!(version_rows(&client).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_flagged_and_needs_a_deliberate_key() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    // The applied file changes afterwards.
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int, note text);",
        "DROP TABLE t1;",
    );
    h.key("r");
    h.until("the drift", |app| !app.server.drift_of("a1").is_empty())
        .await;
    let screen = h.screen();
    assert!(screen.contains("changed since applied"), "{screen}");
    assert!(screen.contains("⚠ drift: 1"), "{screen}");
    assert!(
        h.log_text().contains("DRIFT   changed file: a1"),
        "{}",
        h.log_text()
    );

    h.select("b2");
    h.key("U");
    let dialog = h.screen();
    assert!(
        dialog.contains("the revision files and the database disagree"),
        "{dialog}"
    );
    h.key("enter");
    h.pump(Duration::from_millis(200)).await;
    assert!(
        plan_dialog_open(&h) && h.app.run.is_none(),
        "Enter does not run on top of drift"
    );
    h.key("Y");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_stopped_halfway_blocks_further_runs() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add_with(
        "a1",
        "",
        "two statements, no transaction",
        "false",
        "CREATE TABLE t1 (id int);\nINSERT INTO nosuch VALUES (1);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "create t2",
        "CREATE TABLE t2 (id int);",
        "DROP TABLE t2;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert!(
        table_exists(&client, "t1").await,
        "the first statement stays applied"
    );
    assert!(
        h.log_text()
            .contains("1 statement(s) of this revision ran and stay applied")
    );
    h.until("the partial step", |app| {
        !app.server.drift_of("a1").is_empty()
    })
    .await;
    assert!(h.screen().contains("stopped halfway"));
    h.select("b2");
    h.key("U");
    let screen = h.screen();
    assert!(
        screen.contains("This plan cannot run from here."),
        "{screen}"
    );
    h.key("Y");
    h.key("enter");
    assert!(h.app.run.is_none() && plan_dialog_open(&h));
    assert!(version_rows(&client).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_waiting_on_a_lock_shows_who_blocks_it() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    // Another session holds t1 in an open transaction.
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE t1 IN ACCESS EXCLUSIVE MODE;")
        .await
        .expect("lock t1");
    let m2 = &m;
    m2.add(
        "b2",
        "a1",
        "alter t1",
        "ALTER TABLE t1 ADD COLUMN note text;",
        "ALTER TABLE t1 DROP COLUMN note;",
    );
    h.key("r");
    h.pump(Duration::from_millis(200)).await;
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until("the blocked statement", |app| {
        app.run.as_ref().is_some_and(|r| r.waiting.is_some())
    })
    .await;
    // Several looks while it waits, one report in the log.
    h.pump(Duration::from_millis(1500)).await;
    let screen = h.screen();
    assert!(screen.contains("◔ waiting for"), "{screen}");
    let reports = h
        .app
        .log
        .lines()
        .filter(|l| l.text.contains("waits for"))
        .count();
    assert_eq!(reports, 1, "{}", h.log_text());
    assert!(
        h.log_text().contains("idle in transaction"),
        "{}",
        h.log_text()
    );
    blocker.batch_execute("COMMIT").await.expect("release");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
    assert!(h.log_text().contains("stopped waiting after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_history_lists_every_step_newest_first() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create t1",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add("b2", "a1", "broken", "INSERT INTO nosuch VALUES (1);", "");
    let mut h = console(&db, &m).await;
    h.key("h");
    let empty = h.screen();
    assert!(empty.contains("Audit history · all revisions"), "{empty}");
    h.until("the history", |app| {
        matches!(
            app.dialogs.last(),
            Some(Dialog::History { rows: Some(_), .. })
        )
    })
    .await;
    assert!(h.screen().contains("nothing recorded yet"));
    h.key("q");
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    h.key("h");
    h.until("the history", |app| {
        matches!(
            app.dialogs.last(),
            Some(Dialog::History { rows: Some(_), .. })
        )
    })
    .await;
    let screen = h.screen();
    assert!(screen.contains("· 2 row(s) · newest first"), "{screen}");
    let failed = screen.find("failed").expect("the failed step is listed");
    let succeeded = screen
        .find("success")
        .expect("the successful step is listed");
    assert!(failed < succeeded, "newest first:\n{screen}");
    assert!(
        screen.contains("relation \"nosuch\" does not exist"),
        "{screen}"
    );
    // Only the selected revision's rows.
    h.key("t");
    h.until("the filtered history", |app| {
        matches!(
            app.dialogs.last(),
            Some(Dialog::History {
                revision: Some(_),
                rows: Some(_),
                ..
            })
        )
    })
    .await;
    let screen = h.screen();
    assert!(screen.contains("revision b2 · 1 row(s)"), "{screen}");
    h.key("x");
    assert!(h.app.dialogs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_edited_after_the_plan_was_shown_is_not_run() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    // A `git pull` lands while the dialog is open: b2 now drops a table.
    let b2 = std::fs::read_dir(m.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("b2"))
        })
        .expect("b2's file");
    let text = std::fs::read_to_string(&b2).expect("read b2");
    std::fs::write(
        &b2,
        text.replace(
            "CREATE TABLE t2 (id int);",
            "CREATE TABLE t2 (id int); DROP TABLE t1;",
        ),
    )
    .expect("edit b2");
    h.key("enter");
    h.until_idle().await;
    let flash = h.flash();
    assert!(
        flash.starts_with("Not run: upgrade to b2: revision files of the plan changed on disk"),
        "{flash}"
    );
    assert!(h.log_text().contains("b2"), "{}", h.log_text());
    // Nothing ran: not a1, not the edited b2.
    assert!(version_rows(&client).await.is_empty());
    assert!(!table_exists(&client, "t1").await);
    assert!(!table_exists(&client, "t2").await);
}

// ----- prompts: the cancel question, the name field, the form, the base row

/// a1 creates `locked`; b2 creates t2 and then writes to `locked`, which the
/// test holds locked, so the step of b2 runs until the test lets it go.
fn step_held_by_a_lock() -> Migrations {
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "create locked",
        "CREATE TABLE locked (id int);",
        "DROP TABLE locked;",
    )
    .add(
        "b2",
        "a1",
        "write locked",
        "CREATE TABLE t2 (id int);\nINSERT INTO locked VALUES (1);",
        "DROP TABLE t2;",
    );
    m
}

/// Applies a1, locks `locked` in a transaction of `holder`, and starts the
/// upgrade to b2; returns once step 2 runs (and waits on the lock).
async fn run_into_the_lock(h: &mut Harness, holder: &tokio_postgres::Client) {
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("hold the lock");
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until("the step of b2 to run", |app| {
        app.run.as_ref().is_some_and(|r| r.current.is_some())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_and_esc_in_the_cancel_question_keep_the_run_going() {
    let db = TestDb::create().await;
    let m = step_held_by_a_lock();
    let client = db.client().await;
    let holder = db.client().await;
    let mut h = console(&db, &m).await;
    run_into_the_lock(&mut h, &holder).await;

    let question = h.screen();
    assert!(question.contains("step 1/1"), "{question}");
    for answer in ["enter", "esc", "n"] {
        h.key("esc");
        assert!(
            matches!(h.app.dialogs.last(), Some(Dialog::ConfirmCancel)),
            "the cancel key asks first"
        );
        let asked = h.screen();
        assert!(
            asked.contains("Step 1 of 1 is running: upgrade b2")
                && asked.contains("Cancelling rolls this step back"),
            "{asked}"
        );
        assert!(asked.contains("keep it running"), "{asked}");
        h.key(answer);
        assert!(h.app.dialogs.is_empty(), "{answer} closes the question");
        assert!(
            h.app.run.as_ref().is_some_and(|r| !r.cancel_requested),
            "{answer} does not cancel"
        );
    }
    // Other keys leave the question open and the run alone.
    h.key("esc");
    h.key("x");
    assert!(matches!(h.app.dialogs.last(), Some(Dialog::ConfirmCancel)));
    h.key("esc");
    h.pump(Duration::from_millis(300)).await;
    assert!(h.app.run.is_some(), "still running");
    assert!(!h.log_text().contains("cancel"), "{}", h.log_text());

    // The question open while the step completes: it says so, and its
    // cancel key no longer does anything.
    h.key("esc");
    holder.batch_execute("COMMIT").await.expect("release");
    h.until_idle().await;
    let ended = h.screen();
    assert!(ended.contains("The plan has ended"), "{ended}");
    h.key("y");
    assert!(h.app.dialogs.is_empty());
    assert_eq!(version_rows(&client).await, ["b2"], "the step completed");
    assert!(table_exists(&client, "t2").await);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM locked", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 1);
    assert!(
        h.flash().starts_with("Done: upgrade to b2"),
        "{}",
        h.flash()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explicit_key_in_the_cancel_question_rolls_the_step_back() {
    let db = TestDb::create().await;
    let m = step_held_by_a_lock();
    let client = db.client().await;
    let holder = db.client().await;
    let mut h = console(&db, &m).await;
    run_into_the_lock(&mut h, &holder).await;

    h.key("esc");
    h.key("y");
    assert!(h.app.dialogs.is_empty());
    h.until_idle().await;
    holder.batch_execute("COMMIT").await.expect("release");
    assert!(
        h.flash()
            .contains("Cancelled: the running step was rolled back"),
        "{}",
        h.flash()
    );
    assert_eq!(version_rows(&client).await, ["a1"]);
    assert!(
        !table_exists(&client, "t2").await,
        "the step was rolled back"
    );
    let rows: i64 = client
        .query_one("SELECT count(*) FROM locked", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_non_transactional_step_says_it_leaves_it_partial() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add_with(
        "a1",
        "",
        "slow, no transaction",
        "false",
        "CREATE TABLE t1 (id int);\nSELECT pg_sleep(60);",
        "DROP TABLE t1;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.key("U");
    h.key("enter");
    h.until("the slow statement", |app| {
        app.log.lines().any(|l| l.text.contains("pg_sleep"))
    })
    .await;
    h.key("esc");
    let asked = h.screen();
    for words in [
        "This step is not transactional",
        "NOT transactional: the statements it has run stay applied",
        "recorded as stopped halfway",
        "retort resolve a1 --applied   (or --rolled-back)",
    ] {
        assert!(asked.contains(words), "{words}: {asked}");
    }
    // Enter keeps it running here too.
    h.key("enter");
    assert!(h.app.run.as_ref().is_some_and(|r| !r.cancel_requested));
    h.key("esc");
    h.key("y");
    h.until_idle().await;
    // What the question said is what happened.
    assert!(
        table_exists(&client, "t1").await,
        "statement 1 stays applied"
    );
    assert!(version_rows(&client).await.is_empty());
    h.until("the partial step", |app| {
        !app.server.drift_of("a1").is_empty()
    })
    .await;
    assert!(h.screen().contains("stopped halfway"));
}

/// linear() on an environment `prod` marked protected.
async fn protected_console(db: &TestDb, m: &Migrations) -> Harness {
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    setup.config = format!(
        "[environments.prod]\nurl = \"{}\"\nprotected = true\n",
        url_for(&db.name)
    );
    setup.env = Some("prod".to_string());
    Harness::connected(setup).await
}

fn typed_name(h: &Harness) -> String {
    match h.app.dialogs.last() {
        Some(Dialog::Plan(plan)) => match &plan.confirm {
            Confirm::TypeName { input, .. } => single_line(input),
            _ => panic!("the plan dialog does not ask for the name"),
        },
        _ => panic!("no plan dialog"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_name_field_takes_action_letters_as_text_and_ctrl_u_clears_it() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = protected_console(&db, &m).await;
    h.select("c3");
    h.key("U");
    h.key("enter");
    h.until_idle().await;

    h.select("a1");
    h.key("D");
    let footer = h.screen();
    assert!(
        footer.contains("Ctrl-u clear") && !footer.contains("write SQL to a file"),
        "the footer offers no letter key while the name is typed: {footer}"
    );
    // Letters bound to actions elsewhere (write, quit, help, top, stamp).
    h.type_text("wq?gsY");
    assert_eq!(typed_name(&h), "wq?gsY");
    assert_eq!(h.app.dialogs.len(), 1, "no write dialog, no help opened");
    assert!(!h.app.should_quit());
    h.key("ctrl-u");
    assert_eq!(typed_name(&h), "", "Ctrl-u clears the field");
    h.type_text("prd");
    h.keys(&["left", "o", "right", "backspace", "d"]);
    assert_eq!(typed_name(&h), "prod");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["a1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_the_new_revision_form_asks_first() {
    let db = TestDb::create().await;
    let m = linear();
    let mut h = console(&db, &m).await;
    let before = file_names(&m.path());

    // Nothing typed: Esc closes at once.
    h.key("n");
    h.key("esc");
    assert!(h.app.dialogs.is_empty());

    h.key("n");
    h.type_text("add widgets");
    h.key("esc");
    assert!(
        matches!(
            h.app.dialogs.as_slice(),
            [Dialog::NewRevision(_), Dialog::ConfirmDiscard]
        ),
        "Esc asks"
    );
    let asked = h.screen();
    assert!(asked.contains("Discard the new revision?"), "{asked}");
    // Esc (and Enter) go back to the form with the text kept.
    h.key("esc");
    let Some(Dialog::NewRevision(form)) = h.app.dialogs.last() else {
        panic!("back to the form")
    };
    assert_eq!(single_line(&form.message), "add widgets");
    h.key("esc");
    h.key("enter");
    assert!(matches!(h.app.dialogs.as_slice(), [Dialog::NewRevision(_)]));
    h.key("esc");
    h.key("y");
    assert!(h.app.dialogs.is_empty(), "y discards");
    assert!(h.flash().contains("nothing was written"), "{}", h.flash());
    assert_eq!(file_names(&m.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_row_downgrades_everything_like_any_selection() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = protected_console(&db, &m).await;
    h.select("c3");
    h.key("U");
    h.key("enter");
    h.until_idle().await;

    h.key("G");
    assert!(h.app.graph.base_selected(), "the last row is base");
    let screen = h.screen();
    assert!(
        screen.contains("● base") && screen.contains("before any revision"),
        "{screen}"
    );
    h.key("U");
    assert!(h.app.dialogs.is_empty());
    assert!(
        h.flash().contains("base is below every revision"),
        "{}",
        h.flash()
    );

    h.key("D");
    let dialog = h.screen();
    assert!(
        dialog.contains("⚠ DOWNGRADE · downgrade to base"),
        "{dialog}"
    );
    assert!(
        dialog.contains("prod is a protected environment"),
        "{dialog}"
    );
    h.key("Y");
    h.key("enter");
    assert!(
        h.app.run.is_none() && plan_dialog_open(&h),
        "needs the name"
    );
    h.key("ctrl-u");
    h.type_text("prod");
    h.key("enter");
    h.until_idle().await;
    assert!(version_rows(&client).await.is_empty());
    for table in ["t1", "t2", "t3"] {
        assert!(!table_exists(&client, table).await, "{table} dropped");
    }
    let at_base = h.screen();
    assert!(at_base.contains("◉ base  current"), "{at_base}");
    h.key("D");
    assert!(h.app.dialogs.is_empty());
    assert!(
        h.flash().contains("the database is at base"),
        "{}",
        h.flash()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downgrade_refusals_say_what_to_select() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "root",
        "CREATE TABLE t1 (id int);",
        "DROP TABLE t1;",
    )
    .add(
        "b2",
        "a1",
        "left",
        "CREATE TABLE t2 (id int);",
        "DROP TABLE t2;",
    )
    .add(
        "c3",
        "a1",
        "right",
        "CREATE TABLE t3 (id int);",
        "DROP TABLE t3;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    for head in ["b2", "c3"] {
        h.select(head);
        h.key("U");
        h.key("enter");
        h.until_idle().await;
    }
    assert_eq!(version_rows(&client).await, ["b2", "c3"]);

    // a1 lies below both current heads: which one to step down from?
    h.select("a1");
    h.key("d");
    assert!(h.app.dialogs.is_empty());
    assert!(
        h.flash().starts_with(
            "Select the head to step down from, then press d: several are current (b2, c3)"
        ),
        "{}",
        h.flash()
    );
    assert!(h.log_text().contains("Cannot downgrade one step (a1@-1)"));
    h.select("c3");
    h.key("d");
    assert!(plan_dialog_open(&h), "{}", h.screen());
    h.key("Y");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);

    // c3 is no longer applied: nothing to downgrade to there.
    h.select("c3");
    h.key("D");
    assert!(h.app.dialogs.is_empty());
    assert!(
        h.flash()
            .starts_with("Select an applied revision (● or ◉), or base, then press D"),
        "{}",
        h.flash()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_row_stamps_base_and_has_nothing_to_upgrade_to() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("b2");
    h.key("U");
    h.key("enter");
    h.until_idle().await;

    h.key("G");
    h.key("u");
    assert!(h.app.dialogs.is_empty());
    assert!(h.flash().contains("Nothing to upgrade to"), "{}", h.flash());
    h.key("s");
    assert!(h.screen().contains("⚠ STAMP · stamp base"));
    h.key("Y");
    h.until_idle().await;
    assert!(version_rows(&client).await.is_empty());
    assert!(
        table_exists(&client, "t1").await && table_exists(&client, "t2").await,
        "a stamp runs no SQL"
    );
    assert!(h.app.graph.base_selected(), "the selection stays on base");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_timeout_set_on_the_database_silences_the_plan_warning() {
    let db = TestDb::create().await;
    let admin = db.client().await;
    // Not in retort.toml: the server applies it to every new session.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET lock_timeout = '3s'",
            db.name
        ))
        .await
        .expect("set lock_timeout on the database");
    let m = linear();
    let mut h = console(&db, &m).await;
    assert_eq!(h.app.server.db.as_ref().unwrap().lock_timeout, "3s");
    h.select("c3");
    h.key("U");
    let dialog = h.screen();
    assert!(dialog.contains("CREATE TABLE t1"), "{dialog}");
    assert!(!dialog.contains("No lock_timeout"), "{dialog}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_dialog_gets_live_table_sizes_from_the_worker() {
    let db = TestDb::create().await;
    let admin = db.client().await;
    // Large by the default threshold (100 000 rows), with the estimate
    // the planner keeps after ANALYZE.
    admin
        .batch_execute(
            "CREATE TABLE accounts (id bigint PRIMARY KEY); \
             INSERT INTO accounts SELECT generate_series(1, 150000); \
             ANALYZE accounts;",
        )
        .await
        .expect("a large table");
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "require an email",
        "ALTER TABLE accounts ADD COLUMN email text NOT NULL;",
        "ALTER TABLE accounts DROP COLUMN email;",
    );
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.key("U");
    let Some(Dialog::Plan(dialog)) = h.app.dialogs.last() else {
        panic!("no plan dialog:\n{}", h.screen());
    };
    // Opened at once, from the lint alone: a warning until the size says
    // the table is large.
    assert_eq!(
        dialog.lint.sizes,
        Sizes::Asked(vec!["accounts".to_string()])
    );
    let rule = |dialog: &retort::tui::dialogs::PlanDialog| {
        dialog
            .lint
            .step(0)
            .iter()
            .find(|h| h.rule == "adding-required-field")
            .cloned()
            .expect("adding-required-field on step 1")
    };
    assert_eq!(rule(dialog).severity, Severity::Warning);
    assert_eq!(rule(dialog).size, None);
    h.until("the table sizes", |app| {
        matches!(app.dialogs.last(), Some(Dialog::Plan(d)) if d.lint.sizes != Sizes::Asked(vec!["accounts".to_string()]))
    })
    .await;
    let Some(Dialog::Plan(dialog)) = h.app.dialogs.last() else {
        panic!("the plan dialog closed");
    };
    assert_eq!(dialog.lint.sizes, Sizes::Known);
    let hazard = rule(dialog);
    assert_eq!(hazard.severity, Severity::Error, "{hazard:?}");
    let size = hazard.size.expect("the size of accounts");
    assert!(size.rows.is_some_and(|rows| rows >= 100_000), "{size:?}");
    assert!(size.bytes > 0, "{size:?}");
    let screen = h.screen();
    assert!(screen.contains(" · live sizes"), "{screen}");
    assert!(
        screen.contains("✖ error   adding-required-field"),
        "{screen}"
    );
    assert!(screen.contains("1 error"), "{screen}");
    // Nothing ran: the dialog only read the catalog.
    h.key("esc");
    assert!(!table_exists(&admin, "alembic_version").await);
}

/// Whether the open plan dialog's rehearsal is over (done or failed).
fn rehearsal_over(app: &retort::tui::app::App) -> bool {
    match app.dialogs.last() {
        Some(Dialog::Plan(plan)) => plan
            .rehearsal
            .as_ref()
            .is_some_and(|r| !matches!(r.state, RehearsalState::Running(_))),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rehearsal_names_the_index_a_downgrade_forgets() {
    let db = TestDb::create().await;
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
        "index widgets",
        "CREATE INDEX widgets_id_idx ON widgets (id);",
        "SELECT 1;",
    );
    let mut h = console(&db, &m).await;
    let client = db.client().await;
    // The live database at a1: its schema is read and compared too.
    h.select("a1");
    h.keys(&["U", "enter"]);
    h.until_idle().await;
    h.select("b2");
    h.keys(&["U", "R"]);
    h.until("the rehearsal", rehearsal_over).await;
    let screen = h.screen();
    assert!(screen.contains("rehearsed  b2 NOT reversible"), "{screen}");
    assert!(screen.contains("index widgets_id_idx: extra"), "{screen}");
    // The rehearsal ran elsewhere and confirmed nothing: the live database
    // is as it was and the dialog still waits for its confirmation.
    assert!(plan_dialog_open(&h), "{screen}");
    assert!(!index_exists(&client, "widgets_id_idx").await);
    assert_eq!(version_rows(&client).await, ["a1"]);
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, ["b2"]);
    assert!(index_exists(&client, "widgets_id_idx").await);
}

async fn index_exists(client: &tokio_postgres::Client, name: &str) -> bool {
    let sql = "SELECT count(*) FROM pg_indexes WHERE indexname = $1";
    let row = client.query_one(sql, &[&name]).await.expect("pg_indexes");
    row.get::<_, i64>(0) == 1
}

/// The scratch database of this process where `sql` runs now, if any.
/// (Other tests of this binary rehearse at the same time: a test follows
/// its own scratch database by name, not every one of the process.)
async fn scratch_running(client: &tokio_postgres::Client, sql: &str) -> Option<String> {
    let pattern = format!("retort_scratch_{}_%", std::process::id());
    client
        .query_opt(
            "SELECT datname::text FROM pg_catalog.pg_stat_activity \
             WHERE datname LIKE $1 AND query LIKE $2 LIMIT 1",
            &[&pattern, &format!("%{sql}%")],
        )
        .await
        .expect("pg_stat_activity")
        .map(|row| row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_mid_rehearsal_drops_its_scratch_database() {
    let db = TestDb::create().await;
    let m = Migrations::new();
    m.add(
        "a1",
        "",
        "slow step",
        "CREATE TABLE t1 (id int);\nSELECT pg_sleep(60);",
        "DROP TABLE t1;",
    );
    let client = db.client().await;
    let mut h = console(&db, &m).await;
    h.select("a1");
    h.keys(&["U", "R"]);
    let mut waited = 0;
    let scratch = loop {
        if let Some(name) = scratch_running(&client, "pg_sleep(60)").await {
            break name;
        }
        waited += 1;
        assert!(waited < 600, "the rehearsal never reached its slow step");
        h.pump(Duration::from_millis(100)).await;
    };
    // What the console does as it ends, by a key or a signal.
    h.worker
        .commands
        .send(retort::tui::worker::Command::Shutdown)
        .expect("the worker listens");
    (&mut h.worker.task).await.expect("the worker ends");
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = $1",
            &[&scratch],
        )
        .await
        .expect("pg_database")
        .get(0);
    assert_eq!(left, 0, "{scratch} is left behind");
    assert!(
        !table_exists(&client, "t1").await,
        "the live database untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autogenerate_fills_the_form_and_the_written_file_loads() {
    let db = TestDb::create().await;
    let m = linear();
    let client = db.client().await;
    let schema = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        schema.path().join("schema.sql"),
        "CREATE TABLE t1 (id int);\nCREATE TABLE t2 (id int);\n\
         CREATE TABLE t3 (id int, price integer);\n",
    )
    .expect("write the desired schema");
    let mut setup = Setup::new(m.path(), Some(url_for(&db.name)));
    setup.config = format!(
        "[schema]\ndir = {:?}\n",
        schema.path().display().to_string()
    );
    let mut h = Harness::connected(setup).await;
    h.key("n");
    h.type_text("add price");
    h.key("ctrl-g");
    h.until("autogenerate to answer", |app| {
        matches!(app.dialogs.last(), Some(Dialog::NewRevision(form))
            if form.autogen.is_some() && form.autogen_running().is_none())
    })
    .await;
    let screen = h.screen();
    assert!(screen.contains("ADD COLUMN price integer"), "{screen}");
    assert!(screen.contains("DROP COLUMN price"), "{screen}");
    assert!(screen.contains("Proven with"), "{screen}");
    assert!(screen.contains("Detected added column"), "{screen}");
    h.key("ctrl-s");
    assert!(h.app.dialogs.is_empty(), "{}", h.screen());
    let files: Vec<String> = std::fs::read_dir(m.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with("_add_price.sql"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(m.path().join(&files[0])).expect("read");
    assert!(text.contains("-- down_revision: c3"), "{text}");
    // The file loads: the console reloaded it as the head, and it runs.
    let id = files[0].split('_').next().unwrap_or_default().to_string();
    assert!(h.app.graph.map.get(&id).is_some(), "{id} did not load");
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(version_rows(&client).await, [id]);
    let price = client
        .query(
            "SELECT 1 FROM information_schema.columns \
             WHERE table_name = 't3' AND column_name = 'price'",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(price.len(), 1, "t3.price was not added");
}
