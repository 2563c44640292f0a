//! The config file, connection resolution and redaction, through the public API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use retort::config::{
    CONSOLE_ACTIONS, Config, ConfigError, load_config, parse_config, parse_key, redact_url,
    resolve_connection,
};
use tokio_postgres::config::{Host, SslMode};

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_config(Path::new("retort.toml"), text)
}

/// The rendered error for a text that must be rejected.
fn error_of(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(err) => err.to_string(),
    }
}

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lookup(map: &HashMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
    |name| map.get(name).cloned()
}

// ---------------------------------------------------------------- parsing

#[test]
fn full_config_is_read() {
    let config = parse_config(
        Path::new("/srv/app/retort.toml"),
        r#"
migrations = "db/revisions"
version_table = "schema_heads"
version_table_schema = "meta"
history_table = "audit"
default_env = "prod"

[environments.dev]
url = "postgres://dev@localhost/app_dev"
search_path = "app,  public"
lock_timeout = "5s"
statement_timeout = 15000

[environments.prod]
url_env = "APP_DATABASE_URL"
protected = true

[keys]
quit = ["q", "Ctrl-C"]
help = "?"
"#,
    )
    .expect("valid config");
    assert_eq!(config.source, Some(PathBuf::from("/srv/app/retort.toml")));
    assert_eq!(
        config.migrations_dir,
        PathBuf::from("/srv/app/db/revisions")
    );
    assert_eq!(config.version_table, "schema_heads");
    assert_eq!(config.version_table_schema.as_deref(), Some("meta"));
    assert_eq!(config.history_table, "audit");
    assert_eq!(config.default_env.as_deref(), Some("prod"));
    let dev = &config.environments["dev"];
    assert_eq!(dev.name, "dev");
    assert_eq!(dev.url.as_deref(), Some("postgres://dev@localhost/app_dev"));
    assert_eq!(dev.url_env, None);
    assert_eq!(dev.search_path.as_deref(), Some("app,  public"));
    assert_eq!(dev.lock_timeout.as_deref(), Some("5s"));
    assert_eq!(dev.statement_timeout.as_deref(), Some("15000"));
    assert!(!dev.protected);
    let prod = &config.environments["prod"];
    assert_eq!(prod.url_env.as_deref(), Some("APP_DATABASE_URL"));
    assert!(prod.protected);
    assert_eq!(config.keys["quit"], vec!["q", "ctrl-c"]);
    assert_eq!(config.keys["help"], vec!["?"]);
    assert_eq!(config.keys.len(), 2);
}

#[test]
fn empty_file_gives_defaults() {
    let config = parse("").expect("empty config is valid");
    assert_eq!(config.migrations_dir, PathBuf::from("migrations"));
    assert_eq!(config.version_table, "alembic_version");
    assert_eq!(config.version_table_schema, None);
    assert_eq!(config.history_table, "retort_history");
    assert_eq!(config.default_env, None);
    assert!(config.environments.is_empty());
    assert!(config.keys.is_empty());
}

#[test]
fn absolute_migrations_dir_is_kept() {
    let config =
        parse_config(Path::new("/etc/x/retort.toml"), "migrations = \"/var/m\"\n").unwrap();
    assert_eq!(config.migrations_dir, PathBuf::from("/var/m"));
}

#[test]
fn example_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let text = std::fs::read_to_string(&path).expect("config.example.toml exists");
    let config = parse_config(&path, &text).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.environments.len(), 2);
    assert!(config.environments["prod"].protected);
    // The example documents every console action.
    let documented: Vec<&str> = config.keys.keys().map(String::as_str).collect();
    let mut actions = CONSOLE_ACTIONS.to_vec();
    actions.sort_unstable();
    assert_eq!(documented, actions);
}

