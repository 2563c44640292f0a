//! `retort demo`: the console on the bundled demo project, against a
//! database of its own (see `crate::demo`): a throwaway database on a
//! reachable server, else a private throwaway cluster; removed at exit.
//!
//! The demo project is compiled into the binary and written to a temporary
//! directory, so the demo works from any directory, and revisions written
//! or edited during the demo do not touch the source tree.

use std::path::{Path, PathBuf};

use crate::config::{self, ConnectionSettings, describe_pg_config};
use crate::db::tls::{SslMode, TlsSettings};
use crate::demo::{DemoDatabase, Progress, unless_terminated};
use crate::engine::{Error, GlobalOptions, Project};
use crate::tui::{Connection, connection_for};

macro_rules! demo_file {
    ($name:literal) => {
        ($name, include_str!(concat!("../../migrations/", $name)))
    };
}
/// The demo project's revision files, as shipped in `migrations/`.
const DEMO_FILES: [(&str, &str); 14] = [
    demo_file!("1b6e0d8f3a29_add_users_display_name.sql"),
    demo_file!("2d7c4b9f0e13_create_audit_log.sql"),
    demo_file!("4f1c8a2e9b07_create_accounts.sql"),
    demo_file!("5e8b3d1c7f46_create_plans.sql"),
    demo_file!("6c9d1a5e7b82_audit_invoices.sql"),
    demo_file!("7a4d2c9e1f60_create_invoices.sql"),
    demo_file!("8d3e6b1a0c54_create_users.sql"),
    demo_file!("9b1f6e3a8c27_create_invoice_lines.sql"),
    demo_file!("a27f9c4d61e8_create_memberships.sql"),
    demo_file!("b8e4f0a3c6d9_merge_billing_and_audit.sql"),
    demo_file!("c94a2f7e5d10_backfill_users_display_name.sql"),
    demo_file!("d51a7c3e9f04_index_invoices_and_audit_log_concurrently.sql"),
    demo_file!("e03c7a9b2d81_create_subscriptions.sql"),
    demo_file!("f6a0e2c8b435_audit_accounts_and_memberships.sql"),
];

/// Opens the console on the demo and removes its database (and the copy of
/// the project) when the user quits, on an error, or on SIGINT/SIGTERM/SIGHUP.
pub fn run_demo(options: &GlobalOptions) -> Result<Option<i32>, Error> {
    super::require_terminal()?;
    super::runtime()?.block_on(async {
        let progress = |line: &str| eprintln!("retort demo: {line}");
        let demo = DemoSession::start(options, &progress).await?;
        let intro = demo.intro();
        let (options, project, connection) = demo.console_parts()?;
        // The console handles signals itself (restores the terminal,
        // cancels a running plan); the demo database goes either way.
        let outcome = super::console(&options, project, connection, intro).await;
        let cleanup = demo.finish(&progress).await;
        match outcome {
            Ok(Some(signal)) => {
                eprintln!("retort demo: stopped by signal {signal}; its database was removed");
                cleanup.map(|()| Some(signal))
            }
            Ok(None) => cleanup.map(|()| None),
            Err(e) => Err(e),
        }
    })
}

/// The demo's database and project, ready for a console.
pub struct DemoSession {
    database: DemoDatabase,
    /// The copy of the demo project, removed at the end.
    project_dir: Option<PathBuf>,
    options: GlobalOptions,
    settings: ConnectionSettings,
}

impl DemoSession {
    /// Creates the database (trying `--database-url`, `DATABASE_URL`, then
    /// the default server) and writes the demo project, unless
    /// `--migrations` names another.
    pub async fn start(options: &GlobalOptions, progress: &Progress) -> Result<DemoSession, Error> {
        let candidate = candidate_settings(options)?;
        let database = match unless_terminated(DemoDatabase::start_with_config(
            &candidate.pg_config,
            progress,
        ))
        .await
        {
            Ok(started) => started.map_err(|e| Error::Connect(e.to_string()))?,
            Err(signal) => {
                return Err(Error::Usage(format!(
                    "stopped by {signal} while preparing the demo database"
                )));
            }
        };
        let project_dir = match &options.migrations {
            Some(_) => None,
            None => match write_demo_project() {
                Ok(dir) => Some(dir),
                Err(e) => {
                    let _ = database.cleanup(progress).await;
                    return Err(e);
                }
            },
        };
        let settings = demo_settings(&database, &candidate);
        let options = GlobalOptions {
            config: options.config.clone(),
            env: None,
            database_url: None,
            migrations: options.migrations.clone().or_else(|| project_dir.clone()),
        };
        Ok(DemoSession {
            database,
            project_dir,
            options,
            settings,
        })
    }

