//! What a step's statements really did to the relations of a database:
//! the locks each one held, the tables and indexes whose storage it
//! replaced (a rewrite), its command and duration. These are observations
//! (read from `pg_locks` and `pg_class.relfilenode` by the database layer
//! on a throwaway database), not guesses from the SQL text; this module
//! only holds them and reasons about them.
//!
//! Two facts shape the analysis. A lock taken inside a transaction is held
//! until the transaction ends, so an ACCESS EXCLUSIVE followed by more
//! statements blocks every reader for all of them, not for its own
//! statement only. And a relation created earlier in the same step is
//! invisible to every other session until the step commits, so its locks
//! and rewrites harm nobody: they are kept, flagged as new, and left out
//! of warnings.
//!
//! The rendering (one line per statement) is kept apart from the data, so
//! the console, the reports and JSON each show the same facts their way.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::core::split::{TxControl, leading_words};

/// PostgreSQL's table-level lock modes, weakest first (the order of its
/// lock mode numbers; each blocks at least what the ones before it do,
/// except that SHARE UPDATE EXCLUSIVE lets writers through and SHARE does
/// not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    /// The mode as `pg_locks.mode` spells it (`AccessExclusiveLock`).
    pub fn from_pg_locks(mode: &str) -> Option<LockMode> {
        let mode = match mode {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        };
        Some(mode)
    }

    /// The mode as the documentation and `LOCK TABLE` spell it.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// Blocks plain `SELECT`s of the relation while held.
    pub fn blocks_reads(self) -> bool {
        self == LockMode::AccessExclusive
    }

    /// Blocks `INSERT`, `UPDATE` and `DELETE` on the relation while held.
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `pg_class.relkind`, the kinds a migration touches by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RelationKind {
    Table,
    PartitionedTable,
    Index,
    PartitionedIndex,
    Sequence,
    View,
    MaterializedView,
    ForeignTable,
    Toast,
    Other,
}

impl RelationKind {
    pub fn from_relkind(relkind: &str) -> RelationKind {
        match relkind {
            "r" => RelationKind::Table,
            "p" => RelationKind::PartitionedTable,
            "i" => RelationKind::Index,
            "I" => RelationKind::PartitionedIndex,
            "S" => RelationKind::Sequence,
            "v" => RelationKind::View,
            "m" => RelationKind::MaterializedView,
            "f" => RelationKind::ForeignTable,
            "t" => RelationKind::Toast,
            _ => RelationKind::Other,
        }
    }

    pub fn is_index(self) -> bool {
        matches!(self, RelationKind::Index | RelationKind::PartitionedIndex)
    }
}

/// A relation as it was named when it was seen. The oid stays the same
/// across renames; a relation dropped by the step keeps the name it had.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Relation {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    /// For an index, the oid of its table.
    pub index_of: Option<u32>,
}

impl Relation {
    /// A toast table or its index: storage that follows its table (every
    /// lock on it comes with one on the table, every rewrite too), noise
    /// in a report.
    pub fn is_toast(&self) -> bool {
        self.kind == RelationKind::Toast || self.schema == "pg_toast"
    }

    /// Whether `name` names this relation, schema-qualified or not.
    pub fn is_named(&self, name: &str) -> bool {
        name == self.name || name == format!("{}.{}", self.schema, self.name)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name.is_empty() {
            // Created and gone again before anyone read its name.
            true => write!(f, "relation {}", self.oid),
            false => write!(f, "{}.{}", self.schema, self.name),
        }
    }
}

/// A lock the statement's backend held on a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockTaken {
    pub relation: Relation,
    pub mode: LockMode,
    /// Taken during this statement; false when the transaction already held
    /// it from an earlier statement. Such held locks are listed only on the
    /// relations the statement newly locked in some mode: locks last until
    /// the transaction ends and `pg_locks` counts no re-use, so a statement
    /// that only re-uses a mode it already holds cannot be seen taking it.
    pub newly_acquired: bool,
    /// The relation did not exist when the step began: nobody else can see
    /// it before the step commits, so its locks block no one.
    pub new_relation: bool,
}

