//! The recorded Alembic scenarios again, this time end to end: each
//! scenario's revisions are written as revision files, and its commands run
//! through the real `retort` binary against a fresh database. Every
//! migration logs itself into `applied_log`, exactly as the recorded Alembic
//! migrations did, so the comparison covers what really ran, in what order,
//! and what the version table holds afterwards.

mod common;

use std::path::Path;
use std::process::Command;

use common::TestDb;
use retort::core::revision::{Revision, SqlSection, render_revision};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_retort");

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn section(id: &str, dir: &str, fails: bool) -> SqlSection {
    let mut sql = format!("INSERT INTO applied_log(rev, dir) VALUES ('{id}', '{dir}');\n");
    if fails {
        sql += "SELECT 1/0;\n";
    }
    SqlSection { sql, first_line: 1 }
}

/// Writes the scenario's revisions as files whose names sort in the
/// scenario's order (the order that breaks ties, as in Alembic).
fn write_project(fixture: &Value, dir: &Path) {
    for (n, r) in fixture["revisions"].as_array().unwrap().iter().enumerate() {
        let id = r["id"].as_str().unwrap();
        let downs = strings(&r["down"]);
        let down_refs: Vec<&str> = downs.iter().map(String::as_str).collect();
        let mut rev = Revision::synthetic(id, &down_refs);
        rev.branch_labels = strings(&r["labels"]);
        rev.depends_on = strings(&r["depends_on"]);
        rev.message = r["message"].as_str().unwrap_or_default().to_string();
        rev.upgrade = section(id, "up", r["fail_on"] == "up");
        rev.downgrade = Some(section(id, "down", r["fail_on"] == "down"));
        let file = dir.join(format!("{n:04}_{id}.sql"));
        std::fs::write(file, render_revision(&rev)).unwrap();
    }
}

async fn rows(db: &TestDb) -> Vec<String> {
    let client = db.client().await;
    let exists: bool = client
        .query_one("SELECT to_regclass('alembic_version') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    client
        .query("SELECT version_num FROM alembic_version ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn applied_since(db: &TestDb, after: i32) -> (Vec<(String, String)>, i32) {
    let client = db.client().await;
    let found = client
        .query(
            "SELECT id, rev, dir FROM applied_log WHERE id > $1 ORDER BY id",
            &[&after],
        )
        .await
        .unwrap();
    let last = found.last().map_or(after, |r| r.get(0));
    (found.iter().map(|r| (r.get(1), r.get(2))).collect(), last)
}

/// Commands whose outcome retort deliberately does not share with Alembic:
/// a relative downgrade from several heads (Alembic warns and picks a row
/// at random; retort refuses).
fn deliberately_refused(command: &Value) -> bool {
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

const MOVES: [&str; 3] = ["upgrade", "downgrade", "stamp"];

#[tokio::test]
async fn recorded_alembic_scenarios_run_the_same_through_the_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alembic/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in files {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if fixture["load"]["result"] != "ok"
            || strings(&fixture["load"]["warnings"])
                .iter()
                .any(|w| !w.is_empty())
        {
            continue; // load errors are compared by the planner replay
        }
        let name = fixture["name"].as_str().unwrap().to_string();
        let project = tempfile::tempdir().unwrap();
        write_project(&fixture, project.path());
        let db = TestDb::create().await;
        db.client()
            .await
            .batch_execute("CREATE TABLE applied_log (id serial PRIMARY KEY, rev text, dir text)")
            .await
            .unwrap();
        let mut seen = 0;
        for command in fixture["commands"].as_array().unwrap() {
            let cmd = command["cmd"].as_str().unwrap();
            let args = strings(&command["args"]);
            if !MOVES.contains(&cmd) || args.iter().any(|a| a == "--sql") {
                continue;
            }
            let before = rows(&db).await;
            let out = Command::new(BIN)
                .arg("--migrations")
                .arg(project.path())
                .arg("--database-url")
                .arg(db.conninfo())
                .arg(cmd)
                .args(&args)
                .output()
                .unwrap();
            let label = format!("{name}: {cmd} {}", args.join(" "));
            let expect_ok = command["result"] == "ok" && !deliberately_refused(command);
            compared += 1;
            if out.status.success() != expect_ok {
                failures.push(format!(
                    "{label}: exit {:?}, Alembic {}\n{}",
                    out.status.code(),
                    command["result"],
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let (applied, last) = applied_since(&db, seen).await;
            seen = last;
            let now = rows(&db).await;
            if deliberately_refused(command) {
                // Nothing may have run; carry on from where Alembic got to.
                if !applied.is_empty() {
                    failures.push(format!("{label}: refused, but ran {applied:?}"));
                }
                sync_rows(&db, &strings(&command["rows_after"])).await;
                continue;
            }
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
            if applied != expected_applied {
                failures.push(format!(
                    "{label}: ran {applied:?}, Alembic {expected_applied:?}"
                ));
            }
            let expected_rows = strings(&command["rows_after"]);
            if alembic_crashed(command) {
                if now != before {
                    failures.push(format!(
                        "{label}: refused, but rows {before:?} became {now:?}"
                    ));
                }
                sync_rows(&db, &expected_rows).await;
            } else if now != expected_rows {
                failures.push(format!("{label}: rows {now:?}, Alembic {expected_rows:?}"));
                sync_rows(&db, &expected_rows).await;
            }
        }
    }
    assert!(compared > 150, "only {compared} commands compared");
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Puts the version table into Alembic's state, so one difference is
/// reported once rather than in every later command.
async fn sync_rows(db: &TestDb, expected: &[String]) {
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, \
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)); DELETE FROM alembic_version",
        )
        .await
        .unwrap();
    for row in expected {
        client
            .execute("INSERT INTO alembic_version VALUES ($1)", &[row])
            .await
            .unwrap();
    }
}
