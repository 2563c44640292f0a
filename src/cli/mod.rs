//! The command line: Alembic's verbs over the retort engine.

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    0
}
