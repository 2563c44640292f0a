//! Finding, reading and validating `retort.toml`.
//!
//! The text is parsed into toml's spanned document tree (`DeTable`) and
//! walked by hand rather than deserialized with serde derive: every key and
//! value keeps its byte span, so each error (type, unknown key, semantic
//! check) can name the file, the line and the full dotted key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::connection::parse_connection_string;
use super::duration::{check_duration, parse_duration};
use super::keys::{CONSOLE_ACTIONS, check_bindings, parse_key};
use super::{
    CONFIG_FILE_NAME, Config, ConfigError, DEFAULT_LOCK_RETRY_BACKOFF, Environment,
    MAX_LOCK_RETRIES, known_names,
};
use crate::core::lint::{LintOptions, canonical_rule_name};
use crate::db::tls::{RootCert, SslMode};

const TOP_LEVEL_KEYS: &[&str] = &[
    "migrations",
    "version_table",
    "version_table_schema",
    "history_table",
    "default_env",
    "environments",
    "keys",
    "lint",
    "schema",
];

const LINT_KEYS: &[&str] = &[
    "enable",
    "disable",
    "fail_on",
    "large_table_rows",
    "large_table_mb",
];

const SCHEMA_KEYS: &[&str] = &["dir", "command"];

const ENVIRONMENT_KEYS: &[&str] = &[
    "url",
    "url_env",
    "search_path",
    "lock_timeout",
    "statement_timeout",
    "protected",
    "sslmode",
    "sslrootcert",
    "lock_retries",
    "lock_retry_backoff",
    "connect_timeout",
    "rehearsal_url",
];

/// PostgreSQL identifiers are truncated beyond this many bytes (NAMEDATALEN - 1).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Where the per-user config file lives (it may not exist), e.g.
/// `~/.config/retort/retort.toml` on Linux.
pub fn user_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "retort")
        .map(|dirs| dirs.config_dir().join(CONFIG_FILE_NAME))
}

/// Finds and reads the configuration: `explicit` (`-c FILE`, must exist),
/// else `retort.toml` in `cwd`, else the per-user file, else defaults.
pub fn load_config(explicit: Option<&Path>, cwd: &Path) -> Result<Config, ConfigError> {
    if let Some(given) = explicit {
        return read_and_parse(given, &cwd.join(given));
    }
    let local = cwd.join(CONFIG_FILE_NAME);
    if local.is_file() {
        return read_and_parse(Path::new(CONFIG_FILE_NAME), &local);
    }
    if let Some(user_file) = user_config_path().filter(|path| path.is_file()) {
        return read_and_parse(&user_file, &user_file);
    }
    Ok(Config::defaults(cwd))
}

/// Validates the text of a config file. `path` names the file in messages
/// and relative paths in it resolve against its directory.
pub fn parse_config(path: &Path, text: &str) -> Result<Config, ConfigError> {
    parse_text(path, path, text)
}

/// `shown` names the file in messages; `source` is where it really is
/// (relative paths in it resolve against its directory).
fn parse_text(shown: &Path, source: &Path, text: &str) -> Result<Config, ConfigError> {
    let base_dir = source.parent().unwrap_or(Path::new(""));
    let doc = Document { file: shown, text };
    let mut config = doc.parse(base_dir)?;
    config.source = Some(source.to_path_buf());
    Ok(config)
}

/// `shown` is how messages name the file, `full` where it is read from.
fn read_and_parse(shown: &Path, full: &Path) -> Result<Config, ConfigError> {
    let read_error = |message: String| ConfigError::Read {
        file: shown.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(full).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => read_error("config file not found".to_string()),
        _ => read_error(format!("cannot read config file: {err}")),
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&byte| byte == b'\n').count();
            return Err(ConfigError::At {
                file: shown.to_path_buf(),
                line,
                key: None,
                message: "the file is not valid UTF-8".to_string(),
            });
        }
    };
    parse_text(shown, full, &text)
}

type Key<'i> = Spanned<DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;

