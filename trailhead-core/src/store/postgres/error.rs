//! PostgreSQL's errors in the store's words.

use std::time::Duration;

use crate::store::DatabaseProblem;

/// What went wrong, classified. `waited` is how long the pool lets an
/// operation wait for a connection (what an exhausted pool reports).
///
/// A value that does not decode as its column (a type changed, a column
/// gone) and a constraint trailhead's writes do not expect both mean the
/// schema does not hold what trailhead wrote: `Corrupt`.
pub(super) fn problem(error: &sqlx::Error, waited: Duration) -> DatabaseProblem {
    use sqlx::Error;
    match error {
        Error::PoolTimedOut => DatabaseProblem::PoolExhausted { waited },
        Error::PoolClosed => DatabaseProblem::Other("the store's connection pool is closed".into()),
        Error::Io(_) | Error::Tls(_) | Error::WorkerCrashed => {
            DatabaseProblem::ConnectionLost(error.to_string())
        }
        Error::Configuration(_) => DatabaseProblem::CannotOpen(error.to_string()),
        Error::ColumnDecode { .. }
        | Error::ColumnNotFound(_)
        | Error::ColumnIndexOutOfBounds { .. }
        | Error::TypeNotFound { .. }
        | Error::Decode(_) => {
            tracing::warn!(%error, "a value in the store does not decode");
            DatabaseProblem::Corrupt
        }
        Error::Database(database) => match database.code().as_deref() {
            Some(code) => by_code(code, error),
            None => DatabaseProblem::Other(error.to_string()),
        },
        _ => DatabaseProblem::Other(error.to_string()),
    }
}

/// A server error by its SQLSTATE.
fn by_code(code: &str, error: &sqlx::Error) -> DatabaseProblem {
    match code {
        // Connection exceptions; the server shutting down or restarting.
        _ if code.starts_with("08") => DatabaseProblem::ConnectionLost(error.to_string()),
        "57P01" | "57P02" | "57P03" => DatabaseProblem::ConnectionLost(error.to_string()),
        // disk_full.
        "53100" => DatabaseProblem::Full,
        // lock_not_available.
        "55P03" => DatabaseProblem::Locked,
        // Undefined or changed tables, columns and types; unexpected
        // constraints; the server's own data-corruption reports.
        "42P01" | "42703" | "42804" | "XX001" | "XX002" => {
            tracing::warn!(%error, "the store's schema is not what trailhead made");
            DatabaseProblem::Corrupt
        }
        _ if code.starts_with("23") => {
            tracing::warn!(%error, "a constraint trailhead's writes do not break failed");
            DatabaseProblem::Corrupt
        }
        // Authentication, no such database, no privilege, too many
        // connections, a read-only server.
        _ if code.starts_with("28") => DatabaseProblem::CannotOpen(error.to_string()),
        "3D000" | "42501" | "53300" | "25006" => DatabaseProblem::CannotOpen(error.to_string()),
        _ => DatabaseProblem::Other(error.to_string()),
    }
}

/// Whether `error` is a unique key already taken.
pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|database| database.is_unique_violation())
}
