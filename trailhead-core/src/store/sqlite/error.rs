//! SQLite's errors in the store's words.

use std::path::Path;

use rusqlite::ErrorCode;

use crate::store::{DatabaseProblem, StoreLocation};
use crate::{RunId, StoreError};

/// What went wrong, classified: locked, corrupt, full, cannot open, other.
///
/// A value that does not decode as the column it was written to (a `NULL`
/// where trailhead wrote text, text that is not UTF-8, a number out of range)
/// and a constraint the writer did not expect both mean the file does not hold
/// what trailhead wrote: `Corrupt`, like SQLite's own damage reports.
pub(super) fn problem(error: &rusqlite::Error) -> DatabaseProblem {
    if matches!(
        error,
        rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..)
    ) {
        tracing::warn!(%error, "a value in the store does not decode");
        return DatabaseProblem::Corrupt;
    }
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DatabaseProblem::Locked,
        Some(
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase | ErrorCode::ConstraintViolation,
        ) => DatabaseProblem::Corrupt,
        Some(ErrorCode::DiskFull) => DatabaseProblem::Full,
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            DatabaseProblem::CannotOpen(error.to_string())
        }
        _ => DatabaseProblem::Other(error.to_string()),
    }
}

pub(super) fn database_error(
    path: &Path,
    run: Option<RunId>,
    error: &rusqlite::Error,
) -> StoreError {
    StoreError::Database {
        store: Box::new(StoreLocation::File(path.to_path_buf())),
        run,
        problem: problem(error),
    }
}
