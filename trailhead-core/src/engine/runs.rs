//! Where a live run is found: the runs this engine drives, their signal
//! waiters, and the runs it halted, behind one lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{LiveRun, StalledRun, SuspendedRun};
use crate::RunId;

/// The engine's runs by id, as far as this process knows them.
#[derive(Debug, Default)]
pub(super) struct Runs(Mutex<Table>);

#[derive(Debug, Default)]
struct Table {
    /// The runs this engine is driving, to cancel them by id and report on them.
    driven: HashMap<RunId, Arc<LiveRun>>,
    /// Runs waiting for a signal, woken when one is sent to them.
    signal_waiters: HashMap<RunId, Arc<Notify>>,
    /// Runs halted because the store kept failing: left for `resume`.
    halted: HashMap<RunId, SuspendedRun>,
}

impl Runs {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers `run` as driven here through `live`; it is no longer halted.
    pub(super) fn track(&self, run: &RunId, live: &Arc<LiveRun>) {
        let mut table = self.lock();
        table.driven.insert(run.clone(), Arc::clone(live));
        table.halted.remove(run);
    }

    /// Forgets `run`, no longer driven here, and its signal waiter; how many
    /// runs are still driven.
    pub(super) fn untrack(&self, run: &RunId) -> usize {
        let mut table = self.lock();
        table.signal_waiters.remove(run);
        table.driven.remove(run);
        table.driven.len()
    }

    /// Run `run`, if this engine drives it.
    pub(super) fn get(&self, run: &RunId) -> Option<Arc<LiveRun>> {
        self.lock().driven.get(run).cloned()
    }

    /// Whether this engine drives run `run`.
    pub(super) fn is_driven(&self, run: &RunId) -> bool {
        self.lock().driven.contains_key(run)
    }

    /// The ids of the runs this engine drives.
    pub(super) fn driven(&self) -> Vec<RunId> {
        self.lock().driven.keys().cloned().collect()
    }

    /// Whether this engine drives no run.
    pub(super) fn none_driven(&self) -> bool {
        self.lock().driven.is_empty()
    }

    /// How many runs are driven, and those with no step ended for at least
    /// `after` before `now`.
    pub(super) fn stalled(&self, now: Instant, after: Duration) -> (usize, Vec<StalledRun>) {
        let table = self.lock();
        let stalled: Vec<StalledRun> = table
            .driven
            .iter()
            .filter_map(|(run, live)| {
                let idle = now.saturating_duration_since(live.last_progress());
                (idle >= after).then(|| StalledRun {
                    run: run.clone(),
                    workflow: live.workflow,
                    idle,
                })
            })
            .collect();
        (table.driven.len(), stalled)
    }

    /// What run `run`, waiting for signals, waits on.
    pub(super) fn signal_waiter(&self, run: &RunId) -> Arc<Notify> {
        Arc::clone(self.lock().signal_waiters.entry(run.clone()).or_default())
    }

    /// Wakes run `run` if it waits for a signal.
    pub(super) fn wake_signal_waiter(&self, run: &RunId) {
        let waiter = self.lock().signal_waiters.get(run).cloned();
        if let Some(waiter) = waiter {
            waiter.notify_waiters();
        }
    }

    /// Lists `run` as halted by a failing store, for the health report.
    pub(super) fn halt(&self, run: SuspendedRun) {
        self.lock().halted.insert(run.run.clone(), run);
    }

    /// The runs halted by a failing store, for the health report.
    pub(super) fn halted(&self) -> Vec<SuspendedRun> {
        self.lock().halted.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    fn live() -> Arc<LiveRun> {
        Arc::new(LiveRun::new(CancellationToken::new(), "wf"))
    }

    fn halted(run: &RunId) -> SuspendedRun {
        SuspendedRun {
            run: run.clone(),
            workflow: "wf",
            error: "the disk is full".to_owned(),
            since: std::time::SystemTime::now(),
        }
    }

    #[test]
    fn tracking_a_halted_run_takes_it_off_the_halted_list() {
        let runs = Runs::default();
        let run = RunId::new("r");
        runs.halt(halted(&run));
        assert_eq!(runs.halted().len(), 1);
        runs.track(&run, &live());
        assert!(runs.halted().is_empty());
        assert!(runs.is_driven(&run));
        assert_eq!(runs.driven(), vec![run]);
    }

    #[test]
    fn untracking_forgets_the_run_and_its_signal_waiter() {
        let runs = Runs::default();
        let (a, b) = (RunId::new("a"), RunId::new("b"));
        runs.track(&a, &live());
        runs.track(&b, &live());
        let waiter = runs.signal_waiter(&a);
        assert!(Arc::ptr_eq(&waiter, &runs.signal_waiter(&a)));
        assert_eq!(runs.untrack(&a), 1);
        assert!(runs.get(&a).is_none());
        assert!(!Arc::ptr_eq(&waiter, &runs.signal_waiter(&a)));
        assert_eq!(runs.untrack(&b), 0);
        assert!(runs.none_driven());
    }

    #[tokio::test]
    async fn a_signal_wakes_a_waiter_asked_for_before_the_run_is_tracked() {
        let runs = Runs::default();
        let run = RunId::new("r");
        let waiter = runs.signal_waiter(&run);
        let notified = waiter.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        runs.track(&run, &live());
        runs.wake_signal_waiter(&run);
        tokio::time::timeout(Duration::from_secs(5), notified)
            .await
            .expect("the waiter was woken");
    }
}
