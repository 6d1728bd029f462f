//! Forks: a recorded run re-run from a chosen step, in a new run whose
//! journal starts with a copy of the entries written before that step.
//!
//! For reproducing and fixing a production failure: fork the failed run
//! from its failing step (after fixing the step, or what it calls), and the
//! new run replays everything before it and runs the step and what follows
//! again. The original run is untouched.
//!
//! [`Engine::fork`] forks and drives the new run under the workflow's code
//! as it is now, after checking with [`replay`] that the
//! copied entries still fit it. [`record`] is for tools without the
//! workflow's type (the CLI, the dashboard): it writes the new run,
//! unfinished, for a worker that knows the workflow to resume.

use std::time::SystemTime;

use crate::replay::{self, History};
use crate::step::Journaled;
use crate::store::{RunRecord, RunState, StepRecord, Store};
use crate::{Engine, EngineError, RunHandle, RunId, StepKey, StoreError, Workflow};

/// A fork that was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fork {
    /// The new run.
    pub run: RunId,
    /// The run it was forked from.
    pub from: RunId,
    /// The step it runs again from.
    pub at: StepKey,
    /// How many journal entries it starts with.
    pub copied: usize,
}

/// The run to fork and the entries a fork of it from `at` starts with:
/// every entry journaled before `at`'s, compensations and `at`'s own
/// fallback step left out.
async fn plan(
    store: &dyn Store,
    run: &RunId,
    at: &StepKey,
) -> Result<(RunRecord, Vec<StepRecord>), EngineError> {
    let Some(record) = store.run(run).await? else {
        return Err(StoreError::UnknownRun { run: run.clone() }.into());
    };
    if !record.state.is_ended() {
        return Err(StoreError::NotEnded { run: run.clone() }.into());
    }
    let journal = store.journal(run).await?;
    // A compensation is not a step to fork from: it is the rollback's.
    let Some(position) = journal
        .iter()
        .position(|entry| &entry.key == at && !entry.key.is_undo())
    else {
        return Err(EngineError::NotJournaled {
            run: run.clone(),
            step: at.clone(),
        });
    };
    // The step's fallback step, journaled before it, runs again with it.
    let fallback = at.fallback();
    let copied = journal[..position]
        .iter()
        .filter(|entry| entry.key.undone().is_none() && entry.key != fallback)
        .cloned()
        .collect();
    Ok((record, copied))
}

/// The first free id `{run}~fork-{n}`.
async fn free_id(store: &dyn Store, run: &RunId) -> Result<RunId, StoreError> {
    for n in 1.. {
        let id = RunId::new(format!("{run}~fork-{n}"));
        if store.run(&id).await?.is_none() {
            return Ok(id);
        }
    }
    unreachable!("some fork number is free")
}

/// Records a fork of finished run `run` from step `at`, unfinished and not
/// driven: a worker resuming the run's workflow (`engine.resume(workflow)`,
/// or a fleet worker) picks it up and runs it from `at`. Its record keeps
/// the original's definition hash, so it resumes under that definition or
/// one that declares itself compatible with it. `id` names the new run;
/// `None` takes the first free `{run}~fork-{n}`.
///
/// # Errors
///
/// - [`StoreError::UnknownRun`] if there is no run `run`, and
///   [`StoreError::NotEnded`] if it has not finished;
/// - [`EngineError::NotJournaled`] if its journal has no step `at` (a
///   compensation's `undo:` key is none);
/// - [`StoreError::RunExists`] if run `id` exists; and the store's errors.
pub async fn record(
    store: &dyn Store,
    run: &RunId,
    at: &StepKey,
    id: Option<RunId>,
) -> Result<Fork, EngineError> {
    let (original, copied) = plan(store, run, at).await?;
    let id = match id {
        Some(id) => id,
        None => free_id(store, run).await?,
    };
    let record = RunRecord {
        id: id.clone(),
        state: RunState::Running,
        created_at: SystemTime::now(),
        cancel_requested: false,
        parent: None,
        ..original
    };
    let journal = store.create_run(record).await?;
    for entry in &copied {
        journal.record_step(entry.clone()).await?;
    }
    // Handed back at once: the next worker to look may take it.
    journal.release(None).await?;
    Ok(Fork {
        run: id,
        from: run.clone(),
        at: at.clone(),
        copied: copied.len(),
    })
}

impl Engine {
    /// Forks finished run `run` of `workflow` from step `at` and drives the
    /// fork: a new run, with the same input, whose journal starts with the
    /// entries journaled before `at` (compensations left out). It replays
    /// those and runs `at` and what follows again, under the workflow's
    /// code as it is now (a fixed step, say). The new run is
    /// `{run}~fork-{n}`, the first such id free; the original is untouched.
    ///
    /// # Errors
    ///
    /// - [`StoreError::UnknownRun`] if there is no run `run`,
    ///   [`EngineError::OtherWorkflow`] if it is not a run of `workflow`,
    ///   [`StoreError::NotEnded`] if it has not finished;
    /// - [`EngineError::NotJournaled`] if its journal has no step `at`;
    /// - [`EngineError::ForkDiverges`] if the copied entries do not replay
    ///   clean against the code now (see [`replay::replay`]): the fork would
    ///   misread them;
    /// - the errors of [`Engine::start`].
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn fork<W: Workflow>(
        &self,
        workflow: W,
        run: &RunId,
        at: &StepKey,
    ) -> Result<RunHandle<W>, EngineError> {
        self.refuse_if_shutting_down(W::name(), Some(run))?;
        let (original, copied) = plan(&**self.store(), run, at).await?;
        if original.workflow != W::name() {
            return Err(EngineError::OtherWorkflow {
                run: run.clone(),
                recorded: original.workflow,
                given: W::name(),
            });
        }
        let id = free_id(&**self.store(), run).await?;
        // The copy as a history of a run in flight under this code.
        let mut history = History::new(original, copied);
        history.record.state = RunState::Running;
        history.record.definition_hash = W::definition_hash();
        replay::replay(workflow, &history).map_err(|error| EngineError::ForkDiverges {
            run: run.clone(),
            divergence: Box::new(error),
        })?;
        let input = Journaled::from_journal(&history.record.input).map_err(|source| {
            EngineError::Store(StoreError::decode(run.clone(), None, "input", source))
        })?;
        let launch =
            crate::engine::Launch::new(id, None, tokio_util::sync::CancellationToken::new());
        let task = self
            .prepare_with(&launch, workflow, input, history.journal)
            .await
            .map_err(|error| error.into_engine_error(&launch.run))?;
        Ok(RunHandle::new(launch, tokio::spawn(task)))
    }
}
