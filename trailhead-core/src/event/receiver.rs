//! A subscriber's end of the engine's event ring.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::{FutureExt, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::Event;

/// A subscription to an engine's events.
///
/// Made by [`Engine::subscribe`](crate::Engine::subscribe). Receives every event
/// emitted after the subscription, in order, unless it falls a whole ring
/// behind: then it gets [`Event::Lagged`] in place of what it lost (see the
/// section below). It is also a [`Stream`] of events. Dropping it
/// unsubscribes.
///
/// # A slow subscriber
///
/// The engine keeps the events in one bounded ring, shared by all
/// subscribers ([`EngineBuilder::event_capacity`](crate::EngineBuilder::event_capacity),
/// 4096 events by default), and never waits for a subscriber: runs go at
/// their own speed. A subscriber that falls a whole ring behind loses the
/// oldest events it had not read yet. Its next receive gives
/// [`Event::Lagged`] with how many it missed, then the oldest event still in
/// the ring, and it goes on in order from there. Memory stays bounded
/// however slow a subscriber is. The journal, not the event stream, is the
/// record of what a run did: a subscriber that must not miss anything
/// rereads it ([`Engine::journal`](crate::Engine::journal)) after a lag.
pub struct EventReceiver {
    events: BroadcastStream<Event>,
    /// The engine's count of live subscribers, which this one is part of.
    subscribers: Arc<AtomicUsize>,
}

impl EventReceiver {
    pub(crate) fn new(events: broadcast::Receiver<Event>, subscribers: Arc<AtomicUsize>) -> Self {
        subscribers.fetch_add(1, Ordering::Relaxed);
        Self {
            events: BroadcastStream::new(events),
            subscribers,
        }
    }

    /// Waits for the next event.
    ///
    /// Returns `None` once the engine and every run it started are gone and
    /// all events were received.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no event is
    /// lost.
    pub async fn recv(&mut self) -> Option<Event> {
        self.next().await
    }

    /// Takes the next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        // The stream keeps its pending read between polls, so polling once
        // and giving up loses nothing.
        self.next().now_or_never().flatten()
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReceiver").finish_non_exhaustive()
    }
}

impl Stream for EventReceiver {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_next_unpin(cx).map(|event| {
            event.map(|event| {
                event.unwrap_or_else(|BroadcastStreamRecvError::Lagged(missed)| Event::Lagged {
                    missed,
                })
            })
        })
    }
}
