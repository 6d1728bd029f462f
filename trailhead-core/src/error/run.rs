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
    /// The store kept failing the run's journal writes (full, locked,
    /// unreachable, damaged), so the engine stopped driving it. Nothing
    /// failed in the business: the run is not failed or rolled back; it is
    /// left running in the store, listed in
    /// [`Engine::health`](crate::Engine::health), and
    /// [`Engine::resume`](crate::Engine::resume) continues it once the store
    /// is well.
    #[error("run `{run}` was suspended because the store failed: {cause}")]
    Suspended {
        /// The run.
        run: RunId,
        /// The store's last error.
        #[source]
        cause: crate::StoreError,
    },
    /// Another worker took the run over (see
    /// [`store::lease`](crate::store::lease)): this engine stopped driving it
    /// and wrote nothing more for it; the other worker finishes it.
    #[error("run `{run}` was taken over by another worker; worker `{worker}` dropped it")]
    LeaseLost {
        /// The run.
        run: RunId,
        /// This engine's worker, which lost the lease.
        worker: crate::store::WorkerId,
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
            | Self::FailedEarlier { run, .. }
            | Self::Suspended { run, .. }
            | Self::LeaseLost { run, .. } => Some(run),
            Self::Engine(error) => error.run(),
        }
    }
}
