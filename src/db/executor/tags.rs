//! Affected-row counts of the statements a step runs. `batch_execute`
//! drops the server's command tags, so statements run through the simple
//! query protocol's stream instead: its `CommandComplete` carries the
//! count (the driver keeps the number, not the verb, which is read from
//! the statement). Rows a statement returns are read and dropped as they
//! come, never collected.

use futures_util::TryStreamExt;

use crate::core::lock_risk::first_keyword;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Verbs whose command tag ends in a row count worth reporting; DDL tags
/// carry none.
const COUNTING: [&str; 9] = [
    "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "SELECT", "MOVE", "FETCH", "WITH",
];

/// Runs `sql` (one statement) and returns the row count of its last
/// command tag.
pub(crate) async fn execute_counting(
    client: &Client,
    sql: &str,
) -> Result<u64, tokio_postgres::Error> {
    let stream = client.simple_query_raw(sql).await?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = 0;
    while let Some(message) = stream.try_next().await? {
        if let SimpleQueryMessage::CommandComplete(count) = message {
            rows = count;
        }
    }
    Ok(rows)
}

/// The verb of `sql`'s command tag when it reports a row count: its first
/// keyword.
pub(crate) fn counting_verb(sql: &str) -> Option<String> {
    let word = first_keyword(sql);
    COUNTING.contains(&word.as_str()).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_statements_name_their_verb() {
        assert_eq!(
            counting_verb("update t set v = 1").as_deref(),
            Some("UPDATE")
        );
        assert_eq!(
            counting_verb("-- backfill\n/* outer /* inner */ */ INSERT INTO t VALUES (1)")
                .as_deref(),
            Some("INSERT")
        );
        assert_eq!(
            counting_verb("(SELECT 1) UNION (SELECT 2)").as_deref(),
            Some("SELECT")
        );
        assert_eq!(
            counting_verb("WITH x AS (DELETE FROM t RETURNING *) SELECT 1").as_deref(),
            Some("WITH")
        );
    }

    #[test]
    fn ddl_and_unfinished_comments_report_no_count() {
        assert_eq!(counting_verb("CREATE TABLE t (id int)"), None);
        assert_eq!(counting_verb("ALTER TABLE t ADD c int"), None);
        assert_eq!(counting_verb("-- only a comment"), None);
        assert_eq!(counting_verb(""), None);
    }
}
