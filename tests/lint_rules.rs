//! The lint on revision files, without a database: one revision per rule
//! family (index, column add, type change, constraint, drop, rename,
//! timeout), transactional and not, with and without the environment's
//! timeouts, with a table created earlier in the plan, with a
//! `lint_ignore` header, and SQL the linter cannot read.

use std::collections::BTreeMap;
use std::path::Path;

use retort::core::graph::RevisionMap;
use retort::core::lint::{
    Hazard, LintContext, LintOptions, SectionLint, SectionRef, Severity, TableSize, lint_each,
    lint_plan, plan_sections, with_sizes,
};
use retort::core::plan::{Direction, plan_upgrade};
use retort::core::revision::{Revision, parse_revision};

/// A revision file with `header` lines, the upgrade `up` and the downgrade `down`.
fn revision(id: &str, down_revision: &str, header: &str, up: &str, down: &str) -> Revision {
    let text = format!(
        "-- revision: {id}\n-- down_revision: {down_revision}\n{header}\n\
         -- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"
    );
    parse_revision(Path::new(&format!("{id}_x.sql")), &text).expect("valid revision")
}

fn no_context() -> LintContext {
    LintContext::default()
}

/// The environment sets both timeouts, as `[environments.x]` does.
fn env_timeouts() -> LintContext {
    LintContext {
        env_lock_timeout: Some("2s".into()),
        env_statement_timeout: Some("5min".into()),
        sizes: BTreeMap::new(),
    }
}

fn lint_one(rev: &Revision, direction: Direction, context: &LintContext) -> SectionLint {
    let sections = [SectionRef {
        revision: rev,
        direction,
    }];
    lint_each(&sections, context, &LintOptions::default())
        .pop()
        .expect("the section exists")
}

fn upgrade(rev: &Revision, context: &LintContext) -> SectionLint {
    lint_one(rev, Direction::Upgrade, context)
}

fn rules(lint: &SectionLint) -> Vec<&str> {
    lint.hazards.iter().map(|h| h.rule.as_str()).collect()
}

fn find<'a>(lint: &'a SectionLint, rule: &str) -> &'a Hazard {
    lint.hazards
        .iter()
        .find(|h| h.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:?}", rules(lint)))
}

const TX: &str = "-- transactional: true";
const NO_TX: &str = "-- transactional: false";

#[test]
fn index_family_depends_on_the_transactional_flag() {
    let plain = "CREATE INDEX invoices_total_idx ON invoices (total);";
    let concurrent = "CREATE INDEX CONCURRENTLY invoices_total_idx ON invoices (total);";
    for header in [TX, NO_TX] {
        let lint = upgrade(&revision("a1", "", header, plain, ""), &env_timeouts());
        let hazard = find(&lint, "require-concurrent-index-creation");
        assert_eq!(hazard.severity, Severity::Warning);
        assert_eq!(
            hazard.table.as_ref().map(|t| t.name.as_str()),
            Some("invoices")
        );
        assert!(
            hazard
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("CONCURRENTLY") || f.contains("concurrently")),
            "{hazard:?}"
        );
    }
    // CONCURRENTLY is right outside a transaction, and flagged inside one.
    let inside = upgrade(&revision("a2", "", TX, concurrent, ""), &env_timeouts());
    assert!(
        rules(&inside).contains(&"ban-concurrent-index-creation-in-transaction"),
        "{:?}",
        rules(&inside)
    );
    let outside = upgrade(&revision("a3", "", NO_TX, concurrent, ""), &env_timeouts());
    assert!(outside.hazards.is_empty(), "{:?}", rules(&outside));
}

/// Each family's rule fires with and without the environment's timeouts;
/// only the timeout rules depend on them.
#[test]
fn every_family_fires_with_and_without_environment_timeouts() {
    let families = [
        (
            "CREATE INDEX i ON invoices (total);",
            "require-concurrent-index-creation",
        ),
        (
            "ALTER TABLE users ADD COLUMN p bigint NOT NULL;",
            "adding-required-field",
        ),
        (
            "ALTER TABLE invoices ALTER COLUMN total TYPE bigint;",
            "changing-column-type",
        ),
        (
            "ALTER TABLE invoices ADD CONSTRAINT c CHECK (total > 0);",
            "constraint-missing-not-valid",
        ),
        ("ALTER TABLE users DROP COLUMN legacy;", "ban-drop-column"),
        ("ALTER TABLE users RENAME COLUMN a TO b;", "renaming-column"),
    ];
    for (up, rule) in families {
        for header in [TX, NO_TX] {
            let rev = revision("n1", "", header, up, "");
            let bare = upgrade(&rev, &no_context());
            assert!(rules(&bare).contains(&rule), "{up}: {:?}", rules(&bare));
            assert!(rules(&bare).contains(&"require-lock-timeout"), "{up}");
            let bounded = upgrade(&rev, &env_timeouts());
            assert!(
                rules(&bounded).contains(&rule),
                "{up}: {:?}",
                rules(&bounded)
            );
            assert!(!rules(&bounded).contains(&"require-lock-timeout"), "{up}");
            assert!(
                !rules(&bounded).contains(&"require-statement-timeout"),
                "{up}"
            );
        }
    }
}

