//! The snapshot reader against `pg_dump --schema-only` on a schema that
//! uses every object kind: the same objects found, none more, none less.
//! Skipped (with a note) when `pg_dump` is not installed.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::TestDb;
use retort::core::schema::ObjectKind;
use retort::db::catalog::{ReadOptions, read_snapshot};

const EVERY_KIND: &str = "
CREATE SCHEMA billing;
CREATE EXTENSION pgcrypto SCHEMA billing;
CREATE EXTENSION btree_gist;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TYPE billing.money_amount AS (amount numeric(12,2), currency text);
CREATE SEQUENCE counter START 5 INCREMENT 2;
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text UNIQUE,
                       feeling mood, score positive);
CREATE TABLE billing.invoices (
    id serial PRIMARY KEY, account_id bigint REFERENCES accounts ON DELETE CASCADE,
    total numeric CONSTRAINT invoices_total_check CHECK (total >= 0), during tstzrange,
    doubled numeric GENERATED ALWAYS AS (total * 2) STORED,
    CONSTRAINT invoices_no_overlap EXCLUDE USING gist (account_id WITH =, during WITH &&));
ALTER TABLE billing.invoices ADD CONSTRAINT invoices_positive CHECK (total > 0) NOT VALID;
CREATE INDEX invoices_account_idx ON billing.invoices (account_id DESC) INCLUDE (total) WHERE total > 0;
CREATE INDEX accounts_code_lower_idx ON accounts (lower(code));
CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_at_idx ON events (at);
CREATE VIEW active_accounts AS SELECT id FROM accounts WHERE score > 1;
CREATE MATERIALIZED VIEW account_count AS SELECT count(*) AS n FROM accounts;
CREATE INDEX account_count_n_idx ON account_count (n);
CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a + b $$;
CREATE PROCEDURE touch() LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN NULL; END $$;
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER accounts_noop BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION noop();
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY accounts_visible ON accounts FOR SELECT USING (score > 0);
COMMENT ON TABLE accounts IS 'tenants';
";

/// `public.x` as the snapshot shows it (`x`); other schemas stay.
fn shown(name: &str) -> String {
    let name = name.trim_end_matches([';', '(', ',']).trim_matches('"');
    name.strip_prefix("public.").unwrap_or(name).to_string()
}

/// The word after `prefix` on a line that starts with it.
fn name_after(line: &str, prefix: &str) -> Option<String> {
    let rest = line.strip_prefix(prefix)?;
    rest.split_whitespace().next().map(shown)
}

/// `(kind, name)` of every object pg_dump creates, in the snapshot's terms.
fn dumped_objects(dump: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut attached = BTreeSet::new();
    let mut table = String::new();
    let kinds = [
        ("CREATE SCHEMA ", "schema"),
        ("CREATE EXTENSION IF NOT EXISTS ", "extension"),
        ("CREATE DOMAIN ", "domain"),
        ("CREATE SEQUENCE ", "sequence"),
        ("CREATE VIEW ", "view"),
        ("CREATE MATERIALIZED VIEW ", "materialized view"),
    ];
    for line in dump.lines().map(str::trim) {
        for (prefix, kind) in kinds {
            if let Some(name) = name_after(line, prefix) {
                found.insert((kind.to_string(), name));
            }
        }
        if let Some(name) = name_after(line, "CREATE TABLE ") {
            table = name.clone();
            found.insert(("table".into(), name));
        }
        if let Some(rest) = line.strip_prefix("CREATE TYPE ") {
            let kind = match rest.contains("AS ENUM") {
                true => "enum",
                false => "type",
            };
            found.insert((
                kind.into(),
                shown(rest.split_whitespace().next().unwrap_or("")),
            ));
        }
        for (prefix, kind) in [
            ("CREATE FUNCTION ", "function"),
            ("CREATE PROCEDURE ", "procedure"),
        ] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let name = rest.split('(').next().unwrap_or("");
                found.insert((kind.into(), shown(name)));
            }
        }
        // An index lives in its table's schema; pg_dump names it bare.
        for prefix in ["CREATE INDEX ", "CREATE UNIQUE INDEX "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let name = rest.split_whitespace().next().unwrap_or("");
                let on = shown(
                    rest.split(" ON ")
                        .nth(1)
                        .unwrap_or("")
                        .split_whitespace()
                        .next()
                        .unwrap_or(""),
                );
                let schema = on
                    .rsplit_once('.')
                    .map(|(s, _)| format!("{s}."))
                    .unwrap_or_default();
                found.insert(("index".into(), format!("{schema}{name}")));
            }
        }
        if line.starts_with("CREATE DOMAIN ") {
            // Its CONSTRAINT lines are the domain's.
            table.clear();
        }
        if let Some(rest) = line
            .strip_prefix("ALTER TABLE ONLY ")
            .or(line.strip_prefix("ALTER TABLE "))
        {
            table = shown(rest.split_whitespace().next().unwrap_or(""));
        }
        for (marker, kind) in [
            ("CONSTRAINT ", "constraint"),
            ("TRIGGER ", "trigger"),
            ("POLICY ", "policy"),
        ] {
            let Some((before, after)) = line.split_once(marker) else {
                continue;
            };
            let name = after.split_whitespace().next().unwrap_or("").to_string();
            let on_table = match kind {
                "constraint" => table.clone(),
                _ => shown(
                    after
                        .split(" ON ")
                        .nth(1)
                        .unwrap_or("")
                        .split_whitespace()
                        .next()
                        .unwrap_or(""),
                ),
            };
            let relevant = kind != "constraint"
                || (!table.is_empty() && (before.is_empty() || before.ends_with("ADD ")));
            if relevant && (kind == "constraint" || before == "CREATE ") {
                let bare = on_table.rsplit('.').next().unwrap_or("").to_string();
                let schema = on_table.rsplit_once('.').map(|(s, _)| format!("{s}."));
                found.insert((
                    kind.into(),
                    format!("{}{bare}.{name}", schema.unwrap_or_default()),
                ));
            }
        }
        if let Some(rest) = line.strip_prefix("ALTER INDEX ")
            && let Some(child) = rest.split("ATTACH PARTITION ").nth(1)
        {
            attached.insert(shown(child));
        }
    }
    // What a partition gets from its parent is the parent's in a snapshot.
    found.retain(|(kind, name)| match kind.as_str() {
        "index" => !attached.contains(name),
        "constraint" => !attached
            .iter()
            .any(|a| name.ends_with(&format!(".{}", a.rsplit('.').next().unwrap_or("")))),
        _ => true,
    });
    found
}

