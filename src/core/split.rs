//! Splitting a SQL section into statements, respecting PostgreSQL's lexical rules.
//!
//! PLACEHOLDER (branch `db`): a minimal stand-in with the agreed API so the
//! database layer can be built and tested. The real splitter replaces this
//! file at merge; nothing outside this API may be relied upon.

/// One statement of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Trimmed text, without the trailing `;`.
    pub sql: String,
    /// Byte offset of `sql` in the input.
    pub offset: usize,
    /// 1-based line of the statement's start in the input.
    pub line: usize,
    /// 1-based column (in characters) of the statement's start.
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SplitError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// PLACEHOLDER: handles quotes, double quotes, dollar quotes and comments
/// well enough for the database layer's tests.
pub fn split_statements(sql: &str) -> Result<Vec<Statement>, SplitError> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' | b'"' => skip_quoted(sql, i, bytes[i])?,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                sql[i..].find('\n').map_or(bytes.len(), |n| i + n)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_until(sql, i, i + 2, "*/")?,
            b'$' => skip_dollar(sql, i)?,
            b';' => {
                push_statement(sql, start, i, &mut statements);
                start = i + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    push_statement(sql, start, bytes.len(), &mut statements);
    Ok(statements)
}

fn push_statement(sql: &str, start: usize, end: usize, out: &mut Vec<Statement>) {
    let chunk = &sql[start..end];
    let trimmed = chunk.trim();
    if trimmed.is_empty() || only_comments(trimmed) {
        return;
    }
    let offset = start + (chunk.len() - chunk.trim_start().len());
    let (line, column) = position_to_line_col(sql, offset);
    out.push(Statement {
        sql: trimmed.to_string(),
        offset,
        line,
        column,
    });
}

fn only_comments(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}

fn skip_quoted(sql: &str, at: usize, quote: u8) -> Result<usize, SplitError> {
    let bytes = sql.as_bytes();
    let mut i = at + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        i += 1;
    }
    Err(unterminated(sql, at, "quoted string"))
}

fn skip_dollar(sql: &str, at: usize) -> Result<usize, SplitError> {
    let rest = &sql[at + 1..];
    let tag_len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if !rest[tag_len..].starts_with('$') {
        return Ok(at + 1);
    }
    let delimiter = &sql[at..at + tag_len + 2];
    skip_until(sql, at, at + delimiter.len(), delimiter)
}

fn skip_until(sql: &str, at: usize, from: usize, end: &str) -> Result<usize, SplitError> {
    match sql[from..].find(end) {
        Some(n) => Ok(from + n + end.len()),
        None => Err(unterminated(sql, at, end)),
    }
}

fn unterminated(sql: &str, at: usize, what: &str) -> SplitError {
    let (line, column) = position_to_line_col(sql, at);
    SplitError {
        line,
        column,
        message: format!("unterminated {what}"),
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn position_to_line_col(text: &str, byte_offset: usize) -> (usize, usize) {
    let mut offset = byte_offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}
