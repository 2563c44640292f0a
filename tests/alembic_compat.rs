//! Replays the scenarios recorded from real Alembic (tests/alembic/fixtures)
//! against retort's planner and read-only views: the same commands must
//! succeed or fail, run the same revisions in the same order, and leave the
//! same rows in the version table; `heads`, `history`, `branches` and
//! `current` must print the same lines, and offline scripts the same SQL.
//!
//! Where retort deliberately refuses what Alembic only warns about (a
//! relative downgrade from several heads) or crashes on (a missing
//! down_revision), the test expects an error instead.

use std::collections::BTreeSet;
use std::path::PathBuf;

use retort::core::describe::{
    LineStyle, RangeEnd, current_revisions, history_range, log_entry, revision_line,
};
use retort::core::graph::RevisionMap;
use retort::core::offline::{VersionTableName, render_offline};
use retort::core::plan::{
    Direction, Plan, StepKind, VersionOp, plan_downgrade, plan_stamp, plan_upgrade,
};
use retort::core::revision::{Revision, parse_revision, render_revision};
use serde_json::Value;

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/alembic/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture readable");
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&text).expect("fixture is JSON"),
            )
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The fixture's revisions, written out as revision files and read back
/// through the real parser (which enforces Alembic's rules on ids).
fn parsed_revisions(fixture: &Value) -> Result<Vec<Revision>, String> {
    revisions(fixture)
        .into_iter()
        .map(|rev| parse_revision(&rev.path, &render_revision(&rev)).map_err(|e| e.to_string()))
        .collect()
}

fn revisions(fixture: &Value) -> Vec<Revision> {
    fixture["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap();
            let downs = strings(&r["down"]);
            let down_refs: Vec<&str> = downs.iter().map(String::as_str).collect();
            let mut rev = Revision::synthetic(id, &down_refs);
            rev.branch_labels = strings(&r["labels"]);
            rev.depends_on = strings(&r["depends_on"]);
            rev.message = r["message"].as_str().unwrap_or_default().to_string();
            rev.path = PathBuf::from(format!("versions/{id}.sql"));
            // The recorded migrations log themselves; offline scripts show that SQL.
            rev.upgrade.sql = format!("INSERT INTO applied_log(rev, dir) VALUES ('{id}', 'up');\n");
            if let Some(down) = rev.downgrade.as_mut() {
                down.sql = format!("INSERT INTO applied_log(rev, dir) VALUES ('{id}', 'down');\n");
            }
            rev
        })
        .collect()
}

fn failing(fixture: &Value, rev: &str, direction: Direction) -> bool {
    let wanted = match direction {
        Direction::Upgrade => "up",
        Direction::Downgrade => "down",
    };
    fixture["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == rev && r["fail_on"] == wanted)
}

/// What running a plan online does to the recorded state: steps run one by
/// one, each committed with its version rows, until one fails.
struct Outcome {
    ok: bool,
    applied: Vec<(String, String)>,
    rows: Vec<String>,
}

fn run(fixture: &Value, plan: &Plan) -> Outcome {
    let mut rows: Vec<String> = if plan.purge {
        Vec::new()
    } else {
        plan.heads_before.clone()
    };
    let mut applied = Vec::new();
    for step in &plan.steps {
        if step.kind == StepKind::Migrate && failing(fixture, &step.revision, step.direction) {
            rows.sort();
            return Outcome {
                ok: false,
                applied,
                rows,
            };
        }
        for op in &step.version_ops {
            match op {
                VersionOp::Insert { version } => rows.push(version.clone()),
                VersionOp::Delete { version } => rows.retain(|r| r != version),
                VersionOp::Update { from, to } => {
                    for r in rows.iter_mut().filter(|r| *r == from) {
                        *r = to.clone();
                    }
                }
            }
        }
        if step.kind == StepKind::Migrate {
            let dir = match step.direction {
                Direction::Upgrade => "up",
                Direction::Downgrade => "down",
            };
            applied.push((step.revision.clone(), dir.to_string()));
        }
    }
    rows.sort();
    Outcome {
        ok: true,
        applied,
        rows,
    }
}

/// Splits `args` into flags and positional arguments.
fn parse_args(args: &[String]) -> (BTreeSet<String>, Option<String>, Vec<String>) {
    let mut flags = BTreeSet::new();
    let mut range = None;
    let mut positional = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-r" || arg == "--rev-range" {
            range = iter.next().cloned();
        } else if let Some(r) = arg.strip_prefix("-r=") {
            range = Some(r.to_string());
        } else if arg.starts_with("--")
            || (arg.starts_with('-') && arg[1..].chars().all(char::is_alphabetic))
        {
            flags.insert(arg.clone());
        } else {
            positional.push(arg.clone());
        }
    }
    (flags, range, positional)
}