#[tokio::test]
async fn the_snapshot_finds_what_pg_dump_dumps() {
    let db = TestDb::create().await;
    db.client()
        .await
        .batch_execute(EVERY_KIND)
        .await
        .expect("schema");
    let dump = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges", "--dbname"])
        .arg(db.conninfo())
        .output();
    let dump = match dump {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => panic!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            eprintln!("skipped: pg_dump cannot run ({e})");
            return;
        }
    };
    let mut client = db.client().await;
    let snapshot = read_snapshot(&mut client, &ReadOptions::default())
        .await
        .expect("snapshot");
    let read: BTreeSet<(String, String)> = snapshot
        .objects
        .keys()
        .filter(|k| k.kind != ObjectKind::Column)
        // pg_dump leaves out the public schema and plpgsql, which every
        // database has.
        .filter(|k| !(k.kind == ObjectKind::Schema && k.name == "public"))
        .filter(|k| !(k.kind == ObjectKind::Extension && k.name == "plpgsql"))
        .map(|k| {
            let name = match k.kind {
                ObjectKind::Function | ObjectKind::Procedure => {
                    k.name.split('(').next().unwrap_or("").to_string()
                }
                _ => k.name.clone(),
            };
            let shown = match k.schema.as_str() {
                "" | "public" => name,
                schema => format!("{schema}.{name}"),
            };
            (k.kind.word().to_string(), shown)
        })
        .collect();
    // Extensions' operators, types and functions are theirs, not unmodeled.
    assert_eq!(snapshot.unmodeled, Vec::<String>::new());
    let dumped = dumped_objects(&dump);
    let only_read: Vec<_> = read.difference(&dumped).collect();
    let only_dumped: Vec<_> = dumped.difference(&read).collect();
    assert!(
        only_read.is_empty() && only_dumped.is_empty(),
        "only in the snapshot: {only_read:?}\nonly in pg_dump: {only_dumped:?}\n\n{dump}"
    );
    // Every kind of the model is exercised.
    for kind in [
        ObjectKind::Schema,
        ObjectKind::Extension,
        ObjectKind::Enum,
        ObjectKind::Domain,
        ObjectKind::CompositeType,
        ObjectKind::Sequence,
        ObjectKind::Table,
        ObjectKind::Constraint,
        ObjectKind::Index,
        ObjectKind::View,
        ObjectKind::MaterializedView,
        ObjectKind::Function,
        ObjectKind::Procedure,
        ObjectKind::Trigger,
        ObjectKind::Policy,
    ] {
        assert!(
            read.iter().any(|(k, _)| k == kind.word()),
            "no {kind:?} read"
        );
    }
}
