//! One revision file, parsed: header fields and the two SQL sections.
//!
//! Pure: the caller hands in the file's path (for messages) and its text.

use std::path::PathBuf;

/// A section of SQL (upgrade or downgrade) and where it sits in its file,
/// so statement positions can be mapped back to file lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSection {
    /// The section body, exactly as in the file (marker line excluded).
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
}

/// A file that could not be parsed: which file, which line, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}
