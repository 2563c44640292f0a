//! One revision file, parsed: header fields and the two SQL sections.
//!
//! Pure: the caller hands in the file's path (for messages) and its text.

use std::path::{Path, PathBuf};

use crate::core::duration::check_duration;
use crate::core::split::{SectionError, check_section, position_to_line_col};

/// A section of SQL (upgrade or downgrade) and where it sits in its file,
/// so statement positions can be mapped back to file lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSection {
    /// The section body as in the file, from the line after its marker up to
    /// the next marker (or the end), without trailing whitespace. Line endings
    /// are `\n` (a `\r\n` file is normalised when parsed).
    pub sql: String,
    /// 1-based line number in the file of the first line of `sql`.
    pub first_line: usize,
}

/// A parsed revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub id: String,
    /// Empty for a base; several entries for a merge.
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    /// Revision ids or branch labels this revision also depends on.
    pub depends_on: Vec<String>,
    pub message: String,
    pub create_date: Option<String>,
    /// `false` runs the revision outside a transaction, statement by statement.
    pub transactional: bool,
    /// `lock_timeout` for this revision's SQL only, overriding the
    /// environment's; PostgreSQL duration syntax as written (`"2s"`, `"500"`).
    pub lock_timeout: Option<String>,
    /// `statement_timeout` for this revision's SQL only, same syntax.
    pub statement_timeout: Option<String>,
    /// Lint rules silenced for this revision (`-- lint_ignore: rule-a,
    /// rule-b`); their hazards are still shown, marked ignored.
    pub lint_ignore: Vec<String>,
    pub upgrade: SqlSection,
    /// `None` when the file has no downgrade section: the revision is irreversible.
    pub downgrade: Option<SqlSection>,
    /// Path of the file as given to the parser (used in every message).
    pub path: PathBuf,
    /// 1-based line of each header key, for messages that point into the header.
    pub header_lines: HeaderLines,
}

/// Where each header key sits in the file (1-based), when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderLines {
    pub revision: usize,
    pub down_revision: Option<usize>,
    pub branch_labels: Option<usize>,
    pub depends_on: Option<usize>,
    pub lint_ignore: Option<usize>,
}

impl Revision {
    /// A revision with only graph fields set, for tests and synthetic graphs.
    pub fn synthetic(id: &str, downs: &[&str]) -> Revision {
        Revision {
            id: id.to_string(),
            down_revisions: downs.iter().map(|s| s.to_string()).collect(),
            branch_labels: Vec::new(),
            depends_on: Vec::new(),
            message: String::new(),
            create_date: None,
            transactional: true,
            lock_timeout: None,
            statement_timeout: None,
            lint_ignore: Vec::new(),
            upgrade: SqlSection {
                sql: String::new(),
                first_line: 1,
            },
            downgrade: Some(SqlSection {
                sql: String::new(),
                first_line: 1,
            }),
            path: PathBuf::from(format!("{id}.sql")),
            header_lines: HeaderLines {
                revision: 1,
                ..HeaderLines::default()
            },
        }
    }

    pub fn is_irreversible(&self) -> bool {
        self.downgrade.is_none()
    }

