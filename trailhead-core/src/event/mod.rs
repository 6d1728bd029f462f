//! Events: what runs and steps do, as a typed stream.
//!
//! [`Engine::subscribe`](crate::Engine::subscribe) returns an [`EventReceiver`]
//! that gets every [`Event`] the engine emits after the call, in order. With
//! no subscriber, no event is built.
//!
//! A subscriber that falls behind loses events, not memory: see
//! [`EventReceiver`](EventReceiver#a-slow-subscriber).
//!
//! Durations are measured on tokio's clock, so tests on a paused clock see
//! virtual time.

mod receiver;

use std::time::Duration;

use crate::{BreakerState, RunId, StepKey};

pub use receiver::EventReceiver;

/// Something a run or a step did.
///
/// Step events of one step execution come in this order: `StepStarted` for
/// attempt 1, then per failed attempt `StepRetrying` and the next
/// `StepStarted`, and finally `StepCompleted` or `StepFailed` — or
/// `StepReplayed` alone when the output came from the journal.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A run was recorded and its task spawned.
    RunStarted {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// The run that started this one with `call`, if any.
        parent: Option<RunId>,
    },
    /// A run was started with no place free under the engine's limit on runs
    /// in flight ([`EngineBuilder::max_runs_in_flight`](crate::EngineBuilder::max_runs_in_flight)):
    /// it is recorded in the store, queued, and starts (with an
    /// [`Event::RunResumed`] with no step journaled) when a place frees.
    RunQueued {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
    },
    /// A recorded run that had not finished was picked up again: its body runs
    /// from the top and its journaled steps replay.
    RunResumed {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// How many steps its journal already holds.
        journaled: usize,
    },
    /// A run gave up its task while it sleeps; the engine resumes it then.
    RunUnloaded {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// When it wakes.
        until: std::time::SystemTime,
    },
    /// A run returned its output, which is recorded.
    RunCompleted {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// How long the run took.
        duration: Duration,
    },
    /// A run returned an error, panicked, or could not be recorded.
    RunFailed {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// The error's text.
        error: String,
        /// How long the run took.
        duration: Duration,
    },
    /// The engine stopped driving a run without ending it: the store kept
    /// failing its journal writes (the run is suspended, left running in the
    /// store for `resume`), or another worker took it over.
    RunHalted {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// Why: the store's error.
        error: String,
    },
    /// A run was cancelled.
    RunCancelled {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
    },
    /// An attempt of a step started.
    StepStarted {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
        /// The attempt, from 1.
        attempt: u32,
    },
    /// A step's attempt succeeded and its output is journaled.
    StepCompleted {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
        /// The attempt that succeeded.
        attempt: u32,
        /// How long that attempt took.
        duration: Duration,
    },
    /// A step gave up: its last attempt failed, or its journaled output could
    /// not be read back (then `attempt` is 0: it never ran).
    StepFailed {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
        /// The last attempt.
        attempt: u32,
        /// How long that attempt took.
        duration: Duration,
        /// The failure's text.
        error: String,
    },
    /// A step's attempt failed and the step will be attempted again.
    StepRetrying {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
        /// The attempt that failed.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// The failure's text.
        error: String,
    },
    /// A step's output was taken from the journal instead of running it.
    StepReplayed {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
    },
    /// A run ended its journal with `continue_as_new` and goes on as its
    /// next generation, under the same id, with a new input.
    RunContinuedAsNew {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// The generation it goes on as (1 after the first).
        generation: u64,
    },
    /// A stream loop journaled a checkpoint (see [`stream`](crate::stream)):
    /// `items` items are finished, and a resumed run reads on after them.
    StreamCheckpointed {
        /// The run.
        run: RunId,
        /// The stream loop's key.
        stream: StepKey,
        /// Items finished so far.
        items: u64,
        /// Whether the loop ended (its last checkpoint).
        done: bool,
    },
    /// A stream loop of a resumed run goes on from its last checkpoint,
    /// after `items` items.
    StreamResumed {
        /// The run.
        run: RunId,
        /// The stream loop's key.
        stream: StepKey,
        /// Items finished before the checkpoint.
        items: u64,
    },
    /// A step failed for good and its `.fallback(..)` gave its value
    /// instead (journaled as the step's outcome).
    StepFellBack {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
        /// Why the step failed.
        error: String,
    },
    /// A running step was stopped before it finished: a statement beside it
    /// failed, or the run was cancelled.
    StepCancelled {
        /// The run.
        run: RunId,
        /// The step.
        step: StepKey,
        /// The attempt that was running.
        attempt: u32,
    },
    /// A run's body panicked outside its steps (the task driving it died);
    /// it is driven again from its journal after `delay`.
    RunRestarting {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: &'static str,
        /// Which restart this is, from 1.
        restart: u32,
        /// The wait before it.
        delay: Duration,
        /// The panic's message.
        error: String,
    },
    /// A circuit breaker changed state: a step's outcome (or the first call
    /// after its open time) moved it.
    BreakerChanged {
        /// The breaker's name.
        breaker: String,
        /// Its state before.
        from: BreakerState,
        /// Its state now.
        to: BreakerState,
        /// The run whose step moved it.
        run: RunId,
        /// The step.
        step: StepKey,
    },
    /// A run that failed, was cancelled or passed its deadline (or a child
    /// run whose parent is undone) began running the compensations of its
    /// completed steps, last completed first.
    RunCompensating {
        /// The run.
        run: RunId,
        /// The workflow's name.
        workflow: String,
        /// Why it is undone.
        cause: String,
    },
    /// An attempt of a step's compensation started.
    CompensationStarted {
        /// The run.
        run: RunId,
        /// The step being undone.
        step: StepKey,
        /// The attempt, from 1.
        attempt: u32,
    },
    /// A step's compensation succeeded and is journaled.
    CompensationCompleted {
        /// The run.
        run: RunId,
        /// The step undone.
        step: StepKey,
        /// The attempt that succeeded.
        attempt: u32,
        /// How long that attempt took.
        duration: Duration,
    },
    /// A compensation's attempt failed and it will be attempted again.
    CompensationRetrying {
        /// The run.
        run: RunId,
        /// The step being undone.
        step: StepKey,
        /// The attempt that failed.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// The failure's text.
        error: String,
    },
    /// A compensation failed for good: the rollback stops and the run ends
    /// [`CompensationFailed`](crate::RunStatus::CompensationFailed).
    CompensationFailed {
        /// The run.
        run: RunId,
        /// The step that could not be undone.
        step: StepKey,
        /// The last attempt.
        attempt: u32,
        /// The failure's text.
        error: String,
    },
    /// This subscriber fell a whole ring behind and lost the `missed` oldest
    /// events it had not read (see
    /// [`EventReceiver`](EventReceiver#a-slow-subscriber));
    /// the events after this one follow on in order. Not about a run.
    Lagged {
        /// How many events were lost.
        missed: u64,
    },
}

