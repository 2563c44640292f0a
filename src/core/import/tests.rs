use super::*;

fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter()
        .map(|(path, contents)| SourceFile {
            path: path.to_string(),
            contents: contents.to_string(),
        })
        .collect()
}

fn versions(steps: &[Step]) -> Vec<&str> {
    steps.iter().map(|s| s.version.as_str()).collect()
}

#[test]
fn sqlx_pairs_sort_numerically_and_honour_no_transaction() {
    let steps = read_steps(
        SourceKind::Sqlx,
        &files(&[
            ("10_ten.up.sql", "CREATE TABLE ten ();"),
            ("10_ten.down.sql", "DROP TABLE ten;"),
            (
                "9_nine_things.up.sql",
                "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
            ),
            ("9_nine_things.down.sql", "DROP INDEX i;"),
            ("README.md", "not a migration"),
        ]),
    )
    .unwrap();
    assert_eq!(versions(&steps), ["9", "10"]);
    assert_eq!(steps[0].message, "nine things");
    assert!(!steps[0].transactional);
    assert!(steps[0].notes[0].contains("9_nine_things.down.sql"));
    assert!(steps[1].transactional);
    assert_eq!(steps[1].downgrade.as_deref(), Some("DROP TABLE ten;"));
}

#[test]
fn sqlx_simple_files_are_irreversible() {
    let steps = read_steps(
        SourceKind::Sqlx,
        &files(&[("20240101000000_init.sql", "CREATE TABLE a ();")]),
    )
    .unwrap();
    assert_eq!(steps[0].downgrade, None);
    let chained = chain(&steps).unwrap();
    assert!(chained[0].revision.is_irreversible());
}

