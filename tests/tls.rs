//! TLS against the real server: sslmode require / verify-ca / verify-full
//! with the server's certificate as the root, refusals with clear messages,
//! and cancel requests over TLS. Every test prints a skip note and passes
//! when the server has no TLS (`SHOW ssl` is off) or is reached over a
//! Unix socket.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestDb;
use retort::core::graph::RevisionMap;
use retort::core::plan::{Direction, Plan, Step, StepKind, VersionOp};
use retort::core::revision::{Revision, SqlSection};
use retort::db::{
    ExecError, ExecOptions, MigrationConnection, RootCert, SessionSettings, SslMode, TlsSettings,
    Transport, VersionTable, connect_with, execute_plan,
};
use tokio_postgres::Config;
use tokio_postgres::config::Host;

/// Debian's self-signed certificate that PostgreSQL serves by default.
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The certificate the server presents, when it can be read here: the
/// server's `ssl_cert_file` (the snakeoil certificate on Debian).
async fn server_certificate(db: &TestDb) -> Option<PathBuf> {
    let client = db.client().await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.ok()?.get(0);
    if ssl != "on" {
        eprintln!("skipped: the server has ssl = {ssl}");
        return None;
    }
    if !matches!(db.config().get_hosts().first(), Some(Host::Tcp(_))) {
        eprintln!("skipped: the test server is reached over a Unix socket (no TLS there)");
        return None;
    }
    let file: String = client
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .ok()?
        .get(0);
    let path = PathBuf::from(file);
    if path.is_file() {
        return Some(path);
    }
    let fallback = PathBuf::from(SNAKEOIL);
    if fallback.is_file() {
        return Some(fallback);
    }
    eprintln!(
        "skipped: cannot read the server's certificate {}",
        path.display()
    );
    None
}

fn config_for(db: &TestDb, host: Option<&str>, mode: SslMode) -> Config {
    let mut cfg = db.config();
    if let Some(host) = host {
        let mut text = db.conninfo();
        if let Some(Host::Tcp(old)) = cfg.get_hosts().first() {
            text = text.replace(&format!("host={old}"), &format!("host={host}"));
        }
        cfg = text.parse().expect("conninfo parses");
    }
    cfg.ssl_mode(mode.negotiation());
    cfg
}

fn settings(mode: SslMode, root: Option<&Path>) -> TlsSettings {
    TlsSettings {
        mode,
        root_cert: root.map(|p| RootCert::File(p.to_path_buf())),
    }
}

async fn connect_tls(cfg: &Config, tls: &TlsSettings) -> Result<MigrationConnection, String> {
    let transport = Transport::for_settings(tls).map_err(|e| e.to_string())?;
    connect_with(cfg, &SessionSettings::default(), transport)
        .await
        .map_err(|e| e.to_string())
}

