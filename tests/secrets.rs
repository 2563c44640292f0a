//! Passwords never reach the output of the real binary, whatever they hold
//! (spaces, tabs, `@`, `:`, `/`, `%`, quotes), in URL and key=value
//! connection strings, from `--database-url`, `DATABASE_URL` or the config
//! file, when the string has a second mistake (it is never quoted back),
//! when it is valid (text and `--format json`), when the server cannot be
//! reached, and on the console's screen.

mod common;
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use support::{BIN, expect_code, finish, stderr, stdout, write_revision};
use tokio_postgres::config::Host;

/// Each password is `Zq7<c>Wk9`: neither half may appear in any output.
const SEPARATORS: [&str; 8] = [" ", "\t", "@", ":", "/", "%", "'", "\""];

fn password(separator: &str) -> String {
    format!("Zq7{separator}Wk9")
}

fn assert_hidden(out: &Output, context: &str) {
    let text = format!("{}{}", stdout(out), stderr(out));
    assert!(
        !text.contains("Zq7") && !text.contains("Wk9"),
        "{context}: a piece of the password is shown:\n{text}"
    );
}

/// `value` as a single-quoted key=value value.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Connection strings holding `secret` and a second mistake (a bad port,
/// an unknown sslmode).
fn broken_strings(secret: &str) -> Vec<String> {
    vec![
        format!("postgres://app:{secret}@127.0.0.1:notaport/db"),
        format!("postgresql://app:{secret}@127.0.0.1/db?sslmode=sometimes"),
        format!("host=127.0.0.1 user=app password={secret} port=notaport"),
        format!(
            "host=127.0.0.1 password={} sslmode=sometimes",
            quoted(secret)
        ),
        format!(
            "password={} host=127.0.0.1 port=5432 dbname='unterminated",
            quoted(secret)
        ),
    ]
}

fn migrations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_revision(
        dir.path(),
        "a1",
        &[],
        "",
        "CREATE TABLE t (id int);",
        Some("DROP TABLE t;"),
    );
    dir
}

/// retort in an empty working directory (or `cwd`), without DATABASE_URL
/// unless `vars` sets it.
fn retort(cwd: &Path, migrations: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .arg("--migrations")
        .arg(migrations)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    finish(command.spawn().expect("retort starts"))
}

#[test]
fn a_connection_string_that_does_not_parse_is_never_quoted() {
    let dir = migrations();
    let cwd = tempfile::tempdir().unwrap();
    for separator in SEPARATORS {
        for url in broken_strings(&password(separator)) {
            for format in ["text", "json"] {
                let args = ["current", "--format", format, "--database-url", &url];
                let out = retort(cwd.path(), dir.path(), &args, &[]);
                expect_code(&out, 2);
                assert!(stderr(&out).contains("--database-url: invalid connection string: "));
                if separator == " " && url.contains("password=Zq7 Wk9 ") {
                    // The advice itself survives the redaction of the message.
                    let advice = "right after the password: a password holding spaces must be in single quotes";
                    assert!(stderr(&out).contains(advice), "{}", stderr(&out));
                }
                assert_hidden(&out, &format!("--database-url {url:?} ({format})"));
                let args = ["current", "--format", format];
                let out = retort(cwd.path(), dir.path(), &args, &[("DATABASE_URL", &url)]);
                expect_code(&out, 2);
                assert_hidden(&out, &format!("DATABASE_URL {url:?} ({format})"));
            }
        }
    }
}

#[test]
fn a_config_file_url_that_does_not_parse_is_named_by_file_line_and_key_only() {
    let dir = migrations();
    for separator in SEPARATORS {
        for url in broken_strings(&password(separator)) {
            let cwd = tempfile::tempdir().unwrap();
            let toml_value = url
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\t', "\\t");
            let toml = format!("\n[environments.prod]\nurl = \"{toml_value}\"\n");
            std::fs::write(cwd.path().join("retort.toml"), toml).unwrap();
            for format in ["text", "json"] {
                let out = retort(
                    cwd.path(),
                    dir.path(),
                    &["current", "--format", format],
                    &[],
                );
                expect_code(&out, 2);
                assert!(
                    stderr(&out).contains("retort.toml:3: environments.prod.url: "),
                    "{}",
                    stderr(&out)
                );
                assert_hidden(&out, &format!("retort.toml url {url:?} ({format})"));
            }
        }
    }
}

