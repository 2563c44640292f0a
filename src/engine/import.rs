//! `import`: another tool's project read from disk, written as revision
//! files that are loaded back before the command says it is done, and a
//! database that tool manages checked against them so it can be stamped
//! where it really is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConnectionSettings};
use crate::core::authoring::Authored;
use crate::core::graph::RevisionMap;
use crate::core::import::adopt::adopted_revision;
use crate::core::import::alembic::{self, AlembicRevision, Direction, OfflineSql};
use crate::core::import::{ImportError, ImportedFile, SourceFile, SourceKind, chain, read_steps};
use crate::core::schema::{Change, diff};
use crate::db::catalog::ReadOptions;
use crate::db::events::ExecEvent;
use crate::db::foreign_versions::read_record;
use crate::engine::cancel::Cancellation;
use crate::engine::error::Error;
use crate::engine::project::Project;
use crate::engine::schema::{Built, MigrationsRequest, read_database, read_migrations};
use crate::engine::session::Database;
use crate::scripts;

/// Reads the project in `src` (never writing to it) into revision files.
pub fn read_project(kind: SourceKind, src: &Path) -> Result<Vec<ImportedFile>, Error> {
    let files = source_files(src)?;
    let steps = read_steps(kind, &files).map_err(|e| in_src(src, e))?;
    chain(&steps).map_err(|e| in_src(src, e))
}

/// An import error with its path made whole again (the core sees paths
/// relative to SRC).
fn in_src(src: &Path, e: ImportError) -> Error {
    match e.path.as_str() {
        "." => Error::Files(format!("{}: {}", src.display(), e.message)),
        _ => Error::Files(format!("{}/{e}", src.display())),
    }
}

