//! The engine's event fan-out: one bounded ring shared by every subscriber.
//!
//! Each event is stored once, in a ring of fixed capacity (tokio's
//! `broadcast` channel); a subscriber reads it from there at its own pace. A
//! subscriber that falls a whole ring behind loses the oldest events it had
//! not read and is told how many ([`Event::Lagged`]), so a slow subscriber
//! costs events, never unbounded memory, and never slows the runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::{Event, EventReceiver};

/// How many events the ring holds unless the builder says otherwise.
pub(crate) const DEFAULT_CAPACITY: usize = 4096;

/// The largest ring: 16 Mi events. The ring is allocated whole on the first
/// subscription, and tokio's refuses (panics at) half of `usize::MAX`.
pub(crate) const MAX_CAPACITY: usize = 1 << 24;

/// Sends each event to every live subscriber.
///
/// The subscriber count is kept in an atomic, decremented by the receiver's
/// drop, so that with no subscriber emitting is one relaxed load and the
/// event is never built. The ring itself is allocated by the first
/// subscription: an engine nobody watches pays nothing for it.
#[derive(Debug)]
pub(crate) struct EventBus {
    capacity: usize,
    ring: OnceLock<broadcast::Sender<Event>>,
    subscribers: Arc<AtomicUsize>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl EventBus {
    /// A bus whose ring holds at least `capacity` events: one at the least,
    /// [`MAX_CAPACITY`] at the most, rounded up to a power of two (as tokio's
    /// ring is).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.clamp(1, MAX_CAPACITY),
            ring: OnceLock::new(),
            subscribers: Arc::default(),
        }
    }

    /// Adds a subscriber that gets every event sent from now on.
    pub(crate) fn subscribe(&self) -> EventReceiver {
        let ring = self
            .ring
            .get_or_init(|| broadcast::channel(self.capacity).0);
        EventReceiver::new(ring.subscribe(), Arc::clone(&self.subscribers))
    }

    /// Whether anyone may be listening.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) != 0
    }

    /// Builds the event with `event` and sends it, if anyone is listening.
    #[inline]
    pub(crate) fn emit(&self, event: impl FnOnce() -> Event) {
        if self.is_active()
            && let Some(ring) = self.ring.get()
        {
            // An error only means the last subscriber just left.
            let _ = ring.send(event());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunId;

    fn cancelled(run: &str) -> Event {
        Event::RunCancelled {
            run: RunId::new(run),
            workflow: "w",
        }
    }

    fn runs(receiver: &mut EventReceiver) -> Vec<String> {
        std::iter::from_fn(|| receiver.try_recv())
            .map(|event| match event {
                Event::Lagged { missed } => format!("lagged {missed}"),
                event => event.run().expect("a run event").to_string(),
            })
            .collect()
    }

    #[test]
    fn without_subscribers_the_event_is_not_built() {
        let bus = EventBus::default();
        bus.emit(|| unreachable!("no subscriber, so no event is built"));
        assert!(!bus.is_active());
        assert!(bus.ring.get().is_none(), "no ring before a subscriber");
    }

    #[test]
    fn every_subscriber_gets_every_later_event_in_order() {
        let bus = EventBus::default();
        bus.emit(|| cancelled("before"));
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        bus.emit(|| cancelled("a"));
        bus.emit(|| cancelled("b"));
        for receiver in [&mut first, &mut second] {
            assert_eq!(runs(receiver), ["a", "b"]);
        }
    }

    #[test]
    fn dropped_subscribers_are_no_longer_counted() {
        let bus = EventBus::default();
        let kept = bus.subscribe();
        drop(bus.subscribe());
        assert_eq!(bus.subscribers.load(Ordering::Relaxed), 1);
        drop(kept);
        assert!(!bus.is_active());
        bus.emit(|| unreachable!("the last subscriber left"));
    }

    #[test]
    fn the_capacity_is_kept_within_what_the_ring_can_be() {
        assert_eq!(EventBus::with_capacity(0).capacity, 1);
        assert_eq!(EventBus::with_capacity(usize::MAX).capacity, MAX_CAPACITY);
    }

    #[test]
    fn a_subscriber_a_ring_behind_is_told_what_it_missed_and_reads_on() {
        let bus = EventBus::with_capacity(4);
        let mut slow = bus.subscribe();
        let mut fast = bus.subscribe();
        for run in 0..10 {
            bus.emit(|| cancelled(&run.to_string()));
            if run < 6 {
                // The fast one keeps up with the first six.
                assert_eq!(runs(&mut fast), [run.to_string()]);
            }
        }
        // The ring kept the last four; the six before them are gone.
        assert_eq!(runs(&mut slow), ["lagged 6", "6", "7", "8", "9"]);
        assert_eq!(runs(&mut fast), ["6", "7", "8", "9"]);
    }
}