/// Host and port of the test server, for URLs of our own making.
fn server_address(db: &TestDb) -> Option<(String, u16)> {
    let cfg = db.config();
    let Some(Host::Tcp(host)) = cfg.get_hosts().first() else {
        eprintln!("skipped: the test server is reached over a Unix socket");
        return None;
    };
    Some((
        host.clone(),
        cfg.get_ports().first().copied().unwrap_or(5432),
    ))
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_valid_connection_string_shows_user_host_port_and_database_only() {
    let db = TestDb::create().await;
    let Some((host, port)) = server_address(&db) else {
        return;
    };
    let dir = migrations();
    let cwd = tempfile::tempdir().unwrap();
    let user = db.config().get_user().unwrap_or("postgres").to_string();
    let target = format!("{user}@{host}:{port}/{}", db.name);
    for separator in SEPARATORS {
        let secret = password(separator);
        let urls = [
            format!(
                "postgres://{user}:{}@{host}:{port}/{}",
                percent_encoded(&secret),
                db.name
            ),
            format!(
                "host={host} port={port} user={user} dbname={} password={}",
                db.name,
                quoted(&secret)
            ),
        ];
        for url in &urls {
            for args in [
                &["upgrade", "heads"][..],
                &["current", "-v"],
                &["current", "--format", "json"],
                &["log", "--format", "json"],
                &["downgrade", "base"],
            ] {
                let mut all = args.to_vec();
                all.extend(["--database-url", url]);
                let out = retort(cwd.path(), dir.path(), &all, &[]);
                expect_code(&out, 0);
                assert_hidden(&out, &format!("{args:?} with {url:?}"));
            }
            let out = retort(
                cwd.path(),
                dir.path(),
                &["current", "-v", "--database-url", url],
                &[],
            );
            assert!(stdout(&out).contains(&target), "{}", stdout(&out));
        }
    }
}

#[test]
fn an_unreachable_server_is_named_without_the_password() {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let dir = migrations();
    let cwd = tempfile::tempdir().unwrap();
    for separator in SEPARATORS {
        let secret = password(separator);
        let url = format!(
            "host=127.0.0.1 port={port} user=app dbname=db password={}",
            quoted(&secret)
        );
        let out = retort(
            cwd.path(),
            dir.path(),
            &["upgrade", "heads", "--database-url", &url],
            &[],
        );
        expect_code(&out, 3);
        assert!(
            stderr(&out).contains(&format!("cannot connect to app@127.0.0.1:{port}/db")),
            "{}",
            stderr(&out)
        );
        assert_hidden(&out, &url);
    }
}

// ------------------------------------------------------------- console

/// A tmux server of our own running one command, for reading the screen.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Option<Tmux> {
        let available = Command::new("tmux").arg("-V").output();
        if !available.is_ok_and(|o| o.status.success()) {
            println!("SKIPPED: tmux is not installed; the console test did not run");
            return None;
        }
        let tmux = Tmux {
            socket: format!("retort-secrets-{}", std::process::id()),
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
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The screen once it shows `text`; fails with the screen after 30 s.
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "console"]);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never showed {text:?}:\n{screen}"
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

#[test]
fn the_console_shows_a_broken_connection_string_without_the_password() {
    let dir = migrations();
    // A space and a tab: the cases a text pattern cannot find again.
    let url = "postgres://app:Zq7 \tWk9@127.0.0.1:notaport/db";
    let command = format!(
        "{BIN} --migrations '{}' --database-url '{url}'; sleep 60",
        dir.path().display()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    let screen = tmux.wait_for("invalid connection string");
    println!("{screen}");
    assert!(screen.contains("invalid value for `port`"), "{screen}");
    assert!(
        !screen.contains("Zq7") && !screen.contains("Wk9"),
        "{screen}"
    );
}
