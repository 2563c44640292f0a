//! The audit history: a table beside the version table where every step,
//! stamp and resolution is recorded, with checksums of the revision file's
//! SQL so later edits of applied revisions can be detected (see `drift`).
//!
//! The table lives in the version table's schema under its own name
//! (`history_table` in the config, default `retort_history`). It is created
//! with `CREATE TABLE IF NOT EXISTS` the first time a changing command runs
//! and never touches the version table, whose layout stays exactly
//! Alembic's, so a database Alembic also manages is undisturbed (Alembic
//! ignores tables it did not create, except that autogenerate will list it:
//! exclude it there with `include_name`).
//!
//! Successful steps write their row in the step's own transaction, so a
//! row exists exactly when the step committed. Failures are written after
//! the rollback; when the connection itself was lost, the executor hands
//! the row over in [`crate::db::ExecEvent::HistoryUnrecorded`] for the
//! caller to write on a new connection.
//!
//! A `transactional: false` step cannot wait for its end: its row is
//! written `started` and committed before its first statement, moved on
//! after each one, and written over with how the step ended (see
//! [`HistoryEntry::in_doubt`]), so even a process killed outright leaves
//! a row saying how far it got.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, Row, Statement, ToStatement};

use crate::core::plan::{Plan, Step, StepKind, VersionOp};
use crate::core::revision::Revision;
use crate::db::connect::describe_error;
use crate::db::encoding::{self, Repertoire};
use crate::db::redact::redact_url;
use crate::db::version_table::{Site, VersionTable, quote_ident};

/// What a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryDirection {
    Upgrade,
    Downgrade,
    Stamp,
    /// `retort resolve`: a decision about a partial step or drift.
    Resolve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryStatus {
    Success,
    /// Nothing of the step remains (rolled back, or nothing had run).
    Failed,
    /// A `transactional: false` step stopped after some statements had run;
    /// its version-table change was not made. Blocks further runs until
    /// resolved. With [`HistoryEntry::in_doubt`] the row reads `started` in
    /// the table (see there).
    Partial,
}

/// The choice recorded by `retort resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The partial step is complete: its version-table change was made.
    Applied,
    /// The partial step's effects were undone by hand; the version table stays.
    RolledBack,
    /// The revision file's current content is accepted as applied (or a
    /// missing file is acknowledged).
    AcceptDrift,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(HistoryDirection {
    Upgrade = "upgrade",
    Downgrade = "downgrade",
    Stamp = "stamp",
    Resolve = "resolve",
});
text_enum!(HistoryStatus {
    Success = "success",
    Failed = "failed",
    Partial = "partial",
});
text_enum!(Resolution {
    Applied = "applied",
    RolledBack = "rolled_back",
    AcceptDrift = "accept_drift",
});

/// Who runs retort, recorded with every row (the database user is filled
/// in by the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub os_user: Option<String>,
    pub host: Option<String>,
    pub retort_version: String,
}

