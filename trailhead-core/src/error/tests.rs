use std::error::Error as _;
use std::time::Duration;

use super::*;
use crate::{RunId, StepKey};

#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

fn step_error<E>(failure: StepFailure<E>) -> StepError<E> {
    StepError {
        run: RunId::new("r"),
        step: StepKey::new("charge", &[1]),
        attempts: 3,
        failure,
        began: None,
    }
}

#[test]
fn step_error_names_run_step_and_attempts() {
    let error = step_error(StepFailure::Error(Declined));
    assert_eq!(
        error.to_string(),
        "step `charge[1]` of run `r` failed after 3 attempt(s): card declined"
    );
    assert_eq!(error.source().unwrap().to_string(), "card declined");
    assert!(matches!(error.failure(), StepFailure::Error(Declined)));
    assert!(error.into_source().is_some());
}

#[test]
fn step_error_sources() {
    let timed_out = step_error::<Declined>(StepFailure::TimedOut(Duration::from_secs(2)));
    assert!(
        timed_out
            .to_string()
            .ends_with("the attempt timed out after 2s")
    );
    assert!(timed_out.source().is_none());
    assert!(timed_out.into_source().is_none());

    let journal = step_error::<Declined>(StepFailure::Journal(StoreError::RunFinished {
        run: RunId::new("r"),
    }));
    assert_eq!(
        journal.source().unwrap().to_string(),
        "run `r` has finished; its journal is closed"
    );
    let cancelled = step_error::<Declined>(StepFailure::Cancelled);
    assert!(
        cancelled
            .to_string()
            .ends_with("the child run was cancelled")
    );
}

#[test]
fn run_error_knows_its_run() {
    let failed = RunError::Failed {
        run: RunId::new("a"),
        error: Declined,
    };
    assert_eq!(failed.to_string(), "run `a` failed: card declined");
    assert_eq!(failed.source().unwrap().to_string(), "card declined");
    assert_eq!(failed.run().unwrap().as_str(), "a");

    let engine: RunError<Declined> = EngineError::TaskFailed {
        run: RunId::new("b"),
        message: "gone".into(),
    }
    .into();
    assert_eq!(engine.run().unwrap().as_str(), "b");
    assert_eq!(engine.to_string(), "the task of run `b` failed: gone");

    let store: RunError<Declined> = EngineError::from(StoreError::UnknownRun {
        run: RunId::new("c"),
    })
    .into();
    assert_eq!(store.run().unwrap().as_str(), "c");
    assert_eq!(store.to_string(), "no run `c` in the store");
}

#[test]
fn run_error_displays_without_an_error_bound() {
    // Workflow errors need only `Display`.
    let failed = RunError::Failed {
        run: RunId::new("a"),
        error: "plain text",
    };
    assert_eq!(failed.to_string(), "run `a` failed: plain text");
}

#[test]
fn boxed_error_converts_from_step_errors_and_messages() {
    let error = Error::from(step_error(StepFailure::Error(Declined)));
    assert!(error.to_string().starts_with("step `charge[1]`"));
    // Source forwards to the boxed error's source.
    assert_eq!(error.source().unwrap().to_string(), "card declined");
    assert!(error.into_inner().downcast::<StepError<Declined>>().is_ok());

    assert_eq!(Error::from("no seats").to_string(), "no seats");
    assert_eq!(
        Error::from(String::from("no seats")).to_string(),
        "no seats"
    );
    assert_eq!(format!("{:?}", Error::msg(7)), "Message(\"7\")");
    assert_eq!(Error::new(Declined).to_string(), "card declined");
}

#[test]
fn codec_errors_name_the_run_and_the_step_when_there_is_one() {
    let source = || {
        Box::new(CodecError::NullInSome {
            ty: "Option<Option<u8>>",
        })
    };
    let of_step = StoreError::Encode {
        run: RunId::new("r"),
        step: Some(StepKey::new("charge", &[1])),
        what: "output",
        source: source(),
    };
    assert!(
        of_step
            .to_string()
            .starts_with("could not encode the output of step `charge[1]` of run `r`: "),
        "{of_step}"
    );
    let of_run = StoreError::Decode {
        run: RunId::new("r"),
        step: None,
        what: "input",
        source: source(),
    };
    assert!(
        of_run
            .to_string()
            .starts_with("could not decode the recorded input of run `r`: "),
        "{of_run}"
    );
    // One shape for the engine too: the store's error, naming the run.
    let engine = EngineError::from(of_run);
    assert_eq!(engine.run().unwrap().as_str(), "r");
    assert!(matches!(
        engine,
        EngineError::Store(StoreError::Decode {
            step: None,
            what: "input",
            ..
        })
    ));
}
