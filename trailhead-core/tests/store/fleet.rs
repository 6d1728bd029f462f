//! The fleet's store operations: enqueuing, claiming due runs (only the
//! offer's definitions and queues, under the queues' limits, by priority),
//! handing runs back, deduplication, and the fleet's status.

use std::time::{Duration, SystemTime};

use trailhead_core::RunId;
use trailhead_core::store::{ClaimOffer, Enqueue, Enqueued, Queue, RunStatus, Store};

use crate::backend::Backend;
use crate::fixtures::{ids, record, step};

/// An offer of up to `limit` runs of `record`'s definition.
pub(crate) fn offer(limit: usize) -> ClaimOffer {
    ClaimOffer::new(vec![("w".to_owned(), u64::MAX - 7)], limit)
}

pub(crate) async fn enqueue(store: &impl Store, id: &str, options: &Enqueue) {
    let made = store.enqueue_run(record(id), options).await.unwrap();
    assert_eq!(made, Enqueued::New);
}

pub(crate) async fn an_enqueued_run_is_claimed_once_and_then_held<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    enqueue(&store, "e", &Enqueue::new()).await;
    let claimed = store.claim_runs(&offer(10)).await.unwrap();
    assert_eq!(ids(&claimed.runs), ["e"]);
    assert_eq!(claimed.runs[0].status(), RunStatus::Running);
    assert!(store.claim_runs(&offer(10)).await.unwrap().runs.is_empty());
    // The claimer opens it and writes: the claim is its lease.
    let (_, journal, writer) = store.open_run(&RunId::new("e")).await.unwrap().unwrap();
    assert!(journal.is_empty());
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
}

pub(crate) async fn runs_of_other_definitions_are_left<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    enqueue(&store, "e", &Enqueue::new()).await;
    let other = ClaimOffer::new(
        vec![("w".to_owned(), 1), ("v".to_owned(), u64::MAX - 7)],
        10,
    );
    assert!(store.claim_runs(&other).await.unwrap().runs.is_empty());
    assert_eq!(
        ids(&store.claim_runs(&offer(10)).await.unwrap().runs),
        ["e"]
    );
}

pub(crate) async fn a_claim_takes_at_most_its_limit_highest_priority_first<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for (id, priority) in [("low", 0), ("high", 5), ("mid", 1), ("low2", 0)] {
        enqueue(&store, id, &Enqueue::new().with_priority(priority)).await;
    }
    assert_eq!(
        ids(&store.claim_runs(&offer(2)).await.unwrap().runs).len(),
        2
    );
    let rest = store.claim_runs(&offer(10)).await.unwrap();
    let mut rest = ids(&rest.runs);
    rest.sort();
    assert_eq!(rest, ["low", "low2"], "high and mid went first");
}

pub(crate) async fn a_queue_is_claimed_only_by_workers_that_serve_it<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    enqueue(&store, "q", &Enqueue::to("pdf")).await;
    assert!(store.claim_runs(&offer(10)).await.unwrap().runs.is_empty());
    let serving = offer(10).with_queues(vec![Queue::new("pdf")]);
    assert_eq!(ids(&store.claim_runs(&serving).await.unwrap().runs), ["q"]);
}

pub(crate) async fn a_queues_concurrency_counts_runs_in_flight<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for id in ["a", "b", "c"] {
        enqueue(&store, id, &Enqueue::to("pdf")).await;
    }
    let limited = offer(10).with_queues(vec![Queue::new("pdf").with_concurrency(2)]);
    let first = store.claim_runs(&limited).await.unwrap();
    assert_eq!(first.runs.len(), 2);
    assert!(
        store.claim_runs(&limited).await.unwrap().runs.is_empty(),
        "full"
    );
    // One ends: room for the third.
    let (_, _, writer) = store.open_run(&first.runs[0].id).await.unwrap().unwrap();
    writer
        .finish(trailhead_core::RunOutcome::Cancelled)
        .await
        .unwrap();
    assert_eq!(store.claim_runs(&limited).await.unwrap().runs.len(), 1);
}

pub(crate) async fn a_queues_rate_counts_runs_started_in_its_window<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for id in ["a", "b", "c"] {
        enqueue(&store, id, &Enqueue::to("mail")).await;
    }
    let rated = offer(10).with_queues(vec![
        Queue::new("mail").with_rate(2, Duration::from_secs(3600)),
    ]);
    assert_eq!(store.claim_runs(&rated).await.unwrap().runs.len(), 2);
    assert!(store.claim_runs(&rated).await.unwrap().runs.is_empty());
}

pub(crate) async fn a_dedup_key_gives_the_first_run<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let keyed = Enqueue::to("mail").with_dedup_key("invoice-7");
    enqueue(&store, "k1", &keyed).await;
    let again = store.enqueue_run(record("k2"), &keyed).await.unwrap();
    assert_eq!(again, Enqueued::Existing(RunId::new("k1")));
    assert!(store.run(&RunId::new("k2")).await.unwrap().is_none());
    // The same key in the default queue is another run.
    let default = Enqueue::new().with_dedup_key("invoice-7");
    enqueue(&store, "k3", &default).await;
    // A taken id is still refused.
    let taken = store.enqueue_run(record("k1"), &Enqueue::new()).await;
    assert!(
        matches!(taken, Err(trailhead_core::StoreError::RunExists { ref run }) if run.as_str() == "k1"),
        "{taken:?}"
    );
}

pub(crate) async fn a_released_run_is_claimable_from_its_wake_up_time<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("s")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    writer.release(Some(later)).await.unwrap();
    let early = store.claim_runs(&offer(10)).await.unwrap();
    assert!(early.runs.is_empty(), "asleep until its time");
    let due = early.next_due.expect("the claim says when the run wakes");
    let off = due
        .duration_since(later)
        .unwrap_or_else(|early| early.duration());
    assert!(
        off < Duration::from_secs(1),
        "next due {due:?}, wake {later:?}"
    );
    // Handed back to run now: claimed, with its journal.
    let (_, _, writer) = store.open_run(&RunId::new("s")).await.unwrap().unwrap();
    writer.release(None).await.unwrap();
    assert_eq!(
        ids(&store.claim_runs(&offer(10)).await.unwrap().runs),
        ["s"]
    );
    let (_, journal, _) = store.open_run(&RunId::new("s")).await.unwrap().unwrap();
    assert_eq!(journal.len(), 1);
}

pub(crate) async fn the_fleet_shows_workers_and_queues<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    enqueue(&store, "waiting", &Enqueue::to("later")).await;
    store.create_run(record("held")).await.unwrap();
    let fleet = store.fleet().await.unwrap();
    let me = fleet
        .workers
        .iter()
        .find(|worker| &worker.worker == store.worker())
        .expect("the store's own worker is listed");
    assert!(me.alive);
    assert_eq!(me.runs, 1);
    assert!(me.oldest_lease.is_some());
    let later = fleet
        .queues
        .iter()
        .find(|q| q.queue.as_deref() == Some("later"))
        .unwrap();
    assert_eq!((later.waiting, later.in_flight), (1, 0));
    let default = fleet.queues.iter().find(|q| q.queue.is_none()).unwrap();
    assert_eq!((default.waiting, default.in_flight), (0, 1));
}
