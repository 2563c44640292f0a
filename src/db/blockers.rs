//! Who blocks the migration: while a statement runs, a second session looks
//! at the migration's backend with `pg_blocking_pids` and reports the
//! sessions holding the locks it waits for, so the user sees what to do
//! (wait, ask, or terminate the blocker) instead of a silent hang.
//!
//! The watching session is opened on the first check, only once a statement
//! has run for a moment, and lives as long as the run.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Row};

use crate::db::connect::SessionOpener;
pub use crate::db::events::{Blocker, Queued};
use crate::db::events::{EventSink, ExecEvent, LOCK_NOT_AVAILABLE, WaitAnnouncer, WaitNews};
use crate::db::history::HistoryError;
use crate::db::timeouts::LockRetry;
use crate::db::version_table::VersionTableError;

/// First look after a statement starts: early enough to name the blocker
/// of a short `lock_timeout`, late enough that quick statements never open
/// the watching session.
const FIRST_CHECK: Duration = Duration::from_millis(100);
/// Then every so often while the statement still runs.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(500);
/// Longest query text kept per blocker.
const MAX_QUERY_CHARS: usize = 500;
/// `application_name` of the watching session in `pg_stat_activity`.
const WATCHER_NAME: &str = "retort (lock watch)";

/// A failure of a statement on retort's own tables that can tell a lock
/// timeout and take further lines of explanation.
pub trait TableError: Sized {
    fn is_lock_timeout(&self) -> bool;
    /// The same failure with `note` as a further line of its cause.
    fn with_note(self, note: &str) -> Self;
}

/// A line per blocker, as a step's lock timeout reads.
fn blocker_lines(blockers: &[Blocker]) -> String {
    if blockers.is_empty() {
        return "no blocking session was seen (the lock was released, or held too briefly to look)"
            .to_string();
    }
    blockers
        .iter()
        .map(|blocker| format!("blocked by {blocker}"))
        .collect::<Vec<_>>()
        .join("\n  ")
}

impl TableError for VersionTableError {
    fn is_lock_timeout(&self) -> bool {
        matches!(self, VersionTableError::Database { code: Some(c), .. } if c == LOCK_NOT_AVAILABLE)
    }

    fn with_note(self, note: &str) -> Self {
        match self {
            VersionTableError::Database {
                table,
                action,
                cause,
                code,
            } => VersionTableError::Database {
                table,
                action,
                cause: format!("{cause}\n  {note}"),
                code,
            },
            other => other,
        }
    }
}

impl TableError for HistoryError {
    fn is_lock_timeout(&self) -> bool {
        matches!(self, HistoryError::Database { code: Some(c), .. } if c == LOCK_NOT_AVAILABLE)
    }

    fn with_note(self, note: &str) -> Self {
        match self {
            HistoryError::Database {
                table,
                action,
                cause,
                code,
            } => HistoryError::Database {
                table,
                action,
                cause: format!("{cause}\n  {note}"),
                code,
            },
            other => other,
        }
    }
}

/// A lock timeout on retort's own table, naming who held the lock.
pub fn name_blockers<E: TableError>(error: E, blockers: &[Blocker]) -> E {
    match error.is_lock_timeout() {
        true => error.with_note(&blocker_lines(blockers)),
        false => error,
    }
}

/// Runs retort's own statements (reading the version table, the history)
/// outside the executor the way the executor runs a step's: under the
/// blocker watch, and after a lock timeout again, per `lock_retries`.
pub struct TableGuard {
    watch: LockWatch,
    retry: LockRetry,
}

impl TableGuard {
    pub fn new(watch: LockWatch, retry: LockRetry) -> TableGuard {
        TableGuard { watch, retry }
    }

    /// `op` makes the statement afresh for each attempt. A lock timeout
    /// that is not retried names the sessions last seen blocking it.
    pub async fn run<T, E, Fut>(
        &mut self,
        sink: &dyn EventSink,
        table: &str,
        action: &str,
        mut op: impl FnMut() -> Fut,
    ) -> Result<T, E>
    where
        E: TableError + fmt::Display,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            let error = match self.watch.watch_table(sink, table, action, op()).await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_lock_timeout() => {
                    name_blockers(error, self.watch.last_seen())
                }
                Err(error) => return Err(error),
            };
            attempt += 1;
            let Some(delay) = self.retry.wait_before(attempt) else {
                return Err(gave_up(error, attempt - 1));
            };
            sink.emit(ExecEvent::TableRetrying {
                table: table.to_string(),
                action: action.to_string(),
                attempt,
                attempts: self.retry.attempts(),
                delay,
                cause: error.to_string(),
            });
            tokio::time::sleep(delay).await;
        }
    }
}

