//! The real binary in a real terminal: tmux runs `retort` on the demo
//! project against a fresh database; keys go in with `send-keys`, the screen
//! comes back with `capture-pane`. Skipped (with a note) without tmux.

mod common;
mod console_harness;

use std::process::Command;
use std::time::{Duration, Instant};

use common::TestDb;
use console_harness::{demo_migrations, table_exists, url_for, version_rows};

/// A tmux server of our own, so the test touches no other session.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn start(command: &str) -> Tmux {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tmux = Tmux {
            socket: format!("retort-e2e-{}-{number}", std::process::id()),
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "console",
            "-x",
            "120",
            "-y",
            "40",
            command,
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "console", key]);
            // Esc followed at once by a key reads as Alt-key; real typing has gaps.
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "console"])
    }

    /// Waits until the screen shows `text`; fails with the screen after 30 s.
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the screen never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_upgrades_and_downgrades_the_demo_in_tmux() {
    if !Tmux::available() {
        println!("SKIPPED: tmux is not installed; the end-to-end console test did not run");
        return;
    }
    let db = TestDb::create().await;
    let client = db.client().await;
    let command = format!(
        "{} --database-url '{}' --migrations '{}'; echo \"EXIT $?\"; sleep 60",
        env!("CARGO_BIN_EXE_retort"),
        url_for(&db.name),
        demo_migrations().display()
    );
    let tmux = Tmux::start(&command);

    let first = tmux.wait_for("● connected");
    println!("--- opened ---\n{first}");
    assert!(
        first.contains("database at base (no version table yet)  │  14 pending"),
        "{first}"
    );
    assert!(
        first.contains("d51a7c3e9f04 (head) index invoices"),
        "{first}"
    );

    // Upgrade to the selected head (the top row).
    tmux.keys(&["U"]);
    let dialog = tmux.wait_for("UPGRADE · upgrade to d51a7c3e9f04");
    println!("--- plan ---\n{dialog}");
    assert!(dialog.contains("(14 step(s))"), "{dialog}");
    tmux.keys(&["Enter"]);
    let done = tmux.wait_for("up to date");
    println!("--- upgraded ---\n{done}");
    assert_eq!(version_rows(&client).await, ["d51a7c3e9f04"]);
    assert!(table_exists(&client, "invoice_lines").await);

    // One step down: Enter by reflex does nothing, Y runs it.
    tmux.keys(&["d"]);
    tmux.wait_for("⚠ DOWNGRADE");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Enter does not run a DOWNGRADE");
    assert_eq!(version_rows(&client).await, ["d51a7c3e9f04"]);
    tmux.keys(&["Y"]);
    let down = tmux.wait_for("database at b8e4f0a3c6d9");
    println!("--- downgraded ---\n{down}");
    assert!(down.contains("1 pending"), "{down}");
    assert_eq!(version_rows(&client).await, ["b8e4f0a3c6d9"]);

    // The help, then quit: the terminal is handed back.
    tmux.keys(&["?"]);
    tmux.wait_for("Markers");
    tmux.keys(&["Escape", "q"]);
    let after = tmux.wait_for("EXIT 0");
    println!("--- after quitting ---\n{after}");
    assert!(
        !after.contains("Revisions"),
        "the alternate screen was left: {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_gives_the_terminal_back_before_its_redacted_message() {
    if !Tmux::available() {
        println!("SKIPPED: tmux is not installed; the end-to-end console test did not run");
        return;
    }
    if !cfg!(debug_assertions) {
        println!("SKIPPED: the panic hook for tests exists in debug builds only");
        return;
    }
    let db = TestDb::create().await;
    // After the process ends the shell prints the exit code and whether the
    // terminal is back in canonical mode (raw mode turns icanon off).
    let command = format!(
        "RUST_BACKTRACE=0 RETORT_CONSOLE_TEST_PANIC='boom while talking to postgres://app:hunter2@db.example/x' \
         {} --database-url '{}' --migrations '{}'; echo \"EXIT $?\"; \
         stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 60",
        env!("CARGO_BIN_EXE_retort"),
        url_for(&db.name),
        demo_migrations().display()
    );
    let tmux = Tmux::start(&command);
    // Wait for stty's answer (`icanon` or `-icanon`), which comes after the
    // exit code: waiting for the exit code alone races with it.
    let screen = tmux.wait_for("icanon");
    println!("{screen}");
    assert!(screen.contains("EXIT 101"), "{screen}");
    assert!(screen.contains("retort console: panicked at"), "{screen}");
    assert!(
        screen.contains("boom while talking to postgres://app:***@db.example/x"),
        "{screen}"
    );
    assert!(!screen.contains("hunter2"), "{screen}");
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "raw mode is off: {screen}"
    );
    assert!(
        !screen.contains("Revisions"),
        "the alternate screen was left: {screen}"
    );
}

