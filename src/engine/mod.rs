//! The engine: the one owner of every run that changes the database (the
//! [`Migrator`]), its typed errors and outcomes, and how a run is stopped.
//! Front ends turn what it returns into words and pixels; nothing here
//! prints.

pub mod autogen;
pub mod cancel;
pub mod desired;
pub mod error;
pub mod import;
pub mod lint;
pub mod migrator;
pub mod project;
pub mod rehearse;
pub mod schema;
pub mod scratch;
pub mod session;

pub use cancel::{CancelReach, Cancellation};
pub use error::{ChangedFile, Error, ExecFailure, FileChange, Recovery, Refusal, Unrecorded};
pub use lint::PlanLint;
pub use migrator::{
    Migrator, OwnedConsent, ResolveReport, ResolveRequest, RunError, RunReport, RunRequest,
};
pub use project::{
    GlobalOptions, Project, connection_settings, connection_warnings, display_path, history_table,
    load_config, protected_environment, session_settings, transport, version_table,
    version_table_name,
};
pub use session::{Database, RECONNECT_WAIT};
