//! Scratch databases on a real server: made, reachable, dropped by
//! `drop_database` and by the guard alone, and a server that refuses
//! CREATE DATABASE said clearly.

mod common;
mod support;

use common::TestDb;
use retort::config::{Config, ConnectionSettings, resolve_connection};
use retort::engine::scratch::{SCRATCH_PREFIX, ScratchDb};

fn settings(url: &str) -> ConnectionSettings {
    let config = Config::defaults(&std::env::temp_dir());
    let none = |_: &str| None;
    resolve_connection(Some(url), None, &config, &none).expect("connection settings")
}

async fn exists(admin: &TestDb, name: &str) -> bool {
    support::database_exists(&admin.client().await, name).await
}

#[tokio::test]
async fn made_reachable_and_dropped() {
    let probe = TestDb::create().await;
    let scratch = ScratchDb::create(&settings(&common::database_url()))
        .await
        .expect("scratch database");
    assert!(scratch.name.starts_with(SCRATCH_PREFIX), "{}", scratch.name);
    assert!(exists(&probe, &scratch.name).await);
    assert!(
        scratch
            .settings
            .display
            .ends_with(&format!("/{}", scratch.name))
    );
    // A session left open on it does not stop the drop.
    let (client, connection) = scratch
        .settings
        .pg_config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect to the scratch database");
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE t (id int)")
        .await
        .expect("use it");
    let name = scratch.name.clone();
    scratch.drop_database().await.expect("dropped");
    assert!(!exists(&probe, &name).await);
}

#[tokio::test]
async fn the_guard_drops_it_when_the_work_ends_early() {
    let probe = TestDb::create().await;
    let scratch = ScratchDb::create(&settings(&common::database_url()))
        .await
        .expect("scratch database");
    let name = scratch.name.clone();
    drop(scratch);
    assert!(!exists(&probe, &name).await);
}

#[tokio::test]
async fn a_server_refusing_create_database_is_a_clear_error() {
    let probe = TestDb::create().await;
    let role = format!("retort_nocreatedb_{}", std::process::id());
    let admin = probe.client().await;
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN NOCREATEDB"))
        .await
        .expect("role");
    let url = format!(
        "postgres://{role}@{}/{}",
        common::database_url()
            .split('@')
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("host:port in DATABASE_URL"),
        probe.name
    );
    let outcome = ScratchDb::create(&settings(&url)).await;
    admin
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .expect("drop role");
    let Err(error) = outcome else {
        panic!("a role without CREATEDB made a database")
    };
    let text = error.to_string();
    assert!(
        text.starts_with("cannot create a scratch database on "),
        "{text}"
    );
    assert!(text.contains("42501"), "{text}");
    assert_eq!(error.exit_code(), 3);
}
