//! `retort rehearse` judges the lint's lock and rewrite claims by what the
//! trace saw, on a real server: `varchar(50) → text` does not rewrite
//! (Squawk's `changing-column-type` refuted), `int → bigint` on a table
//! with rows does (confirmed).

mod common;
mod support;

use std::path::Path;

use common::TestDb;
use support::{expect_code, run, stdout, write_revision};

fn write_project(dir: &Path) {
    write_revision(
        dir,
        "a0",
        &[],
        "",
        "CREATE TABLE t (id int PRIMARY KEY, name varchar(50), n int);\n\
         INSERT INTO t SELECT g, 'x', g FROM generate_series(1, 1000) g;",
        Some("DROP TABLE t;"),
    );
    write_revision(
        dir,
        "a1",
        &["a0"],
        "",
        "ALTER TABLE t ALTER COLUMN name TYPE text;",
        Some("ALTER TABLE t ALTER COLUMN name TYPE varchar(50);"),
    );
    write_revision(
        dir,
        "a2",
        &["a1"],
        "",
        "ALTER TABLE t ALTER COLUMN n TYPE bigint;",
        Some("ALTER TABLE t ALTER COLUMN n TYPE int;"),
    );
}

/// The lines of a step's block: its heading (naming `revision`) and the
/// indented lines after it.
fn step_block(out: &str, revision: &str) -> String {
    let heading = format!("-> {revision} (");
    let mut lines = out.lines().skip_while(|line| !line.contains(&heading));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no step {revision}:\n{out}"));
    let rest = lines.take_while(|line| line.starts_with(' ') || line.starts_with("!!"));
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_type_change_is_refuted_without_rewrite_and_confirmed_with_one() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_project(dir.path());
    let out = run(&db, dir.path(), &["rehearse", "--all"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    let to_text = step_block(&text, "a1");
    assert!(
        to_text.contains("changing-column-type on t: refuted: the trace saw no rewrite"),
        "{to_text}"
    );
    let to_bigint = step_block(&text, "a2");
    assert!(
        to_bigint.contains(
            "changing-column-type on t: confirmed by the trace (rewrite, ACCESS EXCLUSIVE)"
        ),
        "{to_bigint}"
    );
}

fn type_change_verdict(step: &serde_json::Value) -> serde_json::Value {
    let hazards = step["lint"]["hazards"].as_array().expect("hazards");
    let hazard = hazards
        .iter()
        .find(|h| h["rule"] == "changing-column-type")
        .unwrap_or_else(|| panic!("no changing-column-type in {step}"));
    hazard["trace"].clone()
}

#[tokio::test]
async fn json_fills_the_trace_of_each_step_lint() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_project(dir.path());
    let out = run(&db, dir.path(), &["--format", "json", "rehearse", "--all"]);
    expect_code(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let steps = json["steps"].as_array().expect("steps");
    let refuted = type_change_verdict(&steps[1]);
    assert_eq!(refuted["verdict"], "refuted", "{refuted}");
    assert!(
        refuted["observed"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no rewrite"),
        "{refuted}"
    );
    let confirmed = type_change_verdict(&steps[2]);
    assert_eq!(confirmed["verdict"], "confirmed", "{confirmed}");
}
