//! Schema snapshots of the places a diff compares: a live database (read
//! only: one read-only transaction, no lock), and the schema the revision
//! files make, built on a scratch database that is always dropped.

use crate::config::{Config, ConnectionSettings};
use crate::core::plan::Intent;
use crate::core::schema::Snapshot;
use crate::db::catalog::{ReadOptions, read_snapshot};
use crate::db::events::EventSink;
use crate::db::lock::WaitPolicy;
use crate::engine::cancel::Cancellation;
use crate::engine::error::Error;
use crate::engine::migrator::{Migrator, OwnedConsent, RunRequest};
use crate::engine::project::{Project, history_table, version_table};
use crate::engine::scratch::ScratchDb;
use crate::engine::session::Database;

/// A snapshot and where it was read.
#[derive(Debug, Clone)]
pub struct ReadSnapshot {
    pub snapshot: Snapshot,
    /// `user@host:port/db`, never the password.
    pub display: String,
}

/// Reads the schema of the database `settings` reach, leaving out the
/// version and history tables `config` names (resolved as a run would).
pub async fn read_database(
    settings: &ConnectionSettings,
    config: &Config,
    options: &ReadOptions,
) -> Result<ReadSnapshot, Error> {
    let mut db = Database::connect(settings, version_table(config))
        .await?
        .with_history_table(history_table(config));
    read_session(&mut db, options).await
}

/// Reads the schema of an open session, without retort's own tables; the
/// session can go on (a rehearsal reads between steps).
pub async fn read_session(db: &mut Database, options: &ReadOptions) -> Result<ReadSnapshot, Error> {
    let mut options = options.clone();
    options
        .exclude_tables
        .extend([db.table.qualified(), db.history.qualified()]);
    let snapshot = read_snapshot(db.conn.client_mut(), &options)
        .await
        .map_err(|e| Error::database(format!("reading the schema of {}", db.display), e))?;
    Ok(ReadSnapshot {
        snapshot,
        display: db.display.clone(),
    })
}

/// What the revision files make, up to where.
pub struct MigrationsRequest<'a> {
    pub project: &'a Project,
    /// The server the scratch database is made on.
    pub server: &'a ConnectionSettings,
    /// `heads`, or the revision given with `--head`.
    pub target: String,
    pub options: ReadOptions,
}

/// How a build on a scratch database ended.
pub enum Built {
    Read(ReadSnapshot),
    /// `cancel` was requested; the scratch database was dropped.
    Cancelled,
}

/// Applies the revision files up to the target on a scratch database
/// through the migrator, reads its schema, and drops it, also when a
/// revision fails (the error is the migrator's, naming file and line) and
/// when `cancel` is requested. `on_created` hears the scratch database's
/// name as soon as it exists.
pub async fn read_migrations(
    request: &MigrationsRequest<'_>,
    sink: &dyn EventSink,
    cancel: &Cancellation,
    on_created: impl FnOnce(&ScratchDb),
) -> Result<Built, Error> {
    let Some(scratch) = create_scratch(request.server, cancel).await? else {
        return Ok(Built::Cancelled);
    };
    on_created(&scratch);
    let built = tokio::select! {
        built = build(request, &scratch, sink, cancel) => Some(built),
        () = cancel.requested() => None,
    };
    let read = finish_scratch(scratch, built).await?;
    Ok(read.map_or(Built::Cancelled, Built::Read))
}

/// A new scratch database of `server`; `None` when `cancel` came first.
pub async fn create_scratch(
    server: &ConnectionSettings,
    cancel: &Cancellation,
) -> Result<Option<ScratchDb>, Error> {
    tokio::select! {
        made = ScratchDb::create(server) => made.map(Some),
        () = cancel.requested() => Ok(None),
    }
}

/// Drops `scratch` after the work on it ended (`None`: cancelled), and
/// gives the work's outcome, or the drop's error when the work succeeded.
pub async fn finish_scratch<T>(
    scratch: ScratchDb,
    built: Option<Result<T, Error>>,
) -> Result<Option<T>, Error> {
    let dropped = scratch.drop_database().await;
    match built {
        None => dropped.map(|()| None),
        Some(built) => {
            let value = built?;
            dropped?;
            Ok(Some(value))
        }
    }
}

async fn build(
    request: &MigrationsRequest<'_>,
    scratch: &ScratchDb,
    sink: &dyn EventSink,
    cancel: &Cancellation,
) -> Result<ReadSnapshot, Error> {
    let mut db = apply_revisions(request.project, scratch, &request.target, sink, cancel).await?;
    read_session(&mut db, &request.options).await
}

/// Upgrades `scratch` to `target` through the migrator, as `upgrade` would
/// (version table, history and all), and returns its session.
pub async fn apply_revisions(
    project: &Project,
    scratch: &ScratchDb,
    target: &str,
    sink: &dyn EventSink,
    cancel: &Cancellation,
) -> Result<Database, Error> {
    let mut db = Database::open(project, &scratch.settings).await?;
    let migrator = Migrator {
        map: &project.map,
        migrations_dir: &project.migrations_dir,
        protected: None,
    };
    let run = RunRequest {
        intent: Intent::Upgrade {
            target: target.to_string(),
        },
        approved: None,
        atomic: false,
        consent: OwnedConsent {
            deliberate: true,
            ..OwnedConsent::default()
        },
        wait: WaitPolicy::default(),
    };
    migrator
        .run(&mut db, &run, sink, cancel)
        .await
        .map_err(|e| e.error)?;
    Ok(db)
}