    /// The settings this revision sets for its own SQL, as
    /// `(setting name, value)` in the order they are applied.
    pub fn setting_overrides(&self) -> Vec<(&'static str, &str)> {
        [
            ("lock_timeout", self.lock_timeout.as_deref()),
            ("statement_timeout", self.statement_timeout.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// A file that could not be parsed: which file, which line, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// The header keys, in the order `render_revision` writes them.
pub const HEADER_KEYS: [&str; 10] = [
    "revision",
    "down_revision",
    "branch_labels",
    "depends_on",
    "message",
    "create_date",
    "transactional",
    "lock_timeout",
    "statement_timeout",
    "lint_ignore",
];

/// Words the target grammar gives a meaning; no id or label may be one.
const RESERVED_WORDS: [&str; 4] = ["head", "heads", "base", "current"];

/// Characters Alembic forbids in revision ids (they are target-grammar
/// operators); retort also forbids whitespace and commas (list separators).
const ILLEGAL_ID_CHARS: [char; 4] = ['@', '-', '+', ':'];

/// What is wrong with `name` as a revision id or branch label (`what` names
/// which), if anything: it must be usable in targets (`label@head`,
/// `rev+2`) and in comma-separated header lists. The loader and the
/// authoring of new revisions share this rule.
pub fn name_problem(name: &str, what: &str) -> Option<String> {
    let mut illegal: Vec<char> = name
        .chars()
        .filter(|&c| ILLEGAL_ID_CHARS.contains(&c) || c == ',' || c.is_whitespace())
        .collect();
    if !illegal.is_empty() {
        illegal.sort_unstable();
        illegal.dedup();
        let shown: Vec<String> = illegal
            .iter()
            .map(|c| c.escape_debug().to_string())
            .collect();
        return Some(format!(
            "Character(s) '{}' not allowed in {what} '{}'",
            shown.join(", "),
            echo(name)
        ));
    }
    if RESERVED_WORDS.contains(&name) {
        return Some(format!(
            "'{name}' is a reserved word and can't be used as a {what}"
        ));
    }
    None
}

/// Revision files end in this; the loader reads no other file.
pub const REVISION_FILE_SUFFIX: &str = ".sql";

/// Whether the loader skips a directory entry of this name whatever it is:
/// hidden names (a leading `.`), which keeps out editor lock files and
/// macOS `._` resource forks.
pub fn is_hidden_name(name: &[u8]) -> bool {
    name.starts_with(b".")
}

/// Whether the loader reads a file of this name as a revision file. New
/// revision files are named so that this holds, or are not written.
pub fn is_revision_file_name(name: &[u8]) -> bool {
    !is_hidden_name(name) && name.ends_with(REVISION_FILE_SUFFIX.as_bytes())
}

/// Header keys that change the graph or how a revision runs: written inside
/// a section they would be silently taken for SQL comments.
const STRUCTURAL_KEYS: [&str; 5] = [
    "revision",
    "down_revision",
    "branch_labels",
    "depends_on",
    "transactional",
];

/// Longest piece of user text quoted back in a message; a 20 MB header line
/// must not become a 20 MB error.
const MAX_ECHO_CHARS: usize = 60;

const UPGRADE_MARKER: &str = "-- migrate:upgrade";
const DOWNGRADE_MARKER: &str = "-- migrate:downgrade";

impl SqlSection {
    /// The file line of a 1-based line within `sql` (e.g. a statement's line).
    pub fn file_line(&self, section_line: usize) -> usize {
        self.first_line + section_line.saturating_sub(1)
    }
}

/// Parses a revision file. `path` is used only in error messages and stored in
/// the result.
///
/// The format: leading `-- key: value` header lines (blank lines allowed
/// between them), then `-- migrate:upgrade` and optionally
/// `-- migrate:downgrade` marker lines (dbmate's `-- migrate:up` /
/// `-- migrate:down` too), each once, in either order. Only blank lines and
/// `--` comments may sit between the header and the first marker. Markers are
/// recognised line by line, so a line reading `-- migrate:downgrade` inside a
/// multi-line string of the upgrade SQL would still start a section; likewise
/// a `-- depends_on: x` line (or another key that shapes the graph) inside a
/// section is an error rather than a silently ignored comment.
pub fn parse_revision(path: &Path, text: &str) -> Result<Revision, ParseError> {
    let text = normalize_text(text);
    let parser = FileParser { path };
    if let Some(offset) = text.find('\0') {
        // The server's wire protocol ends strings at NUL: the statement
        // would fail only when it runs, after the steps before it.
        let (line, column) = position_to_line_col(&text, offset);
        return Err(parser.error(
            line,
            format!(
                "NUL character (U+0000) at column {column}; PostgreSQL cannot take it \
                 in SQL text (is this a binary or UTF-16 file?)"
            ),
        ));
    }
    if text.trim().is_empty() {
        return Err(parser.error(
            1,
            format!(
                "the file is empty; a revision file starts with '-- revision: <id>' \
                 and has a '{UPGRADE_MARKER}' section"
            ),
        ));
    }
    let lines = numbered_lines(&text);
    let (header, body_start) = parser.read_header(&lines)?;
    // The layout first: a malformed header line below the header explains a
    // missing key better than "missing key" does.
    let (upgrade, downgrade) = parser.read_sections(&text, &lines[body_start..])?;
    let fields = parser.header_fields(&header)?;
    let upgrade = upgrade.ok_or_else(|| {
        let line = lines.get(body_start).map_or(lines.len() + 1, |l| l.number);
        parser.error(line, format!("missing '{UPGRADE_MARKER}' section marker"))
    })?;
    parser.check_statements("upgrade", &upgrade, fields.transactional)?;
    if let Some(downgrade) = &downgrade {
        parser.check_statements("downgrade", downgrade, fields.transactional)?;
    }
    Ok(Revision {
        id: fields.id,
        down_revisions: fields.down_revisions,
        branch_labels: fields.branch_labels,
        depends_on: fields.depends_on,
        message: fields.message,
        create_date: fields.create_date,
        transactional: fields.transactional,
        lock_timeout: fields.lock_timeout,
        statement_timeout: fields.statement_timeout,
        lint_ignore: fields.lint_ignore,
        upgrade,
        downgrade,
        path: path.to_path_buf(),
        header_lines: fields.lines,
    })
}

/// Renders a revision as file text: every header key in `HEADER_KEYS` order
/// (`down_revision` is always written, empty for a base; `transactional`
/// always; `branch_labels`, `depends_on`, `message`, `create_date` and the
/// timeouts only when set), a blank line, the upgrade section, and the
/// downgrade section unless the revision is irreversible.
///
/// `parse_revision(render_revision(r))` gives back `r` apart from its path and
/// line numbers, provided `r` is valid and its texts are already in parsed
/// form: single-line trimmed header values, SQL without trailing whitespace
/// and with `\n` line endings (render normalises the others).
pub fn render_revision(rev: &Revision) -> String {
    let mut out = String::new();
    push_header_line(&mut out, "revision", &rev.id);
    push_header_line(&mut out, "down_revision", &rev.down_revisions.join(", "));
    if !rev.branch_labels.is_empty() {
        push_header_line(&mut out, "branch_labels", &rev.branch_labels.join(", "));
    }
    if !rev.depends_on.is_empty() {
        push_header_line(&mut out, "depends_on", &rev.depends_on.join(", "));
    }
    push_header_line(&mut out, "message", &rev.message);
    if let Some(date) = &rev.create_date {
        push_header_line(&mut out, "create_date", date);
    }
    let transactional = if rev.transactional { "true" } else { "false" };
    push_header_line(&mut out, "transactional", transactional);
    for (key, value) in [
        ("lock_timeout", &rev.lock_timeout),
        ("statement_timeout", &rev.statement_timeout),
    ] {
        if let Some(value) = value {
            push_header_line(&mut out, key, value);
        }
    }
    push_header_line(&mut out, "lint_ignore", &rev.lint_ignore.join(", "));
    out.push('\n');
    push_section(&mut out, UPGRADE_MARKER, &rev.upgrade.sql);
    if let Some(downgrade) = &rev.downgrade {
        out.push('\n');
        push_section(&mut out, DOWNGRADE_MARKER, &downgrade.sql);
    }
    out
}

/// A header value as it is stored and written: line breaks (a lone `\r` can
/// hide in a header line) become spaces, surrounding whitespace goes. Parser
/// and renderer share it so that a value reads back as it was written.
fn single_line(value: &str) -> String {
    if value.contains(['\r', '\n']) {
        value.replace(['\r', '\n'], " ").trim().to_string()
    } else {
        value.trim().to_string()
    }
}

/// Writes `-- key: value`, with the value forced onto one line. Empty values
/// are skipped except for the keys that are always written.
fn push_header_line(out: &mut String, key: &str, value: &str) {
    let value = single_line(value);
    let value = value.as_str();
    if value.is_empty() && !matches!(key, "revision" | "down_revision" | "transactional") {
        return;
    }
    out.push_str("-- ");
    out.push_str(key);
    out.push(':');
    if !value.is_empty() {
        out.push(' ');
        out.push_str(value);
    }
    out.push('\n');
}

fn push_section(out: &mut String, marker: &str, sql: &str) {
    out.push_str(marker);
    out.push('\n');
    let body = normalize_line_endings(sql);
    let body = body.trim_end();
    if !body.is_empty() {
        out.push_str(body);
        out.push('\n');
    }
}

/// Drops a UTF-8 byte-order mark and normalises line endings, so that files
/// checked out with Windows line endings parse (and checksum) the same.
fn normalize_text(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    normalize_line_endings(text)
}

/// Turns every line ending into `\n`: the carriage returns right before a
/// `\n` are dropped, however many there are. Replacing `\r\n` once would turn
/// `\r\r\n` into `\r\n`, so a parsed section could still hold a `\r\n` and
/// change again when rendered and read back.
pub fn normalize_line_endings(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\r\n") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(content) => {
                out.push_str(content.trim_end_matches('\r'));
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One line of the file, without its `\n`.
struct Line<'a> {
    /// 1-based.
    number: usize,
    /// Byte offset of the line's first character.
    start: usize,
    text: &'a str,
}

fn numbered_lines(text: &str) -> Vec<Line<'_>> {
    let mut start = 0;
    // Counting first saves growing the vector line by line.
    let mut lines = Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        lines.push(Line {
            number: index + 1,
            start,
            text: raw.strip_suffix('\n').unwrap_or(raw),
        });
        start += raw.len();
    }
    lines
}

/// A `-- key: value` line split into key and trimmed value. The colon must be
/// followed by whitespace or the end of the line, so `-- migrate:upgrade` is
/// not a header line.
fn header_entry(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let (key, value) = rest.split_once(':')?;
    let mut key_chars = key.chars();
    let key_shaped = key_chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key_chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let value_separated = value.is_empty() || value.starts_with(char::is_whitespace);
    (key_shaped && value_separated).then(|| (key, value.trim()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Upgrade,
    Downgrade,
}

impl SectionKind {
    fn name(self) -> &'static str {
        match self {
            SectionKind::Upgrade => "upgrade",
            SectionKind::Downgrade => "downgrade",
        }
    }
}

/// What a `-- migrate:...` line says: a section start, or a message saying why
/// it is not a valid marker. `None` for any other line.
fn section_marker(line: &str) -> Option<Result<SectionKind, String>> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let word = rest.strip_prefix("migrate:")?;
    let (name, options) = word.split_once(char::is_whitespace).unwrap_or((word, ""));
    let kind = match name {
        "upgrade" | "up" => SectionKind::Upgrade,
        "downgrade" | "down" => SectionKind::Downgrade,
        _ => {
            return Some(Err(format!(
                "unknown section marker 'migrate:{}' (expected '{UPGRADE_MARKER}' or '{DOWNGRADE_MARKER}')",
                echo(name)
            )));
        }
    };
    let options = options.trim();
    if !options.is_empty() {
        return Some(Err(format!(
            "options after a section marker are not supported ('{}'); \
             use the header key 'transactional: false' instead of dbmate's transaction:false",
            echo(options)
        )));
    }
    Some(Ok(kind))
}

struct HeaderEntry<'a> {
    key: &'a str,
    value: &'a str,
    line: usize,
}

/// Header values after validation.
struct HeaderFields {
    id: String,
    down_revisions: Vec<String>,
    branch_labels: Vec<String>,
    depends_on: Vec<String>,
    message: String,
    create_date: Option<String>,
    transactional: bool,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
    lint_ignore: Vec<String>,
    lines: HeaderLines,
}

/// A section being read: where its body starts.
struct OpenSection {
    kind: SectionKind,
    marker_line: usize,
    body_start: usize,
}

struct FileParser<'p> {
    path: &'p Path,
}

