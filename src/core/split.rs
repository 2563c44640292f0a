//! Splitting a SQL section into statements, respecting PostgreSQL's lexical rules.
//!
//! The splitter is a single forward pass over the bytes (linear in the input)
//! that knows just enough of PostgreSQL's lexer to tell a terminating `;` from
//! one inside something else:
//!
//! - `'...'` strings with `''` escapes; `E'...'`/`e'...'` strings, where a
//!   backslash also escapes (only when the `E` is a token of its own, so in
//!   `WHERE'x'` the quote starts a plain string);
//! - `"..."` quoted identifiers with `""` escapes;
//! - dollar quoting, `$$...$$` and `$tag$...$tag$` (a tag is identifier
//!   characters not starting with a digit; `$1` is a parameter, and a `$` inside
//!   an identifier such as `a$b` starts nothing);
//! - `--` line comments and nested `/* /* */ */` block comments;
//! - parentheses: a `;` inside them does not end the statement, as in psql
//!   (`CREATE RULE ... DO ALSO (INSERT ...; INSERT ...)`);
//! - SQL-standard routine bodies: in a statement that starts with
//!   `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, `BEGIN ATOMIC ... END` is kept in
//!   one statement (`CASE ... END` inside the body is balanced too).
//!
//! Assumed server settings: `standard_conforming_strings = on` (the default
//! since PostgreSQL 9.1), so backslashes escape only in `E''` strings.

use std::fmt;

/// One statement of a SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, without surrounding whitespace and without the
    /// terminating `;`. Comments inside or at the end of it are kept.
    pub sql: String,
    /// Byte offset in the input of the statement's first character (never a
    /// comment or whitespace before it).
    pub offset: usize,
    /// 1-based line of `offset` in the input.
    pub line: usize,
    /// 1-based column of `offset` in the input, counted in characters.
    pub column: usize,
}

/// A quote or comment that is never closed, located at its opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SplitError {
    /// 1-based line of the opening quote or comment.
    pub line: usize,
    /// 1-based column (in characters) of the opening quote or comment.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Splits `sql` into statements. Statements made only of whitespace and
/// comments are dropped; a last statement without `;` is kept.
pub fn split_statements(sql: &str) -> Result<Vec<Statement>, SplitError> {
    let mut splitter = Splitter::new(sql, true);
    splitter.run()?;
    Ok(splitter.statements)
}

/// The error `split_statements` would give, if any, without building the
/// statements.
pub fn check_closed(sql: &str) -> Result<(), SplitError> {
    Splitter::new(sql, false).run()
}

/// What loading checks in every section, without building the statements:
/// that quotes and comments are closed, and that transaction control is
/// where it can be honoured (see [`TxControl`]).
pub fn check_section(sql: &str, transactional: bool) -> Result<(), SectionError> {
    let mut splitter = Splitter::new(sql, false);
    splitter.tx_check = Some(TxCheck::new(transactional));
    splitter.run().map_err(SectionError::Unclosed)?;
    let check = splitter
        .tx_check
        .take()
        .unwrap_or_else(|| TxCheck::new(true));
    match check.problem {
        Some(problem) => Err(SectionError::TransactionControl(problem)),
        None => check.finish(),
    }
}

/// Why a section cannot run as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    #[error("{0}")]
    Unclosed(SplitError),
    #[error("{0}")]
    TransactionControl(SplitError),
}

/// A statement that starts, ends or hands over a transaction. Revision SQL
/// runs inside retort's own transaction (the step's, with its version
/// change) unless the revision is `transactional: false`: a `COMMIT` there
/// would commit half a step and leave the rest to run outside it, so such
/// statements are refused when the files load. A `transactional: false`
/// revision may group statements in a `BEGIN ... COMMIT` block, which then
/// runs (and is counted) as one unit.
///
/// Savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) stay inside the
/// transaction and are not transaction control here. Words inside strings,
/// dollar-quoted bodies (`DO $$ BEGIN ... END $$`) and `BEGIN ATOMIC`
/// routine bodies never start a statement, so they are never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `COMMIT AND CHAIN`, `ROLLBACK AND CHAIN`: ends a transaction and
    /// opens the next one at once.
    Chain,
    /// `PREPARE TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK PREPARED`:
    /// two-phase commit, which a migration has no business doing.
    TwoPhase,
}

impl TxControl {
    /// Classifies a statement by its first words (comments between them
    /// are skipped); `None` for anything else.
    pub fn of(sql: &str) -> Option<TxControl> {
        let mut words = Words::new(sql);
        let first = words.next()?;
        let is =
            |word: Option<&str>, wanted: &str| word.is_some_and(|w| w.eq_ignore_ascii_case(wanted));
        let ends = if first.eq_ignore_ascii_case("begin") {
            return Some(TxControl::Begin);
        } else if first.eq_ignore_ascii_case("end") {
            return Some(TxControl::Commit);
        } else if first.eq_ignore_ascii_case("abort") {
            return Some(TxControl::Rollback);
        } else if first.eq_ignore_ascii_case("start") {
            return is(words.next(), "transaction").then_some(TxControl::Begin);
        } else if first.eq_ignore_ascii_case("prepare") {
            return is(words.next(), "transaction").then_some(TxControl::TwoPhase);
        } else if first.eq_ignore_ascii_case("commit") {
            TxControl::Commit
        } else if first.eq_ignore_ascii_case("rollback") {
            TxControl::Rollback
        } else {
            return None;
        };
        let mut next = words.next();
        if is(next, "work") || is(next, "transaction") {
            next = words.next();
        }
        if is(next, "prepared") {
            Some(TxControl::TwoPhase)
        } else if is(next, "to") {
            None
        } else if is(next, "and") && is(words.next(), "chain") {
            Some(TxControl::Chain)
        } else {
            Some(ends)
        }
    }

