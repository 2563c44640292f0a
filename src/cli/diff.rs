//! `retort diff --from A --to B`: the object-level differences between two
//! schemas, each the live database (`db`, read only), the schema the
//! revision files make (`migrations`, built on a scratch database that is
//! always dropped) or any database by URL. Exit 0 when equal, 1 when they
//! differ, like `diff`; `--from migrations --to db` is schema drift.

use serde::Serialize;

use super::args::{DiffArgs, Format, GlobalArgs, Source};
use super::signals::SignalWatch;
use super::{Outcome, print_json, report, runtime};
use crate::config::{Config, ConnectionSettings};
use crate::core::schema::{
    Change, DdlOptions, Script, choose, diff as schema_diff, generate_renamed, render_changes,
};
use crate::db::catalog::ReadOptions;
use crate::db::events::ExecEvent;
use crate::engine::desired::read_desired;
use crate::engine::schema::{
    Built, MigrationsRequest, ReadSnapshot, read_database, read_migrations,
};
use crate::engine::{Cancellation, Error, GlobalOptions, Project, load_config};

impl Source {
    /// The name shown in output (a URL's database is shown beside it,
    /// never its password).
    fn label(&self) -> &str {
        match self {
            Source::Db => "db",
            Source::Migrations => "migrations",
            Source::Schema => "schema",
            Source::Url(_) => "url",
        }
    }
}

#[derive(Serialize)]
struct Side<'a> {
    source: &'a str,
    database: &'a str,
    /// Objects of kinds retort does not compare yet.
    not_compared: &'a [String],
}

#[derive(Serialize)]
struct DiffReport<'a> {
    from: Side<'a>,
    to: Side<'a>,
    equal: bool,
    changes: &'a [Change],
    /// With `--sql`: the statements, and what they cannot express.
    #[serde(skip_serializing_if = "Option::is_none")]
    sql: Option<SqlReport>,
}

#[derive(Serialize)]
struct SqlReport {
    sql: String,
    transactional: bool,
    destructive: Vec<String>,
    unexpressed: Vec<String>,
}

/// What both sides need: the config (and the revision files when one side
/// is `migrations`), the environment's connection.
struct Inputs {
    config: Config,
    project: Option<Project>,
    options: GlobalOptions,
    /// The environment's connection, resolved (and its warnings said) once.
    environment: Option<ConnectionSettings>,
}

pub fn diff(global: &GlobalArgs, args: DiffArgs) -> Result<Outcome, Error> {
    let options = global.options();
    let uses_migrations = [&args.from, &args.to].contains(&&Source::Migrations);
    if args.head.is_some() && !uses_migrations {
        return Err(Error::Usage(
            "--head says how far to apply the revision files: it needs `migrations` as --from or --to"
                .into(),
        ));
    }
    let project = match uses_migrations {
        true => Some(Project::load(&options)?),
        false => None,
    };
    let config = match &project {
        Some(project) => project.config.clone(),
        None => load_config(&options)?,
    };
    let uses_environment = [&args.from, &args.to]
        .iter()
        .any(|side| !matches!(side, Source::Url(_)));
    let environment = match uses_environment {
        true => Some(super::connection_settings(&config, &options)?),
        false => None,
    };
    let inputs = Inputs {
        config,
        project,
        options,
        environment,
    };
    let read = ReadOptions {
        owners: args.owners,
        grants: args.grants,
        exclude_tables: Vec::new(),
    };
    runtime()?.block_on(async {
        let signals = SignalWatch::start()?;
        // A live database is read before the scratch one is built, so a
        // wrong URL fails before the slow part.
        let to_first = matches!(args.from, Source::Migrations | Source::Schema);
        let (first, second) = match to_first {
            true => (&args.to, &args.from),
            false => (&args.from, &args.to),
        };
        let Some(one) = read_side(&inputs, &args, first, &read, &signals.cancel).await? else {
            return Ok(signals.outcome(Outcome::Done));
        };
        let Some(other) = read_side(&inputs, &args, second, &read, &signals.cancel).await? else {
            return Ok(signals.outcome(Outcome::Done));
        };
        let (from, to) = match to_first {
            true => (other, one),
            false => (one, other),
        };
        let changes = schema_diff(&from.snapshot, &to.snapshot);
        print_diff(global, &args, (&from, &to), &changes)?;
        Ok(signals.outcome(match changes.is_empty() {
            true => Outcome::Done,
            false => Outcome::Pending,
        }))
    })
}