#[test]
fn rehearsal_url_is_read_and_checked_like_url() {
    let config = parse(
        "[environments.dev]\nurl = \"postgres://app@db/app\"\n\
         rehearsal_url = \"postgres://rehearse@scratch:5433/postgres\"\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let env = &config.environments["dev"];
    assert_eq!(
        env.rehearsal_url.as_deref(),
        Some("postgres://rehearse@scratch:5433/postgres")
    );
    // Never printed by a stray `{:?}`: it may hold a password.
    assert!(!format!("{env:?}").contains("scratch"));
    let err = error_of(
        "[environments.dev]\nurl = \"postgres://app@db/app\"\nrehearsal_url = \"postgres://db:port/x\"\n",
    );
    assert!(
        err.starts_with("retort.toml:3: environments.dev.rehearsal_url: invalid connection string"),
        "{err}"
    );
}

#[test]
fn example_config_documents_every_key() {
    let text = include_str!("../config.example.toml");
    for key in [
        "migrations =",
        "version_table =",
        "version_table_schema =",
        "history_table =",
        "default_env =",
        "url =",
        "url_env =",
        "search_path =",
        "lock_timeout =",
        "statement_timeout =",
        "protected =",
        "lock_retries =",
        "lock_retry_backoff =",
        "sslmode =",
        "sslrootcert =",
        "rehearsal_url =",
        "[keys]",
    ] {
        let line = text
            .lines()
            .position(|line| line.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("{key} is not in config.example.toml"));
        let comment_above = text.lines().nth(line - 1).unwrap_or("");
        assert!(
            comment_above.trim_start().starts_with('#'),
            "{key} has no comment above it"
        );
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn unknown_key_in_environment_suggests_the_right_one() {
    let text = "migrations = \"m\"\n\n[environments.prod]\nurl = \"postgres://u@h/db\"\n\n\nlock_timout = \"5s\"\n";
    assert_eq!(
        error_of(text),
        "retort.toml:7: environments.prod.lock_timout: unknown key (did you mean 'lock_timeout'?)"
    );
}

#[test]
fn unknown_top_level_key_without_close_match_lists_known_keys() {
    let err = error_of("\nwhatever = 1\n");
    assert!(
        err.starts_with("retort.toml:2: whatever: unknown key (expected one of: migrations, "),
        "{err}"
    );
}

#[test]
fn misspelled_top_level_key() {
    assert_eq!(
        error_of("version_tabel = \"v\"\n"),
        "retort.toml:1: version_tabel: unknown key (did you mean 'version_table'?)"
    );
}

#[test]
fn wrong_type_names_expected_and_found() {
    assert_eq!(
        error_of("migrations = \"m\"\n\nversion_table = 5\n"),
        "retort.toml:3: version_table: expected a string, found integer"
    );
    assert_eq!(
        error_of("[environments.a]\nurl = \"postgres://h/d\"\nprotected = \"yes\"\n"),
        "retort.toml:3: environments.a.protected: expected a boolean (true or false), found string"
    );
    assert_eq!(
        error_of("environments = \"dev\"\n"),
        "retort.toml:1: environments: expected a table, found string"
    );
    assert_eq!(
        error_of("[environments]\ndev = 1\n"),
        "retort.toml:2: environments.dev: expected a table, found integer"
    );
    assert_eq!(
        error_of("[[environments]]\nurl = \"x\"\n"),
        "retort.toml:1: environments: expected a table, found array"
    );
}

#[test]
fn toml_syntax_error_names_line_and_key() {
    let err = error_of(
        "migrations = \"m\"\n[environments.dev]\nurl = \"postgres://h/d\"\nlock_timeout = 5s\n",
    );
    assert!(
        err.starts_with("retort.toml:4: environments.dev.lock_timeout: invalid TOML: "),
        "{err}"
    );
    let err = error_of("version_table = \"a\"\nversion_table = \"b\"\n");
    assert!(
        err.starts_with("retort.toml:2: version_table: invalid TOML: duplicate key"),
        "{err}"
    );
    let err = error_of("a = 1\n[environments.dev\n");
    assert!(
        err.starts_with("retort.toml:2: environments.dev: invalid TOML: "),
        "{err}"
    );
    let err = error_of("a = 1\n\"unterminated\n");
    assert!(err.starts_with("retort.toml:2: invalid TOML: "), "{err}");
}

#[test]
fn url_and_url_env_together_are_rejected_at_the_second() {
    let text = "[environments.prod]\nurl = \"postgres://u@h/db\"\nurl_env = \"APP_DB\"\n";
    assert_eq!(
        error_of(text),
        "retort.toml:3: environments.prod.url_env: give either url or url_env, not both"
    );
    let text = "[environments.prod]\nurl_env = \"APP_DB\"\nsearch_path = \"a\"\nurl = \"postgres://u@h/db\"\n";
    assert_eq!(
        error_of(text),
        "retort.toml:4: environments.prod.url: give either url or url_env, not both"
    );
}

#[test]
fn environment_without_url_is_rejected_at_its_header() {
    let text = "migrations = \"m\"\n[environments.stage]\nsearch_path = \"app\"\n";
    assert_eq!(
        error_of(text),
        "retort.toml:2: environments.stage: missing url or url_env"
    );
}

#[test]
fn invalid_url_is_rejected_without_echoing_the_password() {
    let text = "[environments.prod]\nurl = \"postgres://app:hunter2@db:notaport/app\"\n";
    let err = error_of(text);
    assert!(
        err.starts_with("retort.toml:2: environments.prod.url: "),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let text = "[environments.prod]\nurl = \"host=db bogus_option=1 password=hunter2\"\n";
    let err = error_of(text);
    assert!(
        err.contains("unknown parameter `bogus_option` at byte 8"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    // Right after a password, a "key" may be the rest of a password with a
    // space in it: only its place is named.
    let text = "[environments.prod]\nurl = \"host=db password=hunter 2more=1\"\n";
    let err = error_of(text);
    assert!(
        err.contains("unknown parameter at byte 24 (right after the password"),
        "{err}"
    );
    assert!(!err.contains("hunter") && !err.contains("2more"), "{err}");
}

#[test]
fn empty_migrations_is_rejected() {
    assert_eq!(
        error_of("\n\nmigrations = \"  \"\n"),
        "retort.toml:3: migrations: must not be empty"
    );
}

#[test]
fn bad_identifiers_are_rejected() {
    assert_eq!(
        error_of("version_table = \"\"\n"),
        "retort.toml:1: version_table: must not be empty"
    );
    let long = "x".repeat(64);
    let err = error_of(&format!("history_table = \"{long}\"\n"));
    assert!(
        err.starts_with("retort.toml:1: history_table: ") && err.contains("64 bytes"),
        "{err}"
    );
    // 63 bytes is the limit, and it counts bytes, not characters.
    assert!(parse(&format!("version_table_schema = \"{}\"\n", "x".repeat(63))).is_ok());
    let err = error_of(&format!("version_table = \"{}\"\n", "é".repeat(32)));
    assert!(err.contains("64 bytes"), "{err}");
    let err = error_of("version_table_schema = \"a\\nb\"\n");
    assert!(err.contains("control characters"), "{err}");
}

#[test]
fn table_names_that_collide_are_config_errors_naming_the_key() {
    // The history table given the version table's name (also the default's).
    assert_eq!(
        error_of("history_table = \"alembic_version\"\n"),
        "retort.toml:1: history_table: 'alembic_version' is also the version table \
         (version_table); the history needs a table of its own"
    );
    // The later of the two keys is the one named.
    let err = error_of("history_table = \"h\"\n\nversion_table = \"h\"\n");
    assert!(
        err.starts_with("retort.toml:3: version_table: 'h' is also"),
        "{err}"
    );
    let err = error_of("version_table = \"retort_history\"\n");
    assert!(err.starts_with("retort.toml:1: version_table: "), "{err}");
    // Letter case: distinct tables to PostgreSQL, one table to a reader.
    let err = error_of("version_table = \"Versions\"\nhistory_table = \"versions\"\n");
    assert!(
        err.starts_with("retort.toml:2: history_table: ") && err.contains("only in letter case"),
        "{err}"
    );
    // The other relations each table brings into the same schema.
    let err = error_of("history_table = \"alembic_version_pkc\"\n");
    assert!(err.contains("version table's primary key index"), "{err}");
    let err = error_of("version_table = \"retort_history_id_seq\"\n");
    assert!(err.contains("history table's id sequence"), "{err}");
    let err = error_of("history_table = \"audit\"\nversion_table = \"audit_pkey\"\n");
    assert!(err.contains("history table's primary key index"), "{err}");
    // A schema written into the name.
    let err = error_of("version_table_schema = \"app\"\nhistory_table = \"app.alembic_version\"\n");
    assert!(
        err.starts_with("retort.toml:2: history_table: 'app.alembic_version' contains a dot"),
        "{err}"
    );
    // Names that merely resemble each other are fine.
    assert!(parse("version_table = \"v\"\nhistory_table = \"v_history\"\n").is_ok());
}

#[test]
fn durations_follow_postgres_syntax() {
    for ok in [
        "5s", "500", "500ms", "1.5s", "2min", "1h", "1d", "0", "10 s", "250us",
    ] {
        let text = format!("[environments.a]\nurl = \"postgres://h/d\"\nlock_timeout = \"{ok}\"\n");
        let config = parse(&text).unwrap_or_else(|err| panic!("{ok}: {err}"));
        assert_eq!(config.environments["a"].lock_timeout.as_deref(), Some(ok));
    }
    for bad in ["5 secs", "", "s", "-5s", "5S", "1e3", "25d"] {
        let text = format!(
            "[environments.a]\nurl = \"postgres://h/d\"\n\nstatement_timeout = \"{bad}\"\n"
        );
        let err = error_of(&text);
        assert!(
            err.starts_with("retort.toml:4: environments.a.statement_timeout: "),
            "{bad}: {err}"
        );
    }
    let err = error_of("[environments.a]\nurl = \"postgres://h/d\"\nlock_timeout = -1\n");
    assert!(
        err.starts_with("retort.toml:3: environments.a.lock_timeout: "),
        "{err}"
    );
    let err = error_of("[environments.a]\nurl = \"postgres://h/d\"\nlock_timeout = true\n");
    assert!(err.contains("found boolean"), "{err}");
}

#[test]
fn search_path_must_list_schemas() {
    let err =
        error_of("[environments.a]\nurl = \"postgres://h/d\"\nsearch_path = \"app,,public\"\n");
    assert!(
        err.starts_with("retort.toml:3: environments.a.search_path: "),
        "{err}"
    );
}

#[test]
fn default_env_must_exist() {
    let text = "default_env = \"prod\"\n[environments.dev]\nurl = \"postgres://h/d\"\n";
    assert_eq!(
        error_of(text),
        "retort.toml:1: default_env: no environment named 'prod' (known: dev)"
    );
}

#[test]
fn environment_names_are_restricted() {
    let err = error_of("[environments.\"my env\"]\nurl = \"postgres://h/d\"\n");
    assert!(
        err.starts_with("retort.toml:1: environments.\"my env\": "),
        "{err}"
    );
}

#[test]
fn key_bindings_are_validated() {
    let err = error_of("[keys]\nquit = \"q\"\nqiut = \"x\"\n");
    assert_eq!(
        err,
        "retort.toml:3: keys.qiut: unknown key (did you mean 'quit'?)"
    );
    let err = error_of("[keys]\n\nhelp = [\"?\", \"ctrl-\"]\n");
    assert!(
        err.starts_with("retort.toml:3: keys.help: invalid key \"ctrl-\""),
        "{err}"
    );
    let err = error_of("[keys]\nhelp = [\"?\",\n  \"hyper-x\"]\n");
    assert!(
        err.starts_with(
            "retort.toml:3: keys.help: invalid key \"hyper-x\": unknown modifier 'hyper'"
        ),
        "{err}"
    );
    let err = error_of("[keys]\nhelp = \"enterr\"\n");
    assert!(err.contains("unknown key name 'enterr'"), "{err}");
    let err = error_of("[keys]\nhelp = 1\n");
    assert_eq!(
        err,
        "retort.toml:2: keys.help: expected a key string or a list of key strings, found integer"
    );
    let err = error_of("[keys]\nhelp = [1]\n");
    assert_eq!(
        err,
        "retort.toml:2: keys.help: expected a key string, found integer"
    );
    let err = error_of("[keys]\nhelp = []\n");
    assert_eq!(err, "retort.toml:2: keys.help: expected at least one key");
}

#[test]
fn key_bindings_may_not_collide_in_one_context() {
    // A configured key against another action's default.
    let err = error_of("[keys]\nquit = \"q\"\nstamp = [\"s\", \"u\"]\n");
    assert_eq!(
        err,
        "retort.toml:3: keys.stamp: key \"u\" is bound to both upgrade_one and stamp in the graph and SQL panes"
    );
    // Two configured actions: the later entry is named by its line; the
    // spellings shift-tab and backtab are the same key.
    let err = error_of("[keys]\nzoom = \"shift-tab\"\nhelp = \"?\"\nfocus_prev = \"backtab\"\n");
    assert_eq!(
        err,
        "retort.toml:4: keys.focus_prev: key \"backtab\" is bound to both focus_prev and zoom in the graph and SQL panes"
    );
    // Only within a context: w saves the log there and writes SQL elsewhere,
    // and a rebinding may take a key its old owner gave up.
    parse("[keys]\nsave_log = \"x\"\nwrite_sql = \"x\"\n").expect("different contexts");
    parse("[keys]\nupgrade_one = \"i\"\nstamp = \"u\"\n").expect("u was given up");
}

#[test]
fn a_destructive_confirmation_is_never_enter() {
    let err = error_of("[keys]\nhelp = \"?\"\nconfirm_destructive = [\"Y\", \"Return\"]\n");
    assert!(
        err.starts_with(
            "retort.toml:3: keys.confirm_destructive: key \"enter\" cannot confirm a downgrade or stamp"
        ),
        "{err}"
    );
    parse("[keys]\nconfirm = \"y\"\nconfirm_destructive = \"ctrl-y\"\n")
        .expect("other keys are fine");
}

#[test]
fn key_strings_are_canonicalized() {
    let cases = [
        ("q", "q"),
        ("G", "G"),
        ("-", "-"),
        ("ctrl--", "ctrl--"),
        ("ctrl-c", "ctrl-c"),
        ("Ctrl-C", "ctrl-c"),
        ("alt-X", "alt-X"),
        ("shift-ctrl-tab", "ctrl-shift-tab"),
        ("alt-Enter", "alt-enter"),
        ("Return", "enter"),
        ("escape", "esc"),
        ("PageDown", "pgdown"),
        ("pgup", "pgup"),
        ("f5", "f5"),
        ("F12", "f12"),
        ("ctrl-alt-shift-del", "ctrl-alt-shift-delete"),
        ("space", "space"),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_key(input).as_deref(), Ok(expected), "{input}");
    }
    for bad in [
        "",
        "ctrl-",
        "ctrl-ctrl-c",
        "f0",
        "f25",
        "f+5",
        "hyper-x",
        "enterr",
        " ",
        "ctrl-\t",
    ] {
        assert!(parse_key(bad).is_err(), "{bad:?} should be rejected");
    }
}

// ---------------------------------------------------------------- loading

#[test]
fn explicit_config_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_config(Some(Path::new("missing.toml")), dir.path()).unwrap_err();
    assert_eq!(err.to_string(), "missing.toml: config file not found");
}

#[test]
fn explicit_relative_config_resolves_against_cwd() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/x.toml"), "migrations = \"revs\"\n").unwrap();
    let config = load_config(Some(Path::new("conf/x.toml")), dir.path()).unwrap();
    assert_eq!(config.source, Some(dir.path().join("conf/x.toml")));
    assert_eq!(config.migrations_dir, dir.path().join("conf/revs"));
}

#[test]
fn config_in_working_directory_is_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("retort.toml"),
        "version_table = \"heads\"\n",
    )
    .unwrap();
    let config = load_config(None, dir.path()).unwrap();
    assert_eq!(config.version_table, "heads");
    assert_eq!(config.source, Some(dir.path().join("retort.toml")));
    assert_eq!(config.migrations_dir, dir.path().join("migrations"));
}

