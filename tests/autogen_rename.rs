//! Renames written by the DDL generator, checked on a real server both
//! ways with rows in the tables: the result must equal the target's
//! snapshot exactly, the rows must survive, and what stands around a
//! renamed table or column (foreign keys, indexes, sequences) must be left
//! alone or renamed, never dropped and made again.

mod common;

use common::TestDb;
use retort::core::schema::rename::{choose, reversed};
use retort::core::schema::{
    DdlOptions, Rename, Script, Snapshot, change_lines, diff, generate_renamed,
};

async fn snapshot(db: &TestDb) -> Snapshot {
    db.snapshot().await
}

async fn made(sql: &str) -> (TestDb, Snapshot) {
    TestDb::made(sql).await
}

/// Runs `script` in one transaction and gives what still differs from
/// `expected`.
async fn apply(db: &TestDb, script: &Script, expected: &Snapshot) -> Vec<String> {
    let sql = format!("BEGIN;\n{}COMMIT;", script.sql());
    if let Err(e) = db.client().await.batch_execute(&sql).await {
        return vec![format!("failed: {e:?}\n{sql}")];
    }
    change_lines(&diff(&snapshot(db).await, expected))
}

/// The schema `before` (with `rows` in it) turned into `after` with the
/// renames `specs` name, and back; `query` must give the same answer
/// after the upgrade (`query_after`) as before it. Gives the upgrade and
/// downgrade SQL for further checks.
async fn renamed_round_trip(
    before: &str,
    after: &str,
    specs: &[&str],
    rows: &str,
    (query_before, query_after): (&str, &str),
) -> (String, String) {
    let (db, from) = made(before).await;
    let (_target, to) = made(after).await;
    let client = db.client().await;
    client.batch_execute(rows).await.expect("rows");
    let seen = client
        .simple_query(query_before)
        .await
        .map(|m| format!("{m:?}"))
        .expect("query before");
    let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    let chosen = choose(&from, &to, &specs, false).expect("renames");
    assert!(
        chosen.undecided.is_empty(),
        "left undecided: {:?}",
        chosen.undecided
    );
    let options = DdlOptions::default();
    let up = generate_renamed(&from, &to, &chosen.renames, options).expect("upgrade");
    let down = generate_renamed(&to, &from, &reversed(&chosen.renames), options).expect("down");
    let left = apply(&db, &up, &to).await;
    assert!(
        left.is_empty(),
        "upgrade differs:\n{}\n{}",
        left.join("\n"),
        up.sql()
    );
    let kept = client
        .simple_query(query_after)
        .await
        .map(|m| format!("{m:?}"))
        .expect("query after");
    assert_eq!(
        strip_columns(&seen),
        strip_columns(&kept),
        "rows changed by\n{}",
        up.sql()
    );
    let left = apply(&db, &down, &from).await;
    assert!(
        left.is_empty(),
        "downgrade differs:\n{}\n{}",
        left.join("\n"),
        down.sql()
    );
    (up.sql(), down.sql())
}

/// Query results without their column descriptions (renamed columns keep
/// their values under another name).
fn strip_columns(debug: &str) -> String {
    debug
        .split("RowDescription")
        .next()
        .unwrap_or(debug)
        .to_string()
}

fn no_drops(sql: &str) {
    for word in [
        "DROP TABLE",
        "DROP COLUMN",
        "DROP INDEX",
        "DROP CONSTRAINT",
        "DROP SEQUENCE",
    ] {
        assert!(!sql.contains(word), "{word} in\n{sql}");
    }
}

#[tokio::test]
async fn a_renamed_table_keeps_its_rows_keys_indexes_and_sequence() {
    let before = "
        CREATE TABLE packages (id serial PRIMARY KEY, name text NOT NULL UNIQUE,
          downloads int NOT NULL DEFAULT 0 CHECK (downloads >= 0));
        CREATE INDEX packages_lower_name_idx ON packages (lower(name));
        CREATE TABLE versions (id serial PRIMARY KEY,
          package_id int NOT NULL REFERENCES packages(id) ON DELETE CASCADE, num text);
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER packages_touch BEFORE UPDATE ON packages FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE packages ENABLE ROW LEVEL SECURITY;
        CREATE POLICY visible ON packages USING (downloads >= 0);
        CREATE VIEW popular AS SELECT name FROM packages WHERE downloads > 10;
        COMMENT ON TABLE packages IS 'what is published';";
    // What the server makes of `ALTER TABLE packages RENAME TO crates`.
    let after = format!("{before}\nALTER TABLE packages RENAME TO crates;");
    let rows = "INSERT INTO packages (name, downloads) VALUES ('serde', 50), ('rand', 5);
                INSERT INTO versions (package_id, num) VALUES (1, '1.0'), (2, '0.8');";
    let (up, down) = renamed_round_trip(
        before,
        &after,
        &["packages=crates"],
        rows,
        (
            "SELECT p.id, p.name, v.num FROM packages p JOIN versions v ON v.package_id = p.id ORDER BY 1",
            "SELECT p.id, p.name, v.num FROM crates p JOIN versions v ON v.package_id = p.id ORDER BY 1",
        ),
    )
    .await;
    assert_eq!(up, "ALTER TABLE packages RENAME TO crates;\n");
    assert_eq!(down, "ALTER TABLE crates RENAME TO packages;\n");
}

