//! One run of the in-memory store, and its journal.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::key_hash::BuildKeyHasher;
use super::lock;
use crate::store::{Journal, RunOutcome, RunRecord, StepOutcome, StepRecord, StoreFuture};
use crate::{StepKey, StoreError};

/// One run in a [`MemoryStore`](super::MemoryStore); also its [`Journal`].
#[derive(Debug)]
pub(super) struct MemoryRun {
    state: Mutex<RunState>,
}

#[derive(Debug)]
struct RunState {
    record: RunRecord,
    /// Keyed for the duplicate check; `seq` keeps the write order.
    steps: HashMap<StepKey, JournalEntry, BuildKeyHasher>,
}

/// A [`StepRecord`] without its key (which is the map key).
#[derive(Debug)]
struct JournalEntry {
    seq: usize,
    outcome: StepOutcome,
    attempts: u32,
    started_at: SystemTime,
    finished_at: SystemTime,
}

impl MemoryRun {
    pub(super) fn new(record: RunRecord) -> Self {
        Self {
            state: Mutex::new(RunState {
                record,
                steps: HashMap::default(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, RunState> {
        lock(&self.state)
    }

    /// A copy of the run's record.
    pub(super) fn record(&self) -> RunRecord {
        self.state().record.clone()
    }

    /// The record and the journal in write order.
    pub(super) fn snapshot(&self) -> (RunRecord, Vec<StepRecord>) {
        let state = self.state();
        let mut entries: Vec<_> = state.steps.iter().collect();
        entries.sort_unstable_by_key(|(_, entry)| entry.seq);
        let steps = entries
            .into_iter()
            .map(|(key, entry)| StepRecord {
                key: key.clone(),
                outcome: entry.outcome.clone(),
                attempts: entry.attempts,
                started_at: entry.started_at,
                finished_at: entry.finished_at,
            })
            .collect();
        (state.record.clone(), steps)
    }

    fn append(&self, record: StepRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        let state = &mut *state;
        if state.record.outcome.is_some() {
            return Err(StoreError::RunFinished {
                run: state.record.id.clone(),
            });
        }
        let seq = state.steps.len();
        let StepRecord {
            key,
            outcome,
            attempts,
            started_at,
            finished_at,
        } = record;
        match state.steps.entry(key) {
            Entry::Occupied(slot) => Err(StoreError::DuplicateStep {
                run: state.record.id.clone(),
                step: slot.key().clone(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(JournalEntry {
                    seq,
                    outcome,
                    attempts,
                    started_at,
                    finished_at,
                });
                Ok(())
            }
        }
    }

    fn close(&self, outcome: RunOutcome) -> Result<(), StoreError> {
        let mut state = self.state();
        let record = &mut state.record;
        if record.outcome.is_some() {
            return Err(StoreError::RunFinished {
                run: record.id.clone(),
            });
        }
        record.status = outcome.status();
        record.outcome = Some(outcome);
        record.finished_at = Some(SystemTime::now());
        Ok(())
    }
}

impl Journal for MemoryRun {
    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.append(record) })
    }

    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.close(outcome) })
    }
}