/// A scenario's record of where Alembic only warned and retort refuses.
fn retort_refuses(command: &Value) -> bool {
    strings(&command["warnings"])
        .iter()
        .any(|w| w.contains("ambiguous"))
}

/// An uncaught Alembic exception that is not the database's: retort refuses
/// those commands before changing anything, while Alembic may already have
/// committed part of the command (the first moves of a stamp with several
/// revisions).
fn alembic_crashed(command: &Value) -> bool {
    command["result"].get("raised_at").is_some() && command["result"].get("sqlstate").is_none()
}

#[derive(Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checked += 1;
        if !ok {
            self.failures.push(what());
        }
    }
}

fn plan_for(
    map: &RevisionMap,
    cmd: &str,
    rows: &[String],
    flags: &BTreeSet<String>,
    pos: &[String],
) -> Result<Plan, String> {
    let target = pos.first().cloned().unwrap_or_default();
    let result = match cmd {
        "upgrade" => plan_upgrade(map, rows, &target),
        "downgrade" => plan_downgrade(map, rows, &target),
        "stamp" => plan_stamp(map, rows, pos, flags.contains("--purge")),
        _ => unreachable!(),
    };
    result.map_err(|e| e.to_string())
}

fn offline_script(
    map: &RevisionMap,
    cmd: &str,
    flags: &BTreeSet<String>,
    pos: &[String],
) -> Result<String, String> {
    if flags.contains("--purge") {
        return Err("Can't use --purge with --sql mode".into());
    }
    let arg = pos.first().cloned().unwrap_or_default();
    let (from, to) = match arg.split_once(':') {
        Some((f, t)) => (f.to_string(), t.to_string()),
        None if cmd == "downgrade" => {
            return Err("downgrade with --sql requires <fromrev>:<torev>".into());
        }
        None => (String::new(), arg),
    };
    let start: Vec<String> = if from.is_empty() || from == "base" {
        Vec::new()
    } else {
        let rev = map.get_revision(&from).map_err(|e| e.to_string())?;
        rev.map(|r| vec![map.id(r).to_string()]).unwrap_or_default()
    };
    let targets: Vec<String> = if cmd == "stamp" {
        pos.iter()
            .map(|p| p.split_once(':').map_or(p.clone(), |(_, t)| t.to_string()))
            .collect()
    } else {
        vec![to.clone()]
    };
    let plan = plan_for(map, cmd, &start, flags, &targets)?;
    Ok(render_offline(map, &plan, &VersionTableName::default()))
}