async fn uses_tls(conn: &MigrationConnection) -> bool {
    conn.client()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

#[tokio::test]
async fn require_encrypts_and_disable_does_not() {
    let db = TestDb::create().await;
    if server_certificate(&db).await.is_none() {
        return;
    }
    for (mode, encrypted) in [
        (SslMode::Require, true),
        (SslMode::Prefer, true),
        (SslMode::Disable, false),
    ] {
        let cfg = config_for(&db, None, mode);
        let conn = connect_tls(&cfg, &settings(mode, None))
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        assert_eq!(uses_tls(&conn).await, encrypted, "sslmode={mode}");
    }
}

#[tokio::test]
async fn verify_ca_accepts_the_server_certificate_as_root() {
    let db = TestDb::create().await;
    let Some(cert) = server_certificate(&db).await else {
        return;
    };
    // By IP address: verify-ca does not compare the host name.
    let cfg = config_for(&db, None, SslMode::VerifyCa);
    let conn = connect_tls(&cfg, &settings(SslMode::VerifyCa, Some(&cert)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(uses_tls(&conn).await);
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    let db = TestDb::create().await;
    let Some(cert) = server_certificate(&db).await else {
        return;
    };
    let tls = settings(SslMode::VerifyFull, Some(&cert));
    let by_name = config_for(&db, Some("localhost"), SslMode::VerifyFull);
    match connect_tls(&by_name, &tls).await {
        Ok(conn) => assert!(uses_tls(&conn).await),
        // A certificate for another name than localhost: nothing to prove here.
        Err(e) if e.contains("does not name the host") => {
            eprintln!("skipped the positive half: {e}");
        }
        Err(e) => panic!("{e}"),
    }
    let by_address = config_for(&db, Some("127.0.0.1"), SslMode::VerifyFull);
    let err = connect_tls(&by_address, &tls)
        .await
        .err()
        .expect("verify-full must refuse a certificate that does not name 127.0.0.1");
    assert!(err.contains("does not name the host"), "{err}");
    assert!(err.contains("127.0.0.1"), "{err}");
    assert!(err.contains("sslmode=verify-ca"), "{err}");
}

#[tokio::test]
async fn verify_full_refuses_a_self_signed_certificate_without_its_root() {
    let db = TestDb::create().await;
    if server_certificate(&db).await.is_none() {
        return;
    }
    let cfg = config_for(&db, Some("localhost"), SslMode::VerifyFull);
    // Roots that did not sign the server's certificate: the public CA
    // bundle. (sslrootcert=system is no good here: Debian links the snakeoil
    // certificate into /etc/ssl/certs, so OpenSSL and rustls trust it.)
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if bundle.is_file() {
        let err = connect_tls(&cfg, &settings(SslMode::VerifyFull, Some(bundle)))
            .await
            .err()
            .expect("a self-signed certificate must not pass verify-full");
        assert!(err.contains("not signed by a trusted root"), "{err}");
        assert!(err.contains("sslrootcert"), "{err}");
        assert!(err.contains("ca-certificates.crt"), "{err}");
    } else {
        eprintln!("skipped the wrong-root half: no {}", bundle.display());
    }
    // No root at all: refused before connecting, unless libpq's default file exists.
    let default_root = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".postgresql/root.crt"))
        .is_some_and(|p| p.exists());
    if !default_root {
        let err = connect_tls(&cfg, &settings(SslMode::VerifyFull, None))
            .await
            .err()
            .expect("verify-full without any root certificate");
        assert!(
            err.starts_with("sslmode=verify-full needs a root certificate"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_cancel_request_travels_over_tls() {
    let db = TestDb::create().await;
    let Some(cert) = server_certificate(&db).await else {
        return;
    };
    let cfg = config_for(&db, None, SslMode::VerifyCa);
    let mut conn = connect_tls(&cfg, &settings(SslMode::VerifyCa, Some(&cert)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rev = Revision::synthetic("slow", &[]);
    rev.upgrade = SqlSection {
        sql: "CREATE TABLE before_sleep (id int);\nSELECT pg_sleep(30);".to_string(),
        first_line: 3,
    };
    let map = RevisionMap::build(vec![rev]).unwrap();
    let plan = Plan {
        steps: vec![Step {
            kind: StepKind::Migrate,
            direction: Direction::Upgrade,
            revision: "slow".into(),
            from_revisions: vec![],
            to_revisions: vec!["slow".into()],
            version_ops: vec![VersionOp::Insert {
                version: "slow".into(),
            }],
        }],
        heads_before: vec![],
        heads_after: vec!["slow".into()],
        purge: false,
    };
    let handle = conn.cancel_handle();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        handle.cancel().await
    });
    let started = Instant::now();
    let opts = ExecOptions::new(VersionTable::default());
    let result = execute_plan(&mut conn, &map, &plan, &opts, &|_| {}).await;
    let sent = canceller.await.expect("canceller task");
    assert_eq!(sent, Ok(true));
    assert!(matches!(result, Err(ExecError::Cancelled(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let client = db.client().await;
    let table: Option<String> = client
        .query_one("SELECT to_regclass('before_sleep')::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(table, None, "the cancelled step was rolled back");
}

#[tokio::test]
async fn the_command_line_explains_a_refused_certificate() {
    let db = TestDb::create().await;
    let Some(cert) = server_certificate(&db).await else {
        return;
    };
    let cwd = tempfile::tempdir().expect("temp dir");
    let migrations = cwd.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let url = format!(
        "{} sslmode=verify-full sslrootcert={}",
        db.conninfo(),
        cert.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_retort"))
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .args(["--database-url", &url, "current"])
        .output()
        .expect("retort runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("does not name the host"), "{stderr}");
    let url = format!(
        "{} sslmode=verify-ca sslrootcert={}",
        db.conninfo(),
        cert.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_retort"))
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .args(["--database-url", &url, "current"])
        .output()
        .expect("retort runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
