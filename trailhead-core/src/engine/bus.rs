//! The engine's event fan-out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::mpsc::{self, UnboundedSender};

use crate::{Event, EventReceiver};

/// Sends each event to every live subscriber.
///
/// The subscriber count is kept in an atomic beside the list so that, with no
/// subscriber, emitting is one relaxed load and the event is never built.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    subscribers: Mutex<Vec<UnboundedSender<Event>>>,
    /// The length of `subscribers` as of the last change; dropped receivers are
    /// only noticed (and pruned) by the next send.
    count: AtomicUsize,
}

impl EventBus {
    /// Adds a subscriber that gets every event sent from now on.
    pub(crate) fn subscribe(&self) -> EventReceiver {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut subscribers = self.lock();
        subscribers.push(sender);
        self.count.store(subscribers.len(), Ordering::Relaxed);
        EventReceiver::new(receiver)
    }

    /// Whether anyone may be listening.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Builds the event with `event` and sends it, if anyone is listening.
    #[inline]
    pub(crate) fn emit(&self, event: impl FnOnce() -> Event) {
        if self.is_active() {
            self.send(event());
        }
    }

    fn send(&self, event: Event) {
        // Sending under the lock gives every subscriber the same order.
        let mut subscribers = self.lock();
        subscribers.retain(|subscriber| subscriber.send(event.clone()).is_ok());
        self.count.store(subscribers.len(), Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<UnboundedSender<Event>>> {
        // The list stays consistent even if a holder panicked.
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    #[test]
    fn without_subscribers_the_event_is_not_built() {
        let bus = EventBus::default();
        bus.emit(|| unreachable!("no subscriber, so no event is built"));
        assert!(!bus.is_active());
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
            let runs: Vec<_> = std::iter::from_fn(|| receiver.try_recv())
                .map(|event| event.run().to_string())
                .collect();
            assert_eq!(runs, ["a", "b"]);
        }
    }

    #[test]
    fn dropped_subscribers_are_pruned() {
        let bus = EventBus::default();
        let kept = bus.subscribe();
        drop(bus.subscribe());
        bus.emit(|| cancelled("a"));
        assert_eq!(bus.count.load(Ordering::Relaxed), 1);
        drop(kept);
        bus.emit(|| cancelled("b"));
        assert!(!bus.is_active());
    }
}
