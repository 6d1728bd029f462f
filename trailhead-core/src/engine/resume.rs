//! Resuming the unfinished runs of a workflow after a stop:
//! [`Engine::resume`] and [`Engine::resume_only`].

use super::{Engine, Launch, LaunchError, RunHandle};
use crate::store::{RunRecord, RunStatus};
use crate::{EngineError, StoreError, Workflow};

impl Engine {
    /// Resumes every recorded run of `workflow` that has not finished (a
    /// process that stopped mid-run, killed or crashed, left it so), and
    /// returns their handles. Call it at start-up for each workflow whose runs
    /// should go on.
    ///
    /// Each run's body runs again from the top; steps whose outputs are
    /// journaled return them without running, so the run carries on from its
    /// last journaled step. A step journaled as failed for good gives the same
    /// failure again without running (see
    /// [`StepFailure::FailedBefore`](crate::StepFailure::FailedBefore));
    /// only [`Engine::rerun`] runs it again. Steps are at-least-once: one that ran but was not
    /// journaled before the stop runs again. Runs started by `call` are resumed
    /// by their parent, not here.
    ///
    /// A run resumes only under the definition it started with (its
    /// `DEFINITION_HASH`) or one that declares itself compatible with it
    /// (`#[compatible_with(0x…)]`); otherwise its journal's keys might not
    /// mean the same steps. When any unfinished run of this workflow started
    /// under another definition, nothing is resumed and the error names both
    /// hashes: keep the old definition (in a module of its own) and use
    /// [`Engine::resume_only`] with each version.
    ///
    /// # Errors
    ///
    /// - [`EngineError::DefinitionChanged`] as above;
    /// - [`EngineError::Store`] with [`StoreError::Decode`](crate::StoreError::Decode) if a run's recorded
    ///   input no longer fits;
    /// - [`EngineError::Store`] if the store cannot be read.
    ///
    /// Runs are claimed first (see [`store::lease`](crate::store::lease)): a
    /// run another live worker holds (another process on the same SQLite
    /// file) is left to it, and a run this engine is already driving is not
    /// started twice, so calling `resume` again, or from several processes at
    /// once, drives each run exactly once. A run of a worker that died is
    /// taken over.
    ///
    /// On an engine with a limit on runs in flight
    /// ([`EngineBuilder::max_runs_in_flight`](crate::EngineBuilder::max_runs_in_flight)),
    /// the runs beyond the free places are handed back to the store (their
    /// handles read their ends from it) and the engine, now a
    /// [worker](Engine::register) of the workflow, drives them as places
    /// free.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave some runs resumed and others not; call
    /// it again to resume the rest.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn resume<W: Workflow>(&self, workflow: W) -> Result<Vec<RunHandle<W>>, EngineError> {
        self.resume_matching(workflow, true).await
    }

    /// Like [`Engine::resume`], but leaves alone the runs that started under a
    /// definition this one does not know, for another version of the workflow
    /// to resume. For upgrades with runs in flight:
    /// `engine.resume_only(v1::order)` and `engine.resume_only(order)`.
    ///
    /// # Errors
    ///
    /// As [`Engine::resume`], but never [`EngineError::DefinitionChanged`].
    ///
    /// # Cancel safety
    ///
    /// As [`Engine::resume`].
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn resume_only<W: Workflow>(
        &self,
        workflow: W,
    ) -> Result<Vec<RunHandle<W>>, EngineError> {
        self.resume_matching(workflow, false).await
    }

    async fn resume_matching<W: Workflow>(
        &self,
        workflow: W,
        strict: bool,
    ) -> Result<Vec<RunHandle<W>>, EngineError> {
        self.refuse_if_shutting_down(W::name(), None)?;
        let definition = super::signal::Definition::of::<W>();
        let known = |hash: u64| definition.runs(hash);
        // Runs stopped while undoing their steps finish their rollback.
        let mut runs: Vec<RunRecord> = self.store().list_runs(Some(RunStatus::Running)).await?;
        runs.extend(
            self.store()
                .list_runs(Some(RunStatus::Compensating))
                .await?,
        );
        runs.retain(|run| run.workflow == W::name() && run.parent.is_none());
        if strict && let Some(run) = runs.iter().find(|run| !known(run.definition_hash)) {
            return Err(EngineError::DefinitionChanged {
                run: run.id.clone(),
                workflow: W::name(),
                recorded: run.definition_hash,
                current: W::definition_hash(),
            });
        }
        let mut handles = Vec::with_capacity(runs.len());
        for run in runs.into_iter().filter(|run| known(run.definition_hash)) {
            if self.inner.runs.is_driven(&run.id) || self.is_unloaded(&run.id) {
                continue; // Driven (or asleep) here already.
            }
            let Some(place) = self.place_for_recorded(workflow) else {
                // No place free: the claim loop drives it when one is.
                if self.hand_back_one(&run.id).await? {
                    self.poke_claims();
                    handles.push(RunHandle::elsewhere(self.clone(), run.id));
                }
                continue;
            };
            let launch = Launch::new(run.id, None, tokio_util::sync::CancellationToken::new());
            let task = match self.prepare_resume(&launch, workflow).await {
                Ok(task) => task,
                // Another live worker drives it: it is theirs to finish.
                Err(LaunchError::Store(StoreError::LeaseHeld { run, worker })) => {
                    tracing::info!(%run, %worker, "not resuming a run another worker holds");
                    continue;
                }
                // Another worker finished it since it was listed.
                Err(LaunchError::Store(StoreError::RunFinished { .. })) => continue,
                Err(error) => return Err(error.into_engine_error(&launch.run)),
            };
            handles.push(RunHandle::new(launch, Self::spawn_holding(place, task)));
        }
        Ok(handles)
    }
}
