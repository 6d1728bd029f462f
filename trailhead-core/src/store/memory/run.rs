//! One run of the in-memory store, and its journal.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::key_hash::BuildKeyHasher;
use super::lock;
use crate::store::{
    AfterCompensation, ClaimOffer, Enqueue, RunOutcome, RunRecord, RunState, RunStatus, RunWriter,
    StepOutcome, StepRecord, StoreFuture, Value,
};
use crate::{RunId, StepKey, StoreError};

/// One run in a [`MemoryStore`](super::MemoryStore); also its [`RunWriter`].
#[derive(Debug)]
pub(super) struct MemoryRun {
    state: Mutex<Kept>,
}

/// Everything kept of the run, behind its mutex.
#[derive(Debug)]
struct Kept {
    record: RunRecord,
    /// Signals sent to the run, in order, with the step that received each.
    signals: Vec<Signal>,
    /// Failed step entries moved out of the journal when the run was retried.
    retired: Vec<StepRecord>,
    /// The journal, in write order.
    steps: Vec<StepRecord>,
    /// Key hash → position of the first record with that hash, for the
    /// duplicate check. Two keys sharing a hash (rare) fall back to a scan.
    by_hash: HashMap<u64, usize, BuildHasherDefault<IdentityHasher>>,
    /// Left for a worker to claim from this time on (enqueued, or handed
    /// back); `None` while the store's worker drives it.
    claimable_from: Option<SystemTime>,
    /// Its queue, priority and deduplication key.
    queued: Enqueue,
    /// When a worker first claimed it (or it was started), for the queue's
    /// limits; `None` while it waits in its queue.
    started_at: Option<SystemTime>,
    /// When the worker last claimed it.
    claimed_at: Option<SystemTime>,
}

/// A due run a claim may take, and what orders and admits it.
pub(super) struct Candidate {
    pub(super) priority: i32,
    pub(super) due: SystemTime,
    pub(super) created_at: SystemTime,
    pub(super) queue: Option<String>,
    pub(super) started: bool,
}

/// A signal sent to a run.
#[derive(Debug)]
struct Signal {
    name: String,
    payload: Value,
    received_by: Option<StepKey>,
}

