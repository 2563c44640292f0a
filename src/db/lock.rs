//! One migrator at a time: a session-level PostgreSQL advisory lock taken by
//! every command that changes the database, held from before the heads are
//! read until the run is over.
//!
//! The lock uses the two-int form of the advisory lock functions:
//!
//! ```sql
//! SELECT pg_try_advisory_lock(1381257812, hashtext('public.alembic_version'));
//! ```
//!
//! - the first key is [`LOCK_CLASS_ID`] (the bytes of "RTRT"), the same for
//!   every retort;
//! - the second is `hashtext` of the version table's schema-qualified name,
//!   unquoted (`schema.table`), where the schema is the configured one or,
//!   when none is configured, the one resolved when the connection was made
//!   (where the table is found through the search_path, else
//!   `current_schema()`, where it is created).
//!
//! Advisory locks belong to the current database, so the lock is scoped to
//! the database and the version table: two projects with different version
//! tables in one database do not wait for each other. Another tool can take
//! the same lock with the statement above (e.g. to hold off deployments).
//!
//! Waiting polls `pg_try_advisory_lock` (every [`WaitPolicy::poll_interval`])
//! instead of blocking in `pg_advisory_lock`, so the wait can be abandoned
//! at any moment without a statement to cancel, and every poll looks up who
//! holds the lock (from `pg_locks` joined with `pg_stat_activity`); the
//! waiting event is sent when the holders change or as a heartbeat.
//!
//! Session-level advisory locks are re-entrant and survive transactions: a
//! [`MigrationLock`] must be released with [`MigrationLock::release`] on the
//! same connection (closing the connection releases it too). Do not acquire
//! it twice on one connection.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use tokio_postgres::Client;

use crate::db::connect::describe_error;
pub use crate::db::events::LockHolder;
use crate::db::events::{EventSink, ExecEvent, WaitAnnouncer};
use crate::db::version_table::VersionTable;

/// First key of the advisory lock: "RTRT" as a big-endian 32-bit integer.
pub const LOCK_CLASS_ID: i32 = 0x5254_5254;

/// How often a waiting migrator retries, by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Longest text of a holder's current query kept for display.
const QUERY_PREVIEW_CHARS: usize = 200;

/// The two keys of the lock, and the name the second one is hashed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockKey {
    pub class_id: i32,
    /// `schema.table` of the version table, as hashed by `hashtext`.
    pub name: String,
}

impl LockKey {
    /// The SQL another session can run to take the same lock.
    pub fn lock_sql(&self) -> String {
        format!(
            "SELECT pg_advisory_lock({}, hashtext('{}'))",
            self.class_id,
            self.name.replace('\'', "''")
        )
    }
}

/// Whether and how to wait for a lock held by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    /// `false`: fail at once (`--no-wait`).
    pub wait: bool,
    pub poll_interval: Duration,
}

