//! libpq's connection conventions against real servers: `sslmode` allow /
//! prefer fall back as libpq does (a private cluster on TCP with ssl on or
//! off and `hostssl` / `hostnossl` pg_hba rules), the password file
//! (`PGPASSFILE`, `~/.pgpass`, wildcards, escapes, the permission check)
//! with scram-sha-256 authentication, an empty user name, and the default
//! connect timeout against a listener that never answers.
//!
//! Every cluster test prints a skip note and passes when the PostgreSQL
//! server programs (or `openssl`, for the TLS ones) are missing.

mod common;
mod support;

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use retort::config::{Config, resolve_connection};
use retort::db::{SessionSettings, connect_with};
use retort::demo::{PrivateCluster, ShutdownMode, locate_server_binaries};
use support::{BIN, expect_code, finish, stderr, stdout, write_revision};

/// A private cluster listening on 127.0.0.1 with the given TLS setting and
/// pg_hba rules for TCP (the Unix socket stays `trust` for the test's own
/// queries). Stopped and removed when dropped.
struct TcpServer {
    cluster: PrivateCluster,
}

impl TcpServer {
    async fn start(ssl: bool, hba_tcp: &str) -> Option<TcpServer> {
        if locate_server_binaries().is_none() {
            eprintln!("skipped: no PostgreSQL server programs (initdb, pg_ctl) found");
            return None;
        }
        if ssl && Command::new("openssl").arg("version").output().is_err() {
            eprintln!("skipped: openssl is needed to make the server's certificate");
            return None;
        }
        let cluster = PrivateCluster::start(&|_: &str| {})
            .await
            .unwrap_or_else(|e| panic!("cannot start a private cluster: {e}"));
        let server = TcpServer { cluster };
        server.configure(ssl, hba_tcp);
        server.cluster.stop_server(ShutdownMode::Fast).unwrap();
        server.cluster.start_server().await.unwrap();
        Some(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.cluster.root().join("data")
    }

    /// Writes the settings and pg_hba.conf; a restart applies them.
    fn configure(&self, ssl: bool, hba_tcp: &str) {
        let data = self.data_dir();
        let mut settings = "\nlisten_addresses = '127.0.0.1'\n".to_string();
        if ssl {
            make_certificate(&data, "server");
            settings
                .push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        } else {
            settings.push_str("ssl = off\n");
        }
        append(&data.join("postgresql.conf"), &settings);
        let hba = format!("local all all trust\n{hba_tcp}\n");
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    }

    fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// Runs SQL as the superuser over the socket.
    async fn admin(&self, sql: &str) {
        let client = common::plain_client(&self.cluster.connection_config()).await;
        client.batch_execute(sql).await.unwrap();
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A self-signed certificate and key `NAME.crt` / `NAME.key` in `dir`,
/// owned like `dir` (the server refuses a key others can read).
fn make_certificate(dir: &Path, name: &str) -> PathBuf {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(status.status.success(), "openssl: {status:?}");
    let owner = std::fs::metadata(dir).unwrap();
    for file in [&cert, &key] {
        std::os::unix::fs::chown(file, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    cert
}

/// Connects as retort does (the connection string resolved, TLS as its
/// sslmode says) and tells whether the session uses TLS, or why it failed.
async fn session_uses_tls(url: &str) -> Result<bool, String> {
    let config = Config::defaults(Path::new("."));
    let settings =
        resolve_connection(Some(url), None, &config, &|_| None).map_err(|e| e.to_string())?;
    let transport = retort::engine::transport(&settings).map_err(|e| e.to_string())?;
    let session = connect_with(&settings.pg_config, &SessionSettings::default(), transport)
        .await
        .map_err(|e| e.to_string())?;
    let row = session
        .client()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

fn url(server: &TcpServer, sslmode: &str) -> String {
    format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode={sslmode}",
        server.port()
    )
}

fn expect_refused(outcome: Result<bool, String>, cause: &str) {
    match outcome {
        Ok(tls) => panic!("connected (tls: {tls}), expected a refusal with {cause:?}"),
        Err(message) => assert!(message.contains(cause), "{message}"),
    }
}

#[tokio::test]
async fn prefer_falls_back_to_plaintext_when_the_server_refuses_tls_sessions() {
    let hba = "hostnossl all all 127.0.0.1/32 trust";
    let Some(server) = TcpServer::start(true, hba).await else {
        return;
    };
    assert_eq!(session_uses_tls(&url(&server, "prefer")).await, Ok(false));
    assert_eq!(session_uses_tls(&url(&server, "allow")).await, Ok(false));
    assert_eq!(session_uses_tls(&url(&server, "disable")).await, Ok(false));
    expect_refused(
        session_uses_tls(&url(&server, "require")).await,
        "no pg_hba.conf entry",
    );
}

#[tokio::test]
async fn allow_tries_plaintext_first_and_then_tls() {
    let hba = "hostssl all all 127.0.0.1/32 trust";
    let Some(server) = TcpServer::start(true, hba).await else {
        return;
    };
    assert_eq!(session_uses_tls(&url(&server, "allow")).await, Ok(true));
    assert_eq!(session_uses_tls(&url(&server, "prefer")).await, Ok(true));
    assert_eq!(session_uses_tls(&url(&server, "require")).await, Ok(true));
    expect_refused(
        session_uses_tls(&url(&server, "disable")).await,
        "no pg_hba.conf entry",
    );
}

#[tokio::test]
async fn allow_stays_in_plaintext_and_prefer_uses_tls_when_both_are_accepted() {
    let hba = "host all all 127.0.0.1/32 trust";
    let Some(server) = TcpServer::start(true, hba).await else {
        return;
    };
    assert_eq!(session_uses_tls(&url(&server, "allow")).await, Ok(false));
    assert_eq!(session_uses_tls(&url(&server, "prefer")).await, Ok(true));
    // A handshake that fails (the server's certificate is not signed by the
    // root given) is one more reason for prefer to go on in plaintext;
    // require refuses.
    let other_root = make_certificate(&server.cluster.root().join("data"), "other");
    let with_root = |mode: &str| {
        format!(
            "{}&sslrootcert={}",
            url(&server, mode),
            other_root.display()
        )
    };
    assert_eq!(session_uses_tls(&with_root("prefer")).await, Ok(false));
    expect_refused(
        session_uses_tls(&with_root("require")).await,
        "the server's certificate",
    );
}

#[tokio::test]
async fn without_tls_on_the_server_prefer_and_allow_use_plaintext_and_require_fails() {
    let hba = "host all all 127.0.0.1/32 trust";
    let Some(server) = TcpServer::start(false, hba).await else {
        return;
    };
    assert_eq!(session_uses_tls(&url(&server, "prefer")).await, Ok(false));
    assert_eq!(session_uses_tls(&url(&server, "allow")).await, Ok(false));
    expect_refused(
        session_uses_tls(&url(&server, "require")).await,
        "cannot connect to postgres@127.0.0.1",
    );
}

// ------------------------------------------------------------- passwords

/// The password of the `app` role: a colon, a space and a backslash, which
/// the password file must escape (`\:`, `\\`).
const APP_PASSWORD: &str = "pa:ss w\\rd";

async fn password_server() -> Option<TcpServer> {
    let hba = "host all all 127.0.0.1/32 scram-sha-256";
    let server = TcpServer::start(false, hba).await?;
    let sql = format!(
        "SET password_encryption = 'scram-sha-256'; CREATE ROLE app LOGIN PASSWORD '{APP_PASSWORD}'"
    );
    server.admin(&sql).await;
    Some(server)
}

/// `retort current` as `app` without a password in the connection string,
/// with the extra environment `vars` (HOME and PGPASSFILE are cleared first).
fn current_as_app(server: &TcpServer, url: &str, vars: &[(&str, &Path)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    write_revision(dir.path(), "a1", &[], "", "SELECT 1;", Some(""));
    let mut command = support::command_at(url, dir.path(), &["current"]);
    command
        .env_remove("PGPASSFILE")
        .env_remove("PGPASSWORD")
        .env("HOME", "/nonexistent");
    for (name, value) in vars {
        command.env(name, value);
    }
    assert!(url.contains(&server.port().to_string()));
    finish(command.spawn().expect("retort starts"))
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn the_password_file_is_read_with_wildcards_escapes_and_the_permission_check() {
    let Some(server) = password_server().await else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let app_url = format!("postgres://app@127.0.0.1:{}/postgres", server.port());
    let escaped = "pa\\:ss w\\\\rd";

    // No password anywhere: the server's refusal, nothing else.
    let out = current_as_app(&server, &app_url, &[]);
    expect_code(&out, 3);

    // PGPASSFILE, the first matching line wins; other hosts' lines are skipped.
    let file = home.path().join("passfile");
    let lines = format!(
        "# comment\nother.example:*:*:app:wrong\n127.0.0.1:{}:postgres:app:{escaped}\n*:*:*:*:wrong\n",
        server.port()
    );
    write_private(&file, &lines, 0o600);
    let out = current_as_app(&server, &app_url, &[("PGPASSFILE", &file)]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("app@127.0.0.1"), "{}", stderr(&out));

    // ~/.pgpass with wildcards.
    write_private(
        &home.path().join(".pgpass"),
        &format!("*:*:*:app:{escaped}\n"),
        0o600,
    );
    let out = current_as_app(&server, &app_url, &[("HOME", home.path())]);
    expect_code(&out, 0);

    // Readable by others: ignored with libpq's warning, so no password.
    std::fs::set_permissions(
        home.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = current_as_app(&server, &app_url, &[("HOME", home.path())]);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("has group or world access; permissions should be u=rw (0600) or less"),
        "{err}"
    );
    assert!(!err.contains("pa:ss") && !err.contains("w\\rd"), "{err}");

    // The connection string's password wins over the file.
    let url_with_password = format!(
        "host=127.0.0.1 port={} user=app dbname=postgres password='pa:ss w\\\\rd'",
        server.port()
    );
    let out = current_as_app(&server, &url_with_password, &[]);
    expect_code(&out, 0);
    assert!(!stdout(&out).contains("pa:ss"), "{}", stdout(&out));
}

#[tokio::test]
async fn a_url_password_with_reserved_characters_authenticates_once_encoded() {
    let Some(server) = password_server().await else {
        return;
    };
    let url = format!(
        "postgres://app:pa%3Ass%20w%5Crd@127.0.0.1:{}/postgres",
        server.port()
    );
    let out = current_as_app(&server, &url, &[]);
    expect_code(&out, 0);
    let url = format!("postgres://app:wrong@127.0.0.1:{}/postgres", server.port());
    let out = current_as_app(&server, &url, &[]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("password authentication failed"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("wrong"), "{}", stderr(&out));
}

#[test]
fn an_empty_user_name_falls_back_to_the_os_user() {
    let config = Config::defaults(Path::new("."));
    let getenv = |name: &str| (name == "USER").then(|| "carol".to_string());
    for url in [
        "postgres://@db.example/app",
        "host=db.example user='' dbname=app",
    ] {
        let settings = resolve_connection(Some(url), None, &config, &getenv).unwrap();
        assert_eq!(settings.display, "carol@db.example:5432/app", "{url}");
    }
    let getenv = |name: &str| match name {
        "USER" => Some("carol".to_string()),
        "PGUSER" => Some(String::new()),
        _ => None,
    };
    let settings = resolve_connection(Some("host=h"), None, &config, &getenv).unwrap();
    assert_eq!(settings.display, "carol@h:5432/carol");
}

// ------------------------------------------------------------- timeouts

/// A listener that accepts connections and never says a word.
fn silent_listener() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

fn upgrade_in(dir: &Path, url: Option<&str>, vars: &[(&str, &str)]) -> std::process::Output {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    write_revision(&migrations, "a1", &[], "", "SELECT 1;", Some(""));
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("PGCONNECT_TIMEOUT")
        .args(["upgrade", "heads"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(url) = url {
        command.args(["--database-url", url]);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    finish(command.spawn().unwrap())
}

#[test]
fn a_server_that_never_answers_fails_after_the_default_ten_seconds() {
    let port = silent_listener();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let out = upgrade_in(dir.path(), Some(&url), &[]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("did not complete the connection within 10 s (connect_timeout)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_connect_timeout_comes_from_the_environment_or_pgconnect_timeout() {
    let port = silent_listener();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[environments.prod]\nurl = \"postgres://postgres@127.0.0.1:{port}/postgres\"\nconnect_timeout = \"1s\"\n"
    );
    std::fs::write(dir.path().join("retort.toml"), toml).unwrap();
    let out = upgrade_in(dir.path(), None, &[]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("within 1 s (connect_timeout)"),
        "{}",
        stderr(&out)
    );

    let other = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let out = upgrade_in(other.path(), Some(&url), &[("PGCONNECT_TIMEOUT", "3")]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("within 3 s (connect_timeout)"),
        "{}",
        stderr(&out)
    );
}
