use crate::{EngineError, RunId};

/// Why a run gave no output.
///
/// Returned by [`RunHandle::result`](crate::RunHandle::result) and
/// [`Engine::run`](crate::Engine::run).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError<E> {
    /// The workflow returned an error.
    #[error("run `{run}` failed: {error}")]
    Failed {
        /// The run that failed.
        run: RunId,
        /// The workflow's error.
        #[source]
        error: E,
    },
    /// The run was cancelled before it finished.
    #[error("run `{run}` was cancelled")]
    Cancelled {
        /// The run that was cancelled.
        run: RunId,
    },
    /// The engine could not start, run or record the run.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl<E> RunError<E> {
    /// The run this error is about, when known.
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::Failed { run, .. } | Self::Cancelled { run } => Some(run),
            Self::Engine(error) => error.run(),
        }
    }
}
