//! Splitting a SQL section into statements, respecting PostgreSQL's lexical rules.
