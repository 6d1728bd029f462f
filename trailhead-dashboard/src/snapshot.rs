//! A run as its page shows it: its record, journal, child runs, picture
//! and the steps the debugger holds paused, read together.

use trailhead_core::debug::Pause;
use trailhead_core::picture::RunPicture;
use trailhead_core::store::{RunRecord, StepRecord};
use trailhead_core::{Engine, EngineError, RunId};

/// What the run page shows of one run.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) record: RunRecord,
    pub(crate) journal: Vec<StepRecord>,
    pub(crate) children: Vec<RunRecord>,
    /// The live picture, or why there is none (a run recorded without its
    /// graph).
    pub(crate) picture: Result<RunPicture, String>,
    /// Whether the engine has a debugger.
    pub(crate) debugger: bool,
    /// The run's steps paused by the debugger, in the order they stopped.
    pub(crate) paused: Vec<Pause>,
}

impl Snapshot {
    /// Run `run` as `engine` sees it now; `None` if the store has no such
    /// run.
    pub(crate) async fn of(engine: &Engine, run: &RunId) -> Result<Option<Self>, EngineError> {
        let Some(record) = engine.run_record(run).await? else {
            return Ok(None);
        };
        // One read of the journal for both the page and its picture.
        let (journal, picture) = engine.journal_and_picture(&record).await?;
        let picture = picture.map_err(|error| error.to_string());
        let children = engine.store().children(run).await?;
        let paused = paused(engine, run);
        Ok(Some(Self {
            record,
            journal,
            children,
            picture,
            debugger: engine.debugger().is_some(),
            paused,
        }))
    }

    /// The diagram's nodes of the paused steps.
    pub(crate) fn paused_nodes(&self) -> Vec<&str> {
        self.paused
            .iter()
            .filter_map(|pause| pause.node.as_deref())
            .collect()
    }

    /// The signals the run's workflow waits for, by name.
    pub(crate) fn signals(&self) -> Vec<String> {
        let Ok(picture) = &self.picture else {
            return Vec::new();
        };
        let mut names: Vec<String> = picture
            .nodes
            .iter()
            .filter(|node| node.kind == trailhead_core::picture::NodeKind::Signal)
            .filter_map(|node| node.site.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The steps of run `run` that `engine`'s debugger holds paused (none
/// without a debugger).
pub(crate) fn paused(engine: &Engine, run: &RunId) -> Vec<Pause> {
    engine.debugger().map_or_else(Vec::new, |debugger| {
        let mut paused = debugger.paused();
        paused.retain(|pause| &pause.run == run);
        paused
    })
}