#[test]
fn errors_in_working_directory_config_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("retort.toml"), "\nversion_table = 1\n").unwrap();
    let err = load_config(None, dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "retort.toml:2: version_table: expected a string, found integer"
    );
}

#[test]
fn non_utf8_config_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"a = 1\nb = \"\xff\"\n").unwrap();
    let err = load_config(Some(&path), dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:2: the file is not valid UTF-8", path.display())
    );
}

#[test]
fn without_any_file_defaults_resolve_against_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let user_file_exists = retort::config::user_config_path().is_some_and(|p| p.is_file());
    if user_file_exists {
        return; // this machine has a per-user config; the defaults case cannot be observed
    }
    let config = load_config(None, dir.path()).unwrap();
    assert_eq!(config.source, None);
    assert_eq!(config.migrations_dir, dir.path().join("migrations"));
}

#[test]
fn user_config_path_ends_with_retort_toml() {
    if let Some(path) = retort::config::user_config_path() {
        assert!(path.ends_with("retort/retort.toml"), "{}", path.display());
    }
}

// ---------------------------------------------------------------- connection

const TWO_ENVS: &str = r#"
default_env = "dev"
[environments.dev]
url = "postgres://dev_user@dev-host:5433/dev_db"
search_path = "app, public"
lock_timeout = "5s"
[environments.prod]
url_env = "PROD_URL"
statement_timeout = "1min"
protected = true
"#;