/// One key of the document with its dotted path, for messages.
struct Entry<'t, 'i> {
    path: String,
    key: &'t Key<'i>,
    value: &'t Value<'i>,
}

impl Entry<'_, '_> {
    fn name(&self) -> &str {
        self.key.get_ref()
    }
}

/// The text being validated, for turning spans into `file:line: key:` errors.
struct Document<'a> {
    file: &'a Path,
    text: &'a str,
}

impl<'a> Document<'a> {
    fn parse(&self, base_dir: &Path) -> Result<Config, ConfigError> {
        let root = DeTable::parse(self.text).map_err(|err| self.syntax_error(&err))?;
        let mut config = Config::defaults(base_dir);
        let mut default_env: Option<(Entry, String)> = None;
        // Where each table name was given, to point at the later one when
        // they collide.
        let mut table_keys: Vec<Entry> = Vec::new();
        for entry in self.entries(root.get_ref(), "") {
            if matches!(entry.name(), "version_table" | "history_table") {
                table_keys.push(Entry {
                    path: entry.path.clone(),
                    ..entry
                });
            }
            match entry.name() {
                "migrations" => {
                    let dir = self.string(&entry)?;
                    if dir.trim().is_empty() {
                        return Err(self.error(&entry, "must not be empty"));
                    }
                    config.migrations_dir = base_dir.join(dir);
                }
                "version_table" => config.version_table = self.table_name(&entry)?,
                "version_table_schema" => {
                    config.version_table_schema = Some(self.identifier(&entry)?)
                }
                "history_table" => config.history_table = self.table_name(&entry)?,
                "default_env" => {
                    let name = self.string(&entry)?.to_string();
                    default_env = Some((entry, name));
                }
                "environments" => config.environments = self.environments(&entry, base_dir)?,
                "keys" => config.keys = self.key_bindings(&entry)?,
                "lint" => config.lint = self.lint(&entry)?,
                "schema" => config.schema = Some(self.desired_schema(&entry, base_dir)?),
                _ => return Err(self.unknown_key(&entry, TOP_LEVEL_KEYS)),
            }
        }
        if let Some(problem) = table_collision(&config.version_table, &config.history_table)
            && let Some(later) = table_keys.last()
        {
            return Err(self.error(later, problem));
        }
        if let Some((entry, name)) = default_env {
            if !config.environments.contains_key(&name) {
                let known = known_names(&config.environments);
                let message = format!("no environment named '{name}' ({known})");
                return Err(self.error(&entry, message));
            }
            config.default_env = Some(name);
        }
        Ok(config)
    }

    fn environments(
        &self,
        entry: &Entry,
        base_dir: &Path,
    ) -> Result<BTreeMap<String, Environment>, ConfigError> {
        let mut environments = BTreeMap::new();
        for env_entry in self.entries(self.table(entry)?, &entry.path) {
            let name = env_entry.name().to_string();
            if let Err(problem) = check_environment_name(&name) {
                return Err(self.error(&env_entry, problem));
            }
            let environment = self.environment(&env_entry, name.clone(), base_dir)?;
            environments.insert(name, environment);
        }
        Ok(environments)
    }

