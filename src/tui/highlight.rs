//! SQL highlighting (in progress).
