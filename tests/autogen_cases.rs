//! The synthetic cases of `bench/cases/*.sql` through the DDL generator,
//! both ways, on a real server: the SQL `retort diff --sql
//! --accept-renames` would write from `before` to `after` (and back),
//! applied to a database holding the source schema and the case's rows,
//! must give exactly the target's snapshot. The only difference allowed is
//! a column order the script itself names as unexpressed (no ALTER can
//! reorder columns). `bench/synthetic.sh` runs the same files beside migra.

mod common;

use std::path::{Path, PathBuf};

use common::TestDb;
use retort::core::schema::{
    Change, DdlOptions, Script, Snapshot, change_lines, choose, diff, generate_renamed,
};

/// The sections of a case file, each opened by a line of its own.
#[derive(Default)]
struct Case {
    before: String,
    after: String,
    rows_before: String,
    rows_after: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/cases")
}

fn parse(text: &str) -> Case {
    let mut case = Case::default();
    let mut current: Option<&mut String> = None;
    for line in text.lines() {
        current = match line.trim_end() {
            "-- before" => Some(&mut case.before),
            "-- after" => Some(&mut case.after),
            "-- rows before" => Some(&mut case.rows_before),
            "-- rows after" => Some(&mut case.rows_after),
            _ => {
                // Lines above the first section describe the case.
                if let Some(section) = current.as_deref_mut() {
                    section.push_str(line);
                    section.push('\n');
                }
                current
            }
        };
    }
    case
}

async fn snapshot(db: &TestDb) -> Snapshot {
    db.snapshot().await
}

async fn run(db: &TestDb, sql: &str) -> Result<(), String> {
    db.run(sql).await
}

async fn made(name: &str, side: &str, sql: &str) -> (TestDb, Snapshot) {
    let db = TestDb::create().await;
    run(&db, sql)
        .await
        .unwrap_or_else(|e| panic!("{name}: `{side}` does not build: {e}"));
    let snapshot = snapshot(&db).await;
    (db, snapshot)
}

/// The script the CLI writes for `diff --sql --accept-renames`.
fn script(from: &Snapshot, to: &Snapshot) -> Result<Script, String> {
    let chosen = choose(from, to, &[], true)?;
    if !chosen.undecided.is_empty() {
        return Err(format!("renames left undecided: {:?}", chosen.undecided));
    }
    generate_renamed(from, to, &chosen.renames, DdlOptions::default()).map_err(|e| e.to_string())
}

/// Runs `script` on `db` (in one transaction when it can be).
async fn apply(db: &TestDb, script: &Script) -> Result<(), String> {
    if script.transactional {
        return run(db, &format!("BEGIN;\n{}\nCOMMIT;", script.sql())).await;
    }
    // One statement at a time: several in one simple query would run in
    // one implicit transaction.
    for statement in &script.statements {
        run(db, &statement.sql).await?;
    }
    Ok(())
}

/// A column order the script says it cannot reach is allowed; anything
/// else left over is a defect.
fn allowed(change: &Change, script: &Script) -> bool {
    let said = format!("table {}: column order ", change.key.display_name());
    change.is_column_order() && script.unexpressed.iter().any(|u| u.starts_with(&said))
}

/// Rows in every table of the database, summed: a script with no
/// destructive statement must keep them all (a rename written as a drop
/// plus an add would not).
async fn rows_held(db: &TestDb) -> i64 {
    let sql = "SELECT coalesce(sum((xpath('/row/n/text()', query_to_xml(
                 format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                 false, true, '')))[1]::text::bigint), 0)::bigint
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg_toast%'";
    let row = db
        .client()
        .await
        .query_one(sql, &[])
        .await
        .expect("row count");
    row.get(0)
}