/// A relation whose storage the statement replaced (its `relfilenode`
/// changed): a table rewrite, or an index rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    pub relation: Relation,
    pub new_relation: bool,
}

/// How a statement's locks were seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Observation {
    /// Read from the statement's own backend once it finished, inside its
    /// transaction, where every lock it took is still held: complete.
    InTransaction,
    /// Sampled from a second session while the statement ran in autocommit
    /// (its locks are gone once it ends): a lock held only briefly, or by a
    /// very fast statement, may have been missed.
    Sampled { samples: u32 },
    /// Not seen at all, and why.
    NotObserved { reason: String },
}

/// One statement of a step, as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementTrace {
    /// 1-based line and column in the revision file.
    pub line: usize,
    pub column: usize,
    pub sql: String,
    /// The command, as its command tag names it (see [`command_tag`]).
    pub command: String,
    /// Rows the command reported, for commands whose tag counts them.
    pub rows: Option<u64>,
    pub duration: Duration,
    pub observation: Observation,
    /// Which transaction of the step it ran in (statements with the same
    /// number share one); `None` in autocommit.
    pub transaction: Option<usize>,
    /// The locks it was seen holding, one per relation and mode (see
    /// [`LockTaken::newly_acquired`]).
    pub locks: Vec<LockTaken>,
    pub rewrites: Vec<Rewrite>,
}

impl StatementTrace {
    /// Whether the locks were seen at all: a sampled statement that no
    /// sample caught says nothing about its locks.
    pub fn locks_observed(&self) -> bool {
        match &self.observation {
            Observation::InTransaction => true,
            Observation::Sampled { .. } => !self.locks.is_empty(),
            Observation::NotObserved { .. } => false,
        }
    }

    /// The strongest lock this statement newly took on the relation `name`
    /// (schema-qualified or not).
    pub fn strongest_lock_on(&self, name: &str) -> Option<LockMode> {
        self.locks
            .iter()
            .filter(|lock| lock.newly_acquired && lock.relation.is_named(name))
            .map(|lock| lock.mode)
            .max()
    }

    /// Whether this statement replaced the storage of the relation `name`.
    pub fn rewrote(&self, name: &str) -> bool {
        self.rewrites.iter().any(|r| r.relation.is_named(name))
    }

    /// The strongest newly taken lock per relation, in the order first seen.
    fn strongest_new_locks(&self) -> Vec<&LockTaken> {
        let mut strongest: Vec<&LockTaken> = Vec::new();
        for lock in self.locks.iter().filter(|l| l.newly_acquired) {
            match strongest
                .iter_mut()
                .find(|s| s.relation.oid == lock.relation.oid)
            {
                Some(kept) if kept.mode < lock.mode => *kept = lock,
                Some(_) => {}
                None => strongest.push(lock),
            }
        }
        strongest
    }
}

/// Every statement of one step (a revision's upgrade or downgrade section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepTrace {
    pub transactional: bool,
    pub statements: Vec<StatementTrace>,
}

/// The strongest lock the step took on one relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrongestLock {
    pub relation: Relation,
    pub mode: LockMode,
    /// File line of the first statement that took it in this mode.
    pub line: usize,
    pub new_relation: bool,
}

/// An ACCESS EXCLUSIVE lock on an existing relation that stays held while
/// later statements of its transaction run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLock {
    pub relation: Relation,
    /// File line of the statement that took it.
    pub line: usize,
    pub later_statements: usize,
}

impl fmt::Display for HeldLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.later_statements == 1 { "" } else { "s" };
        write!(
            f,
            "line {}: ACCESS EXCLUSIVE on {} is held across {} later statement{plural} until COMMIT",
            self.line, self.relation, self.later_statements
        )
    }
}

