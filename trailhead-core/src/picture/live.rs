//! What the engine knows about a run's steps that the journal does not yet:
//! the attempts running now (a step's or a compensation's), the retries
//! waiting, the steps replayed.
//!
//! One small table per run driven here (the engine's `LiveRun` holds
//! it), updated where the step events are emitted. Cheap by design: one
//! uncontended lock to take a slot when a step's first attempt begins, one
//! to give it back when the step settles.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

use crate::StepKey;
use crate::key::KeyRef;

/// The live part of one step execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LiveStep {
    /// The attempt running, or the one that failed while `retry` is set.
    pub attempt: u32,
    /// Set between a failed attempt and the next one.
    pub retry: Option<LiveRetry>,
}

/// A failed attempt waiting for its retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LiveRetry {
    /// The wait before the next attempt.
    pub delay: Duration,
    /// The failure's text.
    pub error: String,
}

/// A snapshot of a run's live steps, for
/// [`RunPicture::build`](super::RunPicture::build).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveState {
    /// The steps with an attempt running or a retry waiting, by key (a
    /// compensation's by its `undo:` key).
    pub running: HashMap<StepKey, LiveStep>,
    /// The steps whose outcome this engine took from the journal.
    pub replayed: HashSet<StepKey>,
}

/// A run's live steps.
///
/// Running attempts sit in slots (a free list over a `Vec`), so that a step
/// takes one and gives it back by index: no hashing and, for keys at most
/// three loops deep, no allocation on the step path.
#[derive(Debug, Default)]
pub(crate) struct LiveSteps(Mutex<Table>);

#[derive(Debug, Default)]
struct Table {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    replayed: HashSet<StepKey>,
    /// Compensations running, by their `undo:` key: rare, and their keys
    /// are owned, so a map rather than slots.
    undoing: HashMap<StepKey, LiveStep>,
}

#[derive(Debug)]
struct Slot {
    name: &'static str,
    path: Path,
    step: LiveStep,
}

/// A key's path, inline when short.
#[derive(Debug)]
enum Path {
    Inline { len: u8, items: [u32; 3] },
    Heap(Box<[u32]>),
}

impl Path {
    fn of(path: &[u32]) -> Self {
        match path.len() {
            len @ 0..=3 => {
                let mut items = [0; 3];
                items[..len].copy_from_slice(path);
                Self::Inline {
                    len: u8::try_from(len).unwrap_or(3),
                    items,
                }
            }
            _ => Self::Heap(path.into()),
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Self::Inline { len, items } => &items[..usize::from(*len)],
            Self::Heap(items) => items,
        }
    }
}

/// Where a step's attempts sit in the table: none yet.
pub(crate) const NO_SLOT: usize = usize::MAX;

impl LiveSteps {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attempt `attempt` of step `key` began; `slot` is where its attempts
    /// sit ([`NO_SLOT`] before the first), returned updated.
    pub(crate) fn started(&self, key: KeyRef<'_>, attempt: u32, slot: usize) -> usize {
        let step = LiveStep {
            attempt,
            retry: None,
        };
        let mut table = self.lock();
        if let Some(Some(held)) = table.slots.get_mut(slot) {
            held.step = step;
            return slot;
        }
        let held = Slot {
            name: key.name,
            path: Path::of(key.path),
            step,
        };
        match table.free.pop() {
            Some(free) => {
                table.slots[free] = Some(held);
                free
            }
            None => {
                table.slots.push(Some(held));
                table.slots.len() - 1
            }
        }
    }

    /// The attempt in `slot` failed; the next begins after `delay`.
    pub(crate) fn retrying(&self, slot: usize, delay: Duration, error: String) {
        if let Some(Some(held)) = self.lock().slots.get_mut(slot) {
            held.step.retry = Some(LiveRetry { delay, error });
        }
    }

    /// The step in `slot` settled (or was stopped): the journal says the rest.
    pub(crate) fn ended(&self, slot: usize) {
        let mut table = self.lock();
        if let Some(held) = table.slots.get_mut(slot)
            && held.take().is_some()
        {
            table.free.push(slot);
        }
    }

    /// Step `key`'s outcome was taken from the journal.
    pub(crate) fn replayed(&self, key: &StepKey) {
        self.lock().replayed.insert(key.clone());
    }

