//! Which steps of a plan change the schema with nothing bounding their
//! wait for a lock. A DDL statement waiting for its lock queues every
//! later reader and writer of the table behind it, so an environment
//! without `lock_timeout` (and a revision without its own) can stall an
//! application for as long as some other transaction stays open.

use crate::core::duration::parse_duration;
use crate::core::graph::RevisionMap;
use crate::core::plan::{Direction, Plan, StepKind};
use crate::core::split::split_statements;

/// First keywords of statements that take strong table locks.
const DDL: [&str; 9] = [
    "ALTER", "CREATE", "DROP", "TRUNCATE", "LOCK", "REINDEX", "CLUSTER", "COMMENT", "VACUUM",
];

/// The ids of the plan's revisions whose SQL has DDL and that set no
/// `lock_timeout` of their own, when `env_lock_timeout` does not bound
/// the wait either (absent or zero, which PostgreSQL takes as no limit).
pub fn unbounded_ddl(
    map: &RevisionMap,
    plan: &Plan,
    env_lock_timeout: Option<&str>,
) -> Vec<String> {
    if bounds(env_lock_timeout) {
        return Vec::new();
    }
    let mut ids = Vec::new();
    for step in plan.steps.iter().filter(|s| s.kind == StepKind::Migrate) {
        let Some(revision) = map.get(&step.revision) else {
            continue;
        };
        let section = match step.direction {
            Direction::Upgrade => Some(&revision.upgrade),
            Direction::Downgrade => revision.downgrade.as_ref(),
        };
        let has_ddl = section.is_some_and(|s| has_ddl(&s.sql));
        if has_ddl && !bounds(revision.lock_timeout.as_deref()) && !ids.contains(&revision.id) {
            ids.push(revision.id.clone());
        }
    }
    ids
}

/// A `lock_timeout` value that limits the wait.
fn bounds(value: Option<&str>) -> bool {
    value.is_some_and(|v| parse_duration(v).map_or(true, |d| !d.is_zero()))
}

fn has_ddl(sql: &str) -> bool {
    // A section the splitter rejects is refused before it runs anyway.
    split_statements(sql).is_ok_and(|statements| {
        statements
            .iter()
            .any(|s| DDL.contains(&first_keyword(&s.sql).as_str()))
    })
}

/// A statement's first keyword, upper-cased, after comments and opening
/// parentheses; empty when there is none.
pub fn first_keyword(sql: &str) -> String {
    skip_comments(sql)
        .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// `sql` from its first character that is neither blank nor in a comment.
fn skip_comments(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    loop {
        if let Some(line) = rest.strip_prefix("--") {
            rest = line
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(block) = rest.strip_prefix("/*") {
            rest = block_end(block).trim_start();
        } else {
            return rest;
        }
    }
}

/// What follows a block comment whose opening `/*` was just read; block
/// comments nest in PostgreSQL.
fn block_end(mut rest: &str) -> &str {
    let mut depth = 1;
    while depth > 0 {
        let Some(close) = rest.find("*/") else {
            return "";
        };
        match rest.find("/*") {
            Some(open) if open < close => {
                depth += 1;
                rest = &rest[open + 2..];
            }
            _ => {
                depth -= 1;
                rest = &rest[close + 2..];
            }
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::plan_upgrade;
    use crate::core::revision::{Revision, SqlSection};

    #[test]
    fn the_first_keyword_comes_after_comments() {
        assert_eq!(first_keyword("update t set v = 1"), "UPDATE");
        assert_eq!(
            first_keyword("-- backfill\n/* outer /* inner */ */ INSERT INTO t VALUES (1)"),
            "INSERT"
        );
        assert_eq!(first_keyword("(SELECT 1) UNION (SELECT 2)"), "SELECT");
        assert_eq!(first_keyword("/* never closed UPDATE t"), "");
        assert_eq!(first_keyword("-- only a comment"), "");
    }

    fn map() -> RevisionMap {
        let mut ddl = Revision::synthetic("a1", &[]);
        ddl.upgrade = SqlSection {
            sql: "-- add it\nALTER TABLE t ADD c int;\n".into(),
            first_line: 1,
        };
        let mut bounded = Revision::synthetic("b2", &["a1"]);
        bounded.upgrade = SqlSection {
            sql: "CREATE INDEX i ON t (c);\n".into(),
            first_line: 1,
        };
        bounded.lock_timeout = Some("2s".into());
        let mut data = Revision::synthetic("c3", &["b2"]);
        data.upgrade = SqlSection {
            sql: "UPDATE t SET c = 1;\n".into(),
            first_line: 1,
        };
        RevisionMap::build(vec![ddl, bounded, data]).expect("map")
    }

    #[test]
    fn ddl_without_a_lock_timeout_is_named() {
        let map = map();
        let plan = plan_upgrade(&map, &[], "heads").expect("plan");
        assert_eq!(unbounded_ddl(&map, &plan, None), ["a1"]);
        assert_eq!(unbounded_ddl(&map, &plan, Some("0")), ["a1"]);
        assert!(unbounded_ddl(&map, &plan, Some("5s")).is_empty());
    }
}