/// The hash of a key is already a hash: the index map uses it as it is.
#[derive(Clone, Copy, Debug, Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8) | u64::from(byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl MemoryRun {
    /// A run driven by the store's worker (started now), or one enqueued
    /// with `queued`, claimable from `claimable_from`.
    pub(super) fn new(record: RunRecord, enqueued: Option<(SystemTime, Enqueue)>) -> Self {
        let (claimable_from, queued, started_at) = match enqueued {
            Some((from, queued)) => (Some(from), queued, None),
            None => (None, Enqueue::default(), Some(record.created_at)),
        };
        Self {
            state: Mutex::new(Kept {
                record,
                steps: Vec::new(),
                by_hash: HashMap::default(),
                signals: Vec::new(),
                retired: Vec::new(),
                claimable_from,
                queued,
                started_at,
                claimed_at: started_at,
            }),
        }
    }

    /// The run as a claim of `offer` sees it at `now`: a candidate if it is
    /// due, else when it becomes due (if it waits for a time).
    pub(super) fn candidate(
        &self,
        offer: &ClaimOffer,
        now: SystemTime,
    ) -> Result<Candidate, Option<SystemTime>> {
        let state = self.state();
        let record = &state.record;
        let offered = record.parent.is_none()
            && !record.state.is_ended()
            && offer.takes(&record.workflow, record.definition_hash)
            && offer.serves(state.queued.queue());
        match state.claimable_from {
            Some(due) if offered && due <= now => Ok(Candidate {
                priority: state.queued.priority(),
                due,
                created_at: record.created_at,
                queue: state.queued.queue().map(str::to_owned),
                started: state.started_at.is_some(),
            }),
            Some(due) if offered => Err(Some(due)),
            _ => Err(None),
        }
    }

    /// Claims the run if it is still claimable: its record.
    pub(super) fn take(&self, now: SystemTime) -> Option<RunRecord> {
        let mut state = self.state();
        state.claimable_from.take()?;
        state.started_at.get_or_insert(now);
        state.claimed_at = Some(now);
        Some(state.record.clone())
    }

    /// How the run counts in the fleet's status: its queue, whether it waits
    /// in it, whether it is in flight, and since when the worker holds it
    /// (`None` if it is not held).
    pub(super) fn standing_in_fleet(&self) -> (Option<String>, bool, bool, Option<SystemTime>) {
        let state = self.state();
        let unfinished = !state.record.state.is_ended();
        let held = (unfinished && state.claimable_from.is_none())
            .then_some(state.claimed_at)
            .flatten();
        (
            state.queued.queue().map(str::to_owned),
            unfinished && state.started_at.is_none(),
            unfinished && state.started_at.is_some(),
            held,
        )
    }

    /// Whether the run, if of queue `queue`, is in flight, and whether it
    /// started at `since` or later.
    pub(super) fn in_queue(&self, queue: &str, since: SystemTime) -> (bool, bool) {
        let state = self.state();
        if state.queued.queue() != Some(queue) {
            return (false, false);
        }
        let started = state.started_at;
        (
            started.is_some() && !state.record.state.is_ended(),
            started.is_some_and(|at| at >= since),
        )
    }

    /// The run's queue and deduplication key, if it has a key.
    pub(super) fn dedup(&self) -> Option<(Option<String>, String)> {
        let state = self.state();
        let key = state.queued.dedup_key()?.to_owned();
        Some((state.queued.queue().map(str::to_owned), key))
    }

    fn state(&self) -> MutexGuard<'_, Kept> {
        lock(&self.state)
    }

    /// A copy of the run's record.
    pub(super) fn record(&self) -> RunRecord {
        self.state().record.clone()
    }

    /// A copy of the run's record, if `keep` keeps it (nothing is copied
    /// otherwise).
    pub(super) fn record_if(&self, keep: impl Fn(&RunRecord) -> bool) -> Option<RunRecord> {
        let state = self.state();
        keep(&state.record).then(|| state.record.clone())
    }

    /// The run's parent, status and finish time: what retention looks at.
    pub(super) fn standing(&self) -> (Option<RunId>, RunStatus, Option<SystemTime>) {
        let state = self.state();
        let record = &state.record;
        (record.parent.clone(), record.status(), record.finished_at())
    }

    /// The record and the journal in write order.
    pub(super) fn snapshot(&self) -> (RunRecord, Vec<StepRecord>) {
        let state = self.state();
        (state.record.clone(), state.steps.clone())
    }

    /// Appends `record`; one under a key journaled already is refused,
    /// unless `replace` (a stream loop's checkpoint), when it takes that
    /// entry's place.
    fn write(&self, record: StepRecord, replace: bool) -> Result<(), StoreError> {
        let mut state = self.state();
        let state = &mut *state;
        if state.record.state.is_ended() {
            return Err(StoreError::RunFinished {
                run: state.record.id.clone(),
            });
        }
        let hash = BuildKeyHasher::default().hash_one(&record.key);
        // One probe of the index: a new hash (nearly every write) is
        // inserted by the same lookup that finds it absent.
        let first = match state.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(state.steps.len());
                state.steps.push(record);
                return Ok(());
            }
            std::collections::hash_map::Entry::Occupied(occupied) => *occupied.get(),
        };
        let found = state.steps[first..]
            .iter()
            .position(|step| step.key == record.key)
            .map(|at| first + at);
        match found {
            Some(at) if replace => state.steps[at] = record,
            Some(_) => {
                return Err(StoreError::DuplicateStep {
                    run: state.record.id.clone(),
                    step: record.key,
                });
            }
            None => state.steps.push(record),
        }
        Ok(())
    }

    /// Starts the run's next generation (see `RunWriter::continue_as_new`).
    fn next_generation(&self, input: Value, marker: StepRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        let state = &mut *state;
        if state.record.state.is_ended() {
            return Err(StoreError::RunFinished {
                run: state.record.id.clone(),
            });
        }
        state.steps.clear();
        state.by_hash.clear();
        state.retired.clear();
        state.signals.retain(|signal| signal.received_by.is_none());
        state.record.input = input;
        let hash = BuildKeyHasher::default().hash_one(&marker.key);
        state.by_hash.insert(hash, 0);
        state.steps.push(marker);
        Ok(())
    }

    pub(super) fn send_signal(&self, name: &str, payload: Value) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.record.state != RunState::Running {
            return Err(StoreError::RunFinished {
                run: state.record.id.clone(),
            });
        }
        state.signals.push(Signal {
            name: name.to_owned(),
            payload,
            received_by: None,
        });
        Ok(())
    }

    /// Records that cancelling the run was asked at `now`; a run handed
    /// back to sleep is claimable at once.
    pub(super) fn request_cancel(&self, now: SystemTime) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.record.state.is_ended() {
            return Err(StoreError::RunFinished {
                run: state.record.id.clone(),
            });
        }
        state.record.cancel_requested = true;
        if let Some(due) = &mut state.claimable_from {
            *due = (*due).min(now);
        }
        Ok(())
    }

    /// Whether the store's worker holds the run, running, with a cancel
    /// asked.
    pub(super) fn held_with_cancel_requested(&self) -> bool {
        let state = self.state();
        state.claimable_from.is_none()
            && state.record.cancel_requested
            && state.record.state == RunState::Running
    }

    pub(super) fn receive_signal(&self, name: &str, key: &StepKey) -> Option<Value> {
        let mut state = self.state();
        if let Some(signal) = state
            .signals
            .iter()
            .find(|s| s.received_by.as_ref() == Some(key))
        {
            return Some(signal.payload.clone());
        }
        let signal = state
            .signals
            .iter_mut()
            .find(|s| s.name == name && s.received_by.is_none())?;
        signal.received_by = Some(key.clone());
        Some(signal.payload.clone())
    }

    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let mut state = self.state();
        let state = &mut *state;
        if !matches!(
            state.record.status(),
            RunStatus::Failed | RunStatus::Cancelled | RunStatus::Compensated
        ) {
            return Err(StoreError::NotEnded {
                run: state.record.id.clone(),
            });
        }
        // Failed steps run again; so do compensated ones, whose effect was
        // undone: their entries and their compensations' are retired too.
        let undone: Vec<StepKey> = state.steps.iter().filter_map(|s| s.key.undone()).collect();
        let (failed, kept): (Vec<StepRecord>, Vec<StepRecord>) = std::mem::take(&mut state.steps)
            .into_iter()
            .partition(|step| {
                matches!(step.outcome, StepOutcome::Failed(_))
                    || step.key.is_undo()
                    || undone.contains(&step.key)
            });
        state.retired.extend(failed);
        state.by_hash.clear();
        for (index, step) in kept.iter().enumerate() {
            let hash = BuildKeyHasher::default().hash_one(&step.key);
            state.by_hash.entry(hash).or_insert(index);
        }
        state.steps = kept;
        state.record.state = RunState::Running;
        state.record.cancel_requested = false;
        Ok(())
    }

    pub(super) fn begin_compensation(&self, then: AfterCompensation) -> Result<(), StoreError> {
        let mut state = self.state();
        let record = &mut state.record;
        match record.state {
            // A resumed rollback keeps the end it recorded first.
            RunState::Compensating(_) => {}
            RunState::Running => record.state = RunState::Compensating(then),
            // Only a child run is undone after it completed (its parent's
            // rollback); a top-level run that completed stays completed.
            RunState::Ended {
                outcome: RunOutcome::Completed(_),
                ..
            } if record.parent.is_some() => record.state = RunState::Compensating(then),
            RunState::Ended { .. } => {
                return Err(StoreError::RunFinished {
                    run: record.id.clone(),
                });
            }
        }
        Ok(())
    }

    fn close(&self, outcome: RunOutcome) -> Result<(), StoreError> {
        let mut state = self.state();
        let record = &mut state.record;
        if record.state.is_ended() {
            return Err(StoreError::RunFinished {
                run: record.id.clone(),
            });
        }
        record.state = RunState::ended(outcome, SystemTime::now());
        Ok(())
    }
}

impl RunWriter for MemoryRun {
    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.write(record, false) })
    }

    fn record_step_now(&self, record: StepRecord) -> Result<Result<(), StoreError>, StepRecord> {
        Ok(self.write(record, false))
    }

    fn record_checkpoint(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.write(record, true) })
    }

    fn continue_as_new(&self, input: Value, marker: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.next_generation(input, marker) })
    }

    fn release(&self, wake_at: Option<SystemTime>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut state = self.state();
            if state.record.state.is_ended() {
                return Err(StoreError::RunFinished {
                    run: state.record.id.clone(),
                });
            }
            state.claimable_from = Some(wake_at.unwrap_or_else(SystemTime::now));
            Ok(())
        })
    }

    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.close(outcome) })
    }
}
