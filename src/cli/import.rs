//! `retort import --from KIND SRC`: another tool's migrations written as
//! revision files, and the databases that tool manages adopted at the
//! revision they are really at (printed, or run with `--stamp`).

use super::args::{GlobalArgs, ImportArgs, Kind, StampArgs};
use super::signals::SignalWatch;
use super::{Outcome, report, runtime};
use crate::core::import::SourceKind;
use crate::core::schema::render_changes;
use crate::engine::import::{
    Adoption, check_adoption, imported_project, read_alembic_project, read_project, write_revisions,
};
use crate::engine::{Error, load_config};

impl Kind {
    /// The linear tools; `None` for Alembic, whose graph and version
    /// table retort shares.
    fn source_kind(self) -> Option<SourceKind> {
        Some(match self {
            Kind::Sqlx => SourceKind::Sqlx,
            Kind::Diesel => SourceKind::Diesel,
            Kind::Dbmate => SourceKind::Dbmate,
            Kind::GolangMigrate => SourceKind::GolangMigrate,
            Kind::Pop => SourceKind::Pop,
            Kind::Flyway => SourceKind::Flyway,
            Kind::Alembic => return None,
        })
    }
}

pub fn import(global: &GlobalArgs, args: ImportArgs) -> Result<Outcome, Error> {
    let kind = args.from.source_kind();
    let options = global.options();
    let config = load_config(&options)?;
    let into = args
        .into
        .clone()
        .or_else(|| options.migrations.clone())
        .unwrap_or_else(|| config.migrations_dir.clone());
    let files = match kind {
        Some(kind) => read_project(kind, &args.src)?,
        None => read_alembic_project(&args.src)?,
    };
    let (written, map) = write_revisions(&files, &into, args.force)?;
    for (file, path) in files.iter().zip(&written) {
        println!("{}  <- {}", path.display(), file.sources.join(", "));
        for note in &file.notes {
            report::import_note(note);
        }
    }
    report::imported(
        written.len(),
        &into.display().to_string(),
        map.heads().len(),
    );
    let Some(kind) = kind else {
        report::alembic_adopted();
        return Ok(Outcome::Done);
    };
    if !args.stamp && !database_given(global) {
        report::adopt_hint(kind.version_table());
        return Ok(Outcome::Done);
    }
    let chain: Vec<String> = files.iter().map(|f| f.revision.id.clone()).collect();
    let project = imported_project(config, &into, map);
    let settings = super::connection_settings(&project.config, &options)?;
    let adoption = runtime()?.block_on(async {
        let signals = SignalWatch::start()?;
        let adoption = check_adoption(kind, &project, &chain, &settings, &signals.cancel).await?;
        Ok::<_, Error>((adoption, signals.outcome(Outcome::Done)))
    })?;
    let (adoption, outcome) = adoption;
    if adoption.cancelled {
        return Ok(outcome);
    }
    adopt(global, &args, &into, &adoption)
}

/// A database is checked when one is named: `--database-url`, `-e`, or
/// DATABASE_URL (the libpq defaults alone would pick one by accident).
fn database_given(global: &GlobalArgs) -> bool {
    global.database_url.is_some()
        || global.env.is_some()
        || std::env::var_os("DATABASE_URL").is_some()
}

/// Prints the stamp the database needs and, with `--stamp`, runs it, once
/// the schema is known to match.
fn adopt(
    global: &GlobalArgs,
    args: &ImportArgs,
    into: &std::path::Path,
    adoption: &Adoption,
) -> Result<Outcome, Error> {
    let Some(revision) = &adoption.revision else {
        report::nothing_to_adopt(adoption);
        return Ok(Outcome::Done);
    };
    if !adoption.differences.is_empty() {
        report::adoption_differs(adoption, revision);
        print!("{}", render_changes(&adoption.differences));
        return Ok(Outcome::Pending);
    }
    report::adoption_matches(adoption, revision, args.stamp);
    if !args.stamp {
        println!("retort --migrations {} stamp {revision}", into.display());
        return Ok(Outcome::Done);
    }
    let mut global = global.clone();
    global.migrations = Some(into.to_path_buf());
    super::run::stamp(
        &global,
        StampArgs {
            revisions: vec![revision.clone()],
            sql: false,
            purge: false,
            dry_run: false,
            safety: args.safety.clone(),
        },
    )
}
