//! `patterns::dead_letter`: items that fail for good are kept as failed
//! child runs, listed with their errors, and retried once fixed.

use std::sync::atomic::{AtomicBool, Ordering};

use trailhead::patterns::dead_letter::{DeadLetter, dead_letters, retry_dead_letters};
use trailhead::{Engine, EngineError, Error, Event, RunStatus, StepKey, Workflow, workflow};

use super::saga::{runtime, sqlite_engine};
use crate::support::{Calls, journal_keys, run_to_end};

/// What the item steps did.
static CALLS: Calls = Calls::new();
/// Whether the mail relay is repaired: until then, odd-looking items fail.
static FIXED: AtomicBool = AtomicBool::new(false);
/// While set, sending item 5 never ends.
static HANGING: AtomicBool = AtomicBool::new(false);
/// The tests share the statics above: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn render(n: u32) -> Result<String, Error> {
    CALLS.push(format!("render {n}"));
    Ok(format!("invoice {n}"))
}

/// Sends the invoice; items 2 and 4 fail until the relay is fixed, item 5
/// hangs while `HANGING` is set.
async fn send(invoice: String, n: u32) -> Result<String, Error> {
    CALLS.push(format!("send {n}"));
    while n == 5 && HANGING.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if (n == 2 || n == 4) && !FIXED.load(Ordering::SeqCst) {
        return Err(Error::msg(format!("relay refused invoice {n}")));
    }
    Ok(format!("{invoice} sent"))
}

workflow! {
    /// One item: renders the invoice, then sends it.
    workflow deliver(n: u32) -> Result<String, Error> {
        let invoice = step render(n);
        let sent = step send(invoice, n);
        Ok(sent)
    }
}

fn sorted(mut calls: Vec<String>) -> Vec<String> {
    calls.sort();
    calls
}

#[tokio::test(start_paused = true)]
async fn items_that_fail_for_good_become_dead_letters_and_are_retried_once_fixed() {
    let _turn = TURN.lock().await;
    CALLS.take();
    let engine = Engine::new();
    let (parent, result) = run_to_end(
        &engine,
        dead_letters::<deliver>::default(),
        ((0..6).collect(), 3),
    )
    .await;
    let processed = result.unwrap();
    assert_eq!(
        processed.done,
        [
            (0, "invoice 0 sent".to_owned()),
            (1, "invoice 1 sent".to_owned()),
            (3, "invoice 3 sent".to_owned()),
            (5, "invoice 5 sent".to_owned()),
        ]
    );
    let child = |i: u32| parent.child(&StepKey::new("W", &[i]));
    assert_eq!(
        processed.dead,
        [
            DeadLetter {
                index: 2,
                run: child(2),
                error: "step `send` of run `".to_owned()
                    + child(2).as_str()
                    + "` failed after 1 attempt(s): relay refused invoice 2",
            },
            DeadLetter {
                index: 4,
                run: child(4),
                error: "step `send` of run `".to_owned()
                    + child(4).as_str()
                    + "` failed after 1 attempt(s): relay refused invoice 4",
            },
        ]
    );
    // The parent completed; each item is a call in its journal.
    let record = engine.run_record(&parent).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
    let mut keys = journal_keys(&engine, &parent).await;
    keys.sort();
    assert_eq!(keys, ["W[0]", "W[1]", "W[2]", "W[3]", "W[4]", "W[5]"]);
    // The dead letters are failed runs of `deliver`, kept with their journal.
    for letter in &processed.dead {
        let record = engine.run_record(&letter.run).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Failed);
        assert_eq!(record.workflow, "deliver");
        assert_eq!(record.parent.as_ref(), Some(&parent));
        assert_eq!(journal_keys(&engine, &letter.run).await, ["render", "send"]);
    }
    assert_eq!(CALLS.take().len(), 6 + 6);

    // Fixed: retrying the two reruns their failed step only.
    FIXED.store(true, Ordering::SeqCst);
    let retried = retry_dead_letters::<deliver>(&engine, &processed.dead)
        .await
        .unwrap();
    let outputs: Vec<String> = retried.into_iter().map(Result::unwrap).collect();
    assert_eq!(outputs, ["invoice 2 sent", "invoice 4 sent"]);
    assert_eq!(sorted(CALLS.take()), ["send 2", "send 4"]);
    for letter in &processed.dead {
        let record = engine.run_record(&letter.run).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Completed);
    }
    // Nothing else ran, and a completed run is not retried twice.
    let again = retry_dead_letters::<deliver>(&engine, &processed.dead).await;
    assert!(matches!(again, Err(EngineError::Store(_))), "{again:?}");
    assert!(CALLS.take().is_empty());
    FIXED.store(false, Ordering::SeqCst);
}

