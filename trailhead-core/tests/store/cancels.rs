//! Cancels asked by id: recorded on the run for whichever worker holds it,
//! listed to the worker that holds it, refused for a run that ended or does
//! not exist, forgotten when the run is reopened, and a run handed back to
//! sleep made due at once.

use std::time::{Duration, SystemTime};

use trailhead_core::RunId;
use trailhead_core::store::{Enqueue, RunOutcome, Store};

use crate::backend::Backend;
use crate::fixtures::{assert_run_finished, assert_unknown_run, ids, record, run_of};
use crate::fleet::offer;

/// The ids `store`'s worker is asked to cancel, sorted.
pub(crate) async fn asked(store: &impl Store) -> Vec<String> {
    let mut runs: Vec<String> = store
        .cancel_requests()
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    runs.sort();
    runs
}

pub(crate) async fn a_cancel_asked_of_a_running_run_is_recorded_on_it<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("r")).await.unwrap();
    assert!(!run_of(&store, "r").await.cancel_requested);
    store.request_cancel(&RunId::new("r")).await.unwrap();
    let asked_once = run_of(&store, "r").await;
    assert!(asked_once.cancel_requested);
    // Asking again changes nothing, and the run is still running.
    store.request_cancel(&RunId::new("r")).await.unwrap();
    assert_eq!(run_of(&store, "r").await, asked_once);
    assert_eq!(asked_once, record("r").with_cancel_requested());
}

pub(crate) async fn a_cancel_asked_of_an_ended_or_unknown_run_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("done")).await.unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
    assert_run_finished(store.request_cancel(&RunId::new("done")).await, "done");
    assert!(!run_of(&store, "done").await.cancel_requested);
    assert_unknown_run(store.request_cancel(&RunId::new("nope")).await, "nope");
    assert!(store.run(&RunId::new("nope")).await.unwrap().is_none());
}

pub(crate) async fn the_holder_is_told_of_its_running_runs_asked_to_cancel<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for id in ["asked", "left", "ended"] {
        store.create_run(record(id)).await.unwrap();
    }
    store.request_cancel(&RunId::new("asked")).await.unwrap();
    store.request_cancel(&RunId::new("ended")).await.unwrap();
    let (_, _, ended) = store.open_run(&RunId::new("ended")).await.unwrap().unwrap();
    ended.finish(RunOutcome::Cancelled).await.unwrap();
    // Enqueued and asked: held by no worker, so no worker's to stop.
    store
        .enqueue_run(record("queued"), &Enqueue::new())
        .await
        .unwrap();
    store.request_cancel(&RunId::new("queued")).await.unwrap();
    assert!(run_of(&store, "queued").await.cancel_requested);
    assert_eq!(asked(&store).await, ["asked"]);
}

pub(crate) async fn a_sleeping_run_asked_to_cancel_is_due_at_once<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("s")).await.unwrap();
    writer
        .release(Some(SystemTime::now() + Duration::from_secs(3600)))
        .await
        .unwrap();
    assert!(store.claim_runs(&offer(10)).await.unwrap().runs.is_empty());
    store.request_cancel(&RunId::new("s")).await.unwrap();
    let claimed = store.claim_runs(&offer(10)).await.unwrap();
    assert_eq!(ids(&claimed.runs), ["s"]);
    assert!(
        claimed.runs[0].cancel_requested,
        "the claimer sees the request"
    );
    assert_eq!(asked(&store).await, ["s"], "held again, by the claimer");
}

pub(crate) async fn a_reopened_run_forgets_the_cancel_asked<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    store.request_cancel(&RunId::new("r")).await.unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
    assert!(
        run_of(&store, "r").await.cancel_requested,
        "kept once ended"
    );
    store.reopen_run(&RunId::new("r")).await.unwrap();
    assert!(!run_of(&store, "r").await.cancel_requested);
    assert!(asked(&store).await.is_empty());
}