#[tokio::test]
async fn a_renamed_column_is_followed_by_everything_that_names_it() {
    let before = "
        CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE,
          login text GENERATED ALWAYS AS (lower(email)) STORED,
          CONSTRAINT users_email_check CHECK (email LIKE '%@%'));
        CREATE UNIQUE INDEX users_email_idx ON users (email) WHERE email <> 'email';
        CREATE TABLE invites (id serial PRIMARY KEY,
          sent_to text REFERENCES users(email) ON UPDATE CASCADE);
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER users_touch BEFORE UPDATE OF email ON users FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE users ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON users USING (email = current_user);
        CREATE VIEW addresses AS SELECT id, email FROM users;
        CREATE SEQUENCE users_email_seq OWNED BY users.email;";
    let after = format!("{before}\nALTER TABLE users RENAME COLUMN email TO address;");
    let rows = "INSERT INTO users (email) VALUES ('a@x.org'), ('b@x.org');
                INSERT INTO invites (sent_to) VALUES ('b@x.org');";
    let (up, down) = renamed_round_trip(
        before,
        &after,
        &["users.email=address"],
        rows,
        (
            "SELECT id, email, login FROM users ORDER BY 1",
            "SELECT id, address, login FROM users ORDER BY 1",
        ),
    )
    .await;
    // The view is deparsed as `users.address AS email` after the rename:
    // the only thing made again.
    let rest = |sql: &str, first: &str| {
        sql.strip_prefix(first)
            .unwrap_or_else(|| panic!("{first} first in\n{sql}"))
            .to_string()
    };
    let up_rest = rest(&up, "ALTER TABLE users RENAME COLUMN email TO address;\n");
    let down_rest = rest(&down, "ALTER TABLE users RENAME COLUMN address TO email;\n");
    for sql in [&up_rest, &down_rest] {
        no_drops(sql);
        assert!(
            !sql.contains("ALTER TABLE") && !sql.contains("INDEX"),
            "{sql}"
        );
    }
}

/// A desired schema written from scratch names a renamed table's key,
/// index and serial sequence after the new name: they are renamed with
/// it, so the index is not rebuilt and the sequence keeps its position.
#[tokio::test]
async fn names_derived_from_a_renamed_table_are_renamed_with_it() {
    let before = "
        CREATE TABLE packages (id serial PRIMARY KEY, name text NOT NULL);
        CREATE INDEX packages_name_idx ON packages (name);
        CREATE TABLE versions (id serial PRIMARY KEY,
          package_id int NOT NULL REFERENCES packages(id));";
    let after = "
        CREATE TABLE crates (id serial PRIMARY KEY, name text NOT NULL);
        CREATE INDEX crates_name_idx ON crates (name);
        CREATE TABLE versions (id serial PRIMARY KEY,
          crate_id int NOT NULL REFERENCES crates(id));";
    let rows = "INSERT INTO packages (name) VALUES ('serde'), ('rand');
                INSERT INTO versions (package_id) VALUES (2);";
    let (up, _) = renamed_round_trip(
        before,
        after,
        &["packages=crates", "versions.package_id=crate_id"],
        rows,
        (
            "SELECT nextval('packages_id_seq')",
            "SELECT nextval('crates_id_seq') - 1",
        ),
    )
    .await;
    no_drops(&up);
    assert!(
        up.contains("ALTER SEQUENCE packages_id_seq RENAME TO crates_id_seq;"),
        "{up}"
    );
    assert!(
        up.contains("ALTER INDEX packages_name_idx RENAME TO crates_name_idx;"),
        "{up}"
    );
    assert!(
        up.contains("ALTER TABLE crates RENAME CONSTRAINT packages_pkey TO crates_pkey;"),
        "{up}"
    );
    assert!(
        up.contains(
            "ALTER TABLE versions RENAME CONSTRAINT versions_package_id_fkey TO versions_crate_id_fkey;"
        ),
        "{up}"
    );
}

#[tokio::test]
async fn renames_nobody_named_are_left_to_decide() {
    let (_a, from) = made("CREATE TABLE t (id int, a int, b int);").await;
    let (_b, to) = made("CREATE TABLE t (id int, x int, y int);").await;
    let chosen = choose(&from, &to, &[], true).expect("choose");
    assert!(chosen.renames.is_empty(), "{:?}", chosen.renames);
    assert_eq!(chosen.undecided.len(), 2);
    assert!(chosen.undecided.iter().all(|c| c.ambiguous));
    let named = choose(&from, &to, &["t.a=y".into(), "t.b=x".into()], false).expect("named");
    assert!(named.undecided.is_empty());
    assert_eq!(
        named.renames,
        vec![
            Rename::Column {
                schema: "public".into(),
                table: "t".into(),
                from: "a".into(),
                to: "y".into()
            },
            Rename::Column {
                schema: "public".into(),
                table: "t".into(),
                from: "b".into(),
                to: "x".into()
            },
        ]
    );
}

/// lemmy's `preferred_username → display_name` under `SELECT *` views: the
/// server deparses a view over a renamed column as `person.display_name AS
/// preferred_username`, so a view written anew over the new name must be
/// made again, not taken as unchanged.
#[tokio::test]
async fn a_view_over_a_renamed_column_is_made_again_from_the_target() {
    let view = "CREATE VIEW person_alias AS SELECT * FROM person;";
    let before =
        format!("CREATE TABLE person (id int PRIMARY KEY, preferred_username text);\n{view}");
    let after = format!("CREATE TABLE person (id int PRIMARY KEY, display_name text);\n{view}");
    let (up, _) = renamed_round_trip(
        &before,
        &after,
        &["person.preferred_username=display_name"],
        "INSERT INTO person VALUES (1, 'ann');",
        (
            "SELECT id, preferred_username FROM person",
            "SELECT id, display_name FROM person",
        ),
    )
    .await;
    assert!(up.contains("DROP VIEW person_alias;"), "{up}");
}
