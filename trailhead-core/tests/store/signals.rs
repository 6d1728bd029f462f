//! Signals: kept durably, received in the order sent, each by one step, and
//! the same one again when that step asks again.

use trailhead_core::RunId;
use trailhead_core::store::{RunOutcome, Store};

use crate::backend::Backend;
use crate::fixtures::{assert_run_finished, assert_unknown_run, key, record, value};

pub(crate) async fn signals_of_one_name_are_received_in_the_order_sent<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("r")).await.unwrap();
    let run = RunId::new("r");
    for (name, n) in [("go", 1), ("stop", 10), ("go", 2), ("go", 3), ("stop", 20)] {
        store
            .send_signal(&run, name, value(serde_json::json!(n)))
            .await
            .unwrap();
    }
    let mut gone = Vec::new();
    for k in ["wait[0]", "wait[1]", "wait[2]"] {
        gone.push(store.receive_signal(&run, "go", &key(k)).await.unwrap());
    }
    let stop = store
        .receive_signal(&run, "stop", &key("halt"))
        .await
        .unwrap();
    assert_eq!(
        gone,
        [1, 2, 3].map(|n| Some(value(serde_json::json!(n)))),
        "oldest first, other names aside"
    );
    assert_eq!(stop, Some(value(serde_json::json!(10))));
}

pub(crate) async fn a_signal_is_received_by_one_step_only<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("r")).await.unwrap();
    let run = RunId::new("r");
    for n in [1, 2] {
        store
            .send_signal(&run, "go", value(serde_json::json!(n)))
            .await
            .unwrap();
    }
    let a = store.receive_signal(&run, "go", &key("a")).await.unwrap();
    let b = store.receive_signal(&run, "go", &key("b")).await.unwrap();
    let c = store.receive_signal(&run, "go", &key("c")).await.unwrap();
    assert_eq!(a, Some(value(serde_json::json!(1))));
    assert_eq!(b, Some(value(serde_json::json!(2))));
    assert_eq!(c, None, "both were received");
}

pub(crate) async fn a_step_asking_again_gets_the_signal_it_received<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("r")).await.unwrap();
    let run = RunId::new("r");
    store
        .send_signal(&run, "go", value(serde_json::json!("first")))
        .await
        .unwrap();
    let first = store.receive_signal(&run, "go", &key("a")).await.unwrap();
    store
        .send_signal(&run, "go", value(serde_json::json!("second")))
        .await
        .unwrap();
    // A resumed run asking again, after another signal came.
    let again = store.receive_signal(&run, "go", &key("a")).await.unwrap();
    assert_eq!(first, Some(value(serde_json::json!("first"))));
    assert_eq!(again, first);
    let other = store.receive_signal(&run, "go", &key("b")).await.unwrap();
    assert_eq!(other, Some(value(serde_json::json!("second"))));
    assert_eq!(
        store.receive_signal(&run, "go", &key("a")).await.unwrap(),
        first,
        "still its own after another step received the next"
    );
}

pub(crate) async fn no_signal_yet_gives_none_until_one_is_sent<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("r")).await.unwrap();
    let run = RunId::new("r");
    assert_eq!(
        store.receive_signal(&run, "go", &key("a")).await.unwrap(),
        None
    );
    store
        .send_signal(&run, "other", value(serde_json::json!(0)))
        .await
        .unwrap();
    assert_eq!(
        store.receive_signal(&run, "go", &key("a")).await.unwrap(),
        None,
        "a signal of another name is not this one"
    );
    store
        .send_signal(&run, "go", value(serde_json::json!(1)))
        .await
        .unwrap();
    assert_eq!(
        store.receive_signal(&run, "go", &key("a")).await.unwrap(),
        Some(value(serde_json::json!(1))),
        "the step that found none before gets the one sent since"
    );
}

pub(crate) async fn a_signal_to_an_unknown_run_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    assert_unknown_run(
        store
            .send_signal(&RunId::new("nope"), "go", value(serde_json::json!(1)))
            .await,
        "nope",
    );
}

pub(crate) async fn a_signal_to_a_finished_run_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
    assert_run_finished(
        store
            .send_signal(&RunId::new("r"), "go", value(serde_json::json!(1)))
            .await,
        "r",
    );
}