impl StepTrace {
    /// The statement that starts at file line `line`.
    pub fn statement_at_line(&self, line: usize) -> Option<&StatementTrace> {
        self.statements.iter().find(|s| s.line == line)
    }

    /// Per relation, the strongest lock any statement of the step took, in
    /// the order the relations were first locked.
    pub fn strongest_locks(&self) -> Vec<StrongestLock> {
        let mut found: Vec<StrongestLock> = Vec::new();
        for statement in &self.statements {
            for lock in statement.strongest_new_locks() {
                let seen = found
                    .iter_mut()
                    .find(|s| s.relation.oid == lock.relation.oid);
                match seen {
                    Some(kept) if kept.mode < lock.mode => {
                        kept.mode = lock.mode;
                        kept.line = statement.line;
                    }
                    Some(_) => {}
                    None => found.push(StrongestLock {
                        relation: lock.relation.clone(),
                        mode: lock.mode,
                        line: statement.line,
                        new_relation: lock.new_relation,
                    }),
                }
            }
        }
        found
    }

    /// ACCESS EXCLUSIVE locks on relations that existed before the step,
    /// taken by a statement that more statements of the same transaction
    /// follow: readers wait for all of them, until COMMIT.
    pub fn held_until_commit(&self) -> Vec<HeldLock> {
        let mut held = Vec::new();
        for (index, statement) in self.statements.iter().enumerate() {
            let Some(transaction) = statement.transaction else {
                continue;
            };
            let later = self.statements[index + 1..]
                .iter()
                .filter(|s| s.transaction == Some(transaction))
                .filter(|s| TxControl::of(&s.sql).is_none())
                .count();
            if later == 0 {
                continue;
            }
            let exclusive = statement
                .strongest_new_locks()
                .into_iter()
                .filter(|lock| lock.mode == LockMode::AccessExclusive && !lock.new_relation);
            held.extend(exclusive.map(|lock| HeldLock {
                relation: lock.relation.clone(),
                line: statement.line,
                later_statements: later,
            }));
        }
        held
    }

    /// Relations that existed before the step and whose storage it
    /// replaced, each once, in the order rewritten.
    pub fn rewritten(&self) -> Vec<&Relation> {
        let mut found: Vec<&Relation> = Vec::new();
        let rewrites = self.statements.iter().flat_map(|s| &s.rewrites);
        for rewrite in rewrites.filter(|r| !r.new_relation) {
            if !found.iter().any(|r| r.oid == rewrite.relation.oid) {
                found.push(&rewrite.relation);
            }
        }
        found
    }
}

/// Words that can stand between `CREATE`/`ALTER`/`DROP` and the kind of
/// object, which the command tag leaves out.
const MODIFIERS: [&str; 10] = [
    "OR",
    "REPLACE",
    "UNIQUE",
    "TEMP",
    "TEMPORARY",
    "UNLOGGED",
    "GLOBAL",
    "LOCAL",
    "RECURSIVE",
    "TRUSTED",
];

/// First words of two-word object kinds (`MATERIALIZED VIEW`).
const TWO_WORD_KINDS: [&str; 6] = ["MATERIALIZED", "FOREIGN", "EVENT", "ACCESS", "TEXT", "USER"];

/// The command tag the server would report for `sql`, read from its first
/// words (the driver keeps only a tag's row count): `ALTER TABLE`,
/// `CREATE INDEX`, `CREATE MATERIALIZED VIEW`, `UPDATE`.
pub fn command_tag(sql: &str) -> String {
    let mut words = leading_words(sql).map(str::to_ascii_uppercase);
    let Some(verb) = words.next() else {
        return String::new();
    };
    if !matches!(verb.as_str(), "CREATE" | "ALTER" | "DROP") {
        return verb;
    }
    let mut words = words.skip_while(|w| MODIFIERS.contains(&w.as_str()));
    let mut tag = verb;
    if let Some(kind) = words.next() {
        let two_words = TWO_WORD_KINDS.contains(&kind.as_str());
        tag = format!("{tag} {kind}");
        if let Some(second) = words.next().filter(|_| two_words) {
            tag = format!("{tag} {second}");
        }
    }
    tag
}

