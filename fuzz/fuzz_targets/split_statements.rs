//! The statement splitter on arbitrary input: no panic, and the statements it
//! returns are faithful slices of the input, in order, with their positions.

#![no_main]

use libfuzzer_sys::fuzz_target;
use retort::core::split::{position_to_line_col, split_statements};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let statements = match split_statements(&text) {
        Ok(statements) => statements,
        Err(error) => {
            let (last_line, _) = position_to_line_col(&text, text.len());
            assert!((1..=last_line).contains(&error.line), "{error}");
            assert!(error.column >= 1, "{error}");
            return;
        }
    };
    let mut end_of_previous = 0;
    for statement in &statements {
        assert!(!statement.sql.is_empty(), "empty statement");
        assert!(
            statement.offset >= end_of_previous,
            "statement at {} overlaps the previous one ending at {end_of_previous}",
            statement.offset
        );
        let found = text.get(statement.offset..statement.offset + statement.sql.len());
        assert_eq!(
            found,
            Some(statement.sql.as_str()),
            "statement text is not found at its offset {}",
            statement.offset
        );
        assert_eq!(
            (statement.line, statement.column),
            position_to_line_col(&text, statement.offset),
            "wrong line/column for offset {}",
            statement.offset
        );
        // PostgreSQL's whitespace only: U+00A0 and friends are identifier
        // characters to its lexer, so they belong to the statement.
        let pg_space = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];
        assert!(
            !statement.sql.starts_with(pg_space) && !statement.sql.ends_with(pg_space),
            "surrounding whitespace kept in {:?}",
            statement.sql
        );
        end_of_previous = statement.offset + statement.sql.len();
        // A statement split on its own is that one statement again.
        let alone = split_statements(&statement.sql).map(|again| {
            again
                .into_iter()
                .map(|s| (s.sql, s.offset))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            alone,
            Ok(vec![(statement.sql.clone(), 0)]),
            "re-splitting {:?} gives something else",
            statement.sql
        );
    }
});