    /// What the console's log starts with.
    pub fn intro(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "demo: {} (removed at exit)",
            self.database.describe()
        )];
        if let Some(dir) = &self.project_dir {
            lines.push(format!(
                "demo: the demo project is a copy in {} (removed at exit); press u or U to upgrade, ? for every key",
                dir.display()
            ));
        }
        lines
    }

    /// The options, project and connection the console runs with.
    pub fn console_parts(&self) -> Result<(GlobalOptions, Project, Connection), Error> {
        let project = Project::load(&self.options)?;
        let connection = connection_for(&project, self.settings.clone());
        Ok((self.options.clone(), project, connection))
    }

    /// Removes the database and the project copy.
    pub async fn finish(self, progress: &Progress) -> Result<(), Error> {
        if let Some(dir) = &self.project_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        self.database
            .cleanup(progress)
            .await
            .map_err(|e| Error::Connect(e.to_string()))
    }

    pub fn database(&self) -> &DemoDatabase {
        &self.database
    }
}

/// The server to try first: `--database-url`, `DATABASE_URL`, else the
/// default; resolved like any connection (TLS settings included).
fn candidate_settings(options: &GlobalOptions) -> Result<ConnectionSettings, Error> {
    let url = options
        .database_url
        .clone()
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| crate::demo::DEFAULT_DATABASE_URL.to_string());
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let getenv = |name: &str| std::env::var(name).ok();
    let mut settings =
        config::resolve_connection(Some(&url), None, &config::Config::defaults(&cwd), &getenv)
            .map_err(|e| Error::Usage(e.to_string()))?;
    // `crate::demo` fills these in the same way for a bare URL.
    if settings.pg_config.get_hosts().is_empty() {
        settings.pg_config.host("127.0.0.1");
    }
    if settings.pg_config.get_user().is_none() {
        settings.pg_config.user("postgres");
    }
    Ok(settings)
}

/// The connection to the demo database: the candidate's TLS settings for
/// a throwaway database on that server, none for the private cluster's
/// Unix socket.
fn demo_settings(database: &DemoDatabase, candidate: &ConnectionSettings) -> ConnectionSettings {
    let pg_config = database.connection_config();
    let tls = match database.private_cluster_dir() {
        Some(_) => TlsSettings {
            mode: SslMode::Disable,
            root_cert: None,
        },
        None => candidate.tls.clone(),
    };
    ConnectionSettings {
        url_source: "the demo".to_string(),
        display: describe_pg_config(&pg_config),
        pg_config,
        env: None,
        tls,
        warnings: Vec::new(),
    }
}

/// Writes the demo project into a new temporary directory.
fn write_demo_project() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("retort-demo-project-{}", std::process::id()));
    let failed = |path: &Path, e: std::io::Error| {
        Error::Usage(format!(
            "cannot write the demo project to {}: {e}",
            path.display()
        ))
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| failed(&dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, e))?;
    for (name, text) in DEMO_FILES {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| failed(&path, e))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::{DEMO_FILES, Path, write_demo_project};

    #[test]
    fn the_embedded_project_is_the_shipped_one() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut names: Vec<String> = std::fs::read_dir(&shipped)
            .expect("migrations/")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        let embedded: Vec<&str> = DEMO_FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, embedded, "add new demo files to DEMO_FILES");
        let dir = write_demo_project().expect("written");
        let loaded = crate::scripts::load_revisions(&dir).expect("the copy loads");
        assert_eq!(loaded.len(), DEMO_FILES.len());
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
