//! Traces one step's SQL on a database: runs its statements and records,
//! per statement, the locks its backend held on relations (`pg_locks`) and
//! the relations whose storage it replaced (`pg_class.relfilenode`), for
//! the analysis in `core::lock_trace`.
//!
//! **Only on a database the caller hands it, and only a throwaway one.**
//! The tracer runs the step's SQL for real (DDL, data changes, all of it)
//! and never picks or opens a database by itself; choosing a database
//! nobody else uses is the caller's job. It does not read or write
//! retort's version table or audit history: it runs the SQL of the step
//! and nothing else.
//!
//! How it looks:
//! - A transactional step runs in one transaction. After each statement
//!   its own backend reads `pg_locks` (every lock it took is still held
//!   there until the transaction ends) and the `relfilenode` of every user
//!   relation (one query, compared on the server with what was known before
//!   the statement, so only new and rewritten relations come back). Locks of the looking itself (on system catalogs, virtual
//!   and transaction ids) are left out. Then the transaction commits, or
//!   rolls back, as the caller asks.
//! - A `transactional: false` step runs statement by statement in
//!   autocommit, as the executor runs it: its locks are gone once a
//!   statement ends, so a second session samples `pg_locks` of the
//!   tracing backend while the statement runs. A lock held briefly, or a
//!   very fast statement, can be missed; the trace says it was sampled.
//!   The sampling session must stay outside any transaction: `CREATE INDEX
//!   CONCURRENTLY` waits for every open transaction to end.
//!   A `BEGIN ... COMMIT` block in such a step is traced like a
//!   transactional step, from its own backend.
//! - A relation that did not exist when the step began is flagged as new:
//!   nobody else can see it until the step commits, so its locks are
//!   harmless.
//!
//! Design: how `rehearse` calls it, per step of its plan, on the throwaway
//! database it made (its `MigrationConnection`):
//! 1. `StepSql::new(revision, direction)` (refuses an irreversible
//!    downgrade and unsplittable SQL before anything runs, with the
//!    executor's own messages);
//! 2. for a `transactional: false` step, a second session on the same
//!    database, `conn.session_opener().open(SAMPLER_NAME)`, kept for the run;
//! 3. `trace_step(conn.client_mut(), sampler.as_ref(), &step, Ending::Commit)`;
//!    the step's SQL is then applied, and rehearse moves the version table
//!    through the engine (a stamp to where the step leads) before its
//!    snapshot, then traces the downgrade the same way;
//! 4. the `StepTrace` goes into the step's report (`statement_line` per
//!    statement, `held_until_commit`, `rewritten`); on `TraceError`, the
//!    trace up to the failure is in the error, and the step is reported as
//!    failed with the executor's file:line:col text.
//!
//! `Ending::Rollback` traces a transactional step and leaves the database
//! as it was (a lint can confirm a claim without applying anything); a
//! `transactional: false` step cannot be undone, whatever the ending.
//!
//! The revision's own `lock_timeout`/`statement_timeout` are not applied:
//! on a throwaway database nothing else holds a lock to wait for.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Row, ToStatement};

use crate::core::lock_trace::{
    LockMode, LockTaken, Observation, Relation, RelationKind, Rewrite, StatementTrace, StepTrace,
    command_tag,
};
use crate::core::plan::Direction;
use crate::core::revision::{Revision, SqlSection};
use crate::core::split::{Statement, units};
use crate::db::error_text::describe_error;
use crate::db::events::{Aftermath, ExecError, StatementError};
use crate::db::executor::tags::{counting_verb, execute_counting};
use crate::db::executor::{StatementSource, locate_statement_error, section_for, split_section};

/// `application_name` of the sampling session in `pg_stat_activity`.
pub const SAMPLER_NAME: &str = "retort (lock trace)";
/// How often the sampling session looks while a statement runs.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(5);

/// PostgreSQL's `FirstNormalObjectId`: everything initdb made (the system
/// catalogs, `information_schema`) has a smaller oid, so the catalog
/// lookups of the tracing itself fall below it.
const FIRST_USER_OID: &str = "16384";

