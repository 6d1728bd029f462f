//! A run's picture from the engine: its record and journal from the store,
//! its live attempts from this engine if it drives the run (see
//! [`crate::picture`]).

use super::Engine;
use crate::picture::{Graph, LiveState, PictureError, RunPicture};
use crate::store::{RunRecord, StepRecord};
use crate::{EngineError, RunId, StoreError, Workflow};

impl Engine {
    /// The picture of run `run` of workflow `W`: `W`'s graph with each
    /// node's state from the run's journal and, if this engine drives the
    /// run, from its live attempts (running, retrying, replayed).
    ///
    /// # Examples
    ///
    /// ```
    /// use trailhead_core::picture::NodeState;
    /// # use trailhead_core::{Engine, Error, RunContext, Workflow};
    /// # #[derive(Clone, Copy, Default)]
    /// # struct Noop;
    /// # impl Workflow for Noop {
    /// #     type Input = ();
    /// #     type Output = ();
    /// #     type Error = Error;
    /// #     const NAME: &'static str = "noop";
    /// #     const MERMAID: &'static str = "flowchart TD";
    /// #     const DEFINITION_HASH: u64 = 1;
    /// #     fn execute<'a>(self, _: &'a RunContext, (): ()) -> impl std::future::Future<Output = Result<(), Error>> + Send + 'a {
    /// #         async { Ok(()) }
    /// #     }
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::new();
    /// let handle = engine.start(Noop, ()).await?;
    /// let run = handle.id().clone();
    /// handle.result().await?;
    /// let picture = engine.picture::<Noop>(&run).await?;
    /// assert_eq!(picture.workflow, "noop");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, [`EngineError::OtherWorkflow`] if it is a run of another
    /// workflow, and [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn picture<W: Workflow>(&self, run: &RunId) -> Result<RunPicture, EngineError> {
        let record = self.recorded_run(run).await?;
        if record.workflow != W::name() {
            return Err(EngineError::OtherWorkflow {
                run: run.clone(),
                recorded: record.workflow,
                given: W::name(),
            });
        }
        let graph = Graph::from_json(W::GRAPH).map_err(|error| match error {
            crate::picture::PictureError::BadGraph { reason, .. } => {
                crate::picture::PictureError::BadGraph {
                    run: Some(run.clone()),
                    reason,
                }
            }
            other => other,
        })?;
        self.draw(&graph, W::mermaid(), &record).await
    }

    /// [`Engine::picture`] drawn as Mermaid with status classes
    /// ([`RunPicture::to_mermaid`]).
    ///
    /// # Errors
    ///
    /// As [`Engine::picture`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn diagram<W: Workflow>(&self, run: &RunId) -> Result<String, EngineError> {
        Ok(self.picture::<W>(run).await?.to_mermaid())
    }

    /// The picture of run `run` without its workflow's type: from the graph
    /// the run's record keeps (and this engine's live attempts, if it
    /// drives the run).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, [`EngineError::Picture`] if its record keeps no graph (a
    /// run recorded by an older build, or of a hand-written workflow: use
    /// [`Engine::picture`]) or one that does not parse, and
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn picture_of(&self, run: &RunId) -> Result<RunPicture, EngineError> {
        let record = self.recorded_run(run).await?;
        Ok(self.journal_and_picture(&record).await?.1?)
    }

    /// [`Engine::picture_of`] drawn as Mermaid with status classes.
    ///
    /// # Errors
    ///
    /// As [`Engine::picture_of`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn diagram_of(&self, run: &RunId) -> Result<String, EngineError> {
        Ok(self.picture_of(run).await?.to_mermaid())
    }

    /// The journal of the run `record` describes and its picture drawn
    /// from that one read (with the live attempts of a run this engine
    /// drives): what a tool showing both reads per refresh, instead of the
    /// record and journal twice. The picture is `Err` if the record keeps
    /// no graph, or one that does not parse.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn journal_and_picture(
        &self,
        record: &RunRecord,
    ) -> Result<(Vec<StepRecord>, Result<RunPicture, PictureError>), EngineError> {
        self.keep_pictures_live();
        let (live, journal) = self.live_and_journal(&record.id).await?;
        let picture = Graph::recorded(&record.id, &record.mermaid).map(|(graph, mermaid)| {
            RunPicture::build(&graph, mermaid, record, &journal, live.as_ref())
        });
        Ok((journal, picture))
    }

    async fn recorded_run(&self, run: &RunId) -> Result<RunRecord, EngineError> {
        // Someone looks: keep the live attempts from now on.
        self.keep_pictures_live();
        self.inner
            .store
            .run(run)
            .await?
            .ok_or_else(|| StoreError::UnknownRun { run: run.clone() }.into())
    }

    async fn draw(
        &self,
        graph: &Graph,
        mermaid: &str,
        record: &RunRecord,
    ) -> Result<RunPicture, EngineError> {
        let (live, journal) = self.live_and_journal(&record.id).await?;
        Ok(RunPicture::build(
            graph,
            mermaid,
            record,
            &journal,
            live.as_ref(),
        ))
    }

    /// Run `run`'s live steps, then its journal.
    async fn live_and_journal(
        &self,
        run: &RunId,
    ) -> Result<(Option<LiveState>, Vec<StepRecord>), EngineError> {
        // The live table before the journal: a step that settles between
        // the two reads is then in the journal, which wins over its attempt.
        let live = self.inner.runs.get(run).map(|live| live.steps.snapshot());
        let journal = self.inner.store.journal(run).await?;
        Ok((live, journal))
    }
}
