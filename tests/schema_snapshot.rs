//! Schema snapshots read from a real server: for each object kind, the
//! model read after creating it, and the exact diff lines after changing it.

mod common;

use common::TestDb;
use retort::core::schema::{Object, ObjectKey, ObjectKind, Snapshot, change_lines, diff};
use retort::db::catalog::{ReadOptions, read_snapshot};

async fn snapshot_with(db: &TestDb, options: &ReadOptions) -> Snapshot {
    let mut client = db.client().await;
    read_snapshot(&mut client, options)
        .await
        .unwrap_or_else(|e| panic!("snapshot: {e}"))
}

async fn snapshot(db: &TestDb) -> Snapshot {
    snapshot_with(db, &ReadOptions::default()).await
}

async fn run(db: &TestDb, sql: &str) {
    db.client()
        .await
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The diff lines from the schema `setup` makes to the one `change` then
/// makes of it.
async fn changes(setup: &str, change: &str) -> Vec<String> {
    let db = TestDb::create().await;
    run(&db, setup).await;
    let before = snapshot(&db).await;
    run(&db, change).await;
    let after = snapshot(&db).await;
    change_lines(&diff(&before, &after))
}

/// A fresh database with `setup` applied, and its snapshot.
async fn model(setup: &str) -> Snapshot {
    let db = TestDb::create().await;
    run(&db, setup).await;
    snapshot(&db).await
}

fn key(kind: ObjectKind, name: &str) -> ObjectKey {
    ObjectKey::new(kind, "public", name)
}

fn get<'a>(snapshot: &'a Snapshot, kind: ObjectKind, name: &str) -> &'a Object {
    snapshot
        .get(&key(kind, name))
        .unwrap_or_else(|| panic!("no {kind:?} {name} in {:#?}", snapshot.objects.keys()))
}

#[tokio::test]
async fn a_fresh_database_has_only_public_and_plpgsql() {
    let snapshot = model("").await;
    let keys: Vec<String> = snapshot.objects.keys().map(|k| k.to_string()).collect();
    assert_eq!(keys, vec!["schema public", "extension plpgsql"]);
}

#[tokio::test]
async fn schemas_and_extensions() {
    let snapshot = model("CREATE SCHEMA billing; CREATE EXTENSION pgcrypto SCHEMA billing;").await;
    assert_eq!(
        snapshot.names(ObjectKind::Schema),
        vec!["billing", "public"]
    );
    let pgcrypto = ObjectKey::new(ObjectKind::Extension, "", "pgcrypto");
    let Some(Object::Extension(ext)) = snapshot.get(&pgcrypto) else {
        panic!("no extension pgcrypto")
    };
    assert_eq!(ext.schema, "billing");
    // The extension's functions belong to it, not to the schema.
    assert!(snapshot.names(ObjectKind::Function).is_empty());
    let lines = changes(
        "CREATE SCHEMA billing",
        "COMMENT ON SCHEMA billing IS 'money'; CREATE SCHEMA audit;",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "schema audit: extra",
            "schema billing: comment none → money"
        ]
    );
}

#[tokio::test]
async fn enums_keep_their_value_order() {
    let snapshot = model("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')").await;
    let Object::Enum(mood) = get(&snapshot, ObjectKind::Enum, "mood") else {
        panic!("not an enum")
    };
    assert_eq!(mood.values, vec!["sad", "ok", "happy"]);
    let lines = changes(
        "CREATE TYPE mood AS ENUM ('sad', 'happy')",
        "ALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy'",
    )
    .await;
    assert_eq!(lines, vec!["enum mood: values sad, happy → sad, ok, happy"]);
}