/// The user relations that are not among the known ones (`$1` oids with
/// their `$2` relfilenodes): new ones, and those whose storage changed.
/// The comparison runs on the server, so a statement that changed nothing
/// costs a query that returns nothing, however many relations there are.
fn relations_sql() -> String {
    format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relfilenode, i.indrelid
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_index i ON i.indexrelid = c.oid
           LEFT JOIN unnest($1::oid[], $2::oid[]) AS known(oid, relfilenode) ON known.oid = c.oid
          WHERE c.oid >= {FIRST_USER_OID}::oid
            AND (known.oid IS NULL OR known.relfilenode <> c.relfilenode)"
    )
}

/// The relation locks a backend holds in this database, named when the
/// looking session can see the relation.
fn locks_sql() -> String {
    format!(
        "SELECT l.relation, l.mode, n.nspname::text, c.relname::text, c.relkind::text, i.indrelid
           FROM pg_locks l
           LEFT JOIN pg_class c ON c.oid = l.relation
           LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_index i ON i.indexrelid = l.relation
          WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted
            AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
            AND l.relation >= {FIRST_USER_OID}::oid"
    )
}

/// The SQL of one step: a revision's section in one direction, split as
/// the executor splits it.
pub struct StepSql<'a> {
    revision: &'a Revision,
    section: &'a SqlSection,
    statements: Vec<Statement>,
}

impl<'a> StepSql<'a> {
    /// Refuses what the executor refuses before running: a downgrade of a
    /// revision without one, SQL that does not split.
    pub fn new(revision: &'a Revision, direction: Direction) -> Result<StepSql<'a>, TraceError> {
        let section = section_for(revision, direction).map_err(TraceError::Refused)?;
        let statements =
            split_section(revision, section, direction).map_err(TraceError::Refused)?;
        Ok(StepSql {
            revision,
            section,
            statements,
        })
    }

    pub fn transactional(&self) -> bool {
        self.revision.transactional
    }

    fn file_line(&self, statement: &Statement) -> usize {
        self.section.first_line + statement.line - 1
    }

    fn source(&self) -> StatementSource<'_> {
        StatementSource {
            revision: &self.revision.id,
            path: &self.revision.path,
            section: Some(self.section),
        }
    }
}

/// What happens to a transactional step's transaction once traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Commit,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// Nothing ran: the step cannot run as written.
    #[error("{0}")]
    Refused(ExecError),
    /// A statement failed; `trace` holds the statements before it. A
    /// transactional step was rolled back.
    #[error("{error}")]
    Statement {
        error: Box<StatementError>,
        trace: StepTrace,
    },
    /// The tracing's own queries (or BEGIN/COMMIT) failed.
    #[error("{context}: {cause}")]
    Database {
        context: String,
        cause: String,
        trace: StepTrace,
    },
}

impl TraceError {
    /// The statements traced before the failure.
    pub fn trace(&self) -> Option<&StepTrace> {
        match self {
            TraceError::Refused(_) => None,
            TraceError::Statement { trace, .. } | TraceError::Database { trace, .. } => Some(trace),
        }
    }
}

/// Runs `step` on `client` and traces each statement. `sampler` is a
/// second session on the same database, used to sample the locks of
/// statements that run in autocommit (a `transactional: false` step);
/// without it their locks are reported as not observed.
pub async fn trace_step(
    client: &mut Client,
    sampler: Option<&Client>,
    step: &StepSql<'_>,
    ending: Ending,
) -> Result<StepTrace, TraceError> {
    let empty = StepTrace {
        transactional: step.transactional(),
        statements: Vec::new(),
    };
    let session = match Session::prepare(client).await {
        Ok(session) => session,
        Err(failure) => return Err(failure.with_trace(empty)),
    };
    let mut tracer = Tracer::new(step, session, empty);
    match tracer.run_step(client, sampler, ending).await {
        Ok(()) => Ok(tracer.trace),
        Err(failure) => Err(failure.with_trace(tracer.trace)),
    }
}

