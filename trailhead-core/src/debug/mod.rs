//! Breakpoints and step-through on live runs.
//!
//! An engine built with [`EngineBuilder::debugger`](crate::EngineBuilder::debugger)
//! has a [`Debugger`] ([`Engine::debugger`](crate::Engine::debugger)).
//! Breakpoints name steps by [`StepPattern`] (`charge`, `reserve[*]`, `*`),
//! for every run, one workflow's or one run's, and stop [before a step
//! starts](When::Before), [after it completes](When::After) or [when it
//! fails for good](When::Failed). A step at a breakpoint waits, its run
//! [paused](Pause), until the debugger [resumes](Debugger::resume) it with
//! [`Resume::Continue`] (to the next breakpoint), [`Resume::Step`] (to the
//! next step of this run to start) or [`Resume::StepOver`] (past the loop or
//! fan-out the paused step is in). The pause shows the step's key, its
//! arguments (`Debug` text where their types implement `Debug`, the type's
//! name where not), its output or error, the outputs journaled so far, and
//! its node in the run's picture.
//!
//! Only the branch that reached the breakpoint waits: the run's other
//! concurrent branches (the rest of a fan-out, a parallel statement) keep
//! going until they reach a breakpoint of their own. A run with a step
//! paused is reported [paused](crate::Health::paused) by the health report,
//! not stalled.
//!
//! Without a debugger the step path pays one branch per step; with one and
//! no breakpoint set (and no run stepping), one atomic load more; with a
//! breakpoint, each step also describes its arguments and looks the
//! breakpoints up (see the `chain` benchmark).
//!
//! Steps (`step`, `step blocking`) and calls stop (a call's pause has no
//! arguments: its child's input is the child run's); sleeps and signals do
//! not.

mod gate;
mod state;

use std::sync::Arc;

use serde::Serialize;

use crate::key::KeyRef;
use crate::{RunId, StepKey, StepPattern};

pub(crate) use gate::Gate;
use state::DebugState;

/// Where a breakpoint stops a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum When {
    /// Before its first attempt starts (its arguments known).
    Before,
    /// After it completed (its output known).
    After,
    /// After it failed for good (its error known).
    Failed,
}

/// A breakpoint: which steps, of which runs, stop where.
///
/// # Examples
///
/// ```
/// use trailhead_core::debug::{Breakpoint, When};
///
/// let each_seat = Breakpoint::before("reserve[*]".parse()?).in_workflow("book");
/// assert_eq!(each_seat.when(), When::Before);
/// # Ok::<(), trailhead_core::PatternError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Breakpoint {
    #[serde(serialize_with = "as_text")]
    steps: StepPattern,
    when: When,
    workflow: Option<String>,
    run: Option<RunId>,
}

fn as_text<S: serde::Serializer>(pattern: &StepPattern, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(pattern)
}

fn key_text<S: serde::Serializer>(key: &StepKey, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(key)
}

impl Breakpoint {
    /// Stops the steps `steps` matches, at `when`, in every run.
    pub fn new(steps: StepPattern, when: When) -> Self {
        Self {
            steps,
            when,
            workflow: None,
            run: None,
        }
    }

    /// Stops the steps `steps` matches before they start.
    pub fn before(steps: StepPattern) -> Self {
        Self::new(steps, When::Before)
    }

    /// Stops the steps `steps` matches after they complete.
    pub fn after(steps: StepPattern) -> Self {
        Self::new(steps, When::After)
    }

    /// Stops the steps `steps` matches when they fail for good.
    pub fn on_failure(steps: StepPattern) -> Self {
        Self::new(steps, When::Failed)
    }

    /// Only in runs of workflow `name`.
    #[must_use]
    pub fn in_workflow(mut self, name: impl Into<String>) -> Self {
        self.workflow = Some(name.into());
        self
    }

    /// Only in run `run`.
    #[must_use]
    pub fn in_run(mut self, run: RunId) -> Self {
        self.run = Some(run);
        self
    }

    /// Where it stops.
    pub fn when(&self) -> When {
        self.when
    }

