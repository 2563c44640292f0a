//! The database layer: connections that surface server notices, the
//! version table, the executor that runs plans computed by the core, and
//! the safety around it: the migration lock, the audit history, drift
//! detection and resolving steps that stopped halfway.

pub mod blockers;
pub mod cancel;
pub mod catalog;
pub mod connect;
pub mod drift;
pub mod encoding;
pub mod error_text;
pub mod events;
pub mod executor;
pub mod foreign_versions;
pub mod history;
pub mod lock;
pub mod lock_trace;
pub mod os_user;
pub mod redact;
pub mod resolve;
pub mod table_sizes;
pub mod throwaway;
pub mod timeouts;
pub mod tls;
pub mod version_table;

pub use blockers::Blocker;
pub use cancel::CancelHandle;
pub use connect::{
    ConnectError, MigrationConnection, MigrationPool, Notice, SessionOpener, SessionSettings,
    Transport, build_pool, build_pool_with, connect, connect_with,
};
pub use drift::{DriftIssue, DriftKind, DriftReport};
pub use events::{EventSink, ExecError, ExecEvent, StatementError};
pub use executor::{ExecOptions, ExecSummary, execute_plan};
pub use history::{HistoryEntry, HistoryFilter, HistoryTable};
pub use lock::{LockHolder, MigrationLock, WaitPolicy};
pub use resolve::ResolveChoice;
pub use timeouts::LockRetry;
pub use tls::{RootCert, SslMode, TlsConnector, TlsError, TlsSettings};
pub use version_table::{VersionTable, VersionTableError};