/// Longest statement excerpt in a rendered line, in characters.
const EXCERPT_CHARS: usize = 32;

/// One readable line for a statement: where it is, what it is, the locks
/// it took on relations that existed before the step, what it rewrote.
/// `line 12: ALTER TABLE invoices …: ACCESS EXCLUSIVE on public.invoices,
/// rewrites public.invoices (and 2 indexes)`.
pub fn statement_line(statement: &StatementTrace) -> String {
    let mut parts = vec![lock_part(statement)];
    parts.extend(rewrite_parts(statement));
    format!(
        "line {}: {}: {}",
        statement.line,
        excerpt(&statement.sql),
        parts.join(", ")
    )
}

/// The statement's first characters on one line.
fn excerpt(sql: &str) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some((cut, _)) = folded.char_indices().nth(EXCERPT_CHARS) else {
        return folded;
    };
    let head = &folded[..cut];
    // Cut at a word's end: drop a word the cut went through.
    let whole_word = folded[cut..].starts_with(' ');
    let head = match whole_word {
        true => head,
        false => head.rsplit_once(' ').map_or(head, |(words, _)| words),
    };
    format!("{head} …")
}

fn lock_part(statement: &StatementTrace) -> String {
    let locks = statement.strongest_new_locks();
    let (new, existing): (Vec<_>, Vec<_>) = locks.into_iter().partition(|l| l.new_relation);
    let mut text = fold_indexes(&existing).join(", ");
    if text.is_empty() {
        text = no_lock_text(statement);
    }
    if !new.is_empty() {
        let names = new
            .iter()
            .map(|l| l.relation.to_string())
            .collect::<Vec<_>>();
        text = format!("{text} (and new in this step: {})", names.join(", "));
    }
    if let Observation::Sampled { samples } = statement.observation
        && statement.locks_observed()
    {
        text = format!("{text} (sampled {samples} times while it ran)");
    }
    text
}

fn no_lock_text(statement: &StatementTrace) -> String {
    match &statement.observation {
        Observation::InTransaction => "no lock on an existing relation".to_string(),
        Observation::Sampled { samples } => {
            format!("locks not observed (it ended before a sample caught one; {samples} samples)")
        }
        Observation::NotObserved { reason } => format!("locks not observed: {reason}"),
    }
}

/// `SHARE on public.t`, with the locks on a table's indexes folded into
/// the table's when it holds at least as strong a lock: `ACCESS EXCLUSIVE
/// on public.t (and 2 indexes)`.
fn fold_indexes(locks: &[&LockTaken]) -> Vec<String> {
    let covers = |index: &LockTaken| {
        locks.iter().any(|table| {
            index.relation.index_of == Some(table.relation.oid) && table.mode >= index.mode
        })
    };
    let (folded, shown): (Vec<&LockTaken>, Vec<&LockTaken>) =
        locks.iter().copied().partition(|lock| covers(lock));
    let folded: Vec<&Relation> = folded.iter().map(|lock| &lock.relation).collect();
    shown
        .iter()
        .map(|lock| {
            let what = format!("{} on {}", lock.mode, lock.relation);
            with_indexes(what, &lock.relation, &folded)
        })
        .collect()
}

/// `what`, followed by how many of `indexes` belong to `table`.
fn with_indexes(what: String, table: &Relation, indexes: &[&Relation]) -> String {
    let count = indexes
        .iter()
        .filter(|index| index.index_of == Some(table.oid))
        .count();
    match count {
        0 => what,
        1 => format!("{what} (and 1 index)"),
        n => format!("{what} (and {n} indexes)"),
    }
}