#[tokio::test]
async fn domains_with_checks_defaults_and_not_null() {
    let setup = "CREATE DOMAIN positive AS integer DEFAULT 1 NOT NULL \
                 CONSTRAINT positive_check CHECK (VALUE > 0)";
    let snapshot = model(setup).await;
    let Object::Domain(domain) = get(&snapshot, ObjectKind::Domain, "positive") else {
        panic!("not a domain")
    };
    assert_eq!(domain.base_type, "integer");
    assert!(domain.not_null);
    assert_eq!(domain.default.as_deref(), Some("1"));
    assert_eq!(domain.checks, vec!["positive_check: CHECK ((VALUE > 0))"]);
    let lines = changes(
        setup,
        "ALTER DOMAIN positive DROP CONSTRAINT positive_check; \
         ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 10); \
         ALTER DOMAIN positive DROP DEFAULT",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "domain positive: default 1 → none",
            "domain positive: checks positive_check: CHECK ((VALUE > 0)) → positive_check: CHECK ((VALUE > 10))",
        ]
    );
}

#[tokio::test]
async fn composite_types() {
    let setup = "CREATE TYPE money_amount AS (amount numeric(12,2), currency text)";
    let snapshot = model(setup).await;
    let Object::CompositeType(t) = get(&snapshot, ObjectKind::CompositeType, "money_amount") else {
        panic!("not a composite type")
    };
    assert_eq!(t.attributes, vec!["amount numeric(12,2)", "currency text"]);
    let lines = changes(setup, "ALTER TYPE money_amount ADD ATTRIBUTE rate real").await;
    assert_eq!(
        lines,
        vec![
            "type money_amount: attributes amount numeric(12,2), currency text → amount numeric(12,2), currency text, rate real"
        ]
    );
}

#[tokio::test]
async fn sequences_with_options_and_ownership() {
    let setup = "CREATE TABLE t (id integer); \
                 CREATE SEQUENCE counter START 5 INCREMENT 2 CACHE 3; \
                 CREATE SEQUENCE t_id_seq OWNED BY t.id;";
    let snapshot = model(setup).await;
    let Object::Sequence(counter) = get(&snapshot, ObjectKind::Sequence, "counter") else {
        panic!("not a sequence")
    };
    assert_eq!((counter.start, counter.increment, counter.cache), (5, 2, 3));
    let Object::Sequence(owned) = get(&snapshot, ObjectKind::Sequence, "t_id_seq") else {
        panic!("not a sequence")
    };
    assert_eq!(owned.owned_by.as_deref(), Some("t.id"));
    let lines = changes(setup, "ALTER SEQUENCE counter INCREMENT 4 CYCLE").await;
    assert_eq!(
        lines,
        vec![
            "sequence counter: increment 2 → 4",
            "sequence counter: cycle no → yes",
        ]
    );
}

#[tokio::test]
async fn columns_with_type_default_nullability_identity_generated_collation() {
    let setup = "CREATE TABLE users (\
                   id bigint GENERATED ALWAYS AS IDENTITY, \
                   email text COLLATE \"C\" NOT NULL, \
                   age integer DEFAULT 18, \
                   score integer, \
                   created timestamptz DEFAULT now(), \
                   age_next integer GENERATED ALWAYS AS (age + 1) STORED)";
    let snapshot = model(setup).await;
    let Object::Column(id) = get(&snapshot, ObjectKind::Column, "users.id") else {
        panic!("not a column")
    };
    assert_eq!(id.identity.as_deref(), Some("always"));
    assert!(id.not_null);
    let Object::Column(email) = get(&snapshot, ObjectKind::Column, "users.email") else {
        panic!("not a column")
    };
    assert_eq!(email.collation.as_deref(), Some("\"C\""));
    let Object::Column(next) = get(&snapshot, ObjectKind::Column, "users.age_next") else {
        panic!("not a column")
    };
    assert_eq!(next.generated.as_deref(), Some("(age + 1)"));
    assert_eq!(next.default, None);
    // The identity's sequence is the column's, not an object of its own.
    assert!(snapshot.names(ObjectKind::Sequence).is_empty());
    let Object::Table(users) = get(&snapshot, ObjectKind::Table, "users") else {
        panic!("not a table")
    };
    assert_eq!(
        users.column_order,
        vec!["id", "email", "age", "score", "created", "age_next"]
    );
    let lines = changes(
        setup,
        "ALTER TABLE users ALTER created DROP DEFAULT, ALTER score TYPE bigint, \
         ALTER email DROP NOT NULL, ALTER id SET GENERATED BY DEFAULT",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "column users.created: default now() → none",
            "column users.email: not null yes → no",
            "column users.id: identity always → by default",
            "column users.score: type integer → bigint",
        ]
    );
}

