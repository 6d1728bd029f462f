//! The in-memory store.

mod key_hash;
mod retention;
mod run;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::broadcast;

use crate::store::queue::Admission;
use crate::store::{
    AfterCompensation, ClaimOffer, Claimed, Enqueue, Enqueued, FleetStatus, Notice, QueueStatus,
    Retention, RunRecord, RunStatus, RunWriter, ScheduleChange, ScheduleRecord, StepRecord, Store,
    StoreFuture, Value, WorkerId, WorkerStatus,
};
use crate::{RunId, StepKey, StoreError};
use run::MemoryRun;

/// A [`Store`] that keeps runs and journals in memory.
///
/// The default store of an [`Engine`](crate::Engine): fast, and gone with the
/// process. Clones share the same runs. The run table is locked only to create,
/// open, look up or list runs; each run's journal has its own lock.
///
/// A memory store is one [worker](crate::store::lease) (its clones too): it
/// cannot be shared by processes, so it owns every run it holds.
///
/// Finished runs are removed by the engine's [`Retention`]: by default
/// ([`Retention::in_memory`]) the newest 1,000 completed and 10,000 failed
/// runs stay, so the store does not grow without bound.
///
/// # Examples
///
/// ```
/// use trailhead_core::{Engine, store::MemoryStore};
///
/// let store = MemoryStore::new();
/// let engine = Engine::builder().store(store.clone()).build();
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    runs: Arc<Mutex<HashMap<RunId, Arc<MemoryRun>>>>,
    worker: WorkerId,
    /// Runs enqueued and signals sent, for the engine's claim loop.
    notices: broadcast::Sender<Notice>,
    /// The schedules, by name.
    schedules: Arc<Mutex<std::collections::BTreeMap<String, ScheduleRecord>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            runs: Arc::default(),
            worker: WorkerId::generate(),
            notices: broadcast::channel(256).0,
            schedules: Arc::default(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn runs(&self) -> MutexGuard<'_, HashMap<RunId, Arc<MemoryRun>>> {
        lock(&self.runs)
    }

    /// The records `keep` keeps, oldest first; only those are copied.
    fn records(&self, keep: impl Fn(&RunRecord) -> bool) -> Vec<RunRecord> {
        let runs: Vec<_> = self.runs().values().cloned().collect();
        let mut records: Vec<_> = runs.iter().filter_map(|run| run.record_if(&keep)).collect();
        records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        records
    }

    /// Records an enqueued run, or finds the one its key names.
    fn enqueue(&self, run: RunRecord, options: &Enqueue) -> Result<Enqueued, StoreError> {
        let mut runs = self.runs();
        if let Some(key) = options.dedup_key() {
            let queue = options.queue().map(str::to_owned);
            let existing = runs.iter().find(|(_, kept)| {
                kept.dedup()
                    .is_some_and(|(other, other_key)| other == queue && other_key == key)
            });
            if let Some((id, _)) = existing {
                return Ok(Enqueued::Existing(id.clone()));
            }
        }
        match runs.entry(run.id.clone()) {
            Entry::Occupied(_) => Err(StoreError::RunExists { run: run.id }),
            Entry::Vacant(slot) => {
                let enqueued = Some((SystemTime::now(), options.clone()));
                slot.insert(Arc::new(MemoryRun::new(run, enqueued)));
                Ok(Enqueued::New)
            }
        }
    }

    /// Claims due runs of `offer` under its queues' limits, highest priority
    /// first, then the longest due.
    fn claim(&self, offer: &ClaimOffer) -> Claimed {
        let now = SystemTime::now();
        let runs: Vec<_> = self.runs().values().cloned().collect();
        let mut admission = Admission::new(offer, |queue| {
            let since = queue
                .rate()
                .and_then(|rate| now.checked_sub(rate.per))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let (mut in_flight, mut started) = (0, 0);
            for run in &runs {
                let (flying, recent) = run.in_queue(queue.name(), since);
                in_flight += usize::from(flying);
                started += usize::from(recent);
            }
            Ok::<_, std::convert::Infallible>((in_flight, started))
        })
        .unwrap_or_else(|never| match never {});
        let mut claimed = Claimed::default();
        let mut candidates = Vec::new();
        for run in runs {
            match run.candidate(offer, now) {
                Ok(candidate) => candidates.push((candidate, run)),
                Err(Some(due)) => {
                    claimed.next_due = Some(claimed.next_due.map_or(due, |next| next.min(due)));
                }
                Err(None) => {}
            }
        }
        candidates.sort_by(|(a, _), (b, _)| {
            (b.priority, a.due, a.created_at).cmp(&(a.priority, b.due, b.created_at))
        });
        for (candidate, run) in candidates {
            if claimed.runs.len() >= offer.limit {
                break;
            }
            if admission.admit(candidate.queue.as_deref(), candidate.started)
                && let Some(record) = run.take(now)
            {
                claimed.runs.push(record);
            }
        }
        claimed
    }

    fn get(&self, run: &RunId) -> Option<Arc<MemoryRun>> {
        self.runs().get(run).cloned()
    }

    /// The run, or [`StoreError::UnknownRun`].
    fn known(&self, run: &RunId) -> Result<Arc<MemoryRun>, StoreError> {
        self.get(run)
            .ok_or_else(|| StoreError::UnknownRun { run: run.clone() })
    }
}

