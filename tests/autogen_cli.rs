//! The desired schema and autogenerate through the real binary: `diff
//! --sql` from the revision files to `[schema]`, bad schema files and
//! commands, `revision --autogenerate` proving and writing its file, and
//! `check` failing when the two disagree.

mod common;
mod support;

use std::path::Path;

use common::TestDb;
use support::{command, expect_code, stderr, stdout, write_revision};

/// A project: retort.toml with `[schema]` as given, `migrations/` with
/// one revision making `users (id)`, `schema/` with the files given.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(schema_section: &str, files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        let migrations = dir.path().join("migrations");
        std::fs::create_dir_all(&migrations).expect("migrations dir");
        write_revision(
            &migrations,
            "a1",
            &[],
            "",
            "CREATE TABLE users (id int PRIMARY KEY);",
            Some("DROP TABLE users;"),
        );
        std::fs::write(dir.path().join("retort.toml"), schema_section).expect("retort.toml");
        for (path, text) in files {
            let full = dir.path().join("schema").join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("schema dir");
            std::fs::write(full, text).expect("schema file");
        }
        Project { dir }
    }

    fn migrations(&self) -> std::path::PathBuf {
        self.dir.path().join("migrations")
    }

    fn revision_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.migrations())
            .expect("read migrations")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn run(&self, db: &TestDb, args: &[&str]) -> std::process::Output {
        let mut cmd = command(db, &self.migrations(), args);
        cmd.current_dir(self.dir.path());
        support::finish(cmd.spawn().expect("retort starts"))
    }
}

const DIR: &str = "[schema]\ndir = \"schema\"\n";

fn users_with_age() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "10_types/mood.sql",
            "CREATE TYPE mood AS ENUM ('sad', 'happy');",
        ),
        (
            "20_tables/users.sql",
            "CREATE TABLE users (id int PRIMARY KEY, age int, m mood);\n\
             CREATE INDEX users_age_idx ON users (age);",
        ),
    ]
}

/// The scratch databases a run announced that still exist.
async fn scratch_databases_left(db: &TestDb, stderr: &str) -> Vec<String> {
    let client = db.client().await;
    let mut left = Vec::new();
    for part in stderr.split("scratch database ").skip(1) {
        let name = part.split_whitespace().next().unwrap_or_default();
        assert!(name.starts_with("retort_scratch_"), "{name}");
        if support::database_exists(&client, name).await {
            left.push(name.to_string());
        }
    }
    left
}

#[tokio::test]
async fn diff_sql_from_migrations_to_the_schema_dir() {
    let db = TestDb::create().await;
    let project = Project::new(DIR, &users_with_age());
    let out = project.run(
        &db,
        &["diff", "--from", "migrations", "--to", "schema", "--sql"],
    );
    expect_code(&out, 1);
    assert_eq!(
        stdout(&out),
        "CREATE TYPE mood AS ENUM ('sad', 'happy');\n\
         ALTER TABLE users ADD COLUMN age integer;\n\
         ALTER TABLE users ADD COLUMN m mood;\n\
         CREATE INDEX users_age_idx ON public.users USING btree (age);\n"
    );
    let back = project.run(
        &db,
        &["diff", "--from", "schema", "--to", "migrations", "--sql"],
    );
    expect_code(&back, 1);
    assert!(
        stdout(&back).contains("-- destructive: drops column users.age and its values\n"),
        "{}",
        stdout(&back)
    );
    assert!(stderr(&back).contains("WARN  destructive: drops column users.age"));
    for out in [&out, &back] {
        assert_eq!(
            scratch_databases_left(&db, &stderr(out)).await,
            Vec::<String>::new()
        );
    }
}