#[tokio::test]
async fn serial_to_identity_shows_default_sequence_and_identity() {
    let lines = changes(
        "CREATE TABLE t (id serial)",
        "ALTER TABLE t ALTER id DROP DEFAULT; DROP SEQUENCE t_id_seq; \
         ALTER TABLE t ALTER id ADD GENERATED BY DEFAULT AS IDENTITY",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "sequence t_id_seq: missing",
            "column t.id: default nextval('t_id_seq'::regclass) → none",
            "column t.id: identity none → by default",
            "column t.id: identity sequence changed\n    - (none)\n    + as integer start 1 increment 1 minvalue 1 maxvalue 2147483647 cache 1 no cycle",
        ]
    );
}

#[tokio::test]
async fn column_order_is_reported_apart() {
    let lines = changes(
        "CREATE TABLE t (a int, b int, c int)",
        "ALTER TABLE t DROP COLUMN a; ALTER TABLE t ADD COLUMN a int",
    )
    .await;
    assert_eq!(lines, vec!["table t: column order a, b, c → b, c, a"]);
}

#[tokio::test]
async fn constraints_of_every_kind() {
    let setup = "CREATE EXTENSION btree_gist; \
                 CREATE TABLE accounts (id int PRIMARY KEY, code text UNIQUE); \
                 CREATE TABLE invoices (\
                   id int, account_id int, total numeric, during tstzrange, \
                   CONSTRAINT invoices_pkey PRIMARY KEY (id), \
                   CONSTRAINT invoices_total_check CHECK (total >= 0), \
                   CONSTRAINT invoices_account_fkey FOREIGN KEY (account_id) REFERENCES accounts \
                     ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, \
                   CONSTRAINT invoices_no_overlap EXCLUDE USING gist (account_id WITH =, during WITH &&))";
    let snapshot = model(setup).await;
    let names = snapshot.names(ObjectKind::Constraint);
    assert_eq!(
        names,
        vec![
            "accounts.accounts_code_key",
            "accounts.accounts_pkey",
            "invoices.invoices_account_fkey",
            "invoices.invoices_no_overlap",
            "invoices.invoices_pkey",
            "invoices.invoices_total_check",
        ]
    );
    let Object::Constraint(fk) = get(
        &snapshot,
        ObjectKind::Constraint,
        "invoices.invoices_account_fkey",
    ) else {
        panic!("not a constraint")
    };
    assert_eq!(
        fk.definition,
        "FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
    );
    // Indexes of constraints are the constraints'.
    assert!(snapshot.names(ObjectKind::Index).is_empty());
    let lines = changes(
        setup,
        "ALTER TABLE invoices DROP CONSTRAINT invoices_total_check; \
         ALTER TABLE invoices ADD CONSTRAINT invoices_total_check CHECK (total > 0) NOT VALID; \
         ALTER TABLE invoices DROP CONSTRAINT invoices_no_overlap",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "constraint invoices.invoices_no_overlap: missing",
            "constraint invoices.invoices_total_check: definition CHECK ((total >= (0)::numeric)) → CHECK ((total > (0)::numeric)) NOT VALID",
        ]
    );
}

