//! Commands that write files: `init`, `revision`, `merge`.

use std::path::Path;

use super::Outcome;
use super::args::{GlobalArgs, MergeArgs, RevisionArgs};
use crate::config::CONFIG_FILE_NAME;
use crate::core::authoring::{AuthoringError, Draft, author, resolve_parents, unused_id};
use crate::core::graph::RevisionMap;
use crate::engine::{Error, Project, display_path};
use crate::scripts;

pub fn init(global: &GlobalArgs, directory: &Path) -> Result<Outcome, Error> {
    let non_empty = std::fs::read_dir(directory).is_ok_and(|mut entries| entries.next().is_some());
    if non_empty {
        return Err(Error::Usage(format!(
            "Directory {} already exists and is not empty",
            directory.display()
        )));
    }
    std::fs::create_dir_all(directory)
        .map_err(|e| Error::Usage(format!("cannot create {}: {e}", directory.display())))?;
    eprintln!("Creating directory {} ...  done", directory.display());
    let config_path = global
        .config
        .clone()
        .unwrap_or_else(|| Path::new(CONFIG_FILE_NAME).to_path_buf());
    if config_path.exists() {
        eprintln!("Keeping the existing {}", config_path.display());
    } else {
        std::fs::write(&config_path, starter_config(directory))
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", config_path.display())))?;
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

pub fn revision(global: &GlobalArgs, args: RevisionArgs) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let draft = revision_draft(&project, args);
    create(&project, draft, SEVERAL_HEADS_REVISION)
}

/// The new revision `revision`'s arguments describe, still empty.
pub(super) fn revision_draft(project: &Project, args: RevisionArgs) -> Draft {
    Draft {
        parents: vec![args.head.unwrap_or_else(|| "head".to_string())],
        splice: args.splice,
        depends_on: args.depends_on,
        branch_labels: args.branch_label,
        message: args.message.unwrap_or_default(),
        ..draft(&project.map, args.rev_id)
    }
}

pub(super) const SEVERAL_HEADS_REVISION: &str = "Multiple heads are present; please specify the head revision \
     on which the new revision should be based, or perform a merge.";

pub fn merge(global: &GlobalArgs, args: MergeArgs) -> Result<Outcome, Error> {
    let project = Project::load(&global.options())?;
    let several_heads = "Multiple heads are present; please specify a single target revision";
    let downs = resolve_parents(&project.map, &args.revisions, false)
        .map_err(|e| input_error(e, several_heads))?;
    if downs.len() < 2 {
        return Err(Error::Usage(format!(
            "A merge needs at least two revisions; {} resolve(s) to {}",
            args.revisions.join(" "),
            if downs.is_empty() {
                "base".to_string()
            } else {
                downs.join(", ")
            }
        )));
    }
    let draft = Draft {
        message: args
            .message
            .unwrap_or_else(|| format!("merge {}", downs.join(", "))),
        parents: downs,
        branch_labels: args.branch_label,
        ..draft(&project.map, args.rev_id)
    };
    create(&project, draft, several_heads)
}

/// An empty new revision with the given id, or a fresh one.
fn draft(map: &RevisionMap, rev_id: Option<String>) -> Draft {
    Draft {
        rev_id: rev_id.unwrap_or_else(|| unused_id(map, rand::random)),
        create_date: Some(chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()),
        transactional: true,
        ..Draft::default()
    }
}

/// Alembic's wording where it has one.
fn input_error(error: AuthoringError, several_heads: &str) -> Error {
    match error {
        AuthoringError::SeveralHeads { heads } => {
            Error::Usage(format!("{several_heads} (heads: {})", heads.join(", ")))
        }
        other => Error::Usage(other.to_string()),
    }
}

/// Builds the revision through the one authoring path, then writes it:
/// nothing is written unless the project would load it.
pub(super) fn create(
    project: &Project,
    draft: Draft,
    several_heads: &str,
) -> Result<Outcome, Error> {
    let authored = author(&project.map, draft).map_err(|e| input_error(e, several_heads))?;
    let path = scripts::write_authored(&project.migrations_dir, &authored)
        .map_err(|e| Error::Usage(e.to_string()))?;
    eprintln!("Generating {} ...  done", display_path(&path));
    println!("{}", authored.revision.id);
    Ok(Outcome::Done)
}