fn replay_command(
    report: &mut Report,
    name: &str,
    fixture: &Value,
    map: &RevisionMap,
    rows: &mut Vec<String>,
    command: &Value,
) {
    let cmd = command["cmd"].as_str().unwrap();
    let args = strings(&command["args"]);
    let (flags, range, pos) = parse_args(&args);
    let expected_ok = command["result"] == "ok" && !retort_refuses(command);
    let label = format!("{name}: {cmd} {}", args.join(" "));
    match cmd {
        "upgrade" | "downgrade" | "stamp" if flags.contains("--sql") => {
            let script = offline_script(map, cmd, &flags, &pos);
            report.check(script.is_ok() == expected_ok, || {
                format!("{label}: expected ok={expected_ok}, got {script:?}")
            });
            if let (Ok(script), true) = (&script, expected_ok) {
                let expected = command["stdout"].as_str().unwrap_or_default();
                report.check(script == expected, || format!("{label}: offline script differs\n--- alembic\n{expected}\n--- retort\n{script}"));
            }
        }
        "upgrade" | "downgrade" | "stamp" => {
            let outcome = plan_for(map, cmd, rows, &flags, &pos).map(|plan| run(fixture, &plan));
            let ok = outcome.as_ref().is_ok_and(|o| o.ok);
            report.check(ok == expected_ok, || {
                format!(
                    "{label}: expected ok={expected_ok} ({}), got {}",
                    command["result"],
                    match &outcome {
                        Ok(o) => format!("ok={}", o.ok),
                        Err(e) => e.clone(),
                    }
                )
            });
            let expected_applied: Vec<(String, String)> = command["applied"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        p[1].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let (applied, new_rows) = match &outcome {
                Ok(o) => (o.applied.clone(), o.rows.clone()),
                Err(_) => (Vec::new(), rows.clone()),
            };
            if expected_ok || command["result"] != "ok" {
                report.check(applied == expected_applied, || {
                    format!("{label}: applied {applied:?}, alembic {expected_applied:?}")
                });
                let (expected_rows, whose) = if alembic_crashed(command) {
                    (rows.clone(), "unchanged")
                } else {
                    (strings(&command["rows_after"]), "alembic")
                };
                report.check(new_rows == expected_rows, || {
                    format!("{label}: rows {new_rows:?}, {whose} {expected_rows:?}")
                });
            }
            // Continue from Alembic's state, so one difference is reported once.
            *rows = strings(&command["rows_after"]);
        }
        _ => {
            let stdout = read_only(map, rows, cmd, &flags, range.as_deref());
            compare_output(report, &label, cmd, command, stdout);
        }
    }
}

fn compare_output(
    report: &mut Report,
    label: &str,
    cmd: &str,
    expected: &Value,
    actual: Result<String, String>,
) {
    let expected_ok = expected["result"] == "ok";
    report.check(actual.is_ok() == expected_ok, || {
        format!(
            "{label}: expected ok={expected_ok} ({}), got {actual:?}",
            expected["result"]
        )
    });
    let (Ok(actual), true) = (actual, expected_ok) else {
        return;
    };
    let want = normalize(expected["stdout"].as_str().unwrap_or_default());
    let actual = normalize(&actual);
    // Alembic prints `current` and the children of a branch point from
    // Python sets, in no defined order: compare those as sets.
    let same = if cmd == "current" || cmd == "branches" {
        want.lines().collect::<BTreeSet<_>>() == actual.lines().collect::<BTreeSet<_>>()
    } else {
        want == actual
    };
    report.check(same, || {
        format!("{label}: output differs\n--- alembic\n{want}--- retort\n{actual}")
    });
}

/// Paths and connection URLs differ between the two tools by nature.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("Path: ") {
                "Path: <path>".to_string()
            } else if let Some(children) = line.strip_prefix("Branches into: ") {
                // A Python set in Alembic: order undefined.
                let mut ids: Vec<&str> = children.split(", ").collect();
                ids.sort_unstable();
                format!("Branches into: {}", ids.join(", "))
            } else if line.starts_with("Current revision(s) for ") {
                "Current revision(s) for <url>:".to_string()
            } else {
                line.to_string()
            }
        })
        .map(|line| line + "\n")
        .collect()
}