impl Event {
    /// The run the event is about; `None` for [`Event::Lagged`].
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::RunStarted { run, .. }
            | Self::RunQueued { run, .. }
            | Self::RunResumed { run, .. }
            | Self::RunUnloaded { run, .. }
            | Self::RunCompleted { run, .. }
            | Self::RunFailed { run, .. }
            | Self::RunCancelled { run, .. }
            | Self::RunHalted { run, .. }
            | Self::StepStarted { run, .. }
            | Self::StepCompleted { run, .. }
            | Self::StepFailed { run, .. }
            | Self::StepRetrying { run, .. }
            | Self::StepReplayed { run, .. }
            | Self::StepCancelled { run, .. }
            | Self::StepFellBack { run, .. }
            | Self::StreamCheckpointed { run, .. }
            | Self::StreamResumed { run, .. }
            | Self::RunContinuedAsNew { run, .. }
            | Self::RunCompensating { run, .. }
            | Self::RunRestarting { run, .. }
            | Self::BreakerChanged { run, .. }
            | Self::CompensationStarted { run, .. }
            | Self::CompensationCompleted { run, .. }
            | Self::CompensationRetrying { run, .. }
            | Self::CompensationFailed { run, .. } => Some(run),
            Self::Lagged { .. } => None,
        }
    }

    /// The step the event is about, for step events.
    pub fn step(&self) -> Option<&StepKey> {
        match self {
            Self::StepStarted { step, .. }
            | Self::StepCompleted { step, .. }
            | Self::StepFailed { step, .. }
            | Self::StepRetrying { step, .. }
            | Self::StepReplayed { step, .. }
            | Self::StepCancelled { step, .. }
            | Self::StepFellBack { step, .. }
            | Self::StreamCheckpointed { stream: step, .. }
            | Self::StreamResumed { stream: step, .. }
            | Self::BreakerChanged { step, .. }
            | Self::CompensationStarted { step, .. }
            | Self::CompensationCompleted { step, .. }
            | Self::CompensationRetrying { step, .. }
            | Self::CompensationFailed { step, .. } => Some(step),
            Self::RunStarted { .. }
            | Self::RunContinuedAsNew { .. }
            | Self::RunQueued { .. }
            | Self::RunResumed { .. }
            | Self::RunUnloaded { .. }
            | Self::RunCompleted { .. }
            | Self::RunFailed { .. }
            | Self::RunCancelled { .. }
            | Self::RunHalted { .. }
            | Self::RunCompensating { .. }
            | Self::RunRestarting { .. }
            | Self::Lagged { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_names_its_run_and_step_events_their_step() {
        let run = RunId::new("r");
        let step = StepKey::new("s", &[1]);
        let step_event = Event::StepReplayed {
            run: run.clone(),
            step: step.clone(),
        };
        assert_eq!(step_event.run(), Some(&run));
        assert_eq!(step_event.step(), Some(&step));
        let run_event = Event::RunCancelled {
            run: run.clone(),
            workflow: "w",
        };
        assert_eq!(run_event.run(), Some(&run));
        assert_eq!(run_event.step(), None);
    }
}