    /// Watches the compensation journaled under `undo` (an `undo:` key)
    /// until the guard drops; its attempts are told to the guard.
    pub(crate) fn watch_undo(&self, undo: StepKey) -> UndoWatch<'_> {
        UndoWatch { steps: self, undo }
    }

    /// Watches a wait (a sleep, a signal) as a running attempt until the
    /// guard drops.
    pub(crate) fn watch(&self, key: KeyRef<'_>) -> Watch<'_> {
        let slot = self.started(key, 1, NO_SLOT);
        Watch { steps: self, slot }
    }

    /// What is live now.
    pub(crate) fn snapshot(&self) -> LiveState {
        let table = self.lock();
        let running = table
            .slots
            .iter()
            .flatten()
            .map(|held| {
                let key = StepKey::new(held.name, held.path.as_slice());
                (key, held.step.clone())
            })
            .chain(
                table
                    .undoing
                    .iter()
                    .map(|(key, step)| (key.clone(), step.clone())),
            )
            .collect();
        LiveState {
            running,
            replayed: table.replayed.clone(),
        }
    }
}

/// Ends a watched wait when dropped (whether it finished or was stopped).
#[derive(Debug)]
pub(crate) struct Watch<'a> {
    steps: &'a LiveSteps,
    slot: usize,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.steps.ended(self.slot);
    }
}

/// A compensation being run, live until dropped.
#[derive(Debug)]
pub(crate) struct UndoWatch<'a> {
    steps: &'a LiveSteps,
    undo: StepKey,
}

impl UndoWatch<'_> {
    /// Its attempt `attempt` began.
    pub(crate) fn started(&self, attempt: u32) {
        let step = LiveStep {
            attempt,
            retry: None,
        };
        self.steps.lock().undoing.insert(self.undo.clone(), step);
    }

    /// Its attempt failed; the next begins after `delay`.
    pub(crate) fn retrying(&self, delay: Duration, error: String) {
        if let Some(step) = self.steps.lock().undoing.get_mut(&self.undo) {
            step.retry = Some(LiveRetry { delay, error });
        }
    }
}

impl Drop for UndoWatch<'_> {
    fn drop(&mut self) {
        self.steps.lock().undoing.remove(&self.undo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_live_until_its_step_ends() {
        let steps = LiveSteps::default();
        let key = KeyRef {
            name: "charge",
            path: &[2],
        };
        let slot = steps.started(key, 1, NO_SLOT);
        steps.retrying(slot, Duration::from_secs(1), "down".to_owned());
        let live = steps.snapshot();
        let step = &live.running[&StepKey::new("charge", &[2])];
        assert_eq!(step.attempt, 1);
        assert_eq!(step.retry.as_ref().unwrap().error, "down");
        assert_eq!(steps.started(key, 2, slot), slot);
        assert_eq!(steps.snapshot().running[&key.to_key()].retry, None);
        steps.ended(slot);
        steps.ended(slot);
        assert!(steps.snapshot().running.is_empty());
        assert_eq!(
            steps.started(key, 1, NO_SLOT),
            slot,
            "a freed slot is taken again"
        );
        steps.ended(slot);
        let deep = KeyRef {
            name: "deep",
            path: &[1, 2, 3, 4],
        };
        {
            let _watch = steps.watch(deep);
            let again = steps.started(key, 1, NO_SLOT);
            let live = steps.snapshot();
            assert!(live.running.contains_key(&deep.to_key()));
            assert!(live.running.contains_key(&key.to_key()));
            steps.ended(again);
        }
        assert!(steps.snapshot().running.is_empty());
    }

    #[test]
    fn a_compensation_is_live_under_its_undo_key_until_it_ends() {
        let steps = LiveSteps::default();
        let undo = StepKey::new("charge", &[1]).undo();
        {
            let watch = steps.watch_undo(undo.clone());
            assert!(steps.snapshot().running.is_empty(), "no attempt yet");
            watch.started(1);
            watch.retrying(Duration::from_millis(5), "busy".to_owned());
            let live = steps.snapshot();
            assert_eq!(live.running[&undo].retry.as_ref().unwrap().error, "busy");
            watch.started(2);
            let live = steps.snapshot();
            assert_eq!(live.running[&undo].attempt, 2);
            assert_eq!(live.running[&undo].retry, None);
        }
        assert!(steps.snapshot().running.is_empty());
    }
}
