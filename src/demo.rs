//! A database of its own for the demo (`retort demo`): a throwaway database
//! on a reachable server, or else a private throwaway PostgreSQL cluster
//! started from the installed server programs. Either is removed by
//! [`DemoDatabase::cleanup`], or (best effort, blocking) when the value is
//! dropped without it, e.g. while a panic unwinds.
//!
//! Progress goes to a caller-supplied callback, one line at a time, so the
//! CLI can print it and the console can put it in its log.
//!
//! [`PrivateCluster`] is public on its own as well, for tests that need a
//! server they may stop and restart.

mod binaries;
mod cluster;
mod throwaway;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio_postgres::Config;
use tokio_postgres::config::Host;

pub use binaries::{
    ServerBinaries, VersionedRoot, default_versioned_roots, install_hint, install_hint_for,
    locate_server_binaries, locate_server_binaries_in,
};

use crate::config::parse_connection_string;
pub use cluster::{PrivateCluster, ShutdownMode};
use throwaway::ThrowawayDatabase;

/// Tried when no connection string is configured.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Receives progress lines ("starting a private PostgreSQL 15 cluster ...").
pub type Progress = dyn Fn(&str) + Send + Sync;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    /// The URL is never quoted: it may hold a password.
    #[error("invalid database URL: {cause}")]
    InvalidUrl { cause: String },
    #[error("{0}")]
    NoServerBinaries(String),
    #[error("cannot run the demo cluster as an unprivileged user: {0}")]
    User(String),
    #[error("private PostgreSQL cluster{}: {step} failed: {cause}", in_dir(.dir))]
    Cluster {
        dir: String,
        step: String,
        cause: String,
    },
    #[error("demo cleanup: {0}")]
    Cleanup(String),
}

fn in_dir(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!(" in {dir}")
    }
}

/// Says what was searched and how to install the server programs; with
/// `server_problem`, also why no running server was used.
fn no_binaries_error(server_problem: Option<&str>) -> DemoError {
    let searched = "no PostgreSQL server programs (initdb and pg_ctl) found on PATH, \
                    under /usr/lib/postgresql/*/bin or under /usr/pgsql-*/bin";
    let lead = match server_problem {
        Some(problem) => format!("{problem}, and {searched}"),
        None => searched.to_string(),
    };
    DemoError::NoServerBinaries(format!(
        "{lead}; {}, or point retort at a running server with --database-url or DATABASE_URL",
        install_hint()
    ))
}

/// `1.23 s`, for progress lines.
fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// `user@host:port` (first host), never the password.
fn server_text(config: &Config) -> String {
    let user = config.get_user().unwrap_or("?");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) if name.contains(':') => format!("[{name}]"),
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{user}@{host}:{port}")
}

enum Backend {
    Throwaway(ThrowawayDatabase),
    Cluster(PrivateCluster),
}

/// The demo's database, removed by [`cleanup`](DemoDatabase::cleanup) or,
/// failing that, when dropped.
pub struct DemoDatabase {
    backend: Backend,
}

impl DemoDatabase {
    /// Uses the server at `candidate_url` (default [`DEFAULT_DATABASE_URL`])
    /// for a throwaway database when it is reachable and lets us create
    /// one; otherwise starts a private cluster. Fields missing from the URL
    /// default to user `postgres` on 127.0.0.1; callers that resolved a
    /// full configuration already use [`start_with_config`].
    ///
    /// [`start_with_config`]: DemoDatabase::start_with_config
    pub async fn start(
        candidate_url: Option<&str>,
        progress: &Progress,
    ) -> Result<DemoDatabase, DemoError> {
        let url = candidate_url.unwrap_or(DEFAULT_DATABASE_URL);
        let parsed = parse_connection_string(url).map_err(|problem| DemoError::InvalidUrl {
            cause: problem.to_string(),
        })?;
        let mut candidate: Config = parsed.pg_config;
        if candidate.get_hosts().is_empty() && candidate.get_hostaddrs().is_empty() {
            candidate.host("127.0.0.1");
        }
        if candidate.get_user().is_none() {
            candidate.user("postgres");
        }
        DemoDatabase::start_with_config(&candidate, progress).await
    }

    /// Like [`start`](DemoDatabase::start), with the candidate server given
    /// as a complete connection configuration.
    pub async fn start_with_config(
        candidate: &Config,
        progress: &Progress,
    ) -> Result<DemoDatabase, DemoError> {
        let server = server_text(candidate);
        progress(&format!("trying the PostgreSQL server at {server} ..."));
        match ThrowawayDatabase::create(candidate).await {
            Ok(database) => {
                progress(&format!(
                    "created the throwaway database {} on {server} (dropped at exit)",
                    database.name()
                ));
                Ok(DemoDatabase {
                    backend: Backend::Throwaway(database),
                })
            }
            Err(reason) => {
                let problem = format!("cannot use the server at {server}: {reason}");
                progress(&problem);
                DemoDatabase::start_private_cluster(progress)
                    .await
                    .map_err(|e| match e {
                        DemoError::NoServerBinaries(_) => no_binaries_error(Some(&problem)),
                        other => other,
                    })
            }
        }
    }

