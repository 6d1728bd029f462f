//! Named resources held across the fleet: places taken in the store, so
//! that a resource's limit holds for all of a store's workers together
//! ([`Store::resources`](super::Store::resources)).
//!
//! An engine's named resource
//! ([`EngineBuilder::resource`](crate::EngineBuilder::resource)) limits how
//! many attempts of the steps that use it run at once. Within one engine a
//! semaphore does that. A store that several workers share may also keep the
//! resource's *places*: an attempt then takes one of the `limit` places in
//! the store before it runs, and leaves it when it ends, so no more than
//! `limit` attempts run at once on all the workers together.
//!
//! - A place belongs to the worker that took it. A worker that is gone (its
//!   lease expired, or it closed) holds none: the next worker that asks for
//!   a place in the resource frees them. A worker cut off past its lease
//!   starts no step anyway (see [`RunWriter::holds_lease`](super::RunWriter::holds_lease)).
//! - The limit is the one the asking worker gives: workers that share a
//!   resource should be built with the same limit for it. Places already
//!   held count against a smaller limit; a larger one admits more.
//! - Taking a place never waits: it gives `None` when all are held, and the
//!   engine asks again a little later.

use super::StoreFuture;
use crate::{RunId, StepKey};

/// The places of named resources that a store keeps for all its workers.
///
/// The PostgreSQL store keeps them; the memory and SQLite stores do not
/// (an engine on them limits its own attempts only).
pub trait FleetResources: Send + Sync {
    /// Takes a free place in resource `resource`, which has `limit` places,
    /// for the store's worker, for an attempt of step `step` of run `run`
    /// (kept for operators to read); `None` if all places are held by live
    /// workers.
    ///
    /// # Cancel safety
    ///
    /// A future dropped before it resolves may have taken the place: it is
    /// freed when the worker is gone.
    fn acquire_place(
        &self,
        resource: &str,
        limit: usize,
        run: &RunId,
        step: &StepKey,
    ) -> StoreFuture<'_, Option<Place>>;

    /// Leaves `place`, which this store's worker took. A place that was
    /// already freed (its worker expired meanwhile), even if it was taken
    /// again since, is left alone.
    fn release_place(&self, place: &Place) -> StoreFuture<'_, ()>;
}

/// One place of a named resource, held by the worker that took it
/// ([`FleetResources::acquire_place`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    resource: String,
    number: u32,
    holding: u64,
}

impl Place {
    /// Place `number` of resource `resource`, in the store's `holding`-th
    /// taking of a place (what tells this holding from a later one of the
    /// same place).
    pub fn new(resource: impl Into<String>, number: u32, holding: u64) -> Self {
        Self {
            resource: resource.into(),
            number,
            holding,
        }
    }

    /// The resource.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Which of the resource's places: from 0 to its limit, less one.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Which taking of the place this is, unique in the store.
    pub fn holding(&self) -> u64 {
        self.holding
    }
}