/// The failure after `attempts` attempts, saying so when there were retries.
fn gave_up<E: TableError>(error: E, attempts: u32) -> E {
    match attempts {
        0 | 1 => error,
        n => error.with_note(&format!(
            "gave up after {n} attempts (lock_retries = {})",
            n - 1
        )),
    }
}

/// What one look found: the blockers, the lock waited for and the
/// sessions queued behind the migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sighting {
    blockers: Vec<Blocker>,
    waiting_for: Option<String>,
    queued: Vec<Queued>,
}

impl Sighting {
    /// What a change of is news: who blocks, what lock, who queues.
    fn key(&self) -> (Vec<i32>, Option<String>, Vec<i32>) {
        (
            self.blockers.iter().map(|b| b.pid).collect(),
            self.waiting_for.clone(),
            self.queued.iter().map(|q| q.pid).collect(),
        )
    }
}

const BLOCKERS_SQL: &str = "\
SELECT blocking.pid,
       a.usename::text,
       a.application_name,
       host(a.client_addr),
       a.state,
       a.query,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
       CASE WHEN a.state LIKE 'idle in transaction%'
            THEN extract(epoch FROM clock_timestamp() - a.state_change)::float8 END,
       a.wait_event_type || ': ' || a.wait_event
  FROM unnest(pg_blocking_pids($1)) AS blocking(pid)
  LEFT JOIN pg_stat_activity a ON a.pid = blocking.pid
 ORDER BY blocking.pid";

const WAITING_FOR_SQL: &str = "\
SELECT l.mode || ' on ' || CASE
         WHEN l.locktype = 'relation' THEN coalesce(l.relation::regclass::text, 'relation ' || l.relation)
         WHEN l.locktype = 'transactionid' THEN 'transaction ' || l.transactionid
         WHEN l.locktype = 'tuple' THEN 'a row of ' || coalesce(l.relation::regclass::text, 'relation ' || l.relation)
         ELSE l.locktype END
  FROM pg_locks l
 WHERE l.pid = $1 AND NOT l.granted
 LIMIT 1";

/// Sessions whose lock requests wait on the migration's backend, longest
/// waiting first. `pg_locks.waitstart` exists from PostgreSQL 14 on; read
/// through `to_jsonb` so older servers give NULL (and the query start)
/// instead of an error.
const QUEUED_SQL: &str = "\
SELECT a.pid,
       a.usename::text,
       a.application_name,
       a.query,
       extract(epoch FROM clock_timestamp() - coalesce(w.since, a.query_start))::float8
  FROM pg_stat_activity a
  LEFT JOIN LATERAL (
       SELECT min((to_jsonb(l) ->> 'waitstart')::timestamptz) AS since
         FROM pg_locks l
        WHERE l.pid = a.pid AND NOT l.granted) w ON true
 WHERE $1 = ANY (pg_blocking_pids(a.pid))
 ORDER BY coalesce(w.since, a.query_start), a.pid
 LIMIT 100";

fn queued_from_row(row: &Row) -> Result<Queued, tokio_postgres::Error> {
    let query: Option<String> = row.try_get(3)?;
    let waited: Option<f64> = row.try_get(4)?;
    Ok(Queued {
        pid: row.try_get(0)?,
        user: row.try_get(1)?,
        application: row.try_get(2)?,
        query: query.map(|q| one_line(&q)),
        waited: waited
            .filter(|s| s.is_finite())
            .map(|s| Duration::from_secs_f64(s.max(0.0))),
    })
}

fn blocker_from_row(row: &Row) -> Result<Blocker, tokio_postgres::Error> {
    let age = |index: usize| -> Result<Option<Duration>, tokio_postgres::Error> {
        let secs: Option<f64> = row.try_get(index)?;
        Ok(secs
            .filter(|s| s.is_finite())
            .map(|s| Duration::from_secs_f64(s.max(0.0))))
    };
    let query: Option<String> = row.try_get(5)?;
    Ok(Blocker {
        pid: row.try_get(0)?,
        user: row.try_get(1)?,
        application: row.try_get(2)?,
        client: row.try_get(3)?,
        state: row.try_get(4)?,
        query: query.map(|q| one_line(&q)),
        transaction_age: age(6)?,
        idle_in_transaction: age(7)?,
        wait_event: row.try_get(8)?,
    })
}

