//! The debugger's state: breakpoints, paused steps, each run's step mode.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{Notify, oneshot};

use super::{Breakpoint, BreakpointId, DebugError, Pause, Resume, When};
use crate::RunId;
use crate::key::KeyRef;
use crate::picture::Graph;

#[derive(Debug, Default)]
pub(super) struct DebugState {
    /// The last breakpoint's number.
    next_breakpoint: AtomicU64,
    /// The last pause's number (pauses are listed in this order).
    next_pause: AtomicU64,
    /// Breakpoints set plus runs in a step mode: while zero, no step can
    /// stop, and steps skip the debugger at the cost of one load.
    armed: AtomicUsize,
    /// Runs in a step mode (of `armed`): while zero, a step looks no run up.
    stepping: AtomicUsize,
    breakpoints: RwLock<Vec<(BreakpointId, Breakpoint)>>,
    runs: Mutex<HashMap<RunId, RunDebug>>,
    /// Rung when a step pauses.
    paused: Notify,
    /// Each workflow's step sites: their node and the loops and fan-outs
    /// around them, innermost first.
    sites: Mutex<HashMap<&'static str, Arc<HashMap<String, Site>>>>,
}

/// A step site of a workflow's graph.
#[derive(Debug, Clone)]
pub(super) struct Site {
    pub(super) node: String,
    pub(super) scopes: Vec<String>,
}

#[derive(Debug, Default)]
struct RunDebug {
    mode: Option<Mode>,
    paused: Vec<Paused>,
}

/// What a step command asked for until its next stop.
#[derive(Debug, Clone)]
enum Mode {
    Step,
    /// Through every step inside this loop or fan-out.
    StepOver(String),
}

#[derive(Debug)]
struct Paused {
    id: u64,
    pause: Pause,
    wake: oneshot::Sender<()>,
}

