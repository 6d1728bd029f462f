//! Claims on stores several workers share: concurrent claimers get disjoint
//! runs, a gone worker's runs go to the next, and a queue's limit holds for
//! the workers together.

use trailhead_core::store::{Enqueue, Queue, Store};

use crate::backend::Shared;
use crate::fixtures::{ids, record};
use crate::fleet::{enqueue, offer};

pub(crate) async fn concurrent_claimers_get_disjoint_runs<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    for n in 0..40 {
        enqueue(&one, &format!("r{n:02}"), &Enqueue::new()).await;
    }
    let (a, b) = tokio::join!(one.claim_runs(&offer(25)), two.claim_runs(&offer(25)));
    let (a, b) = (ids(&a.unwrap().runs), ids(&b.unwrap().runs));
    assert_eq!(a.len() + b.len(), 40, "{a:?} {b:?}");
    assert!(a.iter().all(|id| !b.contains(id)), "no run claimed twice");
}

pub(crate) async fn a_gone_workers_runs_are_claimed_by_the_next<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    one.create_run(record("orphan")).await.unwrap();
    assert!(
        two.claim_runs(&offer(10)).await.unwrap().runs.is_empty(),
        "held"
    );
    backend.end(one).await;
    assert_eq!(
        ids(&two.claim_runs(&offer(10)).await.unwrap().runs),
        ["orphan"]
    );
}

pub(crate) async fn a_queue_limit_holds_across_workers<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    for n in 0..10 {
        enqueue(&one, &format!("q{n}"), &Enqueue::to("pdf")).await;
    }
    let limited = offer(10).with_queues(vec![Queue::new("pdf").with_concurrency(3)]);
    let (a, b) = tokio::join!(one.claim_runs(&limited), two.claim_runs(&limited));
    assert_eq!(a.unwrap().runs.len() + b.unwrap().runs.len(), 3);
}
