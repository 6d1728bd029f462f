//! Launching a run: recording it (or loading a recorded one) and making
//! the task that drives it.

use std::future::Future;
use std::time::SystemTime;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::drive::drive;
use super::{Engine, RunContext, RunEnd};
use crate::step::Journaled;
use crate::store::{RunOutcome, RunRecord, RunState};
use crate::{CodecError, EngineError, Event, RunId, StoreError, Workflow};

/// A run about to be launched: who it is, who started it, what cancels it.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) run: RunId,
    pub(crate) parent: Option<RunId>,
    pub(crate) cancel: CancellationToken,
}

impl Launch {
    pub(crate) fn new(run: RunId, parent: Option<RunId>, cancel: CancellationToken) -> Self {
        Self {
            run,
            parent,
            cancel,
        }
    }
}

/// Why a run could not be launched.
#[derive(Debug)]
pub(crate) enum LaunchError {
    /// The input could not be encoded.
    Input(CodecError),
    /// The store could not create the run.
    Store(StoreError),
    /// A recorded run cannot be resumed.
    Resume(EngineError),
}

impl LaunchError {
    pub(crate) fn into_engine_error(self, run: &RunId) -> EngineError {
        match self {
            Self::Input(source) => {
                EngineError::Store(StoreError::encode(run.clone(), None, "input", source))
            }
            Self::Store(error) => EngineError::Store(error),
            Self::Resume(error) => error,
        }
    }
}

impl Engine {
    /// Records the run, emits `RunStarted`, and returns the run's task for the
    /// caller to spawn (stopped by a shutdown whose grace ran out).
    pub(crate) async fn prepare<W: Workflow>(
        &self,
        launch: &Launch,
        workflow: W,
        input: W::Input,
    ) -> Result<impl Future<Output = RunEnd<W>> + Send + 'static, LaunchError> {
        self.prepare_with(launch, workflow, input, Vec::new()).await
    }

    /// [`Engine::prepare`] for a run whose journal starts with `journaled`
    /// (a fork's copy of another run's entries), written before it runs.
    pub(crate) async fn prepare_with<W: Workflow>(
        &self,
        launch: &Launch,
        workflow: W,
        input: W::Input,
        journaled: Vec<crate::store::StepRecord>,
    ) -> Result<impl Future<Output = RunEnd<W>> + Send + 'static, LaunchError> {
        self.learn::<W>();
        let record = RunRecord {
            id: launch.run.clone(),
            workflow: W::name().to_owned(),
            definition_hash: W::definition_hash(),
            parent: launch.parent.clone(),
            input: input.to_journal().map_err(LaunchError::Input)?,
            state: RunState::Running,
            mermaid: crate::picture::recorded_mermaid(W::mermaid(), W::GRAPH),
            created_at: SystemTime::now(),
            cancel_requested: false,
        };
        let journal = self
            .store()
            .create_run(record)
            .await
            .map_err(LaunchError::Store)?;
        for entry in &journaled {
            journal
                .record_step(entry.clone())
                .await
                .map_err(LaunchError::Store)?;
        }
        self.events().emit(|| Event::RunStarted {
            run: launch.run.clone(),
            workflow: W::name(),
            parent: launch.parent.clone(),
        });
        let ctx = RunContext::new(
            self.clone(),
            launch.run.clone(),
            W::name(),
            journal,
            journaled,
            launch.cancel.clone(),
            launch.parent.is_none(),
        );
        self.track(&ctx);
        let deadline = W::DEADLINE.map(|limit| Instant::now() + limit);
        let span = run_span::<W>(&launch.run);
        let task = drive(ctx, workflow, Start::Body { input, deadline }, 0).instrument(span);
        Ok(self.stoppable(launch.run.clone(), task))
    }

    /// Picks up a recorded run that has not finished: checks it was started
    /// under this definition, decodes its input, emits `RunResumed`, and
    /// returns its task, which replays the journal.
    pub(crate) async fn prepare_resume<W: Workflow>(
        &self,
        launch: &Launch,
        workflow: W,
    ) -> Result<impl Future<Output = RunEnd<W>> + Send + 'static + use<W>, LaunchError> {
        self.learn::<W>();
        let (ctx, start, journaled) = self
            .load::<W>(&launch.run, launch.cancel.clone(), launch.parent.is_none())
            .await?;
        self.events().emit(|| Event::RunResumed {
            run: launch.run.clone(),
            workflow: W::name(),
            journaled,
        });
        self.track(&ctx);
        let span = run_span::<W>(&launch.run);
        let task = drive(ctx, workflow, start, 0).instrument(span);
        Ok(self.stoppable(launch.run.clone(), task))
    }

    /// A context for recorded run `run` with its journal so far, what its
    /// task is to do, and how many entries it replays.
    pub(super) async fn load<W: Workflow>(
        &self,
        run: &RunId,
        cancel: CancellationToken,
        unloadable: bool,
    ) -> Result<(RunContext, Start<W::Input>, usize), LaunchError> {
        let Some((record, journaled, journal)) = self
            .store()
            .open_run(run)
            .await
            .map_err(LaunchError::Store)?
        else {
            return Err(LaunchError::Resume(EngineError::Store(
                StoreError::UnknownRun { run: run.clone() },
            )));
        };
        if record.state.is_ended() {
            // Another worker finished it since it was listed.
            return Err(LaunchError::Store(StoreError::RunFinished {
                run: run.clone(),
            }));
        }
        if !super::signal::Definition::of::<W>().runs(record.definition_hash) {
            return Err(LaunchError::Resume(EngineError::DefinitionChanged {
                run: run.clone(),
                workflow: W::name(),
                recorded: record.definition_hash,
                current: W::definition_hash(),
            }));
        }
        if record.cancel_requested && record.state == RunState::Running {
            // Cancelled by id while no worker drove it here (asleep, handed
            // back, its owner gone): stopped before its body starts, and
            // rolled back.
            cancel.cancel();
        }
        let start = if let RunState::Compensating(then) = record.state {
            // Stopped while undoing its steps: the body is not run again.
            Start::Rollback(then.into())
        } else {
            let input = Journaled::from_journal(&record.input).map_err(|source| {
                LaunchError::Resume(EngineError::Store(StoreError::decode(
                    run.clone(),
                    None,
                    "input",
                    source,
                )))
            })?;
            let clock = self.clock();
            let deadline = W::DEADLINE.map(|limit| clock.instant_at(record.created_at + limit));
            Start::Body { input, deadline }
        };
        let count = journaled.len();
        let ctx = RunContext::new(
            self.clone(),
            run.clone(),
            W::name(),
            journal,
            journaled,
            cancel,
            unloadable,
        );
        Ok((ctx, start, count))
    }
}

/// What a run's task does.
pub(crate) enum Start<I> {
    /// Runs the body with `input`, stopping it at `deadline`.
    Body { input: I, deadline: Option<Instant> },
    /// Finishes the rollback of a run recorded compensating; it then ends as
    /// the recorded outcome says.
    Rollback(RunOutcome),
}

/// The span a run's task runs in: its id, its workflow and the definition
/// hash it runs under (as hex, as errors show it), for `tracing` layers such
/// as `tracing-opentelemetry` to export. Its fields cost nothing unless a
/// subscriber wants the span.
fn run_span<W: Workflow>(run: &RunId) -> tracing::Span {
    tracing::info_span!(
        "run",
        run = %run,
        workflow = W::name(),
        definition_hash = %format_args!("{:#018x}", W::definition_hash()),
    )
}
