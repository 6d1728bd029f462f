//! Why a command failed, as the one line it prints on stderr and the exit
//! code scripts branch on.

use std::process::ExitCode;

use trailhead_core::store::DatabaseProblem;
use trailhead_core::{EngineError, StoreError};

/// Any other failure: a locked store, a refused write, a lost connection.
pub(crate) const GENERAL: u8 = 1;
/// No such run.
pub(crate) const NOT_FOUND: u8 = 3;
/// The store cannot be used: missing, not a store, damaged, another version.
pub(crate) const BAD_STORE: u8 = 4;
/// `watch`: the run ended without completing.
pub(crate) const RUN_DID_NOT_COMPLETE: u8 = 5;

/// A failed command: what to tell the user, and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    /// One line, naming the store and the run where they are known.
    pub(crate) message: String,
    /// The process's exit code.
    pub(crate) code: u8,
}

impl Failure {
    /// A failure with `message` and exit code `code`.
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }

    /// `error`, met on the store at `store`.
    pub(crate) fn store(store: &str, error: &StoreError) -> Self {
        let code = match error {
            StoreError::UnknownRun { .. } => NOT_FOUND,
            StoreError::Database {
                problem:
                    DatabaseProblem::NewerSchema { .. }
                    | DatabaseProblem::OlderSchema { .. }
                    | DatabaseProblem::NotATrailheadStore
                    | DatabaseProblem::Corrupt
                    | DatabaseProblem::CannotOpen(_)
                    | DatabaseProblem::InvalidSchemaName { .. },
                ..
            } => BAD_STORE,
            _ => GENERAL,
        };
        let message = match error {
            // These name the store themselves.
            StoreError::Database { .. } => error.to_string(),
            _ => format!("the store at `{store}`: {error}"),
        };
        Self::new(code, message)
    }

    /// `error`, from an engine on the store at `store`.
    pub(crate) fn engine(store: &str, error: &EngineError) -> Self {
        match error {
            EngineError::Store(error) => Self::store(store, error),
            other => Self::new(GENERAL, format!("the store at `{store}`: {other}")),
        }
    }

    /// No run `run` in the store at `store`.
    pub(crate) fn no_run(store: &str, run: &str) -> Self {
        Self::new(
            NOT_FOUND,
            format!("the store at `{store}`: no run `{run}` in the store"),
        )
    }

    /// The exit code.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}