impl Default for WaitPolicy {
    fn default() -> WaitPolicy {
        WaitPolicy {
            wait: true,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

impl WaitPolicy {
    pub fn no_wait() -> WaitPolicy {
        WaitPolicy {
            wait: false,
            ..WaitPolicy::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// `--no-wait` and someone holds the lock.
    #[error("{}", held_message(key, holders, "another migration is running"))]
    Held {
        key: LockKey,
        holders: Vec<LockHolder>,
    },
    /// The caller stopped waiting.
    #[error("{}", held_message(key, holders, &format!("gave up waiting after {} s", waited.as_secs())))]
    GaveUp {
        key: LockKey,
        holders: Vec<LockHolder>,
        waited: Duration,
    },
    #[error("migration lock: {action}: {cause}")]
    Database { action: String, cause: String },
}

fn held_message(key: &LockKey, holders: &[LockHolder], why: &str) -> String {
    let mut text = format!(
        "the migration lock of {} is held by another session ({why}); nothing was run",
        key.name
    );
    let now = Utc::now();
    match holders {
        [] => text.push_str("\n  holder: (released just now; try again)"),
        _ => {
            for holder in holders {
                text.push_str(&format!("\n  holder: {}", holder.describe(now)));
            }
        }
    }
    text
}

fn db_error(action: &str, error: &tokio_postgres::Error) -> LockError {
    LockError::Database {
        action: action.to_string(),
        cause: describe_error(error),
    }
}

/// Proof that this session holds the migration lock. Release it with
/// [`MigrationLock::release`] on the connection that acquired it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the lock stays held until released or the connection closes"]
pub struct MigrationLock {
    key: LockKey,
    /// The backend that holds it.
    pid: i32,
    waited: Duration,
}

impl MigrationLock {
    pub fn key(&self) -> &LockKey {
        &self.key
    }

    /// Backend pid of the session holding the lock.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How long acquiring it waited for other holders.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Releases the lock. Returns `false` when the session no longer held
    /// it (e.g. the connection was lost and the server released it).
    pub async fn release(self, client: &Client, sink: &dyn EventSink) -> Result<bool, LockError> {
        let released: bool = client
            .query_one(
                "SELECT pg_catalog.pg_advisory_unlock($1, pg_catalog.hashtext($2))",
                &[&self.key.class_id, &self.key.name],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| db_error("releasing it", &e))?;
        sink.emit(ExecEvent::LockReleased {
            lock: self.key.name.clone(),
        });
        Ok(released)
    }
}

/// The lock's keys for `table` on this database: its configured schema,
/// else the one resolved at connect (see `VersionTable::locate`), else the
/// session's `current_schema()`. Functions are named with `pg_catalog.`
/// here and below: a migration's `SET search_path` must not change what
/// the lock statements call.
pub async fn lock_key(client: &Client, table: &VersionTable) -> Result<LockKey, LockError> {
    let schema: String = client
        .query_one(
            "SELECT coalesce($1::text, pg_catalog.current_schema(), '')",
            &[&table.effective_schema()],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| db_error("resolving the version table's schema", &e))?;
    Ok(LockKey {
        class_id: LOCK_CLASS_ID,
        name: format!("{schema}.{}", table.name),
    })
}

/// One attempt; never waits.
pub async fn try_lock(client: &Client, key: &LockKey) -> Result<bool, LockError> {
    client
        .query_one(
            "SELECT pg_catalog.pg_try_advisory_lock($1, pg_catalog.hashtext($2))",
            &[&key.class_id, &key.name],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| db_error("trying to take it", &e))
}

/// The sessions of this database holding the lock (normally one; empty
/// when it is free or was released a moment ago).
pub async fn lock_holders(client: &Client, key: &LockKey) -> Result<Vec<LockHolder>, LockError> {
    let sql = "SELECT a.pid, a.usename::text, a.application_name, host(a.client_addr), \
                      a.client_port, a.backend_start, a.state, a.state_change, a.query \
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
               WHERE l.locktype = 'advisory' AND l.granted \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND l.classid = $1::int4::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2 \
                 AND l.pid <> pg_backend_pid() \
               ORDER BY a.backend_start";
    let rows = client
        .query(sql, &[&key.class_id, &key.name])
        .await
        .map_err(|e| db_error("looking up who holds it", &e))?;
    rows.iter()
        .map(|row| {
            let query: Option<String> = row.try_get(8)?;
            Ok(LockHolder {
                pid: row.try_get(0)?,
                user: row.try_get(1)?,
                application_name: row.try_get(2)?,
                client_addr: row.try_get(3)?,
                client_port: row.try_get(4)?,
                session_started: row.try_get(5)?,
                state: row.try_get(6)?,
                state_since: row.try_get(7)?,
                query: query.map(|q| shorten(&q)),
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(|e| db_error("reading who holds it", &e))
}

fn shorten(query: &str) -> String {
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(QUERY_PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

/// Takes the migration lock of `table`, waiting (per `policy`) while
/// another session holds it. [`ExecEvent::LockWaiting`] is emitted on the
/// first unsuccessful poll, when the holders change, and every
/// [`crate::db::events::WAIT_HEARTBEAT`] otherwise; success emits
/// [`ExecEvent::LockAcquired`]. When `give_up` completes first, the wait
/// ends with [`LockError::GaveUp`] and the lock is not held.
pub async fn acquire(
    client: &Client,
    table: &VersionTable,
    policy: WaitPolicy,
    sink: &dyn EventSink,
    give_up: impl Future<Output = ()>,
) -> Result<MigrationLock, LockError> {
    let key = lock_key(client, table).await?;
    let pid: i32 = client
        .query_one("SELECT pg_catalog.pg_backend_pid()", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| db_error("reading the backend pid", &e))?;
    let started = Instant::now();
    let mut give_up = std::pin::pin!(give_up);
    let mut announcer = WaitAnnouncer::new();
    let mut held_by_others = false;
    loop {
        // The attempt itself never blocks, so it is always allowed to
        // finish: abandoning it midway could leave the lock taken unseen.
        if try_lock(client, &key).await? {
            // Taken at the first attempt: its round trip is no wait.
            let waited = match held_by_others {
                true => started.elapsed(),
                false => Duration::ZERO,
            };
            sink.emit(ExecEvent::LockAcquired {
                lock: key.name.clone(),
                waited,
            });
            return Ok(MigrationLock { key, pid, waited });
        }
        held_by_others = true;
        let holders = lock_holders(client, &key).await?;
        if !policy.wait {
            return Err(LockError::Held { key, holders });
        }
        if let Some(news) = announcer.due(holders.iter().map(|h| h.pid).collect::<Vec<_>>()) {
            sink.emit(ExecEvent::LockWaiting {
                lock: key.name.clone(),
                holders: holders.clone(),
                waited: started.elapsed(),
                news,
            });
        }
        tokio::select! {
            () = tokio::time::sleep(policy.poll_interval) => {}
            () = &mut give_up => {
                return Err(LockError::GaveUp { key, holders, waited: started.elapsed() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn holder() -> LockHolder {
        LockHolder {
            pid: 4242,
            user: Some("deploy".into()),
            application_name: Some("retort".into()),
            client_addr: Some("10.0.0.7".into()),
            client_port: Some(51234),
            session_started: DateTime::from_timestamp(1_700_000_000, 0),
            state: Some("idle in transaction".into()),
            state_since: DateTime::from_timestamp(1_700_000_030, 0),
            query: Some("SELECT 1".into()),
        }
    }

    #[test]
    fn class_id_spells_rtrt() {
        assert_eq!(LOCK_CLASS_ID.to_be_bytes(), *b"RTRT");
    }

    #[test]
    fn holder_line_names_who_where_and_since_when() {
        let now = DateTime::from_timestamp(1_700_000_090, 0).unwrap();
        let line = holder().describe(now);
        assert_eq!(
            line,
            "pid 4242, user deploy, application 'retort', client 10.0.0.7:51234, \
             connected since 2023-11-14 22:13:20 UTC (90 s ago), idle in transaction for 60 s"
        );
    }

    #[test]
    fn socket_holder_and_long_ages() {
        let mut h = holder();
        h.client_addr = None;
        h.application_name = Some(String::new());
        let now = DateTime::from_timestamp(1_700_000_000 + 3 * 3600 + 125, 0).unwrap();
        let line = h.describe(now);
        assert!(line.contains("local socket"), "{line}");
        assert!(!line.contains("application"), "{line}");
        assert!(line.contains("(3 h 2 min ago)"), "{line}");
    }

    #[test]
    fn no_wait_message_lists_holders_and_says_nothing_ran() {
        let key = LockKey {
            class_id: LOCK_CLASS_ID,
            name: "public.alembic_version".into(),
        };
        let err = LockError::Held {
            key: key.clone(),
            holders: vec![holder()],
        };
        let text = err.to_string();
        assert!(text.starts_with("the migration lock of public.alembic_version is held"));
        assert!(text.contains("nothing was run"));
        assert!(text.contains("\n  holder: pid 4242, user deploy"), "{text}");
        assert_eq!(
            key.lock_sql(),
            "SELECT pg_advisory_lock(1381257812, hashtext('public.alembic_version'))"
        );
    }

    #[test]
    fn long_queries_are_shortened_on_one_line() {
        let long = format!("SELECT\n  {}", "x, ".repeat(200));
        let short = shorten(&long);
        assert!(short.ends_with("..."));
        assert!(!short.contains('\n'));
        assert_eq!(short.chars().count(), QUERY_PREVIEW_CHARS + 3);
    }
}
