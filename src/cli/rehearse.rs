//! `retort rehearse [TARGET] [--all]`: every step of the plan run up, down
//! and up again on a throwaway database, with the locks it takes, before
//! it runs on the live one. The engine runs it; this file chooses the
//! server, and `report` says what came back.

use super::args::{Format, GlobalArgs, RehearseArgs};
use super::signals::SignalWatch;
use super::{Outcome, print_json, report, runtime};
use crate::db::catalog::ReadOptions;
use crate::engine::rehearse::{
    Outcome as Rehearsed, Rehearsal, RehearseRequest, configured_rehearsal_server,
    rehearsal_server, rehearse,
};
use crate::engine::{Error, GlobalOptions, Project};

pub fn rehearse_command(global: &GlobalArgs, args: RehearseArgs) -> Result<Outcome, Error> {
    let options = global.options();
    let project = Project::load(&options)?;
    let target = args.target.unwrap_or_else(|| "heads".to_string());
    let rehearsal = match run(&project, &options, target, args.all)? {
        Ok(rehearsal) => rehearsal,
        Err(signal) => return Ok(Outcome::Signalled(signal)),
    };
    print(global.format, &rehearsal)?;
    Ok(Outcome::Code(rehearsal.exit_code()))
}

/// `check --rehearse`: the pending steps, rehearsed; the rehearsal's exit
/// code (0 when nothing is pending).
/// Rehearses the pending steps for `check --rehearse`: the exit code of
/// the rehearsal, and in JSON mode its document (for `check` to put into
/// its own, so the output stays one document); text is printed here.
pub fn rehearse_pending(global: &GlobalArgs) -> Result<(i32, Option<serde_json::Value>), Error> {
    let options = global.options();
    let project = Project::load(&options)?;
    let rehearsal = match run(&project, &options, "heads".to_string(), false)? {
        Ok(rehearsal) => rehearsal,
        Err(signal) => return Ok((128 + signal, None)),
    };
    let json = match global.format {
        Format::Json => Some(report::rehearsal_json(&rehearsal)),
        _ => {
            report::rehearsal_text(&rehearsal);
            None
        }
    };
    Ok((rehearsal.exit_code(), json))
}

/// Runs the rehearsal; `Err(signal)` when a signal stopped it (the
/// scratch database, and a private cluster if one was started, removed).
fn run(
    project: &Project,
    options: &GlobalOptions,
    target: String,
    all: bool,
) -> Result<Result<Rehearsal, i32>, Error> {
    let live = super::connection_settings(&project.config, options)?;
    let configured = configured_rehearsal_server(&project.config, options, &live)?;
    runtime()?.block_on(async {
        let signals = SignalWatch::start()?;
        let chosen = rehearsal_server(&live, configured, &report::cluster_progress);
        let server = tokio::select! {
            server = chosen => server?,
            () = signals.cancel.requested() => return Ok(Err(signals.received().unwrap_or(2))),
        };
        if let Some(cluster) = server.private_cluster() {
            report::rehearsing_on_cluster(&cluster.root().display().to_string(), cluster.port());
        }
        let request = RehearseRequest {
            project,
            live: &live,
            server: server.settings(),
            target,
            all,
            options: ReadOptions::default(),
        };
        let progress = report::rehearsal_progress;
        match rehearse(&request, &progress, &signals.cancel).await? {
            Rehearsed::Done(rehearsal) => Ok(Ok(*rehearsal)),
            // Only a signal cancels it; SIGINT's number if none was seen.
            Rehearsed::Cancelled => Ok(Err(signals.received().unwrap_or(2))),
        }
    })
}

fn print(format: Format, rehearsal: &Rehearsal) -> Result<(), Error> {
    match format {
        Format::Json => print_json(&report::rehearsal_json(rehearsal)),
        _ => {
            report::rehearsal_text(rehearsal);
            Ok(())
        }
    }
}
