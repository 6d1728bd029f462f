//! SQLite's errors in the store's words.

use std::path::Path;

use rusqlite::ErrorCode;

use crate::store::DatabaseProblem;
use crate::{RunId, StoreError};

/// What went wrong, classified: locked, corrupt, full, cannot open, other.
pub(super) fn problem(error: &rusqlite::Error) -> DatabaseProblem {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DatabaseProblem::Locked,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => DatabaseProblem::Corrupt,
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
        path: path.to_path_buf(),
        run,
        problem: problem(error),
    }
}
