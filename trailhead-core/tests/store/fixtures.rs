//! Records, journal entries and values the tests write.
//!
//! Times are whole microseconds (PostgreSQL's `timestamptz` resolution): the
//! store docs promise no finer precision, so the suite asks for none.

use std::time::{Duration, SystemTime};

use trailhead_core::store::{
    FailedStep, RunOutcome, RunRecord, RunState, StepOutcome, StepRecord, Store, Value,
};
use trailhead_core::{ErrorClass, RunId, StepKey, StoreError};

/// `json` as a journaled value.
pub(crate) fn value(json: serde_json::Value) -> Value {
    Value::encode(&json).expect("JSON encodes")
}

/// `secs` seconds (and a few microseconds, so sub-second parts are kept)
/// after 2023-11-14, a time any store can hold.
pub(crate) fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs) + Duration::from_micros(123)
}

/// A running top-level run `id` of workflow `w`, with every field set to
/// something a store must keep.
pub(crate) fn record(id: &str) -> RunRecord {
    RunRecord::new(RunId::new(id), "w", value(serde_json::json!({"order": id})))
        .with_definition_hash(u64::MAX - 7)
        .with_mermaid("flowchart TD\n  a --> b")
        .with_created_at(at(0))
}

/// A running child run `id` of `parent`.
pub(crate) fn child(id: &str, parent: &str) -> RunRecord {
    record(id).with_parent(RunId::new(parent))
}

/// The run `id` (with `record`'s fields), ended with `outcome` at `at(secs)`.
pub(crate) fn ended(id: &str, outcome: RunOutcome, secs: u64) -> RunRecord {
    record(id).with_state(RunState::ended(outcome, at(secs)))
}

/// Step `key` (`"name"` or `"name[1][2]"`), completed with `json`.
pub(crate) fn step(key: &str, json: serde_json::Value) -> StepRecord {
    StepRecord::new(
        key.parse::<StepKey>().expect("a step key"),
        StepOutcome::Completed(value(json)),
        2,
        at(10),
        at(11),
    )
}

/// Step `key`, failed for good with `message`.
pub(crate) fn failed_step(key: &str, message: &str) -> StepRecord {
    let failure = FailedStep::new(
        message,
        ErrorClass::Permanent,
        trailhead_core::store::FailureCause::Other,
    );
    StepRecord::new(
        key.parse::<StepKey>().expect("a step key"),
        StepOutcome::Failed(failure),
        3,
        at(10),
        at(12),
    )
}

/// A step key.
pub(crate) fn key(text: &str) -> StepKey {
    text.parse().expect("a step key")
}

/// The keys of `run`'s journal, in its order.
pub(crate) async fn keys(store: &impl Store, run: &str) -> Vec<String> {
    store
        .journal(&RunId::new(run))
        .await
        .expect("the journal reads")
        .iter()
        .map(|entry| entry.key.to_string())
        .collect()
}

/// The record of `run`, which must exist.
pub(crate) async fn run_of(store: &impl Store, run: &str) -> RunRecord {
    store
        .run(&RunId::new(run))
        .await
        .expect("the record reads")
        .unwrap_or_else(|| panic!("no run `{run}`"))
}

/// The ids of `runs`, in their order.
pub(crate) fn ids(runs: &[RunRecord]) -> Vec<String> {
    runs.iter().map(|run| run.id.to_string()).collect()
}

/// Panics unless `result` failed with `StoreError::RunFinished` for `run`.
#[track_caller]
pub(crate) fn assert_run_finished<T: std::fmt::Debug>(result: Result<T, StoreError>, run: &str) {
    match result {
        Err(StoreError::RunFinished { run: named }) => assert_eq!(named.as_str(), run),
        other => panic!("expected RunFinished for `{run}`, got {other:?}"),
    }
}

/// Panics unless `result` failed with `StoreError::UnknownRun` for `run`.
#[track_caller]
pub(crate) fn assert_unknown_run<T: std::fmt::Debug>(result: Result<T, StoreError>, run: &str) {
    match result {
        Err(StoreError::UnknownRun { run: named }) => assert_eq!(named.as_str(), run),
        other => panic!("expected UnknownRun for `{run}`, got {other:?}"),
    }
}