    fn environment(
        &self,
        entry: &Entry,
        name: String,
        base_dir: &Path,
    ) -> Result<Environment, ConfigError> {
        let mut env = Environment {
            name,
            url: None,
            url_env: None,
            search_path: None,
            lock_timeout: None,
            statement_timeout: None,
            protected: false,
            sslmode: None,
            sslrootcert: None,
            lock_retries: 0,
            lock_retry_backoff: DEFAULT_LOCK_RETRY_BACKOFF,
            connect_timeout: None,
            rehearsal_url: None,
        };
        // Spans of url / url_env, to point at the second one if both are given.
        let mut url_key = None;
        let mut url_env_key = None;
        for field in self.entries(self.table(entry)?, &entry.path) {
            match field.name() {
                "url" => {
                    let url = self.string(&field)?;
                    if let Err(problem) = parse_connection_string(url) {
                        // The problem says what was expected, and never quotes the url.
                        let message = format!("invalid connection string: {problem}");
                        return Err(self.error(&field, message));
                    }
                    env.url = Some(url.to_string());
                    url_key = Some(field.key.span());
                }
                "url_env" => {
                    let var = self.string(&field)?;
                    if var.is_empty() || var.contains(['=', '\0']) {
                        let message = "expected the name of an environment variable";
                        return Err(self.error(&field, message));
                    }
                    env.url_env = Some(var.to_string());
                    url_env_key = Some(field.key.span());
                }
                "search_path" => env.search_path = Some(self.search_path(&field)?),
                "lock_timeout" => env.lock_timeout = Some(self.duration(&field)?),
                "statement_timeout" => env.statement_timeout = Some(self.duration(&field)?),
                "protected" => env.protected = self.boolean(&field)?,
                "sslmode" => {
                    let mode = SslMode::parse(self.string(&field)?);
                    env.sslmode = Some(mode.map_err(|problem| self.error(&field, problem))?);
                }
                "sslrootcert" => {
                    let path = self.string(&field)?;
                    if path.trim().is_empty() {
                        let message =
                            "expected the path of a PEM file of root certificates, or \"system\"";
                        return Err(self.error(&field, message));
                    }
                    env.sslrootcert = Some(RootCert::parse(path, base_dir));
                }
                "lock_retries" => env.lock_retries = self.retry_count(&field)?,
                "lock_retry_backoff" => {
                    let text = self.duration(&field)?;
                    let backoff = parse_duration(&text).map_err(|p| self.error(&field, p))?;
                    env.lock_retry_backoff = backoff;
                }
                "connect_timeout" => {
                    let text = self.duration(&field)?;
                    let limit = parse_duration(&text).map_err(|p| self.error(&field, p))?;
                    env.connect_timeout = Some(limit);
                }
                "rehearsal_url" => {
                    let url = self.string(&field)?;
                    if let Err(problem) = parse_connection_string(url) {
                        let message = format!("invalid connection string: {problem}");
                        return Err(self.error(&field, message));
                    }
                    env.rehearsal_url = Some(url.to_string());
                }
                _ => return Err(self.unknown_key(&field, ENVIRONMENT_KEYS)),
            }
        }
        match (url_key, url_env_key) {
            (Some(url), Some(url_env)) => {
                let (span, key) = if url.start > url_env.start {
                    (url, "url")
                } else {
                    (url_env, "url_env")
                };
                let path = join_key_path(&entry.path, key);
                let message = "give either url or url_env, not both";
                return Err(self.error_spanned(span, &path, message));
            }
            (None, None) => return Err(self.error(entry, "missing url or url_env")),
            _ => {}
        }
        Ok(env)
    }

    fn lint(&self, entry: &Entry) -> Result<LintOptions, ConfigError> {
        let mut lint = LintOptions::default();
        for field in self.entries(self.table(entry)?, &entry.path) {
            match field.name() {
                "enable" => lint.enable = self.rule_names(&field)?,
                "disable" => lint.disable = self.rule_names(&field)?,
                "fail_on" => {
                    let text = self.string(&field)?;
                    lint.fail_on = text.parse().map_err(|p: String| self.error(&field, p))?;
                }
                "large_table_rows" => lint.large_table_rows = self.count(&field)?,
                "large_table_mb" => {
                    lint.large_table_bytes = self.count(&field)?.saturating_mul(1024 * 1024)
                }
                _ => return Err(self.unknown_key(&field, LINT_KEYS)),
            }
        }
        Ok(lint)
    }