#[tokio::test]
async fn indexes_partial_expression_descending_include() {
    let setup = "CREATE TABLE invoices (id int, account_id int, email text, total numeric); \
                 CREATE INDEX invoices_account_idx ON invoices (account_id DESC) INCLUDE (total) \
                   WHERE total > 0; \
                 CREATE UNIQUE INDEX invoices_email_idx ON invoices (lower(email));";
    let snapshot = model(setup).await;
    let Object::Index(index) = get(&snapshot, ObjectKind::Index, "invoices_account_idx") else {
        panic!("not an index")
    };
    assert_eq!(
        index.definition,
        "CREATE INDEX invoices_account_idx ON public.invoices USING btree (account_id DESC) INCLUDE (total) WHERE (total > (0)::numeric)"
    );
    let lines = changes(
        setup,
        "DROP INDEX invoices_account_idx; \
         DROP INDEX invoices_email_idx; CREATE INDEX invoices_email_idx ON invoices (lower(email));",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "index invoices_account_idx: missing",
            "index invoices_email_idx: definition changed\n    - CREATE UNIQUE INDEX invoices_email_idx ON public.invoices USING btree (lower(email))\n    + CREATE INDEX invoices_email_idx ON public.invoices USING btree (lower(email))",
        ]
    );
}

#[tokio::test]
async fn views_and_materialized_views_with_their_indexes() {
    let setup = "CREATE TABLE users (id int, active bool); \
                 CREATE VIEW active_users AS SELECT id FROM users WHERE active; \
                 CREATE MATERIALIZED VIEW user_count AS SELECT count(*) AS n FROM users; \
                 CREATE INDEX user_count_n_idx ON user_count (n);";
    let snapshot = model(setup).await;
    let Object::View(view) = get(&snapshot, ObjectKind::View, "active_users") else {
        panic!("not a view")
    };
    assert_eq!(
        view.definition,
        " SELECT users.id\n   FROM users\n  WHERE users.active;"
    );
    assert_eq!(
        snapshot.names(ObjectKind::MaterializedView),
        vec!["user_count"]
    );
    assert_eq!(snapshot.names(ObjectKind::Index), vec!["user_count_n_idx"]);
    let lines = changes(
        setup,
        "CREATE OR REPLACE VIEW active_users AS SELECT id FROM users WHERE NOT active; \
         DROP INDEX user_count_n_idx;",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "index user_count_n_idx: missing",
            "view active_users: definition changed\n    -   WHERE users.active;\n    +   WHERE NOT users.active;",
        ]
    );
}

#[tokio::test]
async fn functions_and_procedures() {
    let setup = "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE \
                   AS $$ SELECT a + b $$; \
                 CREATE PROCEDURE touch() LANGUAGE plpgsql SECURITY DEFINER \
                   AS $$ BEGIN NULL; END $$;";
    let snapshot = model(setup).await;
    let Object::Function(add) = get(&snapshot, ObjectKind::Function, "add(a integer, b integer)")
    else {
        panic!("not a function")
    };
    assert_eq!(add.volatility, "immutable");
    assert_eq!(add.returns.as_deref(), Some("integer"));
    assert_eq!(add.body, " SELECT a + b ");
    let Object::Function(touch) = get(&snapshot, ObjectKind::Procedure, "touch()") else {
        panic!("not a procedure")
    };
    assert_eq!(touch.security, "definer");
    assert!(
        touch
            .definition
            .starts_with("CREATE OR REPLACE PROCEDURE public.touch()")
    );
    let lines = changes(
        setup,
        "CREATE OR REPLACE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql STABLE \
           AS $$ SELECT a + b + 0 $$; \
         ALTER PROCEDURE touch() SECURITY INVOKER;",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "function add(a integer, b integer): volatility immutable → stable",
            "function add(a integer, b integer): body  SELECT a + b  →  SELECT a + b + 0 ",
            "procedure touch(): security definer → invoker",
        ]
    );
}