/// Every readable file below `src`, hidden ones left out, with paths
/// relative to `src`; a file that is not UTF-8 only matters if it is SQL.
fn source_files(src: &Path) -> Result<Vec<SourceFile>, Error> {
    if !src.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory",
            src.display()
        )));
    }
    let mut out = Vec::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| io_error(&dir, e))?.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if let Some(file) = source_file(src, &path)? {
                out.push(file);
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn source_file(src: &Path, path: &Path) -> Result<Option<SourceFile>, Error> {
    let relative = path
        .strip_prefix(src)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    match String::from_utf8(bytes) {
        Ok(contents) => Ok(Some(SourceFile {
            path: relative,
            contents,
        })),
        Err(_) if relative.ends_with(".sql") => Err(Error::Files(format!(
            "{}: not UTF-8; convert it before importing",
            path.display()
        ))),
        Err(_) => Ok(None),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Files(format!("{}: {e}", path.display()))
}

/// Writes the files into `into` (refused when it holds anything, unless
/// `force`) and loads the directory back as a project would.
pub fn write_revisions(
    files: &[ImportedFile],
    into: &Path,
    force: bool,
) -> Result<(Vec<PathBuf>, RevisionMap), Error> {
    let non_empty = std::fs::read_dir(into).is_ok_and(|mut e| e.next().is_some());
    if non_empty && !force {
        return Err(Error::Usage(format!(
            "{} is not empty; import into an empty directory, or pass --force to add to it",
            into.display()
        )));
    }
    std::fs::create_dir_all(into).map_err(|e| io_error(into, e))?;
    let mut written = Vec::with_capacity(files.len());
    for file in files {
        let authored = Authored {
            revision: file.revision.clone(),
            file_name: file.file_name.clone(),
            text: file.text.clone(),
        };
        let path =
            scripts::write_authored(into, &authored).map_err(|e| Error::Files(e.to_string()))?;
        written.push(path);
    }
    let revisions = scripts::load_revisions(into).map_err(|e| Error::Files(e.to_string()))?;
    let map = RevisionMap::build(revisions).map_err(|e| Error::Files(e.to_string()))?;
    Ok((written, map))
}

/// A database the source tool manages, as found.
#[derive(Debug)]
pub struct Adoption {
    /// `user@host:port/db`.
    pub display: String,
    pub table: &'static str,
    /// `false`: the tool's table is not there.
    pub has_record: bool,
    /// The revision the database is at; `None` when nothing is applied.
    pub revision: Option<String>,
    /// The live schema against the revisions applied up to `revision` on a
    /// scratch database; empty when they match.
    pub differences: Vec<Change>,
    /// A signal stopped the check.
    pub cancelled: bool,
}

/// Reads the tool's record of the database, and compares its schema with
/// the imported revisions applied to a scratch database up to the revision
/// the record names. `chain` is the imported ids in the tool's order. A
/// dirty or failed record is refused.
pub async fn check_adoption(
    kind: SourceKind,
    project: &Project,
    chain: &[String],
    settings: &ConnectionSettings,
    cancel: &Cancellation,
) -> Result<Adoption, Error> {
    let table = kind.version_table();
    let mut db = Database::connect(settings, project.version_table()).await?;
    let record = read_record(db.conn.client_mut(), kind)
        .await
        .map_err(|e| Error::database(format!("reading {table} on {}", db.display), e))?;
    let mut adoption = Adoption {
        display: db.display.clone(),
        table,
        has_record: record.is_some(),
        revision: None,
        differences: Vec::new(),
        cancelled: false,
    };
    drop(db);
    let Some(record) = record else {
        return Ok(adoption);
    };
    adoption.revision = adopted_revision(kind, chain, &record)
        .map_err(|e| Error::database(format!("cannot adopt {}", adoption.display), e))?;
    let Some(revision) = adoption.revision.clone() else {
        return Ok(adoption);
    };
    let options = ReadOptions {
        exclude_tables: vec![format!("\"public\".\"{table}\"")],
        ..ReadOptions::default()
    };
    let live = read_database(settings, &project.config, &options).await?;
    let request = MigrationsRequest {
        project,
        server: settings,
        target: revision,
        options,
    };
    let quiet = |_: ExecEvent| {};
    match read_migrations(&request, &quiet, cancel, |_| {}).await? {
        Built::Read(built) => adoption.differences = diff(&built.snapshot, &live.snapshot),
        Built::Cancelled => adoption.cancelled = true,
    }
    Ok(adoption)
}

/// The project the written files make, with the config of the run.
pub fn imported_project(config: Config, into: &Path, map: RevisionMap) -> Project {
    Project {
        config,
        migrations_dir: into.to_path_buf(),
        map,
    }
}

/// Reads an Alembic project (the directory holding `alembic.ini`): the
/// graph from the `.py` files without running them, each step's SQL from
/// Alembic's own offline mode, run with `alembic` from PATH in `src`
/// without writing bytecode there.
pub fn read_alembic_project(src: &Path) -> Result<Vec<ImportedFile>, Error> {
    let files = source_files(src)?;
    let revisions = alembic::read_revisions(&files).map_err(|e| in_src(src, e))?;
    if revisions.is_empty() {
        return Err(Error::Files(format!(
            "{}: no Alembic revision files (versions/*.py assigning `revision`)",
            src.display()
        )));
    }
    let ini = src.join("alembic.ini");
    if !ini.is_file() {
        return Err(Error::Usage(format!(
            "{} not found: give the directory that holds the project's alembic.ini",
            ini.display()
        )));
    }
    alembic_command(src, &["--version"]).map_err(|cause| {
        Error::Usage(format!(
            "Alembic is needed to print each step's SQL (its offline mode), and `alembic --version` \
             failed: {cause}. Install it where the project's env.py can import what it needs \
             (e.g. `pip install alembic` in the project's virtualenv) and put it on PATH"
        ))
    })?;
    let whole = whole_history(src, &revisions);
    let offline: BTreeMap<String, OfflineSql> = revisions
        .iter()
        .map(|rev| (rev.id.clone(), offline_sql(src, rev, &whole)))
        .collect();
    alembic::build(&revisions, &offline).map_err(|e| in_src(src, e))
}

/// Every step's SQL from one offline run per direction (per head for
/// downgrades), which is fast; empty when a step stops the run.
fn whole_history(src: &Path, revisions: &[AlembicRevision]) -> [BTreeMap<String, String>; 2] {
    let up = alembic_command(src, &["upgrade", "heads", "--sql"])
        .map(|out| alembic::sections(&out, Direction::Upgrade))
        .unwrap_or_default();
    let mut down = BTreeMap::new();
    let is_parent = |id: &str| {
        revisions
            .iter()
            .any(|r| r.down_revisions.iter().any(|d| d == id))
    };
    for head in revisions.iter().filter(|r| !is_parent(&r.id)) {
        if let Ok(out) = alembic_command(src, &["downgrade", &format!("{}:base", head.id), "--sql"])
        {
            down.extend(alembic::sections(&out, Direction::Downgrade));
        }
    }
    [up, down]
}

/// Both directions of one step: from the whole run when it got that far,
/// else from an offline run of the step alone, so a data migration that
/// cannot run offline fails only its own step.
fn offline_sql(
    src: &Path,
    rev: &AlembicRevision,
    whole: &[BTreeMap<String, String>; 2],
) -> OfflineSql {
    let parent = rev.down_revisions.first().map(String::as_str);
    let up_range = parent.map_or_else(|| rev.id.clone(), |p| format!("{p}:{}", rev.id));
    let down_range = format!("{}:{}", rev.id, parent.unwrap_or("base"));
    let step = |command: &str, range: &str, direction: Direction| {
        let known = &whole[usize::from(direction == Direction::Downgrade)];
        if let Some(sql) = known.get(&rev.id) {
            return Ok(sql.clone());
        }
        let output = alembic_command(src, &[command, range, "--sql"])?;
        alembic::sections(&output, direction)
            .remove(&rev.id)
            .ok_or_else(|| format!("`alembic {command} {range} --sql` printed no step for it"))
    };
    OfflineSql {
        upgrade: Some(step("upgrade", &up_range, Direction::Upgrade)),
        downgrade: Some(step("downgrade", &down_range, Direction::Downgrade)),
    }
}

/// Runs `alembic -c alembic.ini ARGS` in `src`; its stdout, or the last
/// line it wrote on stderr.
fn alembic_command(src: &Path, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("alembic")
        .arg("-c")
        .arg("alembic.ini")
        .args(args)
        .current_dir(src)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run alembic: {e}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(last.trim().to_string())
}
