//! The pure core: revision files, the revision graph, target resolution and
//! planning. Nothing in here performs I/O.

pub mod describe;
pub mod graph;
pub mod offline;
pub mod plan;
pub mod policy;
#[cfg(test)]
mod random_graphs;
pub mod reach;
pub mod revision;
pub(crate) mod rows;
pub mod split;
pub mod target;
pub mod topo;