impl Actor {
    /// This process: the OS user (as libpq finds it), the machine's host name.
    pub fn detect() -> Actor {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let os_user = crate::db::os_user::os_user_name(&env);
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .or_else(|| env("HOSTNAME"))
            .or_else(|| env("COMPUTERNAME"));
        Actor {
            os_user,
            host,
            retort_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// sha256 (lowercase hex) of a SQL section, after normalising line endings
/// to `\n` and dropping trailing whitespace, so a checkout with CRLF line
/// endings or an extra blank line at the end is not mistaken for drift.
pub fn checksum(sql: &str) -> String {
    let normalised = sql.replace("\r\n", "\n");
    hex::encode(Sha256::digest(normalised.trim_end().as_bytes()))
}

/// The file's section checksums: (upgrade, downgrade or `None` when the
/// revision has no downgrade section).
pub fn file_checksums(revision: &Revision) -> (String, Option<String>) {
    (
        checksum(&revision.upgrade.sql),
        revision.downgrade.as_ref().map(|d| checksum(&d.sql)),
    )
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// `None` until written.
    pub id: Option<i64>,
    /// Shared by every row of one command run.
    pub run_id: String,
    /// 0-based step of the plan; `None` for resolutions and purges.
    pub step_index: Option<i32>,
    /// The revision whose SQL ran, the stamp's destination (empty for
    /// base), or the resolved revision.
    pub revision: String,
    pub direction: HistoryDirection,
    pub status: HistoryStatus,
    pub resolution: Option<Resolution>,
    pub heads_before: Vec<String>,
    /// The version table's rows after the step (unchanged for failures).
    pub heads_after: Vec<String>,
    /// Where the step was taking the version table (what `resolve
    /// --applied` sets it to for a partial step).
    pub planned_heads_after: Vec<String>,
    /// Checksum of the SQL that ran; `None` for stamps and resolutions.
    pub sql_checksum: Option<String>,
    /// Checksums of the revision file's sections when the row was written;
    /// `None` when there was no file (stamp to base) or nothing to vouch for.
    pub upgrade_checksum: Option<String>,
    pub downgrade_checksum: Option<String>,
    /// For steps: how many of the section's statements completed (for a
    /// `transactional: false` step, units: a `BEGIN ... COMMIT` block
    /// counts as one).
    pub statements_done: Option<i32>,
    pub statements_total: Option<i32>,
    /// The step's end is not known: statement `statements_done + 1` may or
    /// may not have run. A `transactional: false` step writes its row so
    /// (status `started` in the table, [`HistoryStatus::Partial`] here)
    /// and commits it before its first statement, moves `statements_done`
    /// on after each one, and turns it into `success`, `partial` or
    /// `failed` at the end. A row still `started` is a step in progress
    /// while its session lives (see [`HistoryTable::live_started`]), and
    /// otherwise one whose process, machine or connection died mid-way.
    pub in_doubt: bool,
    /// The error (secrets redacted), for failed and partial steps; the
    /// user's note for resolutions.
    pub error: Option<String>,
    /// `current_user` of the session that wrote the row.
    pub db_user: Option<String>,
    pub os_user: Option<String>,
    pub host: Option<String>,
    pub retort_version: String,
    pub started_at: DateTime<Utc>,
    #[serde(rename = "duration_ms", serialize_with = "milliseconds")]
    pub duration: Duration,
}

fn milliseconds<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(duration.as_secs_f64() * 1000.0)
}

impl HistoryEntry {
    /// A row for `revision` by `actor`, everything else empty; callers fill
    /// in what applies.
    pub fn new(
        run_id: &str,
        actor: &Actor,
        revision: &str,
        direction: HistoryDirection,
        status: HistoryStatus,
    ) -> HistoryEntry {
        HistoryEntry {
            id: None,
            run_id: run_id.to_string(),
            step_index: None,
            revision: revision.to_string(),
            direction,
            status,
            resolution: None,
            heads_before: Vec::new(),
            heads_after: Vec::new(),
            planned_heads_after: Vec::new(),
            sql_checksum: None,
            upgrade_checksum: None,
            downgrade_checksum: None,
            statements_done: None,
            statements_total: None,
            in_doubt: false,
            error: None,
            db_user: None,
            os_user: actor.os_user.clone(),
            host: actor.host.clone(),
            retort_version: actor.retort_version.clone(),
            started_at: Utc::now(),
            duration: Duration::ZERO,
        }
    }

    /// Whether the row says the revision is applied afterwards, with the
    /// file content it vouches for.
    /// The status as the table spells it.
    pub fn status_text(&self) -> &'static str {
        match (self.status, self.in_doubt) {
            (HistoryStatus::Partial, true) => STARTED,
            (status, _) => status.as_str(),
        }
    }

    pub fn vouches_applied(&self) -> bool {
        match (self.direction, self.status, self.resolution) {
            (HistoryDirection::Upgrade | HistoryDirection::Stamp, HistoryStatus::Success, _) => {
                true
            }
            (HistoryDirection::Resolve, _, Some(_)) => self.upgrade_checksum.is_some(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("history table {table}: {action}: {cause}")]
    Database {
        table: String,
        action: String,
        cause: String,
        /// SQLSTATE, when the server reported the failure.
        code: Option<String>,
    },
    #[error("history table {table}: row {id}: {message}")]
    Corrupt {
        table: String,
        id: i64,
        message: String,
    },
}

/// The history table: the version table's schema, its own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    pub schema: Option<String>,
    pub name: String,
    /// The version table's schema as resolved when the connection was made
    /// (see [`VersionTable::locate`]); every statement names it.
    pub resolved_schema: Option<String>,
    /// `server_encoding` of the database, which decides how text is made
    /// storable (see `db::encoding`); `None`: asked at each insert.
    pub server_encoding: Option<String>,
}

/// The table's status of a row whose step's end is not known (see
/// [`HistoryEntry::in_doubt`]).
const STARTED: &str = "started";

/// The status check of the table's current layout.
const STATUS_CHECK: &str = "CHECK (status IN ('success', 'failed', 'partial', 'started'))";

const COLUMNS: &str = "id, run_id, step_index, revision, direction, status, resolution, \
    heads_before, heads_after, planned_heads_after, sql_checksum, upgrade_checksum, \
    downgrade_checksum, statements_done, statements_total, error, db_user, os_user, host, \
    retort_version, started_at, duration_ms";

impl HistoryTable {
    /// The table named `name` in `version`'s schema.
    pub fn beside(version: &VersionTable, name: &str) -> HistoryTable {
        HistoryTable {
            schema: version.schema.clone(),
            name: name.to_string(),
            resolved_schema: version.resolved_schema.clone(),
            server_encoding: None,
        }
    }

    /// This table, beside `version` as resolved at `site`.
    pub fn at(mut self, version: &VersionTable, site: &Site) -> HistoryTable {
        self.schema = version.schema.clone();
        self.resolved_schema = Some(site.schema.clone());
        self.server_encoding = Some(site.server_encoding.clone());
        self
    }

    pub fn qualified(&self) -> String {
        match self.schema.as_ref().or(self.resolved_schema.as_ref()) {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }

    pub fn display_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }

    fn db_error(&self, action: &str, error: &tokio_postgres::Error) -> HistoryError {
        HistoryError::Database {
            table: self.display_name(),
            action: action.to_string(),
            cause: describe_error(error),
            code: error.code().map(|c| c.code().to_string()),
        }
    }

    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL,
    step_index integer,
    revision text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('upgrade', 'downgrade', 'stamp', 'resolve')),
    status text NOT NULL {STATUS_CHECK},
    resolution text CHECK (resolution IN ('applied', 'rolled_back', 'accept_drift')),
    heads_before text[] NOT NULL,
    heads_after text[] NOT NULL,
    planned_heads_after text[] NOT NULL,
    sql_checksum text,
    upgrade_checksum text,
    downgrade_checksum text,
    statements_done integer,
    statements_total integer,
    error text,
    db_user text NOT NULL DEFAULT current_user,
    os_user text,
    host text,
    retort_version text NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms double precision NOT NULL,
    backend_pid integer DEFAULT pg_backend_pid()
)",
            self.qualified()
        )
    }

    pub async fn exists(&self, client: &Client) -> Result<bool, HistoryError> {
        client
            .query_one(
                "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                &[&self.qualified()],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.db_error("looking it up", &e))
    }

    /// Creates the table unless it exists; `true` when it was created.
    pub async fn ensure(&self, client: &Client) -> Result<bool, HistoryError> {
        if self.exists(client).await? {
            self.upgrade_layout(client).await?;
            return Ok(false);
        }
        client
            .batch_execute(&self.create_sql())
            .await
            .map_err(|e| self.db_error("creating it", &e))?;
        Ok(true)
    }

    /// Writes `entry`; returns it with its id and database user.
    pub async fn insert(
        &self,
        client: &Client,
        entry: &HistoryEntry,
    ) -> Result<HistoryEntry, HistoryError> {
        self.insert_with(client, self.insert_sql().as_str(), entry)
            .await
    }

    /// The insert prepared once, for a run that writes many rows.
    pub async fn prepare_insert(&self, client: &Client) -> Result<Statement, HistoryError> {
        client
            .prepare(&self.insert_sql())
            .await
            .map_err(|e| self.db_error("recording a step", &e))
    }

    fn insert_sql(&self) -> String {
        format!(
            "INSERT INTO {} (run_id, step_index, revision, direction, status, resolution, \
             heads_before, heads_after, planned_heads_after, sql_checksum, upgrade_checksum, \
             downgrade_checksum, statements_done, statements_total, error, os_user, host, \
             retort_version, started_at, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20) RETURNING id, db_user",
            self.qualified()
        )
    }

    async fn insert_with<T: ?Sized + ToStatement + Sync>(
        &self,
        client: &Client,
        statement: &T,
        entry: &HistoryEntry,
    ) -> Result<HistoryEntry, HistoryError> {
        let repertoire = self.repertoire(client).await?;
        let text =
            |value: &Option<String>| value.as_deref().map(|v| encoding::storable(v, repertoire));
        let error = entry
            .error
            .as_deref()
            .map(|e| encoding::storable(&redact_url(e), repertoire));
        let (os_user, host) = (text(&entry.os_user), text(&entry.host));
        let retort_version = encoding::storable(&entry.retort_version, repertoire);
        let row = client
            .query_one(
                statement,
                &[
                    &entry.run_id,
                    &entry.step_index,
                    &entry.revision,
                    &entry.direction.as_str(),
                    &entry.status_text(),
                    &entry.resolution.map(Resolution::as_str),
                    &entry.heads_before,
                    &entry.heads_after,
                    &entry.planned_heads_after,
                    &entry.sql_checksum,
                    &entry.upgrade_checksum,
                    &entry.downgrade_checksum,
                    &entry.statements_done,
                    &entry.statements_total,
                    &error,
                    &os_user,
                    &host,
                    &retort_version,
                    &entry.started_at,
                    &(entry.duration.as_secs_f64() * 1000.0),
                ],
            )
            .await
            .map_err(|e| self.db_error("recording a step", &e))?;
        let mut written = entry.clone();
        written.error = error;
        (written.os_user, written.host) = (os_user, host);
        written.id = Some(
            row.try_get(0)
                .map_err(|e| self.db_error("recording a step", &e))?,
        );
        written.db_user = row
            .try_get(1)
            .map_err(|e| self.db_error("recording a step", &e))?;
        Ok(written)
    }

    /// What the database can store, from the encoding read at connect
    /// (or asked now). Revision ids are not rewritten: they must match the
    /// files and the version table exactly.
    async fn repertoire(&self, client: &Client) -> Result<Repertoire, HistoryError> {
        if let Some(known) = &self.server_encoding {
            return Ok(Repertoire::of(known));
        }
        let asked: String = client
            .query_one("SELECT pg_catalog.current_setting('server_encoding')", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.db_error("reading the server encoding", &e))?;
        Ok(Repertoire::of(&asked))
    }

    /// Whether the step `entry` describes committed after all: its success
    /// row, written in the step's own transaction, is there. For a failure
    /// whose connection was lost before the server answered the COMMIT.
    pub async fn committed(
        &self,
        client: &Client,
        entry: &HistoryEntry,
    ) -> Result<bool, HistoryError> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE run_id = $1 \
             AND step_index IS NOT DISTINCT FROM $2 AND status = 'success')",
            self.qualified()
        );
        client
            .query_one(&sql, &[&entry.run_id, &entry.step_index])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.db_error("reading it", &e))
    }

    /// Rows newest first, optionally only those whose revision starts with
    /// `filter.revision`; empty when the table does not exist yet.
    pub async fn query(
        &self,
        client: &Client,
        filter: &HistoryFilter,
    ) -> Result<Vec<HistoryEntry>, HistoryError> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM {} \
             WHERE $1::text IS NULL OR pg_catalog.left(revision, pg_catalog.length($1::text)) = $1::text \
             ORDER BY id DESC LIMIT $2::bigint",
            self.qualified()
        );
        let rows = client
            .query(&sql, &[&filter.revision, &filter.limit])
            .await
            .map_err(|e| self.db_error("reading it", &e))?;
        rows.iter().map(|row| self.entry_from_row(row)).collect()
    }

    /// For each revision, its newest row that left something behind
    /// (failed rows are skipped: nothing of them remains).
    pub async fn latest_per_revision(
        &self,
        client: &Client,
    ) -> Result<Vec<HistoryEntry>, HistoryError> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT ON (revision) {COLUMNS} FROM {} \
             WHERE status <> 'failed' AND revision <> '' \
             ORDER BY revision, id DESC",
            self.qualified()
        );
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| self.db_error("reading it", &e))?;
        rows.iter().map(|row| self.entry_from_row(row)).collect()
    }

    fn entry_from_row(&self, row: &Row) -> Result<HistoryEntry, HistoryError> {
        let id: i64 = row
            .try_get(0)
            .map_err(|e| self.db_error("reading it", &e))?;
        let corrupt = |message: String| HistoryError::Corrupt {
            table: self.display_name(),
            id,
            message,
        };
        let read = |e: tokio_postgres::Error| corrupt(describe_error(&e));
        let direction: String = row.try_get(4).map_err(read)?;
        let status: String = row.try_get(5).map_err(read)?;
        let in_doubt = status == STARTED;
        let status = match in_doubt {
            true => HistoryStatus::Partial.as_str().to_string(),
            false => status,
        };
        let resolution: Option<String> = row.try_get(6).map_err(read)?;
        let duration_ms: f64 = row.try_get(21).map_err(read)?;
        Ok(HistoryEntry {
            id: Some(id),
            run_id: row.try_get(1).map_err(read)?,
            step_index: row.try_get(2).map_err(read)?,
            revision: row.try_get(3).map_err(read)?,
            direction: HistoryDirection::parse(&direction)
                .ok_or_else(|| corrupt(format!("unknown direction '{direction}'")))?,
            status: HistoryStatus::parse(&status)
                .ok_or_else(|| corrupt(format!("unknown status '{status}'")))?,
            resolution: match resolution {
                None => None,
                Some(text) => Some(
                    Resolution::parse(&text)
                        .ok_or_else(|| corrupt(format!("unknown resolution '{text}'")))?,
                ),
            },
            heads_before: row.try_get(7).map_err(read)?,
            heads_after: row.try_get(8).map_err(read)?,
            planned_heads_after: row.try_get(9).map_err(read)?,
            sql_checksum: row.try_get(10).map_err(read)?,
            upgrade_checksum: row.try_get(11).map_err(read)?,
            downgrade_checksum: row.try_get(12).map_err(read)?,
            statements_done: row.try_get(13).map_err(read)?,
            statements_total: row.try_get(14).map_err(read)?,
            in_doubt,
            error: row.try_get(15).map_err(read)?,
            db_user: row.try_get(16).map_err(read)?,
            os_user: row.try_get(17).map_err(read)?,
            host: row.try_get(18).map_err(read)?,
            retort_version: row.try_get(19).map_err(read)?,
            started_at: row.try_get(20).map_err(read)?,
            duration: Duration::try_from_secs_f64(duration_ms.max(0.0) / 1000.0)
                .unwrap_or(Duration::ZERO),
        })
    }
}