    /// Starts a private throwaway cluster, whether or not a server is
    /// reachable.
    pub async fn start_private_cluster(progress: &Progress) -> Result<DemoDatabase, DemoError> {
        let cluster = PrivateCluster::start(progress).await?;
        Ok(DemoDatabase {
            backend: Backend::Cluster(cluster),
        })
    }

    /// Where to connect: the throwaway database (with the candidate's
    /// credentials), or the private cluster's socket directory, port, user
    /// `postgres` and database `postgres`.
    pub fn connection_config(&self) -> Config {
        match &self.backend {
            Backend::Throwaway(database) => database.connection_config(),
            Backend::Cluster(cluster) => cluster.connection_config(),
        }
    }

    /// For people, never with a password: "throwaway database
    /// retort_demo_123_ab12cd34 on postgres@127.0.0.1:5432" or "private
    /// PostgreSQL 15 cluster in /tmp/retort-demo-... (port 41234, ...)".
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Throwaway(database) => format!(
                "throwaway database {} on {}",
                database.name(),
                database.server()
            ),
            Backend::Cluster(cluster) => format!(
                "private PostgreSQL {} cluster in {} (port {}, Unix socket only, running as {})",
                cluster.major_version(),
                cluster.root().display(),
                cluster.port(),
                cluster.run_as().name()
            ),
        }
    }

    /// The name of the database the demo runs in.
    pub fn database_name(&self) -> &str {
        match &self.backend {
            Backend::Throwaway(database) => database.name(),
            Backend::Cluster(_) => cluster::DATABASE,
        }
    }

    /// The private cluster's directory (data, socket and log), if that is
    /// what this is.
    pub fn private_cluster_dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Throwaway(_) => None,
            Backend::Cluster(cluster) => Some(cluster.root()),
        }
    }

    /// The private cluster's postmaster process id, while it runs.
    pub fn postmaster_pid(&self) -> Option<i32> {
        match &self.backend {
            Backend::Throwaway(_) => None,
            Backend::Cluster(cluster) => cluster.postmaster_pid(),
        }
    }

    /// Drops the throwaway database, or stops the private cluster and
    /// removes its directory.
    pub async fn cleanup(self, progress: &Progress) -> Result<(), DemoError> {
        let started = Instant::now();
        match self.backend {
            Backend::Throwaway(database) => {
                progress(&format!(
                    "dropping the throwaway database {} ...",
                    database.name()
                ));
                database.drop_database().await?;
            }
            Backend::Cluster(mut cluster) => {
                progress(&format!(
                    "stopping the private cluster and removing {} ...",
                    cluster.root().display()
                ));
                tokio::task::spawn_blocking(move || cluster.stop_and_remove())
                    .await
                    .map_err(|e| DemoError::Cleanup(format!("the cleanup task failed: {e}")))??;
            }
        }
        progress(&format!(
            "demo database removed in {}",
            seconds(started.elapsed())
        ));
        Ok(())
    }
}

/// Runs `work` unless SIGINT, SIGTERM or SIGHUP arrives first; then the
/// error names the signal. `work` is dropped on a signal, so the caller can
/// go on to [`DemoDatabase::cleanup`] instead of dying with the cluster
/// still running. (Ctrl-C in a raw-mode terminal is a key, not a signal.)
pub async fn unless_terminated<F: Future>(work: F) -> Result<F::Output, &'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let listeners = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = listeners else {
        // Without signal handlers the default actions stay; run unguarded.
        return Ok(work.await);
    };
    tokio::select! {
        output = work => Ok(output),
        _ = interrupt.recv() => Err("SIGINT"),
        _ = terminate.recv() => Err("SIGTERM"),
        _ = hangup.recv() => Err("SIGHUP"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compile-time check: the lead can run start and cleanup on spawned
    /// tasks (never called).
    #[allow(dead_code)]
    fn spawnable(demo: DemoDatabase) {
        tokio::spawn(async { DemoDatabase::start(None, &|_: &str| {}).await });
        tokio::spawn(async move { demo.cleanup(&|_: &str| {}).await });
    }

    #[test]
    fn server_text_hides_the_password() {
        let config: Config = "postgres://alice:s3cret@db.example:6543/app"
            .parse()
            .unwrap();
        assert_eq!(server_text(&config), "alice@db.example:6543");
    }

    #[test]
    fn cluster_errors_name_the_directory_when_known() {
        let error = DemoError::Cluster {
            dir: "/tmp/x".to_string(),
            step: "initdb".to_string(),
            cause: "boom".to_string(),
        };
        assert_eq!(
            error.to_string(),
            "private PostgreSQL cluster in /tmp/x: initdb failed: boom"
        );
    }

    #[test]
    fn no_binaries_error_mentions_the_server_problem_and_an_install_command() {
        let text = no_binaries_error(Some("cannot use the server at a@b:1: refused")).to_string();
        assert!(text.starts_with("cannot use the server at a@b:1: refused, and no PostgreSQL"));
        assert!(text.contains("install"), "{text}");
        assert!(text.contains("--database-url"), "{text}");
    }
}
