//! A place in a named resource, held for one attempt: a permit of the
//! engine's own semaphore and, when the store keeps places for the whole
//! fleet ([`Store::resources`](crate::store::Store::resources)), one of the
//! store's places too.
//!
//! The engine's permit comes first, so this worker's own waiters queue on
//! the semaphore and at most `limit` of them ask the store at once. A
//! worker waiting for a fleet place asks again after a backoff that grows
//! from 5 to 50 ms (with a little jitter, so waiting workers do not ask in
//! step). The fleet place is released when the attempt ends; an attempt
//! dropped mid-way (its run cancelled or halted) releases it from a task of
//! its own. A release that fails is logged: the place is freed when the
//! worker is gone.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::store::{Place, Store};
use crate::{RunContext, RunId, StepFailure, StepKey};

/// The first wait for a fleet place, after all were held.
const FIRST_WAIT: Duration = Duration::from_millis(5);
/// The longest wait between two asks for a fleet place.
const LONGEST_WAIT: Duration = Duration::from_millis(50);

/// A named resource of an engine: its limit, and the semaphore that holds
/// the engine's own attempts to it.
#[derive(Debug)]
pub(crate) struct Resource {
    limit: usize,
    permits: Semaphore,
}

impl Resource {
    /// A resource with `limit` places (0 is taken as 1).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            limit,
            permits: Semaphore::new(limit),
        }
    }
}

/// What an attempt holds of resource `name` until it ends.
#[derive(Debug)]
pub(super) struct Held<'a> {
    _permit: SemaphorePermit<'a>,
    fleet: Option<FleetPlace>,
}

impl Held<'_> {
    /// Waits for a place in resource `name` for an attempt of `step`: the
    /// engine's permit, then the store's place if it keeps them.
    ///
    /// Fails with [`StepFailure::UnknownResource`] if the engine has no such
    /// resource, and with [`StepFailure::Journal`] if the store could not
    /// be asked (a store fault halts the run instead, as a journal write's).
    pub(super) async fn wait<'c, E>(
        ctx: &'c RunContext,
        name: &'static str,
        step: &StepKey,
    ) -> Result<Held<'c>, StepFailure<E>> {
        let resource = ctx
            .engine
            .resource(name)
            .ok_or(StepFailure::UnknownResource(name))?;
        let permit = resource
            .permits
            .acquire()
            .await
            .expect("resource semaphores are never closed");
        let store = ctx.engine.store();
        let Some(places) = store.resources() else {
            return Ok(Held {
                _permit: permit,
                fleet: None,
            });
        };
        let mut wait = FIRST_WAIT;
        loop {
            let taken = ctx
                .write_journal(|| places.acquire_place(name, resource.limit, &ctx.run, step))
                .await
                .map_err(StepFailure::Journal)?;
            if let Some(place) = taken {
                return Ok(Held {
                    _permit: permit,
                    fleet: Some(FleetPlace {
                        store: Arc::clone(store),
                        place: Some(place),
                        run: ctx.run.clone(),
                    }),
                });
            }
            let jitter = wait.mul_f64(fastrand::f64() / 4.0);
            tokio::time::sleep(wait + jitter).await;
            wait = (wait * 2).min(LONGEST_WAIT);
        }
    }

    /// Gives the place back: the store's first (so it is free when the next
    /// attempt asks), then the engine's permit.
    pub(super) async fn release(mut self) {
        if let Some(fleet) = &mut self.fleet {
            fleet.release().await;
        }
    }
}

/// A place the store holds for this worker, released when dropped.
#[derive(Debug)]
struct FleetPlace {
    store: Arc<dyn Store>,
    /// `None` once released.
    place: Option<Place>,
    /// The run it was taken for, to log.
    run: RunId,
}

impl FleetPlace {
    async fn release(&mut self) {
        if let Some(place) = self.place.take() {
            release(&*self.store, &place, &self.run).await;
        }
    }
}

impl Drop for FleetPlace {
    /// The attempt was dropped holding the place: release it from a task
    /// (if a runtime is still there; else the place is freed when the
    /// worker is gone).
    fn drop(&mut self) {
        let Some(place) = self.place.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = Arc::clone(&self.store);
            let run = self.run.clone();
            runtime.spawn(async move { release(&*store, &place, &run).await });
        }
    }
}

async fn release(store: &dyn Store, place: &Place, run: &RunId) {
    let Some(places) = store.resources() else {
        return;
    };
    if let Err(error) = places.release_place(place).await {
        tracing::warn!(
            %run,
            resource = place.resource(),
            place = place.number(),
            %error,
            "could not release a place of a resource; it is freed when this worker is gone"
        );
    }
}