/// One direction: `db` holds `from` (snapshot already read); its rows go
/// in, the script runs, and what differs from `to` is returned as text.
async fn direction(db: &TestDb, from: &Snapshot, to: &Snapshot, rows: &str) -> Result<(), String> {
    if !rows.trim().is_empty() {
        run(db, rows).await.map_err(|e| format!("rows: {e}"))?;
    }
    let script = script(from, to)?;
    if script.is_empty() {
        return Err("no SQL for a change".into());
    }
    let sql = script.sql();
    let rows_before = rows_held(db).await;
    apply(db, &script)
        .await
        .map_err(|e| format!("apply failed: {e}\n--- sql ---\n{sql}"))?;
    let keeps_data = script.statements.iter().all(|s| s.destructive.is_none());
    let rows_after = rows_held(db).await;
    if keeps_data && rows_after != rows_before {
        return Err(format!(
            "{rows_before} rows before, {rows_after} after a script that says it loses nothing\n--- sql ---\n{sql}"
        ));
    }
    let left: Vec<Change> = diff(&snapshot(db).await, to)
        .into_iter()
        .filter(|change| !allowed(change, &script))
        .collect();
    match left.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "differs:\n{}\n--- sql ---\n{sql}\n--- unexpressed ---\n{}",
            change_lines(&left).join("\n"),
            script.unexpressed.join("\n")
        )),
    }
}

/// The case both ways; panics naming each direction that is not exact.
async fn check(name: &str) {
    let path = cases_dir().join(format!("{name}.sql"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let case = parse(&text);
    assert!(
        !case.before.trim().is_empty() && !case.after.trim().is_empty(),
        "{name}: needs `-- before` and `-- after` sections"
    );
    let (before_db, before) = made(name, "before", &case.before).await;
    let (after_db, after) = made(name, "after", &case.after).await;
    assert!(!diff(&before, &after).is_empty(), "{name}: no change");
    let up = direction(&before_db, &before, &after, &case.rows_before).await;
    let down = direction(&after_db, &after, &before, &case.rows_after).await;
    let failures: Vec<String> = [("upgrade", up), ("downgrade", down)]
        .into_iter()
        .filter_map(|(way, outcome)| outcome.err().map(|e| format!("{name} {way}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

macro_rules! cases {
    ($($test:ident => $file:literal $(, ignore = $why:literal)?;)*) => {
        $(
            #[tokio::test]
            $(#[ignore = $why])?
            async fn $test() {
                check($file).await;
            }
        )*

        /// Every case file has a test above, so a new file is not skipped
        /// in silence.
        #[test]
        fn every_case_file_is_listed() {
            let listed: Vec<&str> = vec![$($file),*];
            let mut files: Vec<String> = std::fs::read_dir(cases_dir())
                .expect("bench/cases")
                .filter_map(|entry| {
                    let path = entry.ok()?.path();
                    (path.extension()? == "sql").then(|| path.file_stem()?.to_str().map(String::from))?
                })
                .collect();
            files.sort();
            assert_eq!(files, listed);
        }
    };
}

cases! {
    enum_value_in_the_middle => "01_enum_value_in_the_middle";
    serial_to_identity => "02_serial_to_identity";
    sequence_options => "03_sequence_options";
    domains_with_checks => "04_domains_with_checks";
    partitions => "05_partitions";
    policies => "06_policies";
    generated_columns => "07_generated_columns";
    comments => "08_comments";
    view_over_retyped_column => "09_view_over_retyped_column";
    table_and_column_renamed => "10_table_and_column_renamed";
    indexes => "11_indexes";
    functions_and_triggers => "12_functions_and_triggers";
    materialized_views => "13_materialized_views";
    constraints_changed => "14_constraints_changed";
    not_null_with_default => "15_not_null_with_default";
    column_types => "16_column_types";
    composite_types => "17_composite_types";
    extensions => "18_extensions";
    renames_with_foreign_keys_around => "19_renames_with_foreign_keys_around";
    tables_added_and_dropped => "20_tables_added_and_dropped";
    identity_options => "21_identity_options";
    enum_value_removed => "22_enum_value_removed";
    exclusion_constraint => "23_exclusion_constraint";
}
