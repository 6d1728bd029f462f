//! Admission control: a limit on the top-level runs an engine drives at
//! once ([`EngineBuilder::max_runs_in_flight`](crate::EngineBuilder::max_runs_in_flight)).
//!
//! Each such run holds a [`Place`] while its task lives: a run started
//! here, resumed, rerun, or claimed by the claim loop. A run started when no
//! place is free, or while runs queued before it wait, is queued in the
//! store instead ([`ADMISSION_QUEUE`]): nothing of it stays in memory, and
//! the claim loop claims the queue's runs, oldest first, as places free. A
//! recorded run resumed beyond the limit is handed back to the store for
//! the claim loop likewise. Child runs of a `call` take no place: a parent
//! holding one while its child waited for another could wait for ever.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Engine, RunHandle};
use crate::store::{ADMISSION_QUEUE, Enqueue};
use crate::{EngineError, Event, RunId, Workflow};

/// The places of an engine with a limit, and what it knows of its queue.
#[derive(Debug)]
pub(super) struct Admission {
    limit: usize,
    /// Places held: top-level runs driven here, and places the claim loop
    /// took for the runs it is claiming.
    held: AtomicUsize,
    /// How many runs this engine queued, counted once each is recorded (from
    /// 1: a previous process may have left runs queued).
    queued: AtomicU64,
    /// The `queued` count read before the latest claim that found no more
    /// runs to claim: while it equals `queued`, no run waits in the queue
    /// and a run started with a place free goes straight in.
    drained: AtomicU64,
}

impl Admission {
    /// At most `limit` runs in flight (0 is taken as 1).
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            held: AtomicUsize::new(0),
            queued: AtomicU64::new(1),
            drained: AtomicU64::new(0),
        }
    }

    /// Takes up to `wanted` free places: how many it took.
    fn take(&self, wanted: usize) -> usize {
        let mut taken = 0;
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                taken = self.limit.saturating_sub(held).min(wanted);
                (taken > 0).then_some(held + taken)
            });
        taken
    }

    /// Frees `places` places.
    fn give_back(&self, places: usize) {
        self.held.fetch_sub(places, Ordering::AcqRel);
    }

    /// Whether a place is free now.
    fn has_room(&self) -> bool {
        self.held.load(Ordering::Acquire) < self.limit
    }

    /// Whether runs this engine queued may still wait in the store.
    fn may_have_queued(&self) -> bool {
        self.drained.load(Ordering::Acquire) != self.queued.load(Ordering::Acquire)
    }
}

/// A place taken under the limit, freed (and the claim loop woken to fill
/// it) when dropped.
pub(super) struct Place {
    admission: Arc<Admission>,
    poke: Arc<Notify>,
}

impl Place {
    /// `task`, holding this place until it ends (or is dropped).
    pub(super) fn hold<F: Future>(self, task: F) -> Held<F> {
        Held { task, _place: self }
    }
}

pin_project_lite::pin_project! {
    /// A run's task holding its place: a future of its own, as an `async`
    /// block would hold the task twice.
    pub(super) struct Held<F> {
        #[pin]
        task: F,
        _place: Place,
    }
}

impl<F: Future> Future for Held<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.project().task.poll(cx)
    }
}

impl Engine {
    /// Spawns a run's task, holding `place` (if the engine has a limit)
    /// until it ends.
    pub(super) fn spawn_holding<F>(place: Option<Place>, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match place {
            None => tokio::spawn(task),
            Some(place) => tokio::spawn(place.hold(task)),
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.admission.give_back(1);
        self.poke.notify_one();
    }
}

/// The places the claim loop took for one claim: handed out one per run
/// claimed; those left over are freed when dropped.
pub(super) struct Places {
    admission: Option<(Arc<Admission>, Arc<Notify>)>,
    /// How many runs the claim may take.
    pub(super) room: usize,
    /// The queue's count before the claim (see [`Admission::drained`]).
    seen: u64,
}

impl Places {
    /// A place for one claimed run: `None` on an engine without a limit.
    pub(super) fn one(&mut self) -> Option<Place> {
        let (admission, poke) = self.admission.as_ref()?;
        self.room = self.room.saturating_sub(1);
        Some(Place {
            admission: Arc::clone(admission),
            poke: Arc::clone(poke),
        })
    }

