//! Named resources held fleet-wide, on stores that keep their places
//! (`Store::resources`): a resource has as many places as its limit, for all
//! the workers together; a released place is free again, a stale release
//! frees nothing of a later holder's, and a gone worker's places are free.

use trailhead_core::store::{FleetResources, Place, Store};
use trailhead_core::{RunId, StepKey};

use crate::backend::Shared;

fn places(store: &impl Store) -> &dyn FleetResources {
    store
        .resources()
        .expect("this store keeps the places of named resources")
}

async fn take(store: &impl Store, resource: &str, limit: usize) -> Option<Place> {
    places(store)
        .acquire_place(resource, limit, &RunId::new("r"), &StepKey::new("pay", &[]))
        .await
        .expect("the store is asked")
}

pub(crate) async fn a_resource_has_its_limit_of_places_for_all_workers<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    let first = take(&one, "payments", 2).await.expect("a free place");
    let second = take(&two, "payments", 2).await.expect("a free place");
    assert_ne!(first.number(), second.number());
    assert!(first.number() < 2 && second.number() < 2);
    assert_eq!(
        take(&one, "payments", 2).await,
        None,
        "both places are held"
    );
    assert_eq!(
        take(&two, "payments", 2).await,
        None,
        "both places are held"
    );
    // Another resource has places of its own.
    assert!(take(&two, "email", 1).await.is_some());

    places(&one).release_place(&first).await.unwrap();
    let again = take(&two, "payments", 2).await.expect("the released place");
    assert_eq!(again.number(), first.number());
    assert_ne!(again.holding(), first.holding(), "another holding");
    assert_eq!(take(&one, "payments", 2).await, None);
}

pub(crate) async fn a_stale_release_leaves_the_next_holder_its_place<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    let first = take(&one, "payments", 1).await.expect("a free place");
    places(&one).release_place(&first).await.unwrap();
    let second = take(&two, "payments", 1).await.expect("the released place");
    assert_eq!(second.number(), first.number());
    // Released twice, late: the place is someone else's now.
    places(&one).release_place(&first).await.unwrap();
    assert_eq!(take(&one, "payments", 1).await, None, "still held by two");
}

pub(crate) async fn a_gone_workers_places_are_free<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    assert!(take(&one, "payments", 2).await.is_some());
    assert!(take(&one, "payments", 2).await.is_some());
    assert_eq!(take(&two, "payments", 2).await, None);
    backend.end(one).await;
    assert!(take(&two, "payments", 2).await.is_some());
    assert!(take(&two, "payments", 2).await.is_some());
    assert_eq!(take(&two, "payments", 2).await, None);
}

pub(crate) async fn workers_asking_at_once_get_no_more_than_the_limit<B: Shared>() {
    let backend = B::new().await;
    let workers = [
        backend.worker().await,
        backend.worker().await,
        backend.worker().await,
    ];
    let asks = workers
        .iter()
        .flat_map(|worker| (0..6).map(move |_| take(worker, "payments", 4)));
    let taken: Vec<Place> = futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut numbers: Vec<u32> = taken.iter().map(Place::number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [0, 1, 2, 3], "18 asks, 4 places");
}
