//! Writes a synthetic revision graph for `bench/run.sh`: as retort revision
//! files, as an equivalent Alembic project, and (for chains) as one psql
//! script that applies the same SQL with one transaction per revision.
//!
//! ```text
//! cargo run --release --example graphgen -- --revisions 10000 --shape branchy \
//!     --retort DIR [--alembic DIR] [--psql FILE] [--heads FILE] [--seed N]
//! ```

#[path = "../benches/support/graphgen.rs"]
mod graphgen;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use graphgen::{GraphSpec, Shape, SyntheticGraph, generate};
use retort::core::revision::Revision;
use retort::scripts::revision_file_name;

/// Alembic's default version table, which retort also uses by default.
const VERSION_TABLE: &str = "alembic_version";

#[derive(Default)]
struct Options {
    revisions: Option<usize>,
    shape: Option<Shape>,
    seed: Option<u64>,
    retort: Option<PathBuf>,
    alembic: Option<PathBuf>,
    psql: Option<PathBuf>,
    heads: Option<PathBuf>,
    database_url: Option<String>,
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("graphgen: {message}");
            eprintln!(
                "usage: graphgen --revisions N --shape chain|branchy|lineages|wide [--seed N] [--retort DIR] \
                 [--alembic DIR [--database-url URL]] [--psql FILE] [--heads FILE]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("graphgen: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_options(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--revisions" => {
                let n = value
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("--revisions: {e}"))?;
                options.revisions = Some(n);
            }
            "--shape" => {
                let shape = Shape::parse(&value).ok_or(format!("unknown shape '{value}'"))?;
                options.shape = Some(shape);
            }
            "--seed" => options.seed = Some(value.parse().map_err(|e| format!("--seed: {e}"))?),
            "--retort" => options.retort = Some(value.into()),
            "--alembic" => options.alembic = Some(value.into()),
            "--psql" => options.psql = Some(value.into()),
            "--heads" => options.heads = Some(value.into()),
            "--database-url" => options.database_url = Some(value),
            _ => return Err(format!("unknown option '{arg}'")),
        }
    }
    Ok(options)
}

fn run(options: &Options) -> Result<(), String> {
    let revisions = options.revisions.ok_or("--revisions is required")?;
    let shape = options.shape.ok_or("--shape is required")?;
    let mut spec = GraphSpec::new(revisions, shape);
    if let Some(seed) = options.seed {
        spec.seed = seed;
    }
    let graph = generate(spec);
    eprintln!("graphgen: {} {}", shape.name(), graph.summary());
    if let Some(dir) = &options.retort {
        graph
            .write_retort_files(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if let Some(dir) = &options.alembic {
        let url = options
            .database_url
            .as_deref()
            .unwrap_or("postgresql://postgres@127.0.0.1:5432/postgres");
        write_alembic_project(dir, &graph, url).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if let Some(file) = &options.psql {
        if shape != Shape::Chain {
            return Err("--psql needs --shape chain (one row in the version table)".into());
        }
        write_file(file, &psql_script(&graph))?;
    }
    if let Some(file) = &options.heads {
        let mut heads = graph.heads.clone();
        heads.sort();
        write_file(file, &(heads.join("\n") + "\n"))?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// An Alembic project whose graph and SQL match the retort files:
/// `alembic.ini`, `env.py` and `versions/<id>_<slug>.py`.
fn write_alembic_project(dir: &Path, graph: &SyntheticGraph, url: &str) -> std::io::Result<()> {
    let versions = dir.join("versions");
    std::fs::create_dir_all(&versions)?;
    std::fs::write(dir.join("alembic.ini"), alembic_ini(url))?;
    std::fs::write(dir.join("env.py"), ALEMBIC_ENV)?;
    for rev in &graph.revisions {
        let name = revision_file_name(&rev.id, &rev.message).replace(".sql", ".py");
        std::fs::write(versions.join(name), alembic_revision(rev))?;
    }
    Ok(())
}

fn alembic_ini(url: &str) -> String {
    format!(
        "[alembic]\nscript_location = %(here)s\npath_separator = os\nsqlalchemy.url = {}\n",
        url.replace('%', "%%")
    )
}

/// Runs migrations online, one transaction per revision like the psql
/// baseline. `heads` and `history` never load this file.
const ALEMBIC_ENV: &str = r#"from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
"#;

/// One Alembic revision module, as `alembic revision` lays it out.
fn alembic_revision(rev: &Revision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\"\"\"{}\n", rev.message.replace('"', "'"));
    let _ = writeln!(out, "Revision ID: {}", rev.id);
    let _ = writeln!(out, "Revises: {}", rev.down_revisions.join(", "));
    let _ = writeln!(out, "\"\"\"\nfrom alembic import op\n");
    let _ = writeln!(out, "revision = {}", py_str(&rev.id));
    let _ = writeln!(out, "down_revision = {}", py_names(&rev.down_revisions));
    let _ = writeln!(out, "branch_labels = {}", py_names(&rev.branch_labels));
    let _ = writeln!(out, "depends_on = {}", py_names(&rev.depends_on));
    let _ = writeln!(out, "\n\ndef upgrade():");
    let _ = writeln!(out, "    op.execute({})", py_str(&rev.upgrade.sql));
    let _ = writeln!(out, "\n\ndef downgrade():");
    match &rev.downgrade {
        Some(down) => {
            let _ = writeln!(out, "    op.execute({})", py_str(&down.sql));
        }
        None => {
            let _ = writeln!(out, "    pass");
        }
    }
    out
}

/// `None`, `'a'` or `('a', 'b')`, as Alembic's templates write them.
fn py_names(names: &[String]) -> String {
    match names {
        [] => "None".to_string(),
        [one] => py_str(one),
        many => {
            let items: Vec<String> = many.iter().map(|n| py_str(n)).collect();
            format!("({},)", items.join(", "))
        }
    }
}

/// A Python string literal. JSON string syntax is a subset of Python's.
fn py_str(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "''".to_string())
}

/// The psql baseline for a chain: create the version table, then each
/// revision in its own transaction with the version row moved inside it.
fn psql_script(graph: &SyntheticGraph) -> String {
    let mut out = format!(
        "CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, \
         CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num));\n"
    );
    let mut previous: Option<&str> = None;
    for rev in &graph.revisions {
        let _ = writeln!(out, "BEGIN;\n{}", rev.upgrade.sql);
        match previous {
            None => {
                let _ = writeln!(
                    out,
                    "INSERT INTO {VERSION_TABLE} (version_num) VALUES ('{}');",
                    rev.id
                );
            }
            Some(prev) => {
                let _ = writeln!(
                    out,
                    "UPDATE {VERSION_TABLE} SET version_num='{}' WHERE {VERSION_TABLE}.version_num = '{prev}';",
                    rev.id
                );
            }
        }
        out.push_str("COMMIT;\n");
        previous = Some(&rev.id);
    }
    out
}
