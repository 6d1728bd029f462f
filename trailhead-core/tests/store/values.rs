//! Values read back byte for byte, with their codec, wherever they are kept.

use std::collections::BTreeMap;

use trailhead_core::store::{
    AfterCompensation, Codec, FailedStep, FailureCause, RunOutcome, RunState, StepOutcome,
    StepRecord, Store, Value,
};
use trailhead_core::{ErrorClass, RunId, StepKey};

use crate::backend::Backend;
use crate::fixtures::{at, key, record, run_of};

/// Values a store must not change a byte of: CBOR of what JSON cannot hold,
/// JSON as older builds wrote it, empty and odd bytes.
fn awkward_values() -> Vec<Value> {
    let faithful = (
        f64::NAN,
        -0.0_f64,
        u128::MAX,
        i128::MIN,
        BTreeMap::from([((1_u8, 2_u8), "tuple key".to_owned())]),
        serde_bytes::ByteBuf::from(vec![0_u8, 255, 0, 10, 13]),
        "nul \0 and ünïcödé 🚀".to_owned(),
    );
    vec![
        Value::encode(&faithful).unwrap(),
        Value::encode(&()).unwrap(),
        Value::encode(&serde_bytes::ByteBuf::from(vec![0_u8; 70_000])).unwrap(),
        Value::from_bytes(Codec::Json, br#"{"order":42,"n":[1,2.5]}"#.to_vec()),
        Value::from_bytes(Codec::Json, b"null".to_vec()),
    ]
}

#[track_caller]
fn assert_same(read: &Value, written: &Value, what: &str) {
    assert_eq!(read.codec(), written.codec(), "{what}: codec");
    assert!(read.bytes() == written.bytes(), "{what}: bytes differ");
}

pub(crate) async fn values_read_back_byte_for_byte<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for (n, written) in awkward_values().into_iter().enumerate() {
        let id = format!("r{n}");
        let run = RunId::new(id.as_str());
        let mut given = record(&id);
        given.input = written.clone();
        let writer = store.create_run(given).await.unwrap();
        for (key, outcome) in [
            ("done", StepOutcome::Completed(written.clone())),
            ("fell", StepOutcome::FellBack(written.clone())),
        ] {
            let entry = StepRecord::new(StepKey::new(key, &[]), outcome, 1, at(1), at(2));
            writer.record_step(entry).await.unwrap();
        }
        store
            .send_signal(&run, "go", written.clone())
            .await
            .unwrap();
        let received = store
            .receive_signal(&run, "go", &key("wait"))
            .await
            .unwrap();
        assert_same(&received.expect("the signal"), &written, "signal");
        let again = store
            .receive_signal(&run, "go", &key("wait"))
            .await
            .unwrap();
        assert_same(&again.expect("the signal again"), &written, "signal again");

        let (read, journal, handle) = store.open_run(&run).await.unwrap().unwrap();
        assert_same(&read.input, &written, "input");
        for entry in &journal {
            assert_same(entry.outcome.value().unwrap(), &written, "step output");
        }
        // The output kept while the run is undone, then in its outcome.
        let then = AfterCompensation::Compensated {
            output: written.clone(),
            cause: "parent undone".into(),
        };
        drop(handle);
        let undo = store.begin_compensation(&run, then.clone()).await.unwrap();
        let RunState::Compensating(AfterCompensation::Compensated { output, .. }) =
            run_of(&store, &id).await.state
        else {
            panic!("not compensating");
        };
        assert_same(&output, &written, "output while compensating");
        undo.finish(then.into()).await.unwrap();
        let Some(RunOutcome::Compensated { output, .. }) =
            run_of(&store, &id).await.outcome().cloned()
        else {
            panic!("not compensated");
        };
        assert_same(&output, &written, "compensated output");

        // And a completed run's output.
        let done = format!("done{n}");
        let writer = store.create_run(record(&done)).await.unwrap();
        writer
            .finish(RunOutcome::Completed(written.clone()))
            .await
            .unwrap();
        let Some(RunOutcome::Completed(output)) = run_of(&store, &done).await.outcome().cloned()
        else {
            panic!("not completed");
        };
        assert_same(&output, &written, "run output");
    }
}

pub(crate) async fn every_step_outcome_reads_back<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let error = Value::encode(&("declined".to_owned(), 402_u16)).unwrap();
    let outcomes = [
        StepOutcome::Completed(Value::encode(&1_u8).unwrap()),
        StepOutcome::FellBack(Value::encode(&"default".to_owned()).unwrap()),
        StepOutcome::Failed(FailedStep::new(
            "declined",
            ErrorClass::Permanent,
            FailureCause::Error(Some(error)),
        )),
        StepOutcome::Failed(FailedStep::new(
            "no serde",
            ErrorClass::Transient,
            FailureCause::Error(None),
        )),
        StepOutcome::Failed(FailedStep::new(
            "timed out",
            ErrorClass::Transient,
            FailureCause::TimedOut(std::time::Duration::from_millis(1_500)),
        )),
        StepOutcome::Failed(FailedStep::new(
            "panicked",
            ErrorClass::Permanent,
            FailureCause::Panicked("index out of bounds".into()),
        )),
        StepOutcome::Failed(FailedStep::from_message("breaker open")),
    ];
    let writer = store.create_run(record("r")).await.unwrap();
    let written: Vec<StepRecord> = outcomes
        .into_iter()
        .enumerate()
        .map(|(n, outcome)| {
            let n = u32::try_from(n).unwrap();
            StepRecord::new(
                StepKey::new("s", &[n, 7]),
                outcome,
                n + 1,
                at(1),
                at(2 + u64::from(n)),
            )
        })
        .collect();
    for entry in &written {
        writer.record_step(entry.clone()).await.unwrap();
    }
    assert_eq!(store.journal(&RunId::new("r")).await.unwrap(), written);
}