#[tokio::test]
async fn a_schema_file_error_names_file_line_and_column() {
    let db = TestDb::create().await;
    let project = Project::new(
        DIR,
        &[(
            "a.sql",
            "CREATE TABLE ok (id int);\n\nCREATE TABLE bad (id intt);\n",
        )],
    );
    let out = project.run(&db, &["diff", "--from", "migrations", "--to", "schema"]);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("schema/a.sql:3:22: "), "{err}");
    assert!(err.contains("type \"intt\" does not exist"), "{err}");
    assert_eq!(
        scratch_databases_left(&db, &err).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_failing_schema_command_shows_its_exit_code_and_stderr() {
    let db = TestDb::create().await;
    let project = Project::new(
        "[schema]\ncommand = \"echo broken models >&2; exit 4\"\n",
        &[],
    );
    let out = project.run(&db, &["diff", "--from", "migrations", "--to", "schema"]);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("exited with 4"), "{err}");
    assert!(err.contains("broken models"), "{err}");
}

#[tokio::test]
async fn a_schema_command_builds_in_the_database_it_is_given() {
    let db = TestDb::create().await;
    let project = Project::new(
        "[schema]\ncommand = \"psql -q -v ON_ERROR_STOP=1 \\\"$DATABASE_URL\\\" -c 'CREATE TABLE users (id int PRIMARY KEY, name text)'\"\n",
        &[],
    );
    let out = project.run(
        &db,
        &["diff", "--from", "migrations", "--to", "schema", "--sql"],
    );
    expect_code(&out, 1);
    assert_eq!(stdout(&out), "ALTER TABLE users ADD COLUMN name text;\n");
}