/// `rewrites public.t (and 2 indexes)` per rewritten table, then indexes
/// rebuilt without their table.
fn rewrite_parts(statement: &StatementTrace) -> Vec<String> {
    let existing = statement.rewrites.iter().filter(|r| !r.new_relation);
    let (indexes, tables): (Vec<&Relation>, Vec<&Relation>) = existing
        .map(|r| &r.relation)
        .partition(|r| r.index_of.is_some());
    let mut parts: Vec<String> = tables
        .iter()
        .map(|table| with_indexes(format!("rewrites {table}"), table, &indexes))
        .collect();
    let lone = indexes
        .iter()
        .filter(|index| !tables.iter().any(|t| index.index_of == Some(t.oid)));
    parts.extend(lone.map(|index| format!("rebuilds index {index}")));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(oid: u32, name: &str, kind: RelationKind) -> Relation {
        Relation {
            oid,
            schema: "public".into(),
            name: name.into(),
            kind,
            index_of: None,
        }
    }

    fn index(oid: u32, name: &str, table: &Relation) -> Relation {
        Relation {
            index_of: Some(table.oid),
            ..relation(oid, name, RelationKind::Index)
        }
    }

    fn lock(relation: &Relation, mode: LockMode, newly: bool, new: bool) -> LockTaken {
        LockTaken {
            relation: relation.clone(),
            mode,
            newly_acquired: newly,
            new_relation: new,
        }
    }

    fn statement(line: usize, sql: &str, locks: Vec<LockTaken>) -> StatementTrace {
        StatementTrace {
            line,
            column: 1,
            sql: sql.into(),
            command: command_tag(sql),
            rows: None,
            duration: Duration::from_millis(3),
            observation: Observation::InTransaction,
            transaction: Some(0),
            locks,
            rewrites: Vec::new(),
        }
    }

    fn invoices() -> Relation {
        relation(16400, "invoices", RelationKind::Table)
    }

    #[test]
    fn pg_locks_modes_read_and_order_by_strength() {
        assert_eq!(
            LockMode::from_pg_locks("ShareUpdateExclusiveLock"),
            Some(LockMode::ShareUpdateExclusive)
        );
        assert_eq!(LockMode::from_pg_locks("AdvisoryLock"), None);
        assert!(LockMode::AccessExclusive > LockMode::Share);
        assert!(LockMode::Share.blocks_writes());
        assert!(!LockMode::ShareUpdateExclusive.blocks_writes());
        assert!(!LockMode::Share.blocks_reads());
    }

    #[test]
    fn command_tags_name_the_object_kind() {
        assert_eq!(
            command_tag("alter table t alter c type bigint"),
            "ALTER TABLE"
        );
        assert_eq!(
            command_tag("-- x\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (c)"),
            "CREATE INDEX"
        );
        assert_eq!(
            command_tag("create or replace materialized view v as select 1"),
            "CREATE MATERIALIZED VIEW"
        );
        assert_eq!(command_tag("UPDATE t SET c = 1"), "UPDATE");
        assert_eq!(command_tag(""), "");
    }

    #[test]
    fn the_line_names_locks_and_rewrites_of_existing_relations() {
        let table = invoices();
        let index = index(16410, "invoices_pkey", &table);
        let other = relation(16420, "invoices_total_idx", RelationKind::Index);
        let other = Relation {
            index_of: Some(table.oid),
            ..other
        };
        let mut alter = statement(
            12,
            "ALTER TABLE invoices ALTER COLUMN total TYPE bigint USING total::bigint",
            vec![
                lock(&table, LockMode::AccessShare, true, false),
                lock(&table, LockMode::AccessExclusive, true, false),
                lock(&index, LockMode::AccessExclusive, true, false),
            ],
        );
        alter.rewrites = [table.clone(), index, other]
            .into_iter()
            .map(|relation| Rewrite {
                relation,
                new_relation: false,
            })
            .collect();
        assert_eq!(
            statement_line(&alter),
            "line 12: ALTER TABLE invoices ALTER …: ACCESS EXCLUSIVE on public.invoices \
             (and 1 index), rewrites public.invoices (and 2 indexes)"
        );
        assert!(alter.rewrote("invoices") && alter.rewrote("public.invoices"));
        assert_eq!(
            alter.strongest_lock_on("public.invoices"),
            Some(LockMode::AccessExclusive)
        );
    }

    #[test]
    fn an_index_rebuilt_alone_is_named_as_such() {
        let index = index(16410, "invoices_pkey", &invoices());
        let mut reindex = statement(3, "REINDEX INDEX invoices_pkey", Vec::new());
        reindex.rewrites = vec![Rewrite {
            relation: index,
            new_relation: false,
        }];
        assert_eq!(
            statement_line(&reindex),
            "line 3: REINDEX INDEX invoices_pkey: no lock on an existing relation, \
             rebuilds index public.invoices_pkey"
        );
    }

    #[test]
    fn access_exclusive_followed_by_statements_is_held_until_commit() {
        let table = invoices();
        let fresh = relation(16500, "audit", RelationKind::Table);
        let trace = StepTrace {
            transactional: true,
            statements: vec![
                statement(
                    1,
                    "CREATE TABLE audit (id int)",
                    vec![lock(&fresh, LockMode::AccessExclusive, true, true)],
                ),
                statement(
                    2,
                    "ALTER TABLE invoices ADD c int",
                    vec![
                        lock(&fresh, LockMode::AccessExclusive, false, true),
                        lock(&table, LockMode::AccessExclusive, true, false),
                    ],
                ),
                statement(
                    3,
                    "UPDATE invoices SET c = 1",
                    vec![
                        lock(&table, LockMode::AccessExclusive, false, false),
                        lock(&table, LockMode::RowExclusive, true, false),
                    ],
                ),
                statement(4, "SELECT 1", Vec::new()),
            ],
        };
        let held = trace.held_until_commit();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(
            held[0].to_string(),
            "line 2: ACCESS EXCLUSIVE on public.invoices is held across 2 later statements until COMMIT"
        );
        let strongest = trace.strongest_locks();
        let modes: Vec<_> = strongest
            .iter()
            .map(|s| (s.relation.name.as_str(), s.mode, s.line, s.new_relation))
            .collect();
        assert_eq!(
            modes,
            [
                ("audit", LockMode::AccessExclusive, 1, true),
                ("invoices", LockMode::AccessExclusive, 2, false),
            ]
        );
        assert!(trace.rewritten().is_empty());
        assert_eq!(
            trace.statement_at_line(3).map(|s| s.command.as_str()),
            Some("UPDATE")
        );
    }

    #[test]
    fn the_last_statement_and_autocommit_statements_hold_nothing_across() {
        let table = invoices();
        let mut alone = statement(
            1,
            "ALTER TABLE invoices ADD c int",
            vec![lock(&table, LockMode::AccessExclusive, true, false)],
        );
        alone.transaction = None;
        let mut next = statement(2, "SELECT 1", Vec::new());
        next.transaction = None;
        let trace = StepTrace {
            transactional: false,
            statements: vec![alone, next],
        };
        assert!(trace.held_until_commit().is_empty());
    }

    #[test]
    fn a_sample_that_caught_nothing_says_so() {
        let mut sampled = statement(5, "CREATE INDEX CONCURRENTLY i ON invoices (c)", Vec::new());
        sampled.observation = Observation::Sampled { samples: 0 };
        assert!(!sampled.locks_observed());
        assert_eq!(
            statement_line(&sampled),
            "line 5: CREATE INDEX CONCURRENTLY i ON …: locks not observed \
             (it ended before a sample caught one; 0 samples)"
        );
        sampled.locks = vec![lock(
            &invoices(),
            LockMode::ShareUpdateExclusive,
            true,
            false,
        )];
        sampled.observation = Observation::Sampled { samples: 4 };
        assert!(sampled.locks_observed());
        assert!(
            statement_line(&sampled).ends_with(
                "SHARE UPDATE EXCLUSIVE on public.invoices (sampled 4 times while it ran)"
            )
        );
    }
}