#[test]
fn diesel_directories_and_metadata() {
    let steps = read_steps(
        SourceKind::Diesel,
        &files(&[
            (
                "2024-01-02-000000_second/up.sql",
                "CREATE INDEX CONCURRENTLY i ON a (x);",
            ),
            ("2024-01-02-000000_second/down.sql", "DROP INDEX i;"),
            (
                "2024-01-02-000000_second/metadata.toml",
                "run_in_transaction = false\n",
            ),
            (
                "2024-01-01-000000_create_a/up.sql",
                "CREATE TABLE a (x int);",
            ),
            ("2024-01-01-000000_create_a/down.sql", "DROP TABLE a;"),
            ("00000000000000_diesel_initial_setup/up.sql", "SELECT 1;"),
            ("00000000000000_diesel_initial_setup/down.sql", "SELECT 1;"),
        ]),
    )
    .unwrap();
    assert_eq!(
        versions(&steps),
        ["00000000000000", "20240101000000", "20240102000000"]
    );
    assert_eq!(steps[1].message, "create a");
    assert!(steps[1].transactional && !steps[2].transactional);
    let bad = read_steps(
        SourceKind::Diesel,
        &files(&[
            ("1_x/up.sql", ""),
            ("1_x/metadata.toml", "run_in_transaction = = 1"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        (bad.path.as_str(), bad.line),
        ("1_x/metadata.toml", Some(1))
    );
}

#[test]
fn dbmate_sections_and_options() {
    let text = "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON a (x);\n\n-- migrate:down\nDROP INDEX i;\n";
    let steps = read_steps(
        SourceKind::Dbmate,
        &files(&[
            ("20240102_index.sql", text),
            (
                "20240101_a.sql",
                "-- migrate:up\nCREATE TABLE a (x int);\n-- migrate:down\nDROP TABLE a;\n",
            ),
        ]),
    )
    .unwrap();
    assert_eq!(versions(&steps), ["20240101", "20240102"]);
    assert!(steps[0].transactional && !steps[1].transactional);
    assert_eq!(
        steps[1].upgrade.trim(),
        "CREATE INDEX CONCURRENTLY i ON a (x);"
    );
    assert_eq!(
        steps[1].downgrade.as_deref().map(str::trim),
        Some("DROP INDEX i;")
    );
    assert_eq!(steps[1].notes.len(), 1, "up and down differ");
    let err = read_steps(
        SourceKind::Dbmate,
        &files(&[("1_x.sql", "-- migrate:up transaction:maybe\n")]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "1_x.sql:1: unknown dbmate option 'transaction:maybe'"
    );
    let err = read_steps(
        SourceKind::Dbmate,
        &files(&[("1_x.sql", "CREATE TABLE a ();\n")]),
    )
    .unwrap_err();
    assert!(err.message.contains("no `-- migrate:up`"));
}

#[test]
fn golang_migrate_prefers_postgres_files_and_wraps_nothing() {
    let list = files(&[
        ("000002_b.up.sql", "generic"),
        (
            "000002_b.postgres.up.sql",
            "BEGIN;\nCREATE TABLE b ();\nCOMMIT;",
        ),
        ("000002_b.mysql.up.sql", "mysql"),
        ("000002_b.down.sql", "DROP TABLE b;"),
        ("000010_c.up.sql", "CREATE TABLE c ();"),
        ("000001_a.up.sql", "CREATE TABLE a ();"),
        ("000001_a.down.sql", "DROP TABLE a;"),
    ]);
    let steps = read_steps(SourceKind::GolangMigrate, &list).unwrap();
    assert_eq!(versions(&steps), ["000001", "000002", "000010"]);
    assert!(steps.iter().all(|s| !s.transactional));
    assert!(steps[1].upgrade.starts_with("BEGIN;"));
    assert_eq!(steps[2].downgrade, None);
    assert!(
        steps[0]
            .notes
            .iter()
            .any(|n| n.contains("000002_b.mysql.up.sql"))
    );
    // The file's own BEGIN ... COMMIT is fine outside retort's transaction.
    assert!(chain(&steps).is_ok());
}

#[test]
fn pop_runs_in_transactions_except_autocommit_files() {
    let list = files(&[
        ("20240101000000_a.up.sql", "CREATE TABLE a ();"),
        ("20240101000000_a.down.sql", "DROP TABLE a;"),
        (
            "20240102000000_i.autocommit.up.sql",
            "CREATE INDEX CONCURRENTLY i ON a (x);",
        ),
        (
            "20240102000000_i.autocommit.down.sql",
            "DROP INDEX CONCURRENTLY i;",
        ),
    ]);
    let steps = read_steps(SourceKind::Pop, &list).unwrap();
    assert!(steps[0].transactional && !steps[1].transactional);
    let fizz = read_steps(SourceKind::Pop, &files(&[("1_a.up.fizz", "")])).unwrap_err();
    assert!(fizz.message.contains("fizz"));
}

#[test]
fn flyway_versions_undo_and_transaction_detection() {
    let list = files(&[
        ("db/migration/V1_10__later.sql", "CREATE TABLE later ();"),
        ("db/migration/V1_9__earlier.sql", "CREATE TABLE earlier ();"),
        ("db/migration/U1_9__earlier.sql", "DROP TABLE earlier;"),
        (
            "db/migration/V2__index.sql",
            "create  unique index concurrently i on earlier (x);",
        ),
        (
            "db/migration/V3__mixed.sql",
            "CREATE TABLE m ();\nCREATE INDEX CONCURRENTLY j ON m (x);",
        ),
        ("db/migration/V4__conf.sql", "CREATE TABLE n ();"),
        (
            "db/migration/V4__conf.sql.conf",
            "executeInTransaction=false\n",
        ),
    ]);
    let steps = read_steps(SourceKind::Flyway, &list).unwrap();
    assert_eq!(versions(&steps), ["1.9", "1.10", "2", "3", "4"]);
    assert_eq!(steps[0].downgrade.as_deref(), Some("DROP TABLE earlier;"));
    assert_eq!(steps[1].downgrade, None);
    let transactional: Vec<bool> = steps.iter().map(|s| s.transactional).collect();
    assert_eq!(transactional, [true, true, false, false, false]);
    assert!(steps[3].notes[0].contains("line 2"));
    let repeatable = read_steps(SourceKind::Flyway, &files(&[("R__views.sql", "")])).unwrap_err();
    assert!(
        repeatable
            .to_string()
            .starts_with("R__views.sql: repeatable migrations")
    );
}

#[test]
fn chain_links_each_revision_to_the_one_before() {
    let steps = read_steps(
        SourceKind::Sqlx,
        &files(&[
            ("1_a.up.sql", "CREATE TABLE a ();"),
            ("1_a.down.sql", "DROP TABLE a;"),
            ("2_b.up.sql", "CREATE TABLE b ();"),
            ("2_b.down.sql", "DROP TABLE b;"),
        ]),
    )
    .unwrap();
    let out = chain(&steps).unwrap();
    assert_eq!(out[0].file_name, "1_a.sql");
    assert!(out[0].revision.down_revisions.is_empty());
    assert_eq!(out[1].revision.down_revisions, ["1"]);
    assert!(out[1].text.contains("-- down_revision: 1\n"));
}

#[test]
fn a_commit_in_a_transactional_step_is_refused_with_its_file() {
    let steps = read_steps(
        SourceKind::Sqlx,
        &files(&[("1_a.sql", "CREATE TABLE a ();\nCOMMIT;")]),
    )
    .unwrap();
    let err = chain(&steps).unwrap_err();
    assert_eq!(err.path, "1_a.sql");
    assert!(
        err.message
            .contains("COMMIT inside a transactional revision"),
        "{err}"
    );
}

#[test]
fn duplicate_versions_are_refused() {
    let err = read_steps(
        SourceKind::Sqlx,
        &files(&[("1_a.sql", ""), ("01_b.sql", "")]),
    )
    .unwrap_err();
    assert!(err.message.contains("also used by"), "{err}");
}