#[test]
fn column_add_family() {
    let up = "ALTER TABLE users ADD COLUMN plan_id bigint NOT NULL;";
    for header in [TX, NO_TX] {
        let lint = upgrade(&revision("b1", "", header, up, ""), &env_timeouts());
        let hazard = find(&lint, "adding-required-field");
        assert_eq!(hazard.line, 5, "the file line of the statement");
        assert_eq!(hazard.column, 19, "where Squawk points: the added column");
        assert_eq!(hazard.section_lines, 1..2);
        assert!(hazard.help.is_some());
    }
}

#[test]
fn type_change_family() {
    let up = "ALTER TABLE invoices ALTER COLUMN total TYPE numeric(12, 2);";
    for header in [TX, NO_TX] {
        let lint = upgrade(&revision("c1", "", header, up, ""), &env_timeouts());
        let hazard = find(&lint, "changing-column-type");
        assert_eq!(
            hazard.table.as_ref().map(|t| t.written.as_str()),
            Some("invoices")
        );
        assert!(!hazard.data_loss);
    }
}

#[test]
fn constraint_family() {
    let up = "ALTER TABLE invoices ADD CONSTRAINT positive CHECK (total > 0);";
    let lint = upgrade(&revision("d1", "", TX, up, ""), &env_timeouts());
    let hazard = find(&lint, "constraint-missing-not-valid");
    assert!(hazard.fix.is_some() || hazard.help.is_some());
    // The online pattern: NOT VALID, then VALIDATE in a later transaction.
    let online = "ALTER TABLE invoices ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;";
    let lint = upgrade(&revision("d2", "", NO_TX, online, ""), &env_timeouts());
    assert!(
        !rules(&lint).contains(&"constraint-missing-not-valid"),
        "{:?}",
        rules(&lint)
    );
}

#[test]
fn drop_family_loses_data_in_either_direction() {
    let rev = revision(
        "e1",
        "",
        NO_TX,
        "ALTER TABLE users DROP COLUMN legacy;",
        "DROP TABLE users;",
    );
    let up = upgrade(&rev, &env_timeouts());
    let column = find(&up, "ban-drop-column");
    assert!(column.data_loss);
    assert_eq!(column.severity, Severity::Error);
    let down = lint_one(&rev, Direction::Downgrade, &env_timeouts());
    let table = find(&down, "ban-drop-table");
    assert!(table.data_loss);
    assert_eq!(table.severity, Severity::Error);
    assert_eq!(table.line, 8, "downgrade lines are file lines");
}

#[test]
fn rename_family() {
    let up =
        "ALTER TABLE users RENAME COLUMN name TO full_name;\nALTER TABLE plans RENAME TO tiers;";
    for header in [TX, NO_TX] {
        let lint = upgrade(&revision("f1", "", header, up, ""), &env_timeouts());
        assert!(
            rules(&lint).contains(&"renaming-column"),
            "{:?}",
            rules(&lint)
        );
        assert!(
            rules(&lint).contains(&"renaming-table"),
            "{:?}",
            rules(&lint)
        );
        assert_eq!(find(&lint, "renaming-table").line, 6);
    }
}

