//! The command-line grammar: Alembic's verbs and flags, plus retort's own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::target::check_target;
use crate::db::lock::WaitPolicy;
use crate::engine::GlobalOptions;

#[derive(Debug, Parser)]
#[command(
    name = "retort",
    version,
    about = "PostgreSQL schema migrations with Alembic's revision graph, plain-SQL revision files and a terminal console",
    after_help = "Run without a command to open the console.\n\
                  Exit codes: 0 done, 1 `check` found pending work, drift or a step that stopped halfway \
                  (`diff`: the schemas differ), \
                  2 usage or input error (including a missing --confirm), 3 database error (including a \
                  migration lock held with --no-wait and refusals to run on drift)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default: retort.toml in the working directory, then the per-user config)
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment of the config file to use
    #[arg(short = 'e', long = "env", global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Connection URL (overrides DATABASE_URL, the config and the PG* variables)
    #[arg(long = "database-url", global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Directory of the revision files (overrides the config)
    #[arg(long = "migrations", global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// Output format of read commands and plans
    #[arg(long = "format", global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl GlobalArgs {
    pub fn options(&self) -> GlobalOptions {
        GlobalOptions {
            config: self.config.clone(),
            env: self.env.clone(),
            database_url: self.database_url.clone(),
            migrations: self.migrations.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a migrations directory and a retort.toml that points at it
    Init {
        /// Directory for the revision files
        #[arg(default_value = "migrations")]
        directory: PathBuf,
    },
    /// Create a new revision file
    Revision(RevisionArgs),
    /// Create a revision that merges several heads
    Merge(MergeArgs),
    /// Upgrade to a later revision
    Upgrade(MoveArgs),
    /// Revert to a previous revision
    Downgrade(MoveArgs),
    /// Set the version table to given revisions without running any migration
    Stamp(StampArgs),
    /// Show the current revision(s) of the database
    Current {
        #[arg(short, long)]
        verbose: bool,
        /// Fail (exit 1) unless the database is on all head revisions
        #[arg(long)]
        check_heads: bool,
    },
    /// Show the heads of the revision scripts
    Heads {
        #[arg(short, long)]
        verbose: bool,
        /// Treat depends_on revisions as down revisions
        #[arg(long)]
        resolve_dependencies: bool,
    },
    /// Show branch points
    Branches {
        #[arg(short, long)]
        verbose: bool,
    },
    /// List revisions, newest first
    History {
        /// Range `[start]:[end]`; `current` names the database's revisions
        #[arg(short = 'r', long = "rev-range", allow_hyphen_values = true)]
        rev_range: Option<String>,
        #[arg(short, long)]
        verbose: bool,
        /// Mark the database's current revisions
        #[arg(short = 'i', long)]
        indicate_current: bool,
    },
    /// Show a revision and its SQL
    Show {
        /// Revision, label or symbol (`head`, `current`)
        revision: String,
    },
    /// Exit 1 and list what is pending, drift, or a step that stopped halfway
    Check {
        /// Also rehearse the pending steps on a throwaway database (exit 1
        /// when one is not reversible, 3 when one fails)
        #[arg(long)]
        rehearse: bool,
    },
    /// Lint revisions for lock and data-loss hazards (default: the pending
    /// revisions, or all of them when no database is reachable)
    Lint(LintArgs),
    /// Show the audit history of steps, stamps and resolutions, newest first
    Log(LogArgs),
    /// Record how a step that stopped halfway ended, or accept drift
    Resolve(ResolveArgs),
    /// Compare two schemas object by object (`db`, `migrations` or a URL);
    /// exit 1 when they differ
    Diff(DiffArgs),
    /// Run each step of the plan up, down and up again on a throwaway
    /// database, with the locks it takes; exit 1 when a step is not
    /// reversible, 3 when one fails
    Rehearse(RehearseArgs),
    /// Write revision files from another tool's migrations (sqlx, diesel,
    /// dbmate, golang-migrate, pop, flyway) and adopt its databases
    Import(ImportArgs),
    /// Open the interactive console (the default without a command)
    Console,
    /// Open the console on the bundled demo project against a throwaway
    /// database (or a private throwaway cluster), removed at exit
    Demo,
}

/// A target or identifier, refused at parse time when it names no revision
/// (`''`, `@`, `label@`): a usage error (exit 2) before anything connects,
/// so an unset shell variable can never mean base.
pub(super) fn target(text: &str) -> Result<String, String> {
    check_target(text).map_err(|e| e.to_string())?;
    Ok(text.to_string())
}

/// An id or prefix of one: an empty one would match every revision.
fn revision_id(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("an empty value names no revision; give its id or a prefix of it".into());
    }
    Ok(text.to_string())
}