/// The traced session: its backend, and the tracing's queries prepared
/// once per step (each statement is followed by both).
struct Session {
    pid: i32,
    relations: tokio_postgres::Statement,
    locks: tokio_postgres::Statement,
}

impl Session {
    async fn prepare(client: &Client) -> Result<Session, Failure> {
        let failure = |e| Failure::database("preparing the lock trace's queries", &e);
        Ok(Session {
            pid: backend_pid(client).await.map_err(failure)?,
            relations: client.prepare(&relations_sql()).await.map_err(failure)?,
            locks: client.prepare(&locks_sql()).await.map_err(failure)?,
        })
    }
}

/// A failure before the trace is attached.
enum Failure {
    Statement(Box<StatementError>),
    Database { context: String, cause: String },
}

impl Failure {
    fn database(context: &str, error: &tokio_postgres::Error) -> Failure {
        Failure::Database {
            context: context.to_string(),
            cause: describe_error(error),
        }
    }

    fn with_trace(self, trace: StepTrace) -> TraceError {
        match self {
            Failure::Statement(error) => TraceError::Statement { error, trace },
            Failure::Database { context, cause } => TraceError::Database {
                context,
                cause,
                trace,
            },
        }
    }
}

/// A relation as last seen in the catalog.
#[derive(Debug, Clone)]
struct Seen {
    relation: Relation,
    relfilenode: u32,
}

/// Locks held by a transaction: relation oid and mode.
type Held = HashSet<(u32, LockMode)>;

struct Tracer<'s> {
    step: &'s StepSql<'s>,
    session: Session,
    /// Units of a `transactional: false` step that completed (they stay
    /// applied when a later one fails).
    units_done: usize,
    /// Oids of the relations that existed when the step began.
    existing: HashSet<u32>,
    /// Every relation seen so far, dropped ones included (a lock on a
    /// relation the statement dropped is named from here).
    seen: HashMap<u32, Seen>,
    trace: StepTrace,
}