    /// A list of lint rule names, each one Squawk knows.
    fn rule_names(&self, entry: &Entry) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(items) = entry.value.get_ref() else {
            let found = entry.value.get_ref();
            return Err(self.type_error(entry, "a list of rule names", found));
        };
        let mut names = Vec::with_capacity(items.len());
        for item in items.iter() {
            let Some(text) = item.get_ref().as_str() else {
                let found = item.get_ref().type_str();
                let message = format!("expected a rule name, found {found}");
                return Err(self.error_spanned(item.span(), &entry.path, message));
            };
            let name = canonical_rule_name(text)
                .map_err(|problem| self.error_spanned(item.span(), &entry.path, problem))?;
            names.push(name);
        }
        Ok(names)
    }

    /// A whole number from zero up.
    fn count(&self, entry: &Entry) -> Result<u64, ConfigError> {
        let DeValue::Integer(number) = entry.value.get_ref() else {
            let found = entry.value.get_ref();
            return Err(self.type_error(entry, "a whole number", found));
        };
        i64::from_str_radix(number.as_str(), number.radix())
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                let message = format!(
                    "expected a whole number from 0 up, found {}",
                    number.as_str()
                );
                self.error(entry, message)
            })
    }

    /// `[schema]`: exactly one of `dir` and `command`.
    fn desired_schema(
        &self,
        entry: &Entry,
        base_dir: &Path,
    ) -> Result<super::DesiredSchema, ConfigError> {
        let mut found = None;
        for part in self.entries(self.table(entry)?, &entry.path) {
            let value = self.string(&part)?;
            if value.trim().is_empty() {
                return Err(self.error(&part, "must not be empty"));
            }
            let source = match part.name() {
                "dir" => super::DesiredSchema::Dir(base_dir.join(value)),
                "command" => super::DesiredSchema::Command(value.to_string()),
                _ => return Err(self.unknown_key(&part, SCHEMA_KEYS)),
            };
            if found.is_some() {
                return Err(self.error(&part, "give either `dir` or `command`, not both"));
            }
            found = Some(source);
        }
        found.ok_or_else(|| self.error(entry, "needs `dir = \"...\"` or `command = \"...\"`"))
    }

    fn key_bindings(&self, entry: &Entry) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
        let mut bindings = BTreeMap::new();
        let actions = self.entries(self.table(entry)?, &entry.path);
        for action in &actions {
            if !CONSOLE_ACTIONS.contains(&action.name()) {
                return Err(self.unknown_key(action, &CONSOLE_ACTIONS));
            }
            let specs: Vec<&Value> = match action.value.get_ref() {
                DeValue::String(_) => vec![action.value],
                DeValue::Array(items) => items.iter().collect(),
                other => {
                    let message = format!(
                        "expected a key string or a list of key strings, found {}",
                        other.type_str()
                    );
                    return Err(self.error(action, message));
                }
            };
            if specs.is_empty() {
                return Err(self.error(action, "expected at least one key"));
            }
            let mut keys = Vec::with_capacity(specs.len());
            for spec in specs {
                let Some(text) = spec.get_ref().as_str() else {
                    let found = spec.get_ref().type_str();
                    let message = format!("expected a key string, found {found}");
                    return Err(self.error_spanned(spec.span(), &action.path, message));
                };
                let key = parse_key(text)
                    .map_err(|problem| self.error_spanned(spec.span(), &action.path, problem))?;
                keys.push(key);
            }
            bindings.insert(action.name().to_string(), keys);
        }
        if let Err(problem) = check_bindings(&bindings) {
            // The later entry of the file: the one that made the clash.
            let at = actions
                .iter()
                .filter(|a| problem.actions.contains(&a.name()))
                .max_by_key(|a| a.key.span().start);
            return Err(match at {
                Some(action) => self.error(action, problem.message),
                None => self.error(entry, problem.message),
            });
        }
        Ok(bindings)
    }

    /// The table's entries in file order, so the first error reported is
    /// the first one in the file.
    fn entries<'t, 'i>(&self, table: &'t DeTable<'i>, parent: &str) -> Vec<Entry<'t, 'i>> {
        let mut entries: Vec<Entry> = table
            .iter()
            .map(|(key, value)| Entry {
                path: join_key_path(parent, key.get_ref()),
                key,
                value,
            })
            .collect();
        entries.sort_by_key(|entry| entry.key.span().start);
        entries
    }

    fn table<'t, 'i>(&self, entry: &Entry<'t, 'i>) -> Result<&'t DeTable<'i>, ConfigError> {
        match entry.value.get_ref() {
            DeValue::Table(table) => Ok(table),
            other => Err(self.type_error(entry, "a table", other)),
        }
    }

    fn string<'t>(&self, entry: &Entry<'t, '_>) -> Result<&'t str, ConfigError> {
        match entry.value.get_ref() {
            DeValue::String(text) => Ok(text.as_ref()),
            other => Err(self.type_error(entry, "a string", other)),
        }
    }

    fn boolean(&self, entry: &Entry) -> Result<bool, ConfigError> {
        match entry.value.get_ref() {
            DeValue::Boolean(flag) => Ok(*flag),
            other => Err(self.type_error(entry, "a boolean (true or false)", other)),
        }
    }

    fn retry_count(&self, entry: &Entry) -> Result<u32, ConfigError> {
        let DeValue::Integer(number) = entry.value.get_ref() else {
            let found = entry.value.get_ref();
            return Err(self.type_error(entry, "a number of retries such as 3", found));
        };
        let parsed = i64::from_str_radix(number.as_str(), number.radix()).ok();
        match parsed.and_then(|n| u32::try_from(n).ok()) {
            Some(count) if count <= MAX_LOCK_RETRIES => Ok(count),
            _ => Err(self.error(
                entry,
                format!(
                    "expected a number of retries from 0 to {MAX_LOCK_RETRIES}, found {}",
                    number.as_str()
                ),
            )),
        }
    }

    fn identifier(&self, entry: &Entry) -> Result<String, ConfigError> {
        let name = self.string(entry)?;
        check_identifier(name).map_err(|problem| self.error(entry, problem))?;
        Ok(name.to_string())
    }

    /// A table name, taken literally (quoted) in the version table's schema;
    /// a dot is refused, since it reads as a schema but would become part
    /// of the name.
    fn table_name(&self, entry: &Entry) -> Result<String, ConfigError> {
        let name = self.identifier(entry)?;
        if name.contains('.') {
            let message = format!(
                "'{name}' contains a dot, which would become part of the table's name, not a \
                 schema; give the schema as version_table_schema (the history table lives beside \
                 the version table)"
            );
            return Err(self.error(entry, message));
        }
        Ok(name)
    }

    fn search_path(&self, entry: &Entry) -> Result<String, ConfigError> {
        let path = self.string(entry)?;
        if path.split(',').any(|schema| schema.trim().is_empty()) {
            let message = "expected a comma-separated list of schema names, e.g. \"app, public\"";
            return Err(self.error(entry, message));
        }
        Ok(path.trim().to_string())
    }

    /// A timeout as `SET` accepts it; a bare integer means milliseconds.
    fn duration(&self, entry: &Entry) -> Result<String, ConfigError> {
        let text = match entry.value.get_ref() {
            DeValue::String(text) => text.trim().to_string(),
            DeValue::Integer(number) => i64::from_str_radix(number.as_str(), number.radix())
                .map(|ms| ms.to_string())
                .unwrap_or_else(|_| number.as_str().to_string()),
            other => return Err(self.type_error(entry, "a duration string such as \"5s\"", other)),
        };
        check_duration(&text).map_err(|problem| self.error(entry, problem))?;
        Ok(text)
    }

    fn type_error(&self, entry: &Entry, expected: &str, found: &DeValue) -> ConfigError {
        let message = format!("expected {expected}, found {}", found.type_str());
        self.error(entry, message)
    }

    fn unknown_key(&self, entry: &Entry, known: &[&str]) -> ConfigError {
        let message = match closest_match(entry.name(), known) {
            Some(suggestion) => format!("unknown key (did you mean '{suggestion}'?)"),
            None => format!("unknown key (expected one of: {})", known.join(", ")),
        };
        self.error(entry, message)
    }

    fn error(&self, entry: &Entry, message: impl Into<String>) -> ConfigError {
        self.error_spanned(entry.key.span(), &entry.path, message)
    }

    fn error_spanned(
        &self,
        span: Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::At {
            file: self.file.to_path_buf(),
            line: self.line_of(span.start),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    /// A TOML syntax error; the key is guessed from the offending line so
    /// the message still points at a setting where possible.
    fn syntax_error(&self, err: &toml::de::Error) -> ConfigError {
        let offset = err.span().map_or(0, |span| span.start);
        let line = self.line_of(offset);
        ConfigError::At {
            file: self.file.to_path_buf(),
            line,
            key: key_on_line(self.text, line),
            message: format!("invalid TOML: {}", err.message()),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        let before = self.text.as_bytes().get(..end).unwrap_or_default();
        1 + before.iter().filter(|&&byte| byte == b'\n').count()
    }
}

/// `environments` + `prod` -> `environments.prod`; keys that are not bare
/// TOML keys are quoted so the path can be read back unambiguously.
fn join_key_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// For syntax errors: the dotted key assigned on `line`, prefixed by the
/// table header above it, when the line looks like `key = ...`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let current = lines.get(line.checked_sub(1)?)?;
    if let Some(header) = current.trim_start().strip_prefix('[') {
        return clean_key(header.trim_start_matches('[').split(']').next()?);
    }
    let (left, _) = current.split_once('=')?;
    let key = clean_key(left)?;
    let header = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .and_then(|l| clean_key(l.trim_start_matches('[').split(']').next()?));
    Some(match header {
        Some(header) => format!("{header}.{key}"),
        None => key,
    })
}

/// A key as written (`a.b`, `"x y"`), or `None` if it does not look like one.
fn clean_key(raw: &str) -> Option<String> {
    let key = raw.trim();
    let plausible = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' '));
    plausible.then(|| key.to_string())
}