impl FileParser<'_> {
    fn error(&self, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// The header entries, and the index of the first line after the header.
    fn read_header<'a>(
        &self,
        lines: &[Line<'a>],
    ) -> Result<(Vec<HeaderEntry<'a>>, usize), ParseError> {
        let mut entries: Vec<HeaderEntry<'a>> = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            if line.text.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = header_entry(line.text) else {
                return Ok((entries, index));
            };
            if !HEADER_KEYS.contains(&key) {
                return Err(self.error(line.number, unknown_key_message(key)));
            }
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                return Err(self.error(
                    line.number,
                    format!(
                        "duplicate header key '{key}' (first given at line {})",
                        first.line
                    ),
                ));
            }
            entries.push(HeaderEntry {
                key,
                value,
                line: line.number,
            });
        }
        Ok((entries, lines.len()))
    }

    fn header_fields(&self, entries: &[HeaderEntry]) -> Result<HeaderFields, ParseError> {
        let entry = |key: &str| entries.iter().find(|e| e.key == key);
        let Some(revision) = entry("revision") else {
            return Err(self.error(1, "missing required header key 'revision'"));
        };
        if revision.value.is_empty() {
            return Err(self.error(revision.line, "empty revision identifier"));
        }
        self.check_name(revision, revision.value, "revision identifier")?;
        let id = revision.value.to_string();

        let down_revisions = self.name_list(entry("down_revision"), "revision identifier")?;
        if down_revisions.contains(&id) {
            let line = entry("down_revision").map_or(revision.line, |e| e.line);
            return Err(self.error(line, format!("Self-loop is detected in revisions ({id})")));
        }
        let depends_on = self.name_list(entry("depends_on"), "revision identifier")?;
        if depends_on.contains(&id) {
            let line = entry("depends_on").map_or(revision.line, |e| e.line);
            return Err(self.error(
                line,
                format!("Dependency self-loop is detected in revisions ({id})"),
            ));
        }
        let branch_labels = self.name_list(entry("branch_labels"), "branch label")?;
        let transactional = match entry("transactional") {
            None => true,
            Some(e) if e.value == "true" => true,
            Some(e) if e.value == "false" => false,
            Some(e) => {
                return Err(self.error(
                    e.line,
                    format!(
                        "transactional must be 'true' or 'false', not '{}'",
                        echo(e.value)
                    ),
                ));
            }
        };
        Ok(HeaderFields {
            id,
            down_revisions,
            branch_labels,
            depends_on,
            message: entry("message").map_or_else(String::new, |e| single_line(e.value)),
            create_date: entry("create_date")
                .map(|e| single_line(e.value))
                .filter(|value| !value.is_empty()),
            transactional,
            lock_timeout: self.timeout(entry("lock_timeout"))?,
            statement_timeout: self.timeout(entry("statement_timeout"))?,
            lint_ignore: self.lint_rules(entry("lint_ignore"))?,
            lines: HeaderLines {
                revision: revision.line,
                down_revision: entry("down_revision").map(|e| e.line),
                branch_labels: entry("branch_labels").map(|e| e.line),
                depends_on: entry("depends_on").map(|e| e.line),
                lint_ignore: entry("lint_ignore").map(|e| e.line),
            },
        })
    }

    /// A timeout in the syntax the config file uses for the same settings.
    fn timeout(&self, entry: Option<&HeaderEntry>) -> Result<Option<String>, ParseError> {
        let Some(entry) = entry else {
            return Ok(None);
        };
        check_duration(entry.value)
            .map_err(|problem| self.error(entry.line, format!("{}: {problem}", entry.key)))?;
        Ok(Some(entry.value.to_string()))
    }

    /// The rule names of `lint_ignore`, each one the linter knows: a
    /// misspelt name would otherwise silence nothing without a word.
    fn lint_rules(&self, entry: Option<&HeaderEntry>) -> Result<Vec<String>, ParseError> {
        let Some(entry) = entry else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = Vec::new();
        for name in entry
            .value
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let Ok(rule) = name.parse::<squawk_linter::Rule>() else {
                return Err(self.error(
                    entry.line,
                    format!("lint_ignore: unknown lint rule '{}'", echo(name)),
                ));
            };
            // One spelling per rule (Squawk reads `prefer-timestamptz` too).
            let canonical = rule.to_string();
            if !names.contains(&canonical) {
                names.push(canonical);
            }
        }
        Ok(names)
    }

    /// A comma-separated list: items trimmed, empty ones dropped, each checked.
    fn name_list(
        &self,
        entry: Option<&HeaderEntry>,
        what: &str,
    ) -> Result<Vec<String>, ParseError> {
        let Some(entry) = entry else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = Vec::new();
        for name in entry
            .value
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            self.check_name(entry, name, what)?;
            if names.iter().any(|n| n == name) {
                return Err(self.error(
                    entry.line,
                    format!("'{}' is listed twice in {}", echo(name), entry.key),
                ));
            }
            names.push(name.to_string());
        }
        Ok(names)
    }

    /// Ids and labels must be usable in targets (`label@head`, `rev+2`) and lists.
    fn check_name(&self, entry: &HeaderEntry, name: &str, what: &str) -> Result<(), ParseError> {
        match name_problem(name, what) {
            Some(problem) => Err(self.error(entry.line, problem)),
            None => Ok(()),
        }
    }

    /// The upgrade and downgrade sections of the lines after the header.
    fn read_sections(
        &self,
        text: &str,
        lines: &[Line],
    ) -> Result<(Option<SqlSection>, Option<SqlSection>), ParseError> {
        let mut open: Option<OpenSection> = None;
        let mut upgrade: Option<(SqlSection, usize)> = None;
        let mut downgrade: Option<(SqlSection, usize)> = None;
        for line in lines {
            match section_marker(line.text) {
                Some(Ok(kind)) => {
                    let done = open.take();
                    self.close_section(text, done, line.start, &mut upgrade, &mut downgrade);
                    let earlier = match kind {
                        SectionKind::Upgrade => &upgrade,
                        SectionKind::Downgrade => &downgrade,
                    };
                    if let Some((_, first)) = earlier {
                        return Err(self.error(
                            line.number,
                            format!(
                                "second {} section marker (the first is at line {first})",
                                kind.name()
                            ),
                        ));
                    }
                    open = Some(OpenSection {
                        kind,
                        marker_line: line.number,
                        body_start: line.start + line.text.len() + 1,
                    });
                }
                Some(Err(message)) => return Err(self.error(line.number, message)),
                None => match &open {
                    None => self.check_preamble_line(line)?,
                    Some(section) => self.check_section_line(section, line)?,
                },
            }
        }
        self.close_section(text, open, text.len(), &mut upgrade, &mut downgrade);
        Ok((upgrade.map(|s| s.0), downgrade.map(|s| s.0)))
    }

    fn close_section(
        &self,
        text: &str,
        section: Option<OpenSection>,
        end: usize,
        upgrade: &mut Option<(SqlSection, usize)>,
        downgrade: &mut Option<(SqlSection, usize)>,
    ) {
        let Some(section) = section else {
            return;
        };
        let body = text
            .get(section.body_start.min(end)..end)
            .unwrap_or_default();
        let parsed = SqlSection {
            sql: body.trim_end().to_string(),
            first_line: section.marker_line + 1,
        };
        let slot = match section.kind {
            SectionKind::Upgrade => upgrade,
            SectionKind::Downgrade => downgrade,
        };
        *slot = Some((parsed, section.marker_line));
    }

    /// Between the header and the first marker only blank lines and `--`
    /// comments may appear; a header key there means the header was broken by
    /// another line, and would otherwise be silently ignored.
    fn check_preamble_line(&self, line: &Line) -> Result<(), ParseError> {
        let trimmed = line.text.trim();
        if trimmed.is_empty() {
            return Ok(());
        }
        if let Some((key, _)) = header_entry(trimmed)
            && HEADER_KEYS.contains(&key)
        {
            return Err(self.error(
                line.number,
                format!(
                    "header key '{key}' after the end of the header; header lines must come \
                     first, with only blank lines between them"
                ),
            ));
        }
        if let Some(key) = malformed_header_key(trimmed) {
            return Err(self.error(
                line.number,
                format!(
                    "malformed header line for '{key}': write it '-- {key}: <value>' \
                     (a colon and a space after the key), among the first lines of the file"
                ),
            ));
        }
        if trimmed.starts_with("--") {
            return Ok(());
        }
        Err(self.error(
            line.number,
            format!(
                "SQL before the first section marker; start the section with '{UPGRADE_MARKER}'"
            ),
        ))
    }

    /// A header key that shapes the graph, written inside a section, would be
    /// read as a SQL comment and silently ignored (a `depends_on` lost, a
    /// revision made a base); that is refused. `message` and `create_date`
    /// are left alone: such comments are plausible SQL commentary.
    fn check_section_line(&self, section: &OpenSection, line: &Line) -> Result<(), ParseError> {
        match header_entry(line.text) {
            Some((key, _)) if STRUCTURAL_KEYS.contains(&key) => Err(self.error(
                line.number,
                format!(
                    "header key '{key}' inside the {} section (opened at line {}); header \
                     lines must come before the first section marker",
                    section.kind.name(),
                    section.marker_line
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Unterminated quotes and comments, and transaction control the
    /// revision cannot honour, are reported at their file line.
    fn check_statements(
        &self,
        name: &str,
        section: &SqlSection,
        transactional: bool,
    ) -> Result<(), ParseError> {
        check_section(&section.sql, transactional).map_err(|e| match e {
            SectionError::Unclosed(e) => self.error(
                section.file_line(e.line),
                format!(
                    "{name} section: {} opened at column {}",
                    e.message, e.column
                ),
            ),
            SectionError::TransactionControl(e) => self.error(
                section.file_line(e.line),
                format!("{name} section, column {}: {}", e.column, e.message),
            ),
        })
    }
}

/// `text` as quoted in a message: cut after `MAX_ECHO_CHARS` characters.
fn echo(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => {
            std::borrow::Cow::Owned(format!("{}... ({} bytes)", &text[..cut], text.len()))
        }
    }
}

/// A comment line that names a header key but is not a valid header line:
/// `-- down_revision` (no value), `-- down_revision:b2` (no space after the
/// colon), `-- down_revision = b2`. Prose such as `-- revision history`
/// does not match.
fn malformed_header_key(line: &str) -> Option<&'static str> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let word_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let key = HEADER_KEYS.iter().find(|k| **k == &rest[..word_end])?;
    let after = &rest[word_end..];
    let after_trimmed = after.trim_start();
    (after_trimmed.is_empty() || after_trimmed.starts_with([':', '='])).then_some(*key)
}

fn unknown_key_message(key: &str) -> String {
    let mut message = format!(
        "unknown header key '{}' (expected one of: {})",
        echo(key),
        HEADER_KEYS.join(", ")
    );
    if key == "migrate" {
        message.push_str(&format!(
            "; section markers are written '{UPGRADE_MARKER}' and '{DOWNGRADE_MARKER}'"
        ));
    } else if let Some(close) = closest_key(key) {
        message.push_str(&format!("; did you mean '{close}'?"));
    }
    message
}

/// The known key a misspelt one most likely meant.
fn closest_key(key: &str) -> Option<&'static str> {
    // Far longer than any key: no suggestion, and no quadratic distance table.
    if key.len() > 2 * MAX_ECHO_CHARS {
        return None;
    }
    let lowered = key.to_ascii_lowercase();
    let alias = match lowered.as_str() {
        "revises" | "down_revisions" | "parent" | "parents" => Some("down_revision"),
        "dependencies" | "depends" => Some("depends_on"),
        "labels" | "branches" | "branch" => Some("branch_labels"),
        "transaction" => Some("transactional"),
        "locktimeout" | "lock_wait_timeout" => Some("lock_timeout"),
        "timeout" | "statementtimeout" => Some("statement_timeout"),
        _ => None,
    };
    alias.or_else(|| {
        HEADER_KEYS
            .iter()
            .map(|known| (edit_distance(&lowered, known), *known))
            .filter(|(distance, _)| *distance <= 2)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, known)| known)
    })
}