    /// The steps it stops.
    pub fn steps(&self) -> &StepPattern {
        &self.steps
    }

    fn applies(&self, workflow: &str, run: &RunId, key: KeyRef<'_>, when: When) -> bool {
        self.when == when
            && self.workflow.as_deref().is_none_or(|name| name == workflow)
            && self.run.as_ref().is_none_or(|only| only == run)
            && self.steps.matches_ref(key)
    }
}

/// A breakpoint's number, to remove it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BreakpointId(pub u64);

/// How a paused run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resume {
    /// Until the next breakpoint.
    Continue,
    /// Until the next step of this run starts (whichever branch it is on).
    Step,
    /// Until a step of this run outside the loop or fan-out the paused step
    /// is in starts: past all its iterations (as [`Resume::Step`] for a step
    /// in none).
    StepOver,
}

/// A step of a run waiting at a breakpoint (or after a step command).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Pause {
    /// The run.
    pub run: RunId,
    /// Its workflow.
    pub workflow: &'static str,
    /// The step (its text form in JSON: `reserve[2]`).
    #[serde(serialize_with = "key_text")]
    pub key: StepKey,
    /// Where it is stopped.
    pub when: When,
    /// Its arguments: each one's `Debug` text, its type's name if it has no
    /// `Debug`, or the expression as written when it is not a plain place
    /// (not evaluated twice).
    pub arguments: Vec<String>,
    /// Its output, after it completed.
    pub output: Option<String>,
    /// Its error, after it failed.
    pub error: Option<String>,
    /// The run's journal when it stopped: each entry's key and value (or
    /// error), in the order written.
    pub journaled: Vec<(String, String)>,
    /// The flowchart node the step is (its id in `MERMAID` and the run's
    /// picture), if the workflow's graph is known.
    pub node: Option<String>,
}

/// Why a debugger command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DebugError {
    /// The run has no step paused.
    #[error("run `{run}` is not paused")]
    NotPaused {
        /// The run.
        run: RunId,
    },
}

/// The debugger of an engine built with one: its breakpoints, the runs
/// paused at them, and the commands that resume them. Cheap to clone (a
/// handle).
#[derive(Clone, Debug, Default)]
pub struct Debugger(Arc<DebugState>);

impl Debugger {
    /// Adds `breakpoint`; gives its number.
    pub fn break_at(&self, breakpoint: Breakpoint) -> BreakpointId {
        self.0.add(breakpoint)
    }

    /// Removes breakpoint `id`; whether there was one.
    pub fn remove(&self, id: BreakpointId) -> bool {
        self.0.remove(id)
    }

    /// The breakpoints, by number.
    pub fn breakpoints(&self) -> Vec<(BreakpointId, Breakpoint)> {
        self.0.breakpoints()
    }

    /// The steps paused now, in the order they stopped.
    pub fn paused(&self) -> Vec<Pause> {
        self.0.paused()
    }

    /// Waits until a step of run `run` (of any run, for `None`) is paused;
    /// gives the first such pause (one already there at once).
    pub async fn wait_for_pause(&self, run: Option<&RunId>) -> Pause {
        self.0.wait_for_pause(run).await
    }

    /// Resumes every paused step of run `run` as `how` says.
    ///
    /// # Errors
    ///
    /// [`DebugError::NotPaused`] if no step of the run is paused.
    pub fn resume(&self, run: &RunId, how: Resume) -> Result<(), DebugError> {
        self.0.resume(run, how)
    }

    /// The debugger as the step path meets it: `None` while no step can
    /// stop (no breakpoint, no run stepping), so steps skip it.
    pub(crate) fn gate(&self) -> Option<Gate<'_>> {
        self.0.armed().then(|| Gate::new(&self.0))
    }

    /// Whether a step of site `site` may stop now: then it describes its
    /// arguments.
    pub(crate) fn may_stop(&self, site: &str) -> bool {
        self.0.armed() && self.0.may_stop(site)
    }

    /// Whether run `run` has a step paused.
    pub(crate) fn is_paused(&self, run: &RunId) -> bool {
        self.0.is_paused(run)
    }
}