/// A target of `upgrade`, `downgrade` or `stamp`; with `--sql` it may be
/// `from:to`, where an empty `from` is Alembic's base but `to` must name
/// something.
fn move_target(text: &str) -> Result<String, String> {
    let to = text.split_once(':').map_or(text, |(_, to)| to);
    check_target(to).map_err(|e| e.to_string())?;
    Ok(text.to_string())
}

#[derive(Debug, Args)]
pub struct RevisionArgs {
    /// Message of the revision
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Revision to base the new one on (default: the single head)
    #[arg(long, value_parser = target)]
    pub head: Option<String>,
    /// Allow a non-head revision as --head, creating a new branch
    #[arg(long)]
    pub splice: bool,
    /// Branch label of the new revision
    #[arg(long = "branch-label")]
    pub branch_label: Vec<String>,
    /// Revisions or labels the new revision depends on
    #[arg(long = "depends-on", value_parser = target)]
    pub depends_on: Vec<String>,
    /// Id of the new revision instead of a random one
    #[arg(long = "rev-id")]
    pub rev_id: Option<String>,
    /// Write upgrade and downgrade from the difference between the revision
    /// files and the desired schema ([schema] in retort.toml, or --from-url)
    #[arg(long)]
    pub autogenerate: bool,
    /// With --autogenerate: the desired schema is this database (only read)
    #[arg(long = "from-url", value_name = "URL", requires = "autogenerate")]
    pub from_url: Option<String>,
    /// With --autogenerate: indexes CONCURRENTLY, constraints validated apart
    #[arg(long, requires = "autogenerate")]
    pub online: bool,
    /// With --autogenerate: write the file even when its proof fails or it
    /// cannot express every difference
    #[arg(long, requires = "autogenerate")]
    pub force: bool,
    /// With --autogenerate: a table or column renamed, not dropped and
    /// added: `TABLE=NEW` or `TABLE.COLUMN=NEW` (repeatable)
    #[arg(long = "rename", value_name = "OLD=NEW", requires = "autogenerate")]
    pub rename: Vec<String>,
    /// With --autogenerate: take every plausible rename that pairs only one
    /// way as a rename
    #[arg(long = "accept-renames", requires = "autogenerate")]
    pub accept_renames: bool,
    /// With --autogenerate: write a drop plus an add where they look like a
    /// rename (which loses the data), instead of refusing
    #[arg(long = "allow-drop", requires = "autogenerate")]
    pub allow_drop: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Revisions to lint (ids, prefixes, labels), each on its own
    #[arg(value_parser = target, conflicts_with_all = ["all", "pending"])]
    pub revisions: Vec<String>,
    /// Lint every revision, each on its own
    #[arg(long, conflicts_with = "pending")]
    pub all: bool,
    /// Lint the revisions an upgrade to the heads would run, as that plan
    /// (needs the database)
    #[arg(long)]
    pub pending: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Revisions to merge (e.g. `heads`)
    #[arg(required = true, value_parser = target)]
    pub revisions: Vec<String>,
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    #[arg(long = "branch-label")]
    pub branch_label: Vec<String>,
    #[arg(long = "rev-id")]
    pub rev_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Target: `head`, `heads`, `base`, an id or prefix, `+N`, `-N`, `label@head`, ...
    /// With --sql, `from:to`.
    #[arg(allow_hyphen_values = true, value_parser = move_target)]
    pub revision: String,
    /// Print the offline SQL script instead of connecting
    #[arg(long)]
    pub sql: bool,
    /// Show the plan (steps and their SQL) against the live database; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run the whole plan in one transaction
    #[arg(long)]
    pub atomic: bool,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

#[derive(Debug, Args)]
pub struct StampArgs {
    /// Revisions to stamp (with --sql, `from:to`)
    // Not allow_hyphen_values: with several values it would swallow the
    // flags after them (`stamp heads --purge`) as revisions.
    #[arg(required = true, allow_negative_numbers = true, value_parser = move_target)]
    pub revisions: Vec<String>,
    #[arg(long)]
    pub sql: bool,
    /// Delete every row of the version table first
    #[arg(long)]
    pub purge: bool,
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

/// Flags of the commands that change the database.
#[derive(Debug, Clone, Args)]
pub struct SafetyArgs {
    /// Fail at once (exit 3) when another migration holds the lock, instead of waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Run even though applied revision files changed or went missing (drift)
    #[arg(long)]
    pub allow_drift: bool,
    /// The environment's name, typed to confirm a downgrade or stamp on a protected environment
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only rows of this revision (an id or a prefix of one)
    #[arg(short = 'r', long = "revision")]
    pub revision: Option<String>,
    /// At most this many rows
    #[arg(short = 'n', long = "limit")]
    pub limit: Option<u32>,
}

#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("choice").required(true).args(["applied", "rolled_back", "accept_drift"])
))]
pub struct ResolveArgs {
    /// The revision (id or prefix) whose step stopped halfway, or that drifted
    #[arg(value_parser = revision_id)]
    pub revision: String,
    /// The stopped step is complete (you ran the rest by hand): set the version table
    #[arg(long)]
    pub applied: bool,
    /// The stopped step was undone by hand: the version table stays
    #[arg(long)]
    pub rolled_back: bool,
    /// The file as it is now is what the database has (or its removal is intended)
    #[arg(long)]
    pub accept_drift: bool,
    /// A note kept with the resolution in the history
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Fail at once (exit 3) when another migration holds the lock, instead of waiting
    #[arg(long)]
    pub no_wait: bool,
    /// The environment's name, typed to confirm `--applied` on a protected environment
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
}