fn read_only(
    map: &RevisionMap,
    rows: &[String],
    cmd: &str,
    flags: &BTreeSet<String>,
    range: Option<&str>,
) -> Result<String, String> {
    let verbose = flags.contains("-v") || flags.contains("--verbose");
    let mut out = String::new();
    match cmd {
        "heads" => {
            let heads = if flags.contains("--resolve-dependencies") {
                map.real_heads()
            } else {
                map.heads()
            };
            for &h in heads {
                out += &(if verbose {
                    log_entry(map, h, false)
                } else {
                    revision_line(map, h, LineStyle::HEADS, false)
                });
                out += "\n";
            }
        }
        "current" => {
            if flags.contains("--check-heads") {
                let heads: BTreeSet<&str> = map.heads().iter().map(|&h| map.id(h)).collect();
                let current: BTreeSet<&str> = rows.iter().map(String::as_str).collect();
                if heads != current {
                    return Err("Database is not on all head revisions".into());
                }
            }
            if verbose {
                out += "Current revision(s) for postgresql://***:\n";
            }
            for rev in current_revisions(map, rows).map_err(|e| e.to_string())? {
                out += &(if verbose {
                    log_entry(map, rev, false)
                } else {
                    revision_line(map, rev, LineStyle::CURRENT, false)
                });
                out += "\n";
            }
        }
        "history" => {
            let (base, head) = match range {
                Some(r) => {
                    let (b, h) = r
                        .split_once(':')
                        .ok_or("History range requires [start]:[end], [start]:, or :[end]")?;
                    (b.to_string(), h.to_string())
                }
                None => (String::new(), String::new()),
            };
            let end = |s: &str, default: &str| match s {
                "" => RangeEnd::Ident(default.to_string()),
                "current" => RangeEnd::Revisions(rows.to_vec()),
                other => RangeEnd::Ident(other.to_string()),
            };
            let indicate = flags.contains("-i") || flags.contains("--indicate-current");
            let current: BTreeSet<&str> = rows.iter().map(String::as_str).collect();
            for rev in history_range(map, &end(&base, "base"), &end(&head, "heads"))
                .map_err(|e| e.to_string())?
            {
                let is_current = indicate && current.contains(map.id(rev));
                out += &(if verbose {
                    log_entry(map, rev, is_current)
                } else {
                    revision_line(map, rev, LineStyle::HISTORY, is_current)
                });
                out += "\n";
            }
        }
        "branches" => {
            let all = history_range(
                map,
                &RangeEnd::Ident("base".into()),
                &RangeEnd::Ident("heads".into()),
            )
            .map_err(|e| e.to_string())?;
            for rev in all.into_iter().filter(|&r| map.is_branch_point(r)) {
                let head = if verbose {
                    log_entry(map, rev, false)
                } else {
                    revision_line(
                        map,
                        rev,
                        LineStyle {
                            branches: true,
                            ..LineStyle::CURRENT
                        },
                        false,
                    )
                };
                let pad = " ".repeat(map.id(rev).len());
                let children: Vec<String> = map
                    .children(rev)
                    .iter()
                    .map(|&c| {
                        format!(
                            "{pad} -> {}",
                            revision_line(
                                map,
                                c,
                                LineStyle {
                                    branches: true,
                                    doc: verbose,
                                    ..LineStyle::CURRENT
                                },
                                false
                            )
                        )
                    })
                    .collect();
                out += &format!("{head}\n{}\n\n", children.join("\n"));
            }
        }
        other => panic!("fixture uses a command this replay does not know: {other}"),
    }
    Ok(out)
}

#[test]
fn retort_matches_alembic_on_every_recorded_scenario() {
    let mut report = Report::default();
    let all = fixtures();
    assert!(
        all.len() >= 20,
        "expected the recorded scenarios, found {}",
        all.len()
    );
    for (name, fixture) in &all {
        let built = parsed_revisions(fixture)
            .and_then(|revs| RevisionMap::build(revs).map_err(|e| e.to_string()));
        let load_ok = fixture["load"]["result"] == "ok";
        let map = match built {
            Ok(map) => {
                report.check(load_ok, || {
                    format!(
                        "{name}: loads, but Alembic failed: {}",
                        fixture["load"]["result"]
                    )
                });
                map
            }
            Err(err) => {
                // Alembic only warns about a duplicate id (the last file wins) and
                // crashes later on a missing down_revision; retort refuses both
                // when it loads the files.
                let warned = strings(&fixture["load"]["warnings"])
                    .iter()
                    .any(|w| w.contains("more than once"));
                let crashed_later = fixture["commands"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["result"] != "ok"));
                report.check(!load_ok || warned || crashed_later, || {
                    format!("{name}: load failed ({err}) where Alembic loaded")
                });
                continue;
            }
        };
        let mut rows: Vec<String> = Vec::new();
        for command in fixture["commands"].as_array().unwrap() {
            replay_command(&mut report, name, fixture, &map, &mut rows, command);
        }
        let captured = strings(&fixture["rows_when_outputs_captured"]);
        if let Some(outputs) = fixture["outputs"].as_object() {
            for (key, output) in outputs {
                let argv = strings(&output["argv"]);
                let (flags, range, pos) = parse_args(&argv[1..]);
                let label = format!("{name}: {key}");
                let actual = if flags.contains("--sql") {
                    offline_script(&map, &argv[0], &flags, &pos)
                } else {
                    read_only(&map, &captured, &argv[0], &flags, range.as_deref())
                };
                compare_output(&mut report, &label, &argv[0], output, actual);
            }
        }
    }
    assert!(
        report.failures.is_empty(),
        "{} of {} checks differ from Alembic:\n\n{}",
        report.failures.len(),
        report.checked,
        report.failures.join("\n\n")
    );
}