/// Whitespace runs folded to one space, shortened to `MAX_QUERY_CHARS`.
fn one_line(query: &str) -> String {
    let folded = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(MAX_QUERY_CHARS) {
        Some((cut, _)) => format!("{}...", &folded[..cut]),
        None => folded,
    }
}

async fn look(client: &Client, pid: i32) -> Result<Sighting, tokio_postgres::Error> {
    let rows = client.query(BLOCKERS_SQL, &[&pid]).await?;
    if rows.is_empty() {
        return Ok(Sighting::default());
    }
    let blockers = rows
        .iter()
        .map(blocker_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let waiting_for = client
        .query_opt(WAITING_FOR_SQL, &[&pid])
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let queued = client
        .query(QUEUED_SQL, &[&pid])
        .await?
        .iter()
        .map(queued_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sighting {
        blockers,
        waiting_for,
        queued,
    })
}

enum Watcher {
    /// Not opened yet.
    Idle(SessionOpener),
    Open(Client),
    /// Disabled, or the watching session could not be opened or broke.
    Off,
}

/// Watches one migration session for the length of a run.
pub struct LockWatch {
    pid: i32,
    watcher: Watcher,
    /// Blockers seen last while the latest watched statement ran.
    last_seen: Vec<Blocker>,
}

/// How a race between the statement and a look ended.
enum Race<T> {
    Finished(T),
    Looked(Option<Sighting>),
}

impl LockWatch {
    /// `opener` reaches the server the migration runs on; `None` disables watching.
    pub fn new(pid: i32, opener: Option<SessionOpener>) -> LockWatch {
        LockWatch {
            pid,
            watcher: opener.map_or(Watcher::Off, Watcher::Idle),
            last_seen: Vec::new(),
        }
    }

    /// The blockers seen last while the latest watched statement ran
    /// (empty when it was never blocked, or finished before a look).
    pub fn last_seen(&self) -> &[Blocker] {
        &self.last_seen
    }

    /// Runs `statement` of step `step_index`, looking for blockers while
    /// it runs: `Blocked` when it starts waiting, when the blockers change
    /// and as a heartbeat, `Unblocked` once it stops waiting.
    pub(crate) async fn watch<T>(
        &mut self,
        sink: &dyn EventSink,
        step_index: usize,
        statement: impl Future<Output = T>,
    ) -> T {
        self.watch_as(sink, &Subject::Step(step_index), statement)
            .await
    }

    /// Runs a statement on retort's own tables (`table`, doing `action`)
    /// the same way, reporting `TableBlocked` / `TableUnblocked`.
    pub async fn watch_table<T>(
        &mut self,
        sink: &dyn EventSink,
        table: &str,
        action: &str,
        statement: impl Future<Output = T>,
    ) -> T {
        let subject = Subject::Table {
            table: table.to_string(),
            action: action.to_string(),
        };
        self.watch_as(sink, &subject, statement).await
    }

    async fn watch_as<T>(
        &mut self,
        sink: &dyn EventSink,
        subject: &Subject,
        statement: impl Future<Output = T>,
    ) -> T {
        self.last_seen.clear();
        let mut statement = std::pin::pin!(statement);
        let mut blocked_since: Option<Instant> = None;
        let mut announcer = WaitAnnouncer::new();
        let mut pause = FIRST_CHECK;
        loop {
            tokio::select! {
                biased;
                output = &mut statement => {
                    subject.unblocked(sink, blocked_since);
                    return output;
                }
                _ = tokio::time::sleep(pause) => {}
            }
            pause = CHECK_INTERVAL;
            let race = {
                let look = self.look();
                tokio::select! {
                    biased;
                    output = &mut statement => Race::Finished(output),
                    sighting = look => Race::Looked(sighting),
                }
            };
            let sighting = match race {
                Race::Finished(output) => {
                    subject.unblocked(sink, blocked_since);
                    return output;
                }
                Race::Looked(sighting) => sighting.unwrap_or_default(),
            };
            if sighting.blockers.is_empty() {
                subject.unblocked(sink, blocked_since.take());
                announcer.reset();
                continue;
            }
            let since = *blocked_since.get_or_insert_with(Instant::now);
            self.last_seen = sighting.blockers.clone();
            if let Some(news) = announcer.due(sighting.key()) {
                sink.emit(subject.blocked(sighting, since.elapsed(), news));
            }
        }
    }

    /// One look from the watching session, opening it first if needed.
    /// `None` when watching is off or failed (it is then turned off: a
    /// broken watcher must not slow the migration down).
    async fn look(&mut self) -> Option<Sighting> {
        if let Watcher::Idle(opener) = &self.watcher {
            self.watcher = match opener.open(WATCHER_NAME).await {
                Ok(client) => Watcher::Open(client),
                Err(_) => Watcher::Off,
            };
        }
        let Watcher::Open(client) = &self.watcher else {
            return None;
        };
        match look(client, self.pid).await {
            Ok(sighting) => Some(sighting),
            // A watcher without the rights to look, or a dropped session.
            Err(_) => {
                self.watcher = Watcher::Off;
                None
            }
        }
    }
}

/// What waits: a step's statement, or a statement on retort's own tables.
enum Subject {
    Step(usize),
    Table { table: String, action: String },
}

impl Subject {
    fn blocked(&self, sighting: Sighting, waited: Duration, news: WaitNews) -> ExecEvent {
        match self {
            Subject::Step(step_index) => ExecEvent::Blocked {
                step_index: *step_index,
                waiting_for: sighting.waiting_for,
                waited,
                blockers: sighting.blockers,
                queued: sighting.queued,
                news,
            },
            Subject::Table { table, action } => ExecEvent::TableBlocked {
                table: table.clone(),
                action: action.clone(),
                waiting_for: sighting.waiting_for,
                waited,
                blockers: sighting.blockers,
                queued: sighting.queued,
                news,
            },
        }
    }

    /// Ends a wait that was seen (`blocked_since`); nothing when none was.
    fn unblocked(&self, sink: &dyn EventSink, blocked_since: Option<Instant>) {
        let Some(since) = blocked_since else {
            return;
        };
        let waited = since.elapsed();
        sink.emit(match self {
            Subject::Step(step_index) => ExecEvent::Unblocked {
                step_index: *step_index,
                waited,
            },
            Subject::Table { table, .. } => ExecEvent::TableUnblocked {
                table: table.clone(),
                waited,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocker() -> Blocker {
        Blocker {
            pid: 4242,
            user: Some("alice".into()),
            application: Some("psql".into()),
            client: None,
            state: Some("idle in transaction".into()),
            query: Some("LOCK TABLE t IN ACCESS EXCLUSIVE MODE;".into()),
            transaction_age: Some(Duration::from_millis(12_340)),
            idle_in_transaction: Some(Duration::from_millis(12_000)),
            wait_event: Some("Client: ClientRead".into()),
        }
    }

    #[test]
    fn a_blocker_reads_as_who_what_and_how_long() {
        assert_eq!(
            blocker().to_string(),
            "pid 4242 (user alice, application psql, idle in transaction for 12.0 s, \
             transaction open for 12.3 s), last query: LOCK TABLE t IN ACCESS EXCLUSIVE MODE;"
        );
        let active = Blocker {
            state: Some("active".into()),
            idle_in_transaction: None,
            application: Some(String::new()),
            ..blocker()
        };
        assert_eq!(
            active.to_string(),
            "pid 4242 (user alice, active, transaction open for 12.3 s), \
             running: LOCK TABLE t IN ACCESS EXCLUSIVE MODE;"
        );
        let unknown = Blocker {
            pid: 7,
            user: None,
            application: None,
            client: None,
            state: None,
            query: None,
            transaction_age: None,
            idle_in_transaction: None,
            wait_event: None,
        };
        assert_eq!(unknown.to_string(), "pid 7");
    }

    #[test]
    fn queries_are_folded_and_shortened() {
        assert_eq!(one_line("SELECT 1\n  FROM\tt"), "SELECT 1 FROM t");
        let long = "x".repeat(MAX_QUERY_CHARS + 10);
        let shown = one_line(&long);
        assert_eq!(shown.chars().count(), MAX_QUERY_CHARS + 3);
        assert!(shown.ends_with("..."));
        let wide = "é".repeat(MAX_QUERY_CHARS + 1);
        assert!(one_line(&wide).ends_with("é..."));
    }
}