/// One side's snapshot; `None` when a signal stopped the read.
async fn read_side(
    inputs: &Inputs,
    args: &DiffArgs,
    source: &Source,
    read: &ReadOptions,
    cancel: &Cancellation,
) -> Result<Option<ReadSnapshot>, Error> {
    let settings = settings_for(inputs, source)?;
    if *source == Source::Schema {
        return read_schema_side(inputs, &settings, read, cancel).await;
    }
    if *source != Source::Migrations {
        return tokio::select! {
            snapshot = read_database(&settings, &inputs.config, read) => snapshot.map(Some),
            () = cancel.requested() => Ok(None),
        };
    }
    let Some(project) = &inputs.project else {
        return Err(Error::Usage("the revision files were not loaded".into()));
    };
    let request = MigrationsRequest {
        project,
        server: &settings,
        target: args.head.clone().unwrap_or_else(|| "heads".to_string()),
        options: read.clone(),
    };
    let quiet = |_: ExecEvent| {};
    let built = read_migrations(&request, &quiet, cancel, |scratch| {
        report::scratch_created(&scratch.name, &scratch.server())
    })
    .await?;
    Ok(match built {
        Built::Read(snapshot) => Some(snapshot),
        Built::Cancelled => None,
    })
}

/// The desired schema, built on a scratch database of the environment's
/// server.
async fn read_schema_side(
    inputs: &Inputs,
    server: &ConnectionSettings,
    read: &ReadOptions,
    cancel: &Cancellation,
) -> Result<Option<ReadSnapshot>, Error> {
    let Some(desired) = &inputs.config.schema else {
        return Err(Error::Config(report::no_desired_schema()));
    };
    let built = read_desired(desired, server, read, cancel, |scratch| {
        report::desired_scratch_created(&scratch.name, &scratch.server())
    })
    .await?;
    Ok(match built {
        Built::Read(snapshot) => Some(snapshot),
        Built::Cancelled => None,
    })
}

/// The environment's connection for `db` and `migrations` (whose scratch
/// database goes on the same server), the URL's own for a URL.
fn settings_for(inputs: &Inputs, source: &Source) -> Result<ConnectionSettings, Error> {
    match source {
        Source::Url(url) => url_settings(
            &inputs.config,
            &inputs.options,
            url,
            "the URL given to diff",
        ),
        _ => inputs
            .environment
            .clone()
            .ok_or_else(|| Error::Usage("the environment's connection was not resolved".into())),
    }
}

/// The connection settings of a URL given on the command line, said to
/// come from `source`.
pub(super) fn url_settings(
    config: &Config,
    options: &GlobalOptions,
    url: &str,
    source: &str,
) -> Result<ConnectionSettings, Error> {
    let options = GlobalOptions {
        database_url: Some(url.to_string()),
        ..options.clone()
    };
    let mut settings = super::connection_settings(config, &options)?;
    settings.url_source = source.to_string();
    Ok(settings)
}

/// The DDL from one side to the other, with the renames the user named or
/// accepted; refused while a plausible rename has no say.
fn script(args: &DiffArgs, from: &ReadSnapshot, to: &ReadSnapshot) -> Result<Script, Error> {
    let (from, to) = (&from.snapshot, &to.snapshot);
    let chosen = choose(from, to, &args.rename, args.accept_renames).map_err(Error::Usage)?;
    if !chosen.undecided.is_empty() && !args.allow_drop {
        return Err(Error::Usage(report::undecided_renames(&chosen.undecided)));
    }
    generate_renamed(
        from,
        to,
        &chosen.renames,
        DdlOptions {
            online: args.online,
        },
    )
    .map_err(|e| Error::Usage(e.to_string()))
}

fn print_diff(
    global: &GlobalArgs,
    args: &DiffArgs,
    (from, to): (&ReadSnapshot, &ReadSnapshot),
    changes: &[Change],
) -> Result<(), Error> {
    let script = match args.sql {
        true => Some(script(args, from, to)?),
        false => None,
    };
    if global.format == Format::Json {
        return print_json(&DiffReport {
            from: Side {
                source: args.from.label(),
                database: &from.display,
                not_compared: &from.snapshot.unmodeled,
            },
            to: Side {
                source: args.to.label(),
                database: &to.display,
                not_compared: &to.snapshot.unmodeled,
            },
            equal: changes.is_empty(),
            changes,
            sql: script.map(|script| SqlReport {
                sql: script.sql(),
                transactional: script.transactional,
                destructive: script.destructive().into_iter().map(String::from).collect(),
                unexpressed: script.unexpressed,
            }),
        });
    }
    if let Some(script) = script {
        report::script_notes(&script);
        print!("{}", script.sql());
        return Ok(());
    }
    for (source, side) in [(&args.from, from), (&args.to, to)] {
        report::not_compared(source.label(), &side.snapshot.unmodeled);
    }
    match changes.is_empty() {
        true => println!("No differences."),
        false => print!("{}", render_changes(changes)),
    }
    Ok(())
}