/// Levenshtein distance; header keys are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
-- revision: 3c2e5a7b9d1e
-- down_revision: 2b1d4f6a8c0d
-- branch_labels: billing
-- depends_on: 9f8e7d6c5b4a
-- message: add invoices
-- create_date: 2026-11-21 10:30:00
-- transactional: true

-- migrate:upgrade
CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric NOT NULL);

-- migrate:downgrade
DROP TABLE invoices;
";

    fn parse(text: &str) -> Result<Revision, ParseError> {
        parse_revision(Path::new("migrations/x.sql"), text)
    }

    fn parsed(text: &str) -> Revision {
        parse(text).unwrap_or_else(|e| panic!("parse failed: {e}"))
    }

    fn parse_error(text: &str) -> ParseError {
        match parse(text) {
            Ok(rev) => panic!("expected an error, parsed {rev:?}"),
            Err(e) => e,
        }
    }

    /// A minimal valid file with extra header lines and sections.
    fn file(header: &str, body: &str) -> String {
        format!("-- revision: abc\n{header}\n-- migrate:upgrade\nSELECT 1;\n{body}")
    }

    #[test]
    fn parses_the_documented_example() {
        let rev = parsed(EXAMPLE);
        assert_eq!(rev.id, "3c2e5a7b9d1e");
        assert_eq!(rev.down_revisions, vec!["2b1d4f6a8c0d"]);
        assert_eq!(rev.branch_labels, vec!["billing"]);
        assert_eq!(rev.depends_on, vec!["9f8e7d6c5b4a"]);
        assert_eq!(rev.message, "add invoices");
        assert_eq!(rev.create_date.as_deref(), Some("2026-11-21 10:30:00"));
        assert!(rev.transactional);
        assert_eq!(
            rev.upgrade.sql,
            "CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric NOT NULL);"
        );
        assert_eq!(rev.upgrade.first_line, 10);
        let down = rev
            .downgrade
            .as_ref()
            .map(|d| (d.sql.as_str(), d.first_line));
        assert_eq!(down, Some(("DROP TABLE invoices;", 13)));
        assert_eq!(rev.path, PathBuf::from("migrations/x.sql"));
        assert_eq!(
            rev.header_lines,
            HeaderLines {
                revision: 1,
                down_revision: Some(2),
                branch_labels: Some(3),
                depends_on: Some(4),
                lint_ignore: None,
            }
        );
        assert!(!rev.is_irreversible());
    }

    #[test]
    fn defaults_for_absent_keys() {
        let rev = parsed("-- revision: a1\n-- migrate:upgrade\n");
        assert!(rev.down_revisions.is_empty());
        assert!(rev.branch_labels.is_empty() && rev.depends_on.is_empty());
        assert_eq!(rev.message, "");
        assert_eq!(rev.create_date, None);
        assert!(rev.transactional);
        assert_eq!(rev.upgrade.sql, "");
        assert_eq!(rev.upgrade.first_line, 3);
        assert!(rev.is_irreversible());
        assert_eq!(rev.header_lines.down_revision, None);
    }

    #[test]
    fn empty_down_revision_is_a_base() {
        let rev = parsed(&file("-- down_revision:", ""));
        assert!(rev.down_revisions.is_empty());
        assert_eq!(rev.header_lines.down_revision, Some(2));
    }

    #[test]
    fn comma_separated_lists() {
        let rev = parsed(&file(
            "-- down_revision: a1 ,b2,  c3\n-- branch_labels: x, ,y,\n-- depends_on: ,d4",
            "",
        ));
        assert_eq!(rev.down_revisions, vec!["a1", "b2", "c3"]);
        assert_eq!(rev.branch_labels, vec!["x", "y"]);
        assert_eq!(rev.depends_on, vec!["d4"]);
    }

    #[test]
    fn blank_lines_inside_header_and_colons_in_values() {
        let rev =
            parsed("\n-- revision: a1\n\n   \n-- message: fix: the thing\n-- migrate:upgrade\n");
        assert_eq!(rev.message, "fix: the thing");
        assert_eq!(rev.header_lines.revision, 2);
    }

    #[test]
    fn transactional_false_and_bad_values() {
        assert!(!parsed(&file("-- transactional: false", "")).transactional);
        let e = parse_error(&file("-- transactional: no", ""));
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("'true' or 'false'") && e.message.contains("'no'"),
            "{e}"
        );
        assert_eq!(parse_error(&file("-- transactional:", "")).line, 2);
    }

    #[test]
    fn per_revision_timeouts() {
        let rev = parsed(&file("-- lock_timeout: 2s\n-- statement_timeout: 500", ""));
        assert_eq!(rev.lock_timeout.as_deref(), Some("2s"));
        assert_eq!(rev.statement_timeout.as_deref(), Some("500"));
        let plain = parsed(&file("", ""));
        assert_eq!((plain.lock_timeout, plain.statement_timeout), (None, None));
        let e = parse_error(&file("-- message: m\n-- lock_timeout: 5 seconds", ""));
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .starts_with("lock_timeout: expected a duration such as"),
            "{e}"
        );
        assert!(e.message.contains("\"5 seconds\""), "{e}");
        let e = parse_error(&file("-- statement_timeout:", ""));
        assert!(e.message.starts_with("statement_timeout: expected"), "{e}");
        let e = parse_error(&file("-- statement_timeout: 30d", ""));
        assert!(e.message.contains("too long"), "{e}");
        let e = parse_error(&file("-- lock_timout: 1s", ""));
        assert!(e.message.contains("did you mean 'lock_timeout'?"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_line_and_suggestion() {
        let e = parse_error("-- revision: a1\n\n-- down_revisions: b2\n-- migrate:upgrade\n");
        assert_eq!(e.line, 3);
        let shown = e.to_string();
        assert!(
            shown.starts_with("migrations/x.sql:3: unknown header key 'down_revisions'"),
            "{shown}"
        );
        assert!(
            shown.contains("expected one of: revision, down_revision,"),
            "{shown}"
        );
        assert!(shown.contains("did you mean 'down_revision'?"), "{shown}");
        let e = parse_error(&file("-- dependencies: x", ""));
        assert!(e.message.contains("did you mean 'depends_on'?"), "{e}");
        let e = parse_error(&file("-- author: me", ""));
        assert!(!e.message.contains("did you mean"), "{e}");
    }

    #[test]
    fn duplicate_key() {
        let e = parse_error(&file("-- message: a\n-- message: b", ""));
        assert_eq!(e.line, 3);
        assert!(e.message.contains("duplicate header key 'message'"), "{e}");
        assert!(e.message.contains("line 2"), "{e}");
    }

    #[test]
    fn missing_or_empty_revision() {
        let e = parse_error("-- message: x\n-- migrate:upgrade\nSELECT 1;\n");
        assert!(
            e.message.contains("missing required header key 'revision'"),
            "{e}"
        );
        let e = parse_error("-- message: x\n-- revision:\n-- migrate:upgrade\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("empty revision"), "{e}");
        for blank in ["", "\u{feff}", " \n\r\n\t"] {
            let e = parse_error(blank);
            assert_eq!(e.line, 1);
            assert!(e.message.starts_with("the file is empty"), "{e}");
        }
    }

    #[test]
    fn illegal_characters_in_ids_and_labels() {
        let e = parse_error("-- revision: a-b\n-- migrate:upgrade\n");
        assert_eq!(e.line, 1);
        assert_eq!(
            e.message,
            "Character(s) '-' not allowed in revision identifier 'a-b'"
        );
        let e = parse_error("-- revision: a@b+c:d\n-- migrate:upgrade\n");
        assert_eq!(
            e.message,
            "Character(s) '+, :, @' not allowed in revision identifier 'a@b+c:d'"
        );
        let e = parse_error(&file("-- down_revision: x y", ""));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("revision identifier 'x y'"), "{e}");
        let e = parse_error(&file("-- branch_labels: my-label", ""));
        assert!(
            e.message.contains("not allowed in branch label 'my-label'"),
            "{e}"
        );
        let e = parse_error(&file("-- depends_on: a@b", ""));
        assert!(e.message.contains("'a@b'"), "{e}");
    }

    #[test]
    fn reserved_words() {
        for word in ["head", "heads", "base", "current"] {
            let e = parse_error(&format!("-- revision: {word}\n-- migrate:upgrade\n"));
            assert!(e.message.contains("reserved word"), "{e}");
            let e = parse_error(&file(&format!("-- branch_labels: {word}"), ""));
            assert!(e.message.contains("branch label"), "{e}");
        }
    }

    #[test]
    fn self_loops() {
        let e = parse_error("-- revision: a1\n-- down_revision: b2, a1\n-- migrate:upgrade\n");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "Self-loop is detected in revisions (a1)");
        let e = parse_error("-- revision: a1\n-- depends_on: a1\n-- migrate:upgrade\n");
        assert_eq!(
            e.message,
            "Dependency self-loop is detected in revisions (a1)"
        );
    }

    #[test]
    fn duplicate_list_entries() {
        let e = parse_error(&file("-- down_revision: b2, b2", ""));
        assert!(e.message.contains("'b2' is listed twice"), "{e}");
    }

    #[test]
    fn missing_upgrade_marker() {
        let e = parse_error("-- revision: a1\n\n-- migrate:downgrade\nDROP TABLE t;\n");
        assert!(e.message.contains("missing '-- migrate:upgrade'"), "{e}");
        assert_eq!(e.line, 3);
        let e = parse_error("-- revision: a1\n");
        assert!(e.message.contains("missing '-- migrate:upgrade'"), "{e}");
    }

    #[test]
    fn sql_before_first_marker() {
        let e = parse_error(
            "-- revision: a1\n-- a comment is fine\n\nCREATE TABLE t ();\n-- migrate:upgrade\n",
        );
        assert_eq!(e.line, 4);
        assert!(
            e.message.contains("SQL before the first section marker"),
            "{e}"
        );
    }

    #[test]
    fn header_key_after_the_header_ended() {
        let e = parse_error(
            "-- revision: a1\n-- Adds things.\n-- down_revision: b2\n-- migrate:upgrade\n",
        );
        assert_eq!(e.line, 3);
        assert!(e.message.contains("after the end of the header"), "{e}");
        // A comment that merely looks like `key: value` is fine there.
        let rev = parsed("-- revision: a1\n-- Adds things.\n-- Note: x\n-- migrate:upgrade\n");
        assert_eq!(rev.id, "a1");
    }

    #[test]
    fn dbmate_markers_and_any_order() {
        let rev = parsed(
            "-- revision: a1\n-- migrate:down\nDROP TABLE t;\n-- migrate:up\nCREATE TABLE t ();\n",
        );
        assert_eq!(rev.upgrade.sql, "CREATE TABLE t ();");
        assert_eq!(rev.upgrade.first_line, 5);
        assert_eq!(
            rev.downgrade.map(|d| (d.sql, d.first_line)),
            Some(("DROP TABLE t;".to_string(), 3))
        );
    }

    #[test]
    fn marker_options_and_unknown_markers_are_errors() {
        let e = parse_error("-- revision: a1\n-- migrate:up transaction:false\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("transactional: false"), "{e}");
        let e = parse_error(&file("", "-- migrate:downgrades\n"));
        assert!(
            e.message
                .contains("unknown section marker 'migrate:downgrades'"),
            "{e}"
        );
        let e = parse_error("-- revision: a1\n-- migrate: upgrade\n");
        assert!(
            e.message
                .contains("markers are written '-- migrate:upgrade'"),
            "{e}"
        );
    }

    #[test]
    fn second_marker_is_an_error() {
        let e = parse_error(&file("", "-- migrate:downgrade\n-- migrate:up\n"));
        assert_eq!(e.line, 6);
        assert!(
            e.message
                .contains("second upgrade section marker (the first is at line 3)"),
            "{e}"
        );
        let e = parse_error(&file("", "-- migrate:down\n\n-- migrate:downgrade\n"));
        assert!(e.message.contains("second downgrade"), "{e}");
    }

    #[test]
    fn empty_downgrade_is_a_deliberate_no_op() {
        let rev = parsed(&file("", "\n-- migrate:downgrade\n\n  \n"));
        assert_eq!(rev.downgrade.as_ref().map(|d| d.sql.as_str()), Some(""));
        assert!(!rev.is_irreversible());
        let rev = parsed(&file("", "-- migrate:downgrade"));
        assert_eq!(rev.downgrade.map(|d| d.sql), Some(String::new()));
    }

    #[test]
    fn marker_like_text_inside_sql_line_is_not_a_marker() {
        let rev = parsed(&file("", "SELECT '-- migrate:downgrade';\n"));
        assert!(rev.downgrade.is_none());
        assert!(rev.upgrade.sql.ends_with("SELECT '-- migrate:downgrade';"));
    }

    #[test]
    fn crlf_and_bom() {
        let text = format!("\u{feff}{}", EXAMPLE.replace('\n', "\r\n"));
        let rev = parsed(&text);
        let plain = parsed(EXAMPLE);
        assert_eq!(rev, plain);
        assert!(!rev.upgrade.sql.contains('\r'));
    }

    #[test]
    fn unterminated_dollar_quote_reported_at_file_line() {
        let text = "-- revision: a1\n\n-- migrate:upgrade\nSELECT 1;\n\nCREATE FUNCTION f() RETURNS int AS $fn$\nSELECT 1;\n\n-- migrate:downgrade\n";
        let e = parse_error(text);
        assert_eq!(e.line, 6);
        assert_eq!(
            e.to_string(),
            "migrations/x.sql:6: upgrade section: unterminated dollar-quoted string $fn$ opened at column 36"
        );
    }

    #[test]
    fn unterminated_comment_in_downgrade_reported_at_file_line() {
        let e = parse_error(&file(
            "",
            "-- migrate:downgrade\nDROP TABLE t;\n  /* open\n",
        ));
        assert_eq!(e.line, 7);
        assert!(
            e.message
                .starts_with("downgrade section: unterminated /* comment"),
            "{e}"
        );
        assert!(e.message.contains("column 3"), "{e}");
    }

    #[test]
    fn carriage_returns_before_a_newline_all_go() {
        // Found by fuzzing: `\r\r\n` used to become `\r\n` in the parsed SQL,
        // which rendering then turned into `\n`: the round trip changed it.
        let rev = parsed("-- revision: zz\n-- migrate:upgrade\r\r\nSELECT 1;\r\r\n\rSELECT 2;");
        assert_eq!(rev.upgrade.sql, "SELECT 1;\n\rSELECT 2;");
        let again = parsed(&render_revision(&rev));
        assert_eq!(again.upgrade.sql, rev.upgrade.sql);
        assert_eq!(normalize_line_endings("a\r\r\nb\r"), "a\nb\r");
        assert_eq!(normalize_line_endings("a\rb\n"), "a\rb\n");
    }

    #[test]
    fn carriage_return_inside_a_header_value_becomes_a_space() {
        // Found by fuzzing: a lone `\r` stayed in the message, and rendering
        // (which keeps values on one line) then changed it.
        let rev = parsed(
            "-- revision: a1\n-- message: x\ry \r\n-- create_date: \r\n-- migrate:upgrade\n",
        );
        assert_eq!(rev.message, "x y");
        assert_eq!(rev.create_date, None);
        assert_eq!(parsed(&render_revision(&rev)).message, "x y");
    }

    #[test]
    fn header_key_without_a_proper_colon_is_an_error() {
        for (line, key) in [
            ("-- down_revision", "down_revision"),
            ("-- down_revision:b2", "down_revision"),
            ("-- depends_on = b2", "depends_on"),
            ("--transactional : false", "transactional"),
        ] {
            let e = parse_error(&format!("-- revision: a1\n{line}\n-- migrate:upgrade\n"));
            assert_eq!(e.line, 2, "{line}: {e}");
            assert!(
                e.message
                    .starts_with(&format!("malformed header line for '{key}'")),
                "{line}: {e}"
            );
        }
        // Without a colon after it, the id line reads as a comment: the
        // error points at it rather than saying the key is missing.
        let e = parse_error("-- revision:a1\n-- migrate:upgrade\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("'-- revision: <value>'"), "{e}");
        // Prose that starts with a key's name is a comment.
        let rev = parsed("-- revision: a1\n-- revision history: see below\n-- migrate:upgrade\n");
        assert!(rev.down_revisions.is_empty());
    }

    #[test]
    fn structural_header_key_inside_a_section_is_an_error() {
        let e =
            parse_error("-- revision: a1\n-- migrate:upgrade\nSELECT 1;\n-- down_revision: b2\n");
        assert_eq!(e.line, 4);
        assert_eq!(
            e.message,
            "header key 'down_revision' inside the upgrade section (opened at line 2); \
             header lines must come before the first section marker"
        );
        let e = parse_error(&file("", "-- migrate:downgrade\n  -- depends_on: x\n"));
        assert_eq!(e.line, 6);
        assert!(e.message.contains("inside the downgrade section"), "{e}");
        // A message-like comment in SQL is just a comment.
        let rev = parsed(&file("", "-- message: ignored\n"));
        assert_eq!(rev.message, "");
    }

    #[test]
    fn huge_values_are_cut_in_messages() {
        let key = "k".repeat(5_000_000);
        let e = parse_error(&format!(
            "-- revision: a1\n-- {key}: v\n-- migrate:upgrade\n"
        ));
        assert_eq!(e.line, 2);
        assert!(e.message.len() < 400, "{}", e.message.len());
        assert!(e.message.contains("... (5000000 bytes)"), "{}", e.message);
        assert!(!e.message.contains("did you mean"));
        let e = parse_error(&file(&format!("-- transactional: {key}"), ""));
        assert!(e.message.len() < 200, "{}", e.message.len());
        assert_eq!(echo("short"), "short");
        assert_eq!(
            echo(&"é".repeat(61)),
            format!("{}... (122 bytes)", "é".repeat(60))
        );
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        let e = parse_error("-- revision: a1\n-- migrate:upgrade\nSELECT 'a\0b';\n");
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .starts_with("NUL character (U+0000) at column 10;"),
            "{e}"
        );
        // UTF-16 text read as UTF-8 is full of NULs: caught at line 1.
        let utf16: String = "-- revision: a1\n"
            .chars()
            .flat_map(|c| [c, '\0'])
            .collect();
        assert_eq!(parse_error(&utf16).line, 1);
    }

    #[test]
    fn render_writes_the_documented_format() {
        assert_eq!(render_revision(&parsed(EXAMPLE)), EXAMPLE);
    }

    #[test]
    fn render_of_a_base_without_downgrade() {
        let mut rev = Revision::synthetic("a1", &[]);
        rev.downgrade = None;
        rev.transactional = false;
        rev.upgrade.sql = "CREATE INDEX CONCURRENTLY i ON t (x);\n\n".to_string();
        assert_eq!(
            render_revision(&rev),
            "-- revision: a1\n-- down_revision:\n-- transactional: false\n\n\
             -- migrate:upgrade\nCREATE INDEX CONCURRENTLY i ON t (x);\n"
        );
    }

    #[test]
    fn render_writes_timeouts_after_transactional() {
        let mut rev = Revision::synthetic("a1", &[]);
        rev.lock_timeout = Some("2s".into());
        rev.statement_timeout = Some("1min".into());
        assert!(
            render_revision(&rev).starts_with(
                "-- revision: a1\n-- down_revision:\n-- transactional: true\n\
                 -- lock_timeout: 2s\n-- statement_timeout: 1min\n\n-- migrate:upgrade\n"
            ),
            "{}",
            render_revision(&rev)
        );
    }

    /// Path and line numbers are not part of the round trip.
    fn without_positions(mut rev: Revision) -> Revision {
        rev.path = PathBuf::new();
        rev.header_lines = HeaderLines::default();
        rev.upgrade.first_line = 0;
        if let Some(down) = &mut rev.downgrade {
            down.first_line = 0;
        }
        rev
    }

    #[test]
    fn parse_of_render_round_trips() {
        let mut merge = Revision::synthetic("m1", &["a1", "b2"]);
        merge.branch_labels = vec!["x".into(), "y".into()];
        merge.depends_on = vec!["c3".into()];
        merge.message = "merge: a and b".into();
        merge.create_date = Some("2026-01-01 00:00:00".into());
        merge.upgrade.sql = "\nSELECT 1;\n\n-- done".into();
        let mut irreversible = Revision::synthetic("i1", &["m1"]);
        irreversible.downgrade = None;
        irreversible.transactional = false;
        irreversible.lock_timeout = Some("1.5s".into());
        irreversible.statement_timeout = Some("10min".into());
        for rev in [
            parsed(EXAMPLE),
            merge,
            irreversible,
            Revision::synthetic("b", &[]),
        ] {
            let text = render_revision(&rev);
            let again = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(without_positions(again), without_positions(rev), "{text}");
        }
    }

    #[test]
    fn render_keeps_messages_on_one_line() {
        let mut rev = Revision::synthetic("a1", &[]);
        rev.message = "first\nsecond".into();
        let again = parsed(&render_revision(&rev));
        assert_eq!(again.message, "first second");
    }

    #[test]
    fn file_line_maps_section_lines() {
        let rev = parsed(EXAMPLE);
        assert_eq!(rev.upgrade.file_line(1), 10);
        assert_eq!(rev.upgrade.file_line(3), 12);
    }

    #[test]
    fn never_panics_on_truncated_files() {
        let text = format!(
            "\u{feff}{}",
            EXAMPLE.replace("DROP", "DO $x$ 'é' /* */ $x$;\r\nDROP")
        );
        for end in 0..=text.len() {
            if let Some(prefix) = text.get(..end) {
                let _ = parse(prefix);
            }
        }
    }
}
