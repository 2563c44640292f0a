//! The revision map: every revision indexed, validated and linked, with
//! Alembic's notions of heads, bases, branch labels and dependencies.

use crate::core::revision::Revision;

/// Errors found while building the map (the graph as a whole is invalid).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("{0}")]
    Invalid(String),
}

pub struct RevisionMap {
    revisions: Vec<Revision>,
}

impl RevisionMap {
    /// Index and validate `revisions` (in file-name order, which breaks ties).
    pub fn build(revisions: Vec<Revision>) -> Result<RevisionMap, GraphError> {
        Ok(RevisionMap { revisions })
    }

    /// All revisions, in map (file-name) order.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.id == id)
    }
}
