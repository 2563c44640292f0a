//! The table a statement works on, and the tables it creates, read from
//! the statement's tokens (Squawk's lexer has already told words from
//! strings and comments).
//!
//! Only the statements Squawk's size-bound and data-loss rules are about
//! need a table: ALTER TABLE, CREATE INDEX, DROP TABLE, TRUNCATE, REINDEX
//! TABLE, CREATE TABLE. Anything else has none, and its hazards are shown
//! without a size.

use serde::Serialize;
use squawk_syntax::SyntaxNode;

/// A table as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRef {
    /// As written, schema included (`app."Invoices"`): what `to_regclass`
    /// reads with the session's search_path.
    pub written: String,
    /// The table's own name as PostgreSQL folds it (unquoted lower-cased),
    /// without the schema: what "created earlier in the plan" compares.
    pub name: String,
}

/// Words that may stand between a statement's keywords and its table.
const NOISE: [&str; 9] = [
    "IF",
    "EXISTS",
    "NOT",
    "ONLY",
    "CONCURRENTLY",
    "TABLE",
    "UNLOGGED",
    "TEMP",
    "TEMPORARY",
];

/// Tokens read from a statement's start: the table name sits within the
/// first few (after `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS name
/// ON ONLY schema . table`), and reading a 10,000-row INSERT to its end
/// for them would be waste.
const LEADING_TOKENS: usize = 24;

/// The table `stmt` works on and the table it creates, as one read.
pub fn tables_of(stmt: &SyntaxNode) -> (Option<TableRef>, Option<TableRef>) {
    let words = words(stmt);
    let created = created_in(&words);
    let touched = touched_in(&words).or_else(|| created.clone());
    (touched, created)
}

/// The table `stmt` works on, when it is one of the statements above.
pub fn touched_table(stmt: &SyntaxNode) -> Option<TableRef> {
    tables_of(stmt).0
}

/// The table `stmt` creates, if it is a CREATE TABLE.
pub fn created_table(stmt: &SyntaxNode) -> Option<TableRef> {
    tables_of(stmt).1
}

fn touched_in(words: &[String]) -> Option<TableRef> {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let starts = |pattern: &[&str]| {
        upper.len() >= pattern.len() && pattern.iter().zip(&upper).all(|(p, w)| p == w)
    };
    let from = if starts(&["ALTER", "TABLE"])
        || starts(&["DROP", "TABLE"])
        || starts(&["REINDEX", "TABLE"])
    {
        2
    } else if starts(&["TRUNCATE"]) {
        1
    } else if starts(&["CREATE"]) && upper.iter().take(4).any(|w| w == "INDEX") {
        upper.iter().position(|w| w == "ON")? + 1
    } else {
        return None;
    };
    qualified_name(words, from)
}

fn created_in(words: &[String]) -> Option<TableRef> {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.first().map(String::as_str) != Some("CREATE") {
        return None;
    }
    let table = upper.iter().take(6).position(|w| w == "TABLE")?;
    let before_ok = upper[1..table].iter().all(|w| {
        matches!(
            w.as_str(),
            "GLOBAL" | "LOCAL" | "TEMP" | "TEMPORARY" | "UNLOGGED"
        )
    });
    if !before_ok {
        return None;
    }
    qualified_name(words, table + 1)
}

/// The statement's leading tokens without whitespace and comments.
fn words(stmt: &SyntaxNode) -> Vec<String> {
    stmt.descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .filter(|token| !token.kind().is_trivia())
        .take(LEADING_TOKENS)
        .map(|token| token.text().to_string())
        .collect()
}

/// `schema.table` (or `table`) starting at `words[from]`, after noise words.
fn qualified_name(words: &[String], from: usize) -> Option<TableRef> {
    let mut at = from;
    while words
        .get(at)
        .is_some_and(|w| NOISE.contains(&w.to_ascii_uppercase().as_str()))
    {
        at += 1;
    }
    let mut parts = vec![name_part(words.get(at)?)?];
    while words.get(at + 1).map(String::as_str) == Some(".") {
        parts.push(name_part(words.get(at + 2)?)?);
        at += 2;
    }
    let name = folded(parts.last()?);
    Some(TableRef {
        written: parts.join("."),
        name,
    })
}

/// An identifier, quoted or not; `None` for punctuation.
fn name_part(word: &str) -> Option<String> {
    let quoted = word.starts_with('"') && word.ends_with('"') && word.len() >= 2;
    let plain = word
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    (quoted || (plain && !word.is_empty())).then(|| word.to_string())
}

/// How PostgreSQL reads an identifier: quoted as written, else lower-cased.
fn folded(part: &str) -> String {
    match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => part.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use squawk_syntax::SourceFile;
    use squawk_syntax::ast::AstNode;

    fn first(sql: &str) -> SyntaxNode {
        let file = SourceFile::parse(sql).tree();
        file.stmts().next().expect("a statement").syntax().clone()
    }

    fn touched(sql: &str) -> Option<(String, String)> {
        touched_table(&first(sql)).map(|t| (t.written, t.name))
    }

    #[test]
    fn reads_the_table_of_each_kind_of_statement() {
        let pair = |w: &str, n: &str| Some((w.to_string(), n.to_string()));
        assert_eq!(
            touched("ALTER TABLE IF EXISTS ONLY app.Invoices ADD COLUMN x int;"),
            pair("app.Invoices", "invoices")
        );
        assert_eq!(
            touched("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON \"Big\" (x);"),
            pair("\"Big\"", "Big")
        );
        assert_eq!(touched("CREATE INDEX ON t (x);"), pair("t", "t"));
        assert_eq!(touched("DROP TABLE IF EXISTS a, b;"), pair("a", "a"));
        assert_eq!(touched("TRUNCATE TABLE t CASCADE;"), pair("t", "t"));
        assert_eq!(touched("CREATE TABLE n (id int);"), pair("n", "n"));
        assert_eq!(touched("DROP INDEX i;"), None);
        assert_eq!(touched("SELECT 1;"), None);
    }

    #[test]
    fn only_create_table_creates_a_table() {
        let created = |sql: &str| created_table(&first(sql)).map(|t| t.name);
        assert_eq!(
            created("CREATE UNLOGGED TABLE IF NOT EXISTS s.n (id int);"),
            Some("n".to_string())
        );
        assert_eq!(created("CREATE INDEX i ON t (x);"), None);
        assert_eq!(created("CREATE VIEW v AS SELECT 1;"), None);
    }
}
