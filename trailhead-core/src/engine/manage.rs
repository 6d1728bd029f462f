//! Managing recorded runs by id: cancelling one, whether or not this engine
//! drives it, and retrying a failed one with its children.

use super::{Engine, Launch, RunHandle};
use crate::store::{RunRecord, RunStatus, StepOutcome};
use crate::{EngineError, RunId, StoreError, Workflow};

impl Engine {
    /// Cancels run `run` by its id, from any engine on the run's store:
    /// the run stops wherever it runs, as with [`RunHandle::cancel`]. Its
    /// completed steps are compensated and it ends cancelled;
    /// [`RunHandle::result`] (a handle from any engine,
    /// [`Engine::handle`]) tells how it ended.
    ///
    /// - A run this engine drives is cancelled at once.
    /// - Otherwise the request is recorded in the store
    ///   ([`Store::request_cancel`](crate::store::Store::request_cancel))
    ///   and this returns: the worker that holds the run stops it (told by
    ///   the store's notice within milliseconds, or at its next
    ///   [poll](crate::EngineBuilder::poll_interval)), and a run no worker
    ///   holds (asleep and handed back, or its worker gone) is cancelled by
    ///   the worker that claims it, which it may do at once.
    /// - A run no live worker holds, when this engine did not
    ///   [register](Engine::register) its workflow (its process stopped, or
    ///   it waits for a worker) or has no place free under its
    ///   [limit on runs in flight](crate::EngineBuilder::max_runs_in_flight)
    ///   (a queued run), is recorded as cancelled; one with steps to
    ///   undo is recorded as compensating and left to be claimed: a worker
    ///   of its workflow, or [`Engine::resume`], rolls it back.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run and with [`StoreError::RunFinished`] if it already finished.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have cancelled the run.
    pub async fn cancel(&self, run: &RunId) -> Result<(), EngineError> {
        if self.cancel_if_driven(run) {
            return Ok(());
        }
        // Unloaded while it slept: woken now, cancelled, to be rolled back
        // (once shutting down, it is cancelled in the store as below).
        if !self.is_shutting_down()
            && let Some(wake) = self.take_timer(run)
        {
            let _ = wake(self.clone(), true).await;
            return Ok(());
        }
        // Not driven here: asked of whichever worker holds it, or claims it.
        self.store().request_cancel(run).await?;
        let Some(record) = self.store().run(run).await? else {
            return Err(StoreError::UnknownRun { run: run.clone() }.into());
        };
        if record.state.is_ended() {
            return Ok(()); // ended since it was asked, maybe by the request
        }
        if record.parent.is_none() && self.launcher(&record).is_some() && self.has_room() {
            // A worker of its workflow: the claim loop claims it if no one
            // holds it (it is due now), and cancels it as it launches.
            self.poke_claims();
            return Ok(());
        }
        // Or it waits for a place under the limit on runs in flight: it
        // ends here, without one.
        let opened = match self.store().open_run(run).await {
            // Its live owner stops it.
            Err(StoreError::LeaseHeld { .. }) => return Ok(()),
            opened => opened?,
        };
        if self.cancel_if_driven(run) {
            return Ok(()); // claimed here since it was asked
        }
        let Some((record, journaled, journal)) = opened else {
            return Err(StoreError::UnknownRun { run: run.clone() }.into());
        };
        if record.status() != RunStatus::Running {
            // Already being undone (the engine that resumes it finishes),
            // or ended since it was asked.
            return Ok(());
        }
        // Its process stopped. With completed steps it may have something to
        // undo: it is left compensating, and handed back (held by no one),
        // for a worker of its workflow to claim and roll back, or `resume`
        // (only its workflow knows how). Without, it is simply cancelled.
        let children = self.cancel_gone_children(run).await?;
        let undoable = journaled
            .iter()
            .any(|step| matches!(step.outcome, StepOutcome::Completed(_)));
        if undoable || children {
            self.store()
                .begin_compensation(run, crate::store::AfterCompensation::Cancelled)
                .await?
                .release(None)
                .await?;
            self.poke_claims();
        } else {
            journal.finish(crate::store::RunOutcome::Cancelled).await?;
        }
        Ok(())
    }

    /// The runs below `root` in the tree of `call`s, found through their
    /// [`parent`](RunRecord::parent) links: each child `through` accepts,
    /// and the descendants of those (a child it refuses hides its own).
    pub(super) async fn descendants(
        &self,
        root: &RunId,
        through: impl Fn(&RunRecord) -> bool,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let mut found = Vec::new();
        let mut parents = vec![root.clone()];
        while let Some(parent) = parents.pop() {
            for child in self.store().children(&parent).await? {
                if through(&child) {
                    parents.push(child.id.clone());
                    found.push(child);
                }
            }
        }
        Ok(found)
    }