#[test]
fn the_chart_shows_the_call_in_a_fan_out() {
    let chart = <dead_letters<deliver> as Workflow>::mermaid();
    super::chapter::assert_charted("dead_letters", <dead_letters<deliver> as Workflow>::MERMAID);
    assert!(
        chart.starts_with("---\ntitle: \"dead_letters<deliver>\"\n---\nflowchart TD"),
        "{chart}"
    );
    assert!(
        chart.contains(
            "subgraph f0[\"parallel for item in items · limit limit\"]\n    s0[[\"call W\"]]"
        ),
        "{chart}"
    );
}

#[test]
fn a_parent_stopped_with_an_item_in_flight_resumes_it_and_keeps_the_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let _turn = TURN.blocking_lock();
    CALLS.take();
    HANGING.store(true, Ordering::SeqCst);

    // First process: items 0 to 4 end (2 and 4 dead), 5 hangs; it dies.
    let first = runtime();
    let parent = first.block_on(async {
        let engine = sqlite_engine(&path);
        let mut events = engine.subscribe();
        let handle = engine
            .start(dead_letters::<deliver>::default(), ((0..6).collect(), 6))
            .await
            .unwrap();
        let mut sent = 0;
        while sent < 5 {
            match events.recv().await {
                Some(Event::StepCompleted { step, .. } | Event::StepFailed { step, .. })
                    if step.name() == "send" =>
                {
                    sent += 1;
                }
                Some(_) => {}
                None => panic!("the events ended"),
            }
        }
        handle.id().clone()
    });
    drop(first);
    assert_eq!(
        CALLS.take().len(),
        6 + 6,
        "every item rendered and began sending"
    );

    // Second process: only item 5's send runs again; the dead stay dead.
    HANGING.store(false, Ordering::SeqCst);
    runtime().block_on(async {
        let engine = sqlite_engine(&path);
        let child = |i: u32| parent.child(&StepKey::new("W", &[i]));
        let status = |i| {
            let engine = engine.clone();
            async move {
                let record = engine.run_record(&child(i)).await.unwrap().unwrap();
                record.status()
            }
        };
        assert_eq!(status(5).await, RunStatus::Running);
        assert_eq!(status(2).await, RunStatus::Failed);
        let handles = engine
            .resume(dead_letters::<deliver>::default())
            .await
            .unwrap();
        assert_eq!(handles.len(), 1, "the child is resumed by its parent");
        let processed = handles.into_iter().next().unwrap().result().await.unwrap();
        assert_eq!(CALLS.take(), ["send 5"]);
        let done: Vec<usize> = processed.done.iter().map(|(i, _)| *i).collect();
        assert_eq!(done, [0, 1, 3, 5]);
        let dead: Vec<(usize, &str)> = processed
            .dead
            .iter()
            .map(|letter| (letter.index, letter.run.as_str()))
            .collect();
        assert_eq!(dead, [(2, child(2).as_str()), (4, child(4).as_str())]);
        assert!(
            processed.dead[0].error.ends_with("relay refused invoice 2"),
            "{:?}",
            processed.dead
        );
        assert_eq!(status(5).await, RunStatus::Completed);
        assert_eq!(status(4).await, RunStatus::Failed);
    });
}