/// Copies the demo project, so the test can edit its files.
fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(demo_migrations()).expect("demo") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_gets_the_terminal_and_the_console_reloads() {
    if !Tmux::available() || Command::new("vi").arg("--version").output().is_err() {
        println!("SKIPPED: tmux or vi is not installed; the editor test did not run");
        return;
    }
    let db = TestDb::create().await;
    let migrations = demo_copy();
    let command = format!(
        "env -u VISUAL EDITOR='vi -u NONE -n' {} --database-url '{}' --migrations '{}'; \
         echo \"EXIT $?\"; sleep 60",
        env!("CARGO_BIN_EXE_retort"),
        url_for(&db.name),
        migrations.path().display()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("● connected");
    // The top row is the head d51a7c3e9f04; open its file.
    tmux.keys(&["e"]);
    let editor = tmux.wait_for("-- revision: d51a7c3e9f04");
    assert!(
        !editor.contains("Revisions"),
        "the editor has the whole screen: {editor}"
    );
    // Typed keys reach the editor, not the console.
    tmux.keys(&[
        ":%s/index invoices and audit_log concurrently/index both tables concurrently/",
        "Enter",
        ":wq",
        "Enter",
    ]);
    let back = tmux.wait_for("Reloaded the revision files");
    println!("{back}");
    assert!(
        back.contains("d51a7c3e9f04 (head) index both tables concurrently"),
        "{back}"
    );
    let text = std::fs::read_to_string(
        migrations
            .path()
            .join("d51a7c3e9f04_index_invoices_and_audit_log_concurrently.sql"),
    )
    .expect("the file");
    assert!(
        text.contains("-- message: index both tables concurrently"),
        "{text}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_run_cancels_it_and_gives_the_terminal_back() {
    if !Tmux::available() {
        println!("SKIPPED: tmux is not installed; the end-to-end console test did not run");
        return;
    }
    let db = TestDb::create().await;
    let client = db.client().await;
    let migrations = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        migrations.path().join("a1_one.sql"),
        "-- revision: a1\n-- down_revision:\n-- message: one\n\
         -- migrate:upgrade\nCREATE TABLE one (id int);\nSELECT pg_advisory_lock(777002);\n\
         -- migrate:downgrade\nDROP TABLE one;\n",
    )
    .expect("write revision");
    // The test holds the lock a1 waits for, so the run is mid-statement
    // when the signal comes.
    client
        .batch_execute("SELECT pg_advisory_lock(777002)")
        .await
        .expect("hold the lock");
    let pid_file = migrations.path().join("retort.pid");
    let command = format!(
        "sh -c 'echo $$ > {}; exec {} --database-url \"{}\" --migrations \"{}\"'; \
         echo \"EXIT $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 60",
        pid_file.display(),
        env!("CARGO_BIN_EXE_retort"),
        url_for(&db.name),
        migrations.path().display()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("● connected");
    tmux.keys(&["U"]);
    tmux.wait_for("UPGRADE");
    tmux.keys(&["Enter"]);
    let started = Instant::now();
    while !running(&client, &db.name, "pg_advisory_lock(777002)").await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never reached its statement:\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    let screen = tmux.wait_for("icanon");
    println!("{screen}");
    assert!(screen.contains("EXIT 143"), "{screen}");
    assert!(
        screen.contains("SIGTERM received: cancelling the running plan"),
        "{screen}"
    );
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "raw mode is off: {screen}"
    );
    assert!(
        !screen.contains("Revisions"),
        "the alternate screen was left: {screen}"
    );
    // The statement was cancelled on the server and the step rolled back;
    // the migration lock went with it.
    assert!(!running(&client, &db.name, "pg_advisory_lock(777002)").await);
    assert!(!table_exists(&client, "one").await);
    assert!(version_rows(&client).await.is_empty());
    let holders: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND l.classid::int = $1 AND d.datname = $2",
            &[&0x5254_5254_i32, &db.name],
        )
        .await
        .expect("pg_locks")
        .get(0);
    assert_eq!(holders, 0, "the migration lock was released");
}

/// Whether a backend of `database` (not ours) is running `needle`.
async fn running(client: &tokio_postgres::Client, database: &str, needle: &str) -> bool {
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' \
             AND query LIKE '%' || $2 || '%' AND pid <> pg_backend_pid()",
            &[&database, &needle],
        )
        .await
        .expect("pg_stat_activity")
        .get(0);
    count > 0
}

/// Replaces `from` by `to` in the demo copy's file `name`, as a `git pull` would.
fn edit_file(dir: &std::path::Path, name: &str, from: &str, to: &str) {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).expect("the file");
    assert!(text.contains(from), "{text}");
    std::fs::write(&path, text.replace(from, to)).expect("edit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_edited_while_the_console_is_open_shows_without_a_key() {
    if !Tmux::available() {
        println!("SKIPPED: tmux is not installed; the end-to-end console test did not run");
        return;
    }
    let db = TestDb::create().await;
    let client = db.client().await;
    let migrations = demo_copy();
    let command = format!(
        "{} --database-url '{}' --migrations '{}'; echo \"EXIT $?\"; sleep 60",
        env!("CARGO_BIN_EXE_retort"),
        url_for(&db.name),
        migrations.path().display()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("● connected");
    let head = "d51a7c3e9f04_index_invoices_and_audit_log_concurrently.sql";

    // The graph follows the file, no key pressed.
    edit_file(
        migrations.path(),
        head,
        "-- message: index invoices and audit_log concurrently",
        "-- message: index both tables concurrently",
    );
    let reloaded = tmux.wait_for("d51a7c3e9f04 (head) index both tables concurrently");
    println!("--- reloaded ---\n{reloaded}");
    assert!(
        reloaded.contains("Revision files changed on disk: reloaded"),
        "{reloaded}"
    );

    // An open plan dialog shows the plan made from the files now.
    tmux.keys(&["U"]);
    tmux.wait_for("UPGRADE · upgrade to d51a7c3e9f04");
    edit_file(
        migrations.path(),
        head,
        "-- migrate:upgrade\n",
        "-- migrate:upgrade\nCREATE TABLE added_while_shown (id int);\n",
    );
    let replanned = tmux.wait_for("this is the plan made from them now");
    println!("--- planned again ---\n{replanned}");
    assert!(replanned.contains("edited"), "{replanned}");
    assert!(replanned.contains("(d51a7c3e9f04)"), "{replanned}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("up to date");
    assert_eq!(version_rows(&client).await, ["d51a7c3e9f04"]);
    assert!(table_exists(&client, "added_while_shown").await);
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT 0");
}
