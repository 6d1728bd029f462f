//! How a recorded run and the current code disagree.

use crate::{RunId, StepKey, StoreError};

/// The first place where the current workflow code leaves a recorded run's
/// journal: resuming that run under this code would give its steps values
/// journaled for other steps, or stop on an entry it cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Divergence {
    /// The code reaches a step the journal lacks, while the journal has
    /// entries the code did not reach: a step removed, renamed or moved
    /// into a loop (whose keys then have an index).
    #[error(
        "run {run}: the code reaches `{key}`, which the journal lacks, while the journal has `{journaled}`, which the code does not reach"
    )]
    Missing {
        /// The run replayed.
        run: RunId,
        /// The key the code reached first that the journal lacks.
        key: StepKey,
        /// The first journaled key the code did not reach.
        journaled: StepKey,
    },
    /// The code never reaches a journaled step (and reaches nothing the
    /// journal lacks): a step removed.
    #[error("run {run}: the journal has `{key}`, which the code no longer reaches")]
    Unreached {
        /// The run replayed.
        run: RunId,
        /// The first journaled key the code did not reach.
        key: StepKey,
    },
    /// The step at a journaled key now calls another function (or workflow).
    #[error("run {run}: `{key}` was journaled by `{journaled}`; the code now runs `{now}` there")]
    DifferentTarget {
        /// The run replayed.
        run: RunId,
        /// The key.
        key: StepKey,
        /// What the recorded definition ran there.
        journaled: String,
        /// What the code runs there now.
        now: String,
    },
    /// A journaled output no longer decodes into the step's type.
    #[error(
        "run {run}: the journaled output of `{key}` does not decode as the step's type now: {error}"
    )]
    OutputDoesNotDecode {
        /// The run replayed.
        run: RunId,
        /// The key.
        key: StepKey,
        /// Why.
        error: String,
    },
    /// The code now reaches a step before one the recorded definition had it
    /// wait for (`before` was upstream of `key` in the recorded flowchart),
    /// so `key` would replay a value computed from other inputs.
    #[error(
        "run {run}: the code reaches `{key}` before `{before}`, which the recorded definition has it coming after"
    )]
    Reordered {
        /// The run replayed.
        run: RunId,
        /// The key reached too early.
        key: StepKey,
        /// The key it used to come after.
        before: StepKey,
    },
}

/// Why a recorded run could not be replayed, or does not fit the code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The code leaves the run's journal.
    #[error(transparent)]
    Diverged(#[from] Divergence),
    /// The run is a run of another workflow.
    #[error("run {run} is a run of `{recorded}`, not of `{replaying}`")]
    OtherWorkflow {
        /// The run.
        run: RunId,
        /// The workflow it is a run of.
        recorded: String,
        /// The workflow replayed.
        replaying: &'static str,
    },
    /// The run's recorded input does not decode as the workflow's input.
    #[error("run {run}: its recorded input does not decode as the workflow's input: {error}")]
    Input {
        /// The run.
        run: RunId,
        /// Why.
        error: String,
    },
    /// The run is unfinished and replays clean, but the engine would refuse
    /// to resume it: its definition hash is neither the workflow's nor one
    /// it declares itself compatible with.
    #[error(
        "run {run} replays clean but started under definition {recorded:#x}, which `{workflow}` ({current:#x}) does not declare: add `#[compatible_with({recorded:#x})]` to let it resume"
    )]
    NotDeclaredCompatible {
        /// The run.
        run: RunId,
        /// The workflow.
        workflow: &'static str,
        /// The hash it started under.
        recorded: u64,
        /// The workflow's hash now.
        current: u64,
    },
    /// The replay's own store failed (an in-memory store: not expected).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The replay's runtime could not be started.
    #[error("cannot start a runtime to replay on: {0}")]
    Runtime(String),
}

impl ReplayError {
    /// The run the error is about.
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::Diverged(
                Divergence::Missing { run, .. }
                | Divergence::Unreached { run, .. }
                | Divergence::DifferentTarget { run, .. }
                | Divergence::OutputDoesNotDecode { run, .. }
                | Divergence::Reordered { run, .. },
            )
            | Self::OtherWorkflow { run, .. }
            | Self::Input { run, .. }
            | Self::NotDeclaredCompatible { run, .. } => Some(run),
            Self::Store(error) => error.run(),
            Self::Runtime(_) => None,
        }
    }
}
