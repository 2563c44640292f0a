//! What the console knows of the database: the connection, the last state
//! read and when, the revisions' statuses made from it, and when to read it
//! again.

use std::time::{Duration, Instant};

use crate::core::graph::RevisionMap;
use crate::db::drift::DriftIssue;
use crate::tui::model::Statuses;
use crate::tui::worker::DbState;

/// The first automatic reconnection attempt after a failure, and the
/// longest wait between two.
const RECONNECT_FIRST: Duration = Duration::from_secs(2);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// The connection as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    /// Never connected in this session.
    Unreachable(String),
    /// Was connected; the last known state may be stale.
    Lost(String),
}

/// Automatic reconnection while the server cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// Attempts that failed so far (the first refresh counts).
    pub failures: u32,
    /// When the next attempt starts.
    pub next_at: Instant,
}

pub struct DbStatus {
    pub connection: Connection,
    pub db: Option<DbState>,
    /// Local time of the last successful refresh.
    pub db_as_of: Option<String>,
    pub refreshing: bool,
    /// The next automatic attempt while the server is unreachable.
    pub reconnect: Option<Reconnect>,
    pub statuses: Statuses,
    /// Re-read the state this often while idle; `None`: only on request.
    refresh_every: Option<Duration>,
    pub(super) last_refresh: Instant,
}

impl DbStatus {
    pub fn new(refresh_every: Option<Duration>) -> DbStatus {
        DbStatus {
            connection: Connection::Connecting,
            db: None,
            db_as_of: None,
            refreshing: false,
            reconnect: None,
            statuses: Statuses::unknown(),
            refresh_every,
            last_refresh: Instant::now(),
        }
    }

    /// The drift findings about revision `id`, from the last refresh.
    pub fn drift_of(&self, id: &str) -> Vec<&DriftIssue> {
        match self.db.as_ref().map(|db| &db.drift) {
            Some(Ok(report)) => report.issues.iter().filter(|i| i.revision == id).collect(),
            _ => Vec::new(),
        }
    }

    /// The statuses of `map`'s revisions by the last state read (unknown
    /// without one).
    pub fn recompute_statuses(&mut self, map: &RevisionMap) {
        self.statuses = match &self.db {
            Some(db) => Statuses::compute(map, &db.rows),
            None => Statuses::unknown(),
        };
    }

    /// Counts a failed attempt and sets when the next one starts: 2 s,
    /// then twice as long each time, at most 30 s.
    pub fn schedule_reconnect(&mut self) -> Reconnect {
        let failures = self.reconnect.map_or(0, |r| r.failures) + 1;
        let delay = RECONNECT_FIRST
            .saturating_mul(1 << (failures - 1).min(5))
            .min(RECONNECT_MAX);
        let reconnect = Reconnect {
            failures,
            next_at: Instant::now() + delay,
        };
        self.reconnect = Some(reconnect);
        reconnect
    }

    /// Whether to read the state again now, while nothing runs: a
    /// reconnection attempt is due, or the idle refresh is.
    pub fn refresh_due(&self) -> bool {
        let reconnect_due = self.reconnect.is_some_and(|r| Instant::now() >= r.next_at);
        let idle_due = self
            .refresh_every
            .is_some_and(|every| self.last_refresh.elapsed() >= every);
        !self.refreshing && (reconnect_due || idle_due)
    }
}
