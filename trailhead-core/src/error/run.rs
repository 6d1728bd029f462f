use crate::{EngineError, RunId, StepKey};

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
    /// The run passed its deadline; its running steps were stopped and its
    /// completed steps undone.
    #[error("run `{run}` passed its deadline of {deadline:?}")]
    DeadlineExceeded {
        /// The run.
        run: RunId,
        /// The workflow's deadline.
        deadline: std::time::Duration,
    },
    /// The run failed or was cancelled, and undoing it stopped at a
    /// compensation that failed for good: what it would have undone is still
    /// done. The run is recorded as
    /// [`CompensationFailed`](crate::RunStatus::CompensationFailed).
    #[error(
        "run `{run}`: the compensation of step `{step}` failed: {error} (undoing the run because: {cause})"
    )]
    CompensationFailed {
        /// The run.
        run: RunId,
        /// The step whose compensation failed.
        step: StepKey,
        /// The compensation's last error.
        error: String,
        /// Why the run was being undone.
        cause: String,
    },
    /// The run had failed before this process resumed it to finish its
    /// rollback; its error is known only as the text recorded then.
    #[error("run `{run}` failed: {error}")]
    FailedEarlier {
        /// The run.
        run: RunId,
        /// The recorded error text.
        error: String,
    },
    /// The engine could not start, run or record the run.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl<E> RunError<E> {
    /// The run this error is about, when known.
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::Failed { run, .. }
            | Self::Cancelled { run }
            | Self::DeadlineExceeded { run, .. }
            | Self::CompensationFailed { run, .. }
            | Self::FailedEarlier { run, .. } => Some(run),
            Self::Engine(error) => error.run(),
        }
    }
}