#[tokio::test]
async fn no_schema_section_is_a_clear_error() {
    let db = TestDb::create().await;
    let project = Project::new("", &[]);
    let out = project.run(&db, &["diff", "--from", "migrations", "--to", "schema"]);
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("no desired schema: add `[schema]`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn autogenerate_writes_a_proven_revision_that_closes_the_gap() {
    let db = TestDb::create().await;
    let project = Project::new(DIR, &users_with_age());
    let out = project.run(&db, &["revision", "--autogenerate", "-m", "add age"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    for line in [
        "INFO  Detected added enum 'mood'",
        "INFO  Detected added column 'users.age'",
        "INFO  Detected added index 'users_age_idx'",
        "INFO  proof: 2 sample rows inserted before the upgrade",
        "INFO  proof: the upgrade gives exactly the desired schema",
        "INFO  proof: the downgrade gives exactly the schema it started from",
    ] {
        assert!(err.contains(line), "no {line:?} in:\n{err}");
    }
    for out in [&out] {
        assert_eq!(
            scratch_databases_left(&db, &stderr(out)).await,
            Vec::<String>::new()
        );
    }
    let files = project.revision_files();
    assert_eq!(files.len(), 2, "{files:?}");
    let written = files
        .iter()
        .find(|f| f.ends_with("_add_age.sql"))
        .expect("new file");
    let text = std::fs::read_to_string(project.migrations().join(written)).expect("read");
    assert!(text.contains("-- down_revision: a1"), "{text}");
    assert!(
        text.contains("ALTER TABLE users ADD COLUMN age integer;"),
        "{text}"
    );
    assert!(
        text.contains("-- destructive: drops column users.age and its values"),
        "{text}"
    );
    // The revision files now make the desired schema.
    let again = project.run(&db, &["diff", "--from", "migrations", "--to", "schema"]);
    expect_code(&again, 0);
    let none = project.run(&db, &["revision", "--autogenerate", "-m", "nothing"]);
    expect_code(&none, 0);
    assert!(
        stderr(&none).contains("INFO  No changes in schema detected."),
        "{}",
        stderr(&none)
    );
    assert_eq!(project.revision_files().len(), 2);
}

#[tokio::test]
async fn a_not_null_column_without_default_fails_the_proof_with_rows_and_nothing_is_written() {
    let db = TestDb::create().await;
    let project = Project::new(
        DIR,
        &[(
            "users.sql",
            "CREATE TABLE users (id int PRIMARY KEY, age int NOT NULL);",
        )],
    );
    let out = project.run(&db, &["revision", "--autogenerate", "-m", "age"]);
    expect_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("WARN  proof: the upgrade failed: "), "{err}");
    assert!(err.contains("contains null values"), "{err}");
    assert!(err.contains("FAILED: nothing written"), "{err}");
    assert_eq!(project.revision_files().len(), 1);
    let forced = project.run(&db, &["revision", "--autogenerate", "-m", "age", "--force"]);
    expect_code(&forced, 0);
    assert!(stderr(&forced).contains("WARN  --force: writing the revision anyway"));
    assert_eq!(project.revision_files().len(), 2);
}

#[tokio::test]
async fn check_fails_when_the_desired_schema_differs_from_the_migrations() {
    let db = TestDb::create().await;
    let project = Project::new(DIR, &users_with_age());
    expect_code(&project.run(&db, &["upgrade", "heads"]), 0);
    let out = project.run(&db, &["check"]);
    expect_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("New upgrade operations detected"), "{text}");
    assert!(text.contains("  column users.age: extra\n"), "{text}");
    assert_eq!(
        scratch_databases_left(&db, &stderr(&out)).await,
        Vec::<String>::new()
    );
    // In JSON the changes are a field of check's one document.
    let out = project.run(&db, &["--format", "json", "check"]);
    expect_code(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    let changes = json["new_upgrade_operations"].to_string();
    assert!(changes.contains("column users.age: extra"), "{json}");
    // Once a revision closes the gap and is applied, check passes.
    expect_code(
        &project.run(&db, &["revision", "--autogenerate", "-m", "age"]),
        0,
    );
    expect_code(&project.run(&db, &["upgrade", "heads"]), 0);
    let clean = project.run(&db, &["check"]);
    expect_code(&clean, 0);
    assert!(
        !stdout(&clean).contains("New upgrade operations"),
        "{}",
        stdout(&clean)
    );
}

#[test]
fn schema_section_takes_exactly_one_of_dir_and_command() {
    use retort::config::{DesiredSchema, parse_config};
    let path = Path::new("/project/retort.toml");
    let dir = parse_config(path, "[schema]\ndir = \"db/schema\"\n").expect("dir");
    assert_eq!(
        dir.schema,
        Some(DesiredSchema::Dir(Path::new("/project").join("db/schema")))
    );
    let command = parse_config(path, "[schema]\ncommand = \"make schema\"\n").expect("command");
    assert_eq!(
        command.schema,
        Some(DesiredSchema::Command("make schema".into()))
    );
    for (text, expected) in [
        (
            "[schema]\ndir = \"a\"\ncommand = \"b\"\n",
            "give either `dir` or `command`, not both",
        ),
        ("[schema]\n", "needs `dir = \"...\"` or `command = \"...\"`"),
        ("[schema]\ndirectory = \"a\"\n", "directory"),
        ("[schema]\ndir = \"\"\n", "must not be empty"),
    ] {
        let error = parse_config(path, text).expect_err(text).to_string();
        assert!(error.contains(expected), "{text}: {error}");
        assert!(error.contains("retort.toml"), "{error}");
    }
}

#[tokio::test]
async fn a_plausible_rename_is_refused_unless_renamed_or_allow_drop() {
    let db = TestDb::create().await;
    let project = Project::new(
        DIR,
        &[("users.sql", "CREATE TABLE members (id int PRIMARY KEY);")],
    );
    let out = project.run(&db, &["revision", "--autogenerate", "-m", "rename"]);
    expect_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("WARN  possible rename users → members (--rename users=members)"),
        "{err}"
    );
    assert!(
        err.contains("FAILED: nothing written: say for each possible rename"),
        "{err}"
    );
    // SQL that will be refused is not proven first.
    assert!(!err.contains("proof:"), "{err}");
    assert_eq!(project.revision_files().len(), 1);

    // A name that is not dropped is a usage error naming the spec.
    let wrong = project.run(
        &db,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "rename",
            "--rename",
            "usr=members",
        ],
    );
    expect_code(&wrong, 2);
    assert!(
        stderr(&wrong).contains("--rename usr=members:"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(project.revision_files().len(), 1);

    let renamed = project.run(
        &db,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "rename",
            "--rename",
            "users=members",
        ],
    );
    expect_code(&renamed, 0);
    assert!(
        stderr(&renamed).contains("INFO  Renaming users → members"),
        "{}",
        stderr(&renamed)
    );
    let files = project.revision_files();
    assert_eq!(files.len(), 2);
    let written = files
        .iter()
        .find(|f| f.contains("_rename"))
        .expect("new file");
    let text = std::fs::read_to_string(project.migrations().join(written)).expect("read");
    assert!(
        text.contains("ALTER TABLE users RENAME TO members;"),
        "{text}"
    );
    assert!(
        text.contains("ALTER TABLE members RENAME TO users;"),
        "{text}"
    );
    assert!(!text.contains("DROP TABLE"), "{text}");

    let allowed = project.run(
        &db,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "drop",
            "--allow-drop",
            "--head",
            "a1",
            "--splice",
        ],
    );
    expect_code(&allowed, 0);
    assert!(
        stderr(&allowed).contains("written as drop plus add (--allow-drop)"),
        "{}",
        stderr(&allowed)
    );
    assert_eq!(project.revision_files().len(), 3);
}

