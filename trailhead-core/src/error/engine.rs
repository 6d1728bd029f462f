use crate::{CodecError, RunId, StoreError};

/// The engine could not start, run or record a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A run with this id already exists.
    #[error("run `{run}` already exists")]
    RunExists {
        /// The id that is taken.
        run: RunId,
    },
    /// The store has no run with this id.
    #[error("no run `{run}` in the store")]
    UnknownRun {
        /// The id that was looked up.
        run: RunId,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A run's input or output (or a signal's payload) could not be encoded
    /// for the store, or would not read back as it was ([`CodecError`]).
    #[error("could not encode the {what} of run `{run}`: {source}")]
    Encode {
        /// The run whose value could not be encoded.
        run: RunId,
        /// Which value: `"input"` or `"output"`.
        what: &'static str,
        /// Why the value was refused (boxed: errors stay small).
        source: Box<CodecError>,
    },
    /// A recorded run's workflow definition differs from the one given to
    /// resume it: its journal's keys may not mean the same steps any more.
    #[error(
        "run `{run}` of `{workflow}` started under definition {recorded:#018x}, \
         but the workflow is now {current:#018x}; keep the old definition to finish it"
    )]
    DefinitionChanged {
        /// The run that was not resumed.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// The definition hash the run started under.
        recorded: u64,
        /// The definition hash of the workflow given now.
        current: u64,
    },
    /// The run belongs to another workflow than the one given.
    #[error("run `{run}` is a run of `{recorded}`, not of `{given}`")]
    OtherWorkflow {
        /// The run.
        run: RunId,
        /// The workflow it is a run of.
        recorded: String,
        /// The workflow given.
        given: &'static str,
    },
    /// A recorded run's input no longer deserializes into the workflow's input.
    #[error("could not decode the recorded {what} of run `{run}`: {source}")]
    Decode {
        /// The run whose record could not be decoded.
        run: RunId,
        /// Which value: `"input"` or `"output"`.
        what: &'static str,
        /// Why the record did not read back (boxed: errors stay small).
        source: Box<CodecError>,
    },
    /// The task running the workflow panicked or was aborted.
    #[error("the task of run `{run}` failed: {message}")]
    TaskFailed {
        /// The run whose task failed.
        run: RunId,
        /// The panic message, or why the task stopped.
        message: String,
    },
}

impl EngineError {
    /// The run this error is about, when known.
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::RunExists { run }
            | Self::UnknownRun { run }
            | Self::Encode { run, .. }
            | Self::Decode { run, .. }
            | Self::DefinitionChanged { run, .. }
            | Self::OtherWorkflow { run, .. }
            | Self::TaskFailed { run, .. } => Some(run),
            Self::Store(error) => error.run(),
        }
    }
}
