//! The demo's own database: a throwaway database on the real server, and a
//! private cluster started from the installed server programs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use retort::db::SessionSettings;
use retort::demo::{
    DemoDatabase, DemoError, VersionedRoot, install_hint_for, locate_server_binaries_in,
    unless_terminated,
};
use tokio_postgres::Client;

use common::{database_url, plain_client};

/// Collects progress lines for assertions.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn sink(&self) -> impl Fn(&str) + Send + Sync + 'static {
        let lines = self.0.clone();
        move |line: &str| lines.lock().unwrap().push(line.to_string())
    }

    fn any(&self, needle: &str) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(needle))
    }

    fn dump(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

async fn admin_client() -> Client {
    plain_client(&database_url().parse().unwrap()).await
}

async fn database_exists(admin: &Client, name: &str) -> bool {
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    row.get::<_, i64>(0) == 1
}

async fn current_database(demo: &DemoDatabase) -> String {
    let client = plain_client(&demo.connection_config()).await;
    client
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn throwaway_database_exists_while_running_and_is_gone_after_cleanup() {
    let lines = Lines::default();
    let progress = lines.sink();
    let demo = DemoDatabase::start(Some(&database_url()), &progress)
        .await
        .unwrap();
    let name = demo.database_name().to_string();
    assert!(name.starts_with("retort_demo_"), "{name}");
    assert!(demo.private_cluster_dir().is_none());
    assert!(
        demo.describe()
            .starts_with(&format!("throwaway database {name} on "))
    );
    assert!(
        lines.any("created the throwaway database"),
        "{}",
        lines.dump()
    );

    let admin = admin_client().await;
    assert!(database_exists(&admin, &name).await);
    assert_eq!(current_database(&demo).await, name);

    // A session still connected to it must not keep the database alive.
    let lingering = plain_client(&demo.connection_config()).await;
    demo.cleanup(&progress).await.unwrap();
    assert!(!database_exists(&admin, &name).await);
    assert!(lingering.simple_query("SELECT 1").await.is_err());
    assert!(lines.any("demo database removed"), "{}", lines.dump());
}

#[tokio::test]
async fn dropping_a_throwaway_database_without_cleanup_still_drops_it() {
    let demo = DemoDatabase::start(Some(&database_url()), &|_: &str| {})
        .await
        .unwrap();
    let name = demo.database_name().to_string();
    let _lingering = plain_client(&demo.connection_config()).await;
    let admin = admin_client().await;
    assert!(database_exists(&admin, &name).await);
    drop(demo);
    assert!(!database_exists(&admin, &name).await);
}

#[tokio::test]
async fn two_demos_on_one_server_get_different_databases() {
    let first = DemoDatabase::start(Some(&database_url()), &|_: &str| {})
        .await
        .unwrap();
    let second = DemoDatabase::start(Some(&database_url()), &|_: &str| {})
        .await
        .unwrap();
    assert_ne!(first.database_name(), second.database_name());
    first.cleanup(&|_: &str| {}).await.unwrap();
    second.cleanup(&|_: &str| {}).await.unwrap();
}

#[tokio::test]
async fn an_invalid_url_is_an_error_that_hides_the_password() {
    let outcome = DemoDatabase::start(
        Some("postgres://alice:s3cret@host:notaport/db"),
        &|_: &str| {},
    )
    .await;
    let Err(error) = outcome else {
        panic!("an invalid URL was accepted");
    };
    assert!(matches!(error, DemoError::InvalidUrl { .. }), "{error:?}");
    assert!(!error.to_string().contains("s3cret"), "{error}");
}

/// The process is gone (or a zombie no one has reaped yet: the postmaster's
/// parent is whatever adopted it, and in a container that may not reap).
fn process_is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_until_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if process_is_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    process_is_gone(pid)
}

/// The real user id a process runs as, from `/proc/<pid>/status`.
fn process_uid(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn running_as_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

#[tokio::test]
async fn unreachable_server_falls_back_to_a_private_cluster_that_cleans_up() {
    let lines = Lines::default();
    let progress = lines.sink();
    let started = Instant::now();
    // Nothing listens on port 1.
    let demo = DemoDatabase::start(Some("postgres://postgres@127.0.0.1:1/postgres"), &progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let start_time = started.elapsed();
    assert!(
        lines.any("cannot use the server at postgres@127.0.0.1:1"),
        "{}",
        lines.dump()
    );
    assert!(lines.any("private cluster ready in"), "{}", lines.dump());

    let dir = demo.private_cluster_dir().unwrap().to_path_buf();
    assert!(dir.join("data").join("PG_VERSION").is_file());
    assert!(demo.describe().contains(&dir.display().to_string()));
    let pid = demo.postmaster_pid().unwrap();
    assert!(!process_is_gone(pid));
    if running_as_root() {
        assert_ne!(process_uid(pid), 0, "the cluster must not run as root");
        assert!(
            lines.any("runs as the unprivileged user"),
            "{}",
            lines.dump()
        );
    }

    let client = plain_client(&demo.connection_config()).await;
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let listen: String = client
        .query_one("SHOW listen_addresses", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(listen, "", "the private cluster must not listen on TCP");
    // The demo can do real work there, also through retort's own
    // connection layer and pool (Unix socket host).
    client
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let settings = SessionSettings::default();
    let direct = retort::db::connect(&demo.connection_config(), &settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let count: i64 = direct
        .client()
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    let pool = retort::db::build_pool(&demo.connection_config(), &settings, 2).unwrap();
    let pooled = pool.get().await.unwrap_or_else(|e| panic!("{e}"));
    pooled.client().simple_query("SELECT 1").await.unwrap();

    eprintln!(
        "private cluster started in {:.2} s: {}\n{}",
        start_time.as_secs_f64(),
        demo.describe(),
        lines.dump()
    );
    demo.cleanup(&progress).await.unwrap();
    assert!(wait_until_gone(pid), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[tokio::test]
async fn dropping_a_private_cluster_without_cleanup_stops_and_removes_it() {
    let demo = DemoDatabase::start_private_cluster(&|_: &str| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = demo.private_cluster_dir().unwrap().to_path_buf();
    let pid = demo.postmaster_pid().unwrap();
    let _client = plain_client(&demo.connection_config()).await;
    drop(demo);
    assert!(wait_until_gone(pid), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[tokio::test]
async fn a_start_cancelled_midway_leaves_no_directory_behind() {
    let lines = Lines::default();
    let progress = lines.sink();
    let start = DemoDatabase::start_private_cluster(&progress);
    let cancel_during_initdb = async {
        while !lines.any("starting a private PostgreSQL") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    tokio::select! {
        outcome = start => panic!("the start finished before the cancel: {}", outcome.is_ok()),
        () = cancel_during_initdb => {}
    }
    let line = lines
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|line| line.starts_with("starting a private"))
        .cloned()
        .unwrap();
    let dir = line
        .split(" cluster in ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" ..."))
        .map(PathBuf::from)
        .unwrap();
    assert!(dir.starts_with("/") && dir.to_string_lossy().contains("retort-demo-"));
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[tokio::test]
async fn work_is_abandoned_when_a_termination_signal_arrives() {
    let work = async {
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        "finished"
    };
    let outcome = tokio::time::timeout(Duration::from_secs(10), unless_terminated(work)).await;
    assert_eq!(outcome, Ok(Err("SIGTERM")));
    let quick = unless_terminated(async { 42 }).await;
    assert_eq!(quick, Ok(42));
}

fn fake_program(dir: &Path, name: &str, mode: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn fake_server(bin: &Path) {
    fake_program(bin, "initdb", 0o755);
    fake_program(bin, "pg_ctl", 0o755);
}

fn lib_root(base: &Path) -> Vec<VersionedRoot> {
    vec![VersionedRoot {
        parent: base.join("lib/postgresql"),
        prefix: String::new(),
    }]
}

#[test]
fn the_highest_installed_version_wins_when_path_has_none() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("lib/postgresql");
    for version in ["9.6", "15", "10"] {
        fake_server(&root.join(version).join("bin"));
    }
    // Higher, but incomplete: no pg_ctl.
    fake_program(&root.join("17/bin"), "initdb", 0o755);
    let empty_path = base.path().join("empty");
    let found =
        locate_server_binaries_in(Some(empty_path.as_os_str()), &lib_root(base.path())).unwrap();
    assert_eq!(found.bin_dir, root.join("15/bin"));
    assert_eq!(found.initdb, root.join("15/bin/initdb"));
    assert_eq!(found.pg_ctl, root.join("15/bin/pg_ctl"));
}

#[test]
fn a_server_on_path_wins_over_installed_versions() {
    let base = tempfile::tempdir().unwrap();
    fake_server(&base.path().join("lib/postgresql/16/bin"));
    let not_executable = base.path().join("noexec");
    fake_program(&not_executable, "initdb", 0o644);
    fake_program(&not_executable, "pg_ctl", 0o644);
    let on_path = base.path().join("bin");
    fake_server(&on_path);
    let path = std::env::join_paths([not_executable, on_path.clone()]).unwrap();
    let found = locate_server_binaries_in(Some(&path), &lib_root(base.path())).unwrap();
    assert_eq!(found.bin_dir, on_path);
}

#[test]
fn no_server_programs_anywhere_is_none() {
    let base = tempfile::tempdir().unwrap();
    let path = PathBuf::from(base.path());
    fake_program(&path, "psql", 0o755);
    let found = locate_server_binaries_in(Some(path.as_os_str()), &lib_root(base.path()));
    assert_eq!(found, None);
}

#[test]
fn install_hints_follow_the_distribution() {
    let debian = "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n";
    let ubuntu = "ID=ubuntu\nID_LIKE=debian\n";
    let rocky = "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n";
    assert!(install_hint_for(debian).contains("apt-get install -y postgresql"));
    assert!(install_hint_for(ubuntu).contains("apt-get install -y postgresql"));
    assert!(install_hint_for(rocky).contains("dnf install -y postgresql-server"));
    let unknown = install_hint_for("ID=plan9\n");
    assert!(
        unknown.contains("apt-get install -y postgresql"),
        "{unknown}"
    );
    assert!(unknown.contains("brew install postgresql"), "{unknown}");
}