    /// How the statement reads in a message.
    fn name(self) -> &'static str {
        match self {
            TxControl::Begin => "BEGIN",
            TxControl::Commit => "COMMIT",
            TxControl::Rollback => "ROLLBACK",
            TxControl::Chain => "COMMIT/ROLLBACK AND CHAIN",
            TxControl::TwoPhase => {
                "two-phase commit (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED)"
            }
        }
    }
}

/// The units a `transactional: false` section runs as: each statement on
/// its own, except that a `BEGIN ... COMMIT` (or `ROLLBACK`) block is one
/// unit. Ranges of indexes into `statements`, in order, covering all.
pub fn units(statements: &[Statement]) -> Vec<std::ops::Range<usize>> {
    let mut units = Vec::new();
    let mut open: Option<usize> = None;
    for (index, statement) in statements.iter().enumerate() {
        match (open, TxControl::of(&statement.sql)) {
            (None, Some(TxControl::Begin)) => open = Some(index),
            (None, _) => units.push(index..index + 1),
            (Some(start), Some(TxControl::Commit | TxControl::Rollback)) => {
                units.push(start..index + 1);
                open = None;
            }
            (Some(_), _) => {}
        }
    }
    if let Some(start) = open {
        units.push(start..statements.len());
    }
    units
}

/// A statement's first words (identifiers and keywords, as written), with
/// whitespace and comments skipped; ends at the first other token.
pub fn leading_words(sql: &str) -> impl Iterator<Item = &str> {
    Words::new(sql)
}