/// Rows of steps in progress: written before a `transactional: false`
/// step's first statement and kept up to date after each one, so that a
/// process killed by any signal, or a machine that dies, leaves a row that
/// says how far it got (see [`HistoryEntry::in_doubt`]).
impl HistoryTable {
    /// Brings a table created by an earlier retort to the current layout:
    /// the `started` status and the `backend_pid` column. Changing
    /// commands call it (through [`HistoryTable::ensure`]) under the
    /// migration lock; readers never need it, as only this layout can hold
    /// `started` rows.
    async fn upgrade_layout(&self, client: &Client) -> Result<(), HistoryError> {
        let fail = |e: tokio_postgres::Error| self.db_error("updating its layout", &e);
        let outdated = client
            .query(
                "SELECT c.conname FROM pg_constraint c \
                 WHERE c.conrelid = to_regclass($1) AND c.contype = 'c' \
                 AND pg_get_constraintdef(c.oid) LIKE '%status%' \
                 AND pg_get_constraintdef(c.oid) NOT LIKE '%started%'",
                &[&self.qualified()],
            )
            .await
            .map_err(fail)?;
        let has_pid: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) \
                 AND attname = 'backend_pid' AND NOT attisdropped)",
                &[&self.qualified()],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(fail)?;
        let mut changes: Vec<String> = Vec::new();
        for row in &outdated {
            let name: String = row.try_get(0).map_err(fail)?;
            changes.push(format!("DROP CONSTRAINT {}", quote_ident(&name)));
        }
        if !outdated.is_empty() {
            changes.push(format!("ADD {STATUS_CHECK}"));
        }
        if !has_pid {
            // Old rows keep NULL: only `started` rows are ever judged by it.
            changes.push("ADD COLUMN backend_pid integer".to_string());
            changes.push("ALTER COLUMN backend_pid SET DEFAULT pg_backend_pid()".to_string());
        }
        if changes.is_empty() {
            return Ok(());
        }
        let sql = format!("ALTER TABLE {} {}", self.qualified(), changes.join(", "));
        client.batch_execute(&sql).await.map_err(fail)
    }

    /// Moves a `started` row on: `done` statements (units) completed.
    pub async fn set_progress(
        &self,
        client: &Client,
        id: i64,
        done: usize,
        duration: Duration,
    ) -> Result<(), HistoryError> {
        let sql = format!(
            "UPDATE {} SET statements_done = $2, duration_ms = $3 WHERE id = $1",
            self.qualified()
        );
        let done = i32::try_from(done).unwrap_or(i32::MAX);
        client
            .execute(&sql, &[&id, &done, &(duration.as_secs_f64() * 1000.0)])
            .await
            .map(|_| ())
            .map_err(|e| self.db_error("recording progress", &e))
    }

    /// Writes how a step ended: over its `started` row when `entry` has the
    /// row's id and the row is there, otherwise as a new row.
    pub async fn record(
        &self,
        client: &Client,
        entry: &HistoryEntry,
    ) -> Result<HistoryEntry, HistoryError> {
        let Some(id) = entry.id else {
            return self.insert(client, entry).await;
        };
        // Storable in the database's encoding, as an insert makes it.
        let repertoire = self.repertoire(client).await?;
        let error = entry
            .error
            .as_deref()
            .map(|e| encoding::storable(&redact_url(e), repertoire));
        let sql = format!(
            "UPDATE {} SET status = $2, heads_after = $3, statements_done = $4, error = $5, \
             duration_ms = $6 WHERE id = $1 RETURNING db_user",
            self.qualified()
        );
        let row = client
            .query_opt(
                &sql,
                &[
                    &id,
                    &entry.status_text(),
                    &entry.heads_after,
                    &entry.statements_done,
                    &error,
                    &(entry.duration.as_secs_f64() * 1000.0),
                ],
            )
            .await
            .map_err(|e| self.db_error("recording a step", &e))?;
        let Some(row) = row else {
            let mut fresh = entry.clone();
            fresh.id = None;
            return self.insert(client, &fresh).await;
        };
        let mut written = entry.clone();
        written.error = error;
        written.db_user = row
            .try_get(0)
            .map_err(|e| self.db_error("recording a step", &e))?;
        Ok(written)
    }

    /// Of the `started` rows `ids`, those whose session is still alive and
    /// holds a retort migration lock: steps in progress, not stopped ones.
    /// A session that ended took its lock with it, and this session's own
    /// rows are never in progress while it asks. `lock_class` is the
    /// migration lock's first key (`db::lock::LOCK_CLASS_ID`).
    pub async fn live_started(
        &self,
        client: &Client,
        ids: &[i64],
        lock_class: i32,
    ) -> Result<Vec<i64>, HistoryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT h.id FROM {} h WHERE h.id = ANY($1) AND h.status = '{STARTED}' \
             AND h.backend_pid <> pg_backend_pid() AND EXISTS (SELECT 1 FROM pg_locks l \
             WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid \
             AND l.classid = $2::bigint::oid \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            self.qualified()
        );
        let class_id = i64::from(lock_class);
        let rows = client
            .query(&sql, &[&ids, &class_id])
            .await
            .map_err(|e| self.db_error("looking for steps in progress", &e))?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(|e| self.db_error("reading it", &e)))
            .collect()
    }
}