/// A postgres:// URL of a test database, as `diff` takes one.
fn url_of(db: &TestDb) -> String {
    let server = common::database_url()
        .rsplit_once('/')
        .map(|(server, _)| server.to_string())
        .expect("URL with a database");
    format!("{server}/{}", db.name)
}

/// `diff --sql` between two live databases: a table and its columns
/// renamed, a foreign key onto it kept, the rows kept; ambiguous pairings
/// are never taken on their own.
#[tokio::test]
async fn diff_sql_writes_renames_only_when_told_and_keeps_the_rows() {
    let from = TestDb::create().await;
    let to = TestDb::create().await;
    let copy = TestDb::create().await;
    let before = "CREATE TABLE packages (id serial PRIMARY KEY, name text NOT NULL, owner_id int);
         CREATE TABLE versions (id serial PRIMARY KEY,
           package_id int NOT NULL REFERENCES packages(id), num text);
         CREATE INDEX versions_package_idx ON versions (package_id);";
    for db in [&from, &copy] {
        db.client()
            .await
            .batch_execute(before)
            .await
            .expect("before");
    }
    copy.client()
        .await
        .batch_execute(
            "INSERT INTO packages (name, owner_id) VALUES ('serde', 7);
             INSERT INTO versions (package_id, num) VALUES (1, '1.0');",
        )
        .await
        .expect("rows");
    // What `ALTER TABLE ... RENAME` makes of it.
    to.client()
        .await
        .batch_execute(&format!(
            "{before}
             ALTER TABLE packages RENAME TO crates;
             ALTER TABLE crates RENAME COLUMN owner_id TO user_id;
             ALTER TABLE versions RENAME COLUMN package_id TO crate_id;"
        ))
        .await
        .expect("after");
    let dir = tempfile::tempdir().expect("dir");
    let (from_url, to_url, copy_url) = (url_of(&from), url_of(&to), url_of(&copy));
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "--from", &from_url, "--to", &to_url, "--sql"];
        args.extend_from_slice(extra);
        let mut cmd = command(&from, dir.path(), &args);
        support::finish(cmd.spawn().expect("retort starts"))
    };
    let refused = diff(&[]);
    expect_code(&refused, 2);
    let err = stderr(&refused);
    assert!(
        err.contains("packages → crates (--rename packages=crates)"),
        "{err}"
    );
    assert!(
        err.contains("versions.package_id → versions.crate_id"),
        "{err}"
    );
    assert!(stdout(&refused).is_empty());

    let out = diff(&["--accept-renames"]);
    expect_code(&out, 1);
    let sql = stdout(&out);
    assert_eq!(
        sql,
        "ALTER TABLE packages RENAME TO crates;\n\
         ALTER TABLE crates RENAME COLUMN owner_id TO user_id;\n\
         ALTER TABLE versions RENAME COLUMN package_id TO crate_id;\n"
    );
    copy.client()
        .await
        .batch_execute(&sql)
        .await
        .expect("apply");
    let row = copy
        .client()
        .await
        .query_one(
            "SELECT c.name, c.user_id, v.num FROM crates c JOIN versions v ON v.crate_id = c.id",
            &[],
        )
        .await
        .expect("rows kept");
    assert_eq!(row.get::<_, String>(0), "serde");
    assert_eq!(row.get::<_, i32>(1), 7);
    let mut same = command(
        &from,
        dir.path(),
        &["diff", "--from", &copy_url, "--to", &to_url],
    );
    expect_code(&support::finish(same.spawn().expect("retort starts")), 0);

    // Spelled out, the same SQL.
    let named = diff(&[
        "--rename",
        "packages=crates",
        "--rename",
        "crates.owner_id=user_id",
        "--rename",
        "versions.package_id=crate_id",
    ]);
    expect_code(&named, 1);
    assert_eq!(stdout(&named), sql);
}