#[tokio::test]
async fn triggers() {
    let setup = "CREATE TABLE t (id int); \
                 CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
                 CREATE TRIGGER t_noop BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION noop();";
    let snapshot = model(setup).await;
    let Object::Trigger(trigger) = get(&snapshot, ObjectKind::Trigger, "t.t_noop") else {
        panic!("not a trigger")
    };
    assert_eq!(
        trigger.definition,
        "CREATE TRIGGER t_noop BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION noop()"
    );
    let lines = changes(
        setup,
        "ALTER TABLE t DISABLE TRIGGER t_noop; \
         CREATE TRIGGER t_noop2 AFTER DELETE ON t FOR EACH ROW EXECUTE FUNCTION noop();",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "trigger t.t_noop: enabled origin → disabled",
            "trigger t.t_noop2: extra",
        ]
    );
}

#[tokio::test]
async fn row_level_security_and_policies() {
    let setup = "CREATE TABLE docs (owner text); \
                 ALTER TABLE docs ENABLE ROW LEVEL SECURITY; \
                 CREATE POLICY docs_owner ON docs FOR SELECT USING (owner = current_user);";
    let snapshot = model(setup).await;
    let Object::Policy(policy) = get(&snapshot, ObjectKind::Policy, "docs.docs_owner") else {
        panic!("not a policy")
    };
    assert_eq!(policy.command, "SELECT");
    assert_eq!(policy.roles, "public");
    assert_eq!(policy.using.as_deref(), Some("(owner = CURRENT_USER)"));
    let lines = changes(
        setup,
        "ALTER TABLE docs FORCE ROW LEVEL SECURITY; \
         ALTER POLICY docs_owner ON docs USING (owner = session_user);",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "table docs: force row level security no → yes",
            "policy docs.docs_owner: using (owner = CURRENT_USER) → (owner = SESSION_USER)",
        ]
    );
}

#[tokio::test]
async fn partitions_and_their_derived_objects() {
    let setup = "CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at); \
                 CREATE TABLE events_2026 PARTITION OF events \
                   FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'); \
                 CREATE INDEX events_at_idx ON events (at);";
    let snapshot = model(setup).await;
    let Object::Table(parent) = get(&snapshot, ObjectKind::Table, "events") else {
        panic!("not a table")
    };
    assert_eq!(parent.partition_key.as_deref(), Some("RANGE (at)"));
    let Object::Table(part) = get(&snapshot, ObjectKind::Table, "events_2026") else {
        panic!("not a table")
    };
    assert_eq!(
        part.partition_of.as_deref(),
        Some("events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')")
    );
    // The partition's index and key come from the parent's.
    assert_eq!(snapshot.names(ObjectKind::Index), vec!["events_at_idx"]);
    assert_eq!(
        snapshot.names(ObjectKind::Constraint),
        vec!["events.events_pkey"]
    );
    let lines = changes(setup, "ALTER TABLE events DETACH PARTITION events_2026").await;
    assert_eq!(
        lines,
        vec![
            "table events_2026: partition of events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') → none",
            "constraint events_2026.events_2026_pkey: extra",
            "index events_2026_at_idx: extra",
        ]
    );
}

#[tokio::test]
async fn comments_on_tables_columns_and_indexes() {
    let setup = "CREATE TABLE t (id int); CREATE INDEX t_id_idx ON t (id);";
    let lines = changes(
        setup,
        "COMMENT ON TABLE t IS 'things'; COMMENT ON COLUMN t.id IS 'key'; \
         COMMENT ON INDEX t_id_idx IS 'lookup';",
    )
    .await;
    assert_eq!(
        lines,
        vec![
            "table t: comment none → things",
            "column t.id: comment none → key",
            "index t_id_idx: comment none → lookup",
        ]
    );
}