impl<'s> Tracer<'s> {
    fn new(step: &'s StepSql<'s>, session: Session, trace: StepTrace) -> Tracer<'s> {
        Tracer {
            step,
            session,
            units_done: 0,
            existing: HashSet::new(),
            seen: HashMap::new(),
            trace,
        }
    }

    async fn run_step(
        &mut self,
        client: &mut Client,
        sampler: Option<&Client>,
        ending: Ending,
    ) -> Result<(), Failure> {
        match self.step.transactional() {
            true => self.transactional(client, ending).await,
            false => self.autocommit(client, sampler).await,
        }
    }

    async fn transactional(&mut self, client: &mut Client, ending: Ending) -> Result<(), Failure> {
        self.start(client).await?;
        let transaction = client
            .transaction()
            .await
            .map_err(|e| Failure::database("BEGIN", &e))?;
        let statements = 0..self.step.statements.len();
        let traced = self
            .in_transaction(transaction.client(), statements, 0)
            .await;
        let ended = match (traced.is_ok(), ending) {
            (true, Ending::Commit) => transaction.commit().await,
            _ => transaction.rollback().await,
        };
        traced?;
        ended.map_err(|e| Failure::database("ending the step's transaction", &e))
    }

    /// A `transactional: false` step: each unit in autocommit, a
    /// `BEGIN ... COMMIT` block from its own backend.
    async fn autocommit(
        &mut self,
        client: &Client,
        sampler: Option<&Client>,
    ) -> Result<(), Failure> {
        self.start(client).await?;
        for (block, unit) in units(&self.step.statements).into_iter().enumerate() {
            if unit.len() > 1 {
                self.block(client, unit, block).await?;
            } else {
                self.sampled(client, sampler, unit.start).await?;
            }
            self.units_done += 1;
        }
        Ok(())
    }

    async fn block(
        &mut self,
        client: &Client,
        unit: Range<usize>,
        block: usize,
    ) -> Result<(), Failure> {
        let outcome = self.in_transaction(client, unit, block).await;
        if outcome.is_err() && !client.is_closed() {
            // Leave the aborted block, as the executor does.
            let _ = client.batch_execute("ROLLBACK").await;
        }
        outcome
    }

    /// Reads the relations as the step begins.
    async fn start(&mut self, client: &Client) -> Result<(), Failure> {
        self.seen = self.read_changed(client).await?;
        self.existing = self.seen.keys().copied().collect();
        Ok(())
    }

    /// Statements of one transaction, each looked at from its own backend.
    async fn in_transaction(
        &mut self,
        client: &Client,
        statements: Range<usize>,
        transaction: usize,
    ) -> Result<(), Failure> {
        let mut held = Held::new();
        for index in statements {
            let statement = &self.step.statements[index];
            let (rows, duration) = self.run(client, statement).await?;
            let locks = read_locks(client, &self.session.locks, self.session.pid)
                .await
                .map_err(locks_failure)?;
            let taken = self.locks_taken(&locks, &held);
            held.extend(locks.iter().map(|lock| (lock.oid, lock.mode)));
            let mut traced = self.statement(statement, rows, duration, Observation::InTransaction);
            traced.transaction = Some(transaction);
            traced.locks = taken;
            self.finish(client, traced).await?;
        }
        Ok(())
    }

    /// One statement in autocommit, its locks sampled from `sampler`.
    async fn sampled(
        &mut self,
        client: &Client,
        sampler: Option<&Client>,
        index: usize,
    ) -> Result<(), Failure> {
        let statement = &self.step.statements[index];
        let run = self.run(client, statement);
        let (outcome, sampling) = match sampler {
            Some(sampler) => sample_while(sampler, self.session.pid, run).await,
            None => (run.await, Sampling::absent()),
        };
        let (rows, duration) = outcome?;
        let observation = sampling.observation();
        let taken = self.locks_taken(&sampling.locks, &Held::new());
        let mut traced = self.statement(statement, rows, duration, observation);
        traced.locks = taken;
        self.finish(client, traced).await
    }

    /// Runs one statement the way the executor does; its row count and
    /// how long it took.
    async fn run(
        &self,
        client: &Client,
        statement: &Statement,
    ) -> Result<(Option<u64>, Duration), Failure> {
        let started = Instant::now();
        let rows = execute_counting(client, &statement.sql)
            .await
            .map_err(|e| self.statement_failure(statement, &e))?;
        let rows = counting_verb(&statement.sql).map(|_| rows);
        Ok((rows, started.elapsed()))
    }

    fn statement_failure(&self, statement: &Statement, error: &tokio_postgres::Error) -> Failure {
        let aftermath = match self.step.transactional() {
            true => Aftermath::StepRolledBack,
            false => Aftermath::PartiallyApplied {
                statements_done: self.units_done,
            },
        };
        let source = self.step.source();
        let located = locate_statement_error(&source, statement, error, aftermath);
        Failure::Statement(Box::new(located))
    }

    fn statement(
        &self,
        statement: &Statement,
        rows: Option<u64>,
        duration: Duration,
        observation: Observation,
    ) -> StatementTrace {
        StatementTrace {
            line: self.step.file_line(statement),
            column: statement.column,
            sql: statement.sql.clone(),
            command: command_tag(&statement.sql),
            rows,
            duration,
            observation,
            transaction: None,
            locks: Vec::new(),
            rewrites: Vec::new(),
        }
    }

    /// Reads the relations after the statement: its rewrites, and the
    /// names of what it created for the next statements.
    async fn finish(&mut self, client: &Client, mut traced: StatementTrace) -> Result<(), Failure> {
        let after = self.read_changed(client).await?;
        traced.rewrites = self.rewrites(&after);
        self.seen.extend(after);
        self.trace.statements.push(traced);
        Ok(())
    }

    /// The relations new or with new storage since they were last seen.
    /// Names are not compared: a lock is named from the catalog when it is
    /// read, and `seen` names only what a statement dropped.
    async fn read_changed(&self, client: &Client) -> Result<HashMap<u32, Seen>, Failure> {
        let (oids, relfilenodes): (Vec<u32>, Vec<u32>) = self
            .seen
            .values()
            .map(|seen| (seen.relation.oid, seen.relfilenode))
            .unzip();
        let query = &self.session.relations;
        let rows = client.query(query, &[&oids, &relfilenodes]).await;
        let rows = rows.map_err(relations_failure)?;
        let seen = rows
            .iter()
            .map(seen_from_row)
            .collect::<Result<Vec<_>, _>>();
        let seen = seen.map_err(relations_failure)?;
        Ok(seen.into_iter().map(|s| (s.relation.oid, s)).collect())
    }

    /// Relations seen before and after whose storage changed. Toast tables
    /// and their indexes follow their table and are left out.
    fn rewrites(&self, after: &HashMap<u32, Seen>) -> Vec<Rewrite> {
        let mut rewrites: Vec<Rewrite> = after
            .values()
            .filter(|now| !now.relation.is_toast() && now.relfilenode != 0)
            .filter(|now| {
                self.seen
                    .get(&now.relation.oid)
                    .is_some_and(|before| before.relfilenode != now.relfilenode)
            })
            .map(|now| Rewrite {
                relation: now.relation.clone(),
                new_relation: !self.existing.contains(&now.relation.oid),
            })
            .collect();
        rewrites.sort_by_key(|r| (r.relation.index_of.is_some(), r.relation.oid));
        rewrites
    }

    /// The observed locks as the trace keeps them: named, flagged as
    /// newly acquired (not in `held`) and as on a new relation.
    /// Locks held from earlier statements are kept only on the relations
    /// this statement newly locked: the rest are the earlier statements'.
    fn locks_taken(&self, locks: &[ObservedLock], held: &Held) -> Vec<LockTaken> {
        let newly = |lock: &ObservedLock| !held.contains(&(lock.oid, lock.mode));
        let touched: HashSet<u32> = locks.iter().filter(|l| newly(l)).map(|l| l.oid).collect();
        let mut taken: Vec<LockTaken> = locks
            .iter()
            .filter(|lock| touched.contains(&lock.oid))
            .filter_map(|lock| {
                Some(LockTaken {
                    relation: self.name(lock)?,
                    mode: lock.mode,
                    newly_acquired: newly(lock),
                    new_relation: !self.existing.contains(&lock.oid),
                })
            })
            .filter(|lock| !lock.relation.is_toast())
            .collect();
        taken.sort_by_key(|l| (l.relation.oid, l.mode));
        taken
    }

    /// The relation as the looking session saw it, else as last seen in
    /// the catalog (a relation the statement dropped); `None` for one that
    /// was never seen by name: a transient relation the statement made and
    /// dropped itself (the new heap of a rewrite), which nobody else saw.
    fn name(&self, lock: &ObservedLock) -> Option<Relation> {
        match &lock.relation {
            Some(relation) => Some(relation.clone()),
            None => self.seen.get(&lock.oid).map(|seen| seen.relation.clone()),
        }
    }
}