#[test]
fn timeout_family_is_satisfied_by_the_environment_the_header_or_a_set() {
    let up = "ALTER TABLE users ADD COLUMN nickname text;";
    let bare = revision("g1", "", TX, up, "");
    let flagged = upgrade(&bare, &no_context());
    assert!(rules(&flagged).contains(&"require-lock-timeout"));
    assert!(rules(&flagged).contains(&"require-statement-timeout"));
    let lock = find(&flagged, "require-lock-timeout");
    assert!(
        lock.fix
            .as_deref()
            .is_some_and(|f| f.contains("lock_timeout"))
    );

    // The environment's timeouts.
    assert!(upgrade(&bare, &env_timeouts()).hazards.is_empty());
    // Only lock_timeout from the environment: statement_timeout still flagged.
    let lock_only = LintContext {
        env_lock_timeout: Some("2s".into()),
        ..LintContext::default()
    };
    assert_eq!(
        rules(&upgrade(&bare, &lock_only)),
        ["require-statement-timeout"]
    );
    // "0" is PostgreSQL's "no limit": it satisfies nothing.
    let zero = LintContext {
        env_lock_timeout: Some("0".into()),
        env_statement_timeout: Some("0".into()),
        ..LintContext::default()
    };
    assert_eq!(upgrade(&bare, &zero).hazards.len(), 2);

    // The revision's own header, in a transactional and a non-transactional revision.
    for tx in [TX, NO_TX] {
        let header = format!("{tx}\n-- lock_timeout: 2s\n-- statement_timeout: 1min");
        let own = revision("g2", "", &header, up, "");
        assert!(upgrade(&own, &no_context()).hazards.is_empty());
    }
    // A SET in the SQL itself.
    let set = "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\n".to_string() + up;
    let in_sql = revision("g3", "", TX, &set, "");
    assert!(upgrade(&in_sql, &no_context()).hazards.is_empty());
}

#[test]
fn a_table_created_earlier_in_the_plan_is_marked_not_hidden() {
    let create = revision(
        "h1",
        "",
        TX,
        "CREATE TABLE events (id bigint, kind text);",
        "",
    );
    let index = revision(
        "h2",
        "h1",
        NO_TX,
        "CREATE INDEX events_kind_idx ON events (kind);\n\
         CREATE INDEX users_kind_idx ON users (kind);",
        "",
    );
    let map = RevisionMap::build(vec![create, index]).unwrap();
    let plan = plan_upgrade(&map, &[], "heads").unwrap();
    let lints = lint_plan(
        &plan_sections(&map, &plan),
        &env_timeouts(),
        &LintOptions::default(),
    );
    let second = lints[1].as_ref().expect("a migrate step");
    let on_new: Vec<&Hazard> = second
        .hazards
        .iter()
        .filter(|h| h.table.as_ref().is_some_and(|t| t.name == "events"))
        .collect();
    assert!(!on_new.is_empty(), "kept, not hidden: {:?}", rules(second));
    assert!(
        on_new
            .iter()
            .all(|h| h.new_table && h.severity == Severity::Info)
    );
    let on_old = find(second, "require-concurrent-index-creation");
    let on_old = if on_old.new_table {
        second
            .hazards
            .iter()
            .find(|h| h.table.as_ref().is_some_and(|t| t.name == "users"))
            .expect("the users index is flagged")
    } else {
        on_old
    };
    assert!(!on_old.new_table);
    assert_eq!(on_old.severity, Severity::Warning);
    assert_eq!(second.failing(Severity::Warning), 1);

    // The same revision alone (not after h1 in a plan): events is not new.
    let alone = upgrade(map.get("h2").unwrap(), &env_timeouts());
    assert!(alone.hazards.iter().all(|h| !h.new_table));
}

#[test]
fn a_table_created_earlier_in_the_same_section_is_new() {
    let up = "CREATE TABLE events (id bigint);\nALTER TABLE events ADD COLUMN kind text NOT NULL;";
    let lint = upgrade(&revision("h3", "", NO_TX, up, ""), &no_context());
    let required = find(&lint, "adding-required-field");
    assert!(required.new_table);
    assert_eq!(required.severity, Severity::Info);
    assert_eq!(lint.failing(Severity::Info), lint.hazards.len());
    assert_eq!(lint.failing(Severity::Warning), 0);
}

#[test]
fn lint_ignore_marks_hazards_ignored_and_they_never_fail() {
    let header = "-- transactional: true\n-- lint_ignore: changing-column-type, prefer-timestamptz";
    let rev = revision(
        "i1",
        "",
        header,
        "ALTER TABLE invoices ALTER COLUMN total TYPE numeric;",
        "",
    );
    assert_eq!(
        rev.lint_ignore,
        ["changing-column-type", "prefer-timestamp-tz"],
        "canonical spellings"
    );
    let lint = upgrade(&rev, &env_timeouts());
    let hazard = find(&lint, "changing-column-type");
    assert!(hazard.ignored);
    assert!(!hazard.fails(Severity::Info));
    assert_eq!(lint.failing(Severity::Info), 0);
}

