//! The context a running workflow body calls into.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use std::time::SystemTime;
use tokio::sync::Notify;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Engine, LiveRun};
use crate::store::{FailedStep, RunWriter, StepOutcome, StepRecord, Value};
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
    pub(crate) journal: Arc<dyn RunWriter>,
    /// Outputs of steps completed before a resume; empty for a new run.
    pub(crate) replay: HashMap<StepKey, Value>,
    /// Steps that failed for good before a resume, with their attempts: they
    /// replay as that failure.
    pub(crate) failed: HashMap<StepKey, (u32, FailedStep)>,
    /// The run's workflow, cancellation token and progress, shared with the
    /// engine (to cancel it by id and report on it).
    pub(crate) live: Arc<LiveRun>,
    pub(crate) clock: RunClock,
    /// Set when the run is replayed against its journal only
    /// ([`replay`](crate::replay)): its sites report to it and run nothing.
    pub(crate) check: Option<Arc<crate::replay::ReplayCheck>>,
    /// Tasks of child runs started by `call`; made on the first call.
    children: OnceLock<TaskTracker>,
    /// Whether a long sleep may unload the run (top-level runs only).
    pub(crate) unloadable: bool,
    /// Steps and calls in flight: the run is unloaded only when none is.
    busy: AtomicUsize,
    /// The earliest wake-up a long sleep asked to be unloaded until.
    unload_until: std::sync::Mutex<Option<Instant>>,
    /// Set (for good) once `unload_until` is: only then does a step that
    /// leaves the run idle ring `idle`, so the step path takes no lock.
    unload_asked: AtomicBool,
    /// Rung when `busy` drops to zero or an unload is asked for.
    idle: Notify,
    /// How many times the run went on as new (`continue_as_new`).
    pub(crate) generation: u64,
    /// The next generation's input, once the body asks for it.
    pub(crate) continuation: super::continued::Continuation,
}

impl RunContext {
    /// A context for run `run` whose journal so far is `journaled`.
    pub(crate) fn new(
        engine: Engine,
        run: RunId,
        workflow: &'static str,
        journal: Arc<dyn RunWriter>,
        journaled: Vec<StepRecord>,
        cancel: CancellationToken,
        unloadable: bool,
    ) -> Self {
        // Completed steps (and fallbacks) replay their value; steps that
        // failed for good replay their failure. Only `Engine::rerun` (which
        // retires failed entries) runs a failed step again.
        let generation = Self::generation_of(&journaled);
        let mut replay = HashMap::new();
        let mut failed = HashMap::new();
        for record in journaled {
            match record.outcome {
                StepOutcome::Completed(value) | StepOutcome::FellBack(value) => {
                    replay.insert(record.key, value);
                }
                StepOutcome::Failed(failure) => {
                    failed.insert(record.key, (record.attempts, failure));
                }
            }
        }
        let clock = engine.clock();
        Self {
            engine,
            run,
            journal,
            replay,
            failed,
            live: Arc::new(LiveRun::new(cancel, workflow)),
            clock,
            check: None,
            children: OnceLock::new(),
            unloadable,
            busy: AtomicUsize::new(0),
            unload_until: std::sync::Mutex::new(None),
            unload_asked: AtomicBool::new(false),
            idle: Notify::new(),
            generation,
            continuation: super::continued::Continuation::default(),
        }
    }

    /// A step or call began.
    pub(crate) fn step_began(&self) {
        self.busy.fetch_add(1, Ordering::SeqCst);
    }

    /// A step or call ended (or was dropped).
    pub(crate) fn step_ended(&self) {
        // Sequentially consistent with `request_unload`'s flag and
        // `unload_ready`'s read of `busy`: either this sees the flag, or that
        // read sees `busy` at zero.
        if self.busy.fetch_sub(1, Ordering::SeqCst) == 1 && self.unload_asked.load(Ordering::SeqCst)
        {
            self.idle.notify_waiters();
        }
    }

    /// A sleep until `until` asks for the run to be unloaded meanwhile.
    pub(crate) fn request_unload(&self, until: Instant) {
        let mut earliest = self
            .unload_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *earliest = Some(earliest.map_or(until, |at| at.min(until)));
        self.unload_asked.store(true, Ordering::SeqCst);
        drop(earliest);
        self.idle.notify_waiters();
    }

    /// Resolves, with the wake-up time, once an unload was asked for and no
    /// step or call is in flight; never for a run that cannot be unloaded.
    pub(crate) async fn unload_ready(&self) -> Instant {
        if !self.unloadable {
            return std::future::pending().await;
        }
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let until = *self
                .unload_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(until) = until
                && self.busy.load(Ordering::SeqCst) == 0
            {
                return until;
            }
            notified.await;
        }
    }

    /// The id of the run.
    pub fn run_id(&self) -> &RunId {
        &self.run
    }

    /// Whether a step of site `site` may stop at the engine's debugger now
    /// (a breakpoint may match it, or a run steps): then the site describes
    /// its arguments for a pause ([`debug`](crate::debug)).
    #[doc(hidden)]
    pub fn debugging(&self, site: &str) -> bool {
        self.engine
            .debugger()
            .is_some_and(|debugger| debugger.may_stop(site))
    }

    /// The name of the workflow being run.
    pub fn workflow(&self) -> &'static str {
        self.live.workflow
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
            .field("workflow", &self.live.workflow)
            .field("replayable_steps", &self.replay.len())
            .field("cancelled", &self.live.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Wall-clock timestamps for journal entries, read from tokio's monotonic
/// clock: the system time once per engine, then the time elapsed since. One
/// anchor per engine keeps every run of it on one timeline, which a run
/// resumed after an unload needs to compute its wake-up (and which a paused
/// test clock needs too).
///
/// One clock read per timestamp instead of two, timestamps that never go
/// backwards within a run, and virtual time on a paused test clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunClock {
    wall: SystemTime,
    monotonic: Instant,
}

impl RunClock {
    pub(crate) fn start() -> Self {
        Self::anchored(SystemTime::now())
    }

    /// A clock that reads `wall` now and runs with tokio's clock from here.
    pub(crate) fn anchored(wall: SystemTime) -> Self {
        Self {
            wall,
            monotonic: Instant::now(),
        }
    }

    /// The wall-clock time now.
    pub(crate) fn now(&self) -> SystemTime {
        self.wall_time(Instant::now())
    }

    /// The instant at wall-clock time `wall` (on a paused test clock, in
    /// virtual time).
    pub(crate) fn instant_at(&self, wall: SystemTime) -> Instant {
        match wall.duration_since(self.wall) {
            Ok(after) => self.monotonic + after,
            Err(before) => self
                .monotonic
                .checked_sub(before.duration())
                .unwrap_or(self.monotonic),
        }
    }

    /// The wall-clock time at `instant`.
    pub(crate) fn wall_time(&self, instant: Instant) -> SystemTime {
        self.wall + instant.saturating_duration_since(self.monotonic)
    }
}