/// Which rows [`HistoryTable::query`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// A revision id or a prefix of one.
    pub revision: Option<String>,
    /// At most this many rows (newest first); `None` for all.
    pub limit: Option<i64>,
}

/// What the executor needs to record a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    pub table: HistoryTable,
    pub actor: Actor,
    /// Shared by the rows of this run.
    pub run_id: String,
}

impl HistoryOptions {
    pub fn new(table: HistoryTable, actor: Actor) -> HistoryOptions {
        HistoryOptions {
            table,
            actor,
            run_id: new_run_id(),
        }
    }
}

/// 16 hex digits, unique enough to tell runs apart.
pub fn new_run_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// How a step ended, as the history records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepOutcome {
    Success,
    Failed {
        statements_done: usize,
        error: String,
    },
    Partial {
        statements_done: usize,
        error: String,
    },
    /// Not ended yet (the row written before the first statement), or
    /// ended with statement `statements_done + 1` in flight when the
    /// connection was lost: it may or may not have run.
    InDoubt {
        statements_done: usize,
        error: Option<String>,
    },
}

/// Builds the executor's history rows, following the version table's rows
/// from step to step.
pub(crate) struct StepRecorder<'o> {
    options: &'o HistoryOptions,
    heads: Vec<String>,
    purge_pending: bool,
    started_at: DateTime<Utc>,
    started: Instant,
    /// The insert, prepared on the run's connection at its first row.
    insert: Option<Statement>,
}