    /// The claim found every run it could take: the queue is drained up to
    /// what was recorded before it.
    pub(super) fn drained(&self) {
        if let Some((admission, _)) = &self.admission {
            admission.drained.fetch_max(self.seen, Ordering::AcqRel);
        }
    }
}

impl Drop for Places {
    fn drop(&mut self) {
        if let Some((admission, _)) = &self.admission
            && self.room > 0
        {
            admission.give_back(self.room);
        }
    }
}

/// Whether a run about to start goes in, and with what.
pub(super) enum Admitted {
    /// The engine has no limit.
    Unlimited,
    /// It holds this place.
    Place(Place),
    /// No place is free, or runs queued before it wait: it is queued.
    Queue,
}

impl Engine {
    fn admission(&self) -> Option<&Arc<Admission>> {
        self.inner.admission.as_ref()
    }

    /// A place for a run about to start here, if one is free and no run
    /// queued earlier waits for it.
    pub(super) fn admit(&self) -> Admitted {
        let Some(admission) = self.admission() else {
            return Admitted::Unlimited;
        };
        if admission.may_have_queued() {
            // First come, first served: the queue is claimed first.
            self.poke_claims();
            return Admitted::Queue;
        }
        self.place_if_free()
            .map_or(Admitted::Queue, Admitted::Place)
    }

    /// A place, if one is free, for a recorded run driven again here
    /// (resumed or rerun); `Some(None)` on an engine without a limit, and
    /// `None` when the run is to be handed back to the store instead.
    pub(super) fn place_for_recorded<W: Workflow>(&self, workflow: W) -> Option<Option<Place>> {
        if self.admission().is_none() {
            return Some(None);
        }
        let place = self.place_if_free();
        if place.is_none() && !self.works_on::<W>() {
            // The claim loop drives it once a place is free.
            self.register(workflow);
        }
        place.map(Some)
    }

    fn place_if_free(&self) -> Option<Place> {
        let admission = self.admission()?;
        (admission.take(1) == 1).then(|| Place {
            admission: Arc::clone(admission),
            poke: Arc::clone(self.claims_poke()),
        })
    }

    /// Whether this engine could take one more run now (always, without a
    /// limit).
    pub(super) fn has_room(&self) -> bool {
        self.admission()
            .is_none_or(|admission| admission.has_room())
    }

    /// Takes the places for a claim of up to `room` runs: as many as are
    /// free under the limit.
    pub(super) fn places_for_claim(&self, room: usize) -> Places {
        match self.admission() {
            None => Places {
                admission: None,
                room,
                seen: 0,
            },
            Some(admission) => {
                // Read before the claim: a run queued after it is not
                // taken for drained by it.
                let seen = admission.queued.load(Ordering::Acquire);
                Places {
                    room: admission.take(room),
                    admission: Some((Arc::clone(admission), Arc::clone(self.claims_poke()))),
                    seen,
                }
            }
        }
    }

    /// Records run `id` in the admission queue, for the claim loop to
    /// claim once a place is free (this engine becomes a worker of
    /// `workflow` for it), and gives its handle.
    pub(super) async fn queue_for_admission<W: Workflow>(
        &self,
        id: RunId,
        workflow: W,
        input: W::Input,
    ) -> Result<RunHandle<W>, EngineError> {
        if !self.works_on::<W>() {
            self.register(workflow);
        }
        let handle = self
            .enqueue_as(id, workflow, input, &Enqueue::to(ADMISSION_QUEUE))
            .await?;
        if let Some(admission) = self.admission() {
            // Counted once recorded: a claim that read the count after this
            // sees the run in the store.
            admission.queued.fetch_add(1, Ordering::AcqRel);
            // And a claim that reads it now may find the queue drained.
            self.poke_claims();
        }
        self.events().emit(|| Event::RunQueued {
            run: handle.id().clone(),
            workflow: W::name(),
        });
        Ok(handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_places_are_taken_than_the_limit() {
        let admission = Admission::new(3);
        assert_eq!(admission.take(2), 2);
        assert_eq!(admission.take(5), 1);
        assert_eq!(admission.take(1), 0);
        assert!(!admission.has_room());
        admission.give_back(2);
        assert_eq!(admission.take(5), 2);
    }

    #[test]
    fn a_limit_of_zero_is_taken_as_one() {
        let admission = Admission::new(0);
        assert_eq!(admission.take(4), 1);
        assert_eq!(admission.take(1), 0);
    }

    #[test]
    fn the_queue_is_unknown_until_a_claim_drains_it() {
        let admission = Admission::new(1);
        assert!(
            admission.may_have_queued(),
            "a previous process may have queued runs"
        );
        let seen = admission.queued.load(Ordering::Acquire);
        admission.drained.fetch_max(seen, Ordering::AcqRel);
        assert!(!admission.may_have_queued());
        admission.queued.fetch_add(1, Ordering::AcqRel);
        assert!(admission.may_have_queued(), "a run was queued since");
    }
}
