//! Commands that write files: `init`, `revision`, `merge`.

use std::path::Path;

use super::Outcome;
use super::args::{GlobalArgs, MergeArgs, RevisionArgs};
use crate::app::{AppError, Project, display_path};
use crate::config::CONFIG_FILE_NAME;
use crate::core::graph::RevisionMap;
use crate::core::revision::{Revision, SqlSection};
use crate::scripts;

pub fn init(global: &GlobalArgs, directory: &Path) -> Result<Outcome, AppError> {
    let non_empty = std::fs::read_dir(directory).is_ok_and(|mut entries| entries.next().is_some());
    if non_empty {
        return Err(AppError::Usage(format!(
            "Directory {} already exists and is not empty",
            directory.display()
        )));
    }
    std::fs::create_dir_all(directory)
        .map_err(|e| AppError::Usage(format!("cannot create {}: {e}", directory.display())))?;
    eprintln!("Creating directory {} ...  done", directory.display());
    let config_path = global
        .config
        .clone()
        .unwrap_or_else(|| Path::new(CONFIG_FILE_NAME).to_path_buf());
    if config_path.exists() {
        eprintln!("Keeping the existing {}", config_path.display());
    } else {
        std::fs::write(&config_path, starter_config(directory))
            .map_err(|e| AppError::Usage(format!("cannot write {}: {e}", config_path.display())))?;
        eprintln!("Generating {} ...  done", config_path.display());
    }
    eprintln!(
        "Next: `retort revision -m \"first revision\"`, then edit its SQL. Set DATABASE_URL or an environment in {}.",
        config_path.display()
    );
    Ok(Outcome::Done)
}

fn starter_config(directory: &Path) -> String {
    format!(
        "# retort configuration; see config.example.toml for every key.\n\
         migrations = \"{}\"\n\
         version_table = \"alembic_version\"\n\n\
         # [environments.dev]\n\
         # url = \"postgres://postgres@127.0.0.1:5432/app_dev\"\n\
         # lock_timeout = \"5s\"\n",
        directory
            .display()
            .to_string()
            .replace('\\', "/")
            .replace('"', "\\\"")
    )
}

pub fn revision(global: &GlobalArgs, args: RevisionArgs) -> Result<Outcome, AppError> {
    let project = Project::load(&global.options())?;
    let map = &project.map;
    let head = args.head.clone().unwrap_or_else(|| "head".to_string());
    let downs = resolve_parents(
        map,
        &[head],
        args.splice,
        "Multiple heads are present; please specify the head revision on which the new revision should be \
         based, or perform a merge.",
    )?;
    let depends_on = resolve_dependencies(map, &args.depends_on)?;
    let message = args.message.unwrap_or_default();
    create(
        &project,
        args.rev_id,
        downs,
        args.branch_label,
        depends_on,
        message,
    )
}

pub fn merge(global: &GlobalArgs, args: MergeArgs) -> Result<Outcome, AppError> {
    let project = Project::load(&global.options())?;
    let downs = resolve_parents(
        &project.map,
        &args.revisions,
        false,
        "Multiple heads are present; please specify a single target revision",
    )?;
    if downs.len() < 2 {
        return Err(AppError::Usage(format!(
            "A merge needs at least two revisions; {} resolve(s) to {}",
            args.revisions.join(" "),
            if downs.is_empty() {
                "base".to_string()
            } else {
                downs.join(", ")
            }
        )));
    }
    let message = args
        .message
        .unwrap_or_else(|| format!("merge {}", downs.join(", ")));
    create(
        &project,
        args.rev_id,
        downs,
        args.branch_label,
        Vec::new(),
        message,
    )
}

/// The down revisions of a new revision: each given identifier resolved,
/// and each must be a head unless `splice` allows a new branch.
fn resolve_parents(
    map: &RevisionMap,
    idents: &[String],
    splice: bool,
    several_heads: &str,
) -> Result<Vec<String>, AppError> {
    let mut downs: Vec<String> = Vec::new();
    for ident in idents {
        let found = map.get_revisions(ident).map_err(|e| match e {
            crate::core::target::TargetError::MultipleHeads { heads, .. } => {
                AppError::Usage(format!("{several_heads} (heads: {})", heads.join(", ")))
            }
            other => AppError::Usage(format!(
                "Can't locate revision identified by '{ident}' ({other})"
            )),
        })?;
        for rev in found {
            if !splice && !map.is_head(rev) {
                return Err(AppError::Usage(format!(
                    "Revision {} is not a head revision; please specify --splice to create a new branch from this revision",
                    map.id(rev)
                )));
            }
            let id = map.id(rev).to_string();
            if downs.contains(&id) {
                return Err(AppError::Usage("Duplicate head revisions specified".into()));
            }
            downs.push(id);
        }
    }
    Ok(downs)
}

/// Partial ids become full ids; labels stay labels (as Alembic writes them).
fn resolve_dependencies(map: &RevisionMap, deps: &[String]) -> Result<Vec<String>, AppError> {
    deps.iter()
        .map(|dep| {
            if map.label_owner(dep).is_some() {
                return Ok(dep.clone());
            }
            map.revision_for_ident(dep, None)
                .map(|rev| map.id(rev).to_string())
                .map_err(|e| {
                    AppError::Usage(format!("Can't locate revision identified by '{dep}' ({e})"))
                })
        })
        .collect()
}

fn create(
    project: &Project,
    rev_id: Option<String>,
    down_revisions: Vec<String>,
    branch_labels: Vec<String>,
    depends_on: Vec<String>,
    message: String,
) -> Result<Outcome, AppError> {
    let id = rev_id.unwrap_or_else(new_revision_id);
    let mut rev = Revision::synthetic(&id, &[]);
    rev.down_revisions = down_revisions;
    rev.branch_labels = branch_labels;
    rev.depends_on = depends_on;
    rev.message = message;
    rev.create_date = Some(chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string());
    rev.upgrade = SqlSection {
        sql: String::new(),
        first_line: 1,
    };
    rev.downgrade = Some(SqlSection {
        sql: String::new(),
        first_line: 1,
    });
    rev.path = project
        .migrations_dir
        .join(scripts::revision_file_name(&id, &rev.message));
    // The new revision must fit the graph (unique id and labels, no cycle)
    // before anything is written.
    let mut all = project.map.revisions().to_vec();
    all.push(rev.clone());
    RevisionMap::build(all).map_err(|e| AppError::Files(e.to_string()))?;
    let path = scripts::write_new_revision(&project.migrations_dir, &rev)
        .map_err(|e| AppError::Usage(e.to_string()))?;
    eprintln!("Generating {} ...  done", display_path(&path));
    println!("{id}");
    Ok(Outcome::Done)
}

/// Twelve hex digits, like Alembic's ids.
fn new_revision_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}
