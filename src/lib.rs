//! retort: PostgreSQL schema migrations with Alembic's revision-graph model,
//! plain-SQL revision files, a command line and a terminal console.

pub mod cli;
pub mod core;
pub mod tui;
