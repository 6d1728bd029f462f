//! Ownership of runs: workers and the leases they hold.
//!
//! A run has exactly one owner at a time, whatever the store: the worker
//! whose lease it holds. A lease is the worker's id plus an *epoch*, a number
//! the store raises every time another worker claims the run. Every write a
//! run's [`RunWriter`](super::RunWriter) makes (a step's entry, how the run ended,
//! the start of its rollback, a received signal) is checked against the
//! epoch it was opened with, in the same transaction as the write: once the run
//! was taken over, the old owner's writes are refused with
//! [`StoreError::LeaseLost`](crate::StoreError::LeaseLost) and it drops the
//! run, so no step is journaled twice and nothing is rolled back for a write
//! that lost the race.
//!
//! The protocol, one for every store:
//!
//! - **claim**: [`Store::create_run`](super::Store::create_run) gives the new
//!   run to the store's worker; [`Store::open_run`](super::Store::open_run),
//!   [`Store::reopen_run`](super::Store::reopen_run) and
//!   [`Store::begin_compensation`](super::Store::begin_compensation) claim an
//!   unfinished run for it when no other live worker holds it, and refuse with
//!   [`StoreError::LeaseHeld`](crate::StoreError::LeaseHeld) naming the holder
//!   otherwise;
//! - **take over**: a lease whose worker is gone (its process exited or was
//!   killed) is claimed at once by the next worker that asks;
//! - **release**: recording how the run ended releases its lease.
//!
//! - **hand back**: [`RunWriter::release`](super::RunWriter::release) gives
//!   up the lease without ending the run (it sleeps, or its worker drains):
//!   the run is claimable again from its wake-up time;
//! - **claim due runs**: [`Store::claim_runs`](super::Store::claim_runs)
//!   takes, for a worker, the due runs of the definitions it has: enqueued
//!   ones ([`Store::enqueue_run`](super::Store::enqueue_run)), handed-back
//!   ones whose time came, and those of workers that are gone. Workers
//!   claiming at once get disjoint runs.
//!
//! A store instance is one worker, and stores differ only in how a worker's
//! liveness is known:
//!
//! - **SQLite, one machine: file locks.**
//!   [`SqliteStore::open`](super::SqliteStore::open) registers a new worker
//!   for the process that opened the file (clones of the store share it), so
//!   several processes can share one file and each run is driven by one of
//!   them. A worker's liveness is its lock on a file beside the database,
//!   which the operating system releases when the process dies, so takeover
//!   needs no expiry and no heartbeat.
//! - **PostgreSQL, many machines: expiring worker leases.** Each `PgStore`
//!   (feature `postgres`) has a row in the schema's `workers` table, alive
//!   while its `expires_at` is ahead of the *database's* clock; the store
//!   renews it (`now() + lease`) every third of its lease. A worker that
//!   dies, freezes or is cut off stops renewing, and its runs may be taken
//!   over one lease after its last renewal. The claim locks the run's row
//!   (`FOR UPDATE`); every fenced write reads the row `FOR SHARE` in its own
//!   statement, so a takeover and a write in flight are ordered: the write
//!   commits first and the new owner reads it, or it waits and is refused.
//!   A worker learns that its own lease lapsed (a renewal found its row
//!   expired, or none was confirmed for a whole lease) from the store's
//!   [`Store::lease_expiries`](super::Store::lease_expiries) count, and the
//!   engine halts its runs: they may be running elsewhere already. Closing the store (or dropping its last clone)
//!   deletes its row, so its unfinished runs can be claimed at once.
//! - A [`MemoryStore`](super::MemoryStore) lives in one process and is one
//!   worker.
//!
//! One protocol either way: claim, fence by epoch, take over the dead,
//! release at the end.
//!
//! An [`Engine`](crate::Engine) becomes a worker of its store for the
//! workflows it [registers](crate::Engine::register): it claims their runs
//! in a loop woken by the store's [`Notice`]s and polls otherwise.

use std::fmt;
use std::sync::Arc;

/// The id of a worker: one store instance that claims and drives runs.
///
/// A fresh, time-ordered id per worker, so a restarted process is a new
/// worker and never mistakes a dead predecessor's leases for its own.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(Arc<str>);

impl WorkerId {
    /// A new, unique worker id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string().into())
    }

    /// A worker id with the given text (as read back from a store).
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkerId({})", self.0)
    }
}

/// What a worker offers to run when it claims: the workflow definitions it
/// has, the queues it serves, and how many more runs it can take now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimOffer {
    /// `(workflow name, definition hash)` pairs: a run is offered only if
    /// its workflow and the hash it was started under are one of them.
    pub definitions: Vec<(String, u64)>,
    /// The named queues served, with their limits; runs of the default
    /// queue are always offered, runs of other queues never.
    pub queues: Vec<super::Queue>,
    /// The most runs to claim.
    pub limit: usize,
}

impl ClaimOffer {
    /// An offer of up to `limit` runs of `definitions`, from the default
    /// queue only.
    pub fn new(definitions: Vec<(String, u64)>, limit: usize) -> Self {
        Self {
            definitions,
            queues: Vec::new(),
            limit,
        }
    }

    /// This offer, serving `queues` too.
    #[must_use]
    pub fn with_queues(mut self, queues: Vec<super::Queue>) -> Self {
        self.queues = queues;
        self
    }

    /// Whether runs of queue `queue` are offered (`None`: the default queue,
    /// always).
    pub fn serves(&self, queue: Option<&str>) -> bool {
        queue.is_none_or(|name| self.queue_named(name).is_some())
    }

    /// The served queue named `name`, with its limits.
    pub fn queue_named(&self, name: &str) -> Option<&super::Queue> {
        self.queues.iter().find(|queue| queue.name() == name)
    }

    /// Whether a run of `workflow` started under `hash` is offered.
    pub fn takes(&self, workflow: &str, hash: u64) -> bool {
        self.definitions
            .iter()
            .any(|(name, known)| name == workflow && *known == hash)
    }
}

/// What [`Store::claim_runs`](super::Store::claim_runs) claimed.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Claimed {
    /// The runs now owned by the claiming worker, oldest first.
    pub runs: Vec<super::RunRecord>,
    /// When the next run of the offer becomes due, if one waits for a time.
    pub next_due: Option<std::time::SystemTime>,
}

/// What a store tells its workers as it happens (see
/// [`Store::notices`](super::Store::notices)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A run may be claimable: one was enqueued or handed back.
    Runnable,
    /// A signal was sent to the run.
    Signal(crate::RunId),
    /// The run ended, and a waiter had asked to hear of it
    /// ([`Store::watch_end`](super::Store::watch_end)).
    Ended(crate::RunId),
    /// Cancelling the run was asked
    /// ([`Store::request_cancel`](super::Store::request_cancel)): its owner
    /// stops it; if no worker holds it, it is claimable now.
    Cancel(crate::RunId),
}
