//! How a run ended, as its task gives it to its handle (or its caller).

use std::any::Any;
use std::fmt;
use std::time::Duration;

use super::unload::Finish;
use crate::step::Journaled;
use crate::store::RunOutcome;
use crate::{CodecError, EngineError, Event, RunError, RunId, StepKey, StoreError, Workflow};

/// How a run ended, once recorded.
pub(crate) enum RunEnd<W: Workflow> {
    Completed(W::Output),
    Failed(W::Error),
    Cancelled,
    Panicked(Box<dyn Any + Send>),
    /// The run passed its deadline (this long after it started).
    DeadlineExceeded(Duration),
    /// The run was undone and the compensation of `step` failed for good.
    CompensationFailed {
        step: StepKey,
        error: String,
        cause: String,
    },
    /// The run had failed before this process resumed its rollback: its
    /// error is known only as recorded text.
    FailedEarlier(String),
    /// The output could not be encoded; the run is recorded as failed.
    Unencodable(CodecError),
    /// The store could not record the outcome.
    Unrecorded(StoreError),
    /// The engine stopped driving the run without ending it: the store
    /// failed for good (suspended, left for `resume`) or another worker took
    /// the run over.
    Halted(StoreError),
    /// The run gave up its task until it wakes; its handle waits on this
    /// (`None` when a handle already waits through the engine).
    Unloaded(Option<tokio::sync::oneshot::Receiver<Finish>>),
    /// The end was given to the handle through the engine.
    Forwarded,
    /// The run was handed back to the store while it sleeps: any worker
    /// may end it, and its handle reads the end from the store.
    Released(super::Engine),
    /// The engine shut down before the run ended; it is left for `resume`.
    Stopped,
}

impl<W: Workflow> RunEnd<W> {
    /// The end a recorded outcome stands for, for a run resumed to finish its
    /// rollback.
    pub(crate) fn recorded(outcome: &RunOutcome) -> Self {
        match outcome {
            RunOutcome::Cancelled => Self::Cancelled,
            RunOutcome::Completed(value) => match Journaled::from_journal(value) {
                Ok(output) => Self::Completed(output),
                Err(error) => Self::FailedEarlier(format!("could not decode its output: {error}")),
            },
            RunOutcome::Compensated { cause, .. } => {
                Self::FailedEarlier(format!("it completed and was then undone: {cause}"))
            }
            RunOutcome::Failed(error) | RunOutcome::CompensationFailed { cause: error, .. } => {
                Self::FailedEarlier(error.clone())
            }
        }
    }

    /// This failed end with the outcome to record for it.
    pub(super) fn failed(self) -> (Self, RunOutcome) {
        let text = self.to_string();
        (self, RunOutcome::Failed(text))
    }

    pub(super) fn event(
        &self,
        run: RunId,
        workflow: &'static str,
        duration: std::time::Duration,
    ) -> Event {
        match self {
            Self::Completed(_) => Event::RunCompleted {
                run,
                workflow,
                duration,
            },
            Self::Cancelled => Event::RunCancelled { run, workflow },
            Self::Halted(error) => Event::RunHalted {
                run,
                workflow,
                error: error.to_string(),
            },
            failed => Event::RunFailed {
                run,
                workflow,
                error: failed.to_string(),
                duration,
            },
        }
    }

    /// The typed result a [`RunHandle`] gives.
    pub(crate) fn into_result(self, run: RunId) -> Result<W::Output, RunError<W::Error>> {
        Err(match self {
            Self::Completed(output) => return Ok(output),
            Self::Failed(error) => RunError::Failed { run, error },
            Self::Cancelled => RunError::Cancelled { run },
            Self::DeadlineExceeded(deadline) => RunError::DeadlineExceeded { run, deadline },
            Self::CompensationFailed { step, error, cause } => RunError::CompensationFailed {
                run,
                step,
                error,
                cause,
            },
            Self::FailedEarlier(error) => RunError::FailedEarlier { run, error },
            Self::Panicked(payload) => RunError::Engine(EngineError::TaskFailed {
                run,
                message: format!("the run panicked: {}", panic_message(&*payload)),
            }),
            Self::Unencodable(source) => RunError::Engine(EngineError::Store(StoreError::encode(
                run, None, "output", source,
            ))),
            Self::Unrecorded(error) => RunError::Engine(EngineError::Store(error)),
            Self::Halted(StoreError::LeaseLost { worker, .. }) => {
                RunError::LeaseLost { run, worker }
            }
            Self::Halted(cause) => RunError::Suspended { run, cause },
            Self::Stopped => RunError::Engine(EngineError::Interrupted { run }),
            Self::Unloaded(_) | Self::Forwarded | Self::Released(_) => {
                RunError::Engine(EngineError::TaskFailed {
                    run,
                    message: "the run's end was given elsewhere".to_owned(),
                })
            }
        })
    }
}

impl<W: Workflow> fmt::Display for RunEnd<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed(_) => f.write_str("completed"),
            Self::Failed(error) => error.fmt(f),
            Self::Cancelled => f.write_str("cancelled"),
            Self::DeadlineExceeded(deadline) => {
                write!(f, "the run passed its deadline of {deadline:?}")
            }
            Self::CompensationFailed { step, error, cause } => write!(
                f,
                "the compensation of step `{step}` failed: {error} (undoing the run because: {cause})"
            ),
            Self::FailedEarlier(error) => error.fmt(f),
            Self::Panicked(payload) => write!(f, "the run panicked: {}", panic_message(&**payload)),
            Self::Unencodable(error) => write!(f, "could not encode the output: {error}"),
            Self::Unrecorded(error) => error.fmt(f),
            Self::Halted(error) => write!(f, "halted: {error}"),
            Self::Unloaded(_) => f.write_str("unloaded until it wakes"),
            Self::Forwarded => f.write_str("ended"),
            Self::Released(_) => f.write_str("handed back to the store until it wakes"),
            Self::Stopped => f.write_str("stopped by the engine's shutdown"),
        }
    }
}

/// The message of a panic payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