fn check_identifier(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_string());
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(format!(
            "'{name}' is {} bytes long; PostgreSQL identifiers have at most {MAX_IDENTIFIER_BYTES}",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_string());
    }
    Ok(())
}

/// Why the version table and the history table cannot have these names, if
/// they cannot. Both live in one schema, where tables, indexes and sequences
/// share one namespace: the version table's primary key is the index
/// `<version_table>_pkc` (Alembic's name), the history table's are
/// `<history_table>_pkey` and its id sequence `<history_table>_id_seq`.
fn table_collision(version: &str, history: &str) -> Option<String> {
    if version == history {
        return Some(format!(
            "'{history}' is also the version table (version_table); the history needs a table \
             of its own"
        ));
    }
    if version.to_lowercase() == history.to_lowercase() {
        return Some(format!(
            "'{history}' and the version table '{version}' differ only in letter case; \
             PostgreSQL folds unquoted names to lower case, so SQL written by hand would take \
             one for the other: choose another name"
        ));
    }
    if history == postgres_truncated(&format!("{version}_pkc")) {
        return Some(format!(
            "'{history}' is the name of the version table's primary key index; tables and \
             indexes share one namespace"
        ));
    }
    let implicit = [("primary key index", "_pkey"), ("id sequence", "_id_seq")];
    for (what, suffix) in implicit {
        if version == format!("{history}{suffix}") {
            return Some(format!(
                "the version table '{version}' has the name of the history table's {what}; \
                 tables, indexes and sequences share one namespace"
            ));
        }
    }
    None
}

/// A name as PostgreSQL stores it: cut to its first 63 bytes, on a
/// character boundary.
fn postgres_truncated(name: &str) -> &str {
    let mut end = name.len().min(MAX_IDENTIFIER_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Environment names are typed on the command line (`-e`, `--confirm`).
fn check_environment_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err("environment names may contain only letters, digits, '_', '-' and '.'".to_string())
    }
}

/// The closest known name within a small edit distance, for "did you mean".
fn closest_match<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (name.chars().count() / 3).max(2);
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let insertion = current[j] + 1;
            let deletion = previous[j + 1] + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous[b.len()]
}