#[test]
fn cli_url_wins_over_everything() {
    let config = parse(TWO_ENVS).unwrap();
    let env = vars(&[
        ("DATABASE_URL", "postgres://envvar@h1/db1"),
        ("PGHOST", "pghost"),
        ("PROD_URL", "postgres://prod@prod-host/prod"),
    ]);
    let settings = resolve_connection(
        Some("postgres://cli:secret@cli-host:6000/cli_db"),
        Some("prod"),
        &config,
        &lookup(&env),
    )
    .unwrap();
    assert_eq!(settings.url_source, "--database-url");
    assert_eq!(settings.display, "cli@cli-host:6000/cli_db");
    assert_eq!(settings.pg_config.get_password(), Some(&b"secret"[..]));
    // The chosen environment's settings still apply.
    let env = settings.env.expect("prod is chosen");
    assert_eq!(env.name, "prod");
    assert!(env.protected);
    assert_eq!(env.statement_timeout.as_deref(), Some("1min"));
}

#[test]
fn database_url_comes_before_the_environment() {
    let config = parse(TWO_ENVS).unwrap();
    let env = vars(&[("DATABASE_URL", "postgresql://envvar@h1:5444/db1")]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(settings.url_source, "DATABASE_URL");
    assert_eq!(settings.display, "envvar@h1:5444/db1");
    // default_env is dev, and its session settings apply to DATABASE_URL's database.
    let dev = settings.env.expect("default env");
    assert_eq!(dev.name, "dev");
    assert_eq!(dev.lock_timeout.as_deref(), Some("5s"));
}

#[test]
fn empty_database_url_counts_as_unset() {
    let config = parse(TWO_ENVS).unwrap();
    let env = vars(&[("DATABASE_URL", "")]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(settings.url_source, "environment 'dev' (url)");
}

#[test]
fn default_environment_url_is_used() {
    let config = parse(TWO_ENVS).unwrap();
    let settings = resolve_connection(None, None, &config, &|_| None).unwrap();
    assert_eq!(settings.url_source, "environment 'dev' (url)");
    assert_eq!(settings.display, "dev_user@dev-host:5433/dev_db");
    assert_eq!(
        settings.env.unwrap().search_path.as_deref(),
        Some("app, public")
    );
}

#[test]
fn explicit_environment_reads_url_env() {
    let config = parse(TWO_ENVS).unwrap();
    let env = vars(&[(
        "PROD_URL",
        "postgres://prod:pw@prod-host/prod_db?sslmode=require",
    )]);
    let settings = resolve_connection(None, Some("prod"), &config, &lookup(&env)).unwrap();
    assert_eq!(settings.url_source, "environment 'prod' (url_env PROD_URL)");
    assert_eq!(settings.display, "prod@prod-host:5432/prod_db");
    assert_eq!(settings.pg_config.get_ssl_mode(), SslMode::Require);
    assert_eq!(settings.pg_config.get_application_name(), Some("retort"));
}

#[test]
fn unset_url_env_names_the_variable() {
    let config = parse(TWO_ENVS).unwrap();
    let err = resolve_connection(None, Some("prod"), &config, &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment 'prod': url_env names the variable PROD_URL, which is not set"
    );
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let config = parse(TWO_ENVS).unwrap();
    let err = resolve_connection(None, Some("staging"), &config, &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown environment 'staging' in retort.toml: known: dev, prod"
    );
    // Even when a URL is given: -e with a typo must not be ignored.
    let err = resolve_connection(Some("postgres://h/d"), Some("staging"), &config, &|_| None);
    assert!(err.is_err());
    let err = resolve_connection(None, Some("x"), &Config::defaults(Path::new(".")), &|_| {
        None
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown environment 'x' (no config file found): no environments are defined"
    );
}

#[test]
fn the_only_environment_is_chosen_without_default_env() {
    let config =
        parse("[environments.solo]\nurl = \"postgres://u@solo/db\"\nprotected = true\n").unwrap();
    let settings = resolve_connection(None, None, &config, &|_| None).unwrap();
    assert_eq!(settings.url_source, "environment 'solo' (url)");
    assert!(settings.env.unwrap().protected);
}

#[test]
fn several_environments_without_a_choice_is_an_error() {
    let text = "[environments.a]\nurl = \"postgres://u@a/db\"\n[environments.b]\nurl = \"postgres://u@b/db\"\n";
    let config = parse(text).unwrap();
    let err = resolve_connection(None, None, &config, &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "several environments are configured (known: a, b); choose one with -e NAME or set default_env"
    );
    // A URL from outside the config needs no environment.
    let settings = resolve_connection(Some("postgres://u@x/db"), None, &config, &|_| None).unwrap();
    assert!(settings.env.is_none());
}

#[test]
fn pg_variables_are_the_last_resort() {
    let config = Config::defaults(Path::new("."));
    let env = vars(&[
        ("PGHOST", "pg-host"),
        ("PGPORT", "6543"),
        ("PGUSER", "pg_user"),
        ("PGPASSWORD", "pg secret"),
        ("PGDATABASE", "pg_db"),
        ("PGSSLMODE", "disable"),
    ]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(settings.url_source, "libpq PG* variables");
    assert_eq!(settings.display, "pg_user@pg-host:6543/pg_db");
    assert_eq!(settings.pg_config.get_password(), Some(&b"pg secret"[..]));
    assert_eq!(settings.pg_config.get_ssl_mode(), SslMode::Disable);
    assert!(settings.env.is_none());
}

#[test]
fn pg_variables_fill_what_the_url_leaves_out() {
    let config = Config::defaults(Path::new("."));
    let env = vars(&[
        ("DATABASE_URL", "postgres://only-host/"),
        ("PGUSER", "from_pguser"),
        ("PGPASSWORD", "pw"),
        ("PGDATABASE", "from_pgdatabase"),
        ("PGSSLMODE", "require"),
    ]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(
        settings.display,
        "from_pguser@only-host:5432/from_pgdatabase"
    );
    assert_eq!(settings.pg_config.get_password(), Some(&b"pw"[..]));
    assert_eq!(settings.pg_config.get_ssl_mode(), SslMode::Require);
    // ...but never override what the URL says.
    let env = vars(&[
        ("DATABASE_URL", "postgres://u:urlpw@h/db?sslmode=disable"),
        ("PGUSER", "other"),
        ("PGPASSWORD", "pw"),
        ("PGSSLMODE", "require"),
    ]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(settings.display, "u@h:5432/db");
    assert_eq!(settings.pg_config.get_password(), Some(&b"urlpw"[..]));
    assert_eq!(settings.pg_config.get_ssl_mode(), SslMode::Disable);
}

#[test]
fn pghost_lists_and_socket_paths() {
    let config = Config::defaults(Path::new("."));
    let env = vars(&[("PGHOST", "a,b"), ("PGPORT", "1,2"), ("PGUSER", "u")]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(settings.display, "u@a:1,b:2/u");
    let env = vars(&[("PGHOST", "/tmp/sockets"), ("PGUSER", "u")]);
    let settings = resolve_connection(None, None, &config, &lookup(&env)).unwrap();
    assert_eq!(
        settings.pg_config.get_hosts(),
        &[Host::Unix(PathBuf::from("/tmp/sockets"))]
    );
    assert_eq!(settings.display, "u@/tmp/sockets:5432/u");
}

#[test]
fn bad_pg_variables_are_reported() {
    let config = Config::defaults(Path::new("."));
    let env = vars(&[("PGPORT", "54x"), ("PGUSER", "u")]);
    let err = resolve_connection(None, None, &config, &lookup(&env)).unwrap_err();
    assert_eq!(err.to_string(), "PGPORT: invalid port '54x'");
    let env = vars(&[("PGSSLMODE", "sometimes"), ("PGUSER", "u")]);
    let err = resolve_connection(None, None, &config, &lookup(&env)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PGSSLMODE: invalid sslmode 'sometimes'"),
        "{err}"
    );
}

#[test]
fn invalid_url_error_is_redacted() {
    let config = Config::defaults(Path::new("."));
    let env = vars(&[("DATABASE_URL", "postgres://app:s3cr%40t@db:port/app")]);
    let err = resolve_connection(None, None, &config, &lookup(&env))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "DATABASE_URL: invalid connection string: invalid value for `port` (byte 27): expected port numbers 1-65535"
    );
    let err = resolve_connection(Some("password=hunter2 port=x"), None, &config, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--database-url: "), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn key_value_connection_strings_are_accepted() {
    let config = Config::defaults(Path::new("."));
    let settings = resolve_connection(
        Some("host=kv-host port=7000 user=kv dbname=kvdb password='a b'"),
        None,
        &config,
        &|_| None,
    )
    .unwrap();
    assert_eq!(settings.display, "kv@kv-host:7000/kvdb");
    assert_eq!(settings.pg_config.get_password(), Some(&b"a b"[..]));
}

#[test]
fn debug_output_never_shows_the_password() {
    let config = parse("[environments.p]\nurl = \"postgres://u:topsecret@h/d\"\n").unwrap();
    let settings = resolve_connection(None, None, &config, &|_| None).unwrap();
    let debug = format!("{config:?} {settings:?}");
    assert!(!debug.contains("topsecret"), "{debug}");
    assert!(debug.contains("url: Some(\"(hidden)\")"), "{debug}");
    assert!(debug.contains("display: \"u@h:5432/d\""), "{debug}");
}

// ---------------------------------------------------------------- redaction

#[test]
fn redacts_url_passwords() {
    let cases = [
        (
            "postgres://user:pass@host/db",
            "postgres://user:***@host/db",
        ),
        (
            "postgresql://user:pass@host:5432/db?sslmode=require",
            "postgresql://user:***@host:5432/db?sslmode=require",
        ),
        (
            "postgres://user:p%40ss%3Aw@host/db",
            "postgres://user:***@host/db",
        ),
        (
            "postgres://user:p@ss:w@host/db",
            "postgres://user:***@host/db",
        ),
        (
            "postgres://user:pa/ss@host/db",
            "postgres://user:***@host/db",
        ),
        ("postgres://:onlypass@host/db", "postgres://:***@host/db"),
        (
            "POSTGRES://User:Pass@Host/db",
            "POSTGRES://User:***@Host/db",
        ),
        (
            "postgres://host/db?user=u&password=secret&sslmode=disable",
            "postgres://host/db?user=u&password=***&sslmode=disable",
        ),
        (
            "postgres://host:5432/db?password=p@ss",
            "postgres://host:***",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(redact_url(input), expected, "{input}");
    }
}

#[test]
fn leaves_urls_without_passwords_alone() {
    for text in [
        "postgres://user@host/db",
        "postgres://host:5432/db",
        "postgres://host/db?sslmode=require",
        "plain text: no secrets here, password authentication failed for user \"bob\"",
        "",
    ] {
        assert_eq!(redact_url(text), text);
    }
}

#[test]
fn redacts_key_value_passwords() {
    let cases = [
        (
            "host=h password=secret user=u",
            "host=h password=*** user=u",
        ),
        ("password = secret", "password = ***"),
        (
            "host=h password='se cret' user=u",
            "host=h password=*** user=u",
        ),
        ("password='it\\'s' dbname=x", "password=*** dbname=x"),
        ("sslpassword=keypass host=h", "sslpassword=*** host=h"),
        (
            "PGPASSWORD=hunter2 retort upgrade",
            "PGPASSWORD=*** retort upgrade",
        ),
        ("password='unterminated and more", "password=***"),
    ];
    for (input, expected) in cases {
        assert_eq!(redact_url(input), expected, "{input}");
    }
    // Not a password assignment.
    assert_eq!(
        redact_url("passwords=3 nopassword"),
        "passwords=3 nopassword"
    );
}

#[test]
fn redacts_inside_longer_text() {
    let text = "error connecting to postgres://app:hunter2@db.example.com:5432/app (also tried 'host=db2 password=swordfish'): timeout";
    let redacted = redact_url(text);
    assert_eq!(
        redacted,
        "error connecting to postgres://app:***@db.example.com:5432/app (also tried 'host=db2 password=*** timeout"
    );
    assert!(!redacted.contains("hunter2") && !redacted.contains("swordfish"));
    let two = "from postgres://a:one@h1/d to postgres://b:two@h2/d";
    assert_eq!(
        redact_url(two),
        "from postgres://a:***@h1/d to postgres://b:***@h2/d"
    );
    assert_eq!(
        redact_url("ünïcode postgres://ü:p@h/d ✓"),
        "ünïcode postgres://ü:***@h/d ✓"
    );
}

#[test]
fn redaction_is_idempotent() {
    for text in [
        "postgres://user:pass@host/db",
        "host=h password='x y' user=u",
        "postgres://host/db?password=secret",
    ] {
        let once = redact_url(text);
        assert_eq!(redact_url(&once), once);
    }
}