#[test]
fn an_unknown_rule_in_lint_ignore_names_the_file_and_line() {
    let text = "-- revision: j1\n-- lint_ignore: changing-column-type, no-such-rule\n\
                -- migrate:upgrade\nSELECT 1;\n";
    let error = parse_revision(Path::new("migrations/j1_x.sql"), text).unwrap_err();
    assert_eq!(error.line, 2);
    assert_eq!(
        error.to_string(),
        "migrations/j1_x.sql:2: lint_ignore: unknown lint rule 'no-such-rule'"
    );
}

#[test]
fn live_sizes_are_shown_and_make_size_bound_hazards_errors() {
    let rev = revision(
        "k1",
        "",
        TX,
        "ALTER TABLE invoices ALTER COLUMN total TYPE bigint;\nALTER TABLE users RENAME TO members;",
        "",
    );
    let mut lint = upgrade(&rev, &env_timeouts());
    let sizes = BTreeMap::from([
        (
            "invoices".to_string(),
            TableSize {
                rows: Some(12_000_000),
                bytes: 4_400_000_000,
            },
        ),
        (
            "users".to_string(),
            TableSize {
                rows: Some(12_000_000),
                bytes: 4_400_000_000,
            },
        ),
    ]);
    with_sizes(std::iter::once(&mut lint), &sizes, &LintOptions::default());
    let retype = find(&lint, "changing-column-type");
    assert_eq!(retype.severity, Severity::Error);
    assert_eq!(
        retype.size.map(|s| s.describe()).as_deref(),
        Some("12.0 M rows, 4.1 GB")
    );
    // A rename does not grow with the table: still a warning.
    assert_eq!(find(&lint, "renaming-table").severity, Severity::Warning);

    let small = BTreeMap::from([(
        "invoices".to_string(),
        TableSize {
            rows: Some(10),
            bytes: 16_384,
        },
    )]);
    with_sizes(std::iter::once(&mut lint), &small, &LintOptions::default());
    assert_eq!(
        find(&lint, "changing-column-type").severity,
        Severity::Warning
    );
}

#[test]
fn sql_the_linter_cannot_read_is_reported_not_linted() {
    let rev = revision("l1", "", TX, "SELECT 1;\nALTER TABLE ;", "");
    let lint = upgrade(&rev, &no_context());
    let problem = lint.not_linted.as_ref().expect("a parse problem");
    assert_eq!(problem.line, 6);
    assert!(lint.hazards.is_empty());
    assert_eq!(lint.failing(Severity::Info), 0, "never blocks by itself");
}

#[test]
fn style_rules_are_off_unless_enabled() {
    let up = "CREATE TABLE t (id int, name varchar(10), at timestamp);";
    let rev = revision("m1", "", TX, up, "");
    assert!(upgrade(&rev, &env_timeouts()).hazards.is_empty());
    let options = LintOptions {
        enable: vec!["prefer-text-field".into(), "prefer-bigint-over-int".into()],
        ..LintOptions::default()
    };
    let sections = [SectionRef {
        revision: &rev,
        direction: Direction::Upgrade,
    }];
    let lint = lint_each(&sections, &env_timeouts(), &options)
        .pop()
        .unwrap();
    assert!(
        rules(&lint).contains(&"prefer-text-field"),
        "{:?}",
        rules(&lint)
    );
    assert!(rules(&lint).contains(&"prefer-bigint-over-int"));
}

#[test]
fn the_example_config_sets_every_lint_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let text = std::fs::read_to_string(&path).expect("config.example.toml");
    let config = retort::config::parse_config(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.lint.enable, ["prefer-robust-stmts"]);
    assert_eq!(config.lint.fail_on, Severity::Warning);
    assert_eq!(config.lint.large_table_rows, 100_000);
    assert_eq!(config.lint.large_table_bytes, 100 * 1024 * 1024);
}

#[test]
fn bad_lint_config_names_the_line_and_key() {
    let error = |text: &str| {
        retort::config::parse_config(Path::new("retort.toml"), text)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error("[lint]\nfail_on = \"fatal\"\n"),
        "retort.toml:2: lint.fail_on: unknown severity 'fatal' (expected info, warning or error)"
    );
    assert!(
        error("[lint]\nlarge_table_rows = -1\n")
            .starts_with("retort.toml:2: lint.large_table_rows:")
    );
    assert!(error("[lint]\nfail = 1\n").starts_with("retort.toml:2: lint.fail:"));
    assert!(
        error("[lint]\ndisable = \"ban-drop-column\"\n").contains("expected a list of rule names")
    );
}
