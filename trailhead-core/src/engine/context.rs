//! The context a running workflow body calls into.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Engine;
use crate::store::{Journal, StepOutcome, StepRecord};
use crate::{RunId, StepKey};

/// What a running workflow body calls into: one per run.
///
/// The code `workflow!` generates runs every step through it (the step
/// methods are hidden: they are not an API to call by hand). It holds the
/// run's journal handle, the journaled outputs a resumed run replays, and the
/// run's cancellation token.
pub struct RunContext {
    pub(crate) engine: Engine,
    pub(crate) run: RunId,
    pub(crate) workflow: &'static str,
    pub(crate) journal: Arc<dyn Journal>,
    /// Outputs of steps completed before a resume; empty for a new run.
    pub(crate) replay: HashMap<StepKey, serde_json::Value>,
    pub(crate) cancel: CancellationToken,
    pub(crate) clock: RunClock,
    /// Tasks of child runs started by `call`; made on the first call.
    children: OnceLock<TaskTracker>,
}

impl RunContext {
    /// A context for run `run` whose journal so far is `journaled`.
    pub(crate) fn new(
        engine: Engine,
        run: RunId,
        workflow: &'static str,
        journal: Arc<dyn Journal>,
        journaled: Vec<StepRecord>,
        cancel: CancellationToken,
    ) -> Self {
        // Failed steps run again on resume; only completed ones replay.
        let replay = journaled
            .into_iter()
            .filter_map(|record| match record.outcome {
                StepOutcome::Completed(value) => Some((record.key, value)),
                StepOutcome::Failed(_) => None,
            })
            .collect();
        Self {
            engine,
            run,
            workflow,
            journal,
            replay,
            cancel,
            clock: RunClock::start(),
            children: OnceLock::new(),
        }
    }

    /// The id of the run.
    pub fn run_id(&self) -> &RunId {
        &self.run
    }

    /// The name of the workflow being run.
    pub fn workflow(&self) -> &'static str {
        self.workflow
    }

    /// The tracker child run tasks are spawned on.
    pub(crate) fn children(&self) -> &TaskTracker {
        self.children.get_or_init(TaskTracker::new)
    }

    /// Waits until every child run this run started has ended.
    pub(crate) async fn wait_for_children(&self) {
        if let Some(children) = self.children.get() {
            children.close();
            children.wait().await;
        }
    }
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("run", &self.run)
            .field("workflow", &self.workflow)
            .field("replayable_steps", &self.replay.len())
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Wall-clock timestamps for journal entries, read from tokio's monotonic
/// clock: the system time once per run, then the time elapsed since.
///
/// One clock read per timestamp instead of two, timestamps that never go
/// backwards within a run, and virtual time on a paused test clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunClock {
    wall: SystemTime,
    monotonic: Instant,
}

impl RunClock {
    fn start() -> Self {
        Self {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }

    /// The wall-clock time at `instant`.
    pub(crate) fn wall_time(&self, instant: Instant) -> SystemTime {
        self.wall + instant.saturating_duration_since(self.monotonic)
    }
}
