//! The console's log for a DBA: search by keys, saved logs with dates and
//! the UTC offset, and automatic reconnection attempts shown as they go.

mod common;
mod console_harness;

use common::TestDb;
use console_harness::{Harness, Migrations, Setup, one_revision, url_for};
use retort::tui::app::{Connection, Pane};
use retort::tui::log::LogKind;

/// A console whose server is never there (nothing listens on port 1).
async fn offline(m: &Migrations) -> Harness {
    let url = "postgres://nobody@127.0.0.1:1/none".to_string();
    let mut h = Harness::open(Setup::new(m.path(), Some(url))).await;
    h.until("the failed first refresh", |app| {
        matches!(app.server.connection, Connection::Unreachable(_))
    })
    .await;
    h
}

fn current_text(h: &Harness) -> Option<String> {
    let seq = h.app.log.search.as_ref()?.current?;
    h.app
        .log
        .lines()
        .find(|l| l.seq == seq)
        .map(|l| l.text.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_searched_with_slash_and_n() {
    let m = one_revision();
    let mut h = offline(&m).await;
    for text in ["UPDATE 1 first", "something else", "update 2 second"] {
        h.app.log.push(LogKind::Info, text);
    }
    for _ in 0..50 {
        h.app.log.push(LogKind::Info, "filler");
    }
    h.keys(&["tab", "tab"]);
    assert_eq!(h.app.focus, Pane::Log);
    assert!(h.screen().contains("/ search"), "the footer names the key");
    // n without a search says how to start one.
    h.key("n");
    assert!(
        h.flash().contains("press / in the log pane"),
        "{}",
        h.flash()
    );

    h.key("/");
    h.type_text("Update");
    let typing = h.screen();
    assert!(typing.contains("/Update"), "{typing}");
    assert!(typing.contains("find the newest match"), "{typing}");
    h.key("enter");
    assert_eq!(current_text(&h).as_deref(), Some("update 2 second"));
    let screen = h.screen();
    assert!(screen.contains("match 2 of 2"), "{screen}");
    assert!(
        screen.contains("update 2 second"),
        "scrolled into view: {screen}"
    );
    h.key("N");
    assert_eq!(current_text(&h).as_deref(), Some("UPDATE 1 first"));
    assert!(h.screen().contains("match 1 of 2"));
    h.key("N");
    assert_eq!(
        current_text(&h).as_deref(),
        Some("update 2 second"),
        "wraps"
    );
    h.key("n");
    assert_eq!(current_text(&h).as_deref(), Some("UPDATE 1 first"), "wraps");
    // In the log pane n is the search's: no new-revision form opened.
    assert!(h.app.dialogs.is_empty());

    h.key("/");
    h.key("ctrl-u");
    h.type_text("nowhere");
    h.key("enter");
    assert_eq!(current_text(&h), None);
    assert!(h.flash().contains("No line of the log contains 'nowhere'"));
    h.key("/");
    h.key("esc");
    assert!(h.app.log.search.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_log_has_dates_and_the_utc_offset() {
    let m = one_revision();
    let mut h = offline(&m).await;
    h.app.log.push(LogKind::Info, "a line to keep");
    let out = tempfile::tempdir().expect("tempdir");
    let path = out.path().join("console.log");
    h.keys(&["tab", "tab", "w", "ctrl-u"]);
    h.type_text(&path.display().to_string());
    h.key("enter");
    let text = std::fs::read_to_string(&path).expect("log written");
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("# retort console log, saved "), "{text}");
    assert!(first.contains("(times are local, UTC"), "{text}");
    let mut count = 0;
    for line in lines {
        let stamp = line.get(..30).unwrap_or(line);
        assert!(
            chrono::DateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.3f %:z").is_ok(),
            "no date, time and offset: {line}"
        );
        count += 1;
    }
    assert!(count >= 2, "{text}");
    assert!(text.contains("info    a line to keep"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_retried_with_a_countdown() {
    let db = TestDb::create().await;
    let m = one_revision();
    // A database that does not exist yet: the server refuses the session.
    let later = format!("{}_later", db.name);
    let mut h = Harness::open(Setup::new(m.path(), Some(url_for(&later)))).await;
    h.until("the failed first refresh", |app| {
        matches!(app.server.connection, Connection::Unreachable(_))
    })
    .await;
    let screen = h.screen();
    let header: Vec<&str> = screen.lines().take(2).collect();
    assert!(header[1].contains("↻ attempt 2 in "), "{screen}");
    assert!(
        h.log_text()
            .contains("next try in 2 s (attempt 2); press r to retry now"),
        "{}",
        h.log_text()
    );
    // No key pressed: the console tries again by itself.
    h.until("the second attempt", |app| {
        app.server.reconnect.is_some_and(|r| r.failures >= 2)
    })
    .await;
    let log = h.log_text();
    assert!(
        log.contains("attempt 2 failed: still not connected:"),
        "{log}"
    );
    assert!(log.contains("(attempt 3)"), "{log}");
    assert!(h.screen().contains("↻ attempt 3"), "{}", h.screen());

    let admin = db.client().await;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{later}\""))
        .await
        .expect("create");
    h.until("the reconnect", |app| {
        app.server.connection == Connection::Connected
    })
    .await;
    assert!(h.app.server.reconnect.is_none());
    assert!(h.log_text().contains("reached the server at attempt 3"));
    assert!(!h.screen().contains("↻ attempt"));
    drop(h);
    admin
        .batch_execute(&format!("DROP DATABASE \"{later}\" WITH (FORCE)"))
        .await
        .expect("drop");
}