/// One row of `pg_locks`: the relation named when visible.
#[derive(Debug, Clone)]
struct ObservedLock {
    oid: u32,
    mode: LockMode,
    relation: Option<Relation>,
}

async fn backend_pid(client: &Client) -> Result<i32, tokio_postgres::Error> {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .try_get(0)
}

fn relations_failure(error: tokio_postgres::Error) -> Failure {
    Failure::database("reading the relations (pg_class)", &error)
}

fn locks_failure(error: tokio_postgres::Error) -> Failure {
    Failure::database("reading the locks (pg_locks)", &error)
}

fn seen_from_row(row: &Row) -> Result<Seen, tokio_postgres::Error> {
    let kind: String = row.try_get(3)?;
    Ok(Seen {
        relation: Relation {
            oid: row.try_get(0)?,
            schema: row.try_get(1)?,
            name: row.try_get(2)?,
            kind: RelationKind::from_relkind(&kind),
            index_of: row.try_get(5)?,
        },
        relfilenode: row.try_get(4)?,
    })
}

/// The relation locks of backend `pid`.
async fn read_locks(
    client: &Client,
    query: &(impl ToStatement + ?Sized),
    pid: i32,
) -> Result<Vec<ObservedLock>, tokio_postgres::Error> {
    let rows = client.query(query, &[&pid]).await?;
    let locks = rows
        .iter()
        .map(lock_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(locks.into_iter().flatten().collect())
}

/// `None` for a mode that is not a table lock mode.
fn lock_from_row(row: &Row) -> Result<Option<ObservedLock>, tokio_postgres::Error> {
    let oid: u32 = row.try_get(0)?;
    let mode: String = row.try_get(1)?;
    let schema: Option<String> = row.try_get(2)?;
    let name: Option<String> = row.try_get(3)?;
    let kind: Option<String> = row.try_get(4)?;
    let relation = match (schema, name, kind) {
        (Some(schema), Some(name), Some(kind)) => Some(Relation {
            oid,
            schema,
            name,
            kind: RelationKind::from_relkind(&kind),
            index_of: row.try_get(5)?,
        }),
        _ => None,
    };
    Ok(LockMode::from_pg_locks(&mode).map(|mode| ObservedLock {
        oid,
        mode,
        relation,
    }))
}

/// What the sampling session saw while one statement ran.
struct Sampling {
    samples: u32,
    locks: Vec<ObservedLock>,
    /// Why sampling stopped or never started.
    stopped: Option<String>,
}

impl Sampling {
    fn absent() -> Sampling {
        Sampling {
            samples: 0,
            locks: Vec::new(),
            stopped: Some("no second session to sample it from".to_string()),
        }
    }

    fn add(&mut self, seen: Vec<ObservedLock>) {
        self.samples += 1;
        for lock in seen {
            let known = self
                .locks
                .iter()
                .any(|l| l.oid == lock.oid && l.mode == lock.mode);
            if !known {
                self.locks.push(lock);
            }
        }
    }

    fn observation(&self) -> Observation {
        match (&self.stopped, self.samples) {
            (Some(reason), 0) => Observation::NotObserved {
                reason: reason.clone(),
            },
            (_, samples) => Observation::Sampled { samples },
        }
    }
}

/// Awaits `statement` while sampling the locks of backend `pid` from
/// `sampler` every `SAMPLE_INTERVAL`. A failing sample stops the sampling,
/// never the statement.
async fn sample_while<T>(
    sampler: &Client,
    pid: i32,
    statement: impl Future<Output = T>,
) -> (T, Sampling) {
    let mut sampling = Sampling {
        samples: 0,
        locks: Vec::new(),
        stopped: None,
    };
    // The sampler is another session: the traced one's prepared query is
    // not known there.
    let query = locks_sql();
    let mut statement = std::pin::pin!(statement);
    let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            output = &mut statement => return (output, sampling),
            _ = ticks.tick(), if sampling.stopped.is_none() => {
                match read_locks(sampler, query.as_str(), pid).await {
                    Ok(seen) => sampling.add(seen),
                    Err(error) => {
                        let cause = describe_error(&error);
                        sampling.stopped = Some(format!("sampling failed: {cause}"));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(oid: u32, mode: LockMode) -> ObservedLock {
        ObservedLock {
            oid,
            mode,
            relation: None,
        }
    }

    #[test]
    fn samples_keep_each_lock_once() {
        let mut sampling = Sampling {
            samples: 0,
            locks: Vec::new(),
            stopped: None,
        };
        sampling.add(vec![lock(16400, LockMode::ShareUpdateExclusive)]);
        sampling.add(vec![
            lock(16400, LockMode::ShareUpdateExclusive),
            lock(16400, LockMode::AccessShare),
        ]);
        assert_eq!(sampling.locks.len(), 2);
        assert_eq!(sampling.observation(), Observation::Sampled { samples: 2 });
    }

    #[test]
    fn sampling_that_never_looked_says_why() {
        let failed = Sampling {
            samples: 0,
            locks: Vec::new(),
            stopped: Some("sampling failed: connection closed".into()),
        };
        assert_eq!(
            failed.observation(),
            Observation::NotObserved {
                reason: "sampling failed: connection closed".into()
            }
        );
        let mut partial = failed;
        partial.samples = 3;
        assert_eq!(partial.observation(), Observation::Sampled { samples: 3 });
    }
}
