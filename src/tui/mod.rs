//! The terminal console's building blocks.

pub mod highlight;
pub mod lanes;