#[tokio::test]
async fn autogenerate_lints_what_it_writes_without_refusing_it() {
    let db = TestDb::create().await;
    let project = Project::new(DIR, &users_with_age());
    let out = project.run(&db, &["revision", "--autogenerate", "-m", "add age"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    let lint = err
        .split("Lint of the new revision")
        .nth(1)
        .unwrap_or_else(|| panic!("no lint of the new revision in:\n{err}"));
    // The plain CREATE INDEX of the upgrade, the DROP COLUMN of the downgrade.
    assert!(
        lint.contains(" require-concurrent-index-creation "),
        "{lint}"
    );
    assert!(lint.contains(" ban-drop-column "), "{lint}");
    assert!(lint.contains("_add_age.sql:"), "{lint}");
    assert!(lint.contains("hazard(s) in 2 section(s)"), "{lint}");
    assert_eq!(project.revision_files().len(), 2);
}

#[tokio::test]
async fn no_changes_says_so_and_writes_nothing() {
    let db = TestDb::create().await;
    let project = Project::new(
        DIR,
        &[("users.sql", "CREATE TABLE users (id int PRIMARY KEY);")],
    );
    let out = project.run(&db, &["revision", "--autogenerate", "-m", "nothing"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("INFO  No changes in schema detected."),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert_eq!(project.revision_files().len(), 1);
    assert_eq!(
        scratch_databases_left(&db, &err).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_desired_schema_needing_a_missing_extension_is_named_where_it_asks() {
    let db = TestDb::create().await;
    let project = Project::new(
        DIR,
        &[(
            "00_ext.sql",
            "CREATE TABLE users (id int PRIMARY KEY);\nCREATE EXTENSION IF NOT EXISTS no_such_extension_here;\n",
        )],
    );
    let out = project.run(&db, &["revision", "--autogenerate", "-m", "ext"]);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("schema/00_ext.sql:2:1: "), "{err}");
    assert!(
        err.contains("extension \"no_such_extension_here\" is not available"),
        "{err}"
    );
    assert_eq!(project.revision_files().len(), 1);
    assert_eq!(
        scratch_databases_left(&db, &err).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_unreachable_scratch_server_is_a_connection_error() {
    let project = Project::new(DIR, &users_with_age());
    let mut cmd = support::command_at(
        "postgres://postgres@127.0.0.1:9/postgres",
        &project.migrations(),
        &["revision", "--autogenerate", "-m", "down"],
    );
    cmd.current_dir(project.dir.path());
    let out = support::finish(cmd.spawn().expect("retort starts"));
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("cannot connect to postgres@127.0.0.1:9"),
        "{}",
        stderr(&out)
    );
    assert_eq!(project.revision_files().len(), 1);
}