/// Words of a statement from its start: identifiers and keywords, with
/// whitespace and comments skipped; stops at the first other token.
struct Words<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    fn new(text: &'a str) -> Words<'a> {
        Words {
            bytes: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn skip_blanks(&mut self) {
        loop {
            let b = self.bytes.get(self.pos).copied();
            let next = self.bytes.get(self.pos + 1).copied();
            match (b, next) {
                (Some(b), _) if is_space(b) => self.pos += 1,
                (Some(b'-'), Some(b'-')) => {
                    while self.bytes.get(self.pos).is_some_and(|&b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let mut depth = 0usize;
                    while self.pos < self.bytes.len() {
                        match (self.bytes[self.pos], self.bytes.get(self.pos + 1).copied()) {
                            (b'/', Some(b'*')) => {
                                depth += 1;
                                self.pos += 2;
                            }
                            (b'*', Some(b'/')) => {
                                depth -= 1;
                                self.pos += 2;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => self.pos += 1,
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.skip_blanks();
        let start = self.pos;
        if !self.bytes.get(start).copied().is_some_and(is_ident_start) {
            return None;
        }
        while self.bytes.get(self.pos).copied().is_some_and(is_ident_cont) {
            self.pos += 1;
        }
        self.text.get(start..self.pos)
    }
}

/// Follows transaction control statement by statement while loading.
struct TxCheck {
    transactional: bool,
    /// Where the open `BEGIN` block of a `transactional: false` section
    /// started (line, column).
    open_block: Option<(usize, usize)>,
    problem: Option<SplitError>,
}

impl TxCheck {
    fn new(transactional: bool) -> TxCheck {
        TxCheck {
            transactional,
            open_block: None,
            problem: None,
        }
    }

    fn statement(&mut self, kind: TxControl, line: usize, column: usize) {
        if self.problem.is_some() {
            return;
        }
        let message = match (self.transactional, kind, self.open_block) {
            (true, _, _) => format!(
                "{} inside a transactional revision: its SQL runs in retort's transaction \
                 with its version change, which this statement would end or break. Remove it, \
                 or set 'transactional: false' and group statements in a BEGIN ... COMMIT block",
                kind.name()
            ),
            (false, TxControl::Begin, None) => {
                self.open_block = Some((line, column));
                return;
            }
            (false, TxControl::Commit | TxControl::Rollback, Some(_)) => {
                self.open_block = None;
                return;
            }
            (false, TxControl::Begin, Some((open, _))) => format!(
                "BEGIN inside the block opened at line {open}; end that block with COMMIT first"
            ),
            (false, TxControl::Commit | TxControl::Rollback, None) => format!(
                "{} without a BEGIN before it: in a transactional: false revision each \
                 statement commits on its own",
                kind.name()
            ),
            (false, TxControl::Chain | TxControl::TwoPhase, _) => format!(
                "{} is not supported in revision SQL; use BEGIN ... COMMIT blocks",
                kind.name()
            ),
        };
        self.problem = Some(SplitError {
            line,
            column,
            message,
        });
    }

    /// A block still open at the end of the section.
    fn finish(self) -> Result<(), SectionError> {
        match self.open_block {
            Some((line, column)) => Err(SectionError::TransactionControl(SplitError {
                line,
                column,
                message: "BEGIN without a COMMIT (or ROLLBACK) after it in this section"
                    .to_string(),
            })),
            None => Ok(()),
        }
    }
}

/// 1-based (line, column) of a byte offset in `text`, the column counted in
/// characters. An offset past the end maps to the end; an offset inside a
/// multi-byte character maps to that character.
pub fn position_to_line_col(text: &str, byte_offset: usize) -> (usize, usize) {
    let mut offset = byte_offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    LineTracker::new(text.as_bytes()).advance_to(offset)
}

/// Byte offset of a 1-based character position, as PostgreSQL reports error
/// positions (`position` counts characters, not bytes). Positions past the end
/// map to the end of `text`; 0 maps to the start.
pub fn char_position_to_byte_offset(text: &str, position: usize) -> usize {
    match position.checked_sub(1) {
        None => 0,
        Some(index) => text
            .char_indices()
            .nth(index)
            .map_or(text.len(), |(offset, _)| offset),
    }
}

/// Bytes PostgreSQL's lexer treats as whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// First byte of an identifier (bytes of non-ASCII characters count as letters,
/// as in PostgreSQL).
fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// A dollar-quote tag may not contain `$`, unlike an identifier.
fn is_tag_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Turns byte offsets into line/column incrementally, so that positions asked
/// in increasing order cost linear time in total.
struct LineTracker<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
    column: usize,
}

impl<'a> LineTracker<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineTracker {
            bytes,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    /// `target` must not be before the previous target.
    fn advance_to(&mut self, target: usize) -> (usize, usize) {
        let target = target.min(self.bytes.len());
        for &b in &self.bytes[self.offset.min(target)..target] {
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // Count characters, not UTF-8 continuation bytes.
                self.column += 1;
            }
        }
        self.offset = self.offset.max(target);
        (self.line, self.column)
    }
}

/// The first words of a statement, enough to recognise a routine definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeadWord {
    Create,
    Or,
    Replace,
    Routine,
    Other,
}

impl LeadWord {
    fn classify(word: &[u8]) -> LeadWord {
        if word.eq_ignore_ascii_case(b"create") {
            LeadWord::Create
        } else if word.eq_ignore_ascii_case(b"or") {
            LeadWord::Or
        } else if word.eq_ignore_ascii_case(b"replace") {
            LeadWord::Replace
        } else if word.eq_ignore_ascii_case(b"function") || word.eq_ignore_ascii_case(b"procedure")
        {
            LeadWord::Routine
        } else {
            LeadWord::Other
        }
    }
}

/// Nesting within the current statement that keeps a `;` from ending it:
/// parentheses, and `BEGIN ATOMIC ... END` in a routine definition.
#[derive(Debug, Default)]
struct Nesting {
    lead_words: [Option<LeadWord>; 4],
    words_seen: usize,
    paren_depth: usize,
    /// Open `BEGIN ATOMIC` plus `CASE` inside it, each closed by `END`.
    block_depth: usize,
    /// The previous word was `BEGIN` at parenthesis depth 0 in a routine.
    after_begin: bool,
}

impl Nesting {
    fn can_end_statement(&self) -> bool {
        self.paren_depth == 0 && self.block_depth == 0
    }

    fn is_routine_definition(&self) -> bool {
        use LeadWord::*;
        matches!(
            self.lead_words,
            [Some(Create), Some(Routine), _, _]
                | [Some(Create), Some(Or), Some(Replace), Some(Routine)]
        )
    }

    fn open_paren(&mut self) {
        self.paren_depth += 1;
        self.after_begin = false;
    }

    fn close_paren(&mut self) {
        self.paren_depth = self.paren_depth.saturating_sub(1);
        self.after_begin = false;
    }

    /// Any token other than a word or a parenthesis.
    fn other_token(&mut self) {
        self.after_begin = false;
    }

    fn word(&mut self, word: &[u8]) {
        if let Some(slot) = self.lead_words.get_mut(self.words_seen) {
            *slot = Some(LeadWord::classify(word));
        }
        self.words_seen = self.words_seen.saturating_add(1);
        let after_begin = std::mem::take(&mut self.after_begin);
        if self.paren_depth > 0 || !self.is_routine_definition() {
            return;
        }
        // Only `BEGIN ATOMIC` opens a body: a routine may be named `begin`.
        if word.eq_ignore_ascii_case(b"begin") {
            self.after_begin = true;
        } else if (after_begin && word.eq_ignore_ascii_case(b"atomic"))
            || (self.block_depth > 0 && word.eq_ignore_ascii_case(b"case"))
        {
            self.block_depth += 1;
        } else if self.block_depth > 0 && word.eq_ignore_ascii_case(b"end") {
            self.block_depth -= 1;
        }
    }
}

struct Splitter<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Offset of the current statement's first significant byte, once seen.
    start: Option<usize>,
    nesting: Nesting,
    lines: LineTracker<'a>,
    /// Whether to collect `statements` or only look for errors.
    keep: bool,
    statements: Vec<Statement>,
    /// Set by [`check_section`]: transaction control checked per statement.
    tx_check: Option<TxCheck>,
}

impl<'a> Splitter<'a> {
    fn new(text: &'a str, keep: bool) -> Self {
        Splitter {
            text,
            bytes: text.as_bytes(),
            start: None,
            nesting: Nesting::default(),
            lines: LineTracker::new(text.as_bytes()),
            keep,
            statements: Vec::new(),
            tx_check: None,
        }
    }

    fn byte_at(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn run(&mut self) -> Result<(), SplitError> {
        let mut pos = 0;
        while let Some(b) = self.byte_at(pos) {
            let next = self.byte_at(pos + 1);
            pos = match b {
                _ if is_space(b) => pos + 1,
                b'-' if next == Some(b'-') => self.skip_line_comment(pos),
                b'/' if next == Some(b'*') => self.skip_block_comment(pos)?,
                b';' if self.nesting.can_end_statement() => {
                    self.finish_statement(pos);
                    pos + 1
                }
                _ => {
                    self.start.get_or_insert(pos);
                    self.skip_token(pos)?
                }
            };
        }
        self.finish_statement(self.bytes.len());
        Ok(())
    }

    /// Ends the current statement just before `end` (a `;` or the input's end).
    fn finish_statement(&mut self, end: usize) {
        self.nesting = Nesting::default();
        let Some(start) = self.start.take() else {
            return;
        };
        if let Some(check) = &mut self.tx_check {
            let sql = self.text.get(start..end).unwrap_or_default();
            if let Some(kind) = TxControl::of(sql) {
                let (line, column) = self.lines.advance_to(start);
                check.statement(kind, line, column);
            }
        }
        if !self.keep {
            return;
        }
        let sql = self.text.get(start..end).unwrap_or_default();
        let sql = sql.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
        let (line, column) = self.lines.advance_to(start);
        self.statements.push(Statement {
            sql: sql.to_string(),
            offset: start,
            line,
            column,
        });
    }

    /// Skips one significant token starting at `pos`; returns the offset after it.
    fn skip_token(&mut self, pos: usize) -> Result<usize, SplitError> {
        let b = self.bytes[pos];
        match b {
            b'\'' => {
                self.nesting.other_token();
                self.skip_quoted(pos, b'\'', false)
            }
            b'"' => {
                self.nesting.other_token();
                self.skip_quoted(pos, b'"', false)
            }
            b'$' => {
                self.nesting.other_token();
                self.skip_dollar(pos)
            }
            b'(' => {
                self.nesting.open_paren();
                Ok(pos + 1)
            }
            b')' => {
                self.nesting.close_paren();
                Ok(pos + 1)
            }
            _ if is_ident_start(b) => self.skip_word(pos),
            _ if b.is_ascii_digit() => {
                self.nesting.other_token();
                Ok(self.end_of(pos, is_ident_cont))
            }
            _ => {
                self.nesting.other_token();
                Ok(pos + 1)
            }
        }
    }

    fn end_of(&self, mut pos: usize, belongs: fn(u8) -> bool) -> usize {
        while self.byte_at(pos).is_some_and(belongs) {
            pos += 1;
        }
        pos
    }

    /// An identifier or keyword; `E` directly followed by a quote opens an
    /// escape string instead.
    fn skip_word(&mut self, pos: usize) -> Result<usize, SplitError> {
        let end = self.end_of(pos, is_ident_cont);
        let word = &self.bytes[pos..end];
        if word.eq_ignore_ascii_case(b"e") && self.byte_at(end) == Some(b'\'') {
            self.nesting.other_token();
            return self.skip_quoted(end, b'\'', true);
        }
        self.nesting.word(word);
        Ok(end)
    }

    /// A string or quoted identifier opened at `open`, where a doubled quote
    /// stands for itself and, in `E''` strings, a backslash escapes the next byte.
    fn skip_quoted(&self, open: usize, quote: u8, backslash: bool) -> Result<usize, SplitError> {
        let mut pos = open + 1;
        while let Some(b) = self.byte_at(pos) {
            if backslash && b == b'\\' {
                pos += 2;
            } else if b == quote {
                if self.byte_at(pos + 1) == Some(quote) {
                    pos += 2;
                } else {
                    return Ok(pos + 1);
                }
            } else {
                pos += 1;
            }
        }
        let what = match (quote, backslash) {
            (b'"', _) => "quoted identifier",
            (_, true) => "E'' string",
            _ => "quoted string",
        };
        Err(self.error_at(open, format!("unterminated {what}")))
    }

    /// `$tag$...$tag$`, or a lone `$`, or a parameter such as `$1`.
    fn skip_dollar(&self, open: usize) -> Result<usize, SplitError> {
        let tag_start = open + 1;
        if self.byte_at(tag_start).is_some_and(|b| b.is_ascii_digit()) {
            return Ok(self.end_of(tag_start, |b| b.is_ascii_digit()));
        }
        let tag_end = if self.byte_at(tag_start).is_some_and(is_ident_start) {
            self.end_of(tag_start, is_tag_cont)
        } else {
            tag_start
        };
        if self.byte_at(tag_end) != Some(b'$') {
            // Not a delimiter: PostgreSQL reads this `$` as a character of its own.
            return Ok(open + 1);
        }
        let delimiter = &self.text[open..=tag_end];
        let body_start = tag_end + 1;
        match self.text[body_start..].find(delimiter) {
            Some(found) => Ok(body_start + found + delimiter.len()),
            None => Err(self.error_at(
                open,
                format!("unterminated dollar-quoted string {delimiter}"),
            )),
        }
    }

    fn skip_line_comment(&self, open: usize) -> usize {
        let mut pos = open + 2;
        while self.byte_at(pos).is_some_and(|b| b != b'\n' && b != b'\r') {
            pos += 1;
        }
        pos
    }

    fn skip_block_comment(&self, open: usize) -> Result<usize, SplitError> {
        let mut depth = 1usize;
        let mut pos = open + 2;
        while let Some(b) = self.byte_at(pos) {
            let next = self.byte_at(pos + 1);
            if b == b'/' && next == Some(b'*') {
                depth += 1;
                pos += 2;
            } else if b == b'*' && next == Some(b'/') {
                depth -= 1;
                pos += 2;
                if depth == 0 {
                    return Ok(pos);
                }
            } else {
                pos += 1;
            }
        }
        Err(self.error_at(open, "unterminated /* comment".to_string()))
    }

    fn error_at(&self, offset: usize, message: String) -> SplitError {
        let (line, column) = position_to_line_col(self.text, offset);
        SplitError {
            line,
            column,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(input: &str) -> Vec<String> {
        assert_eq!(check_closed(input), Ok(()), "{input:?}");
        split_statements(input)
            .unwrap_or_else(|e| panic!("split failed: {e}"))
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    fn split_error(input: &str) -> SplitError {
        match split_statements(input) {
            Ok(statements) => panic!("expected an error, got {statements:?}"),
            Err(e) => {
                assert_eq!(check_closed(input), Err(e.clone()), "{input:?}");
                e
            }
        }
    }

    #[test]
    fn splits_on_semicolons_and_trims() {
        assert_eq!(
            sqls("  SELECT 1 ;\nSELECT 2;SELECT 3"),
            vec!["SELECT 1", "SELECT 2", "SELECT 3"]
        );
    }

    #[test]
    fn drops_empty_and_comment_only_statements() {
        assert_eq!(sqls(""), Vec::<String>::new());
        assert_eq!(
            sqls(" ;; \n ; -- only a comment\n/* block */ ;"),
            Vec::<String>::new()
        );
        assert_eq!(sqls("SELECT 1; -- trailing comment\n"), vec!["SELECT 1"]);
    }

    #[test]
    fn semicolon_in_single_quotes() {
        assert_eq!(
            sqls("INSERT INTO t VALUES ('a;b', 'it''s; fine'); SELECT 2"),
            vec!["INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT 2"]
        );
    }

    #[test]
    fn backslash_does_not_escape_in_plain_strings() {
        // With standard_conforming_strings the string is `a\`, then `;` ends it.
        assert_eq!(
            sqls(r"SELECT 'a\'; SELECT 2"),
            vec![r"SELECT 'a\'", "SELECT 2"]
        );
    }

    #[test]
    fn e_strings_honour_backslash_escapes() {
        assert_eq!(
            sqls(r"SELECT E'it\'s; \\'; SELECT e'x\';y'; SELECT 3"),
            vec![r"SELECT E'it\'s; \\'", r"SELECT e'x\';y'", "SELECT 3"]
        );
        assert_eq!(sqls(r"SELECT E'a''b;c'; SELECT 2").len(), 2);
    }

    #[test]
    fn e_only_counts_as_a_whole_token() {
        // `WHERE'x\'` is the keyword WHERE then the plain string 'x\'.
        assert_eq!(
            sqls(r"SELECT 1 WHERE'x\' = 'x\'; SELECT 2"),
            vec![r"SELECT 1 WHERE'x\' = 'x\'", "SELECT 2"]
        );
        // An identifier ending in e is not an E prefix either.
        assert_eq!(sqls(r"SELECT name'a\'; SELECT 2").len(), 2);
    }

    #[test]
    fn other_string_prefixes_are_plain_strings() {
        assert_eq!(
            sqls(r"SELECT B'10', X'1f', N'a;\', U&'d\0061t;a'; SELECT 2").len(),
            2
        );
    }

    #[test]
    fn double_quoted_identifiers() {
        assert_eq!(
            sqls(r#"CREATE TABLE "a;b" ("x""y;" int); SELECT 2"#),
            vec![r#"CREATE TABLE "a;b" ("x""y;" int)"#, "SELECT 2"]
        );
    }

    #[test]
    fn dollar_quotes_with_and_without_tags() {
        let input = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
                     CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\n\
                     SELECT 3";
        let out = sqls(input);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out[0].ends_with("$$ LANGUAGE sql"));
        assert!(out[1].ends_with("$body$ LANGUAGE plpgsql"));
    }

    #[test]
    fn inner_dollar_tag_does_not_close_outer() {
        let input = "DO $a$ BEGIN EXECUTE $b$ SELECT ';' $b$; END $a$; SELECT 2";
        assert_eq!(
            sqls(input),
            vec![
                "DO $a$ BEGIN EXECUTE $b$ SELECT ';' $b$; END $a$",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn dollar_quote_body_hides_quotes_and_comments() {
        let input = "SELECT $$ it's /* not; a comment -- nor this; $$; SELECT 2";
        assert_eq!(sqls(input).len(), 2);
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(
            sqls("PREPARE p AS SELECT $1, $2; SELECT 2"),
            vec!["PREPARE p AS SELECT $1, $2", "SELECT 2"]
        );
        // `$1$` is a parameter followed by a lone `$`, not an opening quote.
        assert_eq!(sqls("SELECT $1$; SELECT 2").len(), 2);
    }

    #[test]
    fn dollar_inside_identifier_starts_nothing() {
        assert_eq!(
            sqls("SELECT a$b$ FROM t; SELECT 2"),
            vec!["SELECT a$b$ FROM t", "SELECT 2"]
        );
    }

    #[test]
    fn dollar_tags_cannot_start_with_a_digit() {
        // `$1abc$` is not a delimiter, so the `;` inside ends the statement.
        assert_eq!(sqls("SELECT $1abc$; x $1abc$").len(), 2);
    }

    #[test]
    fn line_comments_hide_semicolons() {
        assert_eq!(
            sqls("SELECT 1 -- not the end; really\n, 2; SELECT 3"),
            vec!["SELECT 1 -- not the end; really\n, 2", "SELECT 3"]
        );
    }

    #[test]
    fn nested_block_comments() {
        let input = "SELECT /* outer /* inner; */ still comment; */ 1; SELECT 2";
        assert_eq!(
            sqls(input),
            vec![
                "SELECT /* outer /* inner; */ still comment; */ 1",
                "SELECT 2"
            ]
        );
        assert_eq!(sqls("SELECT /**/ 1; /*/ x; */ SELECT 2").len(), 2);
    }

    #[test]
    fn statement_position_skips_leading_comments() {
        let input = "-- intro\n/* note */\n  CREATE TABLE t (id int);\n\n  /* c */ DROP TABLE u;";
        let statements = split_statements(input).unwrap_or_default();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].sql, "CREATE TABLE t (id int)");
        assert_eq!((statements[0].line, statements[0].column), (3, 3));
        assert_eq!(&input[statements[0].offset..][..6], "CREATE");
        assert_eq!(statements[1].sql, "DROP TABLE u");
        assert_eq!((statements[1].line, statements[1].column), (5, 11));
        assert_eq!(&input[statements[1].offset..][..4], "DROP");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let input = "SELECT 'ééé'; SELECT 2";
        let statements = split_statements(input).unwrap_or_default();
        assert_eq!(statements[1].column, 15);
        assert_eq!(statements[1].offset, input.find("SELECT 2").unwrap_or(0));
    }

    #[test]
    fn non_ascii_identifiers_and_text() {
        assert_eq!(
            sqls("CREATE TABLE café (ß int); SELECT '日本;語'"),
            vec!["CREATE TABLE café (ß int)", "SELECT '日本;語'"]
        );
    }

    #[test]
    fn parentheses_keep_rule_actions_together() {
        let input = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 2";
        let out = sqls(input);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].ends_with("VALUES (2))"));
    }

    #[test]
    fn begin_atomic_body_is_one_statement() {
        let input = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n\
                     BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  SELECT a;\nEND;\n\
                     CREATE OR REPLACE PROCEDURE p() LANGUAGE sql begin atomic INSERT INTO t VALUES (1); end;\n\
                     SELECT 3;";
        let out = sqls(input);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out[0].starts_with("CREATE FUNCTION") && out[0].ends_with("END"));
        assert!(out[1].starts_with("CREATE OR REPLACE PROCEDURE") && out[1].ends_with("end"));
        assert_eq!(out[2], "SELECT 3");
    }

    #[test]
    fn begin_outside_routines_is_a_transaction_statement() {
        assert_eq!(
            sqls("BEGIN; SELECT 1; END; CREATE TABLE begin_atomic (x int); SELECT 2"),
            vec![
                "BEGIN",
                "SELECT 1",
                "END",
                "CREATE TABLE begin_atomic (x int)",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn routine_named_begin_does_not_open_a_body() {
        let out =
            sqls("CREATE FUNCTION begin() RETURNS int LANGUAGE sql RETURN 1; SELECT 2; SELECT 3");
        assert_eq!(out.len(), 3, "{out:?}");
    }

    #[test]
    fn begin_in_quoted_or_commented_text_is_ignored() {
        let out = sqls(
            "CREATE FUNCTION f() RETURNS int AS $$ BEGIN ATOMIC $$ LANGUAGE sql; -- begin atomic\nSELECT 2",
        );
        assert_eq!(out.len(), 2, "{out:?}");
    }

    #[test]
    fn transaction_control_is_classified_by_its_first_words() {
        use TxControl::*;
        let cases: [(&str, Option<TxControl>); 24] = [
            ("BEGIN", Some(Begin)),
            ("begin isolation level serializable", Some(Begin)),
            ("START TRANSACTION READ WRITE", Some(Begin)),
            ("COMMIT", Some(Commit)),
            ("commit work", Some(Commit)),
            ("END TRANSACTION", Some(Commit)),
            ("COMMIT AND NO CHAIN", Some(Commit)),
            ("COMMIT AND CHAIN", Some(Chain)),
            ("ROLLBACK", Some(Rollback)),
            ("ABORT", Some(Rollback)),
            ("rollback transaction and chain", Some(Chain)),
            ("PREPARE TRANSACTION 'x'", Some(TwoPhase)),
            ("COMMIT PREPARED 'x'", Some(TwoPhase)),
            ("ROLLBACK PREPARED 'x'", Some(TwoPhase)),
            ("/* note */ -- more\n COMMIT", Some(Commit)),
            ("ROLLBACK TO SAVEPOINT s", None),
            ("ROLLBACK WORK TO s", None),
            ("SAVEPOINT s", None),
            ("RELEASE SAVEPOINT s", None),
            ("PREPARE q AS SELECT 1", None),
            ("START_REPLICATION", None),
            ("DO $$ BEGIN PERFORM 1; END $$", None),
            ("CREATE TABLE begin (x int)", None),
            ("SELECT 'COMMIT'", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(TxControl::of(sql), expected, "{sql}");
        }
    }

    fn section_problem(sql: &str, transactional: bool) -> Option<(usize, usize, String)> {
        match check_section(sql, transactional) {
            Ok(()) => None,
            Err(SectionError::TransactionControl(e)) => Some((e.line, e.column, e.message)),
            Err(SectionError::Unclosed(e)) => panic!("unclosed: {e}"),
        }
    }

    #[test]
    fn a_transactional_section_refuses_transaction_control_where_it_is() {
        let sql = "CREATE TABLE a (id int);\n  COMMIT;\nCREATE TABLE b (id int);";
        let (line, column, message) = section_problem(sql, true).expect("refused");
        assert_eq!((line, column), (2, 3));
        assert!(
            message.starts_with("COMMIT inside a transactional revision"),
            "{message}"
        );
        assert!(!message.contains("  "), "one sentence, no gaps: {message}");
        assert!(section_problem("BEGIN; SELECT 1; END;", true).is_some());
        assert!(section_problem("SELECT 1;\nPREPARE TRANSACTION 'p';", true).is_some());
    }

    #[test]
    fn bodies_rules_and_savepoints_are_not_transaction_control() {
        let sql = "DO $$ BEGIN PERFORM 1; END $$;\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN RETURN 1; END; $f$;\n\
                   CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n\
                   CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\n\
                   SAVEPOINT s; ROLLBACK TO SAVEPOINT s; RELEASE s;\n\
                   SELECT 'BEGIN; COMMIT'; -- COMMIT;\n";
        assert_eq!(section_problem(sql, true), None);
        assert_eq!(section_problem(sql, false), None);
    }

    #[test]
    fn a_non_transactional_section_allows_balanced_blocks_only() {
        assert_eq!(
            section_problem(
                "CREATE INDEX CONCURRENTLY i ON t (x);\nBEGIN;\nSELECT 1;\nCOMMIT;",
                false
            ),
            None
        );
        let unclosed = section_problem("SELECT 1;\nBEGIN;\nSELECT 2;", false).expect("open");
        assert_eq!((unclosed.0, unclosed.1), (2, 1));
        assert!(
            unclosed.2.contains("BEGIN without a COMMIT"),
            "{}",
            unclosed.2
        );
        let stray = section_problem("SELECT 1;\nCOMMIT;", false).expect("stray");
        assert_eq!(stray.0, 2);
        let nested = section_problem("BEGIN;\nBEGIN;\nCOMMIT;", false).expect("nested");
        assert!(nested.2.contains("opened at line 1"), "{}", nested.2);
        assert!(section_problem("BEGIN; COMMIT AND CHAIN; COMMIT;", false).is_some());
    }

    #[test]
    fn units_group_a_block_into_one() {
        let statements = split_statements(
            "CREATE TABLE a ();\nBEGIN;\nINSERT INTO a DEFAULT VALUES;\nCOMMIT;\nSELECT 1;",
        )
        .unwrap();
        assert_eq!(units(&statements), [0..1, 1..4, 4..5]);
        assert_eq!(units(&[]), Vec::<std::ops::Range<usize>>::new());
    }

    #[test]
    fn unterminated_single_quote_reports_opening() {
        let e = split_error("SELECT 1;\nSELECT 'abc;\nmore");
        assert_eq!((e.line, e.column), (2, 8));
        assert!(e.message.contains("unterminated quoted string"), "{e}");
    }

    #[test]
    fn unterminated_e_string_ending_in_escaped_quote() {
        let e = split_error(r"SELECT E'abc\'");
        assert_eq!((e.line, e.column), (1, 9));
        assert!(e.message.contains("E''"), "{e}");
    }

    #[test]
    fn unterminated_identifier() {
        let e = split_error("SELECT \"abc");
        assert_eq!((e.line, e.column), (1, 8));
        assert!(e.message.contains("quoted identifier"), "{e}");
    }

    #[test]
    fn unterminated_dollar_quote_names_its_tag() {
        let e = split_error("SELECT 1;\n\n  CREATE FUNCTION f() AS $fn$ BEGIN $$ END;");
        assert_eq!((e.line, e.column), (3, 26));
        assert_eq!(e.message, "unterminated dollar-quoted string $fn$");
        let e = split_error("DO $$ BEGIN");
        assert_eq!(e.message, "unterminated dollar-quoted string $$");
    }

    #[test]
    fn unterminated_nested_comment() {
        let e = split_error("SELECT 1; /* a /* b */ still open");
        assert_eq!((e.line, e.column), (1, 11));
        assert!(e.message.contains("/*"), "{e}");
    }

    #[test]
    fn crlf_line_endings() {
        let statements = split_statements("SELECT 1;\r\n-- c\r\nSELECT 2;\r\n").unwrap_or_default();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[1].sql, "SELECT 2");
        assert_eq!((statements[1].line, statements[1].column), (3, 1));
    }

    #[test]
    fn only_postgres_whitespace_separates_statements() {
        // Found by fuzzing an invariant: U+00A0 is whitespace to Rust but an
        // identifier character to PostgreSQL's lexer, so it starts the statement.
        let statements = split_statements("\u{a0}$&f;\u{2003}x").unwrap();
        let found: Vec<(&str, usize)> = statements
            .iter()
            .map(|s| (s.sql.as_str(), s.offset))
            .collect();
        assert_eq!(found, [("\u{a0}$&f", 0), ("\u{2003}x", 6)]);
    }

    #[test]
    fn never_panics_on_truncated_input() {
        let input = "SELECT E'a\\'' , $t$ x $t$, \"q\"\"\" /* /* */ */ -- c\n; $1 a$b é";
        for end in 0..=input.len() {
            if let Some(prefix) = input.get(..end) {
                let _ = split_statements(prefix);
            }
        }
    }

    /// Random mixes of tricky tokens: no panic, and every statement is the
    /// text found at its offset, with a matching line and column.
    #[test]
    fn random_token_soup_keeps_invariants() {
        const TOKENS: [&str; 24] = [
            "SELECT",
            " ",
            "\n",
            "\r\n",
            ";",
            "'",
            "''",
            "E'",
            "\\",
            "\"",
            "$$",
            "$a$",
            "$1",
            "--",
            "/*",
            "*/",
            "(",
            ")",
            "é",
            "begin",
            "atomic",
            "end",
            "create function",
            "x",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut input = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                input.push_str(TOKENS[(seed % TOKENS.len() as u64) as usize]);
            }
            let Ok(statements) = split_statements(&input) else {
                continue;
            };
            for statement in statements {
                assert!(!statement.sql.is_empty(), "{input:?}");
                assert_eq!(
                    input.get(statement.offset..statement.offset + statement.sql.len()),
                    Some(statement.sql.as_str()),
                    "{input:?}"
                );
                assert_eq!(
                    position_to_line_col(&input, statement.offset),
                    (statement.line, statement.column),
                    "{input:?}"
                );
            }
        }
    }

    #[test]
    fn position_helpers() {
        let text = "ab\ncdé\nf";
        assert_eq!(position_to_line_col(text, 0), (1, 1));
        assert_eq!(position_to_line_col(text, 3), (2, 1));
        assert_eq!(position_to_line_col(text, 5), (2, 3));
        // Inside the two-byte é: maps to the é itself.
        assert_eq!(position_to_line_col(text, 6), (2, 3));
        assert_eq!(position_to_line_col(text, 8), (3, 1));
        assert_eq!(position_to_line_col(text, 999), (3, 2));
        assert_eq!(char_position_to_byte_offset(text, 1), 0);
        assert_eq!(char_position_to_byte_offset(text, 6), 5);
        assert_eq!(char_position_to_byte_offset(text, 8), 8);
        assert_eq!(char_position_to_byte_offset(text, 0), 0);
        assert_eq!(char_position_to_byte_offset(text, 100), text.len());
    }

    #[test]
    fn large_input_splits_quickly() {
        let chunk = "INSERT INTO t VALUES (1, 'a;b', $$x;y$$, E'\\'') /* c; */; -- x;\n";
        let input = chunk.repeat(5_000_000 / chunk.len());
        let started = std::time::Instant::now();
        let statements = split_statements(&input).unwrap_or_default();
        let elapsed = started.elapsed();
        assert_eq!(statements.len(), 5_000_000 / chunk.len());
        assert_eq!(statements.last().map(|s| s.line), Some(statements.len()));
        // Generous bound so debug builds on a busy machine pass; a quadratic
        // pass would take minutes.
        assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
    }
}