#[tokio::test]
async fn owners_and_grants_only_when_asked() {
    let db = TestDb::create().await;
    run(&db, "CREATE TABLE t (id int); GRANT SELECT ON t TO PUBLIC;").await;
    let plain = snapshot(&db).await;
    let Object::Table(table) = get(&plain, ObjectKind::Table, "t") else {
        panic!("not a table")
    };
    assert_eq!(
        (table.meta.owner.as_ref(), table.meta.grants.as_ref()),
        (None, None)
    );
    let options = ReadOptions {
        owners: true,
        grants: true,
        ..ReadOptions::default()
    };
    let full = snapshot_with(&db, &options).await;
    let Object::Table(table) = get(&full, ObjectKind::Table, "t") else {
        panic!("not a table")
    };
    assert_eq!(table.meta.owner.as_deref(), Some("postgres"));
    let grants = table.meta.grants.as_deref().unwrap_or_default();
    assert!(grants.contains("=r/postgres"), "{grants}");
}

#[tokio::test]
async fn excluded_tables_leave_with_their_sequences_and_indexes() {
    let db = TestDb::create().await;
    run(
        &db,
        "CREATE TABLE retort_history (id bigserial PRIMARY KEY, note text); \
         CREATE INDEX retort_history_note_idx ON retort_history (note); \
         CREATE TABLE kept (id int);",
    )
    .await;
    let options = ReadOptions {
        exclude_tables: vec![
            "\"public\".\"retort_history\"".into(),
            "\"public\".\"absent\"".into(),
        ],
        ..ReadOptions::default()
    };
    let snapshot = snapshot_with(&db, &options).await;
    let keys: Vec<String> = snapshot
        .objects
        .keys()
        .filter(|k| k.kind != ObjectKind::Schema && k.kind != ObjectKind::Extension)
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys, vec!["table kept", "column kept.id"]);
}

#[tokio::test]
async fn snapshot_changes_nothing_and_leaves_no_transaction_open() {
    let db = TestDb::create().await;
    run(&db, "CREATE TABLE t (id int)").await;
    let mut client = db.client().await;
    read_snapshot(&mut client, &ReadOptions::default())
        .await
        .expect("snapshot");
    // The session is usable and outside any transaction again.
    let row = client
        .query_one(
            "SELECT pg_catalog.current_setting('transaction_read_only')",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, String>(0), "off");
}

#[tokio::test]
async fn kinds_without_a_model_are_named_not_skipped() {
    let snapshot = model(
        "CREATE TABLE t (a int, b int); \
         CREATE RULE t_protect AS ON DELETE TO t DO INSTEAD NOTHING; \
         CREATE AGGREGATE my_sum(int) (SFUNC = int4pl, STYPE = int); \
         CREATE TYPE span AS RANGE (SUBTYPE = int4);",
    )
    .await;
    assert_eq!(
        snapshot.unmodeled,
        vec![
            "aggregate my_sum(integer)",
            "range type span",
            "rule t.t_protect",
        ]
    );
}

#[tokio::test]
async fn extended_statistics_are_read_with_their_target() {
    let snapshot = model(
        "CREATE TABLE t (a int, b int); \
         CREATE STATISTICS t_ab (ndistinct, dependencies) ON a, b FROM t; \
         ALTER STATISTICS t_ab SET STATISTICS 500; \
         COMMENT ON STATISTICS t_ab IS 'a and b move together';",
    )
    .await;
    assert!(snapshot.unmodeled.is_empty(), "{:?}", snapshot.unmodeled);
    let key = ObjectKey::new(ObjectKind::Statistics, "public", "t_ab");
    let Some(Object::Statistics(stats)) = snapshot.get(&key) else {
        panic!("no statistics in {:?}", snapshot.objects.keys());
    };
    assert_eq!(stats.table, "t");
    assert_eq!(
        stats.definition,
        "CREATE STATISTICS public.t_ab (ndistinct, dependencies) ON a, b FROM t"
    );
    assert_eq!(stats.target, Some(500));
    assert_eq!(stats.meta.comment.as_deref(), Some("a and b move together"));
}
