//! Readable text for tokio-postgres errors: a leaf every db module (and
//! the cancel handle) can use without importing the connection code.

/// A readable cause for a tokio-postgres error, server fields first.
pub fn describe_error(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text = format!("{text}: {cause_text}");
                }
                source = cause.source();
            }
            text
        }
    }
}

/// Whether `error` ended the session: the server reported a FATAL or PANIC
/// error (it closes the session after one: shutdown, restart, a terminated
/// backend), or the socket closed or broke.
pub fn ends_session(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::Severity;
    match error.as_db_error() {
        Some(db) => matches!(
            db.parsed_severity(),
            Some(Severity::Fatal | Severity::Panic)
        ),
        None => {
            error.is_closed()
                || std::error::Error::source(error)
                    .is_some_and(|cause| cause.is::<std::io::Error>())
        }
    }
}