impl<'o> StepRecorder<'o> {
    pub(crate) fn new(options: &'o HistoryOptions, plan: &Plan) -> StepRecorder<'o> {
        StepRecorder {
            options,
            heads: plan.heads_before.clone(),
            purge_pending: plan.purge,
            started_at: Utc::now(),
            started: Instant::now(),
            insert: None,
        }
    }

    /// Writes a row of the run on its own connection.
    pub(crate) async fn write(
        &mut self,
        client: &Client,
        entry: &HistoryEntry,
    ) -> Result<HistoryEntry, HistoryError> {
        let table = &self.options.table;
        let statement = match &self.insert {
            Some(statement) => statement.clone(),
            None => {
                let statement = table.prepare_insert(client).await?;
                self.insert = Some(statement.clone());
                statement
            }
        };
        table.insert_with(client, &statement, entry).await
    }

    pub(crate) fn table(&self) -> &'o HistoryTable {
        &self.options.table
    }

    /// Time since the current step began.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub(crate) fn begin_step(&mut self) {
        self.started_at = Utc::now();
        self.started = Instant::now();
    }

    /// The rows the version table will hold once `step` is done.
    fn planned_after(&self, step: &Step) -> Vec<String> {
        let mut heads = match self.purge_pending {
            true => Vec::new(),
            false => self.heads.clone(),
        };
        apply_ops(&mut heads, &step.version_ops);
        heads
    }

    /// The row for `step`; `revision` is the file (the stamp's destination
    /// for stamps), `section_sql` the SQL that ran (none for stamps).
    pub(crate) fn entry(
        &self,
        index: usize,
        step: &Step,
        revision: Option<&Revision>,
        section_sql: Option<&str>,
        statements_total: usize,
        outcome: StepOutcome,
    ) -> HistoryEntry {
        let direction = match (&step.kind, step.direction) {
            (StepKind::Stamp, _) => HistoryDirection::Stamp,
            (StepKind::Migrate, crate::core::plan::Direction::Upgrade) => HistoryDirection::Upgrade,
            (StepKind::Migrate, crate::core::plan::Direction::Downgrade) => {
                HistoryDirection::Downgrade
            }
        };
        let in_doubt = matches!(outcome, StepOutcome::InDoubt { .. });
        let (status, done, error) = match outcome {
            StepOutcome::Success => (HistoryStatus::Success, statements_total, None),
            StepOutcome::Failed {
                statements_done,
                error,
            } => (HistoryStatus::Failed, statements_done, Some(error)),
            StepOutcome::Partial {
                statements_done,
                error,
            } => (HistoryStatus::Partial, statements_done, Some(error)),
            StepOutcome::InDoubt {
                statements_done,
                error,
            } => (HistoryStatus::Partial, statements_done, error),
        };
        let planned = self.planned_after(step);
        let mut entry = HistoryEntry::new(
            &self.options.run_id,
            &self.options.actor,
            &step.revision,
            direction,
            status,
        );
        entry.step_index = i32::try_from(index).ok();
        entry.in_doubt = in_doubt;
        entry.heads_before = self.heads.clone();
        entry.heads_after = match status {
            HistoryStatus::Success => planned.clone(),
            _ => self.heads.clone(),
        };
        entry.planned_heads_after = planned;
        entry.sql_checksum = section_sql.map(checksum);
        if let Some(revision) = revision {
            let (up, down) = file_checksums(revision);
            entry.upgrade_checksum = Some(up);
            entry.downgrade_checksum = down;
        }
        if step.kind == StepKind::Migrate {
            entry.statements_done = i32::try_from(done).ok();
            entry.statements_total = i32::try_from(statements_total).ok();
        }
        entry.error = error.map(|e| redact_url(&e));
        entry.started_at = self.started_at;
        entry.duration = self.started.elapsed();
        entry
    }

    /// The row of a `stamp --purge` that had no step to carry it.
    pub(crate) fn purge_entry(&self) -> HistoryEntry {
        let mut entry = HistoryEntry::new(
            &self.options.run_id,
            &self.options.actor,
            "",
            HistoryDirection::Stamp,
            HistoryStatus::Success,
        );
        entry.heads_before = self.heads.clone();
        entry.started_at = self.started_at;
        entry.duration = self.started.elapsed();
        entry
    }

    /// `step` is done (inside the step's transaction, or committed).
    pub(crate) fn advance(&mut self, step: &Step) {
        self.heads = self.planned_after(step);
        self.purge_pending = false;
    }

    /// Where the rows stand, to go back to when a transaction rolls back.
    pub(crate) fn checkpoint(&self) -> (Vec<String>, bool) {
        (self.heads.clone(), self.purge_pending)
    }

    pub(crate) fn restore(&mut self, (heads, purge_pending): (Vec<String>, bool)) {
        self.heads = heads;
        self.purge_pending = purge_pending;
    }
}

