//! Shared helpers for the behaviour tests.

use std::sync::Mutex;

use trailhead::store::Value;
use trailhead::{Engine, Event, RunId, StepRecord};

/// `json` as the journal keeps it (a JSON value encodes as the Rust value it
/// stands for would: `json!(3)` as `3_u32`).
pub(crate) fn value(json: serde_json::Value) -> Value {
    Value::encode(&json).expect("the value encodes")
}

/// The keys of a run's journal, in the order they were written.
pub(crate) async fn journal_keys(engine: &Engine, run: &RunId) -> Vec<String> {
    let journal: Vec<StepRecord> = engine.journal(run).await.expect("journal readable");
    journal
        .iter()
        .map(|record| record.key.to_string())
        .collect()
}

/// Records what the steps of a test were called with, in order.
#[derive(Debug, Default)]
pub(crate) struct Calls(Mutex<Vec<String>>);

impl Calls {
    pub(crate) const fn new() -> Self {
        Calls(Mutex::new(Vec::new()))
    }

    pub(crate) fn push(&self, call: impl Into<String>) {
        self.0.lock().unwrap().push(call.into());
    }

    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Every event received so far, without waiting.
pub(crate) fn drain(events: &mut trailhead::EventReceiver) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(event) = events.try_recv() {
        out.push(event);
    }
    out
}

/// Waits until step `key` has started (its first attempt, or a sleep or signal
/// site beginning to wait).
pub(crate) async fn step_started(events: &mut trailhead::EventReceiver, key: &str) {
    until(
        events,
        |event| matches!(event, Event::StepStarted { step, .. } if step.to_string() == key),
    )
    .await;
}

/// Waits for the first event that passes `test`.
pub(crate) async fn until(events: &mut trailhead::EventReceiver, test: impl Fn(&Event) -> bool) {
    while let Some(event) = events.recv().await {
        if test(&event) {
            return;
        }
    }
    panic!("the events ended before the one awaited");
}

/// Runs `workflow` to its end: its id and result.
pub(crate) async fn run_to_end<W: trailhead::Workflow>(
    engine: &Engine,
    workflow: W,
    input: W::Input,
) -> (RunId, Result<W::Output, trailhead::RunError<W::Error>>) {
    let handle = engine.start(workflow, input).await.unwrap();
    let run = handle.id().clone();
    (run, handle.result().await)
}