impl Store for MemoryStore {
    fn worker(&self) -> &WorkerId {
        &self.worker
    }

    fn create_run(&self, run: RunRecord) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        Box::pin(async move {
            match self.runs().entry(run.id.clone()) {
                Entry::Occupied(_) => Err(StoreError::RunExists { run: run.id }),
                Entry::Vacant(slot) => {
                    let journal = Arc::new(MemoryRun::new(run, None));
                    slot.insert(Arc::clone(&journal));
                    Ok(journal as Arc<dyn RunWriter>)
                }
            }
        })
    }

    fn open_run(
        &self,
        run: &RunId,
    ) -> StoreFuture<'_, Option<(RunRecord, Vec<StepRecord>, Arc<dyn RunWriter>)>> {
        let run = run.clone();
        Box::pin(async move {
            Ok(self.get(&run).map(|journal| {
                let (record, steps) = journal.snapshot();
                (record, steps, journal as Arc<dyn RunWriter>)
            }))
        })
    }

    fn run(&self, run: &RunId) -> StoreFuture<'_, Option<RunRecord>> {
        let run = run.clone();
        Box::pin(async move { Ok(self.get(&run).map(|journal| journal.record())) })
    }

    fn journal(&self, run: &RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        let run = run.clone();
        Box::pin(async move {
            match self.get(&run) {
                Some(journal) => Ok(journal.snapshot().1),
                None => Err(StoreError::UnknownRun { run }),
            }
        })
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> StoreFuture<'_, ()> {
        let sent = self
            .known(run)
            .and_then(|found| found.send_signal(name, payload));
        if sent.is_ok() {
            let _ = self.notices.send(Notice::Signal(run.clone()));
        }
        Box::pin(std::future::ready(sent))
    }

    fn receive_signal(
        &self,
        run: &RunId,
        name: &str,
        key: &StepKey,
    ) -> StoreFuture<'_, Option<Value>> {
        let received = self.known(run).map(|found| found.receive_signal(name, key));
        Box::pin(std::future::ready(received))
    }

    fn request_cancel(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let asked = self
            .known(run)
            .and_then(|found| found.request_cancel(SystemTime::now()));
        if asked.is_ok() {
            let _ = self.notices.send(Notice::Cancel(run.clone()));
        }
        Box::pin(std::future::ready(asked))
    }

    fn cancel_requests(&self) -> StoreFuture<'_, Vec<RunId>> {
        let runs: Vec<_> = self.runs().values().cloned().collect();
        let asked = runs
            .iter()
            .filter(|run| run.held_with_cancel_requested())
            .map(|run| run.record().id)
            .collect();
        Box::pin(std::future::ready(Ok(asked)))
    }

    fn reopen_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        // Under the table lock, so that a retention sweep does not remove
        // the run while it comes back to life.
        let table = self.runs();
        let reopened = match table.get(run) {
            Some(found) => found.reopen(),
            None => Err(StoreError::UnknownRun { run: run.clone() }),
        };
        drop(table);
        Box::pin(std::future::ready(reopened))
    }

    fn begin_compensation(
        &self,
        run: &RunId,
        then: AfterCompensation,
    ) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        // Under the table lock, as `reopen_run`.
        let table = self.runs();
        let begun = match table.get(run) {
            Some(found) => found
                .begin_compensation(then)
                .map(|()| Arc::clone(found) as Arc<dyn RunWriter>),
            None => Err(StoreError::UnknownRun { run: run.clone() }),
        };
        drop(table);
        Box::pin(std::future::ready(begun))
    }

    fn list_runs(&self, status: Option<RunStatus>) -> StoreFuture<'_, Vec<RunRecord>> {
        let records = self.records(|record| status.is_none_or(|status| record.status() == status));
        Box::pin(std::future::ready(Ok(records)))
    }

    fn children(&self, run: &RunId) -> StoreFuture<'_, Vec<RunRecord>> {
        let records = self.records(|record| record.parent.as_ref() == Some(run));
        Box::pin(std::future::ready(Ok(records)))
    }

    fn remove_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(self.remove(run)))
    }

    fn apply_retention(&self, retention: &Retention, now: SystemTime) -> StoreFuture<'_, usize> {
        Box::pin(std::future::ready(Ok(self.sweep(retention, now))))
    }

    fn enqueue_run(&self, run: RunRecord, options: &Enqueue) -> StoreFuture<'_, Enqueued> {
        let enqueued = self.enqueue(run, options);
        if matches!(enqueued, Ok(Enqueued::New)) {
            let _ = self.notices.send(Notice::Runnable);
        }
        Box::pin(std::future::ready(enqueued))
    }

    fn claim_runs(&self, offer: &ClaimOffer) -> StoreFuture<'_, Claimed> {
        Box::pin(std::future::ready(Ok(self.claim(offer))))
    }

    fn fleet(&self) -> StoreFuture<'_, FleetStatus> {
        let runs: Vec<_> = self.runs().values().cloned().collect();
        let mut worker = WorkerStatus::new(self.worker.clone(), true);
        let mut queues = std::collections::BTreeMap::<Option<String>, QueueStatus>::new();
        for run in runs {
            let (queue, waiting, in_flight, held) = run.standing_in_fleet();
            if let Some(since) = held {
                worker.held_since(since);
            }
            if waiting || in_flight {
                let depth = queues
                    .entry(queue.clone())
                    .or_insert_with(|| QueueStatus::new(queue));
                depth.waiting += usize::from(waiting);
                depth.in_flight += usize::from(in_flight);
            }
        }
        let status = FleetStatus {
            workers: vec![worker],
            queues: queues.into_values().collect(),
        };
        Box::pin(std::future::ready(Ok(status)))
    }

    fn notices(&self) -> Option<broadcast::Receiver<Notice>> {
        Some(self.notices.subscribe())
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn list_schedules(&self) -> StoreFuture<'_, Vec<ScheduleRecord>> {
        let schedules = lock(&self.schedules).values().cloned().collect();
        Box::pin(std::future::ready(Ok(schedules)))
    }

    fn change_schedule(
        &self,
        name: &str,
        change: ScheduleChange,
    ) -> StoreFuture<'_, Option<ScheduleRecord>> {
        let mut schedules = lock(&self.schedules);
        let after = change.apply(schedules.remove(name));
        if let Some(record) = &after {
            schedules.insert(name.to_owned(), record.clone());
        }
        Box::pin(std::future::ready(Ok(after)))
    }

    fn default_retention(&self) -> Retention {
        Retention::in_memory()
    }
}

/// Locks `mutex`; the data stays consistent even if a holder panicked, since
/// every update is a single insert or assignment.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