/// Applies version ops to a list of rows, keeping it sorted. Lenient: the
/// executor has already checked each op against the real table.
fn apply_ops(heads: &mut Vec<String>, ops: &[VersionOp]) {
    for op in ops {
        match op {
            VersionOp::Insert { version } => heads.push(version.clone()),
            VersionOp::Update { from, to } => {
                heads.retain(|h| h != from);
                heads.push(to.clone());
            }
            VersionOp::Delete { version } => heads.retain(|h| h != version),
        }
    }
    heads.sort();
    heads.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::Direction;

    #[test]
    fn checksum_ignores_line_endings_and_trailing_space_only() {
        let lf = "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n";
        let crlf = "CREATE TABLE a (id int);\r\nINSERT INTO a VALUES (1);\r\n\r\n  ";
        assert_eq!(checksum(lf), checksum(crlf));
        assert_ne!(checksum(lf), checksum(&lf.replace("(1)", "(2)")));
        assert_eq!(checksum("").len(), 64);
        assert_eq!(
            checksum("SELECT 1;"),
            hex::encode(Sha256::digest(b"SELECT 1;"))
        );
    }

    #[test]
    fn text_forms_round_trip() {
        for d in [
            HistoryDirection::Upgrade,
            HistoryDirection::Downgrade,
            HistoryDirection::Stamp,
            HistoryDirection::Resolve,
        ] {
            assert_eq!(HistoryDirection::parse(d.as_str()), Some(d));
        }
        for r in [
            Resolution::Applied,
            Resolution::RolledBack,
            Resolution::AcceptDrift,
        ] {
            assert_eq!(Resolution::parse(r.as_str()), Some(r));
        }
        assert_eq!(
            HistoryStatus::parse("partial"),
            Some(HistoryStatus::Partial)
        );
        assert_eq!(HistoryStatus::parse("PARTIAL"), None);
    }

    fn step(revision: &str, ops: Vec<VersionOp>) -> Step {
        Step {
            kind: StepKind::Migrate,
            direction: Direction::Upgrade,
            revision: revision.into(),
            from_revisions: vec![],
            to_revisions: vec![revision.into()],
            version_ops: ops,
        }
    }

    #[test]
    fn recorder_follows_heads_and_keeps_failures_in_place() {
        let options = HistoryOptions::new(
            HistoryTable {
                schema: None,
                name: "retort_history".into(),
                resolved_schema: None,
                server_encoding: None,
            },
            Actor::detect(),
        );
        let first = step(
            "b",
            vec![VersionOp::Update {
                from: "a".into(),
                to: "b".into(),
            }],
        );
        let second = step(
            "c",
            vec![VersionOp::Update {
                from: "b".into(),
                to: "c".into(),
            }],
        );
        let plan = Plan {
            steps: vec![first.clone(), second.clone()],
            heads_before: vec!["a".into(), "x".into()],
            heads_after: vec!["c".into(), "x".into()],
            purge: false,
        };
        let mut recorder = StepRecorder::new(&options, &plan);
        let rev = Revision::synthetic("b", &["a"]);
        let ok = recorder.entry(
            0,
            &first,
            Some(&rev),
            Some("SELECT 1;"),
            1,
            StepOutcome::Success,
        );
        assert_eq!(ok.heads_before, ["a", "x"]);
        assert_eq!(ok.heads_after, ["b", "x"]);
        assert_eq!(
            ok.sql_checksum.as_deref(),
            Some(checksum("SELECT 1;").as_str())
        );
        assert_eq!(ok.upgrade_checksum, Some(file_checksums(&rev).0));
        assert_eq!(ok.statements_done, Some(1));
        recorder.advance(&first);
        let failed = recorder.entry(
            1,
            &second,
            None,
            Some("SELECT 1; SELECT 2;"),
            2,
            StepOutcome::Partial {
                statements_done: 1,
                error: "boom at postgres://u:secret@h/db".into(),
            },
        );
        assert_eq!(failed.status, HistoryStatus::Partial);
        assert_eq!(failed.heads_before, ["b", "x"]);
        assert_eq!(failed.heads_after, ["b", "x"], "a failure changes no row");
        assert_eq!(failed.planned_heads_after, ["c", "x"]);
        assert_eq!(failed.statements_done, Some(1));
        assert!(!failed.error.as_deref().unwrap().contains("secret"));
        let checkpoint = recorder.checkpoint();
        recorder.advance(&second);
        assert_eq!(recorder.heads, ["c", "x"]);
        recorder.restore(checkpoint);
        assert_eq!(recorder.heads, ["b", "x"]);
    }

    #[test]
    fn a_step_in_doubt_reads_started_in_the_table() {
        let options = HistoryOptions::new(
            HistoryTable {
                schema: None,
                name: "retort_history".into(),
                resolved_schema: None,
                server_encoding: None,
            },
            Actor::detect(),
        );
        let only = step(
            "b",
            vec![VersionOp::Insert {
                version: "b".into(),
            }],
        );
        let plan = Plan {
            steps: vec![only.clone()],
            heads_before: vec![],
            heads_after: vec!["b".into()],
            purge: false,
        };
        let recorder = StepRecorder::new(&options, &plan);
        let started = StepOutcome::InDoubt {
            statements_done: 0,
            error: None,
        };
        let entry = recorder.entry(0, &only, None, Some("SELECT 1;"), 3, started);
        assert_eq!(
            (entry.status, entry.in_doubt),
            (HistoryStatus::Partial, true)
        );
        assert_eq!(entry.status_text(), "started");
        assert_eq!(entry.statements_done, Some(0));
        assert_eq!(
            entry.heads_after,
            Vec::<String>::new(),
            "nothing changed yet"
        );
        assert_eq!(entry.error, None);
        let done = recorder.entry(0, &only, None, None, 3, StepOutcome::Success);
        assert_eq!(done.status_text(), "success");
        assert!(options.table.create_sql().contains("'started'"));
    }

    #[test]
    fn purge_empties_before_the_first_step_only() {
        let options = HistoryOptions::new(
            HistoryTable {
                schema: Some("app".into()),
                name: "h".into(),
                resolved_schema: None,
                server_encoding: None,
            },
            Actor::detect(),
        );
        assert_eq!(options.table.qualified(), "\"app\".\"h\"");
        let stamp = Step {
            kind: StepKind::Stamp,
            ..step(
                "z",
                vec![VersionOp::Insert {
                    version: "z".into(),
                }],
            )
        };
        let plan = Plan {
            steps: vec![stamp.clone()],
            heads_before: vec!["unknown".into()],
            heads_after: vec!["z".into()],
            purge: true,
        };
        let mut recorder = StepRecorder::new(&options, &plan);
        let entry = recorder.entry(0, &stamp, None, None, 0, StepOutcome::Success);
        assert_eq!(entry.direction, HistoryDirection::Stamp);
        assert_eq!(entry.heads_before, ["unknown"]);
        assert_eq!(entry.heads_after, ["z"]);
        assert_eq!(entry.statements_total, None);
        recorder.advance(&stamp);
        assert!(!recorder.purge_pending);
    }
}
