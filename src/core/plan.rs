//! Plans: the ordered steps that move the database from its current heads to a
//! target, each with the exact change it makes to the version table.
//!
//! A plan is computed without touching the database; the database layer only
//! executes it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upgrade,
    Downgrade,
}

/// One change to the version table. Online, `Update` and `Delete` must match
/// exactly one row (as Alembic checks), otherwise the step fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum VersionOp {
    Insert { version: String },
    Update { from: String, to: String },
    Delete { version: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// Run the revision's upgrade or downgrade SQL.
    Migrate,
    /// Only move the version table (no SQL of the revision runs).
    Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub direction: Direction,
    /// The revision whose SQL runs (for `Migrate`); for `Stamp` the destination
    /// revision, or empty when stamping to base.
    pub revision: String,
    /// Alembic's `short_log` sides: the revisions the step moves from and to
    /// (down revisions without dependencies).
    pub from_revisions: Vec<String>,
    pub to_revisions: Vec<String>,
    pub version_ops: Vec<VersionOp>,
}

impl Step {
    /// Alembic's log line: `upgrade a -> b`, `downgrade b -> a`, `stamp_revision ...`.
    pub fn short_log(&self) -> String {
        let verb = match (&self.kind, self.direction) {
            (StepKind::Stamp, _) => "stamp_revision",
            (StepKind::Migrate, Direction::Upgrade) => "upgrade",
            (StepKind::Migrate, Direction::Downgrade) => "downgrade",
        };
        format!(
            "{verb} {} -> {}",
            self.from_revisions.join(", "),
            self.to_revisions.join(", ")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Version-table rows before the plan runs (sorted).
    pub heads_before: Vec<String>,
    /// Version-table rows after every step has run (sorted).
    pub heads_after: Vec<String>,
    /// Stamp with `--purge`: every row is deleted before the first step.
    pub purge: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && !self.purge
    }
}
