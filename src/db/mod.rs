//! The database layer: connections that surface server notices, the
//! version table, and the executor that runs plans computed by the core.

pub mod cancel;
pub mod connect;
pub mod events;
pub mod executor;
pub mod version_table;

pub use cancel::CancelHandle;
pub use connect::{
    ConnectError, MigrationConnection, MigrationPool, Notice, SessionSettings, Transport,
    build_pool, connect, connect_with,
};
pub use events::{EventSink, ExecError, ExecEvent, StatementError};
pub use executor::{ExecOptions, ExecSummary, execute_plan};
pub use version_table::{VersionTable, VersionTableError};
