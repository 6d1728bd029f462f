use crate::{RunId, StoreError};

/// The engine could not start, run or record a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store refused or failed: an unknown run
    /// ([`StoreError::UnknownRun`]), a run id taken
    /// ([`StoreError::RunExists`]), a run's input or output that would not
    /// encode or decode ([`StoreError::Encode`], [`StoreError::Decode`]), or
    /// the database failing. The store's error is the one shape for each of
    /// those, whichever engine method met it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A run's picture could not be drawn from its record
    /// ([`Engine::picture_of`](crate::Engine::picture_of)).
    #[error(transparent)]
    Picture(#[from] crate::picture::PictureError),
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
    /// The engine is shutting down ([`Engine::shutdown`](crate::Engine::shutdown)):
    /// it starts, resumes and retries no more runs.
    #[error(
        "the engine is shutting down: it takes no more runs of `{workflow}`{}",
        run.as_ref().map(|run| format!(" (run `{run}`)")).unwrap_or_default()
    )]
    ShuttingDown {
        /// The workflow asked for.
        workflow: &'static str,
        /// The run asked for, when there was one.
        run: Option<RunId>,
    },
    /// No schedule of this name is registered in the store.
    #[error("there is no schedule `{name}`")]
    UnknownSchedule {
        /// The name asked for.
        name: String,
    },
    /// A schedule's input could not be encoded for the store.
    #[error("the input of schedule `{name}` cannot be journaled: {source}")]
    ScheduleInput {
        /// The schedule.
        name: String,
        /// Why the value was refused (boxed: errors stay small).
        source: Box<crate::CodecError>,
    },
    /// The engine shut down (or its runtime ended) before the run ended: the
    /// run was stopped as a crash would stop it, with nothing recorded as its
    /// outcome and its journal intact. [`Engine::resume`](crate::Engine::resume)
    /// in the next process carries it on.
    #[error(
        "run `{run}` was interrupted: the engine shut down before it ended; resume it to carry on"
    )]
    Interrupted {
        /// The run left unfinished.
        run: RunId,
    },
    /// A signal the run's workflow does not wait for: no `signal "name"` in
    /// its definition. Nothing was stored.
    #[error(
        "run `{run}` of `{workflow}` waits for no signal `{signal}`; its signals: {}",
        list(declared)
    )]
    UnknownSignal {
        /// The run the signal was sent to.
        run: RunId,
        /// The run's workflow.
        workflow: String,
        /// The signal's name as sent.
        signal: String,
        /// The signals the workflow declares.
        declared: Vec<&'static str>,
    },
    /// A signal's value does not decode as the type the run's workflow
    /// declares for it. Nothing was stored.
    #[error(
        "signal `{signal}` of run `{run}` (`{workflow}`) is declared as `{expected}`, \
         and the value sent does not decode as that: {source}"
    )]
    SignalType {
        /// The run the signal was sent to.
        run: RunId,
        /// The run's workflow.
        workflow: String,
        /// The signal's name.
        signal: String,
        /// The declared type, as the workflow writes it.
        expected: &'static str,
        /// Why the value does not decode.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A fork names a step the run's journal does not have.
    #[error("run `{run}` has no journaled step `{step}` to fork from")]
    NotJournaled {
        /// The run to fork.
        run: RunId,
        /// The step asked for.
        step: crate::StepKey,
    },
    /// The journal a fork would copy does not fit the workflow's code now.
    #[error("run `{run}` cannot be forked under this code: {divergence}")]
    ForkDiverges {
        /// The run to fork.
        run: RunId,
        /// Where the code leaves the copied journal.
        divergence: Box<crate::replay::ReplayError>,
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
            Self::DefinitionChanged { run, .. }
            | Self::OtherWorkflow { run, .. }
            | Self::UnknownSignal { run, .. }
            | Self::SignalType { run, .. }
            | Self::TaskFailed { run, .. }
            | Self::NotJournaled { run, .. }
            | Self::ForkDiverges { run, .. }
            | Self::Interrupted { run } => Some(run),
            Self::ShuttingDown { run, .. } => run.as_ref(),
            Self::UnknownSchedule { .. } | Self::ScheduleInput { .. } => None,
            Self::Store(error) => error.run(),
            Self::Picture(error) => error.run(),
        }
    }
}

/// `` `a`, `b` `` for a list of names, `none` for an empty one.
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
