//! Queues and flow control for enqueued runs: named queues with a limit on
//! the runs in flight across every worker, a rate of runs started, a
//! priority per run, and a deduplication key.
//!
//! A queue is declared on each worker that serves it
//! ([`EngineBuilder::queue`](crate::EngineBuilder::queue)), with the same
//! limits everywhere: the limits are enforced by the store when a worker
//! claims, counting the runs of every worker, so they hold for the fleet
//! together. A run enqueued to a queue is claimed only by workers that
//! declare it; runs enqueued without one (the default queue) have no limits.
//!
//! - **Concurrency**: at most this many runs of the queue are in flight (claimed
//!   at least once and not ended; a run that sleeps still counts).
//! - **Rate**: at most `runs` runs of the queue start (are claimed for the
//!   first time) in any window of `per`.
//! - **Priority**: among due runs, higher priorities are claimed first, then
//!   the oldest.
//! - **Deduplication key**: a second enqueue to the same queue with the same
//!   key gives the run the first one made (while that run is kept), so
//!   enqueuing a business id twice starts one run.

use std::time::Duration;

/// The queue an engine with a limit on its runs in flight
/// ([`EngineBuilder::max_runs_in_flight`](crate::EngineBuilder::max_runs_in_flight))
/// records the runs it starts beyond the limit in. Every engine serves it,
/// without limits of its own; the name is reserved (a queue declared with it
/// is ignored).
pub const ADMISSION_QUEUE: &str = "trailhead.admission";

/// A named queue and its limits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::store::Queue;
///
/// // Ten emails in flight at most, fifty started per thirty seconds.
/// let emails = Queue::new("emails")
///     .with_concurrency(10)
///     .with_rate(50, Duration::from_secs(30));
/// assert_eq!(emails.name(), "emails");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    name: String,
    concurrency: Option<usize>,
    rate: Option<Rate>,
}

/// At most `runs` runs started per window of `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rate {
    /// Runs started per window.
    pub runs: u32,
    /// The window.
    pub per: Duration,
}

impl Queue {
    /// A queue named `name`, without limits.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            concurrency: None,
            rate: None,
        }
    }

    /// At most `runs` runs of the queue in flight across the fleet (0 is
    /// taken as 1).
    #[must_use]
    pub fn with_concurrency(mut self, runs: usize) -> Self {
        self.concurrency = Some(runs.max(1));
        self
    }

    /// At most `runs` runs of the queue started per `per` across the fleet
    /// (`runs` 0 is taken as 1, `per` at least 1 ms).
    #[must_use]
    pub fn with_rate(mut self, runs: u32, per: Duration) -> Self {
        self.rate = Some(Rate {
            runs: runs.max(1),
            per: per.max(Duration::from_millis(1)),
        });
        self
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit on runs in flight, if any.
    pub fn concurrency(&self) -> Option<usize> {
        self.concurrency
    }

    /// The limit on runs started per window, if any.
    pub fn rate(&self) -> Option<Rate> {
        self.rate
    }
}

/// Where and how a run is enqueued: its queue, priority and deduplication
/// key ([`Engine::enqueue_with`](crate::Engine::enqueue_with)).
///
/// # Examples
///
/// ```
/// use trailhead_core::store::Enqueue;
///
/// let options = Enqueue::to("emails").with_priority(10).with_dedup_key("welcome:ada");
/// assert_eq!(options.queue(), Some("emails"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enqueue {
    queue: Option<String>,
    priority: i32,
    dedup_key: Option<String>,
}

impl Enqueue {
    /// The default queue, priority 0, no key.
    pub fn new() -> Self {
        Self::default()
    }

    /// To queue `queue`.
    pub fn to(queue: impl Into<String>) -> Self {
        Self {
            queue: Some(queue.into()),
            ..Self::default()
        }
    }

    /// Claimed before due runs of lower priority (default 0).
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// A second enqueue with `key` to the same queue gives this run.
    #[must_use]
    pub fn with_dedup_key(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    /// The queue, `None` for the default one.
    pub fn queue(&self) -> Option<&str> {
        self.queue.as_deref()
    }

    /// The priority.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// The deduplication key, if any.
    pub fn dedup_key(&self) -> Option<&str> {
        self.dedup_key.as_deref()
    }
}

/// What [`Store::enqueue_run`](super::Store::enqueue_run) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// The run was recorded.
    New,
    /// A run with the same queue and deduplication key was recorded before:
    /// this one, and nothing new was.
    Existing(crate::RunId),
}

/// How a claim admits runs under the offer's queue limits: the room left in
/// each queue as runs are claimed one by one.
pub(crate) struct Admission<'a> {
    offer: &'a super::ClaimOffer,
    room: std::collections::HashMap<&'a str, usize>,
}

impl<'a> Admission<'a> {
    /// The room in each served queue, from `counts(queue)`: its runs in
    /// flight, and its runs started since the start of its rate window.
    pub(crate) fn new<E>(
        offer: &'a super::ClaimOffer,
        mut counts: impl FnMut(&Queue) -> Result<(usize, usize), E>,
    ) -> Result<Self, E> {
        let mut room = std::collections::HashMap::new();
        for queue in &offer.queues {
            if queue.concurrency.is_none() && queue.rate.is_none() {
                continue;
            }
            let (in_flight, started) = counts(queue)?;
            let by_concurrency = queue
                .concurrency
                .map_or(usize::MAX, |limit| limit.saturating_sub(in_flight));
            let by_rate = queue.rate.map_or(usize::MAX, |rate| {
                usize::try_from(rate.runs)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(started)
            });
            room.insert(queue.name.as_str(), by_concurrency.min(by_rate));
        }
        Ok(Self { offer, room })
    }

    /// Whether a run of `queue` may be claimed now, counting it if so. A run
    /// that `started` before (it slept, or its worker died) is in flight
    /// already and takes no room.
    pub(crate) fn admit(&mut self, queue: Option<&str>, started: bool) -> bool {
        let Some(name) = queue else {
            return true;
        };
        let Some(queue) = self.offer.queue_named(name) else {
            return false;
        };
        if started {
            return true;
        }
        match self.room.get_mut(queue.name.as_str()) {
            None => true,
            Some(0) => false,
            Some(room) => {
                *room -= 1;
                true
            }
        }
    }
}
