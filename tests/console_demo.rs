//! `retort demo` without a terminal: the demo session (throwaway database
//! on the test server, the embedded project) driven through the console,
//! then removed.

mod common;
mod console_harness;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use console_harness::Harness;
use retort::engine::GlobalOptions;
use retort::tui::demo::DemoSession;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_on_a_database_of_its_own_and_removes_it() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let progress = {
        let lines = Arc::clone(&lines);
        move |line: &str| {
            lines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(line.to_string())
        }
    };
    let options = GlobalOptions {
        database_url: Some(common::database_url()),
        ..GlobalOptions::default()
    };
    let demo = DemoSession::start(&options, &progress)
        .await
        .expect("the demo starts");
    let name = demo.database().database_name().to_string();
    let intro = demo.intro();
    assert!(
        intro[0].contains(&format!("throwaway database {name}")),
        "{intro:?}"
    );
    assert!(intro[1].contains("a copy in"), "{intro:?}");

    let (options, project, connection) = demo.console_parts().expect("parts");
    assert_eq!(project.map.len(), 14, "the whole demo project");
    let mut h = Harness::with_parts(options, project, connection, None, (120, 40));
    h.until("the first refresh", |app| app.server.db.is_some())
        .await;
    assert!(
        h.screen().contains(&format!("/{name}")),
        "the header names the demo database"
    );
    h.key("U");
    h.key("enter");
    h.until_idle().await;
    assert_eq!(h.rows(), ["d51a7c3e9f04"]);
    assert!(h.screen().contains("up to date"));
    h.key("q");
    assert!(h.app.should_quit());
    drop(h);
    tokio::time::sleep(Duration::from_millis(100)).await;

    demo.finish(&progress).await.expect("cleanup");
    let admin = common::plain_client(&common::database_url().parse().expect("url")).await;
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .expect("query")
        .get(0);
    assert_eq!(left, 0, "the throwaway database was dropped");
    let said = lines.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
    assert!(said.contains("dropping the throwaway database"), "{said}");
}
