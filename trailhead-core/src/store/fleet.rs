//! What a store knows of its fleet: the workers, the runs each holds and
//! since when, and how many runs wait in each queue
//! ([`Store::fleet`](super::Store::fleet), shown by
//! [`Engine::health`](crate::Engine::health)).

use std::time::SystemTime;

use super::WorkerId;

/// The workers of a store and its queues, as the store sees them now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetStatus {
    /// Every worker known to the store: alive, or gone but still holding
    /// runs (to be taken over), ordered by id.
    pub workers: Vec<WorkerStatus>,
    /// Every queue with runs waiting or in flight; the default queue is
    /// `None`.
    pub queues: Vec<QueueStatus>,
}

/// One worker of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStatus {
    /// The worker.
    pub worker: WorkerId,
    /// Whether it is alive (its lock is held, or its lease unexpired).
    pub alive: bool,
    /// How many unfinished runs it holds.
    pub runs: usize,
    /// When it claimed the run it has held longest, if it holds any.
    pub oldest_lease: Option<SystemTime>,
}

/// One queue's depth.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStatus {
    /// The queue; `None` for the default one.
    pub queue: Option<String>,
    /// Runs enqueued and never claimed yet.
    pub waiting: usize,
    /// Runs claimed at least once and not ended (a sleeping one counts).
    pub in_flight: usize,
}

impl WorkerStatus {
    /// Worker `worker`, holding nothing yet.
    pub fn new(worker: WorkerId, alive: bool) -> Self {
        Self {
            worker,
            alive,
            runs: 0,
            oldest_lease: None,
        }
    }

    /// Counts a run it has held since `since`.
    pub fn held_since(&mut self, since: SystemTime) {
        self.runs += 1;
        self.oldest_lease = Some(self.oldest_lease.map_or(since, |oldest| oldest.min(since)));
    }
}

impl QueueStatus {
    /// Queue `queue` (`None`: the default one), empty.
    pub fn new(queue: Option<String>) -> Self {
        Self {
            queue,
            waiting: 0,
            in_flight: 0,
        }
    }
}
