//! retort: PostgreSQL schema migrations with Alembic's revision-graph model,
//! plain-SQL revision files, a command line and a terminal console.

pub mod cli;
pub mod config;
pub mod core;
pub mod db;
pub mod demo;
pub mod engine;
pub mod scripts;
pub mod tui;