impl DebugState {
    fn breakpoints_read(&self) -> RwLockReadGuard<'_, Vec<(BreakpointId, Breakpoint)>> {
        self.breakpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn breakpoints_write(&self) -> RwLockWriteGuard<'_, Vec<(BreakpointId, Breakpoint)>> {
        self.breakpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn runs(&self) -> MutexGuard<'_, HashMap<RunId, RunDebug>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn add(&self, breakpoint: Breakpoint) -> BreakpointId {
        let id = BreakpointId(self.next_breakpoint.fetch_add(1, Ordering::Relaxed) + 1);
        self.breakpoints_write().push((id, breakpoint));
        self.armed.fetch_add(1, Ordering::SeqCst);
        id
    }

    pub(super) fn remove(&self, id: BreakpointId) -> bool {
        let mut breakpoints = self.breakpoints_write();
        let before = breakpoints.len();
        breakpoints.retain(|(held, _)| *held != id);
        let removed = breakpoints.len() != before;
        if removed {
            self.armed.fetch_sub(1, Ordering::SeqCst);
        }
        removed
    }

    /// Whether any step may stop now (a breakpoint is set, or a run steps).
    pub(super) fn armed(&self) -> bool {
        self.armed.load(Ordering::SeqCst) > 0
    }

    /// Sets a run's step mode, keeping the count of runs stepping.
    fn set_mode(&self, debug: &mut RunDebug, mode: Option<Mode>) {
        match (debug.mode.is_some(), mode.is_some()) {
            (false, true) => {
                self.stepping.fetch_add(1, Ordering::SeqCst);
                self.armed.fetch_add(1, Ordering::SeqCst);
            }
            (true, false) => {
                self.stepping.fetch_sub(1, Ordering::SeqCst);
                self.armed.fetch_sub(1, Ordering::SeqCst);
            }
            _ => {}
        }
        debug.mode = mode;
    }

    pub(super) fn breakpoints(&self) -> Vec<(BreakpointId, Breakpoint)> {
        self.breakpoints_read().clone()
    }

    /// Whether a step of site `site` may stop now: a run steps, or a
    /// breakpoint may match the site (then it describes its arguments).
    pub(super) fn may_stop(&self, site: &str) -> bool {
        self.stepping.load(Ordering::SeqCst) > 0
            || self
                .breakpoints_read()
                .iter()
                .any(|(_, breakpoint)| breakpoint.steps.may_match_name(site))
    }

    pub(super) fn paused(&self) -> Vec<Pause> {
        let runs = self.runs();
        let mut paused: Vec<(u64, Pause)> = runs
            .values()
            .flat_map(|run| run.paused.iter().map(|p| (p.id, p.pause.clone())))
            .collect();
        paused.sort_by_key(|(id, _)| *id);
        paused.into_iter().map(|(_, pause)| pause).collect()
    }

    pub(super) fn is_paused(&self, run: &RunId) -> bool {
        self.runs()
            .get(run)
            .is_some_and(|debug| !debug.paused.is_empty())
    }

    pub(super) async fn wait_for_pause(&self, run: Option<&RunId>) -> Pause {
        loop {
            let notified = self.paused.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found = self
                .paused()
                .into_iter()
                .find(|pause| run.is_none_or(|run| &pause.run == run));
            if let Some(pause) = found {
                return pause;
            }
            notified.await;
        }
    }

    pub(super) fn resume(&self, run: &RunId, how: Resume) -> Result<(), DebugError> {
        let mut runs = self.runs();
        let debug = runs.get_mut(run).filter(|debug| !debug.paused.is_empty());
        let Some(debug) = debug else {
            return Err(DebugError::NotPaused { run: run.clone() });
        };
        let paused = std::mem::take(&mut debug.paused);
        let mode = match how {
            Resume::Continue => None,
            Resume::Step => Some(Mode::Step),
            Resume::StepOver => {
                let first = &paused[0].pause;
                let scope = self
                    .site(first.workflow, first.key.name())
                    .and_then(|site| site.scopes.first().cloned());
                Some(scope.map_or(Mode::Step, Mode::StepOver))
            }
        };
        self.set_mode(debug, mode);
        drop(runs);
        for paused in paused {
            let _ = paused.wake.send(());
        }
        Ok(())
    }

    /// Whether step `key` of run `run` stops at `when`: a step command's
    /// next step, or a breakpoint (not inside a loop being stepped over).
    /// `learn` makes the workflow's sites known, when a step-over needs them.
    pub(super) fn stops(
        &self,
        workflow: &'static str,
        run: &RunId,
        key: KeyRef<'_>,
        when: When,
        learn: impl FnOnce(),
    ) -> bool {
        if self.stepping.load(Ordering::SeqCst) > 0 {
            let mut runs = self.runs();
            if let Some(debug) = runs.get_mut(run)
                && let Some(mode) = debug.mode.clone()
            {
                match mode {
                    Mode::StepOver(scope)
                        if {
                            learn();
                            self.inside(workflow, key, &scope)
                        } =>
                    {
                        return false;
                    }
                    _ if when == When::Before => {
                        self.set_mode(debug, None);
                        return true;
                    }
                    _ => {}
                }
            }
        }
        self.breakpoints_read()
            .iter()
            .any(|(_, breakpoint)| breakpoint.applies(workflow, run, key, when))
    }

    fn inside(&self, workflow: &'static str, key: KeyRef<'_>, scope: &str) -> bool {
        self.site(workflow, key.name)
            .is_some_and(|site| site.scopes.iter().any(|around| around == scope))
    }

    /// Pauses `pause`: gives its number, and what resolves when it is
    /// resumed.
    pub(super) fn pause(&self, pause: Pause) -> (u64, oneshot::Receiver<()>) {
        let id = self.next_pause.fetch_add(1, Ordering::Relaxed) + 1;
        let (wake, woken) = oneshot::channel();
        self.runs()
            .entry(pause.run.clone())
            .or_default()
            .paused
            .push(Paused { id, pause, wake });
        self.paused.notify_waiters();
        (id, woken)
    }

    /// Forgets pause `id` of run `run` (its step was dropped, or resumed).
    pub(super) fn unpause(&self, run: &RunId, id: u64) {
        let mut runs = self.runs();
        if let Some(debug) = runs.get_mut(run) {
            debug.paused.retain(|paused| paused.id != id);
            if debug.paused.is_empty() && debug.mode.is_none() {
                runs.remove(run);
            }
        }
    }

    /// Site `site` of `workflow`, from the graph the engine learned.
    pub(super) fn site(&self, workflow: &'static str, site: &str) -> Option<Site> {
        self.sites
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(workflow)
            .and_then(|sites| sites.get(site).cloned())
    }

    /// Learns workflow `workflow`'s sites from its graph's JSON, once.
    pub(super) fn learn(&self, workflow: &'static str, graph: impl FnOnce() -> &'static str) {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        if sites.contains_key(workflow) {
            return;
        }
        let graph = Graph::from_json(graph()).unwrap_or_default();
        let scopes = |first: Option<&String>| {
            let mut chain: Vec<String> = Vec::new();
            let mut scope = first.cloned();
            while let Some(id) = scope {
                scope = graph.node(&id).and_then(|node| node.scope.clone());
                chain.push(id);
            }
            chain
        };
        let known = graph
            .step_nodes()
            .map(|(site, node)| {
                let place = Site {
                    node: node.id.clone(),
                    scopes: scopes(node.scope.as_ref()),
                };
                (site.to_owned(), place)
            })
            .collect();
        sites.insert(workflow, Arc::new(known));
    }
}
