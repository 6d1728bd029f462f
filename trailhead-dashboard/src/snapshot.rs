//! A run as its page shows it: its record, journal, child runs and
//! picture, read together.

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
        Ok(Some(Self {
            record,
            journal,
            children,
            picture,
        }))
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