    /// Cancels the unfinished descendants of `run`, whose process stopped:
    /// left compensating for the parent's rollback to undo. Whether there
    /// were any.
    async fn cancel_gone_children(&self, run: &RunId) -> Result<bool, EngineError> {
        let children = self
            .descendants(run, |child| child.status() == RunStatus::Running)
            .await?;
        for child in &children {
            // Held by no one: the parent's rollback claims it.
            self.store()
                .begin_compensation(&child.id, crate::store::AfterCompensation::Cancelled)
                .await?
                .release(None)
                .await?;
        }
        Ok(!children.is_empty())
    }

    /// Runs a failed (or cancelled) run of `workflow` again from its last good
    /// step: the run is running again, its completed steps replay from the
    /// journal, and the steps that failed run anew (their failed entries are
    /// kept aside, not lost). Failed child runs it started are reopened too,
    /// so its calls retry them.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run; [`EngineError::OtherWorkflow`] if the run is not a run of
    /// `workflow`; [`EngineError::Store`] with [`StoreError::NotEnded`] if it
    /// is running or completed; and as
    /// [`Engine::resume`] (a changed definition, an undecodable input).
    ///
    /// On an engine with no place free under its
    /// [limit on runs in flight](crate::EngineBuilder::max_runs_in_flight),
    /// the reopened run is handed back to the store and driven when a place
    /// frees, as [`Engine::resume`] does.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the run reopened but not running;
    /// [`Engine::resume`] picks it up.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn rerun<W: Workflow>(
        &self,
        workflow: W,
        run: &RunId,
    ) -> Result<RunHandle<W>, EngineError> {
        self.refuse_if_shutting_down(W::name(), Some(run))?;
        let Some(record) = self.store().run(run).await? else {
            return Err(StoreError::UnknownRun { run: run.clone() }.into());
        };
        if record.workflow != W::name() {
            return Err(EngineError::OtherWorkflow {
                run: run.clone(),
                recorded: record.workflow,
                given: W::name(),
            });
        }
        self.store().reopen_run(run).await?;
        let mut reopened = Vec::new();
        for child in self.descendants(run, |_| true).await? {
            if matches!(
                child.status(),
                RunStatus::Failed | RunStatus::Cancelled | RunStatus::Compensated
            ) {
                self.store().reopen_run(&child.id).await?;
                reopened.push(child.id);
            }
        }
        let Some(place) = self.place_for_recorded(workflow) else {
            // No place free: held by no one, for the claim loop to drive
            // once one is (its calls then claim the children).
            for child in &reopened {
                self.hand_back_one(child).await?;
            }
            self.hand_back_one(run).await?;
            self.poke_claims();
            return Ok(RunHandle::elsewhere(self.clone(), run.clone()));
        };
        let launch = Launch::new(
            run.clone(),
            None,
            tokio_util::sync::CancellationToken::new(),
        );
        let task = self
            .prepare_resume(&launch, workflow)
            .await
            .map_err(|error| error.into_engine_error(&launch.run))?;
        Ok(RunHandle::new(launch, Self::spawn_holding(place, task)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    /// An engine whose store holds runs `(id, parent)`.
    async fn engine_with(runs: &[(&str, Option<&str>)]) -> Engine {
        let engine = Engine::new();
        for (id, parent) in runs {
            let record = RunRecord::new(
                RunId::new(*id),
                "wf",
                Value::encode(&()).expect("unit encodes"),
            );
            let record = match parent {
                Some(parent) => record.with_parent(RunId::new(*parent)),
                None => record,
            };
            engine.store().create_run(record).await.unwrap();
        }
        engine
    }

    async fn ids(engine: &Engine, root: &str) -> Vec<String> {
        let found = engine
            .descendants(&RunId::new(root), |_| true)
            .await
            .unwrap();
        found.iter().map(|r| r.id.to_string()).collect()
    }

    #[tokio::test]
    async fn descendants_are_found_through_parent_links_not_ids() {
        // A child whose id does not start with its parent's is still its
        // child; a run whose id does but whose parent is another is not.
        let engine = engine_with(&[
            ("p", None),
            ("p/a", Some("p")),
            ("elsewhere", Some("p/a")),
            ("q", None),
            ("p/b", Some("q")),
        ])
        .await;
        assert_eq!(ids(&engine, "p").await, ["p/a", "elsewhere"]);
        assert!(ids(&engine, "elsewhere").await.is_empty());
    }

    #[tokio::test]
    async fn a_grandchild_is_not_found_without_its_parent() {
        let engine = engine_with(&[("p", None), ("p/a/x", Some("p/a"))]).await;
        assert!(ids(&engine, "p").await.is_empty());
        // Nor through a child the walk does not go through.
        let engine = engine_with(&[("p", None), ("p/a", Some("p")), ("x", Some("p/a"))]).await;
        let through_none = engine
            .descendants(&RunId::new("p"), |_| false)
            .await
            .unwrap();
        assert!(through_none.is_empty());
    }
}
