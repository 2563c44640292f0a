//! The command line: Alembic's verbs over the retort engine.
//!
//! Results go to stdout; progress, server notices and errors go to stderr.
//! Exit codes: 0 done, 1 `check` (or `current --check-heads`) found pending
//! work, drift or a step that stopped halfway, 2 usage or input errors
//! (including a missing `--confirm` on a protected environment), 3 database
//! errors (including a lock held with `--no-wait`, and refusals to run on
//! top of drift or an unresolved partial step), 128 + n when signal n
//! stopped a run. The engine's outcomes become words in `report`.

mod args;
mod authoring;
mod autogen;
mod diff;
mod import;
mod lint;
mod read;
mod rehearse;
mod report;
mod run;
mod safety;
mod signals;

use clap::Parser;

pub use args::{Cli, Command, Format, GlobalArgs};

use crate::engine::Error;

/// What a command ended with, when it did not simply succeed.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Pending work found by `check` or `current --check-heads` (exit 1).
    Pending,
    /// A signal stopped the run (exit 128 + its number).
    Signalled(i32),
    /// A command whose exit code says more than done or pending
    /// (`rehearse`: 3 when a step failed).
    Code(i32),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help and version to stdout (exit 0) and usage errors
            // to stderr (exit 2).
            let _ = err.print();
            return err.exit_code();
        }
    };
    match dispatch(cli) {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::Pending) => 1,
        Ok(Outcome::Signalled(signal)) => 128 + signal,
        Ok(Outcome::Code(code)) => code,
        Err(err) => {
            eprintln!("FAILED: {}", report::error_text(&err));
            err.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<Outcome, Error> {
    let global = cli.global;
    match cli.command {
        None | Some(Command::Console) => crate::tui::run_console(&global.options()).map(ended),
        Some(Command::Demo) => crate::tui::run_demo(&global.options()).map(ended),
        Some(Command::Init { directory }) => authoring::init(&global, &directory),
        Some(Command::Revision(args)) if args.autogenerate => {
            autogen::revision_autogenerate(&global, args)
        }
        Some(Command::Revision(args)) => authoring::revision(&global, args),
        Some(Command::Merge(args)) => authoring::merge(&global, args),
        Some(Command::Upgrade(args)) => run::upgrade(&global, args),
        Some(Command::Downgrade(args)) => run::downgrade(&global, args),
        Some(Command::Stamp(args)) => run::stamp(&global, args),
        Some(Command::Current {
            verbose,
            check_heads,
        }) => read::current(&global, verbose, check_heads),
        Some(Command::Heads {
            verbose,
            resolve_dependencies,
        }) => read::heads(&global, verbose, resolve_dependencies),
        Some(Command::Branches { verbose }) => read::branches(&global, verbose),
        Some(Command::History {
            rev_range,
            verbose,
            indicate_current,
        }) => read::history(&global, rev_range.as_deref(), verbose, indicate_current),
        Some(Command::Show { revision }) => read::show(&global, &revision),
        Some(Command::Check { rehearse }) => check(&global, rehearse),
        Some(Command::Lint(args)) => lint::lint(&global, args),
        Some(Command::Log(args)) => safety::log(&global, args),
        Some(Command::Resolve(args)) => safety::resolve(&global, args),
        Some(Command::Diff(args)) => diff::diff(&global, args),
        Some(Command::Rehearse(args)) => rehearse::rehearse_command(&global, args),
        Some(Command::Import(args)) => import::import(&global, args),
    }
}

/// `check`, then with `--rehearse` the rehearsal of the pending steps; the
/// worse of the two exit codes.
fn check(global: &GlobalArgs, with_rehearsal: bool) -> Result<Outcome, Error> {
    let (checked, mut json) = run::check(global)?;
    let checked = autogen::check_desired_schema(global, checked, json.as_mut())?;
    let rehearsed = match with_rehearsal {
        true => {
            let (code, rehearsal) = rehearse::rehearse_pending(global)?;
            if let (Some(serde_json::Value::Object(check)), Some(rehearsal)) =
                (&mut json, rehearsal)
            {
                check.insert("rehearsal".to_string(), rehearsal);
            }
            Some(code)
        }
        false => None,
    };
    if let Some(json) = &json {
        print_json(json)?;
    }
    let Some(rehearsed) = rehearsed else {
        return Ok(checked);
    };
    Ok(match (checked, rehearsed) {
        (Outcome::Signalled(signal), _) => Outcome::Signalled(signal),
        (Outcome::Done, 0) => Outcome::Done,
        (Outcome::Done | Outcome::Pending, 0 | 1) => Outcome::Pending,
        (_, code) => Outcome::Code(code),
    })
}

/// The connection settings, with what the person should know about them
/// printed on stderr.
pub(crate) fn connection_settings(
    config: &crate::config::Config,
    options: &crate::engine::GlobalOptions,
) -> Result<crate::config::ConnectionSettings, Error> {
    let settings = crate::engine::connection_settings(config, options)?;
    for warning in crate::engine::connection_warnings(options, &settings) {
        eprintln!("{warning}");
    }
    Ok(settings)
}

/// How the console ended: by the user, or by a signal.
fn ended(signal: Option<i32>) -> Outcome {
    signal.map_or(Outcome::Done, Outcome::Signalled)
}

/// A tokio runtime for the commands that talk to the database.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(json_error)
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Usage(format!("cannot encode JSON: {e}"))
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(json_error)?;
    println!("{text}");
    Ok(())
}