impl SafetyArgs {
    pub(crate) fn wait_policy(&self) -> WaitPolicy {
        wait_policy(self.no_wait)
    }
}

/// `--no-wait`: fail at once when another migrator holds the lock.
pub(crate) fn wait_policy(no_wait: bool) -> WaitPolicy {
    match no_wait {
        true => WaitPolicy::no_wait(),
        false => WaitPolicy::default(),
    }
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// `db` (the environment's database, only read), `migrations` (the
    /// revision files applied to a scratch database) or a postgres:// URL
    #[arg(long, value_name = "SOURCE", value_parser = source)]
    pub from: Source,
    /// The schema to compare with: `db`, `migrations` or a postgres:// URL
    #[arg(long, value_name = "SOURCE", value_parser = source)]
    pub to: Source,
    /// Build `migrations` up to this revision instead of the heads
    #[arg(long, value_name = "REV", value_parser = target)]
    pub head: Option<String>,
    /// Compare the owners of objects too
    #[arg(long)]
    pub owners: bool,
    /// Compare grants too
    #[arg(long)]
    pub grants: bool,
    /// Print the SQL that turns --from into --to instead of the changes
    #[arg(long)]
    pub sql: bool,
    /// With --sql: indexes built CONCURRENTLY, foreign keys and checks
    /// validated apart, NOT NULL through a validated check
    #[arg(long, requires = "sql")]
    pub online: bool,
    /// With --sql: a table or column renamed, not dropped and added:
    /// `TABLE=NEW` or `TABLE.COLUMN=NEW` (repeatable)
    #[arg(long = "rename", value_name = "OLD=NEW", requires = "sql")]
    pub rename: Vec<String>,
    /// With --sql: take every plausible rename that pairs only one way as a
    /// rename
    #[arg(long = "accept-renames", requires = "sql")]
    pub accept_renames: bool,
    /// With --sql: write a drop plus an add where they look like a rename
    /// (which loses the data), instead of refusing
    #[arg(long = "allow-drop", requires = "sql")]
    pub allow_drop: bool,
}

/// Where a schema comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Db,
    Migrations,
    /// The desired schema `[schema]` in retort.toml describes.
    Schema,
    Url(String),
}

fn source(text: &str) -> Result<Source, String> {
    match text {
        "db" => Ok(Source::Db),
        "migrations" => Ok(Source::Migrations),
        "schema" => Ok(Source::Schema),
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Source::Url(url.to_string()))
        }
        _ => Err(
            "expected `db` (the environment's database), `migrations` (the revision files \
             applied to a scratch database), `schema` (the desired schema of [schema] in \
             retort.toml) or a postgres:// URL"
                .to_string(),
        ),
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool whose migrations SRC holds
    #[arg(long, value_enum)]
    pub from: Kind,
    /// The source project's migrations directory (only read)
    pub src: PathBuf,
    /// Where to write the revision files (default: --migrations or the config's)
    #[arg(long, value_name = "DIR")]
    pub into: Option<PathBuf>,
    /// Write into a directory that already holds files
    #[arg(long)]
    pub force: bool,
    /// Stamp the database at the revision its record names, once its schema is checked
    #[arg(long)]
    pub stamp: bool,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Sqlx,
    Diesel,
    Dbmate,
    GolangMigrate,
    Pop,
    Flyway,
    Alembic,
}

#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Where the plan goes: `heads` (the default) or a revision
    #[arg(value_name = "TARGET", value_parser = target)]
    pub target: Option<String>,
    /// Every step from base to the heads, on an empty throwaway database
    #[arg(long, conflicts_with = "target")]
    pub all: bool,
}
