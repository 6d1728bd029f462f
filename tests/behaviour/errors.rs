//! The error model: a step that fails for good fails the workflow with an error
//! naming the run, the step key, the attempts and the source; the workflow's own
//! error type receives it through `From` or `.map_err(..)`.

use std::error::Error as _;

use trailhead::{Engine, RunError, StepError, StepFailure, workflow};

#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

#[derive(Debug, thiserror::Error)]
enum CheckoutError {
    #[error(transparent)]
    Payment(#[from] StepError<Declined>),
    #[error("could not reserve stock: {0}")]
    Stock(String),
}

async fn charge(cents: u32) -> Result<u32, Declined> {
    if cents > 1_000 {
        Err(Declined)
    } else {
        Ok(cents)
    }
}

async fn reserve(sku: &str) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(format!("{sku} is gone")))
}

workflow! {
    workflow pay(cents: u32) -> Result<u32, CheckoutError> {
        let paid = step charge(cents);
        Ok(paid)
    }

    workflow reserve_then_pay(sku: String) -> Result<(), CheckoutError> {
        step reserve(&sku).map_err(|e: StepError<std::io::Error>| CheckoutError::Stock(e.to_string()));
        step charge(1);
        Ok(())
    }
}

#[tokio::test]
async fn a_typed_error_receives_the_step_error_through_from() {
    let engine = Engine::new();
    assert_eq!(pay::run(&engine, 500).await.unwrap(), 500);

    let handle = engine.start(pay, 5_000).await.unwrap();
    let run = handle.id().clone();
    let Err(RunError::Failed {
        error: CheckoutError::Payment(step_error),
        ..
    }) = handle.result().await
    else {
        panic!("expected the payment error");
    };
    assert_eq!(step_error.run, run);
    assert_eq!(step_error.step.to_string(), "charge");
    assert_eq!(step_error.attempts, 1);
    assert!(matches!(step_error.failure, StepFailure::Error(Declined)));
    assert_eq!(step_error.source().unwrap().to_string(), "card declined");
}

#[tokio::test]
async fn map_err_chooses_the_workflow_error() {
    let engine = Engine::new();
    let error = reserve_then_pay::run(&engine, "tent".to_owned())
        .await
        .unwrap_err();
    let RunError::Failed {
        error: CheckoutError::Stock(text),
        ..
    } = error
    else {
        panic!("expected the stock error, got {error}");
    };
    assert!(text.contains("step `reserve`"), "{text}");
    assert!(text.contains("tent is gone"), "{text}");
}
